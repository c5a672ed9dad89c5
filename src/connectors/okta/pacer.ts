// Pacing for one Okta org, inside the SDK's request executor so that every call the SDK makes (typed
// APIs, collections, raw http) goes through it:
//
// - a concurrency ceiling (Okta allows 75 requests in flight per org, for every client together);
// - budgets read from the X-Rate-Limit-Limit/Remaining/Reset headers every response carries. Okta
//   counts per bucket (endpoint family, sometimes all methods together), and which endpoints share a
//   bucket is not something a client can see, so the budget is conservative: a request waits while
//   ANY family seen in its current window has no room left for the requests already in flight. A
//   family whose window is unknown (first use, or its window ended) sends one probe request and waits
//   for its answer before sending more. Pacing by the headers uses the org's real quota — whatever it
//   is — without configuration, and without a 429 in steady state;
// - a gate: after any 429, nothing is sent to the org until the Reset it announced (a concurrency 429
//   included, whose Reset is only a suggestion). "No request before the reset time."
//
// Every wait is computed from the server's clock: Reset (epoch seconds) minus the server's current
// time, which is estimated from the answers' Date headers as a lower bound (Date is whole seconds and
// never later than the server's true time; the largest Date − arrival time over recent answers
// bounds the clock offset from below, and tightly), so the wait is never too short, yet not a
// second too long either. A skewed host clock cannot make us early. Without a Date header the host
// clock is used with a one-second margin.

export interface RateHeaders {
  status: number;
  limit?: number;
  remaining?: number;
  /** epoch seconds */
  reset?: number;
  /** server time (ms) from the Date header */
  date?: number;
}

interface Budget {
  limit: number;
  remaining: number;
  /** the window's X-Rate-Limit-Reset (epoch seconds): identifies the window */
  resetEpoch: number;
  /** local ms at which the window is over */
  resetAt: number;
}

const MARGIN_MS = 50;

/** Headers of a node-fetch / WHATWG response (`get` joins duplicates with ", "). */
export function rateHeadersOf(status: number, get: (name: string) => string | null): RateHeaders {
  const num = (name: string): number | undefined => {
    const raw = get(name);
    if (raw === null || raw === '') return undefined;
    // Okta sometimes sends the rate-limit headers twice (OKTA-112507): "1795301993, 1795301993"
    const parts = raw.split(',').map((p) => Number(p.trim())).filter((n) => Number.isFinite(n));
    if (parts.length === 0) return undefined;
    return name === 'x-rate-limit-remaining' ? Math.min(...parts) : Math.max(...parts);
  };
  const out: RateHeaders = { status };
  const limit = num('x-rate-limit-limit');
  const remaining = num('x-rate-limit-remaining');
  const reset = num('x-rate-limit-reset');
  if (limit !== undefined) out.limit = limit;
  if (remaining !== undefined) out.remaining = remaining;
  if (reset !== undefined) out.reset = reset;
  const d = get('date');
  const date = d ? Date.parse(d) : NaN;
  if (Number.isFinite(date)) out.date = date;
  return out;
}

/** The rate-limit family of a request: Okta's buckets are per endpoint family ("Longest Match"). */
export function familyOf(method: string, url: string): string {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    path = url.split('?')[0] ?? url;
  }
  const p = path.replace(/\/+$/, '');
  const m = method.toUpperCase();
  if (p === '/oauth2/v1/token') return 'token';
  if (p === '/api/v1/users') return `users:${m === 'GET' ? 'list' : 'create'}`;
  if (p.startsWith('/api/v1/users/')) return 'users:id';
  if (p.startsWith('/api/v1/groups')) return 'groups';
  if (p === '/api/v1/logs') return 'logs';
  if (p.startsWith('/api/v1/meta/')) return 'meta';
  if (p.startsWith('/workload-principals/')) return 'ai-agents';
  return 'default';
}

export interface PacerOptions {
  maxConcurrent: number;
  now?: () => number;
}

export class RatePacer {
  readonly #max: number;
  readonly #now: () => number;
  readonly #budgets = new Map<string, Budget>();
  readonly #inflightBy = new Map<string, number>();
  #inflight = 0;
  #gateUntil = 0;
  #waiters: (() => void)[] = [];
  #timer: NodeJS.Timeout | undefined;
  #timerAt = 0;
  /** counters for health() and the tests */
  readonly stats = { requests: 0, throttled: 0, waitsForBudget: 0, waitsForGate: 0 };

  constructor(o: PacerOptions) {
    this.#max = Math.max(1, Math.floor(o.maxConcurrent));
    this.#now = o.now ?? Date.now;
  }

  /** local ms until which nothing is sent (0: open) */
  get gateUntil(): number {
    return this.#gateUntil > this.#now() ? this.#gateUntil : 0;
  }

  get inflight(): number {
    return this.#inflight;
  }

