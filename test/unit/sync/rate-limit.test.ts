import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { backoffDelay } from '../../../src/sync/backoff.js';
import { KeyedMutex } from '../../../src/sync/keyed-mutex.js';
import { RetryGate, WriteLimiter } from '../../../src/sync/rate-limit.js';

describe('WriteLimiter (tokens come back one window after use)', () => {
  // Pacing is judged on a clock the test moves (vitest's fake timers drive both Date.now and the
  // limiter's setTimeout), so no assertion depends on the machine's speed. Real-time throughput is
  // the benchmark's business (npm run bench:sync-entra), not a test's.
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('never admits more than `limit` writes in any window, yet allows a full burst', async () => {
    const lim = new WriteLimiter({ limit: 5, windowMs: 100, marginMs: 10 });
    const t0 = Date.now();
    const granted: number[] = [];
    const all = Promise.all(Array.from({ length: 23 }, () => lim.take().then(() => granted.push(Date.now() - t0))));
    await vi.advanceTimersByTimeAsync(0);
    expect(granted).toEqual([0, 0, 0, 0, 0]); // a burst of 5 at once, before any time passes
    await vi.advanceTimersByTimeAsync(109);
    expect(granted).toHaveLength(5); // the window plus the margin has not elapsed
    await vi.advanceTimersByTimeAsync(1);
    expect(granted).toHaveLength(10);
    await vi.advanceTimersByTimeAsync(1000);
    await all;
    // every grant, in order: bursts of 5 exactly one window + margin apart
    expect(granted).toEqual([...Array(5).fill(0), ...Array(5).fill(110), ...Array(5).fill(220), ...Array(5).fill(330), ...Array(3).fill(440)]);
    for (let i = 0; i + 5 < granted.length; i++) expect(granted[i + 5]! - granted[i]!).toBeGreaterThanOrEqual(110);
    expect(lim.granted).toBe(23);
    expect(lim.ratePerSecond).toBeCloseTo(5 / 0.11, 5);
  });

  it('a widened margin slows the pace, and relaxes by 5 ms per quiet minute', async () => {
    const lim = new WriteLimiter({ limit: 2, windowMs: 100, marginMs: 10 });
    lim.widen(); // +25 ms
    expect(lim.marginMs).toBe(35);
    lim.widen(); // at most once a window
    expect(lim.marginMs).toBe(35);
    const t0 = Date.now();
    const granted: number[] = [];
    const all = Promise.all(Array.from({ length: 4 }, () => lim.take().then(() => granted.push(Date.now() - t0))));
    await vi.advanceTimersByTimeAsync(200);
    await all;
    expect(granted).toEqual([0, 0, 135, 135]);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(lim.ratePerSecond).toBeCloseTo(2 / 0.125, 5); // two quiet minutes: 35 → 25 ms
    expect(lim.marginMs).toBe(25);
  });

  it('serves waiters first-come first-served, and a batch takes several tokens at once', async () => {
    const lim = new WriteLimiter({ limit: 4, windowMs: 60, marginMs: 0 });
    const order: string[] = [];
    await lim.take(4);
    const a = lim.take(3).then(() => order.push('a3'));
    const b = lim.take(1).then(() => order.push('b1'));
    await vi.advanceTimersByTimeAsync(59);
    expect(order).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    await Promise.all([a, b]);
    expect(order).toEqual(['a3', 'b1']);
  });

  it('an aborted wait leaves the line', async () => {
    const lim = new WriteLimiter({ limit: 1, windowMs: 10_000 });
    await lim.take();
    const ac = new AbortController();
    const p = lim.take(1, ac.signal);
    ac.abort(new Error('stop'));
    await expect(p).rejects.toThrow('stop');
    lim.close();
  });
});

describe('RetryGate', () => {
  it('holds every caller until the latest Retry-After has elapsed', async () => {
    const gate = new RetryGate();
    gate.block(120);
    gate.block(30); // a shorter one does not shorten the wait
    const t0 = Date.now();
    await Promise.all([gate.pass(), gate.pass()]);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(119);
    expect(gate.until).toBe(0);
  });
});

describe('backoff', () => {
  it('doubles per attempt with jitter between half and all of it, capped', () => {
    const p = { baseMs: 1000, maxMs: 8000 };
    expect(backoffDelay(1, p, () => 0)).toBe(500);
    expect(backoffDelay(1, p, () => 1)).toBe(1000);
    expect(backoffDelay(3, p, () => 0.5)).toBe(3000);
    expect(backoffDelay(10, p, () => 1)).toBe(8000);
  });
});

describe('KeyedMutex', () => {
  it('runs one holder per key, others in parallel', async () => {
    const m = new KeyedMutex();
    const log: string[] = [];
    const job = (k: string, tag: string, ms: number) =>
      m.run(k, async () => {
        log.push(`${tag}+`);
        await new Promise((r) => setTimeout(r, ms));
        log.push(`${tag}-`);
      });
    await Promise.all([job('a', 'a1', 30), job('a', 'a2', 1), job('b', 'b1', 5)]);
    expect(log.indexOf('a1-')).toBeLessThan(log.indexOf('a2+'));
    expect(log.indexOf('b1+')).toBeLessThan(log.indexOf('a1-'));
    expect(m.size).toBe(0);
  });
});
