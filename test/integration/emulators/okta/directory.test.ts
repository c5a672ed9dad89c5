// Users, user types, schemas, lifecycle, groups and memberships through the real @okta/okta-sdk-nodejs.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '@okta/okta-sdk-nodejs';
import { startOktaEmulator, type OktaEmulator } from '../../../emulators/okta/index.js';
import { links, profile, raw, rejection, sdk, sleep } from './helpers.js';

let emu: OktaEmulator;
let okta: Client;

beforeAll(async () => {
  emu = await startOktaEmulator({ searchLagMs: 400, asyncLifecycleMs: 100 });
  okta = sdk(emu);
});
afterAll(async () => {
  await emu.close();
});

describe('users', () => {
  it('creates users with the documented status per activate/credentials, answering 200 with the Okta body', async () => {
    const res = await raw(emu, '/api/v1/users?activate=false', { method: 'POST', body: JSON.stringify({ profile: profile('staged@agents.test') }) });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body['id']).toMatch(/^00u[A-Za-z0-9]{17}$/);
    expect(body['status']).toBe('STAGED');
    expect(Object.keys(body)).toEqual(
      expect.arrayContaining(['id', 'status', 'created', 'activated', 'statusChanged', 'lastLogin', 'lastUpdated', 'passwordChanged', 'type', 'profile', 'credentials', '_links']),
    );
    expect(body['credentials']).toEqual({ provider: { type: 'OKTA', name: 'OKTA' } });
    expect(body['activated']).toBeNull();

    const provisioned = await okta.userApi.createUser({ body: { profile: profile('prov@agents.test') }, activate: true });
    expect(provisioned.status).toBe('PROVISIONED');
    const active = await okta.userApi.createUser({
      body: { profile: profile('pw@agents.test'), credentials: { password: { value: 'Sup3r-secret-pw!' } } },
      activate: true,
    });
    expect(active.status).toBe('ACTIVE');
    const federated = await okta.userApi.createUser({
      body: { profile: profile('fed@agents.test'), credentials: { provider: { type: 'FEDERATION', name: 'FEDERATION' } } },
      activate: true,
      provider: true,
    });
    expect(federated.status).toBe('ACTIVE');
  });

  it('reads a user by id, by login (case-insensitive) and by login short name, immediately after create', async () => {
    const u = await okta.userApi.createUser({ body: { profile: profile('reader-1@agents.test') }, activate: false });
    expect((await okta.userApi.getUser({ userId: u.id as string })).id).toBe(u.id);
    expect((await okta.userApi.getUser({ userId: 'READER-1@agents.test' })).id).toBe(u.id);
    expect((await okta.userApi.getUser({ userId: 'reader-1' })).id).toBe(u.id);
  });

  it('reports a duplicate login as 400 E0000001 with the documented cause', async () => {
    await okta.userApi.createUser({ body: { profile: profile('dup@agents.test') }, activate: false });
    const e = await rejection(okta.userApi.createUser({ body: { profile: profile('DUP@agents.test') }, activate: false }));
    expect(e.constructor.name).toBe('OktaApiError');
    expect(e['status']).toBe(400);
    expect(e['errorCode']).toBe('E0000001');
    expect(e['errorSummary']).toBe('Api validation failed: login');
    expect(e['errorCauses']).toEqual([{ errorSummary: 'login: An object with this field already exists in the current organization' }]);
    expect(e['errorId']).toMatch(/^oae/);
    expect(e['errorLink']).toBe('E0000001');
  });

  it('answers 404 E0000007 for an unknown user', async () => {
    const e = await rejection(okta.userApi.getUser({ userId: '00uDOESNOTEXIST000000' }));
    expect(e['status']).toBe(404);
    expect(e['errorCode']).toBe('E0000007');
    expect(e['errorSummary']).toBe('Not found: Resource not found: 00uDOESNOTEXIST000000 (User)');
  });

  it('rejects profiles that break the schema (unknown property, blank required fields, non-email login)', async () => {
    const unknown = await rejection(okta.userApi.createUser({ body: { profile: profile('x1@agents.test', { agentId: 'a-1' }) } }));
    expect(unknown['errorCode']).toBe('E0000001');
    expect(unknown['errorSummary']).toBe('Api validation failed: newUser');
    expect(unknown['errorCauses']).toEqual([{ errorSummary: "Property name 'agentId' is not defined in profile" }]);

    const blank = await rejection(okta.userApi.createUser({ body: { profile: { login: 'not-an-email' } } }));
    expect(blank['errorSummary']).toBe('Api validation failed: firstName');
    const causes = (blank['errorCauses'] as Array<{ errorSummary: string }>).map((c) => c.errorSummary);
    expect(causes).toEqual(
      expect.arrayContaining([
        'firstName: The field cannot be left blank',
        'lastName: The field cannot be left blank',
        'email: The field cannot be left blank',
        'login: Username must be in the form of an email address',
      ]),
    );
  });

  it('merges profiles on POST and replaces them on PUT; managerId is a base attribute', async () => {
    const u = await okta.userApi.createUser({ body: { profile: profile('upd@agents.test', { title: 'Bot' }) }, activate: false });
    const merged = await okta.userApi.updateUser({ userId: u.id as string, user: { profile: { managerId: '00usponsor00000000001', manager: 'Sam Sponsor' } } });
    expect(merged.profile?.title).toBe('Bot');
    expect(merged.profile?.managerId).toBe('00usponsor00000000001');
    const replaced = await okta.userApi.replaceUser({ userId: u.id as string, user: { profile: profile('upd@agents.test') } });
    expect(replaced.profile?.title).toBeUndefined();
    expect(replaced.profile?.managerId).toBeUndefined();
  });
});

