// The outbox worker of one target: claims due rows with a lease, coalesces the rows of each agent
// (the connector converges to the agent's CURRENT state, so one pass serves them all), converges up
// to `concurrency` agents at once (the connector's rate limiter paces the writes), and completes,
// retries (exponential backoff with jitter, at least the target's Retry-After) or parks each row.
//
// It is a pipeline, not a batch loop: new rows are claimed as soon as slots free up, so throughput
// does not sag at batch boundaries. A row is completed only by the pass that read the agent after
// the row was written (rows claimed while an agent is being converged wait for the next pass).

import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import type { OutboxRow, Store } from '../store/types.js';
import { backoffDelay } from './backoff.js';
import { describeError, isSyncError, RetryableError } from './errors.js';
import { sleep } from './rate-limit.js';
import type { TargetSync } from './target-sync.js';

export interface ProgressEvent {
  kind: 'ok' | 'retry' | 'parked';
  agentId: string;
  rows: number;
  change?: string;
  error?: string;
}

export interface PassResult {
  /** agents converged */
  succeeded: number;
  /** agents whose rows were parked */
  parked: number;
  /** rows still pending when the pass ended (retries scheduled beyond the wait limit, leases of others) */
  pendingLeft: number;
  rows: number;
  errors: { agentId: string; error: string }[];
}

export interface WorkerOptions {
  sync: TargetSync;
  store: Store;
  logger: Logger;
  workerId?: string;
  onProgress?: (e: ProgressEvent) => void;
}

interface Group {
  agentId: string;
  rows: OutboxRow[];
}

export class SyncWorker {
  readonly workerId: string;
  readonly #sync: TargetSync;
  readonly #store: Store;
  readonly #log: Logger;
  #onProgress: ((e: ProgressEvent) => void) | undefined;
  #abort = new AbortController();
  #stopping = false;
  #loop: Promise<void> | undefined;
  readonly #wakers = new Set<() => void>();
  #running = false;

  constructor(o: WorkerOptions) {
    this.#sync = o.sync;
    this.#store = o.store;
    this.#log = o.logger;
    this.workerId = o.workerId ?? `${o.sync.target}-${process.pid}-${randomUUID().slice(0, 8)}`;
    this.#onProgress = o.onProgress;
  }

  get running(): boolean {
    return this.#running;
  }

  set onProgress(fn: ((e: ProgressEvent) => void) | undefined) {
    this.#onProgress = fn;
  }

