// Okta provisioning (a SCIM 2.0 app: AIW custom apps and OIN apps) replayed end to end against
// agentroster: users matched with `filter=userName eq … &startIndex=1&count=100`, created with a
// password and Okta's externalId, updated by full PUT (AIW: every update, deactivation included),
// deactivated by path-less `{"op":"replace","value":{"active":false}}` (OIN), imported page by page,
// and groups pushed (lookup, create, PATCH member add/remove, path-less replace repeating the id, PUT,
// delete) — and what a sponsor's deactivation does to their agents. Requests follow okta.md §4.1
// (developer.okta.com "SCIM 2.0 protocol reference").
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildTestApp, GROUP_URN, LIST_URN, PATCH_URN, type TestApp, USER_URN } from '../../helpers/test-app.js';
import type { Json } from '../../helpers/resources.js';
import { agentGov, auditOf, type IdpClient, idpClient, q, sponsoredAgent } from './replay.js';

const patch = (...Operations: Json[]) => ({ schemas: [PATCH_URN], Operations });

let t: TestApp;
let okta: IdpClient;
beforeEach(async () => {
  t = await buildTestApp({ clockStart: '2026-06-01T08:00:00.000Z' });
  // Okta sends application/json (the documented samples); Okta SCIM Client 1.0.0 as User-Agent
  okta = await idpClient(t, 'okta-provisioning', 'Okta SCIM Client 1.0.0', 'application/json');
});
afterEach(() => t.close());

/** Okta's create-if-absent: look up by userName with startIndex/count, POST the documented body. */
async function provisionUser(login: string, given: string, family: string, oktaId: string): Promise<string> {
  const found = await okta.get(`/Users?filter=${q(`userName eq "${login}"`)}&startIndex=1&count=100`);
  expect(found).toMatchObject({ schemas: [LIST_URN], totalResults: 0, startIndex: 1, itemsPerPage: 0, Resources: [] });
  const created = await okta.post('/Users', {
    schemas: [USER_URN],
    userName: login,
    name: { givenName: given, familyName: family },
    emails: [{ primary: true, value: login, type: 'work' }],
    displayName: `${given} ${family}`,
    locale: 'en-US',
    externalId: oktaId,
    groups: [],
    password: '1mz050nq',
    active: true,
  });
  expect(created).not.toHaveProperty('password');
  return created.id as string;
}

