// Opens the store named by a database URL: sqlite:PATH (default) or postgres://… .

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
}

export function sqlitePathOf(url: string): string | undefined {
  if (url === ':memory:' || url === 'sqlite::memory:') return ':memory:';
  if (url.startsWith('sqlite:')) return url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
  return undefined;
}

export async function openStore(registry: SchemaRegistry, url: string, o: OpenStoreOptions = {}): Promise<Store> {
  const path = sqlitePathOf(url);
  if (path !== undefined) {
    return new SqliteStore(registry, {
      path,
      ...(o.sqliteSynchronous ? { synchronous: o.sqliteSynchronous } : {}),
      ...(o.groupCommitMs !== undefined ? { groupCommitMs: o.groupCommitMs } : {}),
    });
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    return PostgresStore.open(registry, { url, ...(o.pgSchema ? { schema: o.pgSchema } : {}) });
  }
  throw new Error(`unsupported database URL "${url}" (expected sqlite:PATH or postgres://…)`);
}
