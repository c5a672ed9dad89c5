// Entitlements with grant metadata (standards.md §4.4; R06, R07, R08, R13): values from the
// catalogue only, metadata set by the server, privileged grants expire and need a granter who is
// not the sponsor, the autonomy guardrail, environment isolation, and expired grants removed by
// the scheduler — audited, queued for sync, gone from the IGA view.

import { afterEach, describe, expect, it } from 'vitest';
import { allAudit, scimError } from '../../helpers/test-app.js';
import { AGENT_USER_URN, buildGov, DAY, type Gov, GOV_URN, type Json } from './helpers.js';

const grant = (value: string, extra: Json = {}) => ({ op: 'add', path: 'entitlements', value: [{ value, ...extra }] });

describe('grants', () => {
  let g: Gov;
  afterEach(() => g.close());

  it('grants come from the catalogue, with grant metadata set by the server (the granter is the bound human)', async () => {
    g = await buildGov();
    await g.entitlement('crm.read', undefined, { type: 'Permission' });
    const granterId = await g.user('gina', { displayName: 'Gina Granter' });
    const token = await g.t.tokenWith(['scim.write'], 'access-requests', granterId);
    const a = await g.agent('crm-bot');
    const unknown = await g.patch(`/Agents/${a.id as string}`, [grant('crm.delete')], token);
    expect(unknown.status).toBe(400);
    expect(unknown.body).toEqual(scimError(400, 'invalidValue', /"crm.delete" is not in the catalogue/));
    // readOnly metadata sent by the client is ignored
    const ok = await g.patch(`/Agents/${a.id as string}`, [grant('crm.read', { justification: 'reads accounts', grantedBy: 'someone-else', source: 'policy' })], token);
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.entitlements).toEqual([
      {
        value: 'crm.read',
        display: 'crm.read',
        type: 'Permission',
        justification: 'reads accounts',
        grantId: expect.stringMatching(/^[0-9a-f-]{36}$/),
        grantedBy: granterId,
        grantedByDisplay: 'Gina Granter',
        grantedBySystem: 'agentroster',
        grantedAt: g.t.clock.iso(),
        source: 'direct',
        $ref: expect.stringMatching(/\/scim\/v2\/Entitlements\/[0-9a-f-]{36}$/),
      },
    ]);
    // granted twice → 400; the catalogue entry cannot be deleted while granted
    expect((await g.patch(`/Agents/${a.id as string}`, [{ op: 'replace', path: 'entitlements', value: [{ value: 'crm.read' }, { value: 'crm.read' }] }])).status).toBe(400);
    const entry = (await g.t.http.get(`/Entitlements?filter=${encodeURIComponent('value eq "crm.read"')}`)).body.Resources[0];
    expect(entry.totalAssignmentsUsed).toBe(1);
    const del = await g.t.http.delete(`/Entitlements/${entry.id as string}`);
    expect(del.status).toBe(409);
    expect(del.body.detail).toMatch(/granted to 1 agent/);
  });

  it('R06: a privileged grant without expiry → 400; longer than privilegedMaxDays or maxGrantDays → 400', async () => {
    g = await buildGov();
    await g.entitlement('payments.approve', { privileged: true, maxGrantDays: 14 });
    await g.entitlement('reports.read', { maxGrantDays: 90 });
    const granter = await g.t.tokenWith(['scim.write'], 'pam', await g.user('pam'));
    const a = await g.agent('pay-bot');
    const id = a.id as string;
    const noExpiry = await g.patch(`/Agents/${id}`, [grant('payments.approve')], granter);
    expect(noExpiry.status).toBe(400);
    expect(noExpiry.body).toEqual(scimError(400, 'invalidValue', /privileged: expiresAt is required \(R06/));
    const tooLong = await g.patch(`/Agents/${id}`, [grant('payments.approve', { expiresAt: new Date(Date.parse(g.t.clock.iso()) + 20 * DAY).toISOString() })], granter);
    expect(tooLong.status).toBe(400);
    expect(tooLong.body.detail).toMatch(/at most 14 days/);
    const past = await g.patch(`/Agents/${id}`, [grant('payments.approve', { expiresAt: '2026-01-01T00:00:00Z' })], granter);
    expect(past.body.detail).toMatch(/in the future/);
    const plain = await g.patch(`/Agents/${id}`, [grant('reports.read')], granter);
    expect(plain.status).toBe(400);
    expect(plain.body.detail).toMatch(/at most 90 days: expiresAt is required/);
    const ok = await g.patch(`/Agents/${id}`, [grant('payments.approve', { expiresAt: '2026-04-10T00:00:00Z', justification: 'quarter close' })], granter);
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    // dropping the expiry of a privileged grant (PUT without it) is refused too
    const { meta: _m, ...current } = ok.body as Json;
    const put = await g.t.http.put(`/Agents/${id}`, { ...current, entitlements: [{ value: 'payments.approve' }] }, granter);
    expect(put.status).toBe(400);
    // with the global default privilegedMaxDays (30)
    await g.entitlement('prod.admin', { privileged: true });
    const global = await g.patch(`/Agents/${id}`, [grant('prod.admin', { expiresAt: new Date(Date.parse(g.t.clock.iso()) + 31 * DAY).toISOString() })], granter);
    expect(global.body.detail).toMatch(/at most 30 days/);
  });

  it('R07: the sponsor cannot grant a privileged entitlement; a token without a bound human neither; approval is recorded', async () => {
    g = await buildGov();
    await g.entitlement('db.admin', { privileged: true });
    const sponsor = await g.user('sonia');
    const other = await g.user('oscar');
    const a = await g.agent('db-bot', { sponsor });
    const expiresAt = '2026-04-15T00:00:00.000Z';
    const self = await g.patch(`/Agents/${a.id as string}`, [grant('db.admin', { expiresAt })], await g.t.tokenWith(['scim.write'], 'sonia-token', sponsor));
    expect(self.status).toBe(403);
    expect(self.body).toEqual(scimError(403, undefined, /sponsor cannot grant it \(separation of duties, R07\)/));
    const unbound = await g.patch(`/Agents/${a.id as string}`, [grant('db.admin', { expiresAt })]);
    expect(unbound.status).toBe(403);
    expect(unbound.body.detail).toMatch(/bound to a human User/);
    const ok = await g.patch(`/Agents/${a.id as string}`, [grant('db.admin', { expiresAt })], await g.t.tokenWith(['scim.write'], 'oscar-token', other));
    expect(ok.status).toBe(200);
    expect((ok.body.entitlements as Json[])[0]).toMatchObject({ value: 'db.admin', grantedBy: other, approvedBy: other, expiresAt });
  });

  it('R08: an autonomous agent holds a privileged entitlement only under a requireApproval or deny policy', async () => {
    g = await buildGov();
    await g.entitlement('funds.transfer', { privileged: true });
    const granter = await g.t.tokenWith(['scim.write'], 'grants', await g.user('gus'));
    const a = await g.agent('auto-bot', { gov: { autonomyLevel: 'autonomous' } });
    const id = a.id as string;
    const expiresAt = '2026-04-20T00:00:00Z';
    const bare = await g.patch(`/Agents/${id}`, [grant('funds.transfer', { expiresAt })], granter);
    expect(bare.status).toBe(400);
    expect(bare.body).toEqual(scimError(400, 'invalidValue', /autonomous agent cannot hold privileged entitlements \(funds.transfer\).*R08/));
    const allowOnly = await g.patch(`/Agents/${id}`, [{ op: 'add', path: `${GOV_URN}:actionPolicies`, value: [{ action: 'funds.*', mode: 'allow' }] }, grant('funds.transfer', { expiresAt })], granter);
    expect(allowOnly.status).toBe(400);
    const guarded = await g.patch(
      `/Agents/${id}`,
      [{ op: 'add', path: `${GOV_URN}:actionPolicies`, value: [{ action: 'funds.*', mode: 'requireApproval', approvers: ['treasury'] }] }, grant('funds.transfer', { expiresAt })],
      granter,
    );
    expect(guarded.status, JSON.stringify(guarded.body)).toBe(200);
    // and the guardrail cannot be removed while the grant is held
    const unguard = await g.patch(`/Agents/${id}`, [{ op: 'remove', path: `${GOV_URN}:actionPolicies` }], granter);
    expect(unguard.status).toBe(400);
    // a humanInTheLoop agent needs no policy
    const hitl = await g.agent('hitl-bot');
    expect((await g.patch(`/Agents/${hitl.id as string}`, [grant('funds.transfer', { expiresAt })], granter)).status).toBe(200);
  });

  it('R13: no cross-environment grants', async () => {
    g = await buildGov();
    await g.entitlement('prod.db.read', { environment: 'production' });
    const dev = await g.agent('dev-bot', { gov: { environment: 'development' } });
    const res = await g.patch(`/Agents/${dev.id as string}`, [grant('prod.db.read')]);
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(/production environment; this agent is development \(R13\)/);
    const prod = await g.agent('prod-bot', { extra: { entitlements: [{ value: 'prod.db.read' }] } });
    // moving the agent to another environment with the grant → 400
    const move = await g.patch(`/Agents/${prod.id as string}`, [{ op: 'replace', path: `${GOV_URN}:environment`, value: 'test' }]);
    expect(move.status).toBe(400);
  });

  it('R06: an expired grant is removed by the scheduler, audited, queued for sync, and gone from /Agents and /Users', async () => {
    g = await buildGov({ outboxTargets: ['entra'] });
    await g.entitlement('deploy.prod', { privileged: true });
    await g.entitlement('docs.read');
    const granter = await g.t.tokenWith(['scim.write'], 'jit', await g.user('jit-approver'));
    const a = await g.agent('jit-bot', { gov: { lifecycleState: 'active' }, extra: { entitlements: [{ value: 'docs.read' }] } });
    const id = a.id as string;
    await g.patch(`/Agents/${id}`, [grant('deploy.prod', { expiresAt: '2026-04-02T09:00:00Z' })], granter);
    const proj = await g.t.http.get(`/Users/${id}`);
    expect(proj.body.entitlements.map((e: Json) => e.value)).toEqual(['docs.read', 'deploy.prod']);
    expect(proj.body[AGENT_USER_URN].entitlementGrants).toEqual([
      expect.objectContaining({ value: 'docs.read', privileged: false, recommendRevoke: false }),
      expect.objectContaining({ value: 'deploy.prod', privileged: true, expiresAt: '2026-04-02T09:00:00.000Z' }),
    ]);
    const outboxBefore = (await g.t.store.outbox.list({ target: 'entra' })).length;

    g.t.clock.advance(DAY - 1000);
    expect((await g.t.governance.scheduler.runOnce()).grantsExpired).toBe(0);
    g.t.clock.advance(1000);
    expect((await g.t.governance.scheduler.runOnce()).grantsExpired).toBe(1);
    expect((await g.get(id)).entitlements).toEqual([expect.objectContaining({ value: 'docs.read' })]);
    expect((await g.t.http.get(`/Users/${id}`)).body.entitlements).toEqual([{ value: 'docs.read', display: 'docs.read' }]);
    const event = (await allAudit(g.t)).at(-1)!;
    expect(event).toMatchObject({ action: 'grant.expired', resourceId: id, actor: { client: 'agentroster-governance' }, reason: 'grant expired: deploy.prod (R06)' });
    const outbox = await g.t.store.outbox.list({ target: 'entra' });
    expect(outbox.length).toBe(outboxBefore + 1);
    expect(outbox.at(-1)).toMatchObject({ resourceType: 'Agent', resourceId: id, action: 'grant.expired', status: 'pending' });
  });

  it('limitedAssignmentsPermitted caps the holders of an entitlement', async () => {
    g = await buildGov();
    await g.entitlement('license.seat', undefined, { limitedAssignmentsPermitted: true, totalAssignmentsPermitted: 1 });
    await g.agent('first-bot', { extra: { entitlements: [{ value: 'license.seat' }] } });
    const second = await g.agent('second-bot');
    const res = await g.patch(`/Agents/${second.id as string}`, [grant('license.seat')]);
    expect(res.status).toBe(409);
    expect(res.body.detail).toMatch(/at most 1 agents/);
  });
});
