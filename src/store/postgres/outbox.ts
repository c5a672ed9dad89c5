// Outbox leasing and sync bookkeeping on PostgreSQL: claims use FOR UPDATE SKIP LOCKED, so
// workers in several instances take disjoint rows without waiting on each other.

import type pg from 'pg';
import { keyRow, outboxRow, type Raw, syncLink } from '../rows.js';
import { appendAuditPg, inTransaction } from './audit-append.js';
import type { AuditEventInput, KeyStore, OutboxRow, OutboxStore, SigningKeyRecord, SyncLink, SyncStateStore } from '../types.js';

export class PgOutbox implements OutboxStore {
  constructor(private readonly pool: pg.Pool) {}

  /**
   * Rows are taken with FOR UPDATE SKIP LOCKED; each resource among them is then locked for this
   * transaction (advisory lock), and only after that — in a new snapshot, which sees any claim
   * committed meanwhile — are resources leased by another worker left out. So one resource is never
   * leased to two workers, even by claims racing on several instances.
   */
  async claim(target: string, worker: string, leaseMs: number, limit: number, now = new Date()): Promise<OutboxRow[]> {
    const at = now.toISOString();
    const until = new Date(now.getTime() + leaseMs).toISOString();
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const cand = (
        await c.query(
          `SELECT seq, resource_id FROM outbox
            WHERE target = $1 AND status = 'pending' AND available_at <= $2 AND (lease_until IS NULL OR lease_until < $2)
            ORDER BY seq LIMIT $3 FOR UPDATE SKIP LOCKED`,
          [target, at, limit],
        )
      ).rows as { seq: string; resource_id: string }[];
      const resources = [...new Set(cand.map((r) => r.resource_id))];
      const locked = new Set<string>();
      for (const rid of resources) {
        const r = await c.query('SELECT pg_try_advisory_xact_lock(hashtext($1)) AS ok', [`${target}:${rid}`]);
        if ((r.rows[0] as { ok: boolean }).ok) locked.add(rid);
      }
      const busy = new Set(
        (
          (
            await c.query(
              `SELECT DISTINCT resource_id FROM outbox WHERE target = $1 AND resource_id = ANY($2) AND status = 'pending'
                 AND lease_until >= $3 AND lease_owner <> $4`,
              [target, [...locked], at, worker],
            )
          ).rows as { resource_id: string }[]
        ).map((r) => r.resource_id),
      );
      const seqs = cand.filter((r) => locked.has(r.resource_id) && !busy.has(r.resource_id)).map((r) => Number(r.seq));
      const rows =
        seqs.length === 0
          ? []
          : ((await c.query('UPDATE outbox SET lease_owner = $1, lease_until = $2 WHERE seq = ANY($3) RETURNING *', [worker, until, seqs]))
              .rows as Raw[]);
      await c.query('COMMIT');
      return rows.map(outboxRow).sort((x, y) => x.seq - y.seq);
    } catch (e) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw e;
    } finally {
      c.release();
    }
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

  async getLinks(target: string, resourceIds: string[]): Promise<Map<string, SyncLink>> {
    const out = new Map<string, SyncLink>();
    if (resourceIds.length === 0) return out;
    const r = await this.pool.query('SELECT * FROM sync_links WHERE target = $1 AND resource_id = ANY($2)', [target, resourceIds]);
    for (const row of r.rows as Raw[]) out.set(row.resource_id as string, syncLink(row));
    return out;
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

  async insertActive(k: Omit<SigningKeyRecord, 'status'>, audit: AuditEventInput): Promise<boolean> {
    return inTransaction(this.pool, async (c) => {
      const r = await c.query(
        `INSERT INTO signing_keys (kid, alg, public_jwk, private_key_enc, created_at, status) VALUES ($1, $2, $3, $4, $5, 'active')
         ON CONFLICT DO NOTHING`,
        [k.kid, k.alg, JSON.stringify(k.publicJwk), k.privateKeyEnc, k.createdAt],
      );
      const inserted = (r.rowCount ?? 0) > 0;
      if (inserted) await appendAuditPg(c, [audit]);
      return inserted;
    });
  }

  async rotate(
    next: Omit<SigningKeyRecord, 'status'>,
    retiredAt: string,
    verifyUntil: string,
    audit: (retired: SigningKeyRecord | undefined) => AuditEventInput,
  ): Promise<{ retired?: string }> {
    return inTransaction(this.pool, async (c) => {
      const active = (await c.query(`SELECT * FROM signing_keys WHERE status = 'active' FOR UPDATE`)).rows[0] as Raw | undefined;
      const retired = active ? keyRow(active) : undefined;
      await c.query(`UPDATE signing_keys SET status = 'retired', retired_at = $1, verify_until = $2 WHERE status = 'active'`, [
        retiredAt,
        verifyUntil,
      ]);
      await c.query(
        `INSERT INTO signing_keys (kid, alg, public_jwk, private_key_enc, created_at, status) VALUES ($1, $2, $3, $4, $5, 'active')`,
        [next.kid, next.alg, JSON.stringify(next.publicJwk), next.privateKeyEnc, next.createdAt],
      );
      await appendAuditPg(c, [audit(retired)]);
      return retired ? { retired: retired.kid } : {};
    });
  }
}