describe('user types and schemas', () => {
  it('creates the AI Agent type with a schema of its own, adds unique custom properties, validates users against it', async () => {
    const t = await okta.userTypeApi.createUserType({ userType: { name: 'aiAgent', displayName: 'AI Agent', description: 'Non-human identities' } });
    expect(t.id).toMatch(/^oty[A-Za-z0-9]{17}$/);
    const schemaHref = (t._links as unknown as { schema: { href: string } }).schema.href;
    const schemaId = schemaHref.split('/').pop() as string;
    expect(schemaId).toBe(`osc${(t.id as string).slice(3)}`);

    const dup = await rejection(okta.userTypeApi.createUserType({ userType: { name: 'aiAgent', displayName: 'Again' } }));
    expect(dup['status']).toBe(400);
    expect(dup['errorCode']).toBe('E0000001');

    const schema = await okta.schemaApi.updateUserProfile({
      schemaId,
      userSchema: {
        definitions: {
          custom: {
            id: '#custom',
            type: 'object',
            properties: {
              agentId: { title: 'Agent ID', type: 'string', unique: 'UNIQUE_VALIDATED' },
              autonomyLevel: { title: 'Autonomy level', type: 'integer' },
            },
          },
        },
      } as never,
    });
    const custom = schema.definitions?.custom?.properties as Record<string, { unique?: string }>;
    expect(Object.keys(custom)).toEqual(['agentId', 'autonomyLevel']);
    // SDK 8.1.0 defect: `_enum` is typed Array<GroupSchemaAttributeEnumInner> and serializes each string as
    // {"0":"l","1":"o",…}; Okta rejects such a schema. A string enum needs raw HTTP.
    const sdkEnum = await rejection(
      okta.schemaApi.updateUserProfile({
        schemaId,
        userSchema: { definitions: { custom: { id: '#custom', type: 'object', properties: { riskTier: { title: 'Risk tier', type: 'string', _enum: ['low', 'high'] } } } } } as never,
      }),
    );
    expect(sdkEnum['status']).toBe(400);
    const rawEnum = await raw(emu, `/api/v1/meta/schemas/user/${schemaId}`, {
      method: 'POST',
      body: JSON.stringify({ definitions: { custom: { properties: { riskTier: { title: 'Risk tier', type: 'string', enum: ['low', 'medium', 'high'] } } } } }),
    });
    expect(rawEnum.status).toBe(200);
    expect(custom['agentId']?.unique).toBe('UNIQUE_VALIDATED');
    const fetched = await okta.schemaApi.getUserSchema({ schemaId });
    expect(Object.keys(fetched.definitions?.custom?.properties ?? {})).toContain('riskTier');

    const agent = await okta.userApi.createUser({
      body: { profile: profile('agent-1@agents.test', { agentId: 'ag-1', riskTier: 'high', autonomyLevel: 2 }), type: { id: t.id as string } },
      activate: false,
    });
    expect(agent.type?.id).toBe(t.id);
    // The property only exists on the AI Agent type.
    const defaultType = await rejection(okta.userApi.createUser({ body: { profile: profile('human@agents.test', { agentId: 'ag-2' }) } }));
    expect(defaultType['errorCauses']).toEqual([{ errorSummary: "Property name 'agentId' is not defined in profile" }]);
    const notUnique = await rejection(
      okta.userApi.createUser({ body: { profile: profile('agent-2@agents.test', { agentId: 'ag-1' }), type: { id: t.id as string } } }),
    );
    expect(notUnique['errorCauses']).toEqual([{ errorSummary: 'agentId: An object with this field already exists in the current organization' }]);
    const badEnum = await rejection(
      okta.userApi.createUser({ body: { profile: profile('agent-3@agents.test', { riskTier: 'extreme' }), type: { id: t.id as string } } }),
    );
    expect(badEnum['errorCode']).toBe('E0000001');
    // The type can't change through a partial update (the SDK's UpdateUserRequest has no `type`, so raw HTTP).
    const typeChange = await raw(emu, `/api/v1/users/${agent.id as string}`, { method: 'POST', body: JSON.stringify({ type: { id: emu.state.defaultTypeId } }) });
    expect(typeChange.status).toBe(400);
  });
});

