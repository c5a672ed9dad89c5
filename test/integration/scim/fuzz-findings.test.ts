// Issue 10, finding 5: inputs the fuzzers turned into 500s, each now a 400 with the right scimType,
// on SQLite and on PostgreSQL: unsortable sortBy attributes, cursors that do not belong to the
// query, and people references (owners, coSponsors, ownerTeam, sponsor) that are not ids.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dropSchema, freshSchema, PG_URL, postgresAvailable } from '../../helpers/postgres.js';
import { agentBody, createGroup, createUser, type Json } from '../../helpers/resources.js';
import { buildTestApp, GOV_URN, scimError, type TestApp } from '../../helpers/test-app.js';

const q = (s: string) => encodeURIComponent(s);
const b64 = (s: string) => Buffer.from(s).toString('base64url');
const pgAvailable = await postgresAvailable();

const stores: { name: string; env: () => Record<string, string>; skip: boolean }[] = [
  { name: 'SQLite', env: () => ({}), skip: false },
  { name: 'PostgreSQL', env: () => ({ AGENTROSTER_DATABASE_URL: PG_URL, AGENTROSTER_DATABASE_SCHEMA: freshSchema() }), skip: !pgAvailable },
];

describe.each(stores)('fuzz findings on $name', ({ env, skip }) => {
  let t: TestApp;
  let schema: string | undefined;
  let sponsor: string;
  let group: string;
  let agentId: string;

  beforeAll(async () => {
    if (skip) return;
    const e = env();
    schema = e.AGENTROSTER_DATABASE_SCHEMA;
    t = await buildTestApp({ env: e });
    sponsor = (await createUser(t, 'sponsor-1', { displayName: 'Sponsor One' })).id as string;
    group = (await createGroup(t, 'team-a')).id as string;
    await createUser(t, 'user-2', { displayName: 'User Two', emails: [{ value: 'u2@example.com', primary: true }] });
    const a = await t.http.post('/Agents', agentBody('bot-one', sponsor));
    expect(a.status, JSON.stringify(a.body)).toBe(201);
    agentId = a.body.id as string;
    for (const n of ['bot-two', 'bot-three']) expect((await t.http.post('/Agents', agentBody(n, sponsor))).status).toBe(201);
  }, 60_000);

  afterAll(async () => {
    if (skip) return;
    await t?.close();
    if (schema) await dropSchema(schema);
  });

  describe.skipIf(skip)('sortBy', () => {
    it.each([
      ['/Agents', 'meta.resourceType'],
      ['/Users', 'meta.resourceType'],
      ['/Users', 'meta.location'],
      ['/Users', 'meta'],
      ['/Users', 'name'],
      ['/Users', 'groups'],
      ['/Users', 'groups.display'],
    ])('%s?sortBy=%s is a 400 invalidValue, not a 500', async (endpoint, sortBy) => {
      for (const extra of ['', '&cursor=', '&sortOrder=descending&count=1']) {
        const res = await t.http.get(`${endpoint}?sortBy=${q(sortBy)}${extra}`);
        expect(res.status, JSON.stringify(res.body)).toBe(400);
        expect(res.body).toEqual(scimError(400, 'invalidValue', /sort/));
      }
    });

    it.each([
      ['/Groups', 'members.$ref'],
      ['/Users', 'emails.$ref'],
      ['/Agents', `${GOV_URN}:sponsor`],
      ['/Agents', `${GOV_URN}:sponsor.$ref`],
      ['/Users', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.$ref'],
      ['/Users', 'nosuch'],
      ['/Users', 'urn:nosuch:x'],
    ])('%s?sortBy=%s sorts (values missing last) or is a 4xx SCIM error, never a 5xx', async (endpoint, sortBy) => {
      for (const extra of ['', '&cursor=&count=1', '&sortOrder=descending&count=1']) {
        const res = await t.http.get(`${endpoint}?sortBy=${q(sortBy)}${extra}`);
        expect(res.status, JSON.stringify(res.body)).toBeLessThan(500);
        if (res.status >= 400) expect(res.body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
      }
    });

    it('still sorts by sortable attributes, including meta.created and multi-valued ones', async () => {
      for (const sortBy of ['meta.created', 'meta.lastModified', 'meta.version', 'id', 'userName', 'emails', 'emails.value', 'name.givenName']) {
        const res = await t.http.get(`/Users?sortBy=${q(sortBy)}&cursor=&count=1`);
        expect(res.status, `${sortBy}: ${JSON.stringify(res.body)}`).toBe(200);
      }
    });
  });

  describe.skipIf(skip)('cursor', () => {
    /** A cursor the server issued for this query, with its sort key (or whole body) replaced. */
    const forge = async (endpoint: string, query: string, edit: (body: unknown[]) => unknown): Promise<string> => {
      const res = await t.http.get(`${endpoint}?${query}&cursor=&count=1`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      const body = JSON.parse(Buffer.from(res.body.nextCursor as string, 'base64url').toString()) as unknown[];
      return b64(JSON.stringify(edit(body)));
    };
    const withKey = (key: unknown) => (b: unknown[]) => [...b.slice(0, 3), key];
    const cases = (endpoint: string): [string, string, () => Promise<string> | string][] => [
      ['a number as key for a string attribute', 'sortBy=displayName', () => forge(endpoint, 'sortBy=displayName', withKey(42))],
      ['a boolean as key for a string attribute', 'sortBy=displayName', () => forge(endpoint, 'sortBy=displayName', withKey(true))],
      ['an object as key', 'sortBy=displayName', () => forge(endpoint, 'sortBy=displayName', withKey({ a: 1 }))],
      ['an array as key', 'sortBy=displayName', () => forge(endpoint, 'sortBy=displayName', withKey(['x']))],
      ['a NUL in the key', 'sortBy=displayName', () => forge(endpoint, 'sortBy=displayName', withKey('a\u0000b'))],
      ['a string as key for a dateTime', 'sortBy=meta.created', () => forge(endpoint, 'sortBy=meta.created', withKey('yesterday'))],
      ['a number as key for a dateTime', 'sortBy=meta.created', () => forge(endpoint, 'sortBy=meta.created', withKey(5))],
      ['a string as key for a boolean', 'sortBy=active', () => forge(endpoint, 'sortBy=active', withKey('x'))],
      ['a number as key for a boolean', 'sortBy=active', () => forge(endpoint, 'sortBy=active', withKey(1))],
      ['no key on a sorted query', 'sortBy=displayName', () => forge(endpoint, 'sortBy=displayName', (b) => b.slice(0, 3))],
      ['a negative seq', 'sortBy=displayName', () => forge(endpoint, 'sortBy=displayName', (b) => [b[0], b[1], -5, b[3]])],
      ['a fractional seq', '', () => forge(endpoint, '', (b) => [b[0], b[1], 1.5])],
      ['a seq beyond 2^53', '', () => forge(endpoint, '', (b) => [b[0], b[1], 2 ** 60])],
      ['a string seq', '', () => forge(endpoint, '', (b) => [b[0], b[1], '1'])],
      ['another version', '', () => forge(endpoint, '', (b) => [99, b[1], b[2]])],
      ['a sorted cursor on an unsorted query', '', () => forge(endpoint, 'sortBy=displayName', (b) => b)],
      ['an unsorted cursor on a sorted query', 'sortBy=displayName', () => forge(endpoint, '', (b) => b)],
      ['a cursor of another sort order', 'sortBy=displayName&sortOrder=descending', () => forge(endpoint, 'sortBy=displayName', (b) => b)],
      ['a cursor of another resource type', '', () => forge(endpoint === '/Users' ? '/Agents' : '/Users', '', (b) => b)],
      ['bad base64', '', () => '!!!not-base64***'],
      ['not JSON', '', () => b64('{oops')],
      ['a JSON object', '', () => b64('{"seq":1}')],
      ['JSON null', '', () => b64('null')],
      ['an empty array', '', () => b64('[]')],
      ['the old format', '', () => b64('[1]')],
      ['whitespace', '', () => '   '],
      ['a long cursor of garbage', '', () => 'A'.repeat(6_000)],
    ];
    it('answers 400 invalidCursor for every cursor it did not issue', async () => {
      for (const endpoint of ['/Users', '/Agents']) {
        for (const [what, query, make] of cases(endpoint)) {
          const cursor = await make();
          const sep = query ? `${query}&` : '';
          const res = await t.http.get(`${endpoint}?${sep}cursor=${q(cursor)}&count=1`);
          expect(res.status, `${what} on ${endpoint}: ${JSON.stringify(res.body)}`).toBe(400);
          expect(res.body, what).toEqual(scimError(400, 'invalidCursor'));
        }
      }
    });

    it('a cursor issued for one sort order is refused for another attribute of a different type', async () => {
      const first = await t.http.get(`/Users?sortBy=meta.version&cursor=&count=1`);
      expect(first.status).toBe(200);
      const next = first.body.nextCursor as string;
      expect(typeof next).toBe('string');
      const res = await t.http.get(`/Users?sortBy=userName&cursor=${q(next)}&count=1`);
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body).toEqual(scimError(400, 'invalidCursor'));
    });

    it('issued cursors still page through every resource, sorted and unsorted', async () => {
      for (const query of ['', 'sortBy=userName&', 'sortBy=meta.created&sortOrder=descending&', 'sortBy=active&', 'sortBy=emails&']) {
        const seen: string[] = [];
        let cursor = '';
        for (let i = 0; i < 10; i++) {
          const res = await t.http.get(`/Users?${query}cursor=${q(cursor)}&count=1`);
          expect(res.status, JSON.stringify(res.body)).toBe(200);
          seen.push(...(res.body.Resources as Json[]).map((r) => r.id as string));
          if (!res.body.nextCursor) break;
          cursor = res.body.nextCursor as string;
        }
        const all = await t.http.get('/Users?count=100');
        expect(seen.sort(), query).toEqual((all.body.Resources as Json[]).map((r) => r.id as string).sort());
      }
    });
  });

  describe.skipIf(skip)('people references', () => {
    const cases = (): [string, Json, Json][] => [
      ['owners [{value: ""}]', { owners: [{ value: '' }] }, {}],
      ['owners [{value: "   "}]', { owners: [{ value: '   ' }] }, {}],
      ['owners [{value: " <sponsor> "}]', { owners: [{ value: ` ${sponsor} ` }] }, {}],
      ['owners [{}]', { owners: [{ type: 'user' }] }, {}],
      ['owners [{value: 5}]', { owners: [{ value: 5 }] }, {}],
      ['owners [""]', { owners: [''] }, {}],
      ['coSponsors [{value: ""}]', {}, { coSponsors: [{ value: '' }] }],
      ['coSponsors [{value: "  "}]', {}, { coSponsors: [{ value: '  ' }] }],
      ['coSponsors [{value: true}]', {}, { coSponsors: [{ value: true }] }],
      ['coSponsors [{type: "group"}]', {}, { coSponsors: [{ type: 'group' }] }],
      ['ownerTeam {value: ""}', {}, { ownerTeam: { value: '' } }],
      ['ownerTeam {value: " "}', {}, { ownerTeam: { value: ' ' } }],
      ['ownerTeam {value: 1}', {}, { ownerTeam: { value: 1 } }],
      ['ownerTeam {}', {}, { ownerTeam: { display: 'x' } }],
      ['sponsor {value: ""}', {}, { sponsor: { value: '' } }],
      ['sponsor {value: "  "}', {}, { sponsor: { value: '  ' } }],
      ['sponsor {value: 7}', {}, { sponsor: { value: 7 } }],
    ];

    it('POST with an empty, blank or non-string person id is a 400, and nothing is written', async () => {
      let n = 0;
      for (const [what, extra, gov] of cases()) {
        const res = await t.http.post('/Agents', agentBody(`fuzz-post-${n++}`, sponsor, extra, gov));
        expect(res.status, `${what}: ${JSON.stringify(res.body)}`).toBe(400);
        expect(['invalidValue', 'invalidSyntax'], what).toContain(res.body.scimType);
        expect(res.body.schemas, what).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
      }
      const list = await t.http.get(`/Agents?filter=${q('agentUserName sw "fuzz-post-"')}`);
      expect(list.body.totalResults).toBe(0);
    });

    it('PUT with an empty, blank or non-string person id is a 400 and PATCH never a 5xx; a 4xx changes nothing', async () => {
      for (const [what, extra, gov] of cases()) {
        const before = await t.http.get(`/Agents/${agentId}`);
        const put = await t.http.put(`/Agents/${agentId}`, agentBody('bot-one', sponsor, extra, gov));
        expect(put.status, `PUT ${what}: ${JSON.stringify(put.body)}`).toBe(400);
        expect(['invalidValue', 'invalidSyntax'], what).toContain(put.body.scimType);
        expect((await t.http.get(`/Agents/${agentId}`)).body, `PUT ${what}`).toEqual(before.body);
        const ops = [
          ...Object.entries(extra).map(([path, value]) => ({ op: 'replace', path, value })),
          ...Object.entries(gov).map(([k, value]) => ({ op: 'replace', path: `${GOV_URN}:${k}`, value })),
        ];
        const patch = await t.http.patch(`/Agents/${agentId}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: ops });
        // PATCH may read an empty or partial value as "unassigned" (RFC 7644 §3.5.2); it never fails with a 5xx
        expect(patch.status, `PATCH ${what}: ${JSON.stringify(patch.body)}`).toBeLessThan(500);
        if (patch.status >= 400) {
          expect(patch.body.schemas, what).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
          expect((await t.http.get(`/Agents/${agentId}`)).body, `PATCH ${what}`).toEqual(before.body);
        }
      }
    });

    it('the finding: PATCH of an empty-string owners / coSponsors / ownerTeam value is a 400 invalidValue', async () => {
      const before = await t.http.get(`/Agents/${agentId}`);
      for (const [path, value] of [
        ['owners', [{ value: '' }]],
        ['owners', [{ value: ' ' }]],
        [`${GOV_URN}:coSponsors`, [{ value: '' }]],
        [`${GOV_URN}:ownerTeam`, { value: '' }],
        [`${GOV_URN}:ownerTeam.value`, ''],
      ] as const) {
        for (const op of ['replace', 'add']) {
          const res = await t.http.patch(`/Agents/${agentId}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op, path, value }] });
          expect(res.status, `${op} ${path}: ${JSON.stringify(res.body)}`).toBe(400);
          expect(res.body).toEqual(scimError(400, 'invalidValue'));
        }
      }
      expect((await t.http.get(`/Agents/${agentId}`)).body).toEqual(before.body);
    });

    it('a real group as ownerTeam and co-sponsor still works', async () => {
      const res = await t.http.post('/Agents', agentBody('bot-team', sponsor, {}, { ownerTeam: { value: group } }));
      expect(res.status, JSON.stringify(res.body)).toBe(201);
    });
  });
});
