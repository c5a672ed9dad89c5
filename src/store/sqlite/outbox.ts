// Outbox leasing and sync bookkeeping on SQLite. A claim is one IMMEDIATE transaction, so two
// worker processes on the same file serialise and never lease the same row; nor rows of a resource
// another worker holds a live lease on (one agent is converged by one worker at a time).

import type Database from 'better-sqlite3';
import { keyRow, outboxRow, type Raw, syncLink } from '../rows.js';
import { appendAuditSqlite } from './audit-append.js';
import { prep } from './prep.js';
import type { AuditEventInput, KeyStore, OutboxRow, OutboxStore, SigningKeyRecord, SyncLink, SyncStateStore } from '../types.js';

export class SqliteOutbox implements OutboxStore {
  constructor(private readonly db: Database.Database) {}

  async claim(target: string, worker: string, leaseMs: number, limit: number, now = new Date()): Promise<OutboxRow[]> {
    const at = now.toISOString();
    const until = new Date(now.getTime() + leaseMs).toISOString();
    const tx = this.db.transaction(() => {
      const rows = this.db
        .prepare(
          `SELECT * FROM outbox o WHERE o.target = ? AND o.status = 'pending' AND o.available_at <= ?
             AND (o.lease_until IS NULL OR o.lease_until < ?)
             AND NOT EXISTS (SELECT 1 FROM outbox x WHERE x.target = o.target AND x.resource_id = o.resource_id
                              AND x.status = 'pending' AND x.lease_until >= ? AND x.lease_owner <> ?)
           ORDER BY o.seq LIMIT ?`,
        )
        .all(target, at, at, at, worker, limit) as Raw[];
      const upd = prep(this.db, 'UPDATE outbox SET lease_owner = ?, lease_until = ? WHERE seq = ?');
      for (const r of rows) upd.run(worker, until, r.seq);
      return rows.map((r) => outboxRow({ ...r, lease_owner: worker, lease_until: until }));
    });
    return tx.immediate();
  }

  async complete(seq: number, worker: string): Promise<boolean> {
    return (
      this.db
        .prepare(`UPDATE outbox SET status = 'done', lease_owner = NULL, lease_until = NULL WHERE seq = ? AND lease_owner = ?`)
        .run(seq, worker).changes > 0
    );
  }

  async retry(seq: number, worker: string, error: string, availableAt: Date): Promise<boolean> {
    return (
      this.db
        .prepare(
          `UPDATE outbox SET attempts = attempts + 1, last_error = ?, available_at = ?, lease_owner = NULL, lease_until = NULL
            WHERE seq = ? AND lease_owner = ?`,
        )
        .run(error, availableAt.toISOString(), seq, worker).changes > 0
    );
  }

  async park(seq: number, worker: string, error: string): Promise<boolean> {
    return (
      this.db
        .prepare(
          `UPDATE outbox SET status = 'parked', attempts = attempts + 1, last_error = ?, lease_owner = NULL, lease_until = NULL
            WHERE seq = ? AND lease_owner = ?`,
        )
        .run(error, seq, worker).changes > 0
    );
  }

  async requeue(seq: number): Promise<boolean> {
    return (
      this.db
        .prepare(`UPDATE outbox SET status = 'pending', attempts = 0, available_at = ? WHERE seq = ? AND status = 'parked'`)
        .run(new Date().toISOString(), seq).changes > 0
    );
  }

  async list(f: { target?: string; status?: OutboxRow['status']; limit?: number }): Promise<OutboxRow[]> {
    const rows = this.db
      .prepare(
        `SELECT * FROM outbox WHERE (? IS NULL OR target = ?) AND (? IS NULL OR status = ?) ORDER BY seq LIMIT ?`,
      )
      .all(f.target ?? null, f.target ?? null, f.status ?? null, f.status ?? null, f.limit ?? 1000) as Raw[];
    return rows.map(outboxRow);
  }

  async stats(target: string): Promise<{ pending: number; parked: number; oldestPendingAt?: string }> {
    const r = this.db
      .prepare(
        `SELECT sum(status = 'pending') AS pending, sum(status = 'parked') AS parked,
                min(CASE WHEN status = 'pending' THEN created END) AS oldest
           FROM outbox WHERE target = ?`,
      )
      .get(target) as { pending: number | null; parked: number | null; oldest: string | null };
    const out: { pending: number; parked: number; oldestPendingAt?: string } = {
      pending: r.pending ?? 0,
      parked: r.parked ?? 0,
    };
    if (r.oldest) out.oldestPendingAt = r.oldest;
    return out;
  }
}

export class SqliteSyncState implements SyncStateStore {
  constructor(private readonly db: Database.Database) {}

