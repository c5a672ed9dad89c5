// RFC 7644 §3.7 /Bulk, the rules bulk.test.ts leaves out: circular bulkId references (§3.7.1:
// detected, an error per operation, nothing of the cycle written), references to a POST that failed
// (that operation fails naming the bulkId, the others run), the two size limits (§3.7.4: 413 naming
// the limit, nothing written) and how failOnErrors counts (§3.7.3).

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { allAudit, buildTestApp, captureState, expectUnchanged, GROUP_URN, PATCH_URN, SCIM_CT, scimError, type TestApp, USER_URN } from '../../helpers/test-app.js';
import { createUser, type Json } from '../../helpers/resources.js';

const BULK_REQ = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
const MAX_OPS = 5;
const MAX_BYTES = 4096;

const bulk = (Operations: unknown[], extra: Json = {}) => ({ schemas: [BULK_REQ], Operations, ...extra });
const idOf = (location: unknown) => String(location).slice(String(location).lastIndexOf('/') + 1);
const postUser = (bulkId: string, userName: string) => ({ method: 'POST', path: '/Users', bulkId, data: { schemas: [USER_URN], userName } });
const postGroup = (bulkId: string, displayName: string, memberRefs: string[] = []) => ({
  method: 'POST',
  path: '/Groups',
  bulkId,
  data: { schemas: [GROUP_URN], displayName, ...(memberRefs.length ? { members: memberRefs.map((value) => ({ value })) } : {}) },
});
const patchTitle = (path: string, title: string) => ({ method: 'PATCH', path, data: { schemas: [PATCH_URN], Operations: [{ op: 'add', path: 'title', value: title }] } });

let t: TestApp;
beforeEach(async () => {
  t = await buildTestApp({ env: { AGENTROSTER_BULK_MAX_OPERATIONS: String(MAX_OPS), AGENTROSTER_MAX_BODY_BYTES: String(MAX_BYTES) } });
});
afterEach(() => t.close());

async function names(endpoint: '/Users' | '/Groups'): Promise<string[]> {
  const attr = endpoint === '/Users' ? 'userName' : 'displayName';
  const res = await t.http.get(`${endpoint}?attributes=${attr}`);
  return ((res.body.Resources ?? []) as Json[]).map((r) => String(r[attr])).sort();
}

/** [action, resourceType] of every audit event written since `from` */
async function auditSince(from: number): Promise<string[][]> {
  return (await allAudit(t)).slice(from).map((e) => [e.action, e.resourceType]);
}

describe('circular bulkId references (RFC 7644 §3.7.1)', () => {
  it.each([
    ['a group that is its own member', [postGroup('g', 'Self', ['bulkId:g'])], ['g']],
    ['two groups that are members of each other', [postGroup('a', 'A', ['bulkId:b']), postGroup('b', 'B', ['bulkId:a'])], ['a', 'b']],
    [
      'a three-cycle, and an operation waiting on it',
      [postGroup('a', 'A', ['bulkId:b']), postGroup('b', 'B', ['bulkId:c']), postGroup('c', 'C', ['bulkId:a']), { ...patchTitle('/Groups/bulkId:a', 'x'), bulkId: 'p' }],
      ['a', 'b', 'c', 'p'],
    ],
  ])('%s: every operation of the cycle gets a 409 invalidValue; the unrelated one runs; nothing of the cycle is written', async (_name, cycle, bulkIds) => {
    const auditBefore = (await allAudit(t)).length;
    const res = await t.http.post('/Bulk', bulk([...cycle, postUser('free', 'free-user')]));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const ops = res.body.Operations as Json[];
    expect(ops).toHaveLength(cycle.length + 1);
    // results keep the request's order
    expect(ops.map((o) => o.bulkId)).toEqual([...bulkIds, 'free']);
    for (const o of ops.slice(0, cycle.length)) {
      expect(o.status).toBe('409');
      expect(o.response).toEqual(scimError(409, 'invalidValue', /cycle|circular/i));
      expect(o.location).toBeUndefined();
    }
    expect(ops[cycle.length]).toMatchObject({ method: 'POST', bulkId: 'free', status: '201' });
    expect(await names('/Groups')).toEqual([]);
    expect(await names('/Users')).toEqual(['free-user']);
    expect(await auditSince(auditBefore)).toEqual([['create', 'User']]);
  });

  it('a chain that only looks circular (forward references, no cycle) is resolved', async () => {
    const res = await t.http.post('/Bulk', bulk([postGroup('outer', 'Outer', ['bulkId:inner']), postGroup('inner', 'Inner', ['bulkId:u']), postUser('u', 'chained')]));
    const ops = res.body.Operations as Json[];
    expect(ops.map((o) => [o.bulkId, o.status])).toEqual([
      ['outer', '201'],
      ['inner', '201'],
      ['u', '201'],
    ]);
    const inner = idOf(ops[1]!.location);
    expect(((await t.http.get(`/Groups/${idOf(ops[0]!.location)}`)).body.members as Json[]).map((m) => m.value)).toEqual([inner]);
  });
});

