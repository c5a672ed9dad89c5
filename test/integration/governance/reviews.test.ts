// Reviews and activity (R04, R05, R09, R21): the reconfirmation interval and nextReviewDue, the
// certification endpoint (certify / modify / revoke), overdue + grace → suspended, inactivity with
// its configured action, usage evidence ingested per grant, interactive use flagged.

import { afterEach, describe, expect, it } from 'vitest';
import { allAudit, scimError } from '../../helpers/test-app.js';
import { AGENT_USER_URN, buildGov, DAY, type Gov, GOV_URN, type Json, setState } from './helpers.js';

describe('reviews and activity', () => {
  let g: Gov;
  afterEach(() => g.close());

  it('R04: reviewIntervalDays is 30–730; nextReviewDue = last review + interval', async () => {
    g = await buildGov();
    for (const days of [29, 731, 90.5]) {
      const res = await g.t.http.post('/Agents', g.agentBody(`bad-${String(days).replace('.', '-')}`, await g.user(`s-${String(days).replace('.', '-')}`), {}, { reviewIntervalDays: days }));
      expect(res.status, String(days)).toBe(400);
      expect(res.body).toEqual(scimError(400, 'invalidValue', days === 90.5 ? /integer/ : /30 to 730.*R04/));
    }
    const a = await g.agent('reviewed-bot', { gov: { reviewIntervalDays: 30 } });
    expect((a[GOV_URN] as Json).nextReviewDue).toBe('2026-05-01T09:00:00.000Z');
    const longer = await g.patch(`/Agents/${a.id as string}`, [{ op: 'replace', path: `${GOV_URN}:reviewIntervalDays`, value: 60 }]);
    expect((longer.body[GOV_URN] as Json).nextReviewDue).toBe('2026-05-31T09:00:00.000Z');
    // without an interval: the policy default (90)
    expect(((await g.agent('default-bot'))[GOV_URN] as Json).nextReviewDue).toBe('2026-06-30T09:00:00.000Z');
  });

  it('R04: overdue + grace → suspended (reviewOverdue); certification recomputes nextReviewDue and unblocks reactivation', async () => {
    g = await buildGov();
    const reviewerId = await g.user('rita', { displayName: 'Rita Reviewer' });
    const reviewer = await g.t.tokenWith(['agents.approve'], 'campaigns', reviewerId);
    const a = await g.agent('stale-bot', { gov: { lifecycleState: 'active', reviewIntervalDays: 30 } });
    const id = a.id as string;
    g.t.clock.advance(30 * DAY + 1000); // due passed, grace (14 days) running
    let report = await g.t.governance.scheduler.runOnce();
    expect(report.suspended).toEqual({});
    expect((await g.gov(id)).complianceIssues).toEqual([{ type: 'reviewOverdue', since: '2026-05-01T09:00:00.000Z' }]);
    const overdue = await g.t.http.get(`/Agents?filter=${encodeURIComponent(`${GOV_URN}:nextReviewDue lt "${g.t.clock.iso()}"`)}`);
    expect(overdue.body.Resources.map((r: Json) => r.id)).toEqual([id]);
    g.t.clock.advance(14 * DAY);
    report = await g.t.governance.scheduler.runOnce();
    expect(report.suspended).toEqual({ reviewOverdue: 1 });
    expect(await g.gov(id)).toMatchObject({ lifecycleState: 'suspended', stateReason: 'reviewOverdue' });
    // reactivation waits for a review
    const blocked = await g.patch(`/Agents/${id}`, setState('active'));
    expect(blocked.status).toBe(409);
    expect(blocked.body.detail).toMatch(/review is overdue/);
    const cert = await g.t.http.post(`/Agents/${id}/certifications`, { decision: 'certify', system: 'sailpoint', campaign: 'Q2 agents', justification: 'still needed' }, reviewer);
    expect(cert.status, JSON.stringify(cert.body)).toBe(201);
    expect(cert.body).toMatchObject({
      decision: 'certify',
      decidedAt: g.t.clock.iso(),
      reviewer: { value: reviewerId, display: 'Rita Reviewer', system: 'sailpoint' },
      nextReviewDue: new Date(Date.parse(g.t.clock.iso()) + 30 * DAY).toISOString(),
      lifecycleState: 'suspended',
    });
    expect(await g.gov(id)).toMatchObject({ lastReviewedAt: g.t.clock.iso(), lastReviewOutcome: 'certified', lastReviewedBy: { value: reviewerId, system: 'sailpoint' } });
    expect((await g.gov(id)).complianceIssues).toBeUndefined();
    const event = (await allAudit(g.t)).at(-1)!;
    expect(event).toMatchObject({ action: 'certification.certify', actor: { client: 'campaigns', userId: reviewerId }, reason: 'certification: certify; campaign Q2 agents; still needed' });
    expect((await g.patch(`/Agents/${id}`, setState('active'))).status).toBe(200);
  });

  it('certification decisions: modify removes the named grants; revoke removes all and suspends; scopes are checked', async () => {
    g = await buildGov();
    for (const v of ['a.read', 'b.read', 'c.read']) await g.entitlement(v);
    const a = await g.agent('certified-bot', { gov: { lifecycleState: 'active' }, extra: { entitlements: [{ value: 'a.read' }, { value: 'b.read' }, { value: 'c.read' }] } });
    const id = a.id as string;
    const revokeOnly = await g.t.tokenWith(['scim.revoke'], 'okta-iga');
    const reader = await g.t.tokenWith(['scim.read']);
    expect((await g.t.http.post(`/Agents/${id}/certifications`, { decision: 'certify' }, revokeOnly)).status).toBe(403);
    expect((await g.t.http.post(`/Agents/${id}/certifications`, { decision: 'revoke' }, reader)).status).toBe(403);
    expect((await g.t.http.post(`/Agents/${id}/certifications`, { decision: 'approve' })).status).toBe(400);
    const modify = await g.t.http.post(`/Agents/${id}/certifications`, { decision: 'modify', removeEntitlements: ['b.read'] });
    expect(modify.status).toBe(201);
    expect(modify.body.removed).toEqual({ entitlements: ['b.read'], roles: [] });
    const after = await g.get(id);
    expect((after.entitlements as Json[]).map((e) => [e.value, e.lastCertifiedAt])).toEqual([
      ['a.read', g.t.clock.iso()],
      ['c.read', g.t.clock.iso()],
    ]);
    expect((after[GOV_URN] as Json).lastReviewOutcome).toBe('modified');
    const revoke = await g.t.http.post(`/Agents/${id}/certifications`, { decision: 'revoke', system: 'okta' }, revokeOnly);
    expect(revoke.status).toBe(201);
    expect(revoke.body).toMatchObject({ lifecycleState: 'suspended', stateReason: 'certificationRevoked', removed: { entitlements: ['a.read', 'c.read'] } });
    expect((await g.get(id)).entitlements).toBeUndefined();
  });

  it('R05: activity moves lastActivityAt; an agent idle for inactivityDays is suspended (inactivity)', async () => {
    g = await buildGov({ env: { AGENTROSTER_INACTIVITY_DAYS: '30' } });
    await g.entitlement('tickets.read');
    const busy = await g.agent('busy-bot', { gov: { lifecycleState: 'active' }, extra: { entitlements: [{ value: 'tickets.read' }] } });
    const idle = await g.agent('idle-bot', { gov: { lifecycleState: 'active' } });
    g.t.clock.advance(20 * DAY);
    const act = await g.t.http.post(`/Agents/${busy.id as string}/activity`, { kind: 'tokenIssued', source: 'entra-signin-logs', entitlements: ['tickets.read'] });
    expect(act.status).toBe(204);
    expect(await g.gov(busy.id as string)).toMatchObject({ lastActivityAt: g.t.clock.iso() });
    expect(((await g.get(busy.id as string)).entitlements as Json[])[0]!.lastUsedAt).toBe(g.t.clock.iso());
    // activity within a few minutes does not write again
    const n = (await allAudit(g.t)).length;
    g.t.clock.advance(60_000);
    await g.t.http.post(`/Agents/${busy.id as string}/activity`, { kind: 'apiCall' });
    expect((await allAudit(g.t)).length).toBe(n);
    g.t.clock.advance(10 * DAY);
    const report = await g.t.governance.scheduler.runOnce();
    expect(report.suspended).toEqual({ inactivity: 1 });
    expect(await g.gov(idle.id as string)).toMatchObject({ lifecycleState: 'suspended', stateReason: 'inactivity' });
    expect((await g.gov(busy.id as string)).lifecycleState).toBe('active');
    // a future time stamp is refused
    expect((await g.t.http.post(`/Agents/${busy.id as string}/activity`, { at: '2030-01-01T00:00:00Z' })).status).toBe(400);
  });

  it('R05 suspendThenRetire: suspended for inactivity, then retired after inactivityRetireAfterDays', async () => {
    g = await buildGov({ env: { AGENTROSTER_INACTIVITY_DAYS: '10', AGENTROSTER_INACTIVITY_ACTION: 'suspendThenRetire', AGENTROSTER_INACTIVITY_RETIRE_AFTER_DAYS: '5' } });
    const a = await g.agent('fading-bot', { gov: { lifecycleState: 'active' } });
    g.t.clock.advance(10 * DAY);
    expect((await g.t.governance.scheduler.runOnce()).suspended).toEqual({ inactivity: 1 });
    g.t.clock.advance(5 * DAY);
    expect((await g.t.governance.scheduler.runOnce()).retired).toBe(1);
    expect(await g.gov(a.id as string)).toMatchObject({ lifecycleState: 'retired', stateReason: 'inactivity' });
  });

  it('R09 and R21: unused grants are flagged recommendRevoke in the IGA view; interactive sign-in flags human use', async () => {
    g = await buildGov({ env: { AGENTROSTER_GRANT_UNUSED_DAYS: '7' } });
    await g.entitlement('x.read');
    await g.entitlement('y.read');
    const a = await g.agent('usage-bot', { gov: { lifecycleState: 'active' }, extra: { entitlements: [{ value: 'x.read' }, { value: 'y.read' }] } });
    const id = a.id as string;
    g.t.clock.advance(8 * DAY);
    await g.t.http.post(`/Agents/${id}/activity`, { entitlements: ['x.read'] });
    const proj = await g.t.http.get(`/agents-view/Users/${id}`);
    expect((proj.body[AGENT_USER_URN] as Json).entitlementGrants).toEqual([
      expect.objectContaining({ value: 'x.read', recommendRevoke: false, lastUsedAt: g.t.clock.iso() }),
      expect.objectContaining({ value: 'y.read', recommendRevoke: true }),
    ]);
    await g.t.http.post(`/Agents/${id}/activity`, { kind: 'signIn', interactive: true, source: 'browser' });
    expect((await g.gov(id)).lastAuthentication).toEqual({ at: g.t.clock.iso(), interactive: true, source: 'browser', humanUseSuspected: true });
  });
});
