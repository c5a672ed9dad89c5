// The PostgreSQL store: several stateless agentroster instances share one database. Same
// behaviour as SQLite: optimistic versions, uniqueness by unique indexes (not read-then-write),
// one transaction per commit holding resources, audit events and outbox rows.

import { createHash } from 'node:crypto';
import pg from 'pg';
import { uniqueness } from '../../scim/errors.js';
import type { ResourceTypeInfo, SchemaRegistry } from '../../scim/registry.js';
import { SqlFilterTranslator } from '../filter-sql.js';
import { countQuery, finishList, planList } from '../list-sql.js';
import { indexName, pathKey, SINGLE_VALUED_INDEXES } from '../indexes.js';
import { type MultiValuedIndex, multiValuedIndexes, valueChanges } from '../multi-values.js';
import { auditRow, type Raw, tokenRow } from '../rows.js';
import { appendAuditPg, inTransaction } from './audit-append.js';
import { numberPlaceholders, postgresDialect } from '../sql-dialect.js';
import {
  type AuditEvent,
  type AuditEventInput,
  type AuditWhere,
  auditWhereSql,
  type Commit,
  type CommitGuard,
  type Json,
  LimitExceeded,
  type ListQuery,
  type ListResult,
  RowMissing,
  type Store,
  type StoredResource,
  type NewTokenRecord,
  type TokenRecord,
  type TokenStore,
  type KeyStore,
  VersionConflict,
} from '../types.js';
import { PgKeys, PgOutbox, PgSyncState } from './outbox.js';
import type { CostClassifier } from '../../scim/filter/cost.js';
import { costClassifier, defaultScanConcurrency, isCheapList, QueryTimeout, ScanGate } from '../query-cost.js';
import { PG_MIGRATIONS } from './schema.js';

export interface PostgresStoreOptions {
  url: string;
  /** a schema (namespace) to hold the tables; created when missing. Default: public */
  schema?: string;
  poolSize?: number;
  /** migrate only up to this version (tests of upgrades) */
  targetVersion?: number;
  /** statement_timeout of list queries that may scan, in milliseconds (default 5000) */
  queryTimeoutMs?: number;
  /**
   * list queries that may scan at once from this instance (0: no cap); default one per spare core,
   * 1–4: on a shared machine the database's CPU is the server's CPU
   */
  scanConcurrency?: number;
}

const COLS = 'r.type, r.id, r.data, r.version, r.created, r.last_modified, r.seq';
const MIGRATION_LOCK = 7_348_112_991; // pg_advisory_lock key: "agentroster migrations"

/** The advisory lock of a commit guard: a signed 64-bit hash of its key (namespaced: never MIGRATION_LOCK in practice). */
export function guardLockKey(key: string): string {
  return createHash('sha256').update(`agentroster commit guard\u0000${key}`).digest().readBigInt64BE(0).toString();
}

function toStored(r: Raw): StoredResource {
  return {
    type: r.type as string,
    id: r.id as string,
    data: r.data as Json,
    version: Number(r.version),
    created: r.created as string,
    lastModified: r.last_modified as string,
  };
}

function q(sql: string): string {
  return numberPlaceholders(sql);
}

