// Rate limits, the concurrency ceiling, response headers and fault injection, seen through raw HTTP and
// through the real SDK's DefaultRequestExecutor (which waits X-Rate-Limit-Reset − Date + 1 s).
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DefaultRequestExecutor } from '@okta/okta-sdk-nodejs';
import { startOktaEmulator, writeLimitedBuckets, type OktaEmulator } from '../../../emulators/okta/index.js';
import { profile, raw, rejection, sdk } from './helpers.js';

const HEADERS = ['x-rate-limit-limit', 'x-rate-limit-remaining', 'x-rate-limit-reset', 'x-okta-request-id', 'date'];

function expectOktaHeaders(res: Response, label: string): void {
  for (const h of HEADERS) expect(res.headers.get(h), `${label}: ${h}`).toBeTruthy();
  const reset = Number(res.headers.get('x-rate-limit-reset'));
  expect(Number.isInteger(reset), `${label}: reset is epoch seconds`).toBe(true);
  expect(reset * 1000, `${label}: reset not in the past`).toBeGreaterThanOrEqual(Date.parse(res.headers.get('date') as string));
}

describe('headers on every response', () => {
  let emu: OktaEmulator;
  beforeAll(async () => {
    emu = await startOktaEmulator();
  });
  afterAll(async () => emu.close());

  it('carries X-Rate-Limit-*, X-Okta-Request-Id and Date on success, error, empty and token responses', async () => {
    const u = emu.admin.createUser({ profile: profile('hdr@agents.test') });
    const g = emu.admin.createGroup('hdr-group');
    const cases: Array<[string, Promise<Response>, number]> = [
      ['list', raw(emu, '/api/v1/users'), 200],
      ['get', raw(emu, `/api/v1/users/${u.id}`), 200],
      ['404', raw(emu, '/api/v1/users/00unknown000000000000'), 404],
      ['401', raw(emu, '/api/v1/users', { headers: { Authorization: 'SSWS wrong' } }), 401],
      ['204', raw(emu, `/api/v1/groups/${g.id}/users/${u.id}`, { method: 'PUT' }), 204],
      ['400 body', raw(emu, '/api/v1/users', { method: 'POST', body: '{"profile":' }), 400],
      ['405', raw(emu, '/api/v1/users', { method: 'PATCH', body: '{}' }), 405],
      ['unknown path', raw(emu, '/api/v1/nothing-here'), 404],
      ['token', fetch(`${emu.orgUrl}/oauth2/v1/token`, { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' }), 400],
    ];
    for (const [label, p, status] of cases) {
      const res = await p;
      expect(res.status, label).toBe(status);
      expectOktaHeaders(res, label);
    }
    const ids = new Set(emu.requestLog.map((r) => r.requestId));
    expect(ids.size).toBe(emu.requestLog.length);
  });

  it('renders Okta error bodies for malformed bodies, media-type mismatches and unsupported methods', async () => {
    const bad = await raw(emu, '/api/v1/users', { method: 'POST', body: '{"profile":' });
    expect(await bad.json()).toMatchObject({ errorCode: 'E0000003', errorSummary: 'The request body was not well-formed.', errorCauses: [] });
    const media = await raw(emu, '/api/v1/users', { method: 'POST', body: 'login=x', headers: { 'Content-Type': 'text/plain' } });
    expect([media.status, ((await media.json()) as { errorCode: string }).errorCode]).toEqual([400, 'E0000021']);
    const method = await raw(emu, '/api/v1/users', { method: 'PATCH', body: '{}' });
    expect(((await method.json()) as { errorCode: string }).errorCode).toBe('E0000022');
  });
});

const usersLimited = (limit: number, extra: Parameters<typeof startOktaEmulator>[0] = {}) =>
  startOktaEmulator({
    ...extra,
    buckets: [
      { name: 'users', path: '/api/v1/users*', limit, windowSeconds: 1 },
      { name: 'default', path: '*', limit: 1000 },
    ],
  });

describe('per-bucket rate limits', () => {
  let emu: OktaEmulator | undefined;
  afterEach(async () => {
    await emu?.close();
    emu = undefined;
  });

  it('answers 429 E0000047 with Remaining 0 and a future Reset; the SDK waits Reset − Date (server clock), never early', async () => {
    // The emulator's clock (Date, X-Rate-Limit-Reset) runs 30 s behind the host's: a client that used its
    // own clock would retry at once; the SDK derives the wait from the Date header.
    emu = await usersLimited(3, { clockOffsetMs: -30_000 });
    const u = emu.admin.createUser({ profile: profile('rl-1@agents.test') });
    const first = await raw(emu, `/api/v1/users/${u.id}`);
    expect(first.headers.get('x-rate-limit-limit')).toBe('3');
    expect(first.headers.get('x-rate-limit-remaining')).toBe('2');

    const executor = new DefaultRequestExecutor({ maxRetries: 3, requestTimeout: 0 });
    const backoffs: number[] = [];
    executor.on('backoff', (_req: unknown, _res: unknown, _id: unknown, delayMs: number) => backoffs.push(delayMs));
    const okta = sdk(emu, { executor });
    const t0 = Date.now();
    for (let i = 0; i < 3; i++) await okta.userApi.getUser({ userId: u.id });
    expect(backoffs).toHaveLength(1);
    expect(emu.counters.rateLimit429).toBe(1);
    expect(emu.counters.earlyAfter429).toBe(0); // no request arrived before the announced reset
    const refused = emu.requestLog.find((r) => r.rejected === 'rate-limit');
    const retried = emu.requestLog.filter((r) => r.retryCount === '1');
    expect(retried).toHaveLength(1);
    expect(retried[0]?.retryFor).toBe(refused?.requestId);
    expect((retried[0]?.at ?? 0) - (refused?.at ?? 0)).toBeGreaterThanOrEqual(1000);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
  });

  it('exposes the 429 to callers that do not retry (DefaultRequestExecutor maxRetries 0)', async () => {
    emu = await usersLimited(3);
    const u = emu.admin.createUser({ profile: profile('rl-2@agents.test') });
    const okta = sdk(emu, { maxRetries: 0 });
    for (let i = 0; i < 3; i++) await okta.userApi.getUser({ userId: u.id });
    const e = await rejection(okta.userApi.getUser({ userId: u.id }));
    expect(e.constructor.name).toBe('OktaApiError');
    expect([e['status'], e['errorCode'], e['errorSummary']]).toEqual([429, 'E0000047', 'API call exceeded rate limit due to too many requests.']);
    const headers = e['headers'] as { get(n: string): string | null };
    expect(headers.get('x-rate-limit-remaining')).toBe('0');
    expect(Number(headers.get('x-rate-limit-reset')) * 1000).toBeGreaterThan(Date.parse(headers.get('date') as string));
    expect(emu.state.log.all().some((ev) => ev.eventType === 'system.org.rate_limit.violation')).toBe(true);
  });

  it('counts a client that computes the wait from its own clock as early when the server clock differs', async () => {
    // The emulator's clock (Date, X-Rate-Limit-Reset) runs 30 s behind the host's.
    emu = await usersLimited(1, { clockOffsetMs: -30_000 });
    const u = emu.admin.createUser({ profile: profile('skew-1@agents.test') });
    expect((await raw(emu, `/api/v1/users/${u.id}`)).status).toBe(200);
    const limited = await raw(emu, `/api/v1/users/${u.id}`);
    expect(limited.status).toBe(429);
    // Naive: wait Reset − local now, which is negative here because the server clock is behind.
    const naiveWait = Number(limited.headers.get('x-rate-limit-reset')) * 1000 - Date.now();
    expect(naiveWait).toBeLessThan(0);
    await raw(emu, `/api/v1/users/${u.id}`);
    expect(emu.counters.earlyAfter429).toBe(1);
  });
});

describe('benchmark quota preset', () => {
  it('writeLimitedBuckets: all management writes share one quota, reads are counted separately', async () => {
    const emu = await startOktaEmulator({ buckets: writeLimitedBuckets(2) });
    try {
      const create = (i: number) => raw(emu, '/api/v1/users', { method: 'POST', body: JSON.stringify({ profile: profile(`w-${i}@agents.test`) }) });
      expect((await create(1)).status).toBe(200);
      const g = await raw(emu, '/api/v1/groups', { method: 'POST', body: JSON.stringify({ profile: { name: 'w-group' } }) });
      expect([g.status, g.headers.get('x-rate-limit-limit'), g.headers.get('x-rate-limit-remaining')]).toEqual([200, '2', '0']);
      expect((await create(2)).status).toBe(429);
      const read = await raw(emu, '/api/v1/users');
      expect([read.status, read.headers.get('x-rate-limit-limit')]).toEqual([200, '6000']);
      expect(emu.counters.requestsByBucket).toMatchObject({ writes: 3, reads: 1 });
    } finally {
      await emu.close();
    }
  });
});
