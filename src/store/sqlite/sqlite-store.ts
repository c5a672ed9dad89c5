// The embedded store: one SQLite file (WAL), better-sqlite3. Synchronous underneath, async at the
// Store interface so that callers are written once for SQLite and PostgreSQL.

import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { uniqueness } from '../../scim/errors.js';
import type { ResourceTypeInfo, SchemaRegistry } from '../../scim/registry.js';
import { SqlFilterTranslator } from '../filter-sql.js';
import { countQuery, finishList, planList } from '../list-sql.js';
import { sqliteDialect } from '../sql-dialect.js';
import { indexName, pathKey, SINGLE_VALUED_INDEXES } from '../indexes.js';
import { type MultiValuedIndex, multiValuedIndexes, valueChanges } from '../multi-values.js';
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
  type OutboxStore,
  RowMissing,
  type Store,
  type StoredResource,
  type SyncStateStore,
  type NewTokenRecord,
  type TokenRecord,
  type TokenStore,
  type KeyStore,
  VersionConflict,
} from '../types.js';
import { auditRow, type Raw, tokenRow } from '../rows.js';
import { appendAuditSqlite } from './audit-append.js';
import { SqliteKeys, SqliteOutbox, SqliteSyncState } from './outbox.js';
import { prep } from './prep.js';
import { registerSqlFunctions } from './functions.js';
import { SqliteReadPool } from './read-pool.js';
import { costClassifier, defaultScanConcurrency, isCheapList } from '../query-cost.js';
import type { CostClassifier } from '../../scim/filter/cost.js';
import { MIGRATIONS } from './schema.js';

type Row = { type: string; id: string; data: string; version: number; created: string; last_modified: string; seq: number };

export interface SqliteStoreOptions {
  /** file path, or ':memory:' */
  path: string;
  /** PRAGMA synchronous: FULL (default) makes every commit durable on power loss. */
  synchronous?: 'FULL' | 'NORMAL';
  /** migrate only up to this version (tests of upgrades from older databases) */
  targetVersion?: number;
  /** how long a commit waits for others to share its transaction (0: the next event-loop turn) */
  groupCommitMs?: number;
  /**
   * worker threads for list queries that may scan (read-pool.ts); 0 runs every query on the main
   * connection. Default: one per spare core, 1–4; always 0 for ':memory:' (nothing to share).
   */
  readWorkers?: number;
  /** time limit of a list query run by a read worker, in milliseconds (default 5000) */
  queryTimeoutMs?: number;
}

