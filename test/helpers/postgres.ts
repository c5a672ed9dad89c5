// Access to the PostgreSQL server for the PostgreSQL half of the store suite. CI sets
// AGENTROSTER_REQUIRE_POSTGRES=1 (see .ci/run): there an unreachable server fails the run instead of
// skipping. Elsewhere the PostgreSQL tests skip with a message saying how to enable them.

import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const PG_URL = process.env.AGENTROSTER_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const PG_REQUIRED = process.env.AGENTROSTER_REQUIRE_POSTGRES === '1';

async function probe(): Promise<string | undefined> {
  const c = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return undefined;
  } catch (e) {
    return (e as Error).message;
  } finally {
    await c.end().catch(() => undefined);
  }
}

let checked: Promise<string | undefined> | undefined;

/** true when the PostgreSQL tests should run; throws when they must run (CI) but cannot. */
export async function postgresAvailable(): Promise<boolean> {
  checked ??= probe();
  const err = await checked;
  if (err === undefined) return true;
  if (PG_REQUIRED) {
    throw new Error(`AGENTROSTER_REQUIRE_POSTGRES=1 but PostgreSQL at ${PG_URL} is unreachable: ${err}`);
  }
  console.warn(
    `\n[agentroster] PostgreSQL tests SKIPPED: no server at ${PG_URL} (${err}).\n` +
      '  Start PostgreSQL, or set AGENTROSTER_TEST_POSTGRES_URL=postgres://user@host:port/db to enable them.\n',
  );
  return false;
}

/** A fresh schema name; drop it with dropSchema() when done. */
export function freshSchema(): string {
  return `ar_test_${randomBytes(6).toString('hex')}`;
}

export async function dropSchema(schema: string): Promise<void> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await c.end();
  }
}