describe('references to a POST that failed', () => {
  it('each operation referring to the failed bulkId fails naming it; operations that do not refer to it run', async () => {
    await createUser(t, 'taken');
    const auditBefore = (await allAudit(t)).length;
    const res = await t.http.post(
      '/Bulk',
      bulk([
        postUser('dup', 'taken'),
        patchTitle('/Users/bulkId:dup', 'never'),
        postGroup('g', 'With the failed user', ['bulkId:dup', 'bulkId:ok']),
        postUser('ok', 'ok-user'),
        postGroup('g2', 'Only the good user', ['bulkId:ok']),
      ]),
    );
    expect(res.status).toBe(200);
    const ops = res.body.Operations as Json[];
    expect(ops.map((o) => [o.method, o.bulkId, o.status])).toEqual([
      ['POST', 'dup', '409'],
      ['PATCH', undefined, '409'],
      ['POST', 'g', '409'],
      ['POST', 'ok', '201'],
      ['POST', 'g2', '201'],
    ]);
    expect(ops[0]!.response).toEqual(scimError(409, 'uniqueness'));
    for (const o of [ops[1]!, ops[2]!]) {
      // a clear error: the bulkId and that its operation failed, not "a cycle"
      expect(o.response).toEqual(scimError(409, 'invalidValue', /"dup".*failed/));
      expect(o.location).toBeUndefined();
    }
    const ok = idOf(ops[3]!.location);
    expect(((await t.http.get(`/Groups/${idOf(ops[4]!.location)}`)).body.members as Json[]).map((m) => m.value)).toEqual([ok]);
    expect(await names('/Groups')).toEqual(['Only the good user']);
    expect(await names('/Users')).toEqual(['ok-user', 'taken']);
    expect((await t.http.get('/Users?filter=userName eq "taken"')).body.Resources[0].title).toBeUndefined();
    expect(await auditSince(auditBefore)).toEqual([
      ['create', 'User'],
      ['create', 'Group'],
    ]);
  });

  it('the failure propagates: an operation referring to one that failed for its reference fails too', async () => {
    const res = await t.http.post(
      '/Bulk',
      bulk([
        // a forward reference to the failing POST (the order must not matter)
        postGroup('outer', 'Outer', ['bulkId:inner']),
        postGroup('inner', 'Inner', ['bulkId:bad']),
        { method: 'POST', path: '/Users', bulkId: 'bad', data: { schemas: [USER_URN] } }, // no userName: 400
      ]),
    );
    const ops = res.body.Operations as Json[];
    expect(ops.map((o) => [o.bulkId, o.status])).toEqual([
      ['outer', '409'],
      ['inner', '409'],
      ['bad', '400'],
    ]);
    expect(ops[0]!.response).toEqual(scimError(409, 'invalidValue', /"inner".*failed/));
    expect(ops[1]!.response).toEqual(scimError(409, 'invalidValue', /"bad".*failed/));
    expect(await names('/Groups')).toEqual([]);
  });

  it('a reference to a bulkId that no operation defines is told apart from one that failed', async () => {
    const res = await t.http.post('/Bulk', bulk([patchTitle('/Users/bulkId:ghost', 'x')]));
    expect((res.body.Operations as Json[])[0]).toEqual({ method: 'PATCH', status: '409', response: scimError(409, 'invalidValue', /"ghost" is not defined/) });
  });
});