function toStored(r: Row): StoredResource {
  return {
    type: r.type,
    id: r.id,
    data: JSON.parse(r.data) as Json,
    version: r.version,
    created: r.created,
    lastModified: r.last_modified,
  };
}

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly #db: Database.Database;
  readonly #registry: SchemaRegistry;
  readonly #stmts = new Map<string, Database.Statement>();
  readonly #optimizer: NodeJS.Timeout;
  readonly #groupCommitMs: number;
  readonly #pending: { c: Commit; resolve: () => void; reject: (e: unknown) => void }[] = [];
  readonly #translators = new Map<string, SqlFilterTranslator>();
  readonly #mv: MultiValuedIndex[];
  readonly #uniqueIndexAttr = new Map<string, string>();
  readonly #classifiers = new Map<string, CostClassifier>();
  readonly #readPool: SqliteReadPool | undefined;
  readonly tokens: TokenStore;
  readonly keys: KeyStore;
  readonly outbox: OutboxStore;
  readonly sync: SyncStateStore;

  constructor(registry: SchemaRegistry, opts: SqliteStoreOptions) {
    this.#registry = registry;
    if (opts.path !== ':memory:') mkdirSync(dirname(opts.path), { recursive: true });
    this.#db = new Database(opts.path);
    this.#db.pragma('journal_mode = WAL');
    this.#db.pragma(`synchronous = ${opts.synchronous ?? 'FULL'}`);
    this.#db.pragma('busy_timeout = 5000');
    this.#db.pragma('foreign_keys = ON');
    // scim_fold & co.: the same on this connection and on every read worker's (functions.ts)
    registerSqlFunctions(this.#db);
    this.#mv = multiValuedIndexes(registry);
    for (const ia of SINGLE_VALUED_INDEXES) if (ia.unique) this.#uniqueIndexAttr.set(indexName('ux', ia), pathKey(ia.path));
    this.#uniqueIndexAttr.set('ux_resource_values_unique_v5', 'a credential\'s credentialId or keyThumbprint (one credential belongs to one agent)');
    this.#groupCommitMs = opts.groupCommitMs ?? 0;
    const workers = opts.path === ':memory:' ? 0 : (opts.readWorkers ?? defaultScanConcurrency());
    if (workers > 0) this.#readPool = new SqliteReadPool({ path: opts.path, size: workers, timeoutMs: opts.queryTimeoutMs ?? 5000 });
    this.#migrate(opts.targetVersion);
    this.#db.pragma('optimize=0x10002');
    // A long-lived connection should re-run it now and then (sqlite.org/pragma.html#pragma_optimize).
    this.#optimizer = setInterval(() => this.#db.pragma('optimize'), 3_600_000);
    this.#optimizer.unref();
    this.tokens = new SqliteTokens(this.#db);
    this.outbox = new SqliteOutbox(this.#db);
    this.sync = new SqliteSyncState(this.#db);
    this.keys = new SqliteKeys(this.#db);
  }

  #migrate(targetVersion = Number.MAX_SAFE_INTEGER): void {
    this.#db.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)',
    );
    const done = new Set(
      (this.#db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version),
    );
    // IMMEDIATE: a second process opening the same file waits instead of migrating twice.
    const apply = this.#db.transaction(() => {
      for (const m of MIGRATIONS) {
        if (done.has(m.version) || m.version > targetVersion) continue;
        this.#db.exec(m.sql(this.#registry));
        this.#db
          .prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)')
          .run(m.version, m.name, new Date().toISOString());
      }
    });
    apply.immediate();
  }

  async optimize(): Promise<void> {
    // 0x10002: analyse every table that needs it, without the usual per-table time limit
    this.#db.pragma('optimize=0x10002');
  }

  async schemaVersion(): Promise<number> {
    return (this.#db.prepare('SELECT coalesce(max(version), 0) AS v FROM schema_migrations').get() as { v: number }).v;
  }

  #stmt(sql: string): Database.Statement {
    let s = this.#stmts.get(sql);
    if (!s) {
      s = this.#db.prepare(sql);
      this.#stmts.set(sql, s);
    }
    return s;
  }

  #translator(rt: ResourceTypeInfo): SqlFilterTranslator {
    let t = this.#translators.get(rt.type.name);
    if (!t) {
      t = new SqlFilterTranslator(this.#registry, rt, sqliteDialect);
      this.#translators.set(rt.type.name, t);
    }
    return t;
  }

  async get(type: string, id: string): Promise<StoredResource | undefined> {
    const row = this.#stmt(
      'SELECT type, id, data, version, created, last_modified FROM resources WHERE type = ? AND id = ?',
    ).get(type, id) as Row | undefined;
    return row ? toStored(row) : undefined;
  }

  async getMany(type: string, ids: string[]): Promise<StoredResource[]> {
    if (ids.length === 0) return [];
    const rows = this.#stmt(
      'SELECT type, id, data, version, created, last_modified FROM resources WHERE type = ? AND id IN (SELECT value FROM json_each(?))',
    ).all(type, JSON.stringify(ids)) as Row[];
    return rows.map(toStored);
  }

  #classifier(rt: ResourceTypeInfo): CostClassifier {
    let c = this.#classifiers.get(rt.type.name);
    if (!c) {
      c = costClassifier(this.#registry, rt);
      this.#classifiers.set(rt.type.name, c);
    }
    return c;
  }

  async list(rt: ResourceTypeInfo, q: ListQuery): Promise<ListResult> {
    const plan = planList(this.#translator(rt), rt.type.name, q);
    // An index lookup stays here (a worker round trip would only add latency); anything that may
    // scan runs on a read worker, under the time limit, while this thread serves other requests.
    if (this.#readPool && !isCheapList(this.#classifier(rt), q)) {
      const r = await this.#readPool.run({
        ...(plan.pageSql ? { page: { sql: plan.pageSql, params: plan.pageParams } } : {}),
        ...(plan.countSql ? { count: { sql: plan.countSql, params: plan.countParams } } : {}),
      });
      return finishList(plan, r.rows as Row[], toStored as (r: never) => StoredResource, r.n);
    }
    const rows = plan.pageSql ? (this.#stmt(plan.pageSql).all(...plan.pageParams) as Row[]) : [];
    const total = plan.countSql ? (this.#stmt(plan.countSql).get(...plan.countParams) as { n: number }).n : undefined;
    return finishList(plan, rows, toStored as (r: never) => StoredResource, total);
  }

  async explain(rt: ResourceTypeInfo, q: ListQuery): Promise<string[]> {
    const plan = planList(this.#translator(rt), rt.type.name, { ...q, count: Math.max(q.count, 1) });
    const rows = this.#db.prepare(`EXPLAIN QUERY PLAN ${plan.pageSql!}`).all(...plan.pageParams) as { detail: string }[];
    return rows.map((r) => r.detail);
  }

  /**
   * Group commit: commits requested in the same turn of the event loop share one SQLite
   * transaction (one WAL append and fsync), each inside its own savepoint so that one failing
   * commit (a uniqueness conflict, a stale version) rolls back alone. Every promise settles only
   * after the transaction is durable.
   */
  commit(c: Commit): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ c, resolve, reject });
      // Wait up to groupCommitMs for company: concurrent writers then share one transaction.
      if (this.#pending.length === 1) {
        if (this.#groupCommitMs > 0) setTimeout(() => this.#flush(), this.#groupCommitMs);
        else setImmediate(() => this.#flush());
      }
    });
  }

  #flush(): void {
    const batch = this.#pending.splice(0);
    const outcomes: unknown[] = [];
    const apply = this.#db.transaction((c: Commit) => this.#apply(c));
    const all = this.#db.transaction(() => {
      for (const item of batch) {
        try {
          apply(item.c); // nested: a savepoint, rolled back alone on error
          outcomes.push(undefined);
        } catch (e) {
          outcomes.push(this.#mapConstraint(e) ?? e);
        }
      }
    });
    try {
      all.immediate();
    } catch (e) {
      for (const item of batch) item.reject(this.#mapConstraint(e));
      return;
    }
    batch.forEach((item, i) => (outcomes[i] === undefined ? item.resolve() : item.reject(outcomes[i])));
  }

  #apply(c: Commit): void {
    {
      for (const w of c.writes) {
        if (w.kind === 'insert') {
          this.#stmt(
            'INSERT INTO resources (type, id, data, version, created, last_modified) VALUES (?, ?, ?, 1, ?, ?)',
          ).run(w.type, w.id, JSON.stringify(w.data), w.at, w.at);
          this.#writeValues(w.type, w.id, undefined, w.data);
          this.#stmt('INSERT INTO resource_counts (type, n) VALUES (?, 1) ON CONFLICT (type) DO UPDATE SET n = n + 1').run(w.type);
        } else if (w.kind === 'update') {
          const before = w.before ?? this.#currentData(w.type, w.id);
          const info = w.keepMeta
            ? this.#stmt('UPDATE resources SET data = ? WHERE type = ? AND id = ? AND version = ?').run(
                JSON.stringify(w.data),
                w.type,
                w.id,
                w.expectedVersion,
              )
            : this.#stmt(
                'UPDATE resources SET data = ?, version = version + 1, last_modified = ? WHERE type = ? AND id = ? AND version = ?',
              ).run(JSON.stringify(w.data), w.at, w.type, w.id, w.expectedVersion);
          if (info.changes === 0) {
            const exists = this.#stmt('SELECT 1 FROM resources WHERE type = ? AND id = ?').get(w.type, w.id);
            throw exists ? new VersionConflict(w.type, w.id) : new RowMissing(w.type, w.id);
          }
          this.#writeValues(w.type, w.id, before, w.data);
        } else {
          const info =
            w.expectedVersion === undefined
              ? this.#stmt('DELETE FROM resources WHERE type = ? AND id = ?').run(w.type, w.id)
              : this.#stmt('DELETE FROM resources WHERE type = ? AND id = ? AND version = ?').run(
                  w.type,
                  w.id,
                  w.expectedVersion,
                );
          if (info.changes === 0) {
            const exists = this.#stmt('SELECT 1 FROM resources WHERE type = ? AND id = ?').get(w.type, w.id);
            throw exists ? new VersionConflict(w.type, w.id) : new RowMissing(w.type, w.id);
          }
          this.#stmt('DELETE FROM resource_values WHERE type = ? AND id = ?').run(w.type, w.id);
          this.#stmt('UPDATE resource_counts SET n = n - 1 WHERE type = ?').run(w.type);
        }
      }
      if (c.guards) this.#checkGuards(c.guards);
      appendAuditSqlite(this.#db, c.audit);
      for (const o of c.outbox) {
        this.#stmt(
          'INSERT INTO outbox (target, resource_type, resource_id, action, version, created, available_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        ).run(o.target, o.resourceType, o.resourceId, o.action, o.version, new Date().toISOString(), new Date().toISOString());
      }
    }
  }

  /**
   * The commit's guards, after its writes, inside its savepoint: on the writer connection, so the
   * count sees every commit before this one (one writer, IMMEDIATE transactions) and none can
   * come between the count and the write. A guard that fails throws and rolls the commit back.
   */
  #checkGuards(guards: CommitGuard[]): void {
    for (const g of guards) {
      const rt = this.#registry.resourceType(g.type);
      if (!rt) throw new Error(`commit guard ${g.key}: unknown resource type "${g.type}"`);
      const q = countQuery(this.#translator(rt), rt.type.name, g.filter);
      const n = Number((this.#stmt(q.sql).get(...q.params) as { n: number }).n);
      if (n > g.max) throw new LimitExceeded(g.key, n, g.max, g.message);
    }
  }

  #writeValues(type: string, id: string, before: Json | undefined, after: Json | undefined): void {
    const { removed, added } = valueChanges(this.#mv, type, before, after);
    if (removed.length === 0 && added.length === 0) return;
    const ins = this.#stmt('INSERT INTO resource_values (type, id, attr, value) VALUES (?, ?, ?, ?)');
    const del = this.#stmt('DELETE FROM resource_values WHERE type = ? AND id = ? AND attr = ? AND value = ?');
    for (const [attr, v] of removed) del.run(type, id, attr, v);
    for (const [attr, v] of added) ins.run(type, id, attr, v);
  }

  #currentData(type: string, id: string): Json | undefined {
    const row = this.#stmt('SELECT data FROM resources WHERE type = ? AND id = ?').get(type, id) as { data: string } | undefined;
    return row ? (JSON.parse(row.data) as Json) : undefined;
  }

  #mapConstraint(e: unknown): unknown {
    if (e instanceof Error && 'code' in e && String((e as { code: unknown }).code).startsWith('SQLITE_CONSTRAINT')) {
      const m = /index '([^']+)'/.exec(e.message) ?? /UNIQUE constraint failed: (\S+)/.exec(e.message);
      const attr = m?.[1] ? (this.#uniqueIndexAttr.get(m[1]) ?? m[1]) : 'a unique attribute';
      return uniqueness(`${attr} is already in use by another resource`);
    }
    return e;
  }

  async groupsOf(memberIds: string[]): Promise<Map<string, { value: string; display?: string }[]>> {
    const out = new Map<string, { value: string; display?: string }[]>();
    if (memberIds.length === 0) return out;
    const rows = this.#stmt(
      `SELECT v.value AS member, g.id AS gid, json_extract(g.data, '$.displayName') AS display
         FROM resource_values v JOIN resources g ON g.type = 'Group' AND g.id = v.id
        WHERE v.type = 'Group' AND v.attr = 'members.value' AND v.value IN (SELECT value FROM json_each(?))
        ORDER BY g.seq`,
    ).all(JSON.stringify(memberIds.map((i) => i.toLowerCase()))) as { member: string; gid: string; display: string | null }[];
    const byLower = new Map(memberIds.map((i) => [i.toLowerCase(), i]));
    for (const r of rows) {
      const id = byLower.get(r.member) ?? r.member;
      const list = out.get(id) ?? [];
      list.push(r.display === null ? { value: r.gid } : { value: r.gid, display: r.display });
      out.set(id, list);
    }
    return out;
  }

  async auditEvents(after = 0, limit = 1000, where?: AuditWhere): Promise<AuditEvent[]> {
    const w = auditWhereSql(where, (f) => `json_extract(actor, '$.${f}')`);
    const rows = this.#stmt(`SELECT * FROM audit_events WHERE seq > ?${w.sql} ORDER BY seq LIMIT ?`).all(after, ...w.params, limit) as Raw[];
    return rows.map(auditRow);
  }

  /** For tests and tools: raw SQL against the database. */
  raw(): Database.Database {
    return this.#db;
  }

  async close(): Promise<void> {
    clearInterval(this.#optimizer);
    await this.#readPool?.close();
    this.#db.close();
  }
}

