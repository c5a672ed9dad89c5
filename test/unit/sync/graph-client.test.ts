// The Graph transport against a scripted fetch: batching, per-item 429 with the gate, Retry-After
// forms, lost responses of creates, 401 token refresh, paging.

import { describe, expect, it } from 'vitest';
import { GraphApiError, OutcomeUnknownError, toSyncError } from '../../../src/connectors/entra/errors.js';
import { GraphClient, retryAfterMs } from '../../../src/connectors/entra/graph.js';
import { PermanentError, RetryableError } from '../../../src/sync/errors.js';
import { WriteLimiter } from '../../../src/sync/rate-limit.js';

type Call = { at: number; method: string; url: string; body: any; auth: string };

function client(handler: (c: Call, n: number) => { status: number; headers?: Record<string, string>; body?: unknown } | Error, opts: Partial<ConstructorParameters<typeof GraphClient>[0]> = {}) {
  const calls: Call[] = [];
  let tokens = 0;
  const forced: boolean[] = [];
  const g = new GraphClient({
    graphUrl: 'https://graph.test',
    apiVersion: 'v1.0',
    token: { get: async (force?: boolean) => (forced.push(Boolean(force)), `t${++tokens}`) },
    limiter: new WriteLimiter({ limit: 1000, windowMs: 1000 }),
    transientBaseMs: 5,
    fetch: async (url, init) => {
      const c: Call = { at: Date.now(), method: String(init?.method), url: String(url), body: init?.body ? JSON.parse(String(init.body)) : undefined, auth: String((init?.headers as Record<string, string>).authorization) };
      calls.push(c);
      const r = handler(c, calls.length);
      if (r instanceof Error) throw r;
      return new Response(r.body === undefined ? null : JSON.stringify(r.body), { status: r.status, headers: r.headers });
    },
    ...opts,
  });
  return { g, calls, forced };
}

const batchOk = (c: Call) => ({ status: 200, body: { responses: (c.body.requests as { id: string }[]).map((r) => ({ id: r.id, status: 200, body: { echo: r.id } })).reverse() } });