describe('failOnErrors (RFC 7644 §3.7.3)', () => {
  it.each([
    // failOnErrors, statuses returned: the run stops once that many operations have failed
    [1, ['409']],
    [2, ['409', '201', '409']],
    [3, ['409', '201', '409', '201']],
    [undefined, ['409', '201', '409', '201']],
  ])('failOnErrors %s over [unknown ref, ok, duplicate, ok] → %j, and nothing after the stop is written', async (failOnErrors, statuses) => {
    await createUser(t, 'taken');
    const res = await t.http.post(
      '/Bulk',
      bulk([patchTitle('/Users/bulkId:nowhere', 'x'), postUser('a', 'first'), postUser('b', 'taken'), postUser('c', 'last')], failOnErrors === undefined ? {} : { failOnErrors }),
    );
    expect(res.status).toBe(200);
    expect((res.body.Operations as Json[]).map((o) => o.status)).toEqual(statuses);
    const expected = ['taken', ...(statuses.length >= 2 ? ['first'] : []), ...(statuses.length >= 4 ? ['last'] : [])].sort();
    expect(await names('/Users')).toEqual(expected);
  });

  it('operations that fail together at the end (a cycle) count one by one: no more errors than failOnErrors are reported', async () => {
    const res = await t.http.post('/Bulk', bulk([postUser('u', 'before-cycle'), postGroup('a', 'A', ['bulkId:b']), postGroup('b', 'B', ['bulkId:a'])], { failOnErrors: 1 }));
    expect(res.status).toBe(200);
    const ops = res.body.Operations as Json[];
    expect(ops.map((o) => [o.bulkId, o.status])).toEqual([
      ['u', '201'],
      ['a', '409'],
    ]);
    expect(await names('/Groups')).toEqual([]);
  });

  it('a failed reference counts as an error: failOnErrors 2 stops after the failed POST and the operation referring to it', async () => {
    await createUser(t, 'taken');
    const res = await t.http.post('/Bulk', bulk([postUser('dup', 'taken'), patchTitle('/Users/bulkId:dup', 'x'), postUser('after', 'after')], { failOnErrors: 2 }));
    expect((res.body.Operations as Json[]).map((o) => o.status)).toEqual(['409', '409']);
    expect(await names('/Users')).toEqual(['taken']);
  });
});

describe('size limits (RFC 7644 §3.7.4): 413 naming the limit, nothing written', () => {
  it('ServiceProviderConfig advertises both limits', async () => {
    const res = await t.http.get('/ServiceProviderConfig');
    expect(res.body.bulk).toEqual({ supported: true, maxOperations: MAX_OPS, maxPayloadSize: MAX_BYTES });
  });

  it.each([
    ['exactly maxOperations', MAX_OPS, 200],
    ['one over maxOperations', MAX_OPS + 1, 413],
  ])('%s (%i operations) → %i', async (_name, n, status) => {
    const before = await captureState(t);
    const res = await t.http.post('/Bulk', bulk(Array.from({ length: n }, (_, i) => postUser(`u${i}`, `n${i}`))));
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(SCIM_CT);
    if (status === 413) {
      // RFC 7644 §3.7.4: "The returned response MUST specify the limit exceeded in the body"
      expect(res.body).toEqual(scimError(413, undefined, new RegExp(`\\b${MAX_OPS}\\b`)));
      await expectUnchanged(t, before);
      expect(await names('/Users')).toEqual([]);
    } else {
      expect((res.body.Operations as Json[]).map((o) => o.status)).toEqual(Array(n).fill('201'));
    }
  });

  it.each([
    ['just under maxPayloadSize', MAX_BYTES - 1, 200],
    ['exactly maxPayloadSize', MAX_BYTES, 200],
    ['one byte over maxPayloadSize', MAX_BYTES + 1, 413],
    ['far over maxPayloadSize', MAX_BYTES * 8, 413],
  ])('a body %s (%i bytes) → %i', async (_name, size, status) => {
    const before = await captureState(t);
    const op = postUser('big', 'big-user');
    const envelope = bulk([{ ...op, data: { ...op.data, title: '' } }]);
    const pad = size - JSON.stringify(envelope).length;
    expect(pad).toBeGreaterThanOrEqual(0);
    const body = bulk([{ ...op, data: { ...op.data, title: 'x'.repeat(pad) } }]);
    expect(Buffer.byteLength(JSON.stringify(body))).toBe(size);
    const res = await t.http.post('/Bulk', body);
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(SCIM_CT);
    if (status === 413) {
      expect(res.body).toEqual(scimError(413, undefined, new RegExp(`\\b${MAX_BYTES}\\b`)));
      await expectUnchanged(t, before);
      expect(await names('/Users')).toEqual([]);
    } else {
      expect((res.body.Operations as Json[]).map((o) => o.status)).toEqual(['201']);
    }
  });
});