export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  readonly #pool: pg.Pool;
  readonly #registry: SchemaRegistry;
  readonly #translators = new Map<string, SqlFilterTranslator>();
  readonly #mv: MultiValuedIndex[];
  readonly #uniqueIndexAttr = new Map<string, string>();
  readonly #classifiers = new Map<string, CostClassifier>();
  readonly #queryTimeoutMs: number;
  readonly #scanGate: ScanGate | undefined;
  readonly tokens: TokenStore;
  readonly keys: KeyStore;
  readonly outbox: PgOutbox;
  readonly sync: PgSyncState;

  private constructor(registry: SchemaRegistry, pool: pg.Pool, queryTimeoutMs: number, scanConcurrency: number) {
    this.#registry = registry;
    this.#pool = pool;
    this.#queryTimeoutMs = queryTimeoutMs;
    // the wait for a turn is bounded like the query itself
    this.#scanGate = scanConcurrency > 0 ? new ScanGate(scanConcurrency, queryTimeoutMs) : undefined;
    this.#mv = multiValuedIndexes(registry);
    for (const ia of SINGLE_VALUED_INDEXES) if (ia.unique) this.#uniqueIndexAttr.set(indexName('ux', ia), pathKey(ia.path));
    this.#uniqueIndexAttr.set('ux_resource_values_unique_v5', 'a credential\'s credentialId or keyThumbprint (one credential belongs to one agent)');
    this.tokens = new PgTokens(pool);
    this.outbox = new PgOutbox(pool);
    this.sync = new PgSyncState(pool);
    this.keys = new PgKeys(pool);
  }

  static async open(registry: SchemaRegistry, o: PostgresStoreOptions): Promise<PostgresStore> {
    const schema = o.schema;
    if (schema !== undefined && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) throw new Error(`invalid schema name "${schema}"`);
    const pool = new pg.Pool({
      connectionString: o.url,
      max: o.poolSize ?? 10,
      ...(schema ? { options: `-c search_path=${schema}` } : {}),
    });
    // An idle client that errors (server restart) must not crash the process; the next query reconnects.
    pool.on('error', () => undefined);
    const store = new PostgresStore(registry, pool, o.queryTimeoutMs ?? 5000, o.scanConcurrency ?? defaultScanConcurrency());
    try {
      if (schema) await pool.query(`CREATE SCHEMA IF NOT EXISTS ${schema}`);
      await store.#migrate(o.targetVersion);
    } catch (e) {
      await pool.end();
      throw e;
    }
    return store;
  }

  /** Two instances starting at once: the advisory lock makes the second wait, then find nothing to do. */
  async #migrate(targetVersion = Number.MAX_SAFE_INTEGER): Promise<void> {
    const c = await this.#pool.connect();
    try {
      await c.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
      await c.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)',
      );
      const done = new Set((await c.query('SELECT version FROM schema_migrations')).rows.map((r: Raw) => Number(r.version)));
      for (const m of PG_MIGRATIONS) {
        if (done.has(m.version) || m.version > targetVersion) continue;
        await c.query('BEGIN');
        try {
          for (const sql of m.statements(this.#registry)) await c.query(sql);
          await c.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [
            m.version,
            m.name,
            new Date().toISOString(),
          ]);
          await c.query('COMMIT');
        } catch (e) {
          await c.query('ROLLBACK');
          throw e;
        }
      }
    } finally {
      await c.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
      c.release();
    }
  }

  async optimize(): Promise<void> {
    await this.#pool.query('ANALYZE resources');
    await this.#pool.query('ANALYZE resource_values');
  }

  async schemaVersion(): Promise<number> {
    const r = await this.#pool.query('SELECT coalesce(max(version), 0) AS v FROM schema_migrations');
    return Number(r.rows[0].v);
  }

  #translator(rt: ResourceTypeInfo): SqlFilterTranslator {
    let t = this.#translators.get(rt.type.name);
    if (!t) {
      t = new SqlFilterTranslator(this.#registry, rt, postgresDialect);
      this.#translators.set(rt.type.name, t);
    }
    return t;
  }

  async get(type: string, id: string): Promise<StoredResource | undefined> {
    const r = await this.#pool.query({
      name: 'get-resource',
      text: `SELECT ${COLS} FROM resources r WHERE r.type = $1 AND r.id = $2`,
      values: [type, id],
    });
    return r.rows[0] ? toStored(r.rows[0]) : undefined;
  }

  async getMany(type: string, ids: string[]): Promise<StoredResource[]> {
    if (ids.length === 0) return [];
    const r = await this.#pool.query(`SELECT ${COLS} FROM resources r WHERE r.type = $1 AND r.id = ANY($2) ORDER BY r.seq`, [
      type,
      ids,
    ]);
    return r.rows.map(toStored);
  }

  #classifier(rt: ResourceTypeInfo): CostClassifier {
    let c = this.#classifiers.get(rt.type.name);
    if (!c) {
      c = costClassifier(this.#registry, rt);
      this.#classifiers.set(rt.type.name, c);
    }
    return c;
  }

  async list(rt: ResourceTypeInfo, lq: ListQuery): Promise<ListResult> {
    const plan = planList(this.#translator(rt), rt.type.name, lq);
    if (!isCheapList(this.#classifier(rt), lq)) return this.#limitedList(plan);
    const [rows, total] = await Promise.all([
      plan.pageSql ? this.#pool.query(q(plan.pageSql), plan.pageParams).then((r) => r.rows as Raw[]) : Promise.resolve([]),
      plan.countSql
        ? this.#pool.query(q(plan.countSql), plan.countParams).then((r) => Number((r.rows[0] as { n: unknown }).n))
        : Promise.resolve(undefined),
    ]);
    return finishList(plan, rows as { seq: unknown }[], toStored as (r: never) => StoredResource, total);
  }

  /**
   * A list query that may scan: page and total in one read-only snapshot, under statement_timeout
   * (SET LOCAL: the limit ends with the transaction, writes on this connection never inherit it).
   * SQLSTATE 57014 (query_canceled) becomes QueryTimeout, like the SQLite read workers' limit.
   */
  async #limitedList(plan: ReturnType<typeof planList>): Promise<ListResult> {
    const release = await this.#scanGate?.acquire();
    try {
      return await this.#runLimited(plan);
    } finally {
      release?.();
    }
  }

  async #runLimited(plan: ReturnType<typeof planList>): Promise<ListResult> {
    const client = await this.#pool.connect();
    let broken = false;
    try {
      // one round trip: the simple protocol takes several statements at once
      await client.query(`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET LOCAL statement_timeout = ${Math.floor(this.#queryTimeoutMs)}`);
      const rows = plan.pageSql ? ((await client.query(q(plan.pageSql), plan.pageParams)).rows as Raw[]) : [];
      const total = plan.countSql ? Number(((await client.query(q(plan.countSql), plan.countParams)).rows[0] as { n: unknown }).n) : undefined;
      await client.query('COMMIT');
      return finishList(plan, rows as { seq: unknown }[], toStored as (r: never) => StoredResource, total);
    } catch (e) {
      // a connection that cannot even roll back is discarded, not returned to the pool
      broken = await client.query('ROLLBACK').then(() => false, () => true);
      if ((e as { code?: unknown }).code === '57014') throw new QueryTimeout(this.#queryTimeoutMs);
      throw e;
    } finally {
      client.release(broken);
    }
  }

  async explain(rt: ResourceTypeInfo, lq: ListQuery): Promise<string[]> {
    const plan = planList(this.#translator(rt), rt.type.name, { ...lq, count: Math.max(lq.count, 1) });
    const r = await this.#pool.query(q(`EXPLAIN ${plan.pageSql!}`), plan.pageParams);
    return r.rows.map((x: Raw) => String(x['QUERY PLAN']));
  }

  async commit(c: Commit): Promise<void> {
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      for (const w of c.writes) {
        if (w.kind === 'insert') {
          await client.query(
            'INSERT INTO resources (type, id, data, version, created, last_modified) VALUES ($1, $2, $3, 1, $4, $4)',
            [w.type, w.id, w.data, w.at],
          );
          await this.#writeValues(client, w.type, w.id, undefined, w.data);
          await client.query('INSERT INTO resource_counts (type, n) VALUES ($1, 1) ON CONFLICT (type) DO UPDATE SET n = resource_counts.n + 1', [w.type]);
        } else if (w.kind === 'update') {
          const before =
            w.before ??
            ((await client.query('SELECT data FROM resources WHERE type = $1 AND id = $2', [w.type, w.id])).rows[0]?.data as
              | Json
              | undefined);
          const r = w.keepMeta
            ? await client.query('UPDATE resources SET data = $1 WHERE type = $2 AND id = $3 AND version = $4', [
                w.data,
                w.type,
                w.id,
                w.expectedVersion,
              ])
            : await client.query(
                'UPDATE resources SET data = $1, version = version + 1, last_modified = $2 WHERE type = $3 AND id = $4 AND version = $5',
                [w.data, w.at, w.type, w.id, w.expectedVersion],
              );
          if (r.rowCount === 0) throw await this.#missingOrConflict(client, w.type, w.id);
          await this.#writeValues(client, w.type, w.id, before, w.data);
        } else {
          const r =
            w.expectedVersion === undefined
              ? await client.query('DELETE FROM resources WHERE type = $1 AND id = $2', [w.type, w.id])
              : await client.query('DELETE FROM resources WHERE type = $1 AND id = $2 AND version = $3', [
                  w.type,
                  w.id,
                  w.expectedVersion,
                ]);
          if (r.rowCount === 0) throw await this.#missingOrConflict(client, w.type, w.id);
          await client.query('DELETE FROM resource_values WHERE type = $1 AND id = $2', [w.type, w.id]);
          await client.query('UPDATE resource_counts SET n = n - 1 WHERE type = $1', [w.type]);
        }
      }
      if (c.guards && c.guards.length > 0) await this.#checkGuards(client, c.guards);
      await appendAuditPg(client, c.audit);
      const now = new Date().toISOString();
      for (const o of c.outbox) {
        await client.query(
          'INSERT INTO outbox (target, resource_type, resource_id, action, version, created, available_at) VALUES ($1, $2, $3, $4, $5, $6, $6)',
          [o.target, o.resourceType, o.resourceId, o.action, o.version, now],
        );
      }
      await client.query('COMMIT');
    } catch (e) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw this.#mapConstraint(e);
    } finally {
      client.release();
    }
  }

  /**
   * The commit's guards, after its writes: a transaction advisory lock per key (in key order, so two
   * commits with several guards cannot deadlock), then the counts. Commits on the same limit, from
   * any instance, wait for each other here; under READ COMMITTED each count (a new statement after
   * the lock was granted) sees every commit that held the lock before, plus this commit's writes.
   * The locks end with the transaction.
   */
  async #checkGuards(client: pg.PoolClient, guards: CommitGuard[]): Promise<void> {
    for (const key of [...new Set(guards.map((g) => g.key))].sort()) {
      await client.query('SELECT pg_advisory_xact_lock($1::bigint)', [guardLockKey(key)]);
    }
    for (const g of guards) {
      const rt = this.#registry.resourceType(g.type);
      if (!rt) throw new Error(`commit guard ${g.key}: unknown resource type "${g.type}"`);
      const cq = countQuery(this.#translator(rt), rt.type.name, g.filter);
      const n = Number(((await client.query(q(cq.sql), cq.params)).rows[0] as { n: unknown }).n);
      if (n > g.max) throw new LimitExceeded(g.key, n, g.max, g.message);
    }
  }

  async #missingOrConflict(client: pg.PoolClient, type: string, id: string): Promise<Error> {
    const r = await client.query('SELECT 1 FROM resources WHERE type = $1 AND id = $2', [type, id]);
    return r.rowCount ? new VersionConflict(type, id) : new RowMissing(type, id);
  }

  async #writeValues(client: pg.PoolClient, type: string, id: string, before: Json | undefined, after: Json | undefined) {
    const { removed, added } = valueChanges(this.#mv, type, before, after);
    if (removed.length > 0) {
      await client.query(
        `DELETE FROM resource_values WHERE type = $1 AND id = $2 AND (attr, value) IN (SELECT * FROM unnest($3::text[], $4::text[]))`,
        [type, id, removed.map((r) => r[0]), removed.map((r) => r[1])],
      );
    }
    if (added.length > 0) {
      await client.query(
        `INSERT INTO resource_values (type, id, attr, value) SELECT $1, $2, a, v FROM unnest($3::text[], $4::text[]) AS t(a, v)`,
        [type, id, added.map((r) => r[0]), added.map((r) => r[1])],
      );
    }
  }

  #mapConstraint(e: unknown): unknown {
    if (e instanceof Error && (e as { code?: string }).code === '23505') {
      const constraint = (e as { constraint?: string }).constraint ?? '';
      const attr = this.#uniqueIndexAttr.get(constraint) ?? constraint;
      return uniqueness(`${attr || 'a unique attribute'} is already in use by another resource`);
    }
    return e;
  }

  async groupsOf(memberIds: string[]): Promise<Map<string, { value: string; display?: string }[]>> {
    const out = new Map<string, { value: string; display?: string }[]>();
    if (memberIds.length === 0) return out;
    const r = await this.#pool.query(
      `SELECT v.value AS member, g.id AS gid, g.data ->> 'displayName' AS display
         FROM resource_values v JOIN resources g ON g.type = 'Group' AND g.id = v.id
        WHERE v.type = 'Group' AND v.attr = 'members.value' AND v.value = ANY($1)
        ORDER BY g.seq`,
      [memberIds.map((i) => i.toLowerCase())],
    );
    const byLower = new Map(memberIds.map((i) => [i.toLowerCase(), i]));
    for (const row of r.rows as { member: string; gid: string; display: string | null }[]) {
      const id = byLower.get(row.member) ?? row.member;
      const list = out.get(id) ?? [];
      list.push(row.display === null ? { value: row.gid } : { value: row.gid, display: row.display });
      out.set(id, list);
    }
    return out;
  }

  async auditEvents(after = 0, limit = 1000, where?: AuditWhere): Promise<AuditEvent[]> {
    const w = auditWhereSql(where, (f) => `(actor ->> '${f}')`);
    const r = await this.#pool.query(q(`SELECT * FROM audit_events WHERE seq > ?${w.sql} ORDER BY seq LIMIT ?`), [after, ...w.params, limit]);
    return (r.rows as Raw[]).map(auditRow);
  }

  /** For tests and tools. */
  pool(): pg.Pool {
    return this.#pool;
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}

