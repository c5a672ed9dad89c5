// The one place PostgreSQL appends to the audit log's hash chain (audit-hash.ts): resource commits,
// token and signing-key changes all go through here, inside the caller's transaction. The chain's
// head is one row (audit_head) locked FOR UPDATE, which serialises appends across instances.

import { randomUUID } from 'node:crypto';
import type pg from 'pg';
import { auditHash } from '../audit-hash.js';
import { auditColumns } from '../rows.js';
import type { AuditEvent, AuditEventInput } from '../types.js';

/** Appends `events` after the chain's head. Call only inside a transaction (BEGIN … COMMIT on `client`). */
export async function appendAuditPg(client: pg.PoolClient, events: readonly AuditEventInput[]): Promise<void> {
  if (events.length === 0) return;
  const head = (await client.query('SELECT seq, hash FROM audit_head WHERE one FOR UPDATE')).rows[0] as { seq: string; hash: string };
  let seq = Number(head.seq);
  let prevHash = head.hash;
  for (const a of events) {
    seq += 1;
    const ev: Omit<AuditEvent, 'hash'> = { ...a, seq, id: randomUUID(), prevHash };
    const hash = auditHash(ev);
    await client.query(
      `INSERT INTO audit_events (seq, id, at, action, resource_type, resource_id, actor, request_id, reason, changes, version, prev_hash, hash)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
      auditColumns({ ...ev, hash }),
    );
    prevHash = hash;
  }
  await client.query('UPDATE audit_head SET seq = $1, hash = $2 WHERE one', [seq, prevHash]);
}

/** Runs `fn` in one transaction on a pooled connection (ROLLBACK on any error). */
export async function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    const out = await fn(client);
    await client.query('COMMIT');
    return out;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  } finally {
    client.release();
  }
}
