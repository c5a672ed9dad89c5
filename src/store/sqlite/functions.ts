// The SQL functions every SQLite connection of agentroster needs: the writer's and each read
// worker's (read-pool.ts). Expression indexes are built over scim_fold(...), so a connection that
// registered it differently would neither use those indexes nor agree with them.

import type Database from 'better-sqlite3';
import { foldCase } from '../../lib/case-fold.js';

/** The one case fold (src/lib/case-fold.ts), also for stored values; non-strings pass through. */
export function scimFold(s: unknown): unknown {
  return typeof s === 'string' ? foldCase(s) : s;
}

export function registerSqlFunctions(db: Database.Database): void {
  db.function('scim_fold', { deterministic: true }, scimFold);
}
