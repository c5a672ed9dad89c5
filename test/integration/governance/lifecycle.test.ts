// Lifecycle (standards.md §4.3; R14, R15): hiring, not spawning — pending until approved (per
// environment), guarded transitions, the suspension cutoff, retired as a terminal tombstone whose
// id and name are never reused, DELETE that never loses an agent, seat limits per owner team.

import { afterEach, describe, expect, it } from 'vitest';
import { allAudit, captureState, expectUnchanged, scimError } from '../../helpers/test-app.js';
import { buildGov, type Gov, GOV_URN, type Json, patchOps, setState } from './helpers.js';

describe('agent lifecycle', () => {
  let g: Gov;
  afterEach(() => g.close());

  it('a new agent waits for approval; only agents.approve activates it, and the approver is recorded', async () => {
    g = await buildGov();
    const writer = await g.t.tokenWith(['scim.write'], 'provisioner');
    const approverId = await g.user('ada', { displayName: 'Ada Approver' });
    const approver = await g.t.tokenWith(['agents.approve'], 'approvals', approverId);
    const a = await g.agent('fresh-bot', { token: writer });
    const id = a.id as string;
    expect(a.active).toBe(false);
    expect(a[GOV_URN]).toMatchObject({ lifecycleState: 'pending', stateReason: 'approvalPending', stateChangedAt: '2026-04-01T09:00:00.000Z', version: 1 });

    // asking to start active without agents.approve is refused, nothing stored
    const sponsor = ((a[GOV_URN] as Json).sponsor as Json).value as string;
    const eager = await g.t.http.post('/Agents', g.agentBody('eager-bot', sponsor, {}, { lifecycleState: 'active' }), writer);
    expect(eager.status).toBe(403);
    expect(eager.body).toEqual(scimError(403, undefined, /agents\.approve/));

    const denied = await g.patch(`/Agents/${id}`, setState('active'), writer);
    expect(denied.status).toBe(403);
    expect(denied.body.detail).toMatch(/agents\.approve/);

    g.t.clock.advance(60_000);
    const ok = await g.patch(`/Agents/${id}`, setState('active'), approver);
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.active).toBe(true);
    const gov = ok.body[GOV_URN] as Json;
    expect(gov).toMatchObject({
      lifecycleState: 'active',
      stateChangedAt: '2026-04-01T09:01:00.000Z',
      approvedAt: '2026-04-01T09:01:00.000Z',
      approvedBy: { value: approverId, display: 'Ada Approver' },
      version: 2,
      // approval counts as the first review (R04)
      nextReviewDue: '2026-06-30T09:01:00.000Z',
    });
    expect(gov.stateReason).toBeUndefined();
    const event = (await allAudit(g.t)).at(-1)!;
    expect(event).toMatchObject({ action: 'patch', resourceId: id, actor: { client: 'approvals', userId: approverId } });
  });

  it('approval is required per environment: development agents of a scim.write client start active', async () => {
    g = await buildGov({ env: { AGENTROSTER_APPROVAL_REQUIRED_ENVIRONMENTS: 'production,staging' } });
    const writer = await g.t.tokenWith(['scim.write'], 'ci-pipeline');
    const dev = await g.agent('dev-bot', { token: writer, gov: { environment: 'development' } });
    expect(dev[GOV_URN]).toMatchObject({ lifecycleState: 'active', approvedBy: { display: 'ci-pipeline (no approval required in development)' } });
    const prod = await g.agent('prod-bot', { token: writer, gov: { environment: 'production' } });
    expect((prod[GOV_URN] as Json).lifecycleState).toBe('pending');
  });

  it('transitions are guarded; suspension advances authorizationNotBefore; reactivation needs agents.approve', async () => {
    g = await buildGov();
    const writer = await g.t.tokenWith(['scim.write']);
    const a = await g.agent('guarded-bot');
    const id = a.id as string;
    const bad = await g.patch(`/Agents/${id}`, setState('suspended'));
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual(scimError(400, 'invalidValue', /pending to suspended/));

    await g.patch(`/Agents/${id}`, setState('active'));
    g.t.clock.advance(3_600_000);
    const sus = await g.patch(`/Agents/${id}`, setState('suspended', 'credentialCompromise'), writer);
    expect(sus.status).toBe(200);
    expect(sus.body[GOV_URN]).toMatchObject({
      lifecycleState: 'suspended',
      stateReason: 'credentialCompromise',
      authorizationNotBefore: '2026-04-01T10:00:00.000Z',
      stateChangedAt: '2026-04-01T10:00:00.000Z',
    });
    const reactivate = await g.patch(`/Agents/${id}`, setState('active'), writer);
    expect(reactivate.status).toBe(403);
    expect(reactivate.body.detail).toMatch(/reactivating a suspended agent needs the "agents.approve" scope/);
    const back = await g.patch(`/Agents/${id}`, setState('active'));
    expect(back.status).toBe(200);
    expect((back.body[GOV_URN] as Json).authorizationNotBefore).toBe('2026-04-01T10:00:00.000Z'); // never moves back
  });

  it('retired is terminal: a tombstone that cannot change, whose name is never reused; DELETE never loses data', async () => {
    g = await buildGov();
    await g.entitlement('docs.read');
    const a = await g.agent('old-bot', {
      extra: { entitlements: [{ value: 'docs.read' }] },
      gov: { lifecycleState: 'active', credentials: [{ credentialId: 'cred-old-1', type: 'oauthClient', status: 'active' }] },
    });
    const id = a.id as string;

    // R14: DELETE of an agent that is not retired → 403, nothing changed, nothing audited
    const before = await captureState(g.t, `/Agents/${id}`, `/Users/${id}`);
    const del = await g.t.http.delete(`/Agents/${id}`);
    expect(del.status).toBe(403);
    expect(del.body).toEqual(scimError(403, undefined, /not retired/));
    await expectUnchanged(g.t, before);

    // R14: retirement needs every credential revoked first
    const live = await g.patch(`/Agents/${id}`, setState('retired'));
    expect(live.status).toBe(409);
    expect(live.body.detail).toMatch(/cred-old-1/);
    await g.patch(`/Agents/${id}`, [{ op: 'replace', path: `${GOV_URN}:credentials[credentialId eq "cred-old-1"].status`, value: 'revoked' }]);
    const retired = await g.patch(`/Agents/${id}`, setState('retired'));
    expect(retired.status, JSON.stringify(retired.body)).toBe(200);
    expect(retired.body.entitlements).toBeUndefined(); // every grant goes with retirement
    expect(retired.body[GOV_URN]).toMatchObject({ lifecycleState: 'retired', stateReason: 'decommissioned', authorizationNotBefore: g.t.clock.iso() });
    expect((retired.body[GOV_URN] as Json).nextReviewDue).toBeUndefined();

    // terminal: no way back, no edits
    for (const ops of [setState('active'), setState('suspended'), [{ op: 'replace', path: 'description', value: 'zombie' }]]) {
      const res = await g.patch(`/Agents/${id}`, ops);
      expect(res.status, JSON.stringify(ops)).toBe(400);
      expect(res.body.detail).toMatch(/retired|tombstone/);
    }
    // the tombstone stays (and DELETE keeps it); the IGA account is gone
    expect((await g.t.http.delete(`/Agents/${id}`)).status).toBe(204);
    expect((await g.t.http.delete(`/Agents/${id}`)).status).toBe(204);
    expect((await g.t.http.get(`/Agents/${id}`)).status).toBe(200);
    expect((await g.t.http.get(`/Users/${id}`)).status).toBe(404);
    // the name is never issued again
    const again = await g.t.http.post('/Agents', g.agentBody('old-bot', ((a[GOV_URN] as Json).sponsor as Json).value as string));
    expect(again.status).toBe(409);
    expect(again.body.scimType).toBe('uniqueness');
  });

  it('seat limits per owner team make identities a deliberate grant; retiring frees a seat', async () => {
    g = await buildGov({ env: { AGENTROSTER_SEAT_LIMITS: 'Payments Team=2,*=10' } });
    const team = await g.t.http.post('/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Payments Team' });
    const ownerTeam = { value: team.body.id as string };
    const one = await g.agent('pay-1', { gov: { ownerTeam } });
    expect((one[GOV_URN] as Json).ownerTeam).toMatchObject({ value: ownerTeam.value, display: 'Payments Team' });
    await g.agent('pay-2', { gov: { ownerTeam } });
    const third = await g.t.http.post('/Agents', g.agentBody('pay-3', ((one[GOV_URN] as Json).sponsor as Json).value as string, {}, { ownerTeam }));
    expect(third.status).toBe(409);
    expect(third.body.detail).toMatch(/Payments Team.*2 agent seats/);
    await g.patch(`/Agents/${one.id as string}`, setState('retired'));
    expect((await g.t.http.post('/Agents', g.agentBody('pay-3', ((one[GOV_URN] as Json).sponsor as Json).value as string, {}, { ownerTeam }))).status).toBe(201);
    // ownerTeam must be a Group
    const bad = await g.t.http.post('/Agents', g.agentBody('pay-4', ((one[GOV_URN] as Json).sponsor as Json).value as string, {}, { ownerTeam: { value: 'no-such-group' } }));
    expect(bad.status).toBe(400);
  });

  it('version counts changes of the record, not no-ops', async () => {
    g = await buildGov();
    const a = await g.agent('counted-bot');
    const id = a.id as string;
    await g.patch(`/Agents/${id}`, [{ op: 'replace', path: 'description', value: 'one' }]);
    const same = await g.patch(`/Agents/${id}`, [{ op: 'replace', path: 'description', value: 'one' }]);
    expect(same.headers.etag).toBe('W/"2"');
    expect((same.body[GOV_URN] as Json).version).toBe(2);
    const res = await g.t.http.patch(`/Agents/${id}`, patchOps({ op: 'replace', path: 'description', value: 'two' }));
    expect((res.body[GOV_URN] as Json).version).toBe(3);
  });

  it('a sync reconciler (no token: Entra, Okta) may suspend and revoke — most restrictive wins — but never activate or grant', async () => {
    g = await buildGov();
    await g.entitlement('crm.read');
    await g.entitlement('crm.write');
    const a = await g.agent('synced-bot', { gov: { lifecycleState: 'active' }, extra: { entitlements: [{ value: 'crm.read' }] } });
    const pending = await g.agent('pending-synced-bot');
    const id = a.id as string;
    const entra = { actor: { client: 'entra' }, scopes: new Set(['scim.read', 'scim.revoke'] as const), requestId: 'sync-entra-1', baseUrl: '' };
    const patch = (target: string, ops: unknown[]) => g.t.service.patch('Agent', target, patchOps(...ops), entra);
    await patch(id, [{ op: 'remove', path: 'entitlements[value eq "crm.read"]' }]);
    const suspended = await patch(id, setState('suspended', 'externalDisable'));
    expect(suspended.resource[GOV_URN]).toMatchObject({ lifecycleState: 'suspended', stateReason: 'externalDisable' });
    expect(suspended.resource.entitlements).toBeUndefined();
    // a remote re-enable is never applied; nor a remote grant
    await expect(patch(id, setState('active'))).rejects.toMatchObject({ status: 403, message: expect.stringMatching(/never applied here/) });
    await expect(patch(id, [{ op: 'add', path: 'entitlements', value: [{ value: 'crm.write' }] }])).rejects.toMatchObject({ status: 403 });
    // suspending a pending agent keeps it pending (already inactive): no error, no change
    const p = await g.t.service.patch('Agent', pending.id as string, patchOps(...setState('suspended', 'externalDisable')), entra);
    expect(p.resource[GOV_URN]).toMatchObject({ lifecycleState: 'pending', stateReason: 'approvalPending' });
    const events = (await allAudit(g.t)).filter((e) => e.requestId === 'sync-entra-1');
    expect(events.map((e) => [e.actor.client, e.resourceId])).toEqual([
      ['entra', id],
      ['entra', id],
    ]);
  });
});