describe('lifecycle', () => {
  it('follows the documented status rules and error codes', async () => {
    const u = await okta.userApi.createUser({ body: { profile: profile('life-1@agents.test') }, activate: false });
    const id = u.id as string;
    expect(await okta.userApi.activateUser({ userId: id, sendEmail: false })).toMatchObject({ activationToken: expect.any(String) });
    expect((await okta.userApi.getUser({ userId: id })).status).toBe('PROVISIONED');
    // Suspend only from ACTIVE: 400 E0000001.
    const s = await rejection(okta.userApi.suspendUser({ userId: id }));
    expect([s['status'], s['errorCode']]).toEqual([400, 'E0000001']);

    const a = await okta.userApi.createUser({ body: { profile: profile('life-2@agents.test'), credentials: { password: { value: 'Sup3r-secret-pw!' } } } });
    const aid = a.id as string;
    const again = await rejection(okta.userApi.activateUser({ userId: aid }));
    expect([again['status'], again['errorCode']]).toEqual([403, 'E0000016']);
    const re = await rejection(okta.userApi.reactivateUser({ userId: aid }));
    expect([re['status'], re['errorCode']]).toEqual([403, 'E0000038']);
    const un = await rejection(okta.userApi.unsuspendUser({ userId: aid }));
    expect([un['status'], un['errorCode']]).toEqual([400, 'E0000001']);

    await okta.userApi.suspendUser({ userId: aid });
    expect((await okta.userApi.getUser({ userId: aid })).status).toBe('SUSPENDED');
    await okta.userApi.unsuspendUser({ userId: aid });
    expect((await okta.userApi.getUser({ userId: aid })).status).toBe('ACTIVE');
    await okta.userApi.deactivateUser({ userId: aid });
    const deprovisioned = await okta.userApi.getUser({ userId: aid });
    expect(deprovisioned.status).toBe('DEPROVISIONED');
    // A DEPROVISIONED user can't be deactivated again or updated: Okta answers 404.
    expect((await rejection(okta.userApi.deactivateUser({ userId: aid })))['status']).toBe(404);
    expect((await rejection(okta.userApi.updateUser({ userId: aid, user: { profile: { title: 'x' } } })))['errorCode']).toBe('E0000007');
    // It can be activated again (STAGED or DEPROVISIONED only).
    await okta.userApi.activateUser({ userId: aid, sendEmail: false });
    expect((await okta.userApi.getUser({ userId: aid })).status).toBe('ACTIVE');
  });

  it('deletes only a DEPROVISIONED user: the first DELETE deactivates, the second deletes (204 both)', async () => {
    const u = await okta.userApi.createUser({ body: { profile: profile('del-1@agents.test') } });
    const id = u.id as string;
    const first = await raw(emu, `/api/v1/users/${id}`, { method: 'DELETE' });
    expect(first.status).toBe(204);
    expect((await okta.userApi.getUser({ userId: id })).status).toBe('DEPROVISIONED');
    await okta.userApi.deleteUser({ userId: id });
    expect((await rejection(okta.userApi.getUser({ userId: id })))['status']).toBe(404);
    const events = emu.state.log.all().filter((e) => e.target?.[0]?.id === id).map((e) => e.eventType);
    expect(events).toEqual(['user.lifecycle.create', 'user.lifecycle.activate', 'user.lifecycle.deactivate', 'user.lifecycle.delete.initiated', 'user.lifecycle.delete.completed']);
  });

  it('deactivates asynchronously with Prefer: respond-async (transitioningToStatus)', async () => {
    const u = await okta.userApi.createUser({ body: { profile: profile('async-1@agents.test') } });
    await okta.userApi.deactivateUser({ userId: u.id as string, prefer: 'respond-async' });
    const during = await okta.userApi.getUser({ userId: u.id as string });
    expect(during.status).toBe('PROVISIONED');
    expect(during.transitioningToStatus).toBe('DEPROVISIONED');
    await sleep(200);
    const after = await okta.userApi.getUser({ userId: u.id as string });
    expect(after.status).toBe('DEPROVISIONED');
    expect(after.transitioningToStatus).toBeUndefined();
  });
});

