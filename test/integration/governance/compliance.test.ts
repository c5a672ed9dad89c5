// Compliance reporting (R25) and the coworker profile: filterable sponsorStatus, lifecycleState,
// nextReviewDue, credential status and compliance issues on /Agents, a summary at
// GET /Reports/Compliance whose every line carries the filter behind it; and the governance
// profile attributes (purpose, risk, autonomy, action policies, budget, models, skills, memory,
// escalation, performance) validated and round-tripped.

import { Command } from 'commander';
import { afterEach, describe, expect, it } from 'vitest';
import { registerGovernanceCommands } from '../../../src/cli/governance-commands.js';
import { scimError } from '../../helpers/test-app.js';
import { buildGov, DAY, type Gov, GOV_URN, type Json, patchOps } from './helpers.js';

describe('compliance report and profile', () => {
  let g: Gov;
  afterEach(() => g.close());

  it('GET /Reports/Compliance counts every finding in the database, each with the /Agents filter that lists it', async () => {
    g = await buildGov();
    const leaver = await g.user('leaver');
    await g.agent('ok-bot', { gov: { lifecycleState: 'active' } });
    await g.agent('pending-bot');
    const orphan = await g.agent('orphan-bot', { sponsor: leaver, gov: { lifecycleState: 'active' } });
    const stale = await g.agent('stale-bot', { gov: { lifecycleState: 'active', reviewIntervalDays: 30, credentials: [{ credentialId: 'k-1', type: 'apiKey', createdAt: '2026-01-01T00:00:00Z' }] } });
    await g.t.http.patch(`/Users/${leaver}`, patchOps({ op: 'replace', path: 'active', value: false }));
    g.t.clock.advance(31 * DAY);
    await g.t.governance.scheduler.runOnce();

    const res = await g.t.http.get('/Reports/Compliance');
    expect(res.status).toBe(200);
    const r = res.body as Json;
    expect(r).toMatchObject({
      schemas: ['urn:agentroster:scim:api:messages:1.0:ComplianceReport'],
      generatedAt: g.t.clock.iso(),
      agents: { total: 4, pending: 1, active: 2, suspended: 1, retired: 0 },
      // orphan-bot (sponsor departed, now suspended) and stale-bot (review overdue, key stale)
      nonCompliant: 2,
      compliant: 2,
    });
    const finding = (id: string) => (r.findings as Json[]).find((f) => f.id === id)!;
    expect(finding('sponsorDeparted')).toMatchObject({ count: 1, severity: 'high' });
    expect(finding('reviewOverdue').count).toBe(1);
    expect(finding('credentialStale').count).toBe(1);
    expect(finding('pendingApproval').count).toBe(1);
    // each finding's filter lists exactly its agents at /Agents
    for (const [id, expected] of [
      ['sponsorDeparted', [orphan.id]],
      ['reviewOverdue', [stale.id]],
      ['credentialStale', [stale.id]],
    ] as const) {
      const list = await g.t.http.get(`/Agents?filter=${encodeURIComponent(finding(id).filter as string)}`);
      expect(list.status, finding(id).filter as string).toBe(200);
      expect(list.body.Resources.map((x: Json) => x.id)).toEqual(expected);
    }
    // and the plain filters R25 names
    for (const f of [
      `${GOV_URN}:sponsorStatus eq "departed"`,
      `${GOV_URN}:lifecycleState eq "suspended"`,
      `${GOV_URN}:nextReviewDue lt "${g.t.clock.iso()}"`,
      `${GOV_URN}:credentialStatus eq "stale"`,
      `${GOV_URN}:complianceIssues[type eq "reviewOverdue"]`,
    ]) {
      expect((await g.t.http.get(`/Agents?filter=${encodeURIComponent(f)}`)).status, f).toBe(200);
    }
    expect((await g.t.http.get('/Reports/Compliance', await g.t.tokenWith(['scim.read']))).status).toBe(200);
    expect((await g.t.http.get('/Reports/Compliance', '')).status).toBe(401);
  });

  it('the coworker profile round-trips and is checked for consistency (R22 for third parties)', async () => {
    g = await buildGov();
    const esc = await g.user('oncall');
    const profile = {
      riskTier: 'high',
      dataClassification: 'confidential',
      autonomyLevel: 'humanOnTheLoop',
      platform: 'azure-foundry',
      provider: { organization: 'Acme AI', url: 'https://acme.example', thirdParty: true, vendorReviewedAt: '2026-02-01T00:00:00.000Z' },
      actionPolicies: [{ action: 'refunds.issue', mode: 'requireApproval', approvers: ['finance-leads'], limitAmount: 250, limitCurrency: 'EUR' }],
      budget: { limitType: 'currency', amount: 1000, currency: 'EUR', period: 'monthly', hardStop: true },
      models: [{ provider: 'anthropic', name: 'claude', version: '4', primary: true }],
      skills: [
        { type: 'tool', name: 'crm-lookup', description: 'reads CRM records', ref: 'https://mcp.example/crm' },
        { type: 'knowledgeSource', name: 'refund-policy' },
      ],
      memoryPolicy: { retains: ['taskState'], retentionDays: 14, reviewers: ['dpo'] },
      escalationContacts: [{ value: esc, type: 'primary', channel: 'pager' }],
    };
    const a = await g.agent('coworker-bot', { gov: profile });
    expect(a[GOV_URN]).toMatchObject(profile);
    const got = await g.gov(a.id as string);
    expect(got).toMatchObject(profile);
    // performance is ingested (readOnly): a client cannot set it
    const perf = await g.patch(`/Agents/${a.id as string}`, [{ op: 'replace', path: `${GOV_URN}:performance`, value: { resolutionRate: 1 } }]);
    expect(perf.status).toBe(400);
    expect(perf.body.scimType).toBe('mutability');

    const sponsor = ((a[GOV_URN] as Json).sponsor as Json).value as string;
    for (const [label, gov, detail] of [
      ['third party without review date', { ...profile, provider: { organization: 'Acme AI', thirdParty: true } }, /provider.vendorReviewedAt.*R22/],
      ['third party without platform and risk', { provider: { organization: 'Acme AI', thirdParty: true, vendorReviewedAt: '2026-02-01T00:00:00Z' } }, /platform, riskTier/],
      ['bad currency', { budget: { limitType: 'currency', amount: 5, currency: 'euro' } }, /ISO 4217/],
      ['token budget with a currency', { budget: { limitType: 'tokens', amount: 5, currency: 'EUR' } }, /no currency/],
      ['negative limit', { actionPolicies: [{ action: 'a', mode: 'allow', limitAmount: -1, limitCurrency: 'EUR' }] }, /negative/],
      ['two policies for one action', { actionPolicies: [{ action: 'a', mode: 'allow' }, { action: 'a', mode: 'deny' }] }, /two policies/],
      ['memory none plus more', { memoryPolicy: { retains: ['none', 'taskState'] } }, /"none" excludes/],
      ['duplicate skill', { skills: [{ type: 'tool', name: 'x' }, { type: 'tool', name: 'X' }] }, /listed twice/],
      ['validity window backwards', { validFrom: '2026-05-01T00:00:00Z', validUntil: '2026-04-01T00:00:00Z' }, /validUntil must be after validFrom/],
      ['unknown autonomy', { autonomyLevel: 'rogue' }, /autonomyLevel/],
    ] as const) {
      const res = await g.t.http.post('/Agents', g.agentBody(`p-${label.replace(/\W+/g, '-')}`, sponsor, {}, gov as Json));
      expect(res.status, label).toBe(400);
      expect(res.body, label).toEqual(scimError(400, 'invalidValue', detail));
    }
  });

  it('the CLI registers audit verify|export and agents list', () => {
    const program = new Command();
    registerGovernanceCommands(program);
    const names = program.commands.map((c) => `${c.name()}:${c.commands.map((s) => s.name()).join(',')}`);
    expect(names).toEqual(['audit:verify,export', 'agents:list']);
  });
});
