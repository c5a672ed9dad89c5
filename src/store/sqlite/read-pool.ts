// A small pool of read workers (read-worker.ts) for SQLite list queries that may scan: better-sqlite3
// is synchronous, so a 1.5 s query on the main connection would stall every other request for
// 1.5 s. Each worker has its own read-only connection to the same WAL database: a reader sees every
// transaction committed before its statement starts, so a write acknowledged to a client is visible
// to that client's next list.
//
// Time limit: the worker stops a statement past the limit itself (ar_deadline(), called per row);
// the caller gets QueryTimeout at the limit in any case. A worker that has not answered a second
// later (stuck in one long native step, such as a sort) is terminated and replaced.

import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { QueryBusy, QueryTimeout } from '../query-cost.js';
import type { ReadJob, ReadReply, ReadWorkerData } from './read-worker.js';

export interface ReadPoolOptions {
  path: string;
  size: number;
  /** statement time limit; also the longest wait for a free worker */
  timeoutMs: number;
  /** most queries waiting for a worker; beyond, QueryBusy at once */
  maxQueue?: number;
}

export interface ReadRequest {
  page?: { sql: string; params: unknown[] };
  count?: { sql: string; params: unknown[] };
}

interface Pending {
  req: ReadRequest;
  resolve: (r: { rows: unknown[]; n: number | undefined }) => void;
  reject: (e: unknown) => void;
  queuedAt: number;
  waitTimer?: NodeJS.Timeout;
}

interface Slot {
  worker: Worker;
  ready: Promise<void>;
  job?: { id: number; p: Pending; timer?: NodeJS.Timeout; killTimer?: NodeJS.Timeout; abandoned: boolean };
}

/** Grace after the limit before a silent worker is terminated. */
const KILL_GRACE_MS = 1000;

/** Each row the outer query examines calls ar_deadline(r.seq): see read-worker.ts. */
function withDeadline(sql: string): string {
  return sql.replace(/FROM resources r WHERE /g, 'FROM resources r WHERE ar_deadline(r.seq) AND ');
}

/** How to start read-worker.ts: compiled (dist) or, in development and tests, through tsx. */
function bootstrap(): { code: string; boot: { entry: string; tsx?: string } } {
  const ts = import.meta.url.endsWith('.ts');
  const entry = new URL(ts ? './read-worker.ts' : './read-worker.js', import.meta.url).href;
  // tsx's ESM API registers its loader inside the worker (Node 20 workers do not inherit hooks).
  const tsx = ts ? pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api').replace(/\.cjs$/, '.mjs')).href : undefined;
  const code = `const { workerData } = require('node:worker_threads');
const b = workerData.boot;
(b.tsx ? import(b.tsx).then((api) => api.tsImport(b.entry, b.entry)) : import(b.entry)).catch((e) => setImmediate(() => { throw e; }));`;
  return { code, boot: tsx ? { entry, tsx } : { entry } };
}

export class SqliteReadPool {
  readonly #o: Required<ReadPoolOptions>;
  readonly #slots: Slot[] = [];
  readonly #queue: Pending[] = [];
  #nextId = 1;
  #closed = false;

  constructor(o: ReadPoolOptions) {
    this.#o = { maxQueue: Math.max(16, o.size * 16), ...o };
  }

  get timeoutMs(): number {
    return this.#o.timeoutMs;
  }

