// Issue 10, findings 3 and 4: text no store can hold (U+0000, lone UTF-16 surrogates) and deeply
// nested JSON are refused at the protocol edge with a 400, the same on SQLite and PostgreSQL
// (PostgreSQL used to answer 500; 2,000 nested levels used to overflow the stack), and nothing
// is stored.

import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkJson } from '../../../src/http/input-guard.js';
import { dropSchema, freshSchema, PG_URL, postgresAvailable } from '../../helpers/postgres.js';
import { createUser, type Json, userBody } from '../../helpers/resources.js';
import { allAudit, buildTestApp, PATCH_URN, SCIM, SCIM_CT, scimError, type TestApp, USER_URN } from '../../helpers/test-app.js';

const pgAvailable = await postgresAvailable();
const stores: { name: string; env: () => Record<string, string>; skip: boolean }[] = [
  { name: 'SQLite', env: () => ({}), skip: false },
  { name: 'PostgreSQL', env: () => ({ AGENTROSTER_DATABASE_URL: PG_URL, AGENTROSTER_DATABASE_SCHEMA: freshSchema() }), skip: !pgAvailable },
];

const SEARCH_URN = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';
const BULK_URN = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
const NUL = '\u0000';
const LONE_HIGH = '\ud800';
const LONE_LOW = '\udc00';

/** `{"a":{"a":…}}` n objects deep (JSON text, so it is sent exactly as written). */
const nestedObjects = (n: number, leaf = '1') => '{"a":'.repeat(n) + leaf + '}'.repeat(n);
const nestedArrays = (n: number) => '['.repeat(n) + ']'.repeat(n);

