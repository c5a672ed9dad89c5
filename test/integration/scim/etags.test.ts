// RFC 7644 §3.14 versioning: meta.version as a weak ETag, If-Match → 412 on a stale version,
// If-None-Match → 304.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { allAudit, buildTestApp, captureState, expectUnchanged, patchBody, SCIM_CT, scimError, type TestApp, USER_URN } from '../../helpers/test-app.js';
import { createUser, type Json } from '../../helpers/resources.js';

describe('ETags', () => {
  let t: TestApp;
  let id: string;
  let path: string;
  beforeEach(async () => {
    t = await buildTestApp();
    id = (await createUser(t, 'etag-user', { title: 'v1' })).id as string;
    path = `/Users/${id}`;
    // move to version 2 so that "W/\"1\"" is a real, stale version
    expect((await t.http.patch(path, patchBody({ op: 'replace', path: 'title', value: 'v2' }))).headers.etag).toBe('W/"2"');
  });
  afterEach(() => t.close());

  const put = (ifMatch?: string) => {
    const r = t.http.put(path, { schemas: [USER_URN], userName: 'etag-user', title: 'put' });
    return ifMatch === undefined ? r : r.set('If-Match', ifMatch);
  };
  const patch = (ifMatch?: string) => {
    const r = t.http.patch(path, patchBody({ op: 'replace', path: 'title', value: 'patched' }));
    return ifMatch === undefined ? r : r.set('If-Match', ifMatch);
  };
  const del = (ifMatch?: string) => {
    const r = t.http.delete(path);
    return ifMatch === undefined ? r : r.set('If-Match', ifMatch);
  };

  it('GET returns the version as ETag and in meta.version', async () => {
    const res = await t.http.get(path);
    expect(res.headers.etag).toBe('W/"2"');
    expect(res.body.meta.version).toBe('W/"2"');
  });

  describe.each([
    ['PUT', put],
    ['PATCH', patch],
    ['DELETE', del],
  ] as const)('%s', (method, send) => {
    it.each(['W/"1"', 'W/"3"', '"1"', 'garbage'])(`If-Match: %s (not the current version) → 412, resource unchanged`, async (etag) => {
      const before = await captureState(t, path);
      const res = await send(etag);
      expect(res.status).toBe(412);
      expect(res.headers['content-type']).toMatch(SCIM_CT);
      expect(res.body).toEqual(scimError(412, undefined, /W\/"2"/));
      await expectUnchanged(t, before);
    });

    it.each(['W/"2"', '"2"', '*', 'W/"1", W/"2"'])('If-Match: %s → success', async (etag) => {
      const auditBefore = (await allAudit(t)).length;
      const res = await send(etag);
      if (method === 'DELETE') {
        expect(res.status).toBe(204);
        expect((await t.http.get(path)).status).toBe(404);
      } else {
        expect(res.status).toBe(200);
        expect(res.headers.etag).toBe('W/"3"');
        expect((res.body as Json).meta).toMatchObject({ version: 'W/"3"' });
        expect((await t.http.get(path)).headers.etag).toBe('W/"3"');
      }
      expect((await allAudit(t)).length).toBe(auditBefore + 1);
    });
  });

  it('If-Match on an unknown id → 404, not 412', async () => {
    const res = await t.http.patch('/Users/no-such-id', patchBody({ op: 'add', path: 'title', value: 'x' })).set('If-Match', '*');
    expect(res.status).toBe(404);
  });

  it('If-None-Match with the current version → 304 without a body; another version → 200', async () => {
    for (const etag of ['W/"2"', '"2"', '*', 'W/"1", W/"2"']) {
      const res = await t.http.get(path).set('If-None-Match', etag);
      expect(res.status, etag).toBe(304);
      expect(res.text).toBe('');
      expect(res.headers.etag).toBe('W/"2"');
    }
    const stale = await t.http.get(path).set('If-None-Match', 'W/"1"');
    expect(stale.status).toBe(200);
    expect(stale.headers['content-type']).toMatch(SCIM_CT);
    expect(stale.body.id).toBe(id);
  });

  it('a write that changes nothing keeps the ETag', async () => {
    const res = await t.http.patch(path, patchBody({ op: 'replace', path: 'title', value: 'v2' })).set('If-Match', 'W/"2"');
    expect(res.status).toBe(200);
    expect(res.headers.etag).toBe('W/"2"');
  });
});
