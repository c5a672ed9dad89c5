// R15 and the approval rule as a table: who (token scopes, a connector, the governance engine)
// may make which kind of change (expansive, restrictive, activation of a pending or a suspended
// agent, with or without approval in its environment) → the status and message the caller sees,
// and that a refused write changes nothing.

import { afterEach, describe, expect, it } from 'vitest';
import type { Scope } from '../../../src/resources/context.js';
import { governanceContext } from '../../../src/resources/governance/common.js';
import { captureState, expectUnchanged } from '../../helpers/test-app.js';
import { buildGov, type Gov, GOV_URN, type Json, patchOps, setState } from './helpers.js';

type Subject = 'active' | 'pending' | 'suspended' | 'pendingDev';

interface Change {
  name: string;
  subject: Subject;
  ops: unknown[];
}

const CHANGES = {
  edit: { name: 'an edit (expansive)', subject: 'active', ops: [{ op: 'replace', path: 'description', value: 'edited' }] },
  grant: { name: 'a grant (expansive)', subject: 'active', ops: [{ op: 'add', path: 'entitlements', value: [{ value: 'crm.write' }] }] },
  revoke: { name: 'a revocation (restrictive)', subject: 'active', ops: [{ op: 'remove', path: 'entitlements[value eq "crm.read"]' }] },
  suspend: { name: 'a suspension (restrictive)', subject: 'active', ops: setState('suspended', 'manual') },
  approve: { name: 'activating a pending agent (approval required)', subject: 'pending', ops: setState('active') },
  reactivate: { name: 'reactivating a suspended agent', subject: 'suspended', ops: setState('active') },
  approveDev: { name: 'activating a pending agent (no approval required)', subject: 'pendingDev', ops: setState('active') },
} satisfies Record<string, Change>;

type Outcome = 200 | [403, RegExp];
const ok = 200 as const;
const no = (re: RegExp): Outcome => [403, re];

const NO_GRANT = /^this token may remove entitlements, suspend and retire, but never grant or change: /;
const NO_WRITE = /^this token lacks "scim\.write": /;
const NEEDS_APPROVE = /^activating an agent needs the "agents\.approve" scope: a new agent waits for approval$/;
const NEEDS_APPROVE_AGAIN = /^reactivating a suspended agent needs the "agents\.approve" scope \(R15\)$/;
const NEEDS_WRITE = /^activating an agent needs "scim\.write"$/;

// scopes → change → outcome
const TABLE: { scopes: Scope[]; outcomes: Record<keyof typeof CHANGES, Outcome> }[] = [
  { scopes: ['scim.write'], outcomes: { edit: ok, grant: ok, revoke: ok, suspend: ok, approve: no(NEEDS_APPROVE), reactivate: no(NEEDS_APPROVE_AGAIN), approveDev: ok } },
  { scopes: ['scim.revoke'], outcomes: { edit: no(NO_GRANT), grant: no(NO_GRANT), revoke: ok, suspend: ok, approve: no(NEEDS_APPROVE), reactivate: no(NEEDS_APPROVE_AGAIN), approveDev: no(NEEDS_WRITE) } },
  { scopes: ['agents.approve'], outcomes: { edit: no(NO_WRITE), grant: no(NO_WRITE), revoke: ok, suspend: ok, approve: ok, reactivate: ok, approveDev: no(NEEDS_WRITE) } },
  { scopes: ['scim.write', 'agents.approve'], outcomes: { edit: ok, grant: ok, revoke: ok, suspend: ok, approve: ok, reactivate: ok, approveDev: ok } },
];

async function subjects(g: Gov): Promise<Record<Subject, string>> {
  const active = (await g.agent('subject-active', { gov: { lifecycleState: 'active' }, extra: { entitlements: [{ value: 'crm.read' }] } })).id as string;
  const pending = (await g.agent('subject-pending')).id as string;
  const suspended = (await g.agent('subject-suspended', { gov: { lifecycleState: 'active' } })).id as string;
  expect((await g.patch(`/Agents/${suspended}`, setState('suspended', 'manual'))).status).toBe(200);
  const pendingDev = (await g.agent('subject-dev', { gov: { environment: 'development', lifecycleState: 'pending' } })).id as string;
  return { active, pending, suspended, pendingDev };
}

