// The one place SQLite appends to the audit log's hash chain (audit-hash.ts): resource commits,
// token and signing-key changes all go through here, inside the caller's (IMMEDIATE) transaction,
// so the chain's head read here cannot move before the transaction commits.

import { randomUUID } from 'node:crypto';
import type Database from 'better-sqlite3';
import { auditHash, GENESIS_HASH } from '../audit-hash.js';
import { auditColumns } from '../rows.js';
import type { AuditEvent, AuditEventInput } from '../types.js';
import { prep } from './prep.js';

/** Appends `events` after the chain's head. Call only inside a transaction. */
export function appendAuditSqlite(db: Database.Database, events: readonly AuditEventInput[]): void {
  if (events.length === 0) return;
  if (!db.inTransaction) throw new Error('audit events are appended only inside the transaction of their change');
  const last = prep(db, 'SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1').get() as { seq: number; hash: string } | undefined;
  let seq = last?.seq ?? 0;
  let prevHash = last?.hash ?? GENESIS_HASH;
  const ins = prep(
    db,
    'INSERT INTO audit_events (seq, id, at, action, resource_type, resource_id, actor, request_id, reason, changes, version, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
  );
  for (const a of events) {
    seq += 1;
    const ev: Omit<AuditEvent, 'hash'> = { ...a, seq, id: randomUUID(), prevHash };
    const hash = auditHash(ev);
    ins.run(...auditColumns({ ...ev, hash }));
    prevHash = hash;
  }
}
