// What every CLI command shares: opening the database (never creating one by accident), the
// logger (stderr, quiet unless --verbose), and the exit codes of design.md (0 ok, 1 refused or
// failed, 2 usage).

import pino, { type Logger } from 'pino';
import type { Config } from '../config/config.js';
import { loadRegistry } from '../scim/load-schemas.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/types.js';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

let verbose = false;

/** Set from the global --verbose flag (main.ts) before a command runs. */
export function setVerbose(v: boolean): void {
  verbose = v;
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;

/**
 * The logger of a CLI command other than `serve`: JSON lines on stderr (stdout is the command's
 * output), at `warn` unless --verbose (then AGENTROSTER_LOG_LEVEL, default info). A stricter
 * AGENTROSTER_LOG_LEVEL (error, silent) is kept either way.
 */
export function cliLogger(config: Pick<Config, 'logLevel'>): Logger {
  const configured = LEVELS.indexOf(config.logLevel);
  const level = verbose ? config.logLevel : LEVELS[Math.max(configured, LEVELS.indexOf('warn'))]!;
  return pino({ level, base: { service: 'agentroster' } }, pino.destination({ fd: 2, sync: true }));
}

/**
 * Opens the configured database for a command that needs an existing one: a missing SQLite file
 * or a PostgreSQL schema that was never migrated is an error ("run agentroster migrate"), never a
 * new empty database. `create: true` is for serve and migrate.
 */
export async function openCliStore(config: Config, o: { create?: boolean } = {}): Promise<Store> {
  return openStore(loadRegistry(), config.databaseUrl, {
    sqliteSynchronous: config.sqliteSynchronous,
    ...(config.databaseSchema ? { pgSchema: config.databaseSchema } : {}),
    create: o.create ?? false,
  });
}

export async function withCliStore<T>(config: Config, fn: (store: Store) => Promise<T>, o: { create?: boolean } = {}): Promise<T> {
  const store = await openCliStore(config, o);
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}