  /** Run continuously until stop(). */
  start(): void {
    if (this.#loop) return;
    this.#stopping = false;
    this.#abort = this.#controller();
    this.#running = true;
    this.#loop = this.#run({ once: false, maxRetryWaitMs: 0 })
      .catch((e: unknown) => this.#log.error({ err: describeError(e) }, 'sync worker stopped on an error'))
      .then(() => {
        this.#running = false;
      });
  }

  /** New rows were written: look now instead of at the next poll. */
  notify(): void {
    for (const w of [...this.#wakers]) w();
  }

  /**
   * One pass: everything due now, and retries due within `maxRetryWaitMs`; then return. Rows
   * retried beyond that (or leased by another live worker) are reported as pendingLeft.
   */
  async runOnce(o: { maxRetryWaitMs?: number } = {}): Promise<PassResult> {
    if (this.#loop) throw new Error('the worker is already running continuously');
    this.#stopping = false;
    this.#abort = this.#controller();
    this.#running = true;
    try {
      return await this.#run({ once: true, maxRetryWaitMs: o.maxRetryWaitMs ?? 60_000 });
    } finally {
      this.#running = false;
    }
  }

  /** One signal is shared by every converge in flight (hundreds of listeners, by design). */
  #controller(): AbortController {
    const c = new AbortController();
    setMaxListeners(0, c.signal);
    return c;
  }

  /** Stop claiming, let converges in flight finish (up to graceMs), then abort them. */
  async stop(graceMs = 10_000): Promise<void> {
    this.#stopping = true;
    this.notify();
    const loop = this.#loop;
    if (loop) {
      const t = setTimeout(() => this.#abort.abort(new Error('sync worker stopping')), graceMs);
      await loop;
      clearTimeout(t);
    }
    this.#loop = undefined;
  }

  async #run(mode: { once: boolean; maxRetryWaitMs: number }): Promise<PassResult> {
    const t = this.#sync.tunables;
    const result: PassResult = { succeeded: 0, parked: 0, pendingLeft: 0, rows: 0, errors: [] };
    const deadline = Date.now() + mode.maxRetryWaitMs;
    const queued: Group[] = [];
    const active = new Map<string, Promise<void>>();
    let claimedRows = 0;
    const target = this.#sync.target;

    const startReady = () => {
      for (let i = 0; i < queued.length && active.size < t.concurrency; ) {
        const g = queued[i]!;
        if (active.has(g.agentId)) {
          i++;
          continue;
        }
        queued.splice(i, 1);
        const p = this.#process(g, result).finally(() => active.delete(g.agentId));
        active.set(g.agentId, p);
      }
    };

    // claim in chunks (not one row per finished agent): a claim is a write transaction
    const chunk = Math.max(1, Math.min(t.batchSize, Math.ceil(t.concurrency / 2)));
    while (!this.#stopping) {
      let claimed: OutboxRow[] = [];
      const room = t.concurrency * 2 - queued.length - active.size;
      if (room >= chunk || (room > 0 && active.size + queued.length === 0)) {
        try {
          claimed = await this.#store.outbox.claim(target, this.workerId, t.leaseMs, Math.min(t.batchSize, room));
        } catch (e) {
          this.#log.error({ err: describeError(e) }, 'claiming outbox rows failed; retrying');
          await sleep(t.pollMs);
          continue;
        }
        claimedRows += claimed.length;
        for (const r of claimed) {
          // join a group still waiting (not one already running: it read the agent before this row)
          const g = queued.find((q) => q.agentId === r.resourceId);
          if (g) g.rows.push(r);
          else queued.push({ agentId: r.resourceId, rows: [r] });
        }
      }
      startReady();
      if (active.size === 0 && queued.length === 0) {
        if (mode.once) {
          const wait = await this.#nextDueIn(deadline);
          if (wait === undefined) break;
          await this.#idle(wait);
        } else {
          await this.#idle(t.pollMs);
        }
        continue;
      }
      if (claimed.length === 0 || room < chunk || active.size >= t.concurrency) {
        // wait for a slot (or, when nothing new came, for anything to finish or a wake-up)
        const tick = this.#timer(claimed.length === 0 ? t.pollMs : 50);
        await Promise.race([...active.values(), tick.promise]);
        tick.cancel();
      }
    }
    // stopping: release what was claimed but not started, let the rest finish
    for (const g of queued.splice(0)) {
      for (const r of g.rows) await this.#store.outbox.retry(r.seq, this.workerId, 'released when the worker stopped', new Date()).catch(() => false);
    }
    await Promise.allSettled([...active.values()]);
    result.rows = claimedRows;
    if (mode.once) result.pendingLeft = (await this.#store.outbox.stats(target)).pending;
    return result;
  }

  /** once-mode: ms until the next pending row may become claimable, or undefined when none is left before the deadline. */
  async #nextDueIn(deadline: number): Promise<number | undefined> {
    const pending = await this.#store.outbox.list({ target: this.#sync.target, status: 'pending', limit: 1000 });
    if (pending.length === 0) return undefined;
    let earliest = Infinity;
    for (const r of pending) {
      const due = Math.max(Date.parse(r.availableAt), r.leaseUntil && r.leaseOwner !== this.workerId ? Date.parse(r.leaseUntil) : 0);
      earliest = Math.min(earliest, due);
    }
    if (earliest > deadline) return undefined;
    return Math.max(10, earliest - Date.now() + 5);
  }

  /** A wait of `ms` that notify() or stop() cuts short; cancel() clears its timer. */
  #timer(ms: number): { promise: Promise<void>; cancel: () => void } {
    let timer: NodeJS.Timeout | undefined;
    let done!: () => void;
    const promise = new Promise<void>((resolve) => {
      done = () => {
        if (timer) clearTimeout(timer);
        timer = undefined;
        this.#wakers.delete(done);
        resolve();
      };
      timer = setTimeout(done, ms);
    });
    this.#wakers.add(done);
    return { promise, cancel: done };
  }

  async #idle(ms: number): Promise<void> {
    await this.#timer(ms).promise;
  }

  async #process(g: Group, result: PassResult): Promise<void> {
    const t = this.#sync.tunables;
    const m = this.#sync.metrics;
    try {
      const out = await this.#sync.converge(g.agentId, this.#abort.signal);
      for (const r of g.rows) await this.#store.outbox.complete(r.seq, this.workerId);
      m.success(out.noop, g.rows.length);
      result.succeeded++;
      if (out.recovered) await this.#sync.requeueParkedOf(g.agentId).catch(() => undefined);
      this.#onProgress?.({ kind: 'ok', agentId: g.agentId, rows: g.rows.length, change: out.change.kind });
      if (!out.noop) this.#log.debug({ agentId: g.agentId, change: out.change }, 'agent synced');
    } catch (e) {
      const error = describeError(e).slice(0, 2000);
      const attempts = Math.max(...g.rows.map((r) => r.attempts)) + 1;
      // unknown errors (a database hiccup, a bug) are retried; SyncErrors say for themselves
      const retryable = isSyncError(e) ? e.retryable : true;
      if (this.#abort.signal.aborted) {
        for (const r of g.rows) await this.#store.outbox.retry(r.seq, this.workerId, `interrupted: ${error}`, new Date()).catch(() => false);
        return;
      }
      if (!retryable || attempts >= t.maxAttempts) {
        for (const r of g.rows) await this.#store.outbox.park(r.seq, this.workerId, error);
        m.failure('parked', error);
        result.parked++;
        result.errors.push({ agentId: g.agentId, error });
        this.#log.error({ agentId: g.agentId, attempts, err: error }, 'sync failed; rows parked (agentroster sync parked / sync retry)');
        this.#onProgress?.({ kind: 'parked', agentId: g.agentId, rows: g.rows.length, error });
      } else {
        const after = e instanceof RetryableError ? (e.retryAfterMs ?? 0) : 0;
        const delay = Math.max(after, backoffDelay(attempts, { baseMs: t.backoffBaseMs, maxMs: t.backoffMaxMs }));
        const at = new Date(Date.now() + delay);
        for (const r of g.rows) await this.#store.outbox.retry(r.seq, this.workerId, error, at);
        m.failure('retry', error);
        this.#log.warn({ agentId: g.agentId, attempts, retryInMs: delay, err: error }, 'sync failed; will retry');
        this.#onProgress?.({ kind: 'retry', agentId: g.agentId, rows: g.rows.length, error });
      }
    }
  }
}
