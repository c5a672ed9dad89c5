// Outbox leasing and sync bookkeeping on PostgreSQL: claims use FOR UPDATE SKIP LOCKED, so
// workers in several instances take disjoint rows without waiting on each other.

import type pg from 'pg';
import { keyRow, outboxRow, type Raw, syncLink } from '../rows.js';
import type { KeyStore, OutboxRow, OutboxStore, SigningKeyRecord, SyncLink, SyncStateStore } from '../types.js';

export class PgOutbox implements OutboxStore {
  constructor(private readonly pool: pg.Pool) {}

  async claim(target: string, worker: string, leaseMs: number, limit: number, now = new Date()): Promise<OutboxRow[]> {
    const at = now.toISOString();
    const until = new Date(now.getTime() + leaseMs).toISOString();
    const r = await this.pool.query(
      `UPDATE outbox SET lease_owner = $1, lease_until = $2
        WHERE seq IN (
          SELECT c.seq FROM (
            SELECT o.seq, o.target, o.resource_id FROM outbox o
             WHERE o.target = $3 AND o.status = 'pending' AND o.available_at <= $4
               AND (o.lease_until IS NULL OR o.lease_until < $4)
               -- one agent is converged by one worker at a time: not while another worker leases it
               AND NOT EXISTS (SELECT 1 FROM outbox x WHERE x.target = o.target AND x.resource_id = o.resource_id
                                AND x.status = 'pending' AND x.lease_until >= $4 AND x.lease_owner <> $1)
             ORDER BY o.seq LIMIT $5 FOR UPDATE SKIP LOCKED) c
          -- …nor while another worker is claiming it right now (released when this statement commits)
          WHERE pg_try_advisory_xact_lock(hashtext(c.target || ':' || c.resource_id)))
        RETURNING *`,
      [worker, until, target, at, limit],
    );
    return (r.rows as Raw[]).map(outboxRow).sort((a, b) => a.seq - b.seq);
  }

  async #update(sql: string, values: unknown[]): Promise<boolean> {
    return ((await this.pool.query(sql, values)).rowCount ?? 0) > 0;
  }

  complete(seq: number, worker: string): Promise<boolean> {
    return this.#update(
      `UPDATE outbox SET status = 'done', lease_owner = NULL, lease_until = NULL WHERE seq = $1 AND lease_owner = $2`,
      [seq, worker],
    );
  }

  retry(seq: number, worker: string, error: string, availableAt: Date): Promise<boolean> {
    return this.#update(
      `UPDATE outbox SET attempts = attempts + 1, last_error = $1, available_at = $2, lease_owner = NULL, lease_until = NULL
        WHERE seq = $3 AND lease_owner = $4`,
      [error, availableAt.toISOString(), seq, worker],
    );
  }

  park(seq: number, worker: string, error: string): Promise<boolean> {
    return this.#update(
      `UPDATE outbox SET status = 'parked', attempts = attempts + 1, last_error = $1, lease_owner = NULL, lease_until = NULL
        WHERE seq = $2 AND lease_owner = $3`,
      [error, seq, worker],
    );
  }

  requeue(seq: number): Promise<boolean> {
    return this.#update(`UPDATE outbox SET status = 'pending', attempts = 0, available_at = $1 WHERE seq = $2 AND status = 'parked'`, [
      new Date().toISOString(),
      seq,
    ]);
  }

  async list(f: { target?: string; status?: OutboxRow['status']; limit?: number }): Promise<OutboxRow[]> {
    const r = await this.pool.query(
      `SELECT * FROM outbox WHERE ($1::text IS NULL OR target = $1) AND ($2::text IS NULL OR status = $2) ORDER BY seq LIMIT $3`,
      [f.target ?? null, f.status ?? null, f.limit ?? 1000],
    );
    return (r.rows as Raw[]).map(outboxRow);
  }

  async stats(target: string): Promise<{ pending: number; parked: number; oldestPendingAt?: string }> {
    const r = (
      await this.pool.query(
        `SELECT count(*) FILTER (WHERE status = 'pending') AS pending, count(*) FILTER (WHERE status = 'parked') AS parked,
                min(created) FILTER (WHERE status = 'pending') AS oldest
           FROM outbox WHERE target = $1`,
        [target],
      )
    ).rows[0] as { pending: string; parked: string; oldest: string | null };
    const out: { pending: number; parked: number; oldestPendingAt?: string } = {
      pending: Number(r.pending),
      parked: Number(r.parked),
    };
    if (r.oldest) out.oldestPendingAt = r.oldest;
    return out;
  }
}