describe.each(stores)('input the stores cannot hold, on $name', ({ env, skip }) => {
  let t: TestApp;
  let schema: string | undefined;
  let userId: string;

  beforeAll(async () => {
    if (skip) return;
    const e = env();
    schema = e.AGENTROSTER_DATABASE_SCHEMA;
    t = await buildTestApp({ env: e });
    userId = (await createUser(t, 'keeper', { displayName: 'Keeper' })).id as string;
  }, 60_000);

  afterAll(async () => {
    if (skip) return;
    await t?.close();
    if (schema) await dropSchema(schema);
  });

  /** Sends raw JSON text (JSON.stringify would escape what we want to send verbatim). */
  const raw = (method: 'post' | 'put' | 'patch', path: string, text: string) =>
    supertest(t.origin)[method](SCIM + path).set('Authorization', `Bearer ${t.adminToken}`).set('Content-Type', 'application/scim+json').send(text);

  async function expectNothingStored(userName: string): Promise<void> {
    const prefix = userName.replace(/[\u0000\ud800-\udfff][^]*$/, ''); // up to the unstorable part
    const res = await t.http.get(`/Users?filter=${encodeURIComponent(`userName sw "${prefix}"`)}`);
    expect(res.status).toBe(200);
    expect(res.body.totalResults).toBe(0);
  }

  describe.skipIf(skip)('request bodies', () => {
    it.each([
      ['U+0000 in a value', userBody(`nul-user${NUL}x`), '$.userName', 'U+0000'],
      ['a lone high surrogate in a value', userBody('lone-high', { displayName: `a${LONE_HIGH}b` }), '$.displayName', 'surrogate'],
      ['a lone low surrogate in a value', userBody('lone-low', { displayName: `${LONE_LOW}` }), '$.displayName', 'surrogate'],
      ['U+0000 deep in a multi-valued attribute', userBody('nul-email', { emails: [{ value: 'ok@example.com' }, { value: `x${NUL}@example.com` }] }), '$.emails[1].value', 'U+0000'],
      ['U+0000 in an extension attribute', userBody('nul-ext', { 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': { department: `d${NUL}` } }), '$["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"].department', 'U+0000'],
      ['U+0000 in a member name', { ...userBody('nul-key'), [`nick${NUL}Name`]: 'x' }, 'a member name in $', 'U+0000'],
      ['a lone surrogate in a nested member name', userBody('lone-key', { name: { [`given${LONE_HIGH}`]: 'x' } }), 'a member name in $.name', 'surrogate'],
    ])('POST /Users with %s → 400 invalidValue naming where, not what; nothing is stored', async (_n, body, where, what) => {
      const auditBefore = (await allAudit(t)).length;
      const res = await t.http.post('/Users', body);
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.headers['content-type']).toMatch(SCIM_CT);
      expect(res.body).toEqual(scimError(400, 'invalidValue'));
      expect(res.body.detail).toContain(where);
      expect(res.body.detail).toContain(what);
      expect(res.body.detail).not.toMatch(/[\u0000\ud800-\udfff]/);
      await expectNothingStored((body as Json).userName as string);
      expect((await allAudit(t)).length).toBe(auditBefore);
    });

    it('the same text escaped as \\u0000 / \\ud800 in the JSON text is refused the same way', async () => {
      for (const text of [
        `{"schemas":["${USER_URN}"],"userName":"esc-nul\\u0000"}`,
        `{"schemas":["${USER_URN}"],"userName":"esc-lone","displayName":"\\ud800"}`,
        `{"schemas":["${USER_URN}"],"userName":"esc-key","\\udfffx":1}`,
      ]) {
        const res = await raw('post', '/Users', text);
        expect(res.status, text).toBe(400);
        expect(res.body.scimType).toBe('invalidValue');
      }
      await expectNothingStored('esc-');
    });

    it('a well-formed surrogate pair (an emoji) is stored and read back', async () => {
      const res = await t.http.post('/Users', userBody('emoji-user', { displayName: 'Robot \u{1F916}' }));
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect((await t.http.get(`/Users/${res.body.id as string}`)).body.displayName).toBe('Robot \u{1F916}');
    });

    it('PUT and PATCH with U+0000 → 400 invalidValue and the resource is unchanged', async () => {
      const before = await t.http.get(`/Users/${userId}`);
      const put = await t.http.put(`/Users/${userId}`, userBody('keeper', { displayName: `Kee${NUL}per` }));
      expect(put.status).toBe(400);
      expect(put.body).toEqual(scimError(400, 'invalidValue', /\$\.displayName/));
      const patch = await t.http.patch(`/Users/${userId}`, { schemas: [PATCH_URN], Operations: [{ op: 'replace', path: 'title', value: `t${LONE_HIGH}` }] });
      expect(patch.status).toBe(400);
      expect(patch.body).toEqual(scimError(400, 'invalidValue', /\$\.Operations\[0\]\.value/));
      const after = await t.http.get(`/Users/${userId}`);
      expect(after.body).toEqual(before.body);
      expect(after.headers.etag).toBe(before.headers.etag);
    });

    it('/Bulk with U+0000 in an operation → 400 invalidValue, nothing stored', async () => {
      const res = await t.http.post('/Bulk', {
        schemas: [BULK_URN],
        Operations: [{ method: 'POST', path: '/Users', bulkId: 'u1', data: userBody(`bulk-nul${NUL}`) }],
      });
      expect(res.status).toBe(400);
      expect(res.body).toEqual(scimError(400, 'invalidValue', /\$\.Operations\[0\]\.data\.userName/));
      await expectNothingStored('bulk-nul');
    });
  });

  describe.skipIf(skip)('filters and other query parameters', () => {
    it.each([
      ['U+0000 in the URL', `userName eq "a${NUL}b"`],
      ['\\u0000 escaped in the filter string', 'userName eq "a\\u0000b"'],
      ['a lone surrogate escaped in the filter string', 'displayName eq "\\ud800"'],
      ['a lone low surrogate escaped in the filter string', 'displayName co "x\\udc00"'],
    ])('GET /Users?filter= with %s → 400 invalidFilter', async (_n, filter) => {
      const res = await t.http.get(`/Users?filter=${encodeURIComponent(filter)}`);
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body).toEqual(scimError(400, 'invalidFilter'));
      expect(res.body.detail).not.toMatch(/[\u0000\ud800-\udfff]/);
    });

    it('an escaped surrogate pair in a filter string is a character like any other', async () => {
      const res = await t.http.get(`/Users?filter=${encodeURIComponent('displayName eq "Robot \\ud83e\\udd16"')}`);
      expect(res.status, JSON.stringify(res.body)).toBe(200);
    });

    it.each([
      ['U+0000', `userName eq "a${NUL}"`],
      ['a lone surrogate', `displayName eq "${LONE_HIGH}"`],
    ])('POST /.search with %s in the filter → 400 invalidFilter (also at the root)', async (_n, filter) => {
      for (const path of ['/Users/.search', '/.search']) {
        const res = await t.http.post(path, { schemas: [SEARCH_URN], filter });
        expect(res.status, `${path} ${JSON.stringify(res.body)}`).toBe(400);
        expect(res.body).toEqual(scimError(400, 'invalidFilter'));
      }
    });

    it.each([
      ['sortBy', `sortBy=userName${encodeURIComponent(NUL)}`],
      ['attributes', `attributes=${encodeURIComponent(`userName${NUL}`)}`],
      ['excludedAttributes', `excludedAttributes=${encodeURIComponent(NUL)}`],
      ['cursor', `cursor=${encodeURIComponent(`abc${NUL}`)}`],
    ])('U+0000 in %s → 400 invalidValue', async (name, query) => {
      const res = await t.http.get(`/Users?${query}`);
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body).toEqual(scimError(400, 'invalidValue', new RegExp(`"${name}"`)));
    });

    it('a PATCH path whose value filter escapes U+0000 → 400 invalidPath, resource unchanged', async () => {
      const before = await t.http.get(`/Users/${userId}`);
      const res = await t.http.patch(`/Users/${userId}`, {
        schemas: [PATCH_URN],
        Operations: [{ op: 'replace', path: 'emails[value eq "x\\u0000"].type', value: 'work' }],
      });
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body).toEqual(scimError(400, 'invalidPath', /U\+0000/));
      expect((await t.http.get(`/Users/${userId}`)).headers.etag).toBe(before.headers.etag);
    });

    it('U+0000 in a path segment (GET /Users/%00) → 400, not 500', async () => {
      for (const path of ['/Users/%00', `/Users/${userId}%00`]) {
        const res = await t.http.get(path);
        expect(res.status, JSON.stringify(res.body)).toBe(400);
        expect(res.body).toEqual(scimError(400, 'invalidValue'));
      }
    });
  });

  describe.skipIf(skip)('nesting depth', () => {
    const DEEP = 2000;
    it.each([
      ['POST /Users', 'post', '/Users', `{"schemas":["${USER_URN}"],"userName":"deep","x":${nestedObjects(DEEP)}}`],
      ['POST /Users (arrays)', 'post', '/Users', `{"schemas":["${USER_URN}"],"userName":"deep","x":${nestedArrays(DEEP)}}`],
      ['PATCH /Users/{id}', 'patch', 'USER', `{"schemas":["${PATCH_URN}"],"Operations":[{"op":"add","path":"title","value":${nestedObjects(DEEP)}}]}`],
      ['PUT /Users/{id}', 'put', 'USER', `{"schemas":["${USER_URN}"],"userName":"keeper","x":${nestedArrays(DEEP)}}`],
      ['POST /Bulk', 'post', '/Bulk', `{"schemas":["${BULK_URN}"],"Operations":[{"method":"POST","path":"/Users","bulkId":"d","data":${nestedObjects(DEEP)}}]}`],
      ['POST /Users/.search', 'post', '/Users/.search', `{"schemas":["${SEARCH_URN}"],"filter":${nestedArrays(DEEP)}}`],
      ['POST /.search', 'post', '/.search', `{"schemas":["${SEARCH_URN}"],"attributes":${nestedArrays(DEEP)}}`],
    ] as const)('%s with 2,000 nested levels (4 KB) → 400 "nested deeper than 64 levels", not 500', async (_n, method, path, text) => {
      const before = await t.http.get(`/Users/${userId}`);
      const res = await raw(method, path === 'USER' ? `/Users/${userId}` : path, text);
      expect(res.status, JSON.stringify(res.body)).toBe(400);
      expect(res.body).toEqual(scimError(400, 'invalidSyntax', 'JSON nested deeper than 64 levels'));
      expect((await t.http.get(`/Users/${userId}`)).body).toEqual(before.body);
      await expectNothingStored('deep');
    });

    it('64 levels are within the limit: the request is judged on its content instead', async () => {
      // schemas + userName at level 1, so the unknown attribute x adds 63 levels: 64 in all
      const res = await raw('post', '/Users', `{"schemas":["${USER_URN}"],"userName":"deep-ok","x":${nestedObjects(63)}}`);
      expect(res.status).toBe(400);
      expect(res.body.detail).not.toContain('nested deeper');
      const over = await raw('post', '/Users', `{"schemas":["${USER_URN}"],"userName":"deep-ok","x":${nestedObjects(64)}}`);
      expect(over.body.detail).toBe('JSON nested deeper than 64 levels');
    });
  });
});

describe('the edge check itself', () => {
  it('walks any parsed value without recursion: 200,000 levels do not overflow it', () => {
    const deep = JSON.parse(nestedArrays(200_000)) as unknown;
    expect(checkJson(deep, 64)).toEqual({ kind: 'depth', maxDepth: 64 });
    expect(checkJson(deep, 1_000_000)).toBeUndefined();
  });
});

describe('the depth limit is configurable', () => {
  it('AGENTROSTER_MAX_JSON_DEPTH=8 refuses 9 levels', async () => {
    const t = await buildTestApp({ env: { AGENTROSTER_MAX_JSON_DEPTH: '8' } });
    try {
      const res = await t.http.post('/Users', { ...userBody('cfg-deep'), x: JSON.parse(nestedObjects(8)) as unknown });
      expect(res.status).toBe(400);
      expect(res.body).toEqual(scimError(400, 'invalidSyntax', 'JSON nested deeper than 8 levels'));
    } finally {
      await t.close();
    }
  });
});