class SqliteTokens implements TokenStore {
  constructor(readonly db: Database.Database) {}

  #row(r: Record<string, unknown> | undefined): TokenRecord | undefined {
    return r ? tokenRow(r) : undefined;
  }

  async create(t: NewTokenRecord, audit: AuditEventInput): Promise<void> {
    try {
      this.db
        .transaction(() => {
          prep(this.db, 'INSERT INTO tokens (id, name, hash, scopes, user_id, created, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
            t.id,
            t.name,
            t.hash,
            JSON.stringify(t.scopes),
            t.userId ?? null,
            t.created,
            t.expiresAt ?? null,
          );
          appendAuditSqlite(this.db, [audit]);
        })
        .immediate();
    } catch (e) {
      if (e instanceof Error && e.message.includes('tokens.name')) throw uniqueness(`a token named "${t.name}" exists`);
      throw e;
    }
  }

  async findByHash(hash: string): Promise<TokenRecord | undefined> {
    return this.#row(prep(this.db, 'SELECT * FROM tokens WHERE hash = ?').get(hash) as Record<string, unknown> | undefined);
  }

  async list(): Promise<TokenRecord[]> {
    return (prep(this.db, 'SELECT * FROM tokens ORDER BY created').all() as Record<string, unknown>[]).map(
      (r) => this.#row(r)!,
    );
  }

  async revoke(idOrName: string, audit: (t: TokenRecord) => AuditEventInput): Promise<boolean> {
    return this.db
      .transaction(() => {
        const revoked = prep(this.db, 'UPDATE tokens SET revoked = 1 WHERE (id = ? OR name = ?) AND revoked = 0 RETURNING *')
          .all(idOrName, idOrName)
          .map((r) => tokenRow(r as Record<string, unknown>));
        appendAuditSqlite(this.db, revoked.map(audit));
        return revoked.length > 0 || prep(this.db, 'SELECT 1 FROM tokens WHERE id = ? OR name = ?').get(idOrName, idOrName) !== undefined;
      })
      .immediate();
  }

  async recordExpiry(id: string, audit: AuditEventInput): Promise<boolean> {
    return this.db
      .transaction(() => {
        const first = prep(this.db, 'UPDATE tokens SET expiry_recorded_at = ? WHERE id = ? AND expiry_recorded_at IS NULL').run(audit.at, id).changes > 0;
        if (first) appendAuditSqlite(this.db, [audit]);
        return first;
      })
      .immediate();
  }

  async count(): Promise<number> {
    return (prep(this.db, 'SELECT count(*) AS n FROM tokens').get() as { n: number }).n;
  }

  async touch(id: string, at: string): Promise<void> {
    prep(this.db, 'UPDATE tokens SET last_used = ? WHERE id = ?').run(at, id);
  }
}
