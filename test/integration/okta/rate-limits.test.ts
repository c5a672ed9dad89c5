// Rate limiting with the real SDK: the connector paces itself by the X-Rate-Limit-* headers (no 429
// in steady state, whatever the org's quota), waits for the Reset a 429 announces — measured on the
// server's clock (Date header), so a skewed host clock cannot make it early — and holds every other
// request meanwhile. The emulator counts any request that arrives before an announced reset
// (`earlyAfter429`): it must stay 0.
import { afterEach, describe, expect, it } from 'vitest';
import { startOktaEmulator, type OktaEmulator } from '../../emulators/okta/index.js';
import { type Harness, startHarness } from './harness.js';

let h: Harness | undefined;
let emu: OktaEmulator | undefined;
afterEach(async () => {
  await h?.close();
  await emu?.close();
  h = undefined;
  emu = undefined;
});

async function agents(hh: Harness, n: number, group?: string): Promise<string[]> {
  const s = await hh.sponsor(`rl-sponsor-${Math.random().toString(36).slice(2, 8)}`);
  if (group) await hh.entitlement('rl-ent', [{ target: 'okta', kind: 'group', remoteId: group }]);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = await hh.agent(`rl-${i}-${Math.random().toString(36).slice(2, 6)}`, s.id);
    await hh.setState(id, 'active');
    if (group) await hh.grant(id, 'rl-ent');
    ids.push(id);
  }
  return ids;
}

describe('pacing by the rate-limit headers', () => {
  it('stays inside a small write quota with 10 requests in flight: no 429, nothing early, no duplicate', async () => {
    // every write shares one bucket of 5 per 1-second window (like the benchmark's preset, faster)
    emu = await startOktaEmulator({
      searchLagMs: 100,
      latencyMs: 5,
      buckets: [
        { name: 'writes', match: (m, p) => m !== 'GET' && p.startsWith('/api/'), limit: 5, windowSeconds: 1 },
        { name: 'reads', path: '*', limit: 10_000 },
      ],
    });
    h = await startHarness({ emulator: emu });
    const ids = await agents(h, 8);
    const t0 = Date.now();
    await h.sync();
    const ms = Date.now() - t0;
    for (const id of ids) expect(h.remotesOf(id)).toHaveLength(1);
    expect(emu.counters.rateLimit429).toBe(0);
    expect(emu.counters.earlyAfter429).toBe(0);
    // 10 writes (type, schema, 8 creates) at 5 per window: at least one window change
    expect(emu.requestLog.filter((r) => r.method !== 'GET').length).toBe(10);
    expect(ms).toBeGreaterThanOrEqual(900);
    expect(h.connector.api.executor.pacer.stats.waitsForBudget).toBeGreaterThan(0);
  });
});

describe('after a 429', () => {
  it('waits until the announced Reset on the server clock (host clock 30 s ahead), with nothing sent before it', async () => {
    emu = await startOktaEmulator({ searchLagMs: 100, clockOffsetMs: -30_000 });
    h = await startHarness({ emulator: emu });
    const ids = await agents(h, 3);
    emu.resetCounters();
    emu.faults.failNext(1, 429, { resetSeconds: 2, match: { method: 'POST', path: '/api/v1/users' } });
    const t0 = Date.now();
    await h.sync();
    for (const id of ids) expect(h.remotesOf(id)).toHaveLength(1);
    expect(emu.counters.injected429).toBe(1);
    expect(emu.counters.earlyAfter429).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
    const refused = emu.requestLog.filter((r) => r.rejected === 'injected');
    const after = emu.requestLog.filter((r) => r.seq > refused[0]!.seq && !r.rejected);
    // the first request after the first 429 left after its Reset (≥ 1 s: Reset is a whole second ≥ 2 s away)
    expect(after[0]!.at - refused[0]!.at).toBeGreaterThanOrEqual(1000);
    expect(h.connector.health().requests.throttled).toBe(1);
  });

  it('retries despite duplicated X-Rate-Limit-* headers (the SDK alone gives up: OKTA-112507), and a throttle window', async () => {
    emu = await startOktaEmulator({ searchLagMs: 100 });
    h = await startHarness({ emulator: emu, env: { AGENTROSTER_OKTA_MAX_CONCURRENT_REQUESTS: '1' } });
    const ids = await agents(h, 3);
    emu.faults.failNext(1, 429, { resetSeconds: 1, duplicateRateLimitHeaders: true, match: { method: 'POST' } });
    await h.sync();
    for (const id of ids) expect(h.remotesOf(id)).toHaveLength(1);
    expect(emu.counters.injected429).toBe(1);
    for (const id of ids) await h.setState(id, 'suspended');
    emu.faults.throttleFor(1);
    await h.sync();
    for (const id of ids) expect(h.remote(id)?.status).toBe('SUSPENDED');
    expect(emu.counters.injected429).toBeGreaterThanOrEqual(2);
    expect(emu.counters.earlyAfter429).toBe(0);
  });

  it('keeps to its own concurrency ceiling (AGENTROSTER_OKTA_MAX_CONCURRENT_REQUESTS), below the org\'s', async () => {
    emu = await startOktaEmulator({ searchLagMs: 100, maxConcurrentRequests: 3, latencyMs: 20 });
    h = await startHarness({ emulator: emu, env: { AGENTROSTER_OKTA_MAX_CONCURRENT_REQUESTS: '3' } });
    const ids = await agents(h, 12);
    emu.resetCounters();
    await h.sync();
    for (const id of ids) expect(h.remotesOf(id)).toHaveLength(1);
    expect(emu.counters.concurrency429).toBe(0);
    expect(emu.counters.maxInFlight).toBeLessThanOrEqual(3);
    expect(emu.counters.maxInFlight).toBeGreaterThanOrEqual(2);
  });
});
