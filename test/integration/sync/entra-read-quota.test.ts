// Graph's resource-unit (RU) quota per app + tenant (learn.microsoft.com/graph/throttling-limits,
// identity; entra.md §2.1): reads draw on it as well as writes, and over it Graph answers
// 429 ResourceUnitLimitExceeded with a Retry-After during which every request of the app is refused.
// The connector paces writes only, so only the 429s can tell it about this quota: it must wait them
// out — no early retry — and still converge.

import { afterEach, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

it('a small resource-unit quota hit by the sync and the full compare: Retry-After honoured, converged, one object each', async () => {
  h = await startHarness();
  expect(h.emu.state.config.resourceUnitQuota).toEqual({ limit: 3_500, windowMs: 10_000 }); // the realistic default
  const ids: string[] = [];
  for (let i = 0; i < 6; i++) {
    // a sponsor each: the sync looks each one up (GET /users/{upn}?$select=…, 1 RU), in one $batch
    const s = await h.sponsor(`ru-sponsor-${i}`);
    ids.push(await h.agent(`ru-${i}`, s.id, { lifecycleState: 'active' }));
  }
  // 4 RU per second: the six sponsor reads of the first $batch alone exceed it (so do the six creates).
  // A 1 s window (not Graph's 10 s) keeps the test short; the Retry-After is then 1 s.
  h.emu.faults.setResourceUnitQuota(4, 1000);
  await h.sync();
  await h.settle();
  const fc = await h.entra.sync.fullCompare(new AbortController().signal);
  expect(fc).toMatchObject({ observed: ids.length, duplicates: 0 });

  // (a) the quota fired, on reads (a GET can get 429 here only from the RU quota)
  const refused = h.emu.log.filter((e) => e.target === 'graph' && e.status === 429);
  expect(h.emu.counters.throttled).toBeGreaterThan(0);
  expect(refused.some((e) => e.method === 'GET')).toBe(true);
  expect(refused.every((e) => (e.retryAfter ?? 0) >= 1)).toBe(true);
  expect(h.entra.sync.connector.health().requests.throttled).toBeGreaterThan(0);

  // (b) converged: every agent exists in Entra exactly once
  for (const id of ids) expect(h.remotesOf(id), id).toHaveLength(1);
  expect(h.emu.state.agentIdentities()).toHaveLength(ids.length);
  for (const id of ids) expect((await h.ar.store.sync.getLink('entra', id))?.remoteId).toBe(h.remote(id)?.id);

  // (c) no request was sent again before its Retry-After had elapsed
  expect(h.emu.counters.earlyRetries).toBe(0);
});