describe('GraphClient', () => {
  it('sends concurrent requests as $batch envelopes of at most 20, answers matched by id', async () => {
    const { g, calls } = client((c) => (c.url.endsWith('/$batch') ? batchOk(c) : { status: 200, body: {} }));
    const rs = await Promise.all(Array.from({ length: 45 }, (_, i) => g.get(`/users/${i}`)));
    expect(calls.map((c) => c.body?.requests?.length ?? 1)).toEqual([20, 20, 5]);
    expect(rs.map((r) => (r.body as { echo: string }).echo).slice(0, 3)).toEqual(['1', '2', '3']);
    expect(g.counters).toMatchObject({ reads: 45, batches: 3 });
  });

  it('a 429 inside a batch closes the gate: nothing is sent before its Retry-After, then only that item again', async () => {
    let first = true;
    const { g, calls } = client((c) => {
      if (!c.url.endsWith('/$batch')) return { status: 201, body: { id: 'x' } };
      const reqs = c.body.requests as { id: string }[];
      return {
        status: 200,
        body: {
          responses: reqs.map((r) => {
            if (first && r.id === '2') {
              first = false;
              return { id: r.id, status: 429, headers: { 'Retry-After': '0.25' }, body: { error: { code: 'Request_ThrottledTemporarily', message: 'slow down' } } };
            }
            return { id: r.id, status: 201, body: { id: `ok${r.id}` } };
          }),
        },
      };
    });
    const t0 = Date.now();
    await Promise.all([1, 2, 3].map((i) => g.request({ method: 'POST', path: '/groups', body: { i } })));
    expect(calls).toHaveLength(2);
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(249);
    expect(calls[1]!.body).toEqual({ i: 2 }); // retried alone, directly
    expect(Date.now() - t0).toBeGreaterThanOrEqual(249);
    expect(g.counters.throttled).toBe(1);
  });

  it('a lost response to a create is an unknown outcome, never retried blindly; other requests are retried', async () => {
    const { g, calls } = client((_c, n) => (n === 1 ? new TypeError('fetch failed') : { status: 200, body: { ok: 1 } }), { batchMax: 1 });
    await expect(g.request({ method: 'POST', path: '/servicePrincipals/microsoft.graph.agentIdentity', body: {}, idempotent: false })).rejects.toBeInstanceOf(OutcomeUnknownError);
    expect(calls).toHaveLength(1);
    const { g: g2, calls: c2 } = client((_c, n) => (n < 3 ? new TypeError('fetch failed') : { status: 200, body: { ok: 1 } }), { batchMax: 1 });
    expect((await g2.get('/users/1')).body).toEqual({ ok: 1 });
    expect(c2).toHaveLength(3);
  });

  it('5xx on a create is an unknown outcome too; 503 with Retry-After on a read waits and retries', async () => {
    const { g } = client(() => ({ status: 500, body: { error: { code: 'Service_InternalServerError', message: 'x' } } }), { batchMax: 1 });
    await expect(g.request({ method: 'POST', path: '/users', body: {}, idempotent: false })).rejects.toBeInstanceOf(OutcomeUnknownError);
    const { g: g2, calls } = client((_c, n) => (n === 1 ? { status: 503, headers: { 'retry-after': '0.1' } } : { status: 200, body: {} }), { batchMax: 1 });
    await g2.get('/x');
    expect(calls[1]!.at - calls[0]!.at).toBeGreaterThanOrEqual(99);
  });

  it('401 once: a fresh token (MSAL cache skipped), then the request again', async () => {
    const { g, calls, forced } = client((_c, n) => (n === 1 ? { status: 401, body: { error: { code: 'InvalidAuthenticationToken', message: 'expired' } } } : { status: 200, body: {} }), { batchMax: 1 });
    await g.get('/users/1');
    expect(forced).toEqual([false, true]);
    expect(calls.map((c) => c.auth)).toEqual(['Bearer t1', 'Bearer t2']);
  });

  it('follows @odata.nextLink verbatim', async () => {
    const { g, calls } = client((c) =>
      c.url.includes('skiptoken') ? { status: 200, body: { value: [{ id: 'b' }] } } : { status: 200, body: { value: [{ id: 'a' }], '@odata.nextLink': 'https://graph.test/v1.0/groups?$skiptoken=OPAQUE%2B1' } },
    );
    expect((await g.all('/groups')).map((x) => (x as { id: string }).id)).toEqual(['a', 'b']);
    expect(calls[1]!.url).toBe('https://graph.test/v1.0/groups?$skiptoken=OPAQUE%2B1');
  });

  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(retryAfterMs('2')).toBe(2000);
    expect(retryAfterMs('0.5')).toBe(500);
    expect(retryAfterMs(new Date(Date.now() + 3000).toUTCString(), Date.now())).toBeGreaterThan(1000);
    expect(retryAfterMs(undefined)).toBeUndefined();
  });
});

describe('OData errors → sync errors', () => {
  it('classifies by status and code, names the missing permission, spots ObjectConflict and the replication race', () => {
    const conflict = new GraphApiError(400, 'Request_BadRequest', 'Another object with the same value for property userPrincipalName already exists.', ['ObjectConflict']);
    expect(conflict.objectConflict).toBe(true);
    expect(toSyncError(conflict, 'creating')).toBeInstanceOf(PermanentError);
    const race = new GraphApiError(400, 'Request_BadRequest', 'Object with id 1b2c not found');
    expect(race.replicationRace).toBe(true);
    expect(toSyncError(race, 'adding')).toBeInstanceOf(RetryableError);
    const denied = toSyncError(new GraphApiError(403, 'Authorization_RequestDenied', 'Insufficient privileges'), 'creating', 'createAgent');
    expect(denied).toBeInstanceOf(PermanentError);
    expect(denied.message).toMatch(/AgentIdentity\.Create\.All/);
    const throttled = toSyncError(new GraphApiError(429, 'Request_ThrottledTemporarily', 'x', [], undefined, 4000), 'x');
    expect(throttled).toMatchObject({ retryable: true, retryAfterMs: 4000, throttled: true });
    expect(new GraphApiError(400, 'syncStateNotFound', 'expired').deltaExpired).toBe(true);
  });
});