  async getLink(target: string, resourceId: string): Promise<SyncLink | undefined> {
    const r = prep(this.db, 'SELECT * FROM sync_links WHERE target = ? AND resource_id = ?').get(target, resourceId) as Raw | undefined;
    return r ? syncLink(r) : undefined;
  }

  async getLinks(target: string, resourceIds: string[]): Promise<Map<string, SyncLink>> {
    const out = new Map<string, SyncLink>();
    if (resourceIds.length === 0) return out;
    const rows = prep(this.db, 'SELECT * FROM sync_links WHERE target = ? AND resource_id IN (SELECT value FROM json_each(?))').all(
      target,
      JSON.stringify(resourceIds),
    ) as Raw[];
    for (const r of rows) out.set(r.resource_id as string, syncLink(r));
    return out;
  }

  async putLink(l: SyncLink): Promise<void> {
    this.db
      .prepare(
        `INSERT INTO sync_links (target, resource_id, remote_id, remote_state, last_synced_at, last_error, synced_version)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (target, resource_id) DO UPDATE SET remote_id = excluded.remote_id, remote_state = excluded.remote_state,
           last_synced_at = excluded.last_synced_at, last_error = excluded.last_error, synced_version = excluded.synced_version`,
      )
      .run(
        l.target,
        l.resourceId,
        l.remoteId ?? null,
        l.remoteState === undefined ? null : JSON.stringify(l.remoteState),
        l.lastSyncedAt ?? null,
        l.lastError ?? null,
        l.syncedVersion ?? null,
      );
  }

  async links(target: string, after = '', limit = 1000): Promise<SyncLink[]> {
    return (
      this.db
        .prepare('SELECT * FROM sync_links WHERE target = ? AND resource_id > ? ORDER BY resource_id LIMIT ?')
        .all(target, after, limit) as Raw[]
    ).map(syncLink);
  }

  async deleteLink(target: string, resourceId: string): Promise<void> {
    prep(this.db, 'DELETE FROM sync_links WHERE target = ? AND resource_id = ?').run(target, resourceId);
  }

  async getCursor(name: string): Promise<string | undefined> {
    const r = prep(this.db, 'SELECT value FROM sync_cursors WHERE name = ?').get(name) as { value: string } | undefined;
    return r?.value;
  }

  async putCursor(name: string, value: string | undefined): Promise<void> {
    if (value === undefined) prep(this.db, 'DELETE FROM sync_cursors WHERE name = ?').run(name);
    else
      this.db
        .prepare(
          'INSERT INTO sync_cursors (name, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at',
        )
        .run(name, value, new Date().toISOString());
  }
}

export class SqliteKeys implements KeyStore {
  constructor(private readonly db: Database.Database) {}

  async list(): Promise<SigningKeyRecord[]> {
    return (prep(this.db, 'SELECT * FROM signing_keys ORDER BY created_at').all() as Raw[]).map(keyRow);
  }

  #insert(k: Omit<SigningKeyRecord, 'status'>): void {
    this.db
      .prepare(
        `INSERT INTO signing_keys (kid, alg, public_jwk, private_key_enc, created_at, status) VALUES (?, ?, ?, ?, ?, 'active')`,
      )
      .run(k.kid, k.alg, JSON.stringify(k.publicJwk), k.privateKeyEnc, k.createdAt);
  }

  async insertActive(k: Omit<SigningKeyRecord, 'status'>, audit: AuditEventInput): Promise<boolean> {
    try {
      this.db
        .transaction(() => {
          this.#insert(k);
          appendAuditSqlite(this.db, [audit]);
        })
        .immediate();
      return true;
    } catch (e) {
      if (String((e as { code?: unknown }).code).startsWith('SQLITE_CONSTRAINT')) return false;
      throw e;
    }
  }

  async rotate(
    next: Omit<SigningKeyRecord, 'status'>,
    retiredAt: string,
    verifyUntil: string,
    audit: (retired: SigningKeyRecord | undefined) => AuditEventInput,
  ): Promise<{ retired?: string }> {
    return this.db
      .transaction(() => {
        const active = prep(this.db, `SELECT * FROM signing_keys WHERE status = 'active'`).get() as Raw | undefined;
        const retired = active ? keyRow(active) : undefined;
        this.db
          .prepare(`UPDATE signing_keys SET status = 'retired', retired_at = ?, verify_until = ? WHERE status = 'active'`)
          .run(retiredAt, verifyUntil);
        this.#insert(next);
        appendAuditSqlite(this.db, [audit(retired)]);
        return retired ? { retired: retired.kid } : {};
      })
      .immediate();
  }
}
