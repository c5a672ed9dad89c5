// Microsoft Entra ID provisioning (the enterprise app's SCIM job) replayed end to end against
// agentroster: Test Connection, users matched by `filter=userName eq`, created with the documented
// body, updated with capitalised ops, "False" strings and path-less replaces with dotted keys
// (aadOptscim062020), the manager, groups looked up with excludedAttributes=members, members added and
// removed both ways, deactivation, deletion — and what a sponsor's deactivation does to their agents.
// Requests follow reference/entra.md §4.2 (learn.microsoft.com "use-scim-to-provision-users-and-groups").
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildTestApp, ENTERPRISE_URN, GROUP_URN, LIST_URN, PATCH_URN, type TestApp, USER_URN } from '../../helpers/test-app.js';
import type { Json } from '../../helpers/resources.js';
import { agentGov, auditOf, type IdpClient, idpClient, q, sponsoredAgent } from './replay.js';

const ADSCIM_GROUP = 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group';
const patch = (...Operations: Json[]) => ({ schemas: [PATCH_URN], Operations });

let t: TestApp;
let entra: IdpClient;
beforeEach(async () => {
  t = await buildTestApp({ clockStart: '2026-06-01T08:00:00.000Z' });
  entra = await idpClient(t, 'entra-provisioning', 'Microsoft.AAD.Provisioning');
});
afterEach(() => t.close());

/** Entra's create-if-absent: filter by the matching attribute, POST when nothing matched. */
async function provisionUser(userName: string, given: string, family: string, externalId: string): Promise<string> {
  const found = await entra.get(`/Users?filter=${q(`userName eq "${userName}"`)}`);
  expect(found).toMatchObject({ schemas: [LIST_URN], totalResults: 0, Resources: [] });
  const created = await entra.post('/Users', {
    schemas: [USER_URN, ENTERPRISE_URN],
    externalId,
    userName,
    active: true,
    emails: [{ primary: true, type: 'work', value: userName }],
    meta: { resourceType: 'User' },
    name: { formatted: `${given} ${family}`, familyName: family, givenName: given },
    roles: [],
    addresses: null,
    phoneNumbers: null,
  });
  expect(created.id).toEqual(expect.any(String));
  return created.id as string;
}

