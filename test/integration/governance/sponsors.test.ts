// Sponsors (R01–R03): exactly one accountable, active human; co-sponsors and owners; and what
// happens — at once, in the same commit — when an IdP deactivates or deletes that human over SCIM:
// departed, then promotion of a co-sponsor, transfer to the manager, or suspension after the grace
// period on the injected clock. Every step is audited.

import { afterEach, describe, expect, it } from 'vitest';
import { allAudit, scimError } from '../../helpers/test-app.js';
import { buildGov, DAY, ENTERPRISE_URN, type Gov, GOV_URN, type Json, patchOps, setState, USER_URN } from './helpers.js';

describe('sponsors', () => {
  let g: Gov;
  afterEach(() => g.close());

  it('R01: exactly one sponsor, an active human User — not missing, not an agent, not a group, not inactive', async () => {
    g = await buildGov();
    const alice = await g.user('alice', { displayName: 'Alice', emails: [{ value: 'alice@corp.example', primary: true }] });
    const gone = await g.user('gone', { active: false });
    const machine = await g.user('svc-account', { userType: 'Agent' });
    const group = (await g.t.http.post('/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Finance' })).body.id as string;
    const other = await g.agent('other-bot', { sponsor: alice });
    const bodyWithout = g.agentBody('no-sponsor-bot', alice);
    delete (bodyWithout[GOV_URN] as Json).sponsor;
    for (const [label, body, detail] of [
      ['missing', bodyWithout, /sponsor/],
      ['unknown id', g.agentBody('x-bot', 'no-such-user'), /no User has id/],
      ['an agent', g.agentBody('x-bot', other.id as string), /is an agent/],
      ['a User typed Agent', g.agentBody('x-bot', machine), /is an agent/],
      ['a group', g.agentBody('x-bot', group), /is a Group/],
      ['inactive', g.agentBody('x-bot', gone), /not active/],
    ] as const) {
      const res = await g.t.http.post('/Agents', body);
      expect(res.status, label).toBe(400);
      expect(res.body, label).toEqual(scimError(400, 'invalidValue', detail));
    }
    // PATCH removing the sponsor, or pointing it at the agent itself
    const a = await g.agent('sponsored-bot', { sponsor: alice });
    const id = a.id as string;
    expect((await g.patch(`/Agents/${id}`, [{ op: 'remove', path: `${GOV_URN}:sponsor` }])).status).toBe(400);
    const self = await g.patch(`/Agents/${id}`, [{ op: 'replace', path: `${GOV_URN}:sponsor`, value: { value: id } }]);
    expect(self.status).toBe(400);
    expect(self.body.detail).toMatch(/itself/);
    // what the agent records about its sponsor (readOnly facts, for IGA correlation)
    expect((a[GOV_URN] as Json).sponsor).toEqual({
      value: alice,
      display: 'Alice',
      email: 'alice@corp.example',
      status: 'active',
      $ref: `${g.t.origin}/scim/v2/Users/${alice}`,
    });
    // co-sponsors are active humans or groups; owners are Users or Groups
    const co = await g.patch(`/Agents/${id}`, [{ op: 'add', path: `${GOV_URN}:coSponsors`, value: [{ value: group }, { value: gone }] }]);
    expect(co.status).toBe(400);
    expect(co.body.detail).toMatch(/not active/);
    const co2 = await g.patch(`/Agents/${id}`, [
      { op: 'add', path: `${GOV_URN}:coSponsors`, value: [{ value: group }] },
      { op: 'add', path: 'owners', value: [{ value: alice }, { value: group }] },
    ]);
    expect(co2.status, JSON.stringify(co2.body)).toBe(200);
    expect((co2.body[GOV_URN] as Json).coSponsors).toEqual([{ value: group, type: 'group', display: 'Finance', $ref: `${g.t.origin}/scim/v2/Groups/${group}` }]);
    expect(co2.body.owners).toEqual([
      { value: alice, type: 'user', display: 'Alice', $ref: `${g.t.origin}/scim/v2/Users/${alice}` },
      { value: group, type: 'group', display: 'Finance', $ref: `${g.t.origin}/scim/v2/Groups/${group}` },
    ]);
    expect((await g.patch(`/Agents/${id}`, [{ op: 'add', path: 'owners', value: [{ value: other.id }] }])).status).toBe(400);
  });

  it('R03: Entra deactivates the sponsor (PATCH active "False") → departed at once, suspended after the grace period, audited', async () => {
    g = await buildGov();
    const entra = await g.t.tokenWith(['scim.write'], 'entra-provisioning');
    const sponsor = await g.user('dana', { displayName: 'Dana' });
    const a1 = await g.agent('triage-bot', { sponsor, gov: { lifecycleState: 'active' } });
    const a2 = await g.agent('report-bot', { sponsor, gov: { lifecycleState: 'active' } });
    const unrelated = await g.agent('unrelated-bot', { gov: { lifecycleState: 'active' } });
    const n = (await allAudit(g.t)).length;

    g.t.clock.advance(DAY);
    const off = await g.t.http
      .patch(`/Users/${sponsor}`, patchOps({ op: 'Replace', path: 'active', value: 'False' }), entra)
      .set('X-Request-Id', 'entra-leaver-1');
    expect(off.status).toBe(200);
    for (const a of [a1, a2]) {
      expect(await g.gov(a.id as string)).toMatchObject({
        lifecycleState: 'active',
        sponsorStatus: 'departed',
        sponsorDepartedAt: '2026-04-02T09:00:00.000Z',
        sponsor: { value: sponsor, status: 'departed' },
        complianceIssues: [{ type: 'sponsorDeparted', since: '2026-04-02T09:00:00.000Z' }],
      });
    }
    expect((await g.gov(unrelated.id as string)).sponsorStatus).toBe('ok');
    // one commit: the user change and both agents, under the IdP's request id
    const events = (await allAudit(g.t)).slice(n);
    expect(events.map((e) => [e.action, e.resourceType, e.resourceId, e.requestId])).toEqual([
      ['patch', 'User', sponsor, 'entra-leaver-1'],
      ['sponsor.departed', 'Agent', a1.id, 'entra-leaver-1'],
      ['sponsor.departed', 'Agent', a2.id, 'entra-leaver-1'],
    ]);
    expect(events[1]).toMatchObject({ actor: { client: 'agentroster-governance' }, reason: expect.stringMatching(/deactivated by entra-provisioning/) });
    expect(events.map((e) => e.seq)).toEqual([events[0]!.seq, events[0]!.seq + 1, events[0]!.seq + 2]);

    // an agent without an accountable sponsor cannot be (re)activated
    // the grace period (7 days) runs on the injected clock
    g.t.clock.advance(6 * DAY);
    await g.t.governance.scheduler.runOnce();
    expect((await g.gov(a1.id as string)).lifecycleState).toBe('active');
    g.t.clock.advance(DAY);
    const report = await g.t.governance.scheduler.runOnce();
    expect(report.suspended).toEqual({ sponsorDeparted: 2 });
    for (const a of [a1, a2]) {
      expect(await g.gov(a.id as string)).toMatchObject({ lifecycleState: 'suspended', stateReason: 'sponsorDeparted', authorizationNotBefore: g.t.clock.iso() });
    }
    const suspension = (await allAudit(g.t)).filter((e) => e.action === 'governance.suspend');
    expect(suspension).toHaveLength(2);
    expect(suspension[0]).toMatchObject({ actor: { client: 'agentroster-governance' }, reason: expect.stringMatching(/no successor within 7 days \(R03\)/) });
    // reactivation is blocked until someone accountable is assigned
    const blocked = await g.patch(`/Agents/${a1.id as string}`, setState('active'));
    expect(blocked.status).toBe(409);
    expect(blocked.body.detail).toMatch(/sponsor is departed/);
    const erin = await g.user('erin');
    expect((await g.patch(`/Agents/${a1.id as string}`, [{ op: 'replace', path: `${GOV_URN}:sponsor`, value: { value: erin } }])).status).toBe(200);
    const back = await g.patch(`/Agents/${a1.id as string}`, setState('active'));
    expect(back.status, JSON.stringify(back.body)).toBe(200);
    expect(back.body[GOV_URN]).toMatchObject({ sponsorStatus: 'ok', lifecycleState: 'active' });
  });

  it('R03: Okta PUTs the sponsor with active:false → the first active co-sponsor takes over (transferPending until they certify)', async () => {
    g = await buildGov();
    const okta = await g.t.tokenWith(['scim.write'], 'okta');
    const sponsor = await g.user('sam', { displayName: 'Sam' });
    const leftToo = await g.user('lee', { active: false });
    const co = await g.user('cora', { displayName: 'Cora' });
    const a = await g.agent('handover-bot', { sponsor, gov: { lifecycleState: 'active' } });
    const id = a.id as string;
    // an inactive co-sponsor cannot be added, an active one can
    expect((await g.patch(`/Agents/${id}`, [{ op: 'add', path: `${GOV_URN}:coSponsors`, value: [{ value: leftToo }] }])).status).toBe(400);
    await g.patch(`/Agents/${id}`, [{ op: 'add', path: `${GOV_URN}:coSponsors`, value: [{ value: co }] }]);

    const put = await g.t.http.put(`/Users/${sponsor}`, { schemas: [USER_URN], userName: 'sam', displayName: 'Sam', active: false }, okta);
    expect(put.status).toBe(200);
    const gov = await g.gov(id);
    expect(gov).toMatchObject({ lifecycleState: 'active', sponsorStatus: 'transferPending', sponsor: { value: co, display: 'Cora', status: 'active' } });
    expect(gov.coSponsors).toBeUndefined();
    expect(gov.complianceIssues).toEqual([{ type: 'sponsorUnconfirmed', since: g.t.clock.iso() }]);
    const [event] = (await allAudit(g.t)).filter((e) => e.action === 'sponsor.departed');
    expect(event!.changes).toMatchObject({ [`${GOV_URN}:sponsor`]: { before: { value: sponsor }, after: { value: co } } });

    // the new sponsor confirms by certifying the agent
    const coToken = await g.t.tokenWith(['agents.approve'], 'cora-approvals', co);
    const cert = await g.t.http.post(`/Agents/${id}/certifications`, { decision: 'certify', justification: 'I own it now' }, coToken);
    expect(cert.status, JSON.stringify(cert.body)).toBe(201);
    expect(await g.gov(id)).toMatchObject({ sponsorStatus: 'ok', lastReviewedBy: { value: co, display: 'Cora', system: 'agentroster' } });
  });

  it("R03: a deleted sponsor's agents transfer to the sponsor's manager (enterprise manager)", async () => {
    g = await buildGov();
    const boss = await g.user('boss', { displayName: 'The Boss' });
    const sponsor = await g.user('leaver', { [ENTERPRISE_URN]: { manager: { value: boss } } });
    const a = await g.agent('manager-bot', { sponsor, gov: { lifecycleState: 'active' } });
    expect((await g.t.http.delete(`/Users/${sponsor}`)).status).toBe(204);
    expect(await g.gov(a.id as string)).toMatchObject({ sponsorStatus: 'transferPending', sponsor: { value: boss, display: 'The Boss' }, lifecycleState: 'active' });
    const proj = await g.t.http.get(`/Users/${a.id as string}`);
    expect(proj.body[ENTERPRISE_URN].manager).toEqual({ value: boss, displayName: 'The Boss', $ref: `${g.t.origin}/scim/v2/Users/${boss}` });
  });

  it('R03 with no successor policy: departed, then back to ok when the sponsor returns; facts follow the User', async () => {
    g = await buildGov({ env: { AGENTROSTER_SPONSOR_DEPARTURE_POLICY: 'none' } });
    const co = await g.user('co');
    const boss = await g.user('boss');
    const sponsor = await g.user('pat', { displayName: 'Pat', [ENTERPRISE_URN]: { manager: { value: boss } } });
    const a = await g.agent('loyal-bot', { sponsor, gov: { lifecycleState: 'active', coSponsors: [{ value: co }] } });
    await g.t.http.patch(`/Users/${sponsor}`, patchOps({ op: 'replace', value: { active: false } }));
    expect(await g.gov(a.id as string)).toMatchObject({ sponsorStatus: 'departed', sponsor: { value: sponsor } });
    await g.t.http.patch(`/Users/${sponsor}`, patchOps({ op: 'replace', path: 'active', value: true }));
    expect(await g.gov(a.id as string)).toMatchObject({ sponsorStatus: 'ok', sponsor: { value: sponsor, status: 'active' } });
    expect((await g.gov(a.id as string)).sponsorDepartedAt).toBeUndefined();
    // a change of name or e-mail reaches the agent and its User projection (IGA correlation keys)
    await g.t.http.patch(`/Users/${sponsor}`, patchOps({ op: 'replace', path: 'displayName', value: 'Patricia' }, { op: 'add', path: 'emails', value: [{ value: 'pat@corp.example', primary: true }] }));
    expect((await g.gov(a.id as string)).sponsor).toMatchObject({ display: 'Patricia', email: 'pat@corp.example' });
    const proj = await g.t.http.get(`/Users/${a.id as string}`);
    expect(proj.body['urn:agentroster:scim:schemas:extension:agent:1.0:User']).toMatchObject({ sponsorDisplayName: 'Patricia', sponsorEmail: 'pat@corp.example' });
    // a co-sponsor who leaves is dropped from the list (audited)
    await g.t.http.patch(`/Users/${co}`, patchOps({ op: 'replace', path: 'active', value: false }));
    expect((await g.gov(a.id as string)).coSponsors).toBeUndefined();
  });

  it('R02: below minSponsors an agent is listed as non-compliant, and suspended after the grace period', async () => {
    g = await buildGov({ env: { AGENTROSTER_MIN_SPONSORS: '2', AGENTROSTER_MIN_SPONSORS_GRACE_DAYS: '3' } });
    const co = await g.user('second');
    const lone = await g.agent('lone-bot', { gov: { lifecycleState: 'active' } });
    const paired = await g.agent('paired-bot', { gov: { lifecycleState: 'active', coSponsors: [{ value: co }] } });
    const listed = await g.t.http.get(`/Agents?filter=${encodeURIComponent(`${GOV_URN}:complianceIssues[type eq "minSponsors"]`)}`);
    expect(listed.body.Resources.map((r: Json) => r.id)).toEqual([lone.id]);
    g.t.clock.advance(3 * DAY);
    const report = await g.t.governance.scheduler.runOnce();
    expect(report.suspended).toEqual({ policyViolation: 1 });
    expect(await g.gov(lone.id as string)).toMatchObject({ lifecycleState: 'suspended', stateReason: 'policyViolation' });
    expect((await g.gov(paired.id as string)).lifecycleState).toBe('active');
  });

  it('the sweep repairs a departure the cascade never saw (a change made directly in the database)', async () => {
    g = await buildGov();
    const sponsor = await g.user('ghost');
    const a = await g.agent('orphan-bot', { sponsor, gov: { lifecycleState: 'active' } });
    const row = (await g.t.store.get('User', sponsor))!;
    await g.t.store.commit({ writes: [{ kind: 'update', type: 'User', id: sponsor, data: { ...row.data, active: false }, at: g.t.clock.iso(), expectedVersion: row.version }], audit: [], outbox: [] });
    expect((await g.gov(a.id as string)).sponsorStatus).toBe('ok');
    const report = await g.t.governance.scheduler.runOnce({ sweep: true });
    expect(report.sponsorsDeparted).toBe(1);
    expect((await g.gov(a.id as string)).sponsorStatus).toBe('departed');
  });
});