class PgTokens implements TokenStore {
  constructor(private readonly pool: pg.Pool) {}

  async create(t: NewTokenRecord, audit: AuditEventInput): Promise<void> {
    try {
      await inTransaction(this.pool, async (c) => {
        await c.query('INSERT INTO tokens (id, name, hash, scopes, user_id, created, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)', [
          t.id,
          t.name,
          t.hash,
          JSON.stringify(t.scopes),
          t.userId ?? null,
          t.created,
          t.expiresAt ?? null,
        ]);
        await appendAuditPg(c, [audit]);
      });
    } catch (e) {
      if ((e as { code?: string }).code === '23505') throw uniqueness(`a token named "${t.name}" exists`);
      throw e;
    }
  }

  async findByHash(hash: string): Promise<TokenRecord | undefined> {
    const r = await this.pool.query({ name: 'token-by-hash', text: 'SELECT * FROM tokens WHERE hash = $1', values: [hash] });
    return r.rows[0] ? tokenRow(r.rows[0]) : undefined;
  }

  async list(): Promise<TokenRecord[]> {
    return (await this.pool.query('SELECT * FROM tokens ORDER BY created')).rows.map(tokenRow);
  }

  async revoke(idOrName: string, audit: (t: TokenRecord) => AuditEventInput): Promise<boolean> {
    return inTransaction(this.pool, async (c) => {
      const revoked = (await c.query('UPDATE tokens SET revoked = true WHERE (id = $1 OR name = $1) AND NOT revoked RETURNING *', [idOrName])).rows.map(
        tokenRow,
      );
      await appendAuditPg(c, revoked.map(audit));
      return revoked.length > 0 || ((await c.query('SELECT 1 FROM tokens WHERE id = $1 OR name = $1', [idOrName])).rowCount ?? 0) > 0;
    });
  }

  async recordExpiry(id: string, audit: AuditEventInput): Promise<boolean> {
    return inTransaction(this.pool, async (c) => {
      const r = await c.query('UPDATE tokens SET expiry_recorded_at = $1 WHERE id = $2 AND expiry_recorded_at IS NULL', [audit.at, id]);
      const first = (r.rowCount ?? 0) > 0;
      if (first) await appendAuditPg(c, [audit]);
      return first;
    });
  }

  async count(): Promise<number> {
    return Number((await this.pool.query('SELECT count(*) AS n FROM tokens')).rows[0].n);
  }

  async touch(id: string, at: string): Promise<void> {
    await this.pool.query('UPDATE tokens SET last_used = $1 WHERE id = $2', [at, id]);
  }
}
