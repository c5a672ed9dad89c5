// RFC 7644 §3.4: list and search. Filtering (the table in test/fixtures/http/list.json), sorting,
// index and cursor paging, attribute projection, POST /{type}/.search and POST /.search.

import { readFileSync } from 'node:fs';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  allAudit,
  buildTestApp,
  ENTERPRISE_URN,
  ERROR_URN,
  GOV_URN,
  LIST_URN,
  SCIM_CT,
  scimError,
  type TestApp,
  USER_URN,
} from '../../helpers/test-app.js';
import { agentBody, createAgent, createGroup, createUser, type Json, userBody } from '../../helpers/resources.js';

const SEARCH_URN = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';

interface FilterCase {
  type: 'Users' | 'Agents';
  filter: string;
  expect: string[];
  note?: string;
}
const table = JSON.parse(readFileSync(new URL('../../fixtures/http/list.json', import.meta.url), 'utf8')) as {
  users: Record<string, Json>;
  agents: Record<string, Json & { gov?: Json }>;
  filters: FilterCase[];
};

const q = (s: string) => encodeURIComponent(s);
const labelsOf = (ids: Map<string, string>, resources: Json[]) => resources.map((r) => ids.get(r.id as string) ?? `?${String(r.id)}`);

/** Seeds the users and agents of list.json, one minute apart; returns id → label. */
async function seed(t: TestApp): Promise<{ ids: Map<string, string>; byLabel: Map<string, Json>; sponsor: string }> {
  const ids = new Map<string, string>();
  const byLabel = new Map<string, Json>();
  // agents hold entitlements of the catalogue only (governance); created first, at the start time
  for (const value of new Set(Object.values(table.agents).flatMap((a) => ((a.entitlements as Json[] | undefined) ?? []).map((e) => e.value as string)))) {
    expect((await t.http.post('/Entitlements', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Entitlement'], value })).status).toBe(201);
  }
  for (const [label, attrs] of Object.entries(table.users)) {
    const schemas = attrs[ENTERPRISE_URN] ? [USER_URN, ENTERPRISE_URN] : [USER_URN];
    const res = await t.http.post('/Users', { schemas, ...attrs });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    ids.set(res.body.id as string, label);
    byLabel.set(label, res.body as Json);
    t.clock.advance(60_000);
  }
  const sponsor = [...byLabel.values()][0]!.id as string;
  for (const [label, { gov, ...attrs }] of Object.entries(table.agents)) {
    const res = await t.http.post('/Agents', agentBody(attrs.agentUserName as string, sponsor, attrs, gov ?? {}));
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    ids.set(res.body.id as string, label);
    byLabel.set(label, res.body as Json);
    t.clock.advance(60_000);
  }

  const group = await t.http.post('/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Reviewer' });
  ids.set(group.body.id as string, 'group');
  byLabel.set('group', group.body as Json);
  return { ids, byLabel, sponsor };
}

describe('list and search on seeded data', () => {
  let t: TestApp;
  let ids: Map<string, string>;
  let byLabel: Map<string, Json>;
  let sponsor: string;
  const userLabels = Object.keys(table.users);

  beforeAll(async () => {
    // The engine over a fixed set of humans and agents: agents' User projections (userType
    // "Agent", governance) stay out of the main /Users here, so /Users holds exactly the seeded
    // humans; test/integration/governance/iga-view.test.ts lists, filters and pages them.
    t = await buildTestApp({ clockStart: '2026-01-01T00:00:00.000Z', env: { AGENTROSTER_AGENTS_IN_MAIN_USERS: 'false' } });
    ({ ids, byLabel, sponsor } = await seed(t));
  });
  afterAll(() => t.close());

  describe('filter', () => {
    it.each(table.filters.map((c) => [`${c.type}: ${c.filter}`, c] as const))('%s', async (_name, c) => {
      const filter = c.filter.replaceAll('{{sponsor}}', sponsor);
      const expected = c.expect.map((l) => byLabel.get(l)!);
      const listBody = { schemas: [LIST_URN], totalResults: expected.length, startIndex: 1, itemsPerPage: expected.length, Resources: expected };

      const res = await t.http.get(`/${c.type}?filter=${q(filter)}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.headers['content-type']).toMatch(SCIM_CT);
      expect(labelsOf(ids, res.body.Resources as Json[])).toEqual(c.expect);
      expect(res.body).toEqual(listBody);

      const search = await t.http.post(`/${c.type}/.search`, { schemas: [SEARCH_URN], filter });
      expect(search.status).toBe(200);
      expect(search.headers['content-type']).toMatch(SCIM_CT);
      expect(search.body).toEqual(listBody);
    });

    it('id is caseExact: the exact id matches, the upper-cased id does not', async () => {
      const alice = byLabel.get('alice')!.id as string;
      const exact = await t.http.get(`/Users?filter=${q(`id eq "${alice}"`)}`);
      expect(labelsOf(ids, exact.body.Resources as Json[])).toEqual(['alice']);
      const upper = await t.http.get(`/Users?filter=${q(`id eq "${alice.toUpperCase()}"`)}`);
      expect(upper.status).toBe(200);
      expect(upper.body).toEqual({ schemas: [LIST_URN], totalResults: 0, startIndex: 1, itemsPerPage: 0, Resources: [] });
    });

    it('no filter lists every resource of the type in creation order', async () => {
      const res = await t.http.get('/Users');
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        schemas: [LIST_URN],
        totalResults: 5,
        startIndex: 1,
        itemsPerPage: 5,
        Resources: userLabels.map((l) => byLabel.get(l)),
      });
    });
  });

  describe('sort', () => {
    it.each([
      ['userName', 'ascending', ['alice', 'bob', 'carol', 'dave', 'erin']],
      ['userName', 'descending', ['erin', 'dave', 'carol', 'bob', 'alice']],
      ['displayName', 'ascending', ['alice', 'bob', 'carol', 'erin', 'dave']],
      ['displayName', 'descending', ['erin', 'carol', 'bob', 'alice', 'dave']],
      ['title', 'ascending', ['alice', 'erin', 'bob', 'carol', 'dave']],
      ['meta.lastModified', 'descending', ['erin', 'dave', 'carol', 'bob', 'alice']],
      ['meta.created', 'ascending', ['alice', 'bob', 'carol', 'dave', 'erin']],
      ['emails.value', 'ascending', ['alice', 'bob', 'carol', 'erin', 'dave']],
      ['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber', 'descending', ['bob', 'alice', 'erin', 'dave', 'carol']],
    ] as const)('sortBy=%s sortOrder=%s (missing values last; ties in creation order, reversed for descending)', async (sortBy, sortOrder, expected) => {
      const res = await t.http.get(`/Users?sortBy=${q(sortBy)}&sortOrder=${sortOrder}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(labelsOf(ids, res.body.Resources as Json[])).toEqual(expected);
      const search = await t.http.post('/Users/.search', { schemas: [SEARCH_URN], sortBy, sortOrder });
      expect(labelsOf(ids, search.body.Resources as Json[])).toEqual(expected);
    });

    it('sortOrder defaults to ascending; sort combines with filter and paging', async () => {
      const res = await t.http.get(`/Users?sortBy=displayName&filter=${q('userName ew "example.com"')}&startIndex=2&count=2`);
      expect(res.body).toMatchObject({ totalResults: 4, startIndex: 2, itemsPerPage: 2 });
      expect(labelsOf(ids, res.body.Resources as Json[])).toEqual(['bob', 'erin']);
    });
  });

  describe('index paging', () => {
    const page = async (query: string) => {
      const res = await t.http.get(`/Users?${query}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return { ...res.body, Resources: labelsOf(ids, res.body.Resources as Json[]) } as Json;
    };
    it.each([
      ['count=2', { totalResults: 5, startIndex: 1, itemsPerPage: 2, Resources: ['alice', 'bob'] }],
      ['startIndex=3&count=2', { totalResults: 5, startIndex: 3, itemsPerPage: 2, Resources: ['carol', 'dave'] }],
      ['startIndex=5&count=2', { totalResults: 5, startIndex: 5, itemsPerPage: 1, Resources: ['erin'] }],
      ['startIndex=6&count=2', { totalResults: 5, startIndex: 6, itemsPerPage: 0, Resources: [] }],
      ['startIndex=100', { totalResults: 5, startIndex: 100, itemsPerPage: 0, Resources: [] }],
      ['count=0', { totalResults: 5, startIndex: 1, itemsPerPage: 0, Resources: [] }],
      ['startIndex=0&count=1', { totalResults: 5, startIndex: 1, itemsPerPage: 1, Resources: ['alice'] }],
      ['startIndex=-4&count=1', { totalResults: 5, startIndex: 1, itemsPerPage: 1, Resources: ['alice'] }],
      ['count=-1', { totalResults: 5, startIndex: 1, itemsPerPage: 0, Resources: [] }],
      ['STARTINDEX=2&COUNT=1', { totalResults: 5, startIndex: 2, itemsPerPage: 1, Resources: ['bob'] }],
      ['startIndex=99999999999999999999', { totalResults: 5, startIndex: Number.MAX_SAFE_INTEGER, itemsPerPage: 0, Resources: [] }],
      ['count=99999999999999999999&startIndex=5', { totalResults: 5, startIndex: 5, itemsPerPage: 1, Resources: ['erin'] }],
      [`filter=${q('active eq false')}&startIndex=2&count=5`, { totalResults: 2, startIndex: 2, itemsPerPage: 1, Resources: ['erin'] }],
    ])('%s', async (query, expected) => {
      expect(await page(query)).toEqual({ schemas: [LIST_URN], ...expected });
    });

    it('pages walked with startIndex cover every resource exactly once', async () => {
      const seen: string[] = [];
      for (let start = 1; start <= 5; start += 2) {
        seen.push(...((await page(`startIndex=${start}&count=2`)).Resources as string[]));
      }
      expect(seen).toEqual(userLabels);
    });

    it.each(['count=abc', 'startIndex=1.5'])('non-integer paging parameter %s → 400 invalidValue', async (query) => {
      const res = await t.http.get(`/Users?${query}`);
      expect(res.status).toBe(400);
      expect(res.body).toEqual(scimError(400, 'invalidValue'));
    });
  });

  describe('attributes / excludedAttributes', () => {
    const alice = () => byLabel.get('alice')!;
    const get = async (query: string, path = `/Users/${alice().id as string}`) => {
      const res = await t.http.get(`${path}?${query}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      return res.body as Json;
    };

    it('attributes=userName returns id, schemas and userName only', async () => {
      expect(await get('attributes=userName')).toEqual({ schemas: alice().schemas, id: alice().id, userName: 'Alice@Example.com' });
    });

    it('attributes with a sub-attribute returns just that sub-attribute of each value', async () => {
      expect(await get('attributes=emails.value,DISPLAYNAME')).toEqual({
        schemas: alice().schemas,
        id: alice().id,
        displayName: 'Alice Archer',
        emails: [{ value: 'alice@x.com' }, { value: 'alice@home.org' }],
      });
    });

    it('attributes with a URN-qualified extension attribute', async () => {
      expect(await get(`attributes=${q(`${ENTERPRISE_URN}:employeeNumber`)}`)).toEqual({
        schemas: alice().schemas,
        id: alice().id,
        [ENTERPRISE_URN]: { employeeNumber: '1001' },
      });
    });

    it('attributes naming a whole extension returns all of it', async () => {
      expect(await get(`attributes=${q(ENTERPRISE_URN)},userName`)).toEqual({
        schemas: alice().schemas,
        id: alice().id,
        userName: 'Alice@Example.com',
        [ENTERPRISE_URN]: { employeeNumber: '1001', department: 'R&D' },
      });
    });

    it('excludedAttributes removes attributes, sub-attributes and extension attributes; id and schemas stay', async () => {
      const { emails: _e, displayName: _d, ...rest } = alice();
      expect(await get('excludedAttributes=emails,displayName,id,schemas')).toEqual(rest);
      const noDept = await get(`excludedAttributes=${q(`${ENTERPRISE_URN}:department`)},emails.type`);
      expect(noDept).toEqual({
        ...alice(),
        emails: [{ value: 'alice@x.com' }, { value: 'alice@home.org' }],
        [ENTERPRISE_URN]: { employeeNumber: '1001' },
      });
      const noExt = await get(`excludedAttributes=${q(ENTERPRISE_URN)}`);
      expect(noExt[ENTERPRISE_URN]).toBeUndefined();
      expect(noExt.userName).toBe('Alice@Example.com');
    });

    it('attributes=id still returns schemas; meta only when asked', async () => {
      expect(await get('attributes=id')).toEqual({ schemas: alice().schemas, id: alice().id });
      expect(await get('attributes=meta.version')).toEqual({ schemas: alice().schemas, id: alice().id, meta: { version: 'W/"1"' } });
    });

    it('password (returned: never) is never returned, even when asked for', async () => {
      const res = await t.http.get('/Users?attributes=password,userName&count=1');
      expect(res.body.Resources).toEqual([{ schemas: alice().schemas, id: alice().id, userName: 'Alice@Example.com' }]);
    });

    it('projection applies to every resource of a list and to .search', async () => {
      const res = await t.http.get(`/Users?attributes=userName&filter=${q('active eq false')}`);
      expect(res.body.Resources).toEqual(
        ['bob', 'erin'].map((l) => ({ schemas: byLabel.get(l)!.schemas, id: byLabel.get(l)!.id, userName: byLabel.get(l)!.userName })),
      );
      const search = await t.http.post('/Users/.search', { schemas: [SEARCH_URN], filter: 'active eq false', attributes: ['userName'] });
      expect(search.body).toEqual(res.body);
      const excluded = await t.http.post('/Users/.search', { schemas: [SEARCH_URN], filter: 'active eq false', excludedAttributes: ['emails', 'meta'] });
      for (const r of excluded.body.Resources as Json[]) {
        expect(r.emails).toBeUndefined();
        expect(r.meta).toBeUndefined();
        expect(r.userName).toBeDefined();
      }
    });

    it('governance extension attributes by URN on /Agents', async () => {
      const a1 = byLabel.get('a1')!;
      const res = await get(`attributes=${q(`${GOV_URN}:sponsor.value`)},agentUserName`, `/Agents/${a1.id as string}`);
      expect(res).toEqual({ schemas: a1.schemas, id: a1.id, agentUserName: 'reader-bot', [GOV_URN]: { sponsor: { value: sponsor } } });
    });
  });

  describe('POST /.search across resource types', () => {
    it('finds Users, Groups and Agents with one filter, each with its resourceType', async () => {
      const res = await t.http.post('/.search', { schemas: [SEARCH_URN], filter: 'displayName ew "R"', attributes: ['displayName'] });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.headers['content-type']).toMatch(SCIM_CT);
      const shown = (l: string) => ({ schemas: byLabel.get(l)!.schemas, id: byLabel.get(l)!.id, displayName: byLabel.get(l)!.displayName });
      expect(res.body).toEqual({
        schemas: [LIST_URN],
        totalResults: 5,
        startIndex: 1,
        itemsPerPage: 5,
        Resources: ['alice', 'bob', 'group', 'a1', 'a2'].map(shown),
      });
      const all = await t.http.post('/.search', { schemas: [SEARCH_URN], filter: 'displayName pr', attributes: ['meta.resourceType'] });
      expect(all.body.totalResults).toBe(7);
      expect((all.body.Resources as Json[]).map((r) => (r.meta as Json).resourceType)).toEqual(['User', 'User', 'User', 'User', 'Group', 'Agent', 'Agent']);
    });

    it('an attribute only Agents have matches only Agents; paging spans types', async () => {
      const res = await t.http.post('/.search', { schemas: [SEARCH_URN], filter: 'agentUserName ew "-bot"', attributes: ['agentUserName'] });
      expect(res.body.totalResults).toBe(3);
      const paged = await t.http.post('/.search', { schemas: [SEARCH_URN], filter: 'meta.created ge "2026-01-01T00:04:00Z"', startIndex: 2, count: 2 });
      expect(paged.body).toMatchObject({ totalResults: 5, startIndex: 2, itemsPerPage: 2 });
      expect(labelsOf(ids, paged.body.Resources as Json[])).toEqual(['group', 'a1']);
    });

    it('a filter no resource type understands → 400 invalidFilter', async () => {
      const res = await t.http.post('/.search', { schemas: [SEARCH_URN], filter: 'noSuchAttribute eq "x"' });
      expect(res.status).toBe(400);
      expect(res.body).toEqual(scimError(400, 'invalidFilter'));
    });
  });

  it('reads write nothing to the audit log', async () => {
    const before = (await allAudit(t)).length;
    await t.http.get('/Users?filter=title%20pr');
    await t.http.post('/.search', { schemas: [SEARCH_URN] });
    expect((await allAudit(t)).length).toBe(before);
  });
});

describe('count above the maximum', () => {
  it('count=5000 is lowered to 1000 (itemsPerPage says so)', async () => {
    const t = await buildTestApp();
    try {
      const ctx = { actor: { client: 'seed' }, scopes: new Set(['admin'] as const), requestId: 'seed', baseUrl: 'http://seed' };
      for (let i = 0; i < 1001; i++) await t.service.create('User', userBody(`user${String(i).padStart(4, '0')}`), ctx);
      const res = await t.http.get('/Users?count=5000&attributes=userName');
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ totalResults: 1001, startIndex: 1, itemsPerPage: 1000 });
      expect((res.body.Resources as Json[]).length).toBe(1000);
      const rest = await t.http.get('/Users?count=5000&startIndex=1001&attributes=userName');
      expect(rest.body.Resources).toEqual([{ schemas: [USER_URN], id: expect.any(String), userName: 'user1000' }]);
    } finally {
      await t.close();
    }
  });
});

describe('cursor paging (RFC 9865)', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await buildTestApp();
  });
  afterEach(() => t.close());

  async function walk(query: string, onPage?: (n: number) => Promise<void>): Promise<{ ids: string[]; pages: Json[] }> {
    const out: string[] = [];
    const pages: Json[] = [];
    let cursor = '';
    for (let n = 0; n < 50; n++) {
      const res = await t.http.get(`/Users?${query}&cursor=${q(cursor)}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      pages.push(res.body as Json);
      out.push(...(res.body.Resources as Json[]).map((r) => r.userName as string));
      if (onPage) await onPage(n);
      if (typeof res.body.nextCursor !== 'string') return { ids: out, pages };
      cursor = res.body.nextCursor;
    }
    throw new Error('cursor paging did not end');
  }

  it('cursor= starts, nextCursor continues, the last page has none; nothing duplicated or missed', async () => {
    const names: string[] = [];
    for (let i = 0; i < 7; i++) names.push((await createUser(t, `u${i}`)).userName as string);
    const { ids, pages } = await walk('count=3');
    expect(ids).toEqual(names);
    expect(pages.map((p) => (p.Resources as Json[]).length)).toEqual([3, 3, 1]);
    expect(pages[0]).toMatchObject({ schemas: [LIST_URN], itemsPerPage: 3, nextCursor: expect.any(String) });
    expect(pages[0]!.startIndex).toBeUndefined();
    expect(pages[2]!.nextCursor).toBeUndefined();
  });

  it('with a filter, and with writes between pages: no duplicates, no misses of stable rows', async () => {
    for (let i = 0; i < 6; i++) await createUser(t, `u${i}`, { title: i % 2 === 0 ? 'even' : 'odd' });
    const { ids } = await walk(`count=2&filter=${q('title eq "even"')}`, async (n) => {
      if (n === 0) {
        // delete a row already seen and add one at the end: the walk must neither repeat nor skip
        const first = await t.http.get(`/Users?filter=${q('userName eq "u0"')}`);
        expect((await t.http.delete(`/Users/${(first.body.Resources as Json[])[0]!.id as string}`)).status).toBe(204);
        await createUser(t, 'u6', { title: 'even' });
      }
    });
    expect(ids).toEqual(['u0', 'u2', 'u4', 'u6']);
  });

  it('an invalid cursor → 400 SCIM error', async () => {
    await createUser(t, 'u0');
    const res = await t.http.get('/Users?cursor=not-a-cursor');
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(SCIM_CT);
    expect(res.body).toMatchObject({ schemas: [ERROR_URN], status: '400' });
  });
});

describe('groups and agents in lists', () => {
  it("GET /Users?filter=groups.value eq … finds a group's members (groups is computed from Group members)", async () => {
    const t = await buildTestApp();
    try {
      const u = await createUser(t, 'alice');
      await createUser(t, 'bob');
      const g = await createGroup(t, 'G1', [u.id as string]);
      const res = await t.http.get(`/Users?filter=${q(`groups.value eq "${g.id as string}"`)}&attributes=userName`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(res.body).toEqual({
        schemas: [LIST_URN],
        totalResults: 1,
        startIndex: 1,
        itemsPerPage: 1,
        Resources: [{ schemas: [USER_URN], id: u.id, userName: 'alice' }],
      });
    } finally {
      await t.close();
    }
  });

  it('GET /Groups?filter=members.value eq … finds the groups of a member', async () => {
    const t = await buildTestApp();
    try {
      const u = await createUser(t, 'alice');
      const a = await createAgent(t, 'bot');
      const g1 = await createGroup(t, 'G1', [u.id as string]);
      await createGroup(t, 'G2', [a.id as string]);
      const res = await t.http.get(`/Groups?filter=${q(`members[value eq "${u.id as string}"]`)}&attributes=displayName`);
      expect(res.body).toEqual({
        schemas: [LIST_URN],
        totalResults: 1,
        startIndex: 1,
        itemsPerPage: 1,
        Resources: [{ schemas: g1.schemas, id: g1.id, displayName: 'G1' }],
      });
    } finally {
      await t.close();
    }
  });
});

describe('returned: request', () => {
  it('the governance attestation (set by the server) is returned only when named in attributes', async () => {
    const t = await buildTestApp();
    try {
      const a = await createAgent(t, 'signed-bot');
      const id = a.id as string;
      // attestation is readOnly: only the server writes it (signed records come with a later issue)
      const row = (await t.store.get('Agent', id))!;
      const attestation = { kid: 'k1', recordJws: 'eyJhbGciOiJFUzI1NiJ9.e30.sig', issuedAt: '2026-01-01T00:00:00.000Z' };
      const data = { ...row.data, [GOV_URN]: { ...(row.data[GOV_URN] as Json), attestation } };
      await t.store.commit({
        writes: [{ kind: 'update', type: 'Agent', id, data, at: row.lastModified, expectedVersion: row.version, before: row.data }],
        audit: [],
        outbox: [],
      });
      const plain = await t.http.get(`/Agents/${id}`);
      expect((plain.body[GOV_URN] as Json).attestation).toBeUndefined();
      expect((plain.body[GOV_URN] as Json).purpose).toBeDefined();
      const excluded = await t.http.get(`/Agents/${id}?excludedAttributes=description`);
      expect((excluded.body[GOV_URN] as Json).attestation).toBeUndefined();
      const asked = await t.http.get(`/Agents/${id}?attributes=${q(`${GOV_URN}:attestation`)}`);
      expect(asked.body).toEqual({ schemas: a.schemas, id, [GOV_URN]: { attestation } });
      const listed = await t.http.get(`/Agents?attributes=${q(`${GOV_URN}:attestation.kid`)}`);
      expect(listed.body.Resources).toEqual([{ schemas: a.schemas, id, [GOV_URN]: { attestation: { kid: 'k1' } } }]);
    } finally {
      await t.close();
    }
  });
});

describe('cursor paging with sortBy', () => {
  it('walks every resource exactly once in the sorted order, both directions', async () => {
    const t = await buildTestApp();
    try {
      const names = ['delta', 'alpha', 'echo', 'charlie', 'bravo', 'foxtrot', 'golf'];
      for (const n of names) await createUser(t, n, n === 'echo' ? {} : { displayName: n.toUpperCase() });
      for (const [order, expected] of [
        ['ascending', ['ALPHA', 'BRAVO', 'CHARLIE', 'DELTA', 'FOXTROT', 'GOLF', undefined]],
        ['descending', ['GOLF', 'FOXTROT', 'DELTA', 'CHARLIE', 'BRAVO', 'ALPHA', undefined]],
      ] as const) {
        const seen: unknown[] = [];
        let cursor = '';
        for (let n = 0; n < 10; n++) {
          const res = await t.http.get(`/Users?sortBy=displayName&sortOrder=${order}&count=2&cursor=${q(cursor)}`);
          expect(res.status, JSON.stringify(res.body)).toBe(200);
          seen.push(...(res.body.Resources as Json[]).map((r) => r.displayName));
          if (typeof res.body.nextCursor !== 'string') break;
          cursor = res.body.nextCursor;
        }
        expect(seen).toEqual(expected);
      }
    } finally {
      await t.close();
    }
  });
});
