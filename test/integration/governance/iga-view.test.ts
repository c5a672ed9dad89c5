// The IGA view (standards.md §2.5, §4.5) and scopes (R15): every agent is also a SCIM User —
// on the main /Users (filterable by userType) and on /scim/v2/agents-view, whose /Users hold only
// agents — and every revoke form IGA tools send is accepted, idempotent and audited, while a
// scim.revoke token can never grant or activate.

import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { allAudit, scimError } from '../../helpers/test-app.js';
import { AGENT_USER_URN, buildGov, ENTERPRISE_URN, type Gov, GOV_URN, type Json, patchOps, setState, USER_URN } from './helpers.js';

const VIEW = '/agents-view';
const q = (f: string) => encodeURIComponent(f);

describe('the IGA view', () => {
  let g: Gov;
  let revoke: string;
  let sponsor: string;
  let agent: (name: string, ents?: string[], gov?: Json) => Promise<string>;

  beforeAll(async () => {
    g = await buildGov();
    revoke = await g.t.tokenWith(['scim.revoke'], 'sailpoint');
    sponsor = await g.user('dana.lee', {
      displayName: 'Dana Lee',
      externalId: 'okta-00u1',
      emails: [{ value: 'dana.lee@example.com', primary: true }],
      [ENTERPRISE_URN]: { employeeNumber: 'E-1001' },
    });
    for (const v of ['erp.read', 'erp.write', 'mail.send']) await g.entitlement(v, v === 'erp.write' ? { privileged: true } : undefined);
    agent = async (name, ents = ['erp.read', 'mail.send'], gov = {}) =>
      (await g.agent(name, { sponsor, extra: { entitlements: ents.map((value) => ({ value })), displayName: `${name} agent`, agentType: 'worker' }, gov: { lifecycleState: 'active', ...gov } })).id as string;
  });
  afterAll(() => g.close());

  describe('projection', () => {
    it('an agent is a User with userType "Agent", the sponsor as manager, and the agent-as-User extension', async () => {
      const id = await agent('invoice-triage', ['erp.read'], { riskTier: 'medium', credentials: [{ credentialId: 'c-it-1', type: 'jwk', createdAt: '2026-03-01T00:00:00Z' }] });
      const res = await g.t.http.get(`${VIEW}/Users/${id}`);
      expect(res.status).toBe(200);
      const base = `${g.t.origin}/scim/v2`;
      expect(res.body).toEqual({
        schemas: [USER_URN, ENTERPRISE_URN, AGENT_USER_URN],
        id,
        userName: 'invoice-triage',
        name: { formatted: 'invoice-triage agent', familyName: 'Agent', givenName: 'invoice-triage agent' },
        displayName: 'invoice-triage agent',
        title: 'worker',
        userType: 'Agent',
        active: true,
        entitlements: [{ value: 'erp.read', display: 'erp.read' }],
        [ENTERPRISE_URN]: {
          employeeNumber: 'invoice-triage',
          manager: { value: sponsor, displayName: 'Dana Lee', $ref: `${base}/Users/${sponsor}` },
        },
        [AGENT_USER_URN]: {
          isAgent: true,
          agentRef: `${base}/Agents/${id}`,
          sponsorEmail: 'dana.lee@example.com',
          sponsorEmployeeNumber: 'E-1001',
          sponsorExternalId: 'okta-00u1',
          sponsorDisplayName: 'Dana Lee',
          purpose: 'invoice-triage does its job',
          environment: 'production',
          riskTier: 'medium',
          autonomyLevel: 'humanInTheLoop',
          lifecycleState: 'active',
          sponsorStatus: 'ok',
          nextReviewDue: '2026-06-30T09:00:00.000Z',
          entitlementGrants: [
            { value: 'erp.read', grantedAt: '2026-04-01T09:00:00.000Z', grantedBy: 'test-admin', source: 'direct', privileged: false, recommendRevoke: false },
          ],
          credentialSummary: { count: 1, staleCount: 0, oldestRotationAt: '2026-03-01T00:00:00.000Z' },
        },
        meta: {
          resourceType: 'User',
          created: '2026-04-01T09:00:00.000Z',
          lastModified: '2026-04-01T09:00:00.000Z',
          location: `${base}/agents-view/Users/${id}`,
          version: 'W/"1"',
        },
      });
      // never the sponsor's e-mail as the agent's
      expect(res.body.emails).toBeUndefined();
      // the same User on the main base URL
      const main = await g.t.http.get(`/Users/${id}`);
      expect(main.body.meta.location).toBe(`${base}/Users/${id}`);
      expect(main.body.userName).toBe('invoice-triage');
    });

    it('/agents-view/Users lists only agents, with filters and paging in the database; main /Users filters by userType', async () => {
      await g.user('human.only');
      const view = await g.t.http.get(`${VIEW}/Users?count=1000`);
      expect(view.body.Resources.every((u: Json) => u.userType === 'Agent')).toBe(true);
      const total = view.body.totalResults as number;
      const agentsOnMain = await g.t.http.get(`/Users?filter=${q('userType eq "Agent"')}&count=1000`);
      expect(agentsOnMain.body.totalResults).toBe(total);
      const humans = await g.t.http.get(`/Users?filter=${q('not (userType eq "Agent")')}&count=1000`);
      expect(humans.body.Resources.map((u: Json) => u.userName)).toEqual(expect.arrayContaining(['dana.lee', 'human.only']));
      expect(humans.body.Resources.some((u: Json) => u.userType === 'Agent')).toBe(false);
      // SailPoint-style aggregation: paging, userName / externalId / manager filters, delta by lastModified
      const byName = await g.t.http.get(`${VIEW}/Users?filter=${q('userName eq "invoice-triage"')}`);
      expect(byName.body.totalResults).toBe(1);
      const byManager = await g.t.http.get(`${VIEW}/Users?filter=${q(`${ENTERPRISE_URN}:manager.value eq "${sponsor}"`)}&count=1000`);
      expect(byManager.body.totalResults).toBe(total);
      const human = await g.t.http.get(`${VIEW}/Users?filter=${q('userName eq "human.only"')}`);
      expect(human.body.totalResults).toBe(0);
      const page = await g.t.http.get(`${VIEW}/Users?startIndex=1&count=1&sortBy=userName`);
      expect(page.body).toMatchObject({ totalResults: total, itemsPerPage: 1, startIndex: 1 });
      const humanId = (await g.t.http.get(`/Users?filter=${q('userName eq "human.only"')}`)).body.Resources[0].id as string;
      expect((await g.t.http.get(`${VIEW}/Users/${humanId}`)).status).toBe(404);
    });

    it('discovery of the view: ServiceProviderConfig, ResourceTypes and Schemas describe agents as Users', async () => {
      const spc = await g.t.http.get(`${VIEW}/ServiceProviderConfig`);
      expect(spc.body).toMatchObject({ patch: { supported: true }, filter: { supported: true }, etag: { supported: true }, bulk: { supported: false } });
      const rts = await g.t.http.get(`${VIEW}/ResourceTypes`);
      expect(rts.body.Resources.map((r: Json) => r.name)).toEqual(['User', 'Group', 'Entitlement', 'Role']);
      const user = await g.t.http.get(`${VIEW}/ResourceTypes/User`);
      expect(user.body.schemaExtensions).toEqual([
        { schema: ENTERPRISE_URN, required: true },
        { schema: AGENT_USER_URN, required: true },
      ]);
      expect((await g.t.http.get(`${VIEW}/Schemas/urn:ietf:params:scim:schemas:core:2.0:User`)).status).toBe(200);
      expect((await g.t.http.get(`${VIEW}/Schemas/${AGENT_USER_URN}`)).body.attributes.map((a: Json) => a.name)).toContain('sponsorEmail');
      expect((await g.t.http.get(`${VIEW}/Schemas/urn:ietf:params:scim:schemas:core:2.0:Agent`)).status).toBe(404);
      expect((await g.t.http.get(`${VIEW}/Entitlements?filter=${q('value eq "erp.write"')}`)).body.totalResults).toBe(1);
    });
  });

  describe('revoke forms (§2.5), with a scim.revoke token: applied, idempotent, audited', () => {
    let id: string;
    beforeEach(async () => {
      id = await agent(`revoke-${Math.random().toString(36).slice(2, 8)}`);
    });
    const entitlementsOf = async () => ((await g.get(id)).entitlements as Json[] | undefined)?.map((e) => e.value) ?? [];
    const auditedOnce = async (f: () => Promise<unknown>) => {
      const before = (await allAudit(g.t)).length;
      await f();
      const after = await allAudit(g.t);
      expect(after.length).toBe(before + 1);
      await f(); // again: a no-op
      expect((await allAudit(g.t)).length).toBe(before + 1);
      return after.at(-1)!;
    };

    it.each([
      ['remove by value filter', () => patchOps({ op: 'remove', path: 'entitlements[value eq "mail.send"]' })],
      ['remove with a value array', () => patchOps({ op: 'remove', path: 'entitlements', value: [{ value: 'mail.send' }] })],
      ['replace with the remaining', () => patchOps({ op: 'replace', path: 'entitlements', value: [{ value: 'erp.read' }] })],
    ])('PATCH %s', async (_n, body) => {
      for (const base of [VIEW, '']) {
        if (base === '') id = await agent(`revoke-main-${Math.random().toString(36).slice(2, 8)}`);
        const event = await auditedOnce(async () => {
          const res = await g.t.http.patch(`${base}/Users/${id}`, body(), revoke);
          expect(res.status, JSON.stringify(res.body)).toBe(200);
          expect(res.body.entitlements).toEqual([{ value: 'erp.read', display: 'erp.read' }]);
        });
        expect(await entitlementsOf()).toEqual(['erp.read']);
        expect(event).toMatchObject({ action: 'iga.patch', resourceType: 'Agent', resourceId: id, actor: { client: 'sailpoint' } });
        expect(Object.keys(event.changes!)).toContain('entitlements');
      }
    });

    it('full PUT with the remaining entitlements', async () => {
      const current = (await g.t.http.get(`${VIEW}/Users/${id}`)).body as Json;
      const { meta: _m, ...body } = current;
      await auditedOnce(async () => {
        const res = await g.t.http.put(`${VIEW}/Users/${id}`, { ...body, entitlements: [{ value: 'mail.send' }] }, revoke);
        expect(res.status, JSON.stringify(res.body)).toBe(200);
      });
      expect(await entitlementsOf()).toEqual(['mail.send']);
    });

    it.each([
      ['Okta: replace without a path', { op: 'replace', value: { active: false } }],
      ['Entra: replace active "False"', { op: 'Replace', path: 'active', value: 'False' }],
      ['boolean false', { op: 'replace', path: 'active', value: false }],
    ])('disable — %s — suspends (certificationRevoked)', async (_n, op) => {
      const event = await auditedOnce(async () => {
        const res = await g.t.http.patch(`${VIEW}/Users/${id}`, patchOps(op), revoke);
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect(res.body.active).toBe(false);
      });
      expect(await g.gov(id)).toMatchObject({ lifecycleState: 'suspended', stateReason: 'certificationRevoked' });
      expect(event.changes).toMatchObject({ [`${GOV_URN}:lifecycleState`]: { before: 'active', after: 'suspended' } });
    });

    it('DELETE retires the agent (grants removed); a second DELETE is a 204 too; the Agent stays as the tombstone', async () => {
      const res = await g.t.http.delete(`${VIEW}/Users/${id}`, revoke);
      expect(res.status).toBe(204);
      expect(await g.gov(id)).toMatchObject({ lifecycleState: 'retired', stateReason: 'certificationRevoked' });
      expect(await entitlementsOf()).toEqual([]);
      expect((await g.t.http.get(`${VIEW}/Users/${id}`)).status).toBe(404);
      expect((await g.t.http.delete(`${VIEW}/Users/${id}`, revoke)).status).toBe(204);
      expect((await g.t.http.delete(`/Users/${id}`, revoke)).status).toBe(204);
    });

    it('DELETE with a live credential: suspended at once, 409 with Retry-After until it is revoked', async () => {
      const withCred = await agent(`cred-${Math.random().toString(36).slice(2, 8)}`, [], { credentials: [{ credentialId: `c-${id}`, type: 'oauthClient' }] });
      const res = await g.t.http.delete(`${VIEW}/Users/${withCred}`, revoke);
      expect(res.status).toBe(409);
      expect(res.headers['retry-after']).toBe('3600');
      expect(res.body.detail).toMatch(/suspended meanwhile/);
      expect(await g.gov(withCred)).toMatchObject({ lifecycleState: 'suspended' });
    });

    it('a scim.revoke token can never grant or activate (R15): 403, nothing changes', async () => {
      const before = (await allAudit(g.t)).length;
      const add = await g.t.http.patch(`${VIEW}/Users/${id}`, patchOps({ op: 'add', path: 'entitlements', value: [{ value: 'erp.write' }] }), revoke);
      expect(add.status).toBe(403);
      expect(add.body).toEqual(scimError(403, undefined, /never grant/));
      const addNative = await g.patch(`/Agents/${id}`, [{ op: 'add', path: 'entitlements', value: [{ value: 'erp.write' }] }], revoke);
      expect(addNative.status).toBe(403);
      const edit = await g.patch(`/Agents/${id}`, [{ op: 'replace', path: 'description', value: 'x' }], revoke);
      expect(edit.status).toBe(403);
      await g.t.http.patch(`${VIEW}/Users/${id}`, patchOps({ op: 'replace', path: 'active', value: false }), revoke);
      const n = (await allAudit(g.t)).length;
      const activate = await g.t.http.patch(`${VIEW}/Users/${id}`, patchOps({ op: 'replace', path: 'active', value: true }), revoke);
      expect(activate.status).toBe(403);
      const activateNative = await g.patch(`/Agents/${id}`, setState('active'), revoke);
      expect(activateNative.status).toBe(403);
      expect((await allAudit(g.t)).length).toBe(n);
      expect(n).toBe(before + 1);
      // POST of a User in the view: 403; other attributes: 400 mutability
      expect((await g.t.http.post(`${VIEW}/Users`, { schemas: [USER_URN], userName: 'sneaky' }, revoke)).status).toBe(403);
      const rename = await g.t.http.patch(`${VIEW}/Users/${id}`, patchOps({ op: 'replace', path: 'displayName', value: 'renamed' }));
      expect(rename.status).toBe(400);
      expect(rename.body).toEqual(scimError(400, 'mutability', /only entitlements, roles and active/));
    });

    it('the native /Agents endpoint with scim.revoke: remove, suspend and retire are allowed', async () => {
      expect((await g.patch(`/Agents/${id}`, [{ op: 'remove', path: 'entitlements[value eq "mail.send"]' }], revoke)).status).toBe(200);
      expect((await g.patch(`/Agents/${id}`, setState('suspended'), revoke)).status).toBe(200);
      const retire = await g.patch(`/Agents/${id}`, setState('retired'), revoke);
      expect(retire.status).toBe(200);
      expect((await g.t.http.delete(`/Agents/${id}`, revoke)).status).toBe(204);
    });

    it('group membership as an entitlement: scim.revoke removes members, cannot add them', async () => {
      const other = await agent(`member-${Math.random().toString(36).slice(2, 8)}`);
      const group = await g.t.http.post('/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: `Finance Readers ${id}`, members: [{ value: id }] });
      const gid = group.body.id as string;
      expect(group.body.members[0]).toMatchObject({ value: id, type: 'Agent' });
      const add = await g.t.http.patch(`/Groups/${gid}`, patchOps({ op: 'add', path: 'members', value: [{ value: other }] }), revoke);
      expect(add.status).toBe(403);
      for (const path of [`/Groups/${gid}`, `${VIEW}/Groups/${gid}`]) {
        const rm = await g.t.http.patch(path, patchOps({ op: 'remove', path: `members[value eq "${id}"]` }), revoke);
        expect(rm.status, JSON.stringify(rm.body)).toBe(200);
        expect(rm.body.members).toBeUndefined();
      }
    });
  });
});

describe('the IGA view without agents on the main /Users, with Okta catalogue URNs', () => {
  let g: Gov;
  afterEach(() => g.close());

  it('agents are served only at /agents-view; the catalogue is published under Okta URNs there', async () => {
    g = await buildGov({ env: { AGENTROSTER_AGENTS_IN_MAIN_USERS: 'false', AGENTROSTER_OKTA_CATALOGUE_URNS: 'true', AGENTROSTER_AGENT_USERNAME_SUFFIX: 'agents.example.com' } });
    await g.entitlement('crm.read');
    const id = (await g.agent('hidden-bot', { extra: { entitlements: [{ value: 'crm.read' }] } })).id as string;
    expect((await g.t.http.get(`/Users/${id}`)).status).toBe(404);
    expect((await g.t.http.get(`/Users?filter=${q('userType eq "Agent"')}`)).body.totalResults).toBe(0);
    expect((await g.t.http.patch(`/Users/${id}`, patchOps({ op: 'replace', path: 'active', value: false }))).status).toBe(404);
    const view = await g.t.http.get(`${VIEW}/Users/${id}`);
    expect(view.body.userName).toBe('hidden-bot@agents.example.com');
    const rt = await g.t.http.get(`${VIEW}/ResourceTypes/Entitlement`);
    expect(rt.body.schema).toBe('urn:okta:scim:schemas:core:1.0:Entitlement');
    expect((await g.t.http.get(`${VIEW}/Schemas/urn:okta:scim:schemas:core:1.0:Entitlement`)).body.id).toBe('urn:okta:scim:schemas:core:1.0:Entitlement');
    const list = await g.t.http.get(`${VIEW}/Entitlements`);
    expect(list.body.Resources[0].schemas).toEqual(['urn:okta:scim:schemas:core:1.0:Entitlement']);
    // a human userName that collides with an agent's projected userName is refused
    const clash = await g.t.http.post('/Users', { schemas: [USER_URN], userName: 'hidden-bot@agents.example.com' });
    expect(clash.status).toBe(409);
  });
});
