/**
 * Graph endpoint families of the emulator, called with plain HTTP and a bearer token:
 * agent identities and their sponsors, permissions, users, groups, app role assignments,
 * the fallback mappings, paging/filtering, deleted items, and the OData error shape.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connect, type GraphTestClient } from './harness.js';
import { startGraphEmulator, type GraphEmulator } from './index.js';
import type { DirectoryObject } from './store.js';

let emu: GraphEmulator;
let graph: GraphTestClient;
let blueprintAppId: string;
let ada: DirectoryObject;
let bob: DirectoryObject;
let m365: DirectoryObject;

const AGENTS = '/v1.0/servicePrincipals/microsoft.graph.agentIdentity';
const agent = (id: string): string => `/v1.0/servicePrincipals/${id}/microsoft.graph.agentIdentity`;

beforeEach(async () => {
  // This file checks the shapes of requests and answers: it reads an object right after creating
  // it, so replication and index lag are off here, and so is the write limit (it sends bursts).
  // Lag and throttling have their own tests (realism.test.ts) and are on in every sync test.
  emu = await startGraphEmulator({ config: { writeRateLimit: null, replicationLagMs: 0, indexLagMs: 0 } });
  graph = await connect(emu);
  blueprintAppId = String(emu.state.seedBlueprint({ displayName: 'agentroster', tags: ['blueprint:agentroster'] }).blueprint.data['appId']);
  ada = emu.state.seedUser({ displayName: 'Ada', userPrincipalName: 'ada@contoso.com', mail: 'ada.lovelace@contoso.com', employeeId: 'E1' });
  bob = emu.state.seedUser({ displayName: 'Bob', userPrincipalName: 'bob@contoso.com', employeeId: 'E2' });
  m365 = emu.state.seedGroup({ displayName: 'Agent sponsors', groupTypes: ['Unified'] });
});
afterEach(() => emu.close());

const userRef = (u: DirectoryObject): string => `${emu.url}/v1.0/users/${u.id}`;
const objRef = (o: DirectoryObject | string): string => `https://graph.microsoft.com/v1.0/directoryObjects/${typeof o === 'string' ? o : o.id}`;

async function createAgent(extra: Record<string, unknown> = {}): Promise<string> {
  const r = await graph.post(AGENTS, {
    displayName: 'Invoice bot',
    agentIdentityBlueprintId: blueprintAppId,
    'sponsors@odata.bind': [userRef(ada)],
    tags: ['agentroster:a1'],
    ...extra,
  });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body.id as string;
}

describe('agent identities', () => {
  it('creates, reads (cast, plain and case-insensitive beta paths), disables, deletes and restores', async () => {
    const r = await graph.post(AGENTS, {
      displayName: 'Invoice bot',
      agentIdentityBlueprintId: blueprintAppId,
      'sponsors@odata.bind': [userRef(ada), `https://graph.microsoft.com/v1.0/groups/${m365.id}`],
      tags: ['agentroster:a1'],
    });
    expect(r.status).toBe(201);
    expect(r.body).toMatchObject({
      '@odata.context': `${emu.url}/v1.0/$metadata#servicePrincipals/$entity`,
      '@odata.type': '#microsoft.graph.agentIdentity',
      displayName: 'Invoice bot',
      servicePrincipalType: 'ServiceIdentity',
      agentIdentityBlueprintId: blueprintAppId,
      createdByAppId: emu.defaultClient.clientId,
      accountEnabled: true,
    });
    // tags: the union of the object's and the blueprint's tags
    expect(r.body.tags).toEqual(['agentroster:a1', 'blueprint:agentroster']);
    const id = r.body.id as string;

    expect((await graph.get(agent(id))).body.displayName).toBe('Invoice bot');
    expect((await graph.get(`/v1.0/servicePrincipals/${id}`)).body['@odata.type']).toBe('#microsoft.graph.agentIdentity');
    expect((await graph.get(`/beta/serviceprincipals/${id}/Microsoft.Graph.AgentIdentity`)).status).toBe(200);

    expect((await graph.patch(agent(id), { accountEnabled: false })).status).toBe(204);
    expect((await graph.get(agent(id))).body.accountEnabled).toBe(false);

    expect((await graph.delete(agent(id))).status).toBe(204);
    expect((await graph.get(agent(id))).status).toBe(404);
    const deleted = await graph.get('/v1.0/directory/deletedItems/microsoft.graph.servicePrincipal');
    expect(deleted.body.value.map((o: { id: string }) => o.id)).toContain(id);
    const restored = await graph.post(`/v1.0/directory/deletedItems/${id}/restore`, {});
    expect(restored.status).toBe(200);
    expect(restored.body['@odata.type']).toBe('#microsoft.graph.agentIdentity');
    const sponsors = await graph.get(`${agent(id)}/sponsors`);
    expect(sponsors.body.value.map((s: { id: string }) => s.id).sort()).toEqual([ada.id, m365.id].sort());
    // permanent delete
    expect((await graph.delete(agent(id))).status).toBe(204);
    expect((await graph.delete(`/v1.0/directory/deletedItems/${id}`)).status).toBe(204);
    expect((await graph.post(`/v1.0/directory/deletedItems/${id}/restore`, {})).status).toBe(404);
  });

  it('requires displayName, an existing blueprint with a principal, and at least one sponsor', async () => {
    const base = { displayName: 'x', agentIdentityBlueprintId: blueprintAppId, 'sponsors@odata.bind': [userRef(ada)] };
    const noSponsors = await graph.post(AGENTS, { ...base, 'sponsors@odata.bind': undefined });
    expect(noSponsors.status).toBe(400);
    expect((await graph.post(AGENTS, { ...base, 'sponsors@odata.bind': [] })).status).toBe(400);
    expect((await graph.post(AGENTS, { ...base, displayName: undefined })).status).toBe(400);

    const unknown = await graph.post(AGENTS, { ...base, agentIdentityBlueprintId: '12345678-1234-4234-8234-123456789012' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.code).toBe('AgentIdentity_AgentBlueprintPrincipalDoesNotExist');

    const noPrincipal = String(emu.state.seedBlueprint({ displayName: 'bare', withPrincipal: false }).blueprint.data['appId']);
    expect((await graph.post(AGENTS, { ...base, agentIdentityBlueprintId: noPrincipal })).body.error.code).toBe('AgentIdentity_AgentBlueprintPrincipalDoesNotExist');

    const plainApp = String(emu.state.seedApplication('not a blueprint').data['appId']);
    expect((await graph.post(AGENTS, { ...base, agentIdentityBlueprintId: plainApp })).body.error.code).toBe('AgentIdentity_IncompatibleParentType');
  });

  it('accepts users and Microsoft 365 / dynamic groups as sponsors, never service principals, agent users or security groups', async () => {
    const base = { displayName: 'x', agentIdentityBlueprintId: blueprintAppId };
    const sp = emu.state.seedServicePrincipal({ displayName: 'some app' });
    const agentUser = emu.state.seedUser({ displayName: 'agent user', userPrincipalName: 'au@contoso.com', agentUser: true });
    const security = emu.state.seedGroup({ displayName: 'sec' });
    const roleAssignable = emu.state.seedGroup({ displayName: 'ra', groupTypes: ['Unified'], isAssignableToRole: true });
    for (const bad of [sp, agentUser, security, roleAssignable]) {
      const r = await graph.post(AGENTS, { ...base, 'sponsors@odata.bind': [objRef(bad)] });
      expect(r.status, bad.kind).toBe(400);
      expect(r.body.error.code).toBe('Request_BadRequest');
    }
    const missing = await graph.post(AGENTS, { ...base, 'sponsors@odata.bind': [objRef('0badbad0-0000-4000-8000-000000000000')] });
    expect(missing.status).toBe(404);
    expect(missing.body.error.code).toBe('Request_ResourceNotFound');
    const dynamic = emu.state.seedGroup({ displayName: 'dyn', groupTypes: ['DynamicMembership'], membershipRule: 'user.department -eq "x"' });
    expect((await graph.post(AGENTS, { ...base, 'sponsors@odata.bind': [objRef(dynamic), objRef(m365)] })).status).toBe(201);
  });

  it('enforces at most 100 sponsors, at most 5 of them groups', async () => {
    const users = Array.from({ length: 101 }, (_, i) => emu.state.seedUser({ displayName: `u${i}`, userPrincipalName: `u${i}@contoso.com` }));
    const base = { displayName: 'x', agentIdentityBlueprintId: blueprintAppId };
    expect((await graph.post(AGENTS, { ...base, 'sponsors@odata.bind': users.map(objRef) })).status).toBe(400);
    expect((await graph.post(AGENTS, { ...base, 'sponsors@odata.bind': users.slice(0, 100).map(objRef) })).status).toBe(201);
    const groups = Array.from({ length: 6 }, (_, i) => emu.state.seedGroup({ displayName: `g${i}`, groupTypes: ['Unified'] }));
    expect((await graph.post(AGENTS, { ...base, 'sponsors@odata.bind': groups.map(objRef) })).status).toBe(400);
    expect((await graph.post(AGENTS, { ...base, 'sponsors@odata.bind': groups.slice(0, 5).map(objRef) })).status).toBe(201);
  });

  it('manages sponsors with $ref and never removes the last one', async () => {
    const id = await createAgent();
    const last = await graph.delete(`${agent(id)}/sponsors/${ada.id}/$ref`);
    expect(last.status).toBe(400);
    expect(last.body.error.code).toBe('Request_BadRequest');

    expect((await graph.post(`${agent(id)}/sponsors/$ref`, { '@odata.id': objRef(bob) })).status).toBe(204);
    expect((await graph.post(`${agent(id)}/sponsors/$ref`, { '@odata.id': objRef(bob) })).status).toBe(400); // already a sponsor
    const sp = emu.state.seedServicePrincipal({ displayName: 'svc' });
    expect((await graph.post(`${agent(id)}/sponsors/$ref`, { '@odata.id': objRef(sp) })).status).toBe(400);

    expect((await graph.delete(`${agent(id)}/sponsors/${ada.id}/$ref`)).status).toBe(204);
    expect((await graph.delete(`${agent(id)}/sponsors/${ada.id}/$ref`)).status).toBe(400); // not a sponsor any more
    const list = await graph.get(`${agent(id)}/sponsors`);
    expect(list.body.value).toEqual([expect.objectContaining({ '@odata.type': '#microsoft.graph.user', id: bob.id, userPrincipalName: 'bob@contoso.com' })]);
    expect(emu.state.sponsorIds(id)).toEqual([bob.id]);
    const expanded = await graph.get(`${agent(id)}?$expand=sponsors($select=id)`);
    expect(expanded.body.sponsors).toEqual([{ '@odata.type': '#microsoft.graph.user', id: bob.id }]);
    const listed = await graph.get(`${AGENTS}?$select=id&$expand=sponsors($select=id,displayName)`);
    expect(listed.body.value).toEqual([{ '@odata.type': '#microsoft.graph.agentIdentity', id, sponsors: [{ '@odata.type': '#microsoft.graph.user', id: bob.id, displayName: 'Bob' }] }]);
    expect((await graph.get(`${AGENTS}?$expand=owners2`)).status).toBe(400);
  });

  it('returns customSecurityAttributes only with $select, and writing them needs its own permission', async () => {
    const id = await createAgent();
    expect((await graph.patch(agent(id), { customSecurityAttributes: { AgentRegistry: { ExternalId: 'a1' } } })).status).toBe(403);
    const plain = await graph.get(agent(id));
    expect(plain.body).not.toHaveProperty('customSecurityAttributes');
    const selected = await graph.get(`${agent(id)}?$select=id,customSecurityAttributes`);
    expect(selected.status).toBe(403); // reading them needs CustomSecAttributeAssignment.Read(Write).All too
    emu.registerClient({ clientId: 'c5c5c5c5-0000-4000-8000-000000000001', secrets: ['s'], roles: ['AgentIdentity.ReadWrite.All', 'CustomSecAttributeAssignment.ReadWrite.All'] });
    const csa = await connect(emu, { clientId: 'c5c5c5c5-0000-4000-8000-000000000001', clientSecret: 's' });
    expect((await csa.patch(agent(id), { customSecurityAttributes: { AgentRegistry: { ExternalId: 'a1' } } })).status).toBe(204);
    expect((await csa.get(`${agent(id)}?$select=id,customSecurityAttributes`)).body).toMatchObject({
      id,
      customSecurityAttributes: { AgentRegistry: { ExternalId: 'a1' } },
    });
  });

  it('enforces the per-blueprint quota, counting soft-deleted identities', async () => {
    emu.state.config.agentIdentitiesPerBlueprint = 2;
    const a = await createAgent();
    await createAgent();
    await graph.delete(agent(a));
    const r = await graph.post(AGENTS, { displayName: 'x', agentIdentityBlueprintId: blueprintAppId, 'sponsors@odata.bind': [userRef(ada)] });
    expect(r.status).toBe(400);
    expect(r.body.error.code).toBe('AgentIdentity_LimitExceeded');
  });
});

describe('permissions (roles in the bearer token, reference/entra.md §1.3)', () => {
  const client = async (roles: string[]): Promise<GraphTestClient> => {
    const clientId = randomUUID();
    emu.registerClient({ clientId, secrets: ['pw'], roles });
    return connect(emu, { clientId, clientSecret: 'pw' });
  };

  it('denies what the token’s roles do not allow with 403 Authorization_RequestDenied', async () => {
    const id = await createAgent();
    const reader = await client(['AgentIdentity.Read.All']);
    expect((await reader.get(AGENTS)).status).toBe(200);
    const denied = await reader.patch(agent(id), { accountEnabled: false });
    expect(denied.status).toBe(403);
    expect(denied.body.error).toMatchObject({ code: 'Authorization_RequestDenied', message: 'Insufficient privileges to complete the operation.' });

    // AgentIdentity.ReadWrite.All does not include creation (create needs Create.All or CreateAsManager)
    const rw = await client(['AgentIdentity.ReadWrite.All']);
    expect((await rw.post(AGENTS, { displayName: 'x', agentIdentityBlueprintId: blueprintAppId, 'sponsors@odata.bind': [userRef(ada)] })).status).toBe(403);
    // nor deletion (DeleteRestore.All)
    expect((await rw.delete(agent(id))).status).toBe(403);
    // sponsors need AgentIdentity.ReadWrite.All
    const creator = await client(['AgentIdentity.Create.All']);
    expect((await creator.post(`${agent(id)}/sponsors/$ref`, { '@odata.id': objRef(bob) })).status).toBe(403);
    expect((await rw.post(`${agent(id)}/sponsors/$ref`, { '@odata.id': objRef(bob) })).status).toBe(204);

    // EnableDisable.All may only flip accountEnabled
    const toggler = await client(['AgentIdentity.EnableDisable.All']);
    expect((await toggler.patch(agent(id), { accountEnabled: false })).status).toBe(204);
    expect((await toggler.patch(agent(id), { tags: ['x'] })).status).toBe(403);

    // users and delta need their own permissions
    expect((await rw.get('/v1.0/users')).status).toBe(403);
    expect((await rw.get('/v1.0/servicePrincipals/delta')).status).toBe(403);
  });

  it('lets a blueprint holding only CreateAsManager create and manage its own identities only', async () => {
    emu.registerClient({ clientId: blueprintAppId, secrets: ['bp'], roles: ['AgentIdentity.CreateAsManager'] });
    const bp = await connect(emu, { clientId: blueprintAppId, clientSecret: 'bp' });
    const own = await bp.post(AGENTS, { displayName: 'mine', agentIdentityBlueprintId: blueprintAppId, 'sponsors@odata.bind': [userRef(ada)] });
    expect(own.status).toBe(201);
    expect((await bp.patch(agent(own.body.id), { accountEnabled: false })).status).toBe(204);
    const otherBp = String(emu.state.seedBlueprint({ displayName: 'other' }).blueprint.data['appId']);
    const foreign = await bp.post(AGENTS, { displayName: 'theirs', agentIdentityBlueprintId: otherBp, 'sponsors@odata.bind': [userRef(ada)] });
    expect(foreign.status).toBe(403);
    expect(foreign.body.error.code).toBe('Error_AgentIdentitySelfCreateRequired');
    const theirs = emu.state.seedAgentIdentity({ displayName: 'theirs', blueprintAppId: otherBp, sponsorIds: [ada.id] });
    expect((await bp.get(agent(theirs.id))).status).toBe(403);
  });

  it('answers 401 InvalidAuthenticationToken for missing, forged and expired tokens', async () => {
    let now = Date.now();
    const timed = await startGraphEmulator({ clock: () => now });
    try {
      const c = await connect(timed);
      const missing = await c.request('GET', '/v1.0/users', undefined, { authorization: '' });
      expect(missing.status).toBe(401);
      expect(missing.body.error.code).toBe('InvalidAuthenticationToken');
      expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer /);
      const [h, p] = c.token.split('.');
      const forgedPayload = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(p ?? '', 'base64url').toString()), roles: ['Directory.ReadWrite.All'] })).toString('base64url');
      expect((await c.request('GET', '/v1.0/users', undefined, { authorization: `Bearer ${h}.${forgedPayload}.${c.token.split('.')[2]}` })).status).toBe(401);
      // a token from another emulator (other signing key) is rejected too
      expect((await c.request('GET', '/v1.0/users', undefined, { authorization: `Bearer ${graph.token}` })).status).toBe(401);
      now += 3600_000;
      const expired = await c.get('/v1.0/users');
      expect(expired.status).toBe(401);
      expect(expired.body.error.message).toMatch(/expired/);
    } finally {
      await timed.close();
    }
  });
});

describe('users, groups, app roles', () => {
  it('finds users by id, userPrincipalName, mail and employeeId; employeeId needs $select', async () => {
    expect((await graph.get(`/v1.0/users/${ada.id}`)).body.displayName).toBe('Ada');
    const byUpn = await graph.get('/v1.0/users/ADA@contoso.com');
    expect(byUpn.body.id).toBe(ada.id);
    expect(byUpn.body).not.toHaveProperty('employeeId'); // not in the default property set
    const byMail = await graph.get(`/v1.0/users?$filter=mail eq 'ada.lovelace@contoso.com'&$select=id,employeeId,accountEnabled`);
    expect(byMail.body.value).toEqual([{ id: ada.id, employeeId: 'E1', accountEnabled: true }]);
    const byEmp = await graph.get(`/v1.0/users?$filter=employeeId eq 'E2'`);
    expect(byEmp.body.value.map((u: { id: string }) => u.id)).toEqual([bob.id]);
    expect((await graph.get('/v1.0/users/nobody@contoso.com')).status).toBe(404);
    expect((await graph.get(`/v1.0/users?$select=id,nonsense`)).status).toBe(400);
  });

  it('reports a duplicate userPrincipalName as 400 ObjectConflict, not 409 (fallback B: employeeType + manager)', async () => {
    const body = {
      accountEnabled: true,
      displayName: 'Agent Invoice bot',
      mailNickname: 'invoicebot',
      userPrincipalName: 'invoicebot@contoso.com',
      passwordProfile: { password: 'x-Strong-1!', forceChangePasswordNextSignIn: false },
      employeeType: 'AIAgent',
      employeeId: 'agent-a1',
    };
    const created = await graph.post('/v1.0/users', body);
    expect(created.status).toBe(201);
    const dup = await graph.post('/v1.0/users', body);
    expect(dup.status).toBe(400);
    expect(dup.body.error).toMatchObject({ code: 'Request_BadRequest', details: [{ code: 'ObjectConflict', target: 'userPrincipalName' }] });
    expect((await graph.post('/v1.0/users', { ...body, userPrincipalName: 'x@unverified.example' })).status).toBe(400);
    const id = created.body.id as string;
    expect((await graph.put(`/v1.0/users/${id}/manager/$ref`, { '@odata.id': objRef(ada) })).status).toBe(204);
    expect((await graph.get(`/v1.0/users/${id}/manager`)).body.id).toBe(ada.id);
    const agents = await graph.get(`/v1.0/users?$filter=employeeType eq 'AIAgent'&$select=id,employeeId`);
    expect(agents.body.value).toEqual([{ id, employeeId: 'agent-a1' }]);
    expect((await graph.patch(`/v1.0/users/${id}`, { accountEnabled: false })).status).toBe(204);
  });

  it('adds and removes group members with $ref and lists them polymorphically', async () => {
    const id = await createAgent();
    const g = emu.state.seedGroup({ displayName: 'Finance Readers' });
    const add = () => graph.post(`/v1.0/groups/${g.id}/members/$ref`, { '@odata.id': objRef(id) });
    expect((await add()).status).toBe(204);
    const again = await add();
    expect(again.status).toBe(400);
    expect(again.body.error.message).toBe("One or more added object references already exist for the following modified properties: 'members'.");
    expect((await graph.post(`/v1.0/groups/${g.id}/members/$ref`, { '@odata.id': objRef(bob) })).status).toBe(204);
    const members = await graph.get(`/v1.0/groups/${g.id}/members`);
    expect(members.body.value.map((m: Record<string, unknown>) => m['@odata.type']).sort()).toEqual(['#microsoft.graph.agentIdentity', '#microsoft.graph.user']);
    expect((await graph.get(`/v1.0/servicePrincipals/${id}/memberOf`)).body.value.map((x: { id: string }) => x.id)).toEqual([g.id]);
    expect((await graph.delete(`/v1.0/groups/${g.id}/members/${id}/$ref`)).status).toBe(204);
    expect((await graph.delete(`/v1.0/groups/${g.id}/members/${id}/$ref`)).status).toBe(400);
    expect((await graph.post(`/v1.0/groups/${g.id}/members/$ref`, { '@odata.id': objRef('0badbad0-0000-4000-8000-000000000000') })).status).toBe(404);
  });

  it('grants, lists and revokes app role assignments (appRoleAssignedTo / appRoleAssignments)', async () => {
    const id = await createAgent();
    const api = emu.state.seedServicePrincipal({
      displayName: 'Finance API',
      appRoles: [
        { value: 'Ledger.Read', allowedMemberTypes: ['Application'] },
        { value: 'Ledger.UserOnly', allowedMemberTypes: ['User'] },
      ],
    });
    const [appRole, userRole] = api.data['appRoles'] as Array<{ id: string }>;
    const post = (appRoleId: string) => graph.post(`/v1.0/servicePrincipals/${api.id}/appRoleAssignedTo`, { principalId: id, resourceId: api.id, appRoleId });
    const created = await post(appRole?.id ?? '');
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ appRoleId: appRole?.id, principalId: id, principalType: 'ServicePrincipal', resourceId: api.id, resourceDisplayName: 'Finance API' });
    expect(created.body.id).toHaveLength(43);
    expect((await post(appRole?.id ?? '')).body.error.message).toBe('Permission being assigned already exists on the object');
    expect((await post(userRole?.id ?? '')).status).toBe(400); // role not allowed for applications
    expect((await graph.get(`/v1.0/servicePrincipals/${api.id}/appRoleAssignedTo`)).body.value).toHaveLength(1);
    expect((await graph.get(`/v1.0/servicePrincipals/${id}/appRoleAssignments`)).body.value[0].id).toBe(created.body.id);
    expect((await graph.delete(`/v1.0/servicePrincipals/${api.id}/appRoleAssignedTo/${created.body.id}`)).status).toBe(204);
    expect((await graph.delete(`/v1.0/servicePrincipals/${api.id}/appRoleAssignedTo/${created.body.id}`)).status).toBe(404);
    // AppRoleAssignment.ReadWrite.All alone is not enough (it needs Application.Read.All or Directory.Read.All too)
    emu.registerClient({ clientId: 'a5a5a5a5-0000-4000-8000-000000000001', secrets: ['s'], roles: ['AppRoleAssignment.ReadWrite.All'] });
    const narrow = await connect(emu, { clientId: 'a5a5a5a5-0000-4000-8000-000000000001', clientSecret: 's' });
    expect((await narrow.post(`/v1.0/servicePrincipals/${api.id}/appRoleAssignedTo`, { principalId: id, resourceId: api.id, appRoleId: appRole?.id })).status).toBe(403);
  });
});

describe('fallback A: application + service principal', () => {
  it('upserts the application by uniqueName, creates its service principal once, and tags it', async () => {
    const upsert = (body: Record<string, unknown>, prefer = true) =>
      graph.patch(`/v1.0/applications(uniqueName='scim-agent-a1')`, body, prefer ? { prefer: 'create-if-missing' } : {});
    expect((await graph.patch(`/v1.0/applications(uniqueName='scim-agent-zz')`, { displayName: 'x' })).status).toBe(404);
    const created = await upsert({ displayName: 'Invoice bot', tags: ['agentroster:a1'] });
    expect(created.status).toBe(201);
    expect(created.body.uniqueName).toBe('scim-agent-a1');
    expect((await upsert({ displayName: 'Invoice bot v2' })).status).toBe(204);
    expect((await graph.get(`/v1.0/applications(uniqueName='scim-agent-a1')`)).body.displayName).toBe('Invoice bot v2');
    const appId = created.body.appId as string;
    const sp = await graph.post('/v1.0/servicePrincipals', { appId, tags: ['agentroster:a1'] });
    expect(sp.status).toBe(201);
    const dup = await graph.post('/v1.0/servicePrincipals', { appId });
    expect(dup.status).toBe(409);
    expect(dup.body.error.code).toBe('Request_MultipleObjectsWithSameKeyValue');
    expect((await graph.post('/v1.0/servicePrincipals', { appId: '0badbad0-0000-4000-8000-000000000000' })).status).toBe(400);
    const found = await graph.get(`/v1.0/servicePrincipals?$filter=tags/any(t:t eq 'agentroster:a1')&$select=id,appId,accountEnabled`);
    expect(found.body.value).toEqual([{ id: sp.body.id, appId, accountEnabled: true }]);
    expect((await graph.patch(`/v1.0/servicePrincipals/${sp.body.id}`, { accountEnabled: false })).status).toBe(204);
    expect((await graph.post(`/v1.0/applications/${created.body.id}/owners/$ref`, { '@odata.id': objRef(ada) })).status).toBe(204);
    const clash = await graph.post('/v1.0/applications', { displayName: 'again', uniqueName: 'scim-agent-a1' });
    expect(clash.body.error.details).toEqual([{ target: 'uniqueName', code: 'ObjectConflict' }]);
    expect((await graph.delete(`/v1.0/servicePrincipals/${sp.body.id}`)).status).toBe(204);
    expect((await graph.delete(`/v1.0/applications/${created.body.id}`)).status).toBe(204);
  });
});

describe('paging, filtering and errors', () => {
  it('pages agent identities ≤ 100 at a time with an opaque $skiptoken, and validates $top', async () => {
    for (let i = 0; i < 230; i++) emu.state.seedAgentIdentity({ displayName: `agent ${i}`, blueprintAppId, sponsorIds: [ada.id], tags: [`agentroster:${i}`] });
    const first = await graph.get(`${AGENTS}?$top=500`);
    expect(first.body.value).toHaveLength(100); // the maximum page size for agent identities
    const next = first.body['@odata.nextLink'] as string;
    expect(next.startsWith(`${emu.url}/v1.0/servicePrincipals/microsoft.graph.agentIdentity?`)).toBe(true);
    expect(next).toMatch(/\$skiptoken=/);
    const { items, pages } = await graph.all<{ id: string }>(AGENTS);
    expect(pages).toBe(3);
    expect(new Set(items.map((a) => a.id)).size).toBe(230);
    const tampered = next.replace(/\$skiptoken=([^&]+)/, (_m, t: string) => `$skiptoken=${t.slice(0, -2)}xx`);
    expect((await graph.get(tampered)).status).toBe(400);
    const tooBig = await graph.get(`${AGENTS}?$top=1000`);
    expect(tooBig.status).toBe(400);
    expect(tooBig.body.error.code).toBe('Request_UnsupportedQuery');
    const users = await graph.get('/v1.0/users?$top=1');
    expect(users.body.value).toHaveLength(1);
    expect(users.body['@odata.nextLink']).toBeDefined();
  });

  it('filters by tag, supports $select, and rejects unsupported or advanced filters without ConsistencyLevel', async () => {
    for (let i = 0; i < 5; i++) emu.state.seedAgentIdentity({ displayName: `agent ${i}`, blueprintAppId, sponsorIds: [ada.id], tags: [`agentroster:${i}`], accountEnabled: i !== 3 });
    const one = await graph.get(`${AGENTS}?$filter=tags/any(t:t eq 'agentroster:3')&$select=id,displayName,accountEnabled`);
    expect(one.body.value).toEqual([{ '@odata.type': '#microsoft.graph.agentIdentity', id: expect.any(String), displayName: 'agent 3', accountEnabled: false }]);
    const bad = await graph.get(`${AGENTS}?$filter=servicePrincipalNames/any(t:t eq 'x')`);
    expect(bad.status).toBe(400);
    expect(bad.body.error.code).toBe('Request_UnsupportedQuery');
    expect((await graph.get(`${AGENTS}?$filter=accountEnabled ne true`)).status).toBe(400);
    const advanced = await graph.get(`${AGENTS}?$filter=accountEnabled ne true&$count=true`, { consistencylevel: 'eventual' });
    expect(advanced.status).toBe(200);
    expect(advanced.body['@odata.count']).toBe(1);
    expect((await graph.get(`${AGENTS}?$count=true`)).status).toBe(400);
  });

  it('renders OData errors with code, message and innerError (date, request-id, client-request-id)', async () => {
    const r = await graph.get(agent('0badbad0-0000-4000-8000-000000000000'), { 'client-request-id': 'my-correlation' });
    expect(r.status).toBe(404);
    expect(r.body.error).toMatchObject({
      code: 'Request_ResourceNotFound',
      message: "Resource '0badbad0-0000-4000-8000-000000000000' does not exist or one of its queried reference-property objects are not present.",
      innerError: { 'client-request-id': 'my-correlation', 'request-id': expect.any(String), date: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) },
    });
    expect(r.headers.get('request-id')).toBe(r.body.error.innerError['request-id']);
    const unknown = await graph.get('/v1.0/servicePrincipals/x/nonsense');
    expect(unknown.status).toBe(400);
    expect((await graph.get('/v2.0/users')).status).toBe(400);
    const badJson = await graph.request('POST', AGENTS, undefined, { 'content-type': 'text/plain' });
    expect(badJson.status).toBe(400);
  });
});