describe('lists, search and paging', () => {
  it('pages with absolute Link headers; the SDK follows rel="next" with for-await; limit is capped at 200', async () => {
    for (let i = 0; i < 5; i++) await okta.userApi.createUser({ body: { profile: profile(`page-${i}@agents.test`, { department: 'paging' }) } });
    const path = '/api/v1/users?limit=2&filter=' + encodeURIComponent('status eq "PROVISIONED"');
    const first = await raw(emu, path);
    expect(first.headers.get('link')).toContain('rel="self"');
    const l = links(first);
    expect(l['self']).toBe(`${emu.orgUrl}${path}`);
    expect(l['next']).toMatch(new RegExp(`^${emu.orgUrl}/api/v1/users\\?after=00u[A-Za-z0-9]{17}&limit=2&filter=`));

    const seen: string[] = [];
    const before = emu.requestLog.length;
    for await (const u of await okta.userApi.listUsers({ limit: 2 })) {
      if (u?.profile?.department === 'paging') seen.push(u.profile.login as string);
    }
    expect(seen).toEqual([0, 1, 2, 3, 4].map((i) => `page-${i}@agents.test`));
    const pages = emu.requestLog.slice(before).filter((r) => r.path === '/api/v1/users');
    expect(pages.length).toBeGreaterThan(3);
    expect(pages.slice(1).every((r) => r.url.includes('after=00u'))).toBe(true);

    const capped = await raw(emu, '/api/v1/users?limit=500');
    expect(capped.status).toBe(200);
    expect(((await capped.json()) as unknown[]).length).toBeLessThanOrEqual(200);
  });

  it('hides DEPROVISIONED from a plain list; filter and search include them', async () => {
    const u = await okta.userApi.createUser({ body: { profile: profile('gone-1@agents.test') } });
    await okta.userApi.deactivateUser({ userId: u.id as string });
    emu.admin.flushSearchIndex();
    const ids = async (q: string) => ((await (await raw(emu, `/api/v1/users${q}`)).json()) as Array<{ id: string }>).map((x) => x.id);
    expect(await ids('')).not.toContain(u.id);
    expect(await ids(`?filter=${encodeURIComponent('status eq "DEPROVISIONED"')}`)).toContain(u.id);
    expect(await ids(`?search=${encodeURIComponent('profile.login eq "gone-1@agents.test"')}`)).toContain(u.id);
  });

  it('search lags behind writes while get-by-login and filter are current', async () => {
    const login = 'lagging-1@agents.test';
    emu.admin.setSearchLag(5000); // wide enough that a slow machine can't close the gap by accident
    await okta.userApi.createUser({ body: { profile: profile(login, { department: 'lag' }) } });
    const search = async () => {
      const out: string[] = [];
      for await (const u of await okta.userApi.listUsers({ search: `profile.login eq "${login}"` })) if (u) out.push(u.id as string);
      return out;
    };
    expect(await search()).toEqual([]);
    expect((await okta.userApi.getUser({ userId: login })).profile?.login).toBe(login);
    const viaFilter: string[] = [];
    for await (const u of await okta.userApi.listUsers({ filter: `profile.login eq "${login}"` })) if (u) viaFilter.push(u.id as string);
    expect(viaFilter).toHaveLength(1);
    emu.admin.setSearchLag(100);
    await sleep(150);
    expect(await search()).toHaveLength(1);
    emu.admin.setSearchLag(400);
  });

  it('supports search on type.id, custom attributes and status; rejects what Okta rejects', async () => {
    const t = await okta.userTypeApi.createUserType({ userType: { name: 'searchAgent', displayName: 'Search Agent' } });
    const schemaId = ((t._links as unknown as { schema: { href: string } }).schema.href.split('/').pop()) as string;
    await okta.schemaApi.updateUserProfile({ schemaId, userSchema: { definitions: { custom: { id: '#custom', type: 'object', properties: { platform: { title: 'Platform', type: 'string' } } } } } as never });
    const u = await okta.userApi.createUser({ body: { profile: profile('srch-1@agents.test', { platform: 'copilot' }), type: { id: t.id as string } } });
    emu.admin.flushSearchIndex();
    const found = async (search: string) => ((await (await raw(emu, `/api/v1/users?search=${encodeURIComponent(search)}`)).json()) as Array<{ id: string }>).map((x) => x.id);
    expect(await found(`type.id eq "${t.id as string}"`)).toEqual([u.id]);
    expect(await found('profile.platform eq "COPILOT"')).toEqual([u.id]);
    expect(await found(`type.id eq "${t.id as string}" and (status eq "PROVISIONED" or status eq "ACTIVE")`)).toEqual([u.id]);

    const bad = await raw(emu, `/api/v1/users?filter=${encodeURIComponent('profile.platform eq "copilot"')}`);
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { errorCode: string }).errorCode).toBe('E0000031');
    const ne = await raw(emu, `/api/v1/users?search=${encodeURIComponent('status ne "ACTIVE"')}`);
    expect(ne.status).toBe(400);
  });
});

