// Per-target pacing: a write limiter and a Retry-After gate.
//
// WriteLimiter is a token bucket whose tokens come back one window after they were spent (rather
// than trickling back continuously). That is the only token bucket that never lets more than
// `limit` writes into ANY window of `windowMs`, which is how Graph counts ("20 writes per second
// per app per tenant"): a classic bucket with capacity C and rate r admits C + r·window writes in
// some window and trips the service's limit. It still allows full bursts, so 20 writes can leave
// together in one $batch. `marginMs` widens our window slightly (clock and network jitter between
// us and the service), so the achieved rate is limit / (window + margin) — 97.6 % of the quota with
// the defaults — and 429s stay exceptional. Tokens are taken right before a request goes on the
// wire (not when it is queued), and a write the service still refuses for its limit widens the
// margin by 25 ms (at most to 250 ms; it relaxes by 5 ms per quiet minute).
//
// RetryGate remembers the latest Retry-After a target gave: nothing is sent to that target before
// it elapses (not retries, not other requests), as Graph asks ("usage keeps accruing while
// throttled").

export interface Sleeper {
  (ms: number, signal?: AbortSignal): Promise<void>;
}

export const sleep: Sleeper = (ms, signal) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    if (ms <= 0) return resolve();
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });

export interface WriteLimiterOptions {
  /** writes per window (Graph: 20) */
  limit: number;
  /** window length (Graph: 1000 ms) */
  windowMs: number;
  /** added to the window for safety (default 25 ms) */
  marginMs?: number;
  /** the margin may grow up to this after 429s (default 250 ms) */
  maxMarginMs?: number;
  now?: () => number;
}

/** Tokens held by one caller; `restamp()` when they are used later than taken (after a Retry-After). */
export interface WriteTicket {
  readonly n: number;
  restamp(): void;
}

interface Token {
  back: number;
}

export class WriteLimiter {
  readonly limit: number;
  readonly windowMs: number;
  readonly #baseMargin: number;
  readonly #maxMargin: number;
  #margin: number;
  #lastWiden = 0;
  readonly #now: () => number;
  /** spent tokens and when each comes back, ascending */
  #returns: Token[] = [];
  /** callers waiting, FIFO, so that nobody starves */
  readonly #waiters: { n: number; resolve: (t: WriteTicket) => void; reject: (e: unknown) => void }[] = [];
  #timer: NodeJS.Timeout | undefined;
  #granted = 0;

  constructor(o: WriteLimiterOptions) {
    if (!(o.limit >= 1) || !(o.windowMs > 0)) throw new Error('WriteLimiter needs limit ≥ 1 and windowMs > 0');
    this.limit = Math.floor(o.limit);
    this.windowMs = o.windowMs;
    this.#baseMargin = o.marginMs ?? 25;
    this.#maxMargin = Math.max(this.#baseMargin, o.maxMarginMs ?? 250);
    this.#margin = this.#baseMargin;
    this.#now = o.now ?? Date.now;
  }

  get #span(): number {
    // a widened margin relaxes back to the configured one, 5 ms per quiet minute
    if (this.#margin > this.#baseMargin) {
      const quiet = Math.floor((this.#now() - this.#lastWiden) / 60_000);
      if (quiet > 0) {
        this.#margin = Math.max(this.#baseMargin, this.#margin - 5 * quiet);
        this.#lastWiden = this.#now();
      }
    }
    return this.windowMs + this.#margin;
  }

  /** the steady rate this limiter admits now, per second */
  get ratePerSecond(): number {
    return (this.limit * 1000) / this.#span;
  }

  get marginMs(): number {
    return this.#margin;
  }

  /** tokens spent so far (for metrics) */
  get granted(): number {
    return this.#granted;
  }

  /**
   * The target refused a write for exceeding its limit although we kept ours (its clock or the
   * network disagree with ours by more than the margin): widen the margin, at most once a window.
   */
  widen(byMs = 25): void {
    const now = this.#now();
    if (now - this.#lastWiden < this.windowMs) return;
    this.#margin = Math.min(this.#maxMargin, this.#margin + byMs);
    this.#lastWiden = now;
  }

  #available(now: number): number {
    let i = 0;
    while (i < this.#returns.length && this.#returns[i]!.back <= now) i++;
    if (i > 0) this.#returns = this.#returns.slice(i);
    return this.limit - this.#returns.length;
  }

  /** Take `n` tokens (n ≤ limit), waiting in line until they are available. Take them right before sending. */
  take(n = 1, signal?: AbortSignal): Promise<WriteTicket> {
    const want = Math.min(Math.max(1, Math.floor(n)), this.limit);
    if (this.#waiters.length === 0 && this.#available(this.#now()) >= want) return Promise.resolve(this.#spend(want));
    return new Promise<WriteTicket>((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason as Error);
      const onAbort = () => {
        const i = this.#waiters.indexOf(w);
        if (i >= 0) {
          this.#waiters.splice(i, 1);
          reject(signal?.reason as Error);
          this.#pump();
        }
      };
      const w = {
        n: want,
        resolve: (t: WriteTicket) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(t);
        },
        reject,
      };
      this.#waiters.push(w);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#pump();
    });
  }

  #spend(n: number): WriteTicket {
    const back = this.#now() + this.#span;
    const mine: Token[] = [];
    for (let i = 0; i < n; i++) mine.push({ back });
    this.#returns.push(...mine);
    this.#granted += n;
    return {
      n,
      restamp: () => {
        const at = this.#now() + this.#span;
        for (const t of mine) t.back = Math.max(t.back, at);
        this.#returns.sort((a, b) => a.back - b.back);
      },
    };
  }

  #pump(): void {
    if (this.#timer) return;
    const now = this.#now();
    while (this.#waiters.length > 0) {
      const head = this.#waiters[0]!;
      if (this.#available(now) < head.n) break;
      this.#waiters.shift();
      head.resolve(this.#spend(head.n));
    }
    if (this.#waiters.length === 0) return;
    // wake when enough tokens for the head of the line have come back
    const head = this.#waiters[0]!;
    const idx = head.n - this.#available(now) - 1;
    const at = this.#returns[idx]?.back ?? now;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#pump();
    }, Math.max(1, at - now));
  }

  /** Stop: pending callers are rejected. */
  close(reason: Error = new Error('rate limiter closed')): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const w of this.#waiters.splice(0)) w.reject(reason);
  }
}

/** Nothing goes to a target before the last Retry-After it gave has elapsed. */
export class RetryGate {
  #until = 0;
  readonly #now: () => number;
  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  /** The target said "wait `ms`" (measured from now, i.e. when its answer arrived). */
  block(ms: number): void {
    this.#until = Math.max(this.#until, this.#now() + Math.max(0, ms));
  }

  /** wall-clock ms until which requests are held (0 when open) */
  get until(): number {
    return this.#until > this.#now() ? this.#until : 0;
  }

  /** Resolves once the gate is open (re-checking: a new Retry-After may arrive meanwhile). */
  async pass(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const wait = this.#until - this.#now();
      if (wait <= 0) return;
      await sleep(wait + 1, signal);
    }
  }
}
