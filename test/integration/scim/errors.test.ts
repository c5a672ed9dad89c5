// Bad input never yields a 500 and never changes anything: the table in
// test/fixtures/http/errors.json, then internal errors (generic 500, detail only in the log).

import { readFileSync } from 'node:fs';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildTestApp,
  captureState,
  ERROR_URN,
  expectUnchanged,
  SCIM,
  SCIM_CT,
  type State,
  type TestApp,
  USER_URN,
} from '../../helpers/test-app.js';
import { createAgent, createUser, type Json } from '../../helpers/resources.js';

interface Case {
  name: string;
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  status: number;
  scimType?: string;
  body?: unknown;
  raw?: string;
  contentType?: string;
  detail?: string;
}
const table = JSON.parse(readFileSync(new URL('../../fixtures/http/errors.json', import.meta.url), 'utf8')) as { cases: Case[] };

describe('bad requests', () => {
  let t: TestApp;
  let vars: Record<string, string>;
  let watched: string[];
  beforeAll(async () => {
    t = await buildTestApp({ env: { AGENTROSTER_MAX_BODY_BYTES: '4096' } });
    const user = await createUser(t, 'existing-user', { displayName: 'Existing', title: 'Keeper' });
    await createUser(t, 'taken@example.com');
    const agent = await createAgent(t, 'existing-agent', {}, {}, user.id as string);
    const ent = await t.http.post('/Entitlements', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Entitlement'], value: 'erp.read' });
    expect(ent.status).toBe(201);
    vars = { user: user.id as string, agent: agent.id as string, entitlement: ent.body.id as string };
    watched = [`/Users/${vars.user!}`, `/Agents/${vars.agent!}`, `/Entitlements/${vars.entitlement!}`, '/Users', '/Groups', '/Agents', '/Entitlements'];
  });
  afterAll(() => t.close());

  const fill = (s: string) => s.replace(/\{\{(\w+)\}\}/g, (_m, k: string) => vars[k] ?? `{{${k}}}`);

  function send(c: Case): supertest.Test {
    let url = c.path.startsWith('@') ? c.path.slice(1) : SCIM + fill(c.path);
    const q = url.indexOf('?');
    if (q >= 0) url = `${url.slice(0, q)}?${new URLSearchParams(url.slice(q + 1)).toString()}`;
    const req = supertest(t.app)[c.method.toLowerCase() as 'get'](url).set('Authorization', `Bearer ${t.adminToken}`);
    if (c.raw !== undefined) return req.set('Content-Type', c.contentType ?? 'application/scim+json').send(c.raw);
    if (c.body !== undefined) return req.set('Content-Type', 'application/scim+json').send(fill(JSON.stringify(c.body)));
    return req;
  }

  it.each(table.cases.map((c) => [`${c.method} ${c.path.slice(0, 60)} — ${c.name}`, c] as const))('%s', async (_n, c) => {
    const before: State = await captureState(t, ...watched);
    const res = await send(c);
    expect(res.status, JSON.stringify(res.body)).toBe(c.status);
    expect(res.headers['content-type']).toMatch(SCIM_CT);
    const body = res.body as Json;
    expect(Object.keys(body).sort()).toEqual(['detail', 'schemas', 'status', ...(body.scimType === undefined ? [] : ['scimType'])].sort());
    expect(body).toMatchObject({ schemas: [ERROR_URN], status: String(c.status), detail: expect.any(String) });
    if (c.scimType) expect(body.scimType).toBe(c.scimType);
    if (c.detail) expect(body.detail).toContain(c.detail);
    expect(body.detail).not.toMatch(/\n\s+at /); // no stack trace
    await expectUnchanged(t, before);
  });

  it('application/json is accepted like application/scim+json', async () => {
    const res = await supertest(t.app)
      .post(`${SCIM}/Users`)
      .set('Authorization', `Bearer ${t.adminToken}`)
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ schemas: [USER_URN], userName: 'plain-json' }));
    expect(res.status).toBe(201);
    expect(res.headers['content-type']).toMatch(SCIM_CT);
    expect((await t.http.delete(`/Users/${res.body.id as string}`)).status).toBe(204);
  });
});

describe('internal errors', () => {
  it('a failing store → generic 500 with the request id, no stack or detail to the client; the detail is logged', async () => {
    const t = await buildTestApp();
    try {
      const u = await createUser(t, 'victim');
      const store = t.store as { get: typeof t.store.get };
      const original = store.get.bind(t.store);
      store.get = () => Promise.reject(new Error('disk I/O error at /var/lib/agentroster/agentroster.db (token art_supersecret)'));
      const before = (await t.store.auditEvents()).length;
      for (const req of [
        t.http.get(`/Users/${u.id as string}`).set('X-Request-Id', 'req-500-get'),
        t.http.patch(`/Users/${u.id as string}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'add', path: 'title', value: 'x' }] }).set('X-Request-Id', 'req-500-patch'),
      ]) {
        const res = await req;
        const rid = res.headers['x-request-id'] as string;
        expect(res.status).toBe(500);
        expect(res.headers['content-type']).toMatch(SCIM_CT);
        expect(res.body).toEqual({ schemas: [ERROR_URN], status: '500', detail: `internal error; quote request id ${rid} when reporting it` });
        expect(res.text).not.toContain('disk I/O');
        expect(res.text).not.toContain('supersecret');
        expect(res.text).not.toMatch(/at .*\.ts:\d+/);
        const logged = t.logs().filter((l) => l.requestId === rid);
        expect(logged).toHaveLength(1);
        expect(logged[0]).toMatchObject({ level: 50, msg: 'internal error', err: { message: expect.stringContaining('disk I/O error') } });
      }
      expect((await t.store.auditEvents()).length).toBe(before);
      store.get = original;
      expect((await t.http.get(`/Users/${u.id as string}`)).body.title).toBeUndefined();
    } finally {
      await t.close();
    }
  });

  it('X-Request-Id is echoed (or generated) on every response, errors included', async () => {
    const t = await buildTestApp();
    try {
      const mine = await t.http.get('/Users/none').set('X-Request-Id', 'abc-123');
      expect(mine.headers['x-request-id']).toBe('abc-123');
      const generated = await t.http.get('/Users');
      expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
      const bogus = await t.http.get('/Users').set('X-Request-Id', 'has spaces and\u00e9');
      expect(bogus.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    } finally {
      await t.close();
    }
  });

  it('bad requests are not logged as errors, and no log line carries a bearer token or a stack trace', async () => {
    const t = await buildTestApp();
    try {
      await t.http.post('/Users', { schemas: [USER_URN], userName: 'x', favourite: 1 });
      await t.http.get('/Users?filter=bad filter');
      await t.http.get('/Users', 'art_wrong-token');
      expect(t.logs().filter((l) => (l.level as number) >= 50)).toEqual([]);
      expect(t.logText()).not.toContain(t.adminToken);
      expect(t.logText()).not.toContain('art_wrong-token');
    } finally {
      await t.close();
    }
  });
});
