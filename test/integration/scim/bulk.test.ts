// RFC 7644 §3.7 /Bulk: bulkId references in paths and data (also forward), failOnErrors, limits and
// envelope errors. Operations go through the same service as single requests.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  allAudit,
  buildTestApp,
  captureState,
  expectUnchanged,
  GROUP_URN,
  PATCH_URN,
  SCIM_CT,
  scimError,
  type TestApp,
  USER_URN,
} from '../../helpers/test-app.js';
import { agentBody, createUser, type Json } from '../../helpers/resources.js';

const BULK_REQ = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
const BULK_RES = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse';
const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';

const bulk = (Operations: unknown[], extra: Json = {}) => ({ schemas: [BULK_REQ], Operations, ...extra });
const idOf = (location: unknown) => String(location).slice(String(location).lastIndexOf('/') + 1);

describe('/Bulk', () => {
  let t: TestApp;
  let users: string;
  beforeEach(async () => {
    t = await buildTestApp({ env: { AGENTROSTER_BULK_MAX_OPERATIONS: '6' } });
    users = `${t.origin}/scim/v2/Users/`;
  });
  afterEach(() => t.close());

  it('creates users and a group whose members reference them by bulkId, and patches one by bulkId path', async () => {
    const res = await t.http
      .post(
        '/Bulk',
        bulk([
          { method: 'POST', path: '/Users', bulkId: 'u1', data: { schemas: [USER_URN], userName: 'bulk-alice' } },
          { method: 'POST', path: '/Users', bulkId: 'u2', data: { schemas: [USER_URN], userName: 'bulk-bob' } },
          { method: 'POST', path: '/Groups', bulkId: 'g', data: { schemas: [GROUP_URN], displayName: 'Bulk Group', members: [{ value: 'bulkId:u1' }, { value: 'bulkId:u2' }] } },
          { method: 'PATCH', path: '/Users/bulkId:u1', data: { schemas: [PATCH_URN], Operations: [{ op: 'add', path: 'title', value: 'Lead' }] } },
          { method: 'PUT', path: '/Users/bulkId:u2', data: { schemas: [USER_URN], userName: 'bulk-bob', displayName: 'Bob' } },
        ]),
      )
      .set('X-Request-Id', 'bulk-req-1');
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.headers['content-type']).toMatch(SCIM_CT);
    const ops = res.body.Operations as Json[];
    const [u1, u2, g] = [idOf(ops[0]!.location), idOf(ops[1]!.location), idOf(ops[2]!.location)];
    expect(res.body).toEqual({
      schemas: [BULK_RES],
      Operations: [
        { method: 'POST', bulkId: 'u1', location: `${users}${u1}`, version: 'W/"1"', status: '201' },
        { method: 'POST', bulkId: 'u2', location: `${users}${u2}`, version: 'W/"1"', status: '201' },
        { method: 'POST', bulkId: 'g', location: `${t.origin}/scim/v2/Groups/${g}`, version: 'W/"1"', status: '201' },
        { method: 'PATCH', location: `${users}${u1}`, version: 'W/"2"', status: '200' },
        { method: 'PUT', location: `${users}${u2}`, version: 'W/"2"', status: '200' },
      ],
    });
    const group = await t.http.get(`/Groups/${g}`);
    expect(group.body.members).toEqual([
      { value: u1, type: 'User', display: 'bulk-alice', $ref: `${users}${u1}` },
      { value: u2, type: 'User', display: 'bulk-bob', $ref: `${users}${u2}` },
    ]);
    expect((await t.http.get(`/Users/${u1}`)).body).toMatchObject({ userName: 'bulk-alice', title: 'Lead', groups: [{ value: g }] });
    expect((await t.http.get(`/Users/${u2}`)).body).toMatchObject({ userName: 'bulk-bob', displayName: 'Bob' });
    // the resources' events (the signing key's and the test token's come first)
    const audit = (await allAudit(t)).filter((e) => e.resourceType !== 'SigningKey' && e.resourceType !== 'Token');
    expect(audit.map((e) => [e.action, e.resourceId, e.requestId])).toEqual([
      ['create', u1, 'bulk-req-1'],
      ['create', u2, 'bulk-req-1'],
      ['create', g, 'bulk-req-1'],
      ['patch', u1, 'bulk-req-1'],
      ['replace', u2, 'bulk-req-1'],
    ]);
  });

  it('a forward reference waits for the operation that creates its target', async () => {
    const sponsor = (await createUser(t, 'sponsor')).id as string;
    const res = await t.http.post(
      '/Bulk',
      bulk([
        { method: 'POST', path: '/Groups', bulkId: 'g', data: { schemas: [GROUP_URN], displayName: 'Forward', members: [{ value: 'bulkId:a' }] } },
        { method: 'PATCH', path: '/Agents/bulkId:a', data: { schemas: [PATCH_URN], Operations: [{ op: 'add', path: 'description', value: 'late' }] } },
        { method: 'POST', path: '/Agents', bulkId: 'a', data: agentBody('forward-agent', sponsor) },
      ]),
    );
    expect(res.status).toBe(200);
    const ops = res.body.Operations as Json[];
    expect(ops.map((o) => [o.method, o.bulkId, o.status])).toEqual([
      ['POST', 'g', '201'],
      ['PATCH', undefined, '200'],
      ['POST', 'a', '201'],
    ]);
    const agentId = idOf(ops[2]!.location);
    expect((await t.http.get(`/Groups/${idOf(ops[0]!.location)}`)).body.members).toEqual([
      { value: agentId, type: 'Agent', display: 'forward-agent', $ref: `${t.origin}/scim/v2/Agents/${agentId}` },
    ]);
    expect((await t.http.get(`/Agents/${agentId}`)).body.description).toBe('late');
  });

  it('an unknown bulkId → an error entry for that operation; the others run', async () => {
    const res = await t.http.post(
      '/Bulk',
      bulk([
        { method: 'POST', path: '/Groups', bulkId: 'g', data: { schemas: [GROUP_URN], displayName: 'Ghost', members: [{ value: 'bulkId:nobody' }] } },
        { method: 'POST', path: '/Users', bulkId: 'ok', data: { schemas: [USER_URN], userName: 'fine' } },
      ]),
    );
    expect(res.status).toBe(200);
    const ops = res.body.Operations as Json[];
    expect(ops[0]).toEqual({ method: 'POST', bulkId: 'g', status: '409', response: { schemas: [ERROR], status: '409', scimType: 'invalidValue', detail: expect.stringContaining('nobody') } });
    expect(ops[1]).toMatchObject({ method: 'POST', bulkId: 'ok', status: '201' });
    expect((await t.http.get('/Groups')).body.totalResults).toBe(0);
  });

  it('failed operations carry their SCIM error; failOnErrors stops after that many errors', async () => {
    await createUser(t, 'taken');
    const ops = [
      { method: 'POST', path: '/Users', bulkId: 'a', data: { schemas: [USER_URN], userName: 'taken' } },
      { method: 'POST', path: '/Users', bulkId: 'b', data: { schemas: [USER_URN], userName: 'b-user' } },
      { method: 'PATCH', path: '/Users/no-such-id', data: { schemas: [PATCH_URN], Operations: [{ op: 'add', path: 'title', value: 'x' }] } },
      { method: 'POST', path: '/Users', bulkId: 'c', data: { schemas: [USER_URN], userName: 'c-user' } },
    ];
    const all = await t.http.post('/Bulk', bulk(ops));
    expect(all.status).toBe(200);
    expect((all.body.Operations as Json[]).map((o) => o.status)).toEqual(['409', '201', '404', '201']);
    expect((all.body.Operations as Json[])[0]!.response).toEqual(scimError(409, 'uniqueness'));

    const fresh = await buildTestApp();
    try {
      await createUser(fresh, 'taken');
      const one = await fresh.http.post('/Bulk', bulk(ops, { failOnErrors: 1 }));
      expect((one.body.Operations as Json[]).map((o) => o.status)).toEqual(['409']);
      const two = await fresh.http.post('/Bulk', bulk(ops.map((o) => ({ ...o, bulkId: o.bulkId && `${o.bulkId}2` })).map((o, i) => (i === 1 ? { ...o, data: { schemas: [USER_URN], userName: 'b2-user' } } : o)), { failOnErrors: 2 }));
      expect((two.body.Operations as Json[]).map((o) => o.status)).toEqual(['409', '201', '404']);
      const names = ((await fresh.http.get('/Users?attributes=userName')).body.Resources as Json[]).map((r) => r.userName);
      expect(names).toEqual(['taken', 'b2-user']);
    } finally {
      await fresh.close();
    }
  });

  it('version in an operation is an If-Match: stale → 412 entry; DELETE by id works', async () => {
    const u = await createUser(t, 'versioned');
    const path = `/Users/${u.id as string}`;
    const res = await t.http.post(
      '/Bulk',
      bulk([
        { method: 'PATCH', path, version: 'W/"9"', data: { schemas: [PATCH_URN], Operations: [{ op: 'add', path: 'title', value: 'x' }] } },
        { method: 'DELETE', path, version: 'W/"1"' },
      ]),
    );
    expect(res.body.Operations).toEqual([
      { method: 'PATCH', status: '412', response: scimError(412) },
      { method: 'DELETE', location: `${users}${u.id as string}`, status: '204' },
    ]);
    expect((await t.http.get(path)).status).toBe(404);
  });

  it('more operations than bulk.maxOperations → 413, nothing runs', async () => {
    const before = await captureState(t);
    const ops = Array.from({ length: 7 }, (_, i) => ({ method: 'POST', path: '/Users', bulkId: `u${i}`, data: { schemas: [USER_URN], userName: `u${i}` } }));
    const res = await t.http.post('/Bulk', bulk(ops));
    expect(res.status).toBe(413);
    expect(res.headers['content-type']).toMatch(SCIM_CT);
    expect(res.body).toEqual(scimError(413, undefined, /6/));
    await expectUnchanged(t, before);
    expect((await t.http.get('/Users')).body.totalResults).toBe(0);
  });

  it.each([
    ['no schemas', { Operations: [] }],
    ['wrong schemas', { schemas: ['urn:x'], Operations: [] }],
    ['Operations not an array', { schemas: [BULK_REQ], Operations: {} }],
    ['an array body', [{ method: 'POST' }]],
    ['unknown method', bulk([{ method: 'GET', path: '/Users' }])],
    ['path missing', bulk([{ method: 'DELETE' }])],
    ['POST without bulkId', bulk([{ method: 'POST', path: '/Users', data: { schemas: [USER_URN], userName: 'x' } }])],
    ['duplicate bulkId', bulk([{ method: 'POST', path: '/Users', bulkId: 'x', data: {} }, { method: 'POST', path: '/Users', bulkId: 'x', data: {} }])],
    ['failOnErrors 0', bulk([], { failOnErrors: 0 })],
    ['failOnErrors not a number', bulk([], { failOnErrors: '1' })],
    ['a version that is not an ETag string (a conditional DELETE must not run unconditionally)', bulk([{ method: 'DELETE', path: '/Users/{{user}}', version: 1 }])],
  ])('bad envelope (%s) → 400 invalidSyntax, nothing runs', async (_name, body) => {
    const user = (await createUser(t, 'bystander')).id as string;
    const before = await captureState(t, `/Users/${user}`);
    const res = await t.http.post('/Bulk', JSON.parse(JSON.stringify(body).replaceAll('{{user}}', user)));
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(SCIM_CT);
    expect(res.body).toEqual(scimError(400, 'invalidSyntax'));
    await expectUnchanged(t, before);
  });

  it('operations need the scim.write scope: a scim.read token gets 403 entries and nothing changes', async () => {
    const reader = await t.tokenWith(['scim.read']);
    const before = await captureState(t);
    const res = await t.http.post('/Bulk', bulk([{ method: 'POST', path: '/Users', bulkId: 'u', data: { schemas: [USER_URN], userName: 'nope' } }]), reader);
    expect(res.status).toBe(200);
    expect(res.body.Operations).toEqual([{ method: 'POST', bulkId: 'u', status: '403', response: scimError(403) }]);
    await expectUnchanged(t, before);
  });
});