describe('groups', () => {
  it('creates OKTA_GROUP groups with the documented body; names are unique', async () => {
    const g = await okta.groupApi.createGroup({ group: { profile: { name: 'agents:finance-read', description: 'Read finance data' } } });
    expect(g.id).toMatch(/^00g[A-Za-z0-9]{17}$/);
    expect(g.type).toBe('OKTA_GROUP');
    expect(g.objectClass).toEqual(['okta:user_group']);
    expect(g.profile?.name).toBe('agents:finance-read');
    expect((await okta.groupApi.getGroup({ groupId: g.id as string })).id).toBe(g.id);
    const dup = await rejection(okta.groupApi.createGroup({ group: { profile: { name: 'AGENTS:finance-read' } } }));
    expect([dup['status'], dup['errorCode']]).toEqual([400, 'E0000001']);
    const missing = await rejection(okta.groupApi.getGroup({ groupId: '00gnope00000000000000' }));
    expect([missing['status'], missing['errorCode']]).toEqual([404, 'E0000007']);
  });

  it('adds and removes direct memberships (204), idempotently, with System Log events', async () => {
    const g = await okta.groupApi.createGroup({ group: { profile: { name: 'agents:crm-write' } } });
    const u = await okta.userApi.createUser({ body: { profile: profile('member-1@agents.test') } });
    const gid = g.id as string;
    const uid = u.id as string;
    const put = await raw(emu, `/api/v1/groups/${gid}/users/${uid}`, { method: 'PUT' });
    expect(put.status).toBe(204);
    expect(await put.text()).toBe('');
    await okta.groupApi.assignUserToGroup({ groupId: gid, userId: uid }); // again: no error, no second event

    const mine: string[] = [];
    for await (const x of await okta.userApi.listUserGroups({ userId: uid })) if (x) mine.push(x.profile?.name as string);
    expect(mine.sort()).toEqual(['Everyone', 'agents:crm-write']);

    await okta.groupApi.unassignUserFromGroup({ groupId: gid, userId: uid });
    const after: string[] = [];
    for await (const x of await okta.userApi.listUserGroups({ userId: uid })) if (x) after.push(x.profile?.name as string);
    expect(after).toEqual(['Everyone']);

    const events = emu.state.log.all().filter((e) => e.eventType.startsWith('group.user_membership') && e.target?.some((t) => t.id === gid));
    expect(events.map((e) => e.eventType)).toEqual(['group.user_membership.add', 'group.user_membership.remove']);
    expect(events[1]?.target?.map((t) => t.type)).toEqual(['User', 'UserGroup']);

    const everyone = emu.state.everyoneGroup();
    const builtIn = await rejection(okta.groupApi.unassignUserFromGroup({ groupId: everyone.id, userId: uid }));
    expect(builtIn['status']).toBe(400);
  });

  it('pages group members with Link headers that the SDK follows', async () => {
    const g = await okta.groupApi.createGroup({ group: { profile: { name: 'agents:paged' } } });
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const u = await okta.userApi.createUser({ body: { profile: profile(`gm-${i}@agents.test`) } });
      ids.push(u.id as string);
      await okta.groupApi.assignUserToGroup({ groupId: g.id as string, userId: u.id as string });
    }
    const first = await raw(emu, `/api/v1/groups/${g.id as string}/users?limit=2`);
    const l = links(first);
    expect(l['self']).toBe(`${emu.orgUrl}/api/v1/groups/${g.id as string}/users?limit=2`);
    expect(l['next']).toBe(`${emu.orgUrl}/api/v1/groups/${g.id as string}/users?after=${ids[1] as string}&limit=2`);

    const seen: string[] = [];
    for await (const u of await okta.groupApi.listGroupUsers({ groupId: g.id as string, limit: 2 })) if (u) seen.push(u.id as string);
    expect(seen).toEqual(ids);
  });

  it('lists groups with q (name prefix), filter and search', async () => {
    await okta.groupApi.createGroup({ group: { profile: { name: 'zz-search-1' } } });
    emu.admin.flushSearchIndex();
    const names = async (q: string) => ((await (await raw(emu, `/api/v1/groups?${q}`)).json()) as Array<{ profile: { name: string } }>).map((g) => g.profile.name);
    expect(await names('q=zz-search')).toEqual(['zz-search-1']);
    expect(await names(`search=${encodeURIComponent('profile.name sw "zz-search"')}`)).toEqual(['zz-search-1']);
    expect(await names(`filter=${encodeURIComponent('type eq "BUILT_IN"')}`)).toEqual(['Everyone']);
  });
});
