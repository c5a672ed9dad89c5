// The concurrency ceiling and fault injection, through raw HTTP and the real SDK.
import { afterAll, afterEach, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { startOktaEmulator, type OktaEmulator } from '../../../emulators/okta/index.js';
import { profile, raw, rejection, sdk } from './helpers.js';

describe('the concurrency ceiling', () => {
  let emu: OktaEmulator;
  beforeAll(async () => {
    emu = await startOktaEmulator({ maxConcurrentRequests: 3, latencyMs: 300, concurrencyResetSeconds: 0 });
  });
  afterAll(async () => emu.close());

  it('refuses requests beyond N in flight with 429 and Limit/Remaining 0; the SDK retries them after the suggested reset', async () => {
    const u = emu.admin.createUser({ profile: profile('conc@agents.test') });
    emu.resetCounters();
    const results = await Promise.all(Array.from({ length: 8 }, () => raw(emu, `/api/v1/users/${u.id}`)));
    const refused = results.filter((r) => r.status === 429);
    expect(results.filter((r) => r.status === 200).length).toBeGreaterThanOrEqual(3);
    expect(refused.length).toBeGreaterThanOrEqual(1);
    expect(refused.length + results.filter((r) => r.status === 200).length).toBe(8);
    for (const r of refused) {
      expect(r.headers.get('x-rate-limit-limit')).toBe('0');
      expect(r.headers.get('x-rate-limit-remaining')).toBe('0');
      expect(((await r.json()) as { errorCode: string }).errorCode).toBe('E0000047');
    }
    expect(emu.counters.concurrency429).toBe(refused.length);
    expect(emu.counters.maxInFlight).toBeGreaterThanOrEqual(4);
    expect(emu.state.log.all().some((e) => e.eventType === 'core.concurrency.org.limit.violation')).toBe(true);

    const okta = sdk(emu, { maxRetries: 6 });
    const users = await Promise.all(Array.from({ length: 6 }, () => okta.userApi.getUser({ userId: u.id })));
    expect(users.every((x) => x.id === u.id)).toBe(true);
  });
});

describe('fault injection', () => {
  let emu: OktaEmulator;
  beforeAll(async () => {
    emu = await startOktaEmulator();
  });
  afterAll(async () => emu.close());
  afterEach(() => emu.faults.clear());

  it('failNext: 5xx reach the caller (the SDK does not retry them); 502 is not JSON; 429 announces a Reset', async () => {
    const u = emu.admin.createUser({ profile: profile('fault@agents.test') });
    const okta = sdk(emu, { maxRetries: 2 });
    emu.faults.failNext(1, 500, { match: { method: 'GET', path: '/api/v1/users/*' } });
    const e500 = await rejection(okta.userApi.getUser({ userId: u.id }));
    expect([e500.constructor.name, e500['status'], e500['errorCode']]).toEqual(['OktaApiError', 500, 'E0000009']);
    emu.faults.failNext(1, 502);
    const e502 = await rejection(okta.userApi.getUser({ userId: u.id }));
    expect([e502.constructor.name, e502['status']]).toEqual(['HttpError', 502]);
    emu.resetCounters();
    emu.faults.failNext(1, 429, { resetSeconds: 2, match: { path: '/api/v1/users/*' } });
    const limited = await raw(emu, `/api/v1/users/${u.id}`);
    expect([limited.status, limited.headers.get('x-rate-limit-remaining')]).toEqual([429, '0']);
    expect(Number(limited.headers.get('x-rate-limit-reset')) * 1000 - Date.parse(limited.headers.get('date') as string)).toBeGreaterThanOrEqual(2000);
    expect((await raw(emu, `/api/v1/users/${u.id}`)).status).toBe(200); // only one injected, but it arrived early
    expect([emu.counters.injected429, emu.counters.earlyAfter429]).toEqual([1, 1]);
  });

  it('duplicated X-Rate-Limit-* headers (OKTA-112507): the SDK refuses to retry and surfaces the 429', async () => {
    const u = emu.admin.createUser({ profile: profile('duphdr@agents.test') });
    emu.faults.failNext(1, 429, { duplicateRateLimitHeaders: true, match: { path: '/api/v1/users/*' } });
    const e = await rejection(sdk(emu, { maxRetries: 3 }).userApi.getUser({ userId: u.id }));
    expect(e['status']).toBe(429);
    expect((e['headers'] as { get(n: string): string | null }).get('x-rate-limit-reset')).toMatch(/^\d+, \d+$/);
  });

  it('throttleFor: every request is refused until the announced reset; the SDK resumes after it', async () => {
    // A fresh org: the previous test left an announced reset behind on purpose.
    const emu = await startOktaEmulator();
    onTestFinished(() => emu.close());
    const u = emu.admin.createUser({ profile: profile('throttle@agents.test') });
    const okta = sdk(emu, { maxRetries: 3 });
    emu.resetCounters();
    emu.faults.throttleFor(0.5);
    const t0 = Date.now();
    expect((await okta.userApi.getUser({ userId: u.id })).id).toBe(u.id);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(500);
    expect(emu.counters.earlyAfter429).toBe(0);
    expect(emu.requestLog.filter((r) => r.rejected === 'throttle').length).toBeGreaterThanOrEqual(1);
  });

  it('dropResponseAfterCommit: the write happens, the client sees a network error; a re-find by login shows it', async () => {
    const okta = sdk(emu, { maxRetries: 2 });
    emu.resetCounters();
    emu.faults.dropResponseAfterCommit({ method: 'POST', path: '/api/v1/users' });
    const lost = await rejection(okta.userApi.createUser({ body: { profile: profile('lost@agents.test') } }));
    expect(lost.constructor.name).toBe('FetchError');
    const found = await okta.userApi.getUser({ userId: 'lost@agents.test' });
    expect(found.status).toBe('PROVISIONED');
    const retry = await rejection(okta.userApi.createUser({ body: { profile: profile('lost@agents.test') } }));
    expect(retry['errorCode']).toBe('E0000001');
    expect(emu.counters.droppedResponses).toBe(1);
    expect(emu.requestLog.find((r) => r.dropped)?.path).toBe('/api/v1/users');
  });
});