export class PgSyncState implements SyncStateStore {
  constructor(private readonly pool: pg.Pool) {}

  async getLink(target: string, resourceId: string): Promise<SyncLink | undefined> {
    const r = await this.pool.query('SELECT * FROM sync_links WHERE target = $1 AND resource_id = $2', [target, resourceId]);
    return r.rows[0] ? syncLink(r.rows[0]) : undefined;
  }

  async putLink(l: SyncLink): Promise<void> {
    await this.pool.query(
      `INSERT INTO sync_links (target, resource_id, remote_id, remote_state, last_synced_at, last_error, synced_version)
       VALUES ($1, $2, $3, $4, $5, $6, $7)
       ON CONFLICT (target, resource_id) DO UPDATE SET remote_id = excluded.remote_id, remote_state = excluded.remote_state,
         last_synced_at = excluded.last_synced_at, last_error = excluded.last_error, synced_version = excluded.synced_version`,
      [
        l.target,
        l.resourceId,
        l.remoteId ?? null,
        l.remoteState === undefined ? null : JSON.stringify(l.remoteState),
        l.lastSyncedAt ?? null,
        l.lastError ?? null,
        l.syncedVersion ?? null,
      ],
    );
  }

  async links(target: string, after = '', limit = 1000): Promise<SyncLink[]> {
    const r = await this.pool.query(
      'SELECT * FROM sync_links WHERE target = $1 AND resource_id > $2 ORDER BY resource_id LIMIT $3',
      [target, after, limit],
    );
    return (r.rows as Raw[]).map(syncLink);
  }

  async deleteLink(target: string, resourceId: string): Promise<void> {
    await this.pool.query('DELETE FROM sync_links WHERE target = $1 AND resource_id = $2', [target, resourceId]);
  }

  async getCursor(name: string): Promise<string | undefined> {
    const r = await this.pool.query('SELECT value FROM sync_cursors WHERE name = $1', [name]);
    return (r.rows[0] as { value: string } | undefined)?.value;
  }

  async putCursor(name: string, value: string | undefined): Promise<void> {
    if (value === undefined) await this.pool.query('DELETE FROM sync_cursors WHERE name = $1', [name]);
    else
      await this.pool.query(
        'INSERT INTO sync_cursors (name, value, updated_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at',
        [name, value, new Date().toISOString()],
      );
  }
}

export class PgKeys implements KeyStore {
  constructor(private readonly pool: pg.Pool) {}

  async list(): Promise<SigningKeyRecord[]> {
    return ((await this.pool.query('SELECT * FROM signing_keys ORDER BY created_at')).rows as Raw[]).map(keyRow);
  }

  async insertActive(k: Omit<SigningKeyRecord, 'status'>): Promise<boolean> {
    const r = await this.pool.query(
      `INSERT INTO signing_keys (kid, alg, public_jwk, private_key_enc, created_at, status) VALUES ($1, $2, $3, $4, $5, 'active')
       ON CONFLICT DO NOTHING`,
      [k.kid, k.alg, JSON.stringify(k.publicJwk), k.privateKeyEnc, k.createdAt],
    );
    return (r.rowCount ?? 0) > 0;
  }

  async rotate(next: Omit<SigningKeyRecord, 'status'>, retiredAt: string, verifyUntil: string): Promise<void> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      await c.query(`UPDATE signing_keys SET status = 'retired', retired_at = $1, verify_until = $2 WHERE status = 'active'`, [
        retiredAt,
        verifyUntil,
      ]);
      await c.query(
        `INSERT INTO signing_keys (kid, alg, public_jwk, private_key_enc, created_at, status) VALUES ($1, $2, $3, $4, $5, 'active')`,
        [next.kid, next.alg, JSON.stringify(next.publicJwk), next.privateKeyEnc, next.createdAt],
      );
      await c.query('COMMIT');
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      c.release();
    }
  }
}