  run(req: ReadRequest): Promise<{ rows: unknown[]; n: number | undefined }> {
    if (this.#closed) return Promise.reject(new Error('the store is closed'));
    while (this.#slots.length < this.#o.size) this.#slots.push(this.#spawn());
    return new Promise((resolve, reject) => {
      const p: Pending = { req, resolve, reject, queuedAt: performance.now() };
      if (this.#queue.length >= this.#o.maxQueue) return reject(new QueryBusy(0));
      this.#queue.push(p);
      // Waiting is bounded too: a client behind a queue of slow queries hears 503, not silence.
      p.waitTimer = setTimeout(() => {
        const i = this.#queue.indexOf(p);
        if (i >= 0) {
          this.#queue.splice(i, 1);
          reject(new QueryBusy(Math.round(performance.now() - p.queuedAt)));
        }
      }, this.#o.timeoutMs);
      this.#dispatch();
    });
  }

  #spawn(): Slot {
    const { code, boot } = bootstrap();
    const data: ReadWorkerData & { boot: typeof boot } = { path: this.#o.path, boot };
    const worker = new Worker(code, { eval: true, workerData: data });
    worker.unref(); // an idle pool never keeps the process alive; busy slots ref() it
    const slot: Slot = { worker, ready: Promise.resolve() };
    slot.ready = new Promise<void>((resolve, reject) => {
      const onReady = (m: { ready?: boolean }) => {
        if (m.ready) {
          worker.off('message', onReady);
          resolve();
        }
      };
      worker.on('message', onReady);
      worker.once('error', reject);
    });
    // a failed start is reported to the job that waits on it (below), not as an unhandled rejection
    slot.ready.catch(() => undefined);
    worker.on('message', (m: ReadReply | { ready: true }) => {
      if ('id' in m) this.#finish(slot, m);
    });
    worker.on('error', (e) => this.#fail(slot, e));
    worker.on('exit', () => this.#fail(slot, new Error('read worker exited')));
    return slot;
  }

  #dispatch(): void {
    for (const slot of this.#slots) {
      if (slot.job || this.#queue.length === 0) continue;
      const p = this.#queue.shift()!;
      clearTimeout(p.waitTimer);
      const id = this.#nextId++;
      slot.job = { id, p, abandoned: false };
      slot.worker.ref();
      const job: ReadJob = {
        id,
        timeoutMs: this.#o.timeoutMs,
        ...(p.req.page ? { page: { sql: withDeadline(p.req.page.sql), params: p.req.page.params } } : {}),
        ...(p.req.count ? { count: { sql: withDeadline(p.req.count.sql), params: p.req.count.params } } : {}),
      };
      // The limit counts from when the worker gets the job (not from a worker's start-up).
      slot.ready.then(
        () => {
          if (slot.job?.id !== id) return;
          slot.job.timer = setTimeout(() => this.#timeout(slot, id), this.#o.timeoutMs);
          slot.worker.postMessage(job);
        },
        (e: unknown) => this.#fail(slot, e),
      );
    }
  }

  #timeout(slot: Slot, id: number): void {
    const job = slot.job;
    if (!job || job.id !== id) return;
    job.abandoned = true;
    job.p.reject(new QueryTimeout(this.#o.timeoutMs));
    // The worker normally stops itself at the same moment and answers; if it does not, replace it.
    job.killTimer = setTimeout(() => this.#replace(slot), KILL_GRACE_MS);
  }

  #finish(slot: Slot, m: ReadReply): void {
    const job = slot.job;
    if (!job || job.id !== m.id) return;
    clearTimeout(job.timer);
    clearTimeout(job.killTimer);
    slot.job = undefined;
    slot.worker.unref();
    if (!job.abandoned) {
      if ('error' in m) {
        job.p.reject(m.timeout ? new QueryTimeout(this.#o.timeoutMs) : new Error(m.error));
      } else {
        job.p.resolve({ rows: m.rows, n: m.n });
      }
    }
    this.#dispatch();
  }

  /** The worker died or could not start: its job fails, a fresh worker takes its place. */
  #fail(slot: Slot, e: unknown): void {
    const i = this.#slots.indexOf(slot);
    if (i < 0) return;
    this.#slots.splice(i, 1);
    const job = slot.job;
    if (job) {
      clearTimeout(job.timer);
      clearTimeout(job.killTimer);
      if (!job.abandoned) job.p.reject(e);
    }
    void slot.worker.terminate();
    if (this.#closed) return;
    // A worker that cannot even start fails the queued jobs instead of respawning in a loop.
    if (!job) {
      for (const p of this.#queue.splice(0)) {
        clearTimeout(p.waitTimer);
        p.reject(e);
      }
      return;
    }
    this.#slots.push(this.#spawn());
    this.#dispatch();
  }

  #replace(slot: Slot): void {
    const i = this.#slots.indexOf(slot);
    if (i < 0) return;
    this.#slots.splice(i, 1);
    void slot.worker.terminate();
    if (this.#closed) return;
    this.#slots.push(this.#spawn());
    this.#dispatch();
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const p of this.#queue.splice(0)) {
      clearTimeout(p.waitTimer);
      p.reject(new Error('the store is closed'));
    }
    const slots = this.#slots.splice(0);
    for (const s of slots) {
      if (s.job) {
        clearTimeout(s.job.timer);
        clearTimeout(s.job.killTimer);
        if (!s.job.abandoned) s.job.p.reject(new Error('the store is closed'));
      }
    }
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }
}
