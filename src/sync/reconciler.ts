// The reconciliation schedule of one target: a delta round every deltaIntervalMs (cheap: only what
// changed remotely) and a full compare every fullCompareIntervalMs (everything: drift the change
// feed does not carry, such as group memberships, plus catalogue changes and retire grace).
// Runs never overlap. The first start of a target (no delta cursor yet) begins with a full compare.

import type { Logger } from 'pino';
import { describeError } from './errors.js';
import type { TargetSync } from './target-sync.js';

export class Reconciler {
  readonly #sync: TargetSync;
  readonly #log: Logger;
  #timers: NodeJS.Timeout[] = [];
  #chain: Promise<unknown> = Promise.resolve();
  #abort = new AbortController();
  #stopped = true;

  constructor(sync: TargetSync, logger: Logger) {
    this.#sync = sync;
    this.#log = logger;
  }

  start(opts: { initialDelayMs?: number } = {}): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#abort = new AbortController();
    const t = this.#sync.tunables;
    const first = opts.initialDelayMs ?? 1_000;
    if (t.deltaIntervalMs > 0) this.#every(t.deltaIntervalMs, first, () => this.runDelta());
    if (t.fullCompareIntervalMs > 0) this.#every(t.fullCompareIntervalMs, t.fullCompareIntervalMs, () => this.runFullCompare());
  }

  #every(intervalMs: number, firstMs: number, fn: () => Promise<unknown>): void {
    const tick = () => {
      if (this.#stopped) return;
      void fn().finally(() => {
        if (!this.#stopped) this.#timers.push(setTimeout(tick, intervalMs));
      });
    };
    this.#timers.push(setTimeout(tick, firstMs));
  }

  /** One delta round (queued behind any run in progress). Errors are logged and counted. */
  runDelta(): Promise<void> {
    return this.#serial(async () => {
      try {
        await this.#sync.runDelta(this.#abort.signal);
      } catch (e) {
        this.#sync.metrics.lastDeltaError = describeError(e);
        this.#log.error({ target: this.#sync.target, err: describeError(e) }, 'delta reconciliation failed');
      }
    });
  }

  runFullCompare(): Promise<void> {
    return this.#serial(async () => {
      try {
        await this.#sync.fullCompare(this.#abort.signal);
      } catch (e) {
        this.#sync.metrics.lastFullCompareError = describeError(e);
        this.#log.error({ target: this.#sync.target, err: describeError(e) }, 'full compare failed');
      }
    });
  }

  #serial(fn: () => Promise<void>): Promise<void> {
    const next = this.#chain.then(fn, fn);
    this.#chain = next.catch(() => undefined);
    return next;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers = [];
    this.#abort.abort(new Error('reconciler stopping'));
    await this.#chain.catch(() => undefined);
  }
}
