import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../../src/sync/backoff.js';
import { KeyedMutex } from '../../../src/sync/keyed-mutex.js';
import { RetryGate, WriteLimiter } from '../../../src/sync/rate-limit.js';

describe('WriteLimiter (tokens come back one window after use)', () => {
  it('never admits more than `limit` writes in any window, yet allows a full burst', async () => {
    const lim = new WriteLimiter({ limit: 5, windowMs: 100, marginMs: 10 });
    const t0 = Date.now();
    const granted: number[] = [];
    await Promise.all(Array.from({ length: 23 }, () => lim.take().then(() => granted.push(Date.now() - t0))));
    granted.sort((a, b) => a - b);
    expect(granted.slice(0, 5).every((t) => t < 20)).toBe(true); // a burst of 5 at once
    for (let i = 0; i + 5 < granted.length; i++) expect(granted[i + 5]! - granted[i]!).toBeGreaterThanOrEqual(109);
    expect(lim.granted).toBe(23);
    expect(lim.ratePerSecond).toBeCloseTo(5 / 0.11, 5);
  });

  it('serves waiters first-come first-served, and a batch takes several tokens at once', async () => {
    const lim = new WriteLimiter({ limit: 4, windowMs: 60, marginMs: 0 });
    const order: string[] = [];
    await lim.take(4);
    const a = lim.take(3).then(() => order.push('a3'));
    const b = lim.take(1).then(() => order.push('b1'));
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
