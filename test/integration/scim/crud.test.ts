// RFC 7644 §3.3–3.6 on /Users, /Groups and /Agents: create, read, replace, patch, delete, with the
// headers and meta a client relies on.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  AGENT_URN,
  buildTestApp,
  captureState,
  ENTERPRISE_URN,
  expectUnchanged,
  GOV_URN,
  GROUP_URN,
  patchBody,
  SCIM_CT,
  scimError,
  type TestApp,
  USER_URN,
} from '../../helpers/test-app.js';
import { agentBody, createAgent, createGroup, createUser, fixture, groupBody, type Json, withoutMeta } from '../../helpers/resources.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

describe('CRUD', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await buildTestApp({ clockStart: '2026-03-01T10:00:00.000Z' });
  });
  afterEach(() => t.close());

  describe('/Users', () => {
    it('POST → 201 with Location, ETag and meta; GET returns the same resource', async () => {
      const body = fixture('richUser');
      const res = await t.http.post('/Users', body);
      expect(res.status).toBe(201);
      expect(res.headers['content-type']).toMatch(SCIM_CT);
      const id = res.body.id as string;
      expect(id).toMatch(UUID);
      const location = `${t.origin}/scim/v2/Users/${id}`;
      expect(res.headers.location).toBe(location);
      expect(res.headers.etag).toBe('W/"1"');
      expect(res.body).toEqual({
        ...body,
        id,
        meta: { resourceType: 'User', created: '2026-03-01T10:00:00.000Z', lastModified: '2026-03-01T10:00:00.000Z', location, version: 'W/"1"' },
      });

      t.clock.advance(60_000);
      const got = await t.http.get(`/Users/${id}`);
      expect(got.status).toBe(200);
      expect(got.headers['content-type']).toMatch(SCIM_CT);
      expect(got.headers.etag).toBe('W/"1"');
      expect(got.body).toEqual(res.body);
    });

    it('meta.location uses AGENTROSTER_BASE_URL when configured', async () => {
      const other = await buildTestApp({ env: { AGENTROSTER_BASE_URL: 'https://id.example.com/scim/v2/' } });
      try {
        const res = await other.http.post('/Users', fixture('minimalUser'));
        const location = `https://id.example.com/scim/v2/Users/${res.body.id as string}`;
        expect(res.headers.location).toBe(location);
        expect(res.body.meta.location).toBe(location);
        expect((await other.http.get(`/Users/${res.body.id as string}`)).body.meta.location).toBe(location);
      } finally {
        await other.close();
      }
    });

    it('readOnly input (id, meta, groups) is ignored on create', async () => {
      const res = await t.http.post('/Users', {
        ...fixture('minimalUser'),
        id: 'client-chosen',
        meta: { resourceType: 'Group', created: '2000-01-01T00:00:00Z', version: 'W/"99"' },
        groups: [{ value: 'g1' }],
      });
      expect(res.status).toBe(201);
      expect(res.body.id).toMatch(UUID);
      expect(res.body.groups).toBeUndefined();
      expect(res.body.meta).toMatchObject({ resourceType: 'User', created: '2026-03-01T10:00:00.000Z', version: 'W/"1"' });
    });

    it('PUT replaces the resource, bumps version and lastModified, keeps created', async () => {
      const created = await createUser(t, 'alice', { displayName: 'Alice', title: 'Engineer' });
      const id = created.id as string;
      t.clock.advance(5_000);
      const res = await t.http.put(`/Users/${id}`, { schemas: [USER_URN], userName: 'alice', displayName: 'Alice A.', nickName: 'Al' });
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(SCIM_CT);
      expect(res.headers.etag).toBe('W/"2"');
      expect(res.body).toEqual({
        schemas: [USER_URN],
        userName: 'alice',
        displayName: 'Alice A.',
        nickName: 'Al',
        id,
        meta: {
          resourceType: 'User',
          created: '2026-03-01T10:00:00.000Z',
          lastModified: '2026-03-01T10:00:05.000Z',
          location: `${t.origin}/scim/v2/Users/${id}`,
          version: 'W/"2"',
        },
      });
      expect((await t.http.get(`/Users/${id}`)).body).toEqual(res.body);
    });

    it('PATCH changes only what it names and bumps the version', async () => {
      const created = await createUser(t, 'alice', { displayName: 'Alice', title: 'Engineer' });
      const id = created.id as string;
      t.clock.advance(1_000);
      const res = await t.http.patch(`/Users/${id}`, patchBody({ op: 'replace', path: 'title', value: 'Staff Engineer' }));
      expect(res.status).toBe(200);
      expect(res.headers.etag).toBe('W/"2"');
      expect(res.body).toEqual({
        ...created,
        title: 'Staff Engineer',
        meta: { ...(created.meta as Json), lastModified: '2026-03-01T10:00:01.000Z', version: 'W/"2"' },
      });
      expect((await t.http.get(`/Users/${id}`)).body).toEqual(res.body);
    });

    it('DELETE → 204 without body, then GET, PUT, PATCH and DELETE → 404', async () => {
      const created = await createUser(t, 'alice');
      const id = created.id as string;
      const del = await t.http.delete(`/Users/${id}`);
      expect(del.status).toBe(204);
      expect(del.text).toBe('');
      for (const res of [
        await t.http.get(`/Users/${id}`),
        await t.http.put(`/Users/${id}`, { schemas: [USER_URN], userName: 'alice' }),
        await t.http.patch(`/Users/${id}`, patchBody({ op: 'replace', path: 'title', value: 'x' })),
        await t.http.delete(`/Users/${id}`),
      ]) {
        expect(res.status).toBe(404);
        expect(res.headers['content-type']).toMatch(SCIM_CT);
        expect(res.body).toEqual(scimError(404, undefined, new RegExp(id)));
      }
      // a deleted userName is free again
      expect((await t.http.post('/Users', { schemas: [USER_URN], userName: 'alice' })).status).toBe(201);
    });

    it('attribute names are case-insensitive on input and canonical on output', async () => {
      const res = await t.http.post('/Users', { SCHEMAS: [USER_URN], USERNAME: 'carol', Name: { GivenName: 'Carol' }, [ENTERPRISE_URN.toUpperCase()]: { EmployeeNumber: '7' } });
      expect(res.status).toBe(201);
      expect(withoutMeta(res.body as Json)).toEqual({
        schemas: [USER_URN, ENTERPRISE_URN],
        userName: 'carol',
        name: { givenName: 'Carol' },
        [ENTERPRISE_URN]: { employeeNumber: '7' },
      });
    });
  });

  describe('/Agents', () => {
    let sponsor: string;
    beforeEach(async () => {
      sponsor = (await createUser(t, 'sponsor@example.com')).id as string;
    });

    it('POST a minimal agent → 201; lifecycleState defaults to pending and active is false', async () => {
      const res = await t.http.post('/Agents', fixture('minimalAgent', sponsor));
      expect(res.status).toBe(201);
      expect(res.headers['content-type']).toMatch(SCIM_CT);
      const id = res.body.id as string;
      const location = `${t.origin}/scim/v2/Agents/${id}`;
      expect(res.headers.location).toBe(location);
      expect(res.headers.etag).toBe('W/"1"');
      expect(res.body).toEqual({
        schemas: [AGENT_URN, GOV_URN],
        agentUserName: 'invoice-bot',
        active: false,
        [GOV_URN]: {
          // the sponsor's facts, the lifecycle bookkeeping and the review date are the server's (R01, R04)
          sponsor: { value: sponsor, display: 'sponsor@example.com', status: 'active', $ref: `${t.origin}/scim/v2/Users/${sponsor}` },
          sponsorStatus: 'ok',
          purpose: 'Matches supplier invoices to purchase orders',
          environment: 'production',
          autonomyLevel: 'humanInTheLoop',
          lifecycleState: 'pending',
          stateReason: 'approvalPending',
          stateChangedAt: '2026-03-01T10:00:00.000Z',
          version: 1,
          nextReviewDue: '2026-05-30T10:00:00.000Z',
        },
        id,
        meta: { resourceType: 'Agent', created: '2026-03-01T10:00:00.000Z', lastModified: '2026-03-01T10:00:00.000Z', location, version: 'W/"1"' },
      });
      expect((await t.http.get(`/Agents/${id}`)).body).toEqual(res.body);
    });

    it('every core and governance attribute round-trips exactly', async () => {
      const group = await createGroup(t, 'Procurement');
      const team = await createGroup(t, 'Procurement Engineering');
      const catalogue: Record<string, string> = {};
      for (const value of ['erp.po.draft', 'mail.send']) {
        const e = await t.http.post('/Entitlements', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Entitlement'], value });
        catalogue[value] = e.body.id as string;
      }
      const role = await t.http.post('/Roles', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Role'], value: 'procurement-clerk' });
      const body = fixture('richAgent', sponsor, { group: group.id as string, team: team.id as string });
      const res = await t.http.post('/Agents', body);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      // what the client wrote comes back exactly, next to what the server adds: grant metadata,
      // references, the people's facts and the lifecycle bookkeeping
      const base = `${t.origin}/scim/v2`;
      const gov = body[GOV_URN] as Json;
      const grant = (value: string) => ({
        grantId: expect.any(String),
        grantedAt: '2026-03-01T10:00:00.000Z',
        grantedBy: 'test-admin',
        grantedByDisplay: 'test-admin',
        grantedBySystem: 'agentroster',
        source: 'direct',
        $ref: `${base}/Entitlements/${catalogue[value]!}`,
      });
      const expected = {
        ...body,
        active: false,
        entitlements: (body.entitlements as Json[]).map((e) => ({ ...e, ...grant(e.value as string) })),
        roles: (body.roles as Json[]).map((r) => ({ ...r, $ref: `${base}/Roles/${role.body.id as string}` })),
        owners: [{ value: sponsor, type: 'user', display: 'sponsor@example.com', $ref: `${base}/Users/${sponsor}` }],
        parent: { value: 'agent-orchestrator-1', $ref: `${base}/Agents/agent-orchestrator-1` },
        [GOV_URN]: {
          ...gov,
          sponsor: { value: sponsor, display: 'sponsor@example.com', status: 'active', $ref: `${base}/Users/${sponsor}` },
          sponsorStatus: 'ok',
          coSponsors: [{ value: group.id, type: 'group', display: 'Procurement', $ref: `${base}/Groups/${group.id as string}` }],
          ownerTeam: { value: team.id, display: 'Procurement Engineering', $ref: `${base}/Groups/${team.id as string}` },
          stateChangedAt: '2026-03-01T10:00:00.000Z',
          version: 1,
          nextReviewDue: '2026-05-30T10:00:00.000Z',
          credentialStatus: 'ok',
        },
      };
      expect(withoutMeta(res.body as Json)).toEqual(expected);
      const got = await t.http.get(`/Agents/${res.body.id as string}`);
      expect(got.status).toBe(200);
      expect(withoutMeta(got.body as Json)).toEqual(expected);
      // and survives a PUT of itself unchanged (no new version)
      const put = await t.http.put(`/Agents/${res.body.id as string}`, got.body);
      expect(put.status).toBe(200);
      expect(put.headers.etag).toBe('W/"1"');
      expect(withoutMeta(put.body as Json)).toEqual(expected);
    });

    it('active is derived from lifecycleState and cannot be written', async () => {
      const res = await t.http.post('/Agents', agentBody('eager-bot', sponsor, { active: true }));
      expect(res.status).toBe(201);
      expect(res.body.active).toBe(false);
      const id = res.body.id as string;
      const act = await t.http.patch(`/Agents/${id}`, patchBody({ op: 'replace', path: `${GOV_URN}:lifecycleState`, value: 'active' }));
      expect(act.status).toBe(200);
      expect(act.body.active).toBe(true);
      const sus = await t.http.patch(`/Agents/${id}`, patchBody({ op: 'replace', path: `${GOV_URN}:lifecycleState`, value: 'suspended' }));
      expect(sus.body.active).toBe(false);
      expect((await t.http.get(`/Agents/${id}`)).body.active).toBe(false);
    });

    it.each([
      ['sponsor', 'sponsor'],
      ['purpose', 'purpose'],
      ['environment', 'environment'],
      ['autonomyLevel', 'autonomyLevel'],
    ])('an agent without governance %s → 400 invalidValue, nothing stored', async (_n, attr) => {
      const body = fixture('minimalAgent', sponsor);
      delete (body[GOV_URN] as Json)[attr];
      const before = await captureState(t);
      const res = await t.http.post('/Agents', body);
      expect(res.status).toBe(400);
      expect(res.body).toEqual(scimError(400, 'invalidValue', new RegExp(attr)));
      await expectUnchanged(t, before);
      expect((await t.http.get('/Agents')).body.totalResults).toBe(0);
    });

    it('an agent without the governance extension → 400 invalidValue', async () => {
      const res = await t.http.post('/Agents', { schemas: [AGENT_URN], agentUserName: 'bare' });
      expect(res.status).toBe(400);
      expect(res.body).toEqual(scimError(400, 'invalidValue', /agent-governance/));
    });

    it('PUT, PATCH and DELETE an agent (DELETE only once it is retired: the record stays as a tombstone)', async () => {
      const created = await createAgent(t, 'agent-a1', {}, {}, sponsor);
      const id = created.id as string;
      t.clock.advance(1000);
      const put = await t.http.put(`/Agents/${id}`, agentBody('agent-a1', sponsor, { displayName: 'Agent One' }, { riskTier: 'low', lifecycleState: 'pending' }));
      expect(put.status).toBe(200);
      expect(put.headers.etag).toBe('W/"2"');
      expect(put.body).toMatchObject({ displayName: 'Agent One', [GOV_URN]: { riskTier: 'low', lifecycleState: 'pending' } });
      const patch = await t.http.patch(`/Agents/${id}`, patchBody({ op: 'add', path: 'description', value: 'does things' }));
      expect(patch.status).toBe(200);
      expect(patch.headers.etag).toBe('W/"3"');
      const putGov = put.body[GOV_URN] as Json;
      expect(patch.body).toEqual({
        ...put.body,
        description: 'does things',
        [GOV_URN]: { ...putGov, version: (putGov.version as number) + 1 },
        meta: { ...put.body.meta, version: 'W/"3"' },
      });
      // R14: DELETE of an agent that is not retired is refused and changes nothing
      const before = await captureState(t, `/Agents/${id}`);
      const refused = await t.http.delete(`/Agents/${id}`);
      expect(refused.status).toBe(403);
      expect(refused.body).toEqual(scimError(403, undefined, /retire/));
      await expectUnchanged(t, before);
      const retired = await t.http.patch(`/Agents/${id}`, patchBody({ op: 'replace', path: `${GOV_URN}:lifecycleState`, value: 'retired' }));
      expect(retired.status).toBe(200);
      expect((await t.http.delete(`/Agents/${id}`)).status).toBe(204);
      const tombstone = await t.http.get(`/Agents/${id}`);
      expect(tombstone.status).toBe(200);
      expect(tombstone.body[GOV_URN]).toMatchObject({ lifecycleState: 'retired', stateReason: 'decommissioned' });
      expect(tombstone.body.meta.version).toBe('W/"4"');
    });
  });

  describe('/Groups', () => {
    it('members reference existing Users and Agents; type and display are filled in; $ref points at them', async () => {
      const u = await createUser(t, 'alice', { displayName: 'Alice' });
      const a = await createAgent(t, 'bot-1', { displayName: 'Bot One' });
      const res = await t.http.post('/Groups', groupBody('Operators', [u.id as string, a.id as string]));
      expect(res.status).toBe(201);
      expect(res.headers['content-type']).toMatch(SCIM_CT);
      const id = res.body.id as string;
      expect(res.headers.location).toBe(`${t.origin}/scim/v2/Groups/${id}`);
      expect(res.headers.etag).toBe('W/"1"');
      expect(res.body).toEqual({
        schemas: [GROUP_URN],
        displayName: 'Operators',
        members: [
          { value: u.id, type: 'User', display: 'Alice', $ref: `${t.origin}/scim/v2/Users/${u.id as string}` },
          { value: a.id, type: 'Agent', display: 'Bot One', $ref: `${t.origin}/scim/v2/Agents/${a.id as string}` },
        ],
        id,
        meta: { resourceType: 'Group', created: '2026-03-01T10:00:00.000Z', lastModified: '2026-03-01T10:00:00.000Z', location: `${t.origin}/scim/v2/Groups/${id}`, version: 'W/"1"' },
      });
      expect((await t.http.get(`/Groups/${id}`)).body).toEqual(res.body);
    });

    it('an unknown member id → 400 invalidValue on create, PUT and PATCH; nothing changes', async () => {
      const u = await createUser(t, 'alice');
      const g = await createGroup(t, 'Ops', [u.id as string]);
      const before = await captureState(t, `/Groups/${g.id as string}`);
      const create = await t.http.post('/Groups', groupBody('Ghosts', ['no-such-id']));
      expect(create.status).toBe(400);
      expect(create.body).toEqual(scimError(400, 'invalidValue', /no-such-id/));
      const put = await t.http.put(`/Groups/${g.id as string}`, groupBody('Ops', [u.id as string, 'no-such-id']));
      expect(put.status).toBe(400);
      expect(put.body).toEqual(scimError(400, 'invalidValue', /no-such-id/));
      const patch = await t.http.patch(`/Groups/${g.id as string}`, patchBody({ op: 'add', path: 'members', value: [{ value: 'no-such-id' }] }));
      expect(patch.status).toBe(400);
      expect(patch.body).toEqual(scimError(400, 'invalidValue', /no-such-id/));
      await expectUnchanged(t, before);
      expect((await t.http.get('/Groups')).body.totalResults).toBe(1);
    });

    it("a User's and an Agent's readOnly groups list the groups they are in", async () => {
      const u = await createUser(t, 'alice');
      const a = await createAgent(t, 'bot-1');
      const g1 = await createGroup(t, 'Ops', [u.id as string, a.id as string]);
      const g2 = await createGroup(t, 'Admins', [u.id as string]);
      const user = await t.http.get(`/Users/${u.id as string}`);
      expect(user.body.groups).toEqual([
        { value: g1.id, display: 'Ops', type: 'direct' },
        { value: g2.id, display: 'Admins', type: 'direct' },
      ]);
      const agent = await t.http.get(`/Agents/${a.id as string}`);
      expect(agent.body.groups).toEqual([{ value: g1.id, display: 'Ops', type: 'direct' }]);
      // the user's version is untouched by joining groups (groups is computed, not stored)
      expect(user.body.meta.version).toBe('W/"1"');
    });

    it('deleting a user removes it from every group (and from its groups attribute)', async () => {
      const u = await createUser(t, 'alice');
      const v = await createUser(t, 'bob');
      const g = await createGroup(t, 'Ops', [u.id as string, v.id as string]);
      const solo = await createGroup(t, 'Solo', [u.id as string]);
      expect((await t.http.delete(`/Users/${u.id as string}`)).status).toBe(204);
      const ops = await t.http.get(`/Groups/${g.id as string}`);
      expect(ops.body.members).toEqual([{ value: v.id, type: 'User', display: 'bob', $ref: `${t.origin}/scim/v2/Users/${v.id as string}` }]);
      expect(ops.body.meta.version).toBe('W/"2"');
      const soloNow = await t.http.get(`/Groups/${solo.id as string}`);
      expect(soloNow.body.members).toBeUndefined();
      const filtered = await t.http.get(`/Groups?filter=${encodeURIComponent(`members.value eq "${u.id as string}"`)}`);
      expect(filtered.body.totalResults).toBe(0);
    });

    it('a group can contain a group; it cannot contain itself', async () => {
      const inner = await createGroup(t, 'Inner');
      const outer = await createGroup(t, 'Outer', [inner.id as string]);
      expect(outer.members).toEqual([
        { value: inner.id, type: 'Group', display: 'Inner', $ref: `${t.origin}/scim/v2/Groups/${inner.id as string}` },
      ]);
      const before = await captureState(t, `/Groups/${outer.id as string}`);
      const self = await t.http.patch(`/Groups/${outer.id as string}`, patchBody({ op: 'add', path: 'members', value: [{ value: outer.id }] }));
      expect(self.status).toBe(400);
      expect(self.body).toEqual(scimError(400, 'invalidValue', /itself/));
      await expectUnchanged(t, before);
    });
  });
});