  /** ms to wait before a request of `family` may go (0: now). */
  #blockedFor(family: string, now: number): number {
    if (now < this.#gateUntil) return this.#gateUntil - now;
    if (this.#inflight >= this.#max) return Infinity; // woken by a release
    let wait = 0;
    for (const b of this.#budgets.values()) {
      if (b.resetAt <= now) continue;
      if (b.remaining - this.#inflight <= 0) wait = Math.max(wait, b.resetAt - now);
    }
    if (wait > 0) return wait;
    const own = this.#budgets.get(family);
    if ((!own || own.resetAt <= now) && (this.#inflightBy.get(family) ?? 0) > 0) return Infinity; // a probe is out
    return 0;
  }

  /** Wait for room; the returned function must be called once the response (or error) arrived. */
  async acquire(family: string): Promise<() => void> {
    let counted = false;
    for (;;) {
      const now = this.#now();
      const wait = this.#blockedFor(family, now);
      if (wait <= 0) break;
      if (!counted) {
        counted = true;
        if (now < this.#gateUntil) this.stats.waitsForGate++;
        else this.stats.waitsForBudget++;
      }
      await this.#sleep(wait);
    }
    this.#inflight++;
    this.#inflightBy.set(family, (this.#inflightBy.get(family) ?? 0) + 1);
    this.stats.requests++;
    let done = false;
    return () => {
      if (done) return;
      done = true;
      this.#inflight--;
      this.#inflightBy.set(family, Math.max(0, (this.#inflightBy.get(family) ?? 1) - 1));
      this.#wake();
    };
  }

  /**
   * A lower bound of (server clock − our clock). Each answer's Date (whole seconds, so ≤ the server's
   * time when it answered) minus the local time it arrived (≥ the local time it was written) is
   * ≤ the true offset; the largest such value over the last two minutes is a tight lower bound (the
   * sub-second phases of many answers fill in what the Date header truncates), short-lived enough
   * that clock drift cannot make it exceed the true offset by more than the margin.
   */
  readonly #offsets: { at: number; v: number }[] = [];

  #learnOffset(h: RateHeaders, now: number): void {
    if (h.date === undefined) return;
    const v = h.date - now;
    const last = this.#offsets[this.#offsets.length - 1];
    if (last && now - last.at < 1000) last.v = Math.max(last.v, v);
    else this.#offsets.push({ at: now, v });
    while (this.#offsets.length > 0 && now - this.#offsets[0]!.at > 120_000) this.#offsets.shift();
  }

  /** the server's time now, never later than the truth (undefined: no Date seen yet) */
  #serverNow(now: number): number | undefined {
    if (this.#offsets.length === 0) return undefined;
    let best = -Infinity;
    for (const o of this.#offsets) best = Math.max(best, o.v);
    return now + best;
  }

  /** ms from now until the server-side epoch second `reset` has certainly passed. */
  #untilReset(h: RateHeaders): number {
    if (h.reset === undefined) return 0;
    const now = this.#now();
    // no Date at all: trust our clock, with a second to spare
    const serverNow = this.#serverNow(now) ?? (h.date ?? now - 1000);
    return Math.max(0, h.reset * 1000 - serverNow) + MARGIN_MS;
  }

  /** Learn from a response. Returns the wait a 429 imposes (0 otherwise). */
  observe(family: string, h: RateHeaders): number {
    const now = this.#now();
    this.#learnOffset(h, now);
    if (h.status === 429) {
      this.stats.throttled++;
      // no Reset at all: wait a little anyway rather than hammering
      const wait = h.reset !== undefined ? this.#untilReset(h) : 1000;
      this.#gateUntil = Math.max(this.#gateUntil, now + wait);
      if (h.limit !== undefined && h.limit > 0 && h.reset !== undefined) {
        // a bucket 429 (a concurrency 429 reports Limit 0 and belongs to no bucket)
        this.#put(family, { limit: h.limit, remaining: 0, resetEpoch: h.reset, resetAt: now + wait });
      }
      this.#wake();
      return wait;
    }
    if (h.limit !== undefined && h.limit > 0 && h.remaining !== undefined && h.reset !== undefined) {
      this.#put(family, { limit: h.limit, remaining: h.remaining, resetEpoch: h.reset, resetAt: now + this.#untilReset(h) });
    } else if (h.status < 500) {
      // no rate-limit headers (a proxy in between): nothing to pace by; do not probe one at a time
      this.#put(family, { limit: Infinity, remaining: Infinity, resetEpoch: 0, resetAt: now + 60_000 });
    }
    this.#wake();
    return 0;
  }

  #put(family: string, next: Budget): void {
    const cur = this.#budgets.get(family);
    if (!cur || next.resetEpoch > cur.resetEpoch || cur.resetAt <= this.#now()) {
      this.#budgets.set(family, next);
    } else if (next.resetEpoch === cur.resetEpoch) {
      // answers of one window may arrive out of order: the lowest Remaining is the latest count
      cur.remaining = Math.min(cur.remaining, next.remaining);
      // every estimate is conservative (never before the true reset): the latest, tightest one wins
      cur.resetAt = Math.min(cur.resetAt, next.resetAt);
    }
    // an older window's answer arriving late changes nothing
  }

  #sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.#waiters.push(resolve);
      if (Number.isFinite(ms)) this.#arm(this.#now() + ms);
    });
  }

  #arm(at: number): void {
    if (this.#timer && this.#timerAt <= at) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#wake();
    }, Math.max(1, at - this.#now()));
  }

  #wake(): void {
    const w = this.#waiters;
    this.#waiters = [];
    for (const fn of w) fn();
  }

  close(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#wake();
  }
}
