// Exponential backoff with jitter ("equal jitter": half fixed, half random), so that retries of
// many rows spread out instead of hammering a recovering service in waves, and never drop to zero.

export interface BackoffPolicy {
  /** delay of the first retry (before jitter) */
  baseMs: number;
  /** upper bound of any delay */
  maxMs: number;
}

/** Delay before retry number `attempt` (1 = first retry). `random` is injectable for tests. */
export function backoffDelay(attempt: number, p: BackoffPolicy, random: () => number = Math.random): number {
  const exp = Math.min(p.maxMs, p.baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(exp / 2 + random() * (exp / 2));
}
