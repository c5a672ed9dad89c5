// PostgreSQL DDL as versioned migrations (the same versions as SQLite's). JSONB documents with
// expression indexes built by index-ddl.ts; the audit chain's head is one locked row.

import type { SchemaRegistry } from '../../scim/registry.js';
import { attributeIndexDdl, multiValueBackfillDdl, refoldDdl } from '../index-ddl.js';
import { postgresDialect } from '../sql-dialect.js';

export interface PgMigration {
  version: number;
  name: string;
  statements: (registry: SchemaRegistry) => string[];
}

export const PG_MIGRATIONS: readonly PgMigration[] = [
  {
    version: 1,
    name: 'resources, values, audit, outbox, tokens',
    statements: (registry) => [
      `CREATE TABLE resources (
        seq BIGSERIAL PRIMARY KEY,
        type TEXT NOT NULL,
        id TEXT NOT NULL,
        data JSONB NOT NULL,
        version INTEGER NOT NULL,
        created TEXT NOT NULL,
        last_modified TEXT NOT NULL
      )`,
      'CREATE UNIQUE INDEX ux_resources_type_id ON resources (type, id)',
      'CREATE INDEX ix_resources_type_seq ON resources (type, seq)',
      'CREATE INDEX ix_resources_type_last_modified ON resources (type, last_modified, seq)',
      'CREATE INDEX ix_resources_type_created ON resources (type, created, seq)',
      `CREATE TABLE resource_values (
        type TEXT NOT NULL,
        id TEXT NOT NULL,
        attr TEXT NOT NULL,
        value TEXT NOT NULL
      )`,
      'CREATE INDEX ix_resource_values_lookup ON resource_values (type, attr, value, id)',
      'CREATE INDEX ix_resource_values_owner ON resource_values (type, id)',
      `CREATE TABLE audit_events (
        seq BIGINT PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        at TEXT NOT NULL,
        action TEXT NOT NULL,
        resource_type TEXT NOT NULL,
        resource_id TEXT NOT NULL,
        actor JSONB NOT NULL,
        request_id TEXT,
        reason TEXT,
        changes JSONB,
        version INTEGER,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
      )`,
      'CREATE INDEX ix_audit_resource ON audit_events (resource_type, resource_id, seq)',
      'CREATE INDEX ix_audit_at ON audit_events (at)',
      // One row: the chain's head. Locking it serialises audit appends across instances.
      `CREATE TABLE audit_head (one BOOLEAN PRIMARY KEY DEFAULT true CHECK (one), seq BIGINT NOT NULL, hash TEXT NOT NULL)`,
      `INSERT INTO audit_head (one, seq, hash) VALUES (true, 0, '${'0'.repeat(64)}')`,
      `CREATE TABLE outbox (
        seq BIGSERIAL PRIMARY KEY,
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
      )`,
      'CREATE INDEX ix_outbox_ready ON outbox (target, status, available_at, seq)',
      `CREATE TABLE tokens (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        hash TEXT NOT NULL UNIQUE,
        scopes JSONB NOT NULL,
        user_id TEXT,
        created TEXT NOT NULL,
        last_used TEXT,
        revoked BOOLEAN NOT NULL DEFAULT false
      )`,
      ...attributeIndexDdl(registry, postgresDialect),
    ],
  },
  {
    version: 2,
    name: 'sync links and cursors',
    statements: () => [
      `CREATE TABLE sync_links (
        target TEXT NOT NULL,
        resource_id TEXT NOT NULL,
        remote_id TEXT,
        remote_state JSONB,
        last_synced_at TEXT,
        last_error TEXT,
        synced_version INTEGER,
        PRIMARY KEY (target, resource_id)
      )`,
      'CREATE INDEX ix_sync_links_remote ON sync_links (target, remote_id)',
      `CREATE TABLE sync_cursors (
        name TEXT PRIMARY KEY,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL
      )`,
    ],
  },
  {
    version: 3,
    name: 'record signing keys',
    statements: () => [
      `CREATE TABLE signing_keys (
        kid TEXT PRIMARY KEY,
        alg TEXT NOT NULL,
        public_jwk JSONB NOT NULL,
        private_key_enc TEXT NOT NULL,
        created_at TEXT NOT NULL,
        status TEXT NOT NULL,
        retired_at TEXT,
        verify_until TEXT
      )`,
      `CREATE UNIQUE INDEX ux_signing_keys_one_active ON signing_keys (status) WHERE status = 'active'`,
    ],
  },
  {
    version: 4,
    name: 'resource counts',
    statements: () => [
      'CREATE TABLE resource_counts (type TEXT PRIMARY KEY, n BIGINT NOT NULL)',
      'INSERT INTO resource_counts (type, n) SELECT type, count(*) FROM resources GROUP BY type',
    ],
  },
  {
    version: 5,
    name: 'governance indexes, unique credentials',
    statements: (registry) => [
      ...attributeIndexDdl(registry, postgresDialect, 5),
      ...multiValueBackfillDdl(registry, postgresDialect, 5),
      'CREATE INDEX ix_audit_resource_id ON audit_events (resource_id, seq)',
    ],
  },
  {
    // Existing tokens keep expires_at NULL: they do not expire, and `token list` flags them.
    version: 6,
    name: 'token expiry',
    statements: () => ['ALTER TABLE tokens ADD COLUMN expires_at TEXT'],
  },
  {
    version: 7,
    name: 'one case fold (src/lib/case-fold.ts): re-folded indexes and values',
    statements: (registry) => refoldDdl(registry, postgresDialect),
  },
  {
    // The marker that makes the `expire` audit event of a token one event, however often the
    // expired token is presented (TokenStore.recordExpiry).
    version: 8,
    name: 'token expiry audit marker',
    statements: () => ['ALTER TABLE tokens ADD COLUMN IF NOT EXISTS expiry_recorded_at TEXT'],
  },
];