describe('R15: token scopes × change → allowed or 403 (nothing changed)', () => {
  let g: Gov;
  afterEach(() => g.close());

  const rows = TABLE.flatMap(({ scopes, outcomes }) =>
    (Object.keys(CHANGES) as (keyof typeof CHANGES)[]).map((c) => ({ scopes: scopes.join('+'), scopeList: scopes, change: CHANGES[c], outcome: outcomes[c] })),
  );

  it.each(rows)('$scopes: $change.name', async ({ scopeList, change, outcome }) => {
    g = await buildGov({ env: { AGENTROSTER_APPROVAL_REQUIRED_ENVIRONMENTS: 'production,staging' } });
    await g.entitlement('crm.read');
    await g.entitlement('crm.write');
    const ids = await subjects(g);
    const id = ids[change.subject];
    const token = await g.t.tokenWith(scopeList, 'table-client', await g.user('table-user'));
    const before = await captureState(g.t, `/Agents/${id}`, `/Users/${id}`);
    const res = await g.patch(`/Agents/${id}`, change.ops, token);
    if (outcome === ok) {
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return;
    }
    expect(res.status, JSON.stringify(res.body)).toBe(403);
    expect(res.body.detail).toMatch(outcome[1]);
    await expectUnchanged(g.t, before);
  });

  it('the refusal names the changes, at most three of them', async () => {
    g = await buildGov();
    const id = (await g.agent('listed-bot', { gov: { lifecycleState: 'active' } })).id as string;
    const token = await g.t.tokenWith(['scim.revoke']);
    const three = await g.patch(`/Agents/${id}`, [{ op: 'replace', path: 'description', value: 'x' }, { op: 'replace', path: 'displayName', value: 'X' }, { op: 'replace', path: 'agentType', value: 'copilot' }], token);
    expect(three.status).toBe(403);
    expect(three.body.detail).toBe('this token may remove entitlements, suspend and retire, but never grant or change: change description, change displayName, change agentType (R15)');
    const four = await g.patch(
      `/Agents/${id}`,
      [{ op: 'replace', path: 'description', value: 'x' }, { op: 'replace', path: 'displayName', value: 'X' }, { op: 'replace', path: 'agentType', value: 'copilot' }, { op: 'replace', path: 'externalId', value: 'ext-1' }],
      token,
    );
    expect(four.status).toBe(403);
    expect(four.body.detail).toMatch(/: change \w+, change \w+, change \w+, … \(R15\)$/);
  });

  it('a token without any write scope is refused restrictive changes too (the rule behind the route check)', async () => {
    g = await buildGov();
    const id = (await g.agent('read-only-bot', { gov: { lifecycleState: 'active' } })).id as string;
    const reader = { actor: { client: 'reader', tokenId: 'tok-reader' }, scopes: new Set<Scope>(['scim.read']), requestId: 'r-1', baseUrl: '' };
    await expect(g.t.service.patch('Agent', id, patchOps(...setState('suspended', 'manual')), reader)).rejects.toMatchObject({
      status: 403,
      message: 'this token lacks "scim.revoke" (or "scim.write"): suspend',
    });
    expect((await g.gov(id)).lifecycleState).toBe('active');
  });
});

describe('R15: connectors and the governance engine', () => {
  let g: Gov;
  afterEach(() => g.close());

  const connector = { actor: { client: 'okta' }, scopes: new Set<Scope>(['scim.read', 'scim.write', 'scim.revoke', 'agents.approve']), requestId: 'sync-okta-1', baseUrl: '' };

  const rows: { who: 'connector' | 'governance'; change: keyof typeof CHANGES; outcome: 'ok' | RegExp }[] = [
    { who: 'connector', change: 'suspend', outcome: 'ok' },
    { who: 'connector', change: 'revoke', outcome: 'ok' },
    { who: 'connector', change: 'edit', outcome: /^okta may only suspend, retire and revoke \(most restrictive wins\), not: change description$/ },
    { who: 'connector', change: 'grant', outcome: /^okta may only suspend, retire and revoke \(most restrictive wins\), not: grant entitlement crm\.write$/ },
    { who: 'connector', change: 'reactivate', outcome: /^okta cannot activate an agent: a remote re-enable is never applied here; reactivation needs "agents\.approve" \(R15, R17\)$/ },
    { who: 'connector', change: 'approveDev', outcome: /^okta cannot activate an agent/ },
    { who: 'governance', change: 'suspend', outcome: 'ok' },
    { who: 'governance', change: 'edit', outcome: 'ok' },
    { who: 'governance', change: 'reactivate', outcome: /^the governance engine never activates an agent$/ },
    { who: 'governance', change: 'approve', outcome: /^the governance engine never activates an agent$/ },
  ];

  it.each(rows)('$who: $change', async ({ who, change, outcome }) => {
    g = await buildGov({ env: { AGENTROSTER_APPROVAL_REQUIRED_ENVIRONMENTS: 'production,staging' } });
    await g.entitlement('crm.read');
    await g.entitlement('crm.write');
    const ids = await subjects(g);
    const c = CHANGES[change];
    const id = ids[c.subject];
    const ctx = who === 'connector' ? connector : governanceContext('gov-test', 'table');
    const before = await captureState(g.t, `/Agents/${id}`);
    const write = g.t.service.patch('Agent', id, patchOps(...c.ops), ctx);
    if (outcome === 'ok') {
      const res = await write;
      expect(res.resource).toBeDefined();
      return;
    }
    await expect(write).rejects.toMatchObject({ status: 403, message: expect.stringMatching(outcome) });
    await expectUnchanged(g.t, before);
  });

  it('most restrictive wins: a connector or the engine suspending a pending agent keeps it pending, a client gets an error', async () => {
    g = await buildGov();
    const pending = (await g.agent('waiting-bot')).id as string;
    for (const ctx of [connector, governanceContext('gov-pending', 'table')]) {
      const res = await g.t.service.patch('Agent', pending, patchOps(...setState('suspended', 'externalDisable')), ctx);
      expect((res.resource[GOV_URN] as Json)).toMatchObject({ lifecycleState: 'pending', stateReason: 'approvalPending' });
    }
    const client = await g.patch(`/Agents/${pending}`, setState('suspended', 'manual'));
    expect(client.status).toBe(400);
    expect((await g.gov(pending)).lifecycleState).toBe('pending');
  });
});
