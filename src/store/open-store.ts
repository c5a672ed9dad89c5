// Opens the store named by a database URL: sqlite:PATH (default) or postgres://… .

import { existsSync, statSync } from 'node:fs';
import pg from 'pg';
import type { SchemaRegistry } from '../scim/registry.js';
import { PostgresStore } from './postgres/postgres-store.js';
import { SqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './types.js';

export interface OpenStoreOptions {
  sqliteSynchronous?: 'FULL' | 'NORMAL';
  /** PostgreSQL schema (namespace) for the tables; default public */
  pgSchema?: string;
  /** SQLite group commit window in milliseconds */
  groupCommitMs?: number;
  /** time limit of list queries that may scan (SQLite read workers, PostgreSQL statement_timeout) */
  queryTimeoutMs?: number;
  /** list queries that may scan at once (SQLite read worker threads, PostgreSQL connections; 0: no workers / no cap) */
  queryWorkers?: number;
  /**
   * false: refuse to create a database (a missing SQLite file, a PostgreSQL schema without
   * agentroster's migrations table) with a NoDatabaseError; pending migrations still run. Default
   * true (serve, migrate, tests).
   */
  create?: boolean;
}

/** The database a command needs does not exist (and the command may not create it). */
export class NoDatabaseError extends Error {
  override name = 'NoDatabaseError';
}

/** A URL without its password, for messages. */
export function redactDatabaseUrl(url: string): string {
  return url.replace(/\/\/([^:@/]*):[^@/]*@/, '//$1:***@');
}

export function sqlitePathOf(url: string): string | undefined {
  if (url === ':memory:' || url === 'sqlite::memory:') return ':memory:';
  if (url.startsWith('sqlite:')) return url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
  return undefined;
}

export async function openStore(registry: SchemaRegistry, url: string, o: OpenStoreOptions = {}): Promise<Store> {
  const path = sqlitePathOf(url);
  if (path !== undefined) {
    if (o.create === false && path !== ':memory:' && !(existsSync(path) && statSync(path).size > 0)) {
      throw new NoDatabaseError(`no database at ${path}; run \`agentroster migrate\` or pass --database-url`);
    }
    return new SqliteStore(registry, {
      path,
      ...(o.sqliteSynchronous ? { synchronous: o.sqliteSynchronous } : {}),
      ...(o.groupCommitMs !== undefined ? { groupCommitMs: o.groupCommitMs } : {}),
      ...(o.queryTimeoutMs !== undefined ? { queryTimeoutMs: o.queryTimeoutMs } : {}),
      ...(o.queryWorkers !== undefined ? { readWorkers: o.queryWorkers } : {}),
    });
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    if (o.create === false) await requireMigratedPostgres(url, o.pgSchema);
    return PostgresStore.open(registry, {
      url,
      ...(o.pgSchema ? { schema: o.pgSchema } : {}),
      ...(o.queryTimeoutMs !== undefined ? { queryTimeoutMs: o.queryTimeoutMs } : {}),
      ...(o.queryWorkers !== undefined ? { scanConcurrency: o.queryWorkers } : {}),
    });
  }
  throw new Error(`unsupported database URL "${url}" (expected sqlite:PATH or postgres://…)`);
}

/** Refuses a PostgreSQL database (or schema) that agentroster never migrated. */
async function requireMigratedPostgres(url: string, schema: string | undefined): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  let found: unknown;
  try {
    const r = await client.query('SELECT to_regclass($1) AS t', [schema ? `${schema}.schema_migrations` : 'schema_migrations']);
    found = r.rows[0]?.t;
  } finally {
    await client.end().catch(() => undefined);
  }
  if (!found) {
    const where = `${redactDatabaseUrl(url)}${schema ? ` (schema ${schema})` : ''}`;
    throw new NoDatabaseError(`no agentroster database at ${where}; run \`agentroster migrate\` or pass --database-url`);
  }
}
