// What Microsoft Entra ID and Okta really send (docs/reference/entra.md §4, okta.md §4.1), each test
// named for who sends it. Every accepted deviation from the RFCs lives in src/scim/quirks.ts.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  allAudit,
  buildTestApp,
  captureState,
  ENTERPRISE_URN,
  expectUnchanged,
  GROUP_URN,
  LIST_URN,
  patchBody,
  SCIM_CT,
  type TestApp,
  USER_URN,
} from '../../helpers/test-app.js';
import { createAgent, createGroup, createUser, type Json, withoutMeta } from '../../helpers/resources.js';

const q = encodeURIComponent;

describe('IdP quirks', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await buildTestApp({ clockStart: '2026-04-01T08:00:00.000Z' });
  });
  afterEach(() => t.close());

  const get = async (path: string) => {
    const res = await t.http.get(path);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as Json;
  };

  describe('Microsoft Entra ID', () => {
    it('Entra creates a user with its documented body (meta.resourceType, empty roles) → 201', async () => {
      const body = {
        schemas: [USER_URN, ENTERPRISE_URN],
        externalId: '0a21f0f2-8d2a-4f8e-bf98-7363c4aed4ef',
        userName: 'Test_User_ab6490ee-1e48-479e-a20b-2d77186b5dd1',
        active: true,
        emails: [{ primary: true, type: 'work', value: 'Test_User_fd0ea19b-0777-472c-9f96-4f70d2226f2e@testuser.com' }],
        meta: { resourceType: 'User' },
        name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
        roles: [],
      };
      const res = await t.http.post('/Users', body);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      const { meta: _m, roles: _r, ...stored } = body;
      expect(withoutMeta(res.body as Json)).toEqual({ ...stored, schemas: [USER_URN] });
    });

    it('Entra sends nulls ("addresses":null, "phoneNumbers":null, "manager":null) and a malformed enterprise URN on create → 201, nulls mean unassigned', async () => {
      const res = await t.http.post('/Users', {
        schemas: [USER_URN, 'urn:ietf:params:scim:schemas:extension:enterprise:2.0User'],
        userName: 'entra-nulls@example.com',
        displayName: null,
        addresses: null,
        phoneNumbers: null,
        manager: null,
        name: { givenName: 'Nia', familyName: null },
        'urn:ietf:params:scim:schemas:extension:enterprise:2.0User': { manager: null, department: 'Sales' },
        [ENTERPRISE_URN]: { manager: null, employeeNumber: '17' },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(withoutMeta(res.body as Json)).toEqual({
        schemas: [USER_URN, ENTERPRISE_URN],
        userName: 'entra-nulls@example.com',
        name: { givenName: 'Nia' },
        [ENTERPRISE_URN]: { employeeNumber: '17' },
      });
      expect(await get(`/Users/${res.body.id as string}`)).toEqual(res.body);
    });

    it('Entra creates a group with the extra ADSCIM schema URN and empty members → 201', async () => {
      const res = await t.http.post('/Groups', {
        schemas: [GROUP_URN, 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group'],
        externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159',
        displayName: 'displayName',
        meta: { resourceType: 'Group' },
        members: [],
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(withoutMeta(res.body as Json)).toEqual({ schemas: [GROUP_URN], externalId: '8aa1a0c0-c4c3-4bc0-b4a5-2ef676900159', displayName: 'displayName' });
    });

    it('Entra (default scim job) sends capitalised ops "Add", "Replace", "Remove"', async () => {
      const u = await createUser(t, 'caps@example.com', { displayName: 'Caps', title: 'Old' });
      const res = await t.http.patch(
        `/Users/${u.id as string}`,
        patchBody(
          { op: 'Replace', path: 'title', value: 'New' },
          { op: 'Add', path: 'nickName', value: 'C' },
          { op: 'Remove', path: 'displayName' },
          { op: 'REPLACE', path: 'name.familyName', value: 'Upper' },
        ),
      );
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(withoutMeta(res.body as Json)).toEqual({ schemas: [USER_URN], userName: 'caps@example.com', title: 'New', nickName: 'C', name: { familyName: 'Upper' } });
    });

    it('Entra sends booleans as "False" / "True" strings: stored as booleans', async () => {
      const created = await t.http.post('/Users', {
        schemas: [USER_URN],
        userName: 'strings@example.com',
        active: 'True',
        emails: [{ value: 's@example.com', type: 'work', primary: 'true' }],
      });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect(created.body.active).toBe(true);
      expect(created.body.emails).toEqual([{ value: 's@example.com', type: 'work', primary: true }]);
      const id = created.body.id as string;
      const off = await t.http.patch(`/Users/${id}`, patchBody({ op: 'Replace', path: 'active', value: 'False' }));
      expect(off.status).toBe(200);
      expect(off.body.active).toBe(false);
      expect((await get(`/Users?filter=${q('active eq false')}`)).totalResults).toBe(1);
      const on = await t.http.patch(`/Users/${id}`, patchBody({ op: 'Replace', path: 'active', value: 'True' }));
      expect(on.body.active).toBe(true);
      expect(on.headers.etag).toBe('W/"3"');
    });

    it('Entra with aadOptscim062020 sends a path-less replace with dotted and URN-qualified keys', async () => {
      const u = await createUser(t, 'flag@example.com', { name: { givenName: 'Old', familyName: 'Name' } });
      const res = await t.http.patch(
        `/Users/${u.id as string}`,
        patchBody({
          op: 'replace',
          value: {
            displayName: 'New Display',
            'name.givenName': 'New',
            active: false,
            [`${ENTERPRISE_URN}:employeeNumber`]: 'E-9',
            [`${ENTERPRISE_URN}:manager`]: { value: 'mgr-1' },
          },
        }),
      );
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(withoutMeta(res.body as Json)).toEqual({
        schemas: [USER_URN, ENTERPRISE_URN],
        userName: 'flag@example.com',
        displayName: 'New Display',
        name: { givenName: 'New', familyName: 'Name' },
        active: false,
        [ENTERPRISE_URN]: { employeeNumber: 'E-9', manager: { value: 'mgr-1' } },
      });
    });

    it('Entra sets the manager as an array, as a bare id string, and by URN path', async () => {
      const boss = await createUser(t, 'boss@example.com');
      const other = await createUser(t, 'other-boss@example.com');
      const u = await createUser(t, 'report@example.com');
      const path = `/Users/${u.id as string}`;
      const ref = `${t.origin}/scim/v2/Users/${boss.id as string}`;
      const a = await t.http.patch(path, patchBody({ op: 'Add', path: 'manager', value: [{ $ref: ref, value: boss.id }] }));
      expect(a.status, JSON.stringify(a.body)).toBe(200);
      expect(a.body[ENTERPRISE_URN]).toEqual({ manager: { value: boss.id, $ref: ref } });
      const b = await t.http.patch(path, patchBody({ op: 'Replace', path: `${ENTERPRISE_URN}:manager`, value: other.id }));
      expect(b.status, JSON.stringify(b.body)).toBe(200);
      expect(b.body[ENTERPRISE_URN]).toEqual({ manager: { value: other.id } });
      const c = await t.http.patch(path, patchBody({ op: 'replace', path: `${ENTERPRISE_URN}:manager.value`, value: boss.id }));
      expect(c.body[ENTERPRISE_URN]).toEqual({ manager: { value: boss.id } });
      const d = await t.http.patch(path, patchBody({ op: 'Remove', path: `${ENTERPRISE_URN}:manager`, value: [{ $ref: null, value: boss.id }] }));
      expect(d.status).toBe(200);
      expect(d.body[ENTERPRISE_URN]).toBeUndefined();
      expect(d.body.schemas).toEqual([USER_URN]);
      expect(d.headers.etag).toBe('W/"5"');
    });

    it('Entra adds a work email through a value-filter path when none exists yet', async () => {
      const u = await createUser(t, 'mail@example.com');
      const res = await t.http.patch(`/Users/${u.id as string}`, patchBody({ op: 'Add', path: 'emails[type eq "work"].value', value: 'mail@work.example.com' }));
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.emails).toEqual([{ type: 'work', value: 'mail@work.example.com' }]);
    });

    it('Entra adds members as value:[{"$ref":null,"value":…}]', async () => {
      const u1 = await createUser(t, 'm1');
      const u2 = await createUser(t, 'm2');
      const g = await createGroup(t, 'Entra Group');
      const res = await t.http.patch(
        `/Groups/${g.id as string}`,
        patchBody({ op: 'Add', path: 'members', value: [{ $ref: null, value: u1.id }, { $ref: null, value: u2.id }] }),
      );
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect((res.body.members as Json[]).map((m) => m.value)).toEqual([u1.id, u2.id]);
    });

    it.each([
      ['Entra with aadOptscim062020: members[value eq "…"]', (id: string) => ({ op: 'remove', path: `members[value eq "${id}"]` })],
      ['Entra default job: value:[{"$ref":null,"value":…}]', (id: string) => ({ op: 'Remove', path: 'members', value: [{ $ref: null, value: id }] })],
    ])('%s removes a member; removing it again is a 200 no-op', async (_name, op) => {
      const u1 = await createUser(t, 'm1');
      const u2 = await createUser(t, 'm2');
      const g = await createGroup(t, 'Entra Group', [u1.id as string, u2.id as string]);
      const path = `/Groups/${g.id as string}`;
      const first = await t.http.patch(path, patchBody(op(u1.id as string)));
      expect(first.status, JSON.stringify(first.body)).toBe(200);
      expect(first.headers.etag).toBe('W/"2"');
      expect((first.body.members as Json[]).map((m) => m.value)).toEqual([u2.id]);
      const before = await captureState(t, path, `/Users/${u1.id as string}`);
      const second = await t.http.patch(path, patchBody(op(u1.id as string)));
      expect(second.status).toBe(200);
      expect(second.headers.etag).toBe('W/"2"');
      expect(second.body).toEqual(first.body);
      await expectUnchanged(t, before);
      expect((await get(`/Users/${u1.id as string}`)).groups).toBeUndefined();
    });

    it('Entra matches with filter=userName eq / externalId eq; zero matches → 200 with totalResults 0', async () => {
      const u = await createUser(t, 'Test_User_1@contoso.com', { externalId: 'ext-abc' });
      for (const filter of ['userName eq "Test_User_1@contoso.com"', 'userName eq "test_user_1@CONTOSO.com"', 'externalId eq "ext-abc"']) {
        const res = await t.http.get(`/Users?filter=${q(filter)}`);
        expect(res.status).toBe(200);
        expect(res.headers['content-type']).toMatch(SCIM_CT);
        expect(res.body).toEqual({ schemas: [LIST_URN], totalResults: 1, startIndex: 1, itemsPerPage: 1, Resources: [u] });
      }
      for (const filter of ['userName eq "nobody@contoso.com"', 'externalId eq "EXT-ABC"', 'userName eq "Test_User_1@contoso.com" and externalId eq "other"']) {
        const res = await t.http.get(`/Users?filter=${q(filter)}`);
        expect(res.status).toBe(200);
        expect(res.body).toEqual({ schemas: [LIST_URN], totalResults: 0, startIndex: 1, itemsPerPage: 0, Resources: [] });
      }
    });

    it('Entra reads groups with excludedAttributes=members (list with displayName filter, and by id)', async () => {
      const u = await createUser(t, 'm1');
      const g = await createGroup(t, 'Sales Team', [u.id as string], { externalId: 'grp-1' });
      await createGroup(t, 'Other Team', [u.id as string]);
      const { members: _m, ...withoutMembers } = g;
      const list = await t.http.get(`/Groups?excludedAttributes=members&filter=${q('displayName eq "Sales Team"')}`);
      expect(list.status).toBe(200);
      expect(list.body).toEqual({ schemas: [LIST_URN], totalResults: 1, startIndex: 1, itemsPerPage: 1, Resources: [withoutMembers] });
      expect(await get(`/Groups/${g.id as string}?excludedAttributes=members`)).toEqual(withoutMembers);
    });

    it('Entra soft-deletes with active=false; the user is still found by GET and by filter', async () => {
      const u = await createUser(t, 'soft@example.com', { active: true });
      await t.http.patch(`/Users/${u.id as string}`, patchBody({ op: 'Replace', path: 'active', value: 'False' }));
      expect((await get(`/Users/${u.id as string}`)).active).toBe(false);
      const found = await get(`/Users?filter=${q('userName eq "soft@example.com"')}`);
      expect((found.Resources as Json[])[0]!.active).toBe(false);
    });
  });

  describe('Okta', () => {
    it('Okta looks a user up with filter=userName eq "…"&startIndex=1&count=100 before creating', async () => {
      const u = await createUser(t, 'test.user@okta.local');
      const hit = await t.http.get(`/Users?filter=${q('userName eq "test.user@okta.local"')}&startIndex=1&count=100`);
      expect(hit.status).toBe(200);
      expect(hit.body).toEqual({ schemas: [LIST_URN], totalResults: 1, startIndex: 1, itemsPerPage: 1, Resources: [u] });
      const miss = await t.http.get(`/Users?filter=${q('userName eq "new.user@okta.local"')}&startIndex=1&count=100`);
      expect(miss.body).toEqual({ schemas: [LIST_URN], totalResults: 0, startIndex: 1, itemsPerPage: 0, Resources: [] });
    });

    it("Okta's create body carries password (and groups: []): accepted, never stored, never returned, never logged", async () => {
      const body = {
        schemas: [USER_URN],
        userName: 'test.user@okta.local',
        name: { givenName: 'Test', familyName: 'User' },
        emails: [{ primary: true, value: 'test.user@okta.local', type: 'work' }],
        displayName: 'Test User',
        locale: 'en-US',
        externalId: '00ujl29u0le5T6Aj10h7',
        groups: [],
        password: '1mz050nq',
        active: true,
      };
      const res = await t.http.post('/Users', body);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      const { password: _p, groups: _g, ...expected } = body;
      expect(withoutMeta(res.body as Json)).toEqual(expected);
      const id = res.body.id as string;
      expect(JSON.stringify((await t.store.get('User', id))!.data)).not.toContain('1mz050nq');
      expect(await get(`/Users/${id}?attributes=password,userName`)).toEqual({ schemas: [USER_URN], id, userName: 'test.user@okta.local' });
      const put = await t.http.put(`/Users/${id}`, { ...body, password: 'n3wSecret!' });
      expect(put.status).toBe(200);
      expect(put.body.password).toBeUndefined();
      expect(put.headers.etag).toBe('W/"1"');
      const audit = JSON.stringify(await allAudit(t));
      expect(audit).not.toContain('1mz050nq');
      expect(t.logText()).not.toContain('1mz050nq');
      expect(t.logText()).not.toContain('n3wSecret!');
    });

    it('Okta (OIN apps) deactivates with a path-less {"op":"replace","value":{"active":false}}', async () => {
      const u = await createUser(t, 'oin@okta.local', { active: true, displayName: 'OIN' });
      const res = await t.http.patch(`/Users/${u.id as string}`, patchBody({ op: 'replace', value: { active: false } }));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ ...u, active: false, meta: { ...(u.meta as Json), version: 'W/"2"' } });
      const again = await t.http.patch(`/Users/${u.id as string}`, patchBody({ op: 'replace', value: { active: false } }));
      expect(again.headers.etag).toBe('W/"2"');
    });

    it('Okta (AIW apps) deactivates by GET then PUT of the whole user with active false', async () => {
      const u = await createUser(t, 'aiw@okta.local', { active: true, name: { givenName: 'A', familyName: 'W' }, externalId: '00uabc' });
      const path = `/Users/${u.id as string}`;
      const current = await get(path);
      t.clock.advance(30_000);
      const res = await t.http.put(path, { ...current, active: false, password: 'whatever1' });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toEqual({ ...current, active: false, meta: { ...(current.meta as Json), lastModified: t.clock.iso(), version: 'W/"2"' } });
      // Okta repeats the same PUT on every sync: nothing changes, the version stays
      const repeat = await t.http.put(path, { ...(res.body as Json), password: 'whatever1' });
      expect(repeat.status).toBe(200);
      expect(repeat.headers.etag).toBe('W/"2"');
      expect(repeat.body).toEqual(res.body);
    });

    it("Okta (AIW apps) PUTs whole groups with members as {value}; members keep their type, display and $ref", async () => {
      const u = await createUser(t, 'm1');
      const a = await createAgent(t, 'okta-agent', { displayName: 'Okta Agent' });
      const g = await createGroup(t, 'Okta Push Group', [u.id as string, a.id as string]);
      const res = await t.http.put(`/Groups/${g.id as string}`, {
        schemas: [GROUP_URN],
        id: g.id,
        displayName: 'Okta Push Group',
        members: [{ value: u.id }, { value: a.id }],
      });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toEqual(g);
      expect(res.headers.etag).toBe('W/"1"');
    });

    it("Okta's group rename repeats the group id in a path-less replace", async () => {
      const g = await createGroup(t, 'Test SCIMv2');
      const res = await t.http.patch(`/Groups/${g.id as string}`, patchBody({ op: 'replace', value: { id: g.id, displayName: 'Renamed SCIMv2' } }));
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body.displayName).toBe('Renamed SCIMv2');
    });

    it('Okta looks groups up with filter=displayName eq "…"&startIndex=1&count=100 and removes members by path filter', async () => {
      const u = await createUser(t, 'm1');
      const g = await createGroup(t, 'Okta Group', [u.id as string]);
      const found = await get(`/Groups?filter=${q('displayName eq "Okta Group"')}&startIndex=1&count=100`);
      expect(found).toEqual({ schemas: [LIST_URN], totalResults: 1, startIndex: 1, itemsPerPage: 1, Resources: [g] });
      const res = await t.http.patch(`/Groups/${g.id as string}`, patchBody({ op: 'remove', path: `members[value eq "${u.id as string}"]` }));
      expect(res.status).toBe(200);
      expect(res.body.members).toBeUndefined();
    });
  });
});
