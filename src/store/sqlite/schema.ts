// SQLite DDL, as versioned migrations. Index DDL is generated from store/indexes.ts with the same
// expression builder the filter translator uses, so every indexed filter can use its index.

import type { SchemaRegistry } from '../../scim/registry.js';
import { attributeIndexDdl, multiValueBackfillDdl, refoldDdl } from '../index-ddl.js';
import { sqliteDialect } from '../sql-dialect.js';

export interface Migration {
  version: number;
  name: string;
  sql: (registry: SchemaRegistry) => string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'resources, values, audit, outbox, tokens',
    sql: (registry) => `
      CREATE TABLE resources (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        type TEXT NOT NULL,
        id TEXT NOT NULL,
        data TEXT NOT NULL,
        version INTEGER NOT NULL,
        created TEXT NOT NULL,
        last_modified TEXT NOT NULL
      );
      CREATE UNIQUE INDEX ux_resources_type_id ON resources(type, id);
      CREATE INDEX ix_resources_type_seq ON resources(type, seq);
      CREATE INDEX ix_resources_type_last_modified ON resources(type, last_modified, seq);
      CREATE INDEX ix_resources_type_created ON resources(type, created, seq);

      -- one row per value of an indexed multi-valued sub-attribute (members.value, entitlements.value …)
      CREATE TABLE resource_values (
        type TEXT NOT NULL,
        id TEXT NOT NULL,
        attr TEXT NOT NULL,
        value TEXT NOT NULL
      );
      CREATE INDEX ix_resource_values_lookup ON resource_values(type, attr, value, id);
      CREATE INDEX ix_resource_values_owner ON resource_values(type, id);

      CREATE TABLE audit_events (
        seq INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        at TEXT NOT NULL,
        action TEXT NOT NULL,
        resource_type TEXT NOT NULL,
        resource_id TEXT NOT NULL,
        actor TEXT NOT NULL,
        request_id TEXT,
        reason TEXT,
        changes TEXT,
        version INTEGER,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      );
      CREATE INDEX ix_audit_resource ON audit_events(resource_type, resource_id, seq);
      CREATE INDEX ix_audit_at ON audit_events(at);

      CREATE TABLE outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        target TEXT NOT NULL,
        resource_type TEXT NOT NULL,
        resource_id TEXT NOT NULL,
        action TEXT NOT NULL,
        version INTEGER NOT NULL,
        created TEXT NOT NULL,
        available_at TEXT NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        lease_owner TEXT,
        lease_until TEXT,
        status TEXT NOT NULL DEFAULT 'pending',
        last_error TEXT
      );
      CREATE INDEX ix_outbox_ready ON outbox(target, status, available_at, seq);

      CREATE TABLE tokens (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        hash TEXT NOT NULL UNIQUE,
        scopes TEXT NOT NULL,
        user_id TEXT,
        created TEXT NOT NULL,
        last_used TEXT,
        revoked INTEGER NOT NULL DEFAULT 0
      );
      ${attributeIndexes(registry)}
    `,
  },
  {
    version: 2,
    name: 'sync links and cursors',
    sql: () => `
      CREATE TABLE sync_links (
        target TEXT NOT NULL,
        resource_id TEXT NOT NULL,
        remote_id TEXT,
        remote_state TEXT,
        last_synced_at TEXT,
        last_error TEXT,
        synced_version INTEGER,
        PRIMARY KEY (target, resource_id)
      );
      CREATE INDEX ix_sync_links_remote ON sync_links(target, remote_id);
      CREATE TABLE sync_cursors (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 3,
    name: 'record signing keys',
    sql: () => `
      CREATE TABLE signing_keys (
        kid TEXT PRIMARY KEY,
        alg TEXT NOT NULL,
        public_jwk TEXT NOT NULL,
        private_key_enc TEXT NOT NULL,
        created_at TEXT NOT NULL,
        status TEXT NOT NULL,
        retired_at TEXT,
        verify_until TEXT
      );
      CREATE UNIQUE INDEX ux_signing_keys_one_active ON signing_keys(status) WHERE status = 'active';
    `,
  },
  {
    version: 4,
    name: 'resource counts',
    sql: () => `
      CREATE TABLE resource_counts (type TEXT PRIMARY KEY, n INTEGER NOT NULL);
      INSERT INTO resource_counts (type, n) SELECT type, count(*) FROM resources GROUP BY type;
    `,
  },
  {
    version: 5,
    name: 'governance indexes, unique credentials',
    sql: (registry) =>
      [
        ...attributeIndexDdl(registry, sqliteDialect, 5),
        ...multiValueBackfillDdl(registry, sqliteDialect, 5),
        'CREATE INDEX ix_audit_resource_id ON audit_events(resource_id, seq)',
      ]
        .map((x) => `${x};`)
        .join('\n'),
  },
  {
    // Existing tokens keep expires_at NULL: they do not expire, and `token list` flags them.
    version: 6,
    name: 'token expiry',
    sql: () => 'ALTER TABLE tokens ADD COLUMN expires_at TEXT;',
  },
  {
    version: 7,
    name: 'one case fold (src/lib/case-fold.ts): re-folded indexes and values',
    sql: (registry) =>
      refoldDdl(registry, sqliteDialect)
        .map((x) => `${x};`)
        .join('\n'),
  },
  {
    // The marker that makes the `expire` audit event of a token one event, however often the
    // expired token is presented (TokenStore.recordExpiry). Applied once (schema_migrations).
    version: 8,
    name: 'token expiry audit marker',
    sql: () => 'ALTER TABLE tokens ADD COLUMN expiry_recorded_at TEXT;',
  },
];

function attributeIndexes(registry: SchemaRegistry): string {
  return attributeIndexDdl(registry, sqliteDialect)
    .map((ddl) => `${ddl};`)
    .join('\n');
}
