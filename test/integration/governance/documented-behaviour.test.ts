// Behaviour docs/schemas.md promises (issue 10, finding 10), as a user sees it: the agentUserName
// format enforced from schemas/agent.json; `active` written to /Agents as lifecycle intent (PATCH with
// and without a path, Entra's "False", PUT) under the same scope rules as the IGA view; a PUT that
// omits server-governed attributes keeps them; value-filtered names in attributes/excludedAttributes.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allAudit, captureState, expectUnchanged, scimError } from '../../helpers/test-app.js';
import { governanceContext } from '../../../src/resources/governance/common.js';
import { buildGov, type Gov, GOV_URN, type Json, setState } from './helpers.js';

const AGENT_URN = 'urn:ietf:params:scim:schemas:core:2.0:Agent';
const q = (s: string) => encodeURIComponent(s);

describe('documented behaviour', () => {
  let g: Gov;
  let sponsor: string;
  let revoke: string;
  let writer: string;
  let approver: string;
  let approverId: string;
  const activeAgent = async (name: string) => (await g.agent(name, { sponsor, gov: { lifecycleState: 'active' } })).id as string;

  beforeAll(async () => {
    g = await buildGov();
    sponsor = await g.user('sam.sponsor', { displayName: 'Sam Sponsor' });
    approverId = await g.user('ada.approver', { displayName: 'Ada Approver' });
    revoke = await g.t.tokenWith(['scim.revoke'], 'sailpoint');
    writer = await g.t.tokenWith(['scim.write'], 'provisioner');
    approver = await g.t.tokenWith(['agents.approve'], 'approvals', approverId);
  });
  afterAll(() => g.close());

  describe('agentUserName format (schemas/agent.json pattern, minLength, maxLength)', () => {
    it.each([
      ['Has Spaces!', /agentUserName" must match the pattern \^\[a-z0-9\]\[a-z0-9\._-\]\*\$: character 1 \(U\+0048 "H"\)/],
      ['has spaces', /agentUserName" must match the pattern .*character 4 \(U\+0020\) is not allowed/],
      ['../etc', /agentUserName" must match the pattern .*character 1 \(U\+002E "\."\)/],
      ['-leading-dash', /agentUserName" must match the pattern/],
      ['a', /agentUserName" must be 3 to 64 characters long/],
      ['ab', /agentUserName" must be 3 to 64 characters long/],
      ['a'.repeat(65), /agentUserName" must be 3 to 64 characters long/],
    ])('POST with %j is 400 invalidValue naming the attribute and the rule; nothing is stored', async (name, detail) => {
      const before = await captureState(g.t, '/Agents');
      const res = await g.t.http.post('/Agents', g.agentBody(name, sponsor));
      expect(res.status).toBe(400);
      expect(res.body).toEqual(scimError(400, 'invalidValue', detail));
      await expectUnchanged(g.t, before);
    });

    it('valid names are accepted: 3 and 64 characters, dots, underscores, dashes, a leading digit', async () => {
      for (const name of ['abc', 'a'.repeat(64), 'invoice.bot_v2-eu', '7th-bot']) {
        const res = await g.t.http.post('/Agents', g.agentBody(name, sponsor));
        expect(res.status, JSON.stringify(res.body)).toBe(201);
        expect(res.body.agentUserName).toBe(name);
      }
    });

    it('a rename by PATCH or PUT follows the same rule, and the agent stays as it was', async () => {
      const a = await g.agent('rename-me', { sponsor });
      const id = a.id as string;
      const before = await captureState(g.t, `/Agents/${id}`);
      const patch = await g.patch(`/Agents/${id}`, [{ op: 'replace', path: 'agentUserName', value: 'Rename Me' }]);
      expect(patch.status).toBe(400);
      expect(patch.body).toEqual(scimError(400, 'invalidValue', /agentUserName" must match the pattern/));
      const put = await g.t.http.put(`/Agents/${id}`, { ...(await g.get(id)), agentUserName: 'x'.repeat(65) });
      expect(put.status).toBe(400);
      expect(put.body).toEqual(scimError(400, 'invalidValue', /agentUserName" must be 3 to 64 characters long/));
      await expectUnchanged(g.t, before);
    });

    it('an agent stored before the rule existed keeps its name and can still be suspended', async () => {
      const id = await activeAgent('legacy-bot');
      // a name written before the rule (a trusted server-side change, as a migration would)
      await g.t.service.modify('Agent', id, (a) => ({ ...a, agentUserName: 'Legacy Bot' }), governanceContext('migration'));
      const res = await g.patch(`/Agents/${id}`, setState('suspended'), revoke);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.agentUserName).toBe('Legacy Bot');
      expect((res.body[GOV_URN] as Json).lifecycleState).toBe('suspended');
    });

    it('/Schemas publishes the rule with the attribute', async () => {
      const res = await g.t.http.get(`/Schemas/${AGENT_URN}`);
      expect(res.status).toBe(200);
      const attr = (res.body.attributes as Json[]).find((a) => a.name === 'agentUserName');
      expect(attr).toMatchObject({ pattern: '^[a-z0-9][a-z0-9._-]*$', minLength: 3, maxLength: 64 });
    });
  });

  describe('active written to /Agents is lifecycle intent', () => {
    it('PATCH active false (path) with a scim.revoke token suspends the agent, audited', async () => {
      const id = await activeAgent('intent-path');
      g.t.clock.advance(60_000);
      const res = await g.patch(`/Agents/${id}`, [{ op: 'replace', path: 'active', value: false }], revoke);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.active).toBe(false);
      expect(res.body[GOV_URN]).toMatchObject({ lifecycleState: 'suspended', stateChangedAt: g.t.clock.iso(), authorizationNotBefore: g.t.clock.iso() });
      expect(((await g.gov(id)).lifecycleState)).toBe('suspended');
      const event = (await allAudit(g.t)).at(-1)!;
      expect(event).toMatchObject({ action: 'patch', resourceId: id, actor: { client: 'sailpoint' } });
    });

    it('PATCH without a path, Entra-style {"active":"False"}, suspends too; repeating it changes nothing', async () => {
      const id = await activeAgent('intent-entra');
      const body = { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'Replace', value: { active: 'False' } }] };
      const res = await g.t.http.patch(`/Agents/${id}`, body, revoke);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.active).toBe(false);
      expect((res.body[GOV_URN] as Json).lifecycleState).toBe('suspended');
      const etag = res.headers.etag;
      const again = await g.t.http.patch(`/Agents/${id}`, body, revoke);
      expect(again.status).toBe(200);
      expect(again.headers.etag).toBe(etag);
    });

    it('PUT with active false suspends; the stored state and reason are kept otherwise', async () => {
      const id = await activeAgent('intent-put');
      const current = await g.get(id);
      const res = await g.t.http.put(`/Agents/${id}`, { ...current, active: false }, revoke);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.active).toBe(false);
      expect((res.body[GOV_URN] as Json).lifecycleState).toBe('suspended');
    });

    it('active true is the activation rule: 403 without agents.approve (nothing changes), 200 with it', async () => {
      const id = await activeAgent('intent-reactivate');
      await g.patch(`/Agents/${id}`, [{ op: 'replace', path: 'active', value: false }], revoke);
      const before = await captureState(g.t, `/Agents/${id}`);
      for (const token of [revoke, writer]) {
        const denied = await g.patch(`/Agents/${id}`, [{ op: 'replace', path: 'active', value: 'True' }], token);
        expect(denied.status).toBe(403);
        expect(denied.body).toEqual(scimError(403, undefined, /reactivating a suspended agent needs the "agents\.approve" scope/));
      }
      const deniedPut = await g.t.http.put(`/Agents/${id}`, { ...(await g.get(id)), active: true }, writer);
      expect(deniedPut.status).toBe(403);
      await expectUnchanged(g.t, before);

      const ok = await g.patch(`/Agents/${id}`, [{ op: 'replace', value: { active: true } }], approver);
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      expect(ok.body.active).toBe(true);
      expect((ok.body[GOV_URN] as Json).lifecycleState).toBe('active');
    });

    it('a pending agent: active true by a writer is 403; by an approver it is approved, with the approver recorded', async () => {
      const a = await g.agent('intent-pending', { sponsor, token: writer });
      const id = a.id as string;
      expect((a[GOV_URN] as Json).lifecycleState).toBe('pending');
      const denied = await g.patch(`/Agents/${id}`, [{ op: 'replace', path: 'active', value: true }], writer);
      expect(denied.status).toBe(403);
      expect(denied.body).toEqual(scimError(403, undefined, /agents\.approve/));
      // false on a pending agent is no transition at all
      const noop = await g.patch(`/Agents/${id}`, [{ op: 'replace', path: 'active', value: false }], revoke);
      expect(noop.status).toBe(200);
      expect((noop.body[GOV_URN] as Json).lifecycleState).toBe('pending');
      const ok = await g.t.http.put(`/Agents/${id}`, { ...(await g.get(id)), active: true }, approver);
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      expect(ok.body[GOV_URN]).toMatchObject({ lifecycleState: 'active', approvedBy: { value: approverId, display: 'Ada Approver' } });
    });

    it('an explicit lifecycleState in the same write wins over active; active on POST is ignored', async () => {
      const id = await activeAgent('intent-explicit');
      const res = await g.patch(`/Agents/${id}`, [...setState('retired'), { op: 'replace', path: 'active', value: false }], revoke);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect((res.body[GOV_URN] as Json).lifecycleState).toBe('retired');
      const created = await g.t.http.post('/Agents', { ...g.agentBody('intent-post', sponsor), active: true }, writer);
      expect(created.status).toBe(201);
      expect(created.body.active).toBe(false);
      expect((created.body[GOV_URN] as Json).lifecycleState).toBe('pending');
    });

    it('the IGA view and /Agents apply the same rule', async () => {
      const viaAgents = await activeAgent('same-rule-a');
      const viaUsers = await activeAgent('same-rule-b');
      const x = await g.patch(`/Agents/${viaAgents}`, [{ op: 'replace', path: 'active', value: false }], revoke);
      const y = await g.patch(`/Users/${viaUsers}`, [{ op: 'replace', path: 'active', value: false }], revoke);
      expect(x.status).toBe(200);
      expect(y.status).toBe(200);
      const [ga, gb] = [await g.gov(viaAgents), await g.gov(viaUsers)];
      expect(ga.lifecycleState).toBe('suspended');
      expect(gb.lifecycleState).toBe('suspended');
      for (const [path, id] of [['/Agents', viaAgents], ['/Users', viaUsers]] as const) {
        const denied = await g.patch(`${path}/${id}`, [{ op: 'replace', path: 'active', value: true }], revoke);
        expect(denied.status, path).toBe(403);
      }
    });
  });

  describe('PUT keeps server-governed attributes it omits', () => {
    it('a PUT without lifecycleState or stateReason keeps both (and the approval, cutoff and record facts)', async () => {
      const id = await activeAgent('put-keeps');
      g.t.clock.advance(60_000);
      await g.patch(`/Agents/${id}`, setState('suspended', 'credentialCompromise'), revoke);
      const current = await g.get(id);
      const gov = current[GOV_URN] as Json;
      const omitted = { ...gov };
      for (const k of ['lifecycleState', 'stateReason', 'stateChangedAt', 'approvedBy', 'approvedAt', 'authorizationNotBefore', 'version', 'nextReviewDue', 'sponsorStatus']) {
        delete omitted[k];
      }
      g.t.clock.advance(60_000);
      const res = await g.t.http.put(`/Agents/${id}`, { schemas: current.schemas, agentUserName: 'put-keeps', description: 'now described', [GOV_URN]: omitted }, writer);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.description).toBe('now described');
      expect(res.body.active).toBe(false);
      expect(res.body[GOV_URN]).toMatchObject({
        lifecycleState: 'suspended',
        stateReason: 'credentialCompromise',
        stateChangedAt: gov.stateChangedAt,
        approvedBy: gov.approvedBy,
        approvedAt: gov.approvedAt,
        authorizationNotBefore: gov.authorizationNotBefore,
        nextReviewDue: gov.nextReviewDue,
      });
    });

    it('a PUT that omits lifecycleState on a pending agent keeps it pending (no 400)', async () => {
      const a = await g.agent('put-pending', { sponsor, token: writer });
      const id = a.id as string;
      const gov = { ...(a[GOV_URN] as Json) };
      delete gov.lifecycleState;
      const res = await g.t.http.put(`/Agents/${id}`, { ...a, [GOV_URN]: gov }, writer);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect((res.body[GOV_URN] as Json).lifecycleState).toBe('pending');
    });

    it('a required attribute the client owns is still required on PUT', async () => {
      const a = await g.agent('put-required', { sponsor });
      const gov = { ...(a[GOV_URN] as Json) };
      delete gov.purpose;
      const res = await g.t.http.put(`/Agents/${a.id as string}`, { ...a, [GOV_URN]: gov });
      expect(res.status).toBe(400);
      expect(res.body).toEqual(scimError(400, 'invalidValue', /"purpose" is required/));
    });
  });

  describe('value-filtered names in attributes / excludedAttributes stand for the attribute', () => {
    let withEmails: string;
    beforeAll(async () => {
      withEmails = await g.user('eve.emails', {
        emails: [
          { value: 'eve@work.example', type: 'work', primary: true },
          { value: 'eve@home.example', type: 'home' },
        ],
        title: 'Engineer',
      });
    });

    it('attributes=emails[type eq "work"] returns the emails (all of them), on lists and single reads', async () => {
      const list = await g.t.http.get(`/Users?filter=${q('userName eq "eve.emails"')}&attributes=${q('emails[type eq "work"]')}`);
      expect(list.status).toBe(200);
      const r = (list.body.Resources as Json[])[0]!;
      expect(r.emails).toEqual([
        { value: 'eve@work.example', type: 'work', primary: true },
        { value: 'eve@home.example', type: 'home' },
      ]);
      expect(r.title).toBeUndefined();
      const one = await g.t.http.get(`/Users/${withEmails}?attributes=${q('emails[type eq "work"].value,title')}`);
      expect(one.status).toBe(200);
      expect(one.body.emails).toEqual([{ value: 'eve@work.example' }, { value: 'eve@home.example' }]);
      expect(one.body.title).toBe('Engineer');
      // a comma inside the filter's string does not split the list
      const comma = await g.t.http.get(`/Users/${withEmails}?attributes=${q('emails[type eq "a,b"],title')}`);
      expect(comma.body.emails).toHaveLength(2);
      expect(comma.body.title).toBe('Engineer');
    });

    it('excludedAttributes=emails[type eq "work"] leaves out the emails attribute', async () => {
      const res = await g.t.http.get(`/Users/${withEmails}?excludedAttributes=${q('emails[type eq "work"]')}`);
      expect(res.status).toBe(200);
      expect(res.body.emails).toBeUndefined();
      expect(res.body.title).toBe('Engineer');
      expect(res.body.userName).toBe('eve.emails');
    });

    it('the same on /Agents (a value-filtered multi-valued attribute of the agent core)', async () => {
      const id = await activeAgent('projection-bot');
      const res = await g.t.http.get(`/Agents/${id}?attributes=${q('owners[type eq "user"],agentUserName')}&excludedAttributes=${q(`${GOV_URN}:coSponsors[type eq "user"]`)}`);
      expect(res.status).toBe(200);
      expect(res.body.agentUserName).toBe('projection-bot');
      expect(res.body[GOV_URN]).toBeUndefined();
    });
  });
});