describe('Okta provisioning, replayed', () => {
  it('users: lookup with startIndex/count, create with a password, full-PUT updates and deactivation (AIW), path-less active:false (OIN), import paging', async () => {
    const id = await provisionUser('sam@okta.example', 'Sam', 'Sponsor', '00u1a2b3c4d5e6f7g8h9');
    const again = await okta.get(`/Users?filter=${q('userName eq "sam@okta.example"')}&startIndex=1&count=100`);
    expect(again).toMatchObject({ totalResults: 1, startIndex: 1, itemsPerPage: 1 });
    expect((again.Resources as Json[])[0]).toMatchObject({ id, externalId: '00u1a2b3c4d5e6f7g8h9', active: true });

    // AIW: GET, then PUT the whole user (a profile change, with the password again)
    const current = await okta.get(`/Users/${id}`);
    const { meta: _meta, ...body } = current;
    await okta.put(`/Users/${id}`, { ...body, name: { givenName: 'Samuel', familyName: 'Sponsor' }, password: 'x9y8z7w6' });
    expect((await okta.get(`/Users/${id}`)).name).toMatchObject({ givenName: 'Samuel' });
    // AIW deactivation: the same full PUT with active false
    await okta.put(`/Users/${id}`, { ...body, name: { givenName: 'Samuel', familyName: 'Sponsor' }, active: false });
    expect((await okta.get(`/Users/${id}`)).active).toBe(false);
    await okta.put(`/Users/${id}`, { ...body, name: { givenName: 'Samuel', familyName: 'Sponsor' }, active: true });
    // OIN: path-less replace, answered 200 with the user or 204
    const r = await okta.patch(`/Users/${id}`, patch({ op: 'replace', value: { active: false } }));
    if (Object.keys(r).length) expect(r.active).toBe(false);
    expect((await okta.get(`/Users/${id}`)).active).toBe(false);
    await okta.patch(`/Users/${id}`, patch({ op: 'replace', value: { active: true } }));

    // import: startIndex=1&count=100, then +100; integers and a stable order
    for (let i = 0; i < 3; i++) await provisionUser(`import-${i}@okta.example`, 'Imp', `User${i}`, `00uimport00000000000${i}`);
    const page1 = await okta.get('/Users?startIndex=1&count=2');
    const page2 = await okta.get('/Users?startIndex=3&count=2');
    expect([page1.totalResults, page1.itemsPerPage, page1.startIndex, page2.startIndex]).toEqual([4, 2, 1, 3]);
    const ids = [...(page1.Resources as Json[]), ...(page2.Resources as Json[])].map((u) => u.id);
    expect(new Set(ids).size).toBe(4);
    // Okta never DELETEs users: unassignment is active:false (above)
  });

  it('group push: lookup, create, PATCH member add and remove (OIN), path-less replace repeating the id, PUT (AIW), delete', async () => {
    const a = await provisionUser('ann@okta.example', 'Ann', 'A', '00uaaaaaaaaaaaaaaaaa');
    const b = await provisionUser('ben@okta.example', 'Ben', 'B', '00ubbbbbbbbbbbbbbbbb');
    expect(await okta.get(`/Groups?filter=${q('displayName eq "Agent Sponsors (Okta)"')}&startIndex=1&count=100`)).toMatchObject({ totalResults: 0 });
    const g = await okta.post('/Groups', { schemas: [GROUP_URN], displayName: 'Agent Sponsors (Okta)', members: [] });
    const gid = g.id as string;
    const members = async () => (((await okta.get(`/Groups/${gid}`)).members as Json[] | undefined) ?? []).map((m) => m.value).sort();

    await okta.patch(`/Groups/${gid}`, patch({ op: 'add', path: 'members', value: [{ value: a, display: 'ann@okta.example' }, { value: b, display: 'ben@okta.example' }] }));
    expect(await members()).toEqual([a, b].sort());
    await okta.patch(`/Groups/${gid}`, patch({ op: 'remove', path: `members[value eq "${a}"]` }));
    expect(await members()).toEqual([b]);
    // Okta's membership update repeats the group's id and name in a path-less replace
    await okta.patch(`/Groups/${gid}`, patch({ op: 'replace', value: { id: gid, displayName: 'Agent Sponsors (Okta)' } }));
    // replace of the whole member list
    await okta.patch(`/Groups/${gid}`, patch({ op: 'replace', path: 'members', value: [{ value: a }] }));
    expect(await members()).toEqual([a]);
    // AIW apps PUT the whole group
    await okta.put(`/Groups/${gid}`, { schemas: [GROUP_URN], id: gid, displayName: 'Agent Sponsors (Okta)', members: [{ value: a }, { value: b }] });
    expect(await members()).toEqual([a, b].sort());
    await okta.put(`/Groups/${gid}`, { schemas: [GROUP_URN], id: gid, displayName: 'Agent Sponsors (Okta)', members: [] });
    expect(await members()).toEqual([]);
    // the push group is removed in Okta
    await okta.delete(`/Groups/${gid}`);
    await okta.get(`/Groups/${gid}`, 404);
  });

  it('a sponsor deactivated by Okta (full PUT, or path-less PATCH) triggers the sponsor-departure rules', async () => {
    const s1 = await provisionUser('dora@okta.example', 'Dora', 'Departing', '00udoradoradoradora1');
    const s2 = await provisionUser('otto@okta.example', 'Otto', 'Oin', '00uottoottoottootto2');
    const agent1 = await sponsoredAgent(t, 'dora-bot', s1);
    const agent2 = await sponsoredAgent(t, 'otto-bot', s2);
    expect((await agentGov(t, agent1)).sponsorStatus).toBe('ok');

    const current = await okta.get(`/Users/${s1}`);
    const { meta: _m, ...body } = current;
    await okta.put(`/Users/${s1}`, { ...body, active: false, password: '1mz050nq' });
    expect(await agentGov(t, agent1)).toMatchObject({ sponsorStatus: 'departed', sponsor: expect.objectContaining({ value: s1, status: 'departed' }) });
    const audit = await auditOf(t, agent1);
    expect(audit.some((e) => e.action === 'sponsor.departed' && String(e.reason).includes('okta-provisioning'))).toBe(true);

    await okta.patch(`/Users/${s2}`, patch({ op: 'replace', value: { active: false } }));
    expect((await agentGov(t, agent2)).sponsorStatus).toBe('departed');

    // re-activated in Okta (a mistake undone): the agent is accountable again
    await okta.patch(`/Users/${s2}`, patch({ op: 'replace', value: { active: true } }));
    expect((await agentGov(t, agent2)).sponsorStatus).toBe('ok');
  });
});
