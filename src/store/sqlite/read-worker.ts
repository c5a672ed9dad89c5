// One read worker of the SQLite store (read-pool.ts): a worker thread with its own read-only
// connection to the same WAL database, so that a slow list query blocks this thread, not the
// event loop that serves every other request. Started by the pool, never imported elsewhere.

import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { registerSqlFunctions } from './functions.js';

export interface ReadJob {
  id: number;
  page?: { sql: string; params: unknown[] };
  count?: { sql: string; params: unknown[] };
  /** the statement time limit, measured here from the start of the job */
  timeoutMs: number;
}

export type ReadReply =
  | { id: number; rows: unknown[]; n: number | undefined }
  | { id: number; error: string; timeout: boolean };

export interface ReadWorkerData {
  path: string;
}

/** Message of the error ar_deadline() raises; SQLite passes it through as the statement's error. */
export const DEADLINE_MESSAGE = 'agentroster: statement time limit reached';

function main(): void {
  const port = parentPort;
  if (!port) return;
  const { path } = workerData as ReadWorkerData;
  const db = new Database(path, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  registerSqlFunctions(db);
  let deadline = Infinity;
  // Called once per row examined (the pool adds it to the WHERE clause): better-sqlite3 has no
  // sqlite3_interrupt, but an error thrown by a user function stops the statement at once.
  db.function('ar_deadline', { deterministic: false }, (_seq: unknown) => {
    if (performance.now() > deadline) throw new Error(DEADLINE_MESSAGE);
    return 1;
  });
  const stmts = new Map<string, Database.Statement>();
  const stmt = (sql: string) => {
    let s = stmts.get(sql);
    if (!s) {
      if (stmts.size > 500) stmts.clear(); // filters vary; keep the cache bounded
      s = db.prepare(sql);
      stmts.set(sql, s);
    }
    return s;
  };
  // Page and total from one snapshot: one read transaction around both.
  const read = db.transaction((job: ReadJob) => {
    const rows = job.page ? stmt(job.page.sql).all(...job.page.params) : [];
    const n = job.count ? (stmt(job.count.sql).get(...job.count.params) as { n: number }).n : undefined;
    return { rows, n };
  });
  port.on('message', (job: ReadJob) => {
    deadline = performance.now() + job.timeoutMs;
    let reply: ReadReply;
    try {
      reply = { id: job.id, ...read(job) };
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      reply = { id: job.id, error: message, timeout: message.includes(DEADLINE_MESSAGE) };
    }
    deadline = Infinity;
    port.postMessage(reply);
  });
  port.postMessage({ ready: true });
}

main();