describe('Entra ID provisioning, replayed', () => {
  it('Test Connection: a random user and a random group that do not exist → empty ListResponses', async () => {
    expect(await entra.get(`/Users?filter=${q('userName eq "non-existent-user-4f6e1c"')}`)).toMatchObject({ totalResults: 0, Resources: [] });
    expect(await entra.get(`/Groups?excludedAttributes=members&filter=${q('displayName eq "non-existent-group-4f6e1c"')}`)).toMatchObject({ totalResults: 0 });
  });

  it('users: create, match, update (capitalised ops, dotted path-less replace, manager), "False" deactivation, delete', async () => {
    const bob = await provisionUser('bob@contoso.com', 'Bob', 'Manager', 'e7a5b3c1-0000-4000-8000-00000000b0b0');
    const ada = await provisionUser('ada@contoso.com', 'Ada', 'Lovelace', 'e7a5b3c1-0000-4000-8000-00000000ada0');
    // the next cycle matches the user again
    const match = await entra.get(`/Users?filter=${q('userName eq "ada@contoso.com"')}`);
    expect((match.Resources as Json[])[0]?.id).toBe(ada);

    // default SCIM job: capitalised ops, one op per path
    await entra.patch(
      `/Users/${ada}`,
      patch(
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'ada.lovelace@contoso.com' },
        { op: 'Replace', path: 'name.familyName', value: 'King' },
        { op: 'Add', path: `${ENTERPRISE_URN}:employeeNumber`, value: '1815' },
        { op: 'Add', path: 'manager', value: [{ $ref: null, value: bob }] },
      ),
    );
    // aadOptscim062020: lowercase, path-less replace with dotted and URN-qualified keys
    await entra.patch(`/Users/${ada}`, patch({ op: 'replace', value: { displayName: 'Ada King', 'name.givenName': 'Augusta Ada', [`${ENTERPRISE_URN}:department`]: 'Analytical Engines' } }));
    const u = await entra.get(`/Users/${ada}`);
    expect(u).toMatchObject({
      displayName: 'Ada King',
      name: { givenName: 'Augusta Ada', familyName: 'King' },
      emails: [expect.objectContaining({ type: 'work', value: 'ada.lovelace@contoso.com' })],
      [ENTERPRISE_URN]: { employeeNumber: '1815', department: 'Analytical Engines', manager: expect.objectContaining({ value: bob }) },
      active: true,
    });

    // disable: a string "False"
    await entra.patch(`/Users/${ada}`, patch({ op: 'Replace', path: 'active', value: 'False' }));
    const off = await entra.get(`/Users?filter=${q('userName eq "ada@contoso.com"')}`);
    expect((off.Resources as Json[])[0]).toMatchObject({ id: ada, active: false }); // a soft-deleted user is still found
    // re-enable (boolean this time), then delete
    await entra.patch(`/Users/${ada}`, patch({ op: 'Replace', path: 'active', value: true }));
    expect((await entra.get(`/Users/${ada}`)).active).toBe(true);
    await entra.delete(`/Users/${ada}`);
    await entra.get(`/Users/${ada}`, 404);
  });

  it('groups: create with the ADSCIM schema URN, look up with excludedAttributes=members, add and remove members both ways, delete', async () => {
    const a = await provisionUser('grace@contoso.com', 'Grace', 'Hopper', 'e7a5b3c1-0000-4000-8000-0000000000a1');
    const b = await provisionUser('alan@contoso.com', 'Alan', 'Turing', 'e7a5b3c1-0000-4000-8000-0000000000b2');
    expect(await entra.get(`/Groups?excludedAttributes=members&filter=${q('displayName eq "Agent Sponsors"')}`)).toMatchObject({ totalResults: 0 });
    const g = await entra.post('/Groups', { schemas: [GROUP_URN, ADSCIM_GROUP], externalId: '9c1d0000-0000-4000-8000-000000000abc', displayName: 'Agent Sponsors', members: [] });
    const gid = g.id as string;
    const lookup = await entra.get(`/Groups?excludedAttributes=members&filter=${q('displayName eq "Agent Sponsors"')}`);
    expect((lookup.Resources as Json[])[0]).toMatchObject({ id: gid, displayName: 'Agent Sponsors' });
    expect((lookup.Resources as Json[])[0]?.members).toBeUndefined();

    await entra.patch(`/Groups/${gid}`, patch({ op: 'Add', path: 'members', value: [{ $ref: null, value: a }, { $ref: null, value: b }] }));
    const single = await entra.get(`/Groups/${gid}?excludedAttributes=members`);
    expect(single.members).toBeUndefined();
    const members = async () => (((await entra.get(`/Groups/${gid}`)).members as Json[] | undefined) ?? []).map((m) => m.value).sort();
    expect(await members()).toEqual([a, b].sort());
    // removal, default job: value array
    await entra.patch(`/Groups/${gid}`, patch({ op: 'Remove', path: 'members', value: [{ value: a }] }));
    expect(await members()).toEqual([b]);
    // removal, aadOptscim062020: value filter in the path
    await entra.patch(`/Groups/${gid}`, patch({ op: 'remove', path: `members[value eq "${b}"]` }));
    expect(await members()).toEqual([]);
    // the user's readOnly groups follow
    await entra.patch(`/Groups/${gid}`, patch({ op: 'Add', path: 'members', value: [{ value: a }] }));
    expect(((await entra.get(`/Users/${a}`)).groups as Json[]).map((x) => x.value)).toEqual([gid]);
    await entra.delete(`/Groups/${gid}`);
    await entra.get(`/Groups/${gid}`, 404);
  });

  it('a sponsor deactivated by Entra ("False") triggers the sponsor-departure rules: the agent moves to the manager Entra provisioned', async () => {
    const bob = await provisionUser('bob.m@contoso.com', 'Bob', 'Manager', 'e7a5b3c1-0000-4000-8000-0000000000c3');
    const ada = await provisionUser('ada.s@contoso.com', 'Ada', 'Sponsor', 'e7a5b3c1-0000-4000-8000-0000000000d4');
    await entra.patch(`/Users/${ada}`, patch({ op: 'Add', path: 'manager', value: [{ $ref: `https://x/scim/v2/Users/${bob}`, value: bob }] }));
    const lonely = await provisionUser('lone@contoso.com', 'Lone', 'Sponsor', 'e7a5b3c1-0000-4000-8000-0000000000e5');
    const agentA = await sponsoredAgent(t, 'ada-bot', ada);
    const agentB = await sponsoredAgent(t, 'lone-bot', lonely);

    await entra.patch(`/Users/${ada}`, patch({ op: 'Replace', path: 'active', value: 'False' }));
    const g = await agentGov(t, agentA);
    expect(g).toMatchObject({ sponsor: expect.objectContaining({ value: bob }), sponsorStatus: 'transferPending' });
    const audit = await auditOf(t, agentA);
    expect(audit.some((e) => e.action === 'sponsor.departed' && String(e.reason).includes('entra-provisioning'))).toBe(true);

    // no co-sponsor, no manager: the agent is marked departed (suspended after the grace period)
    await entra.delete(`/Users/${lonely}`);
    expect(await agentGov(t, agentB)).toMatchObject({ sponsorStatus: 'departed', sponsor: expect.objectContaining({ value: lonely, status: 'departed' }) });
  });
});
