import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRegistry } from '../../../src/scim/load-schemas.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { storeContract } from './store-contract.js';

const registry = loadRegistry();

storeContract('SQLite', async (targetVersion) => {
  const path = join(mkdtempSync(join(tmpdir(), 'ar-store-')), 'test.db');
  const mk = (v?: number) => new SqliteStore(registry, { path, ...(v === undefined ? {} : { targetVersion: v }) });
  const store = mk(targetVersion);
  return {
    store,
    reopen: async (v?: number) => mk(v),
    seedRaw: async (type, id, data, at) => {
      store
        .raw()
        .prepare('INSERT INTO resources (type, id, data, version, created, last_modified) VALUES (?, ?, ?, 1, ?, ?)')
        .run(type, id, JSON.stringify(data), at, at);
      // the code of a version that had resource counts kept them too
      if (store.raw().prepare("SELECT 1 FROM sqlite_master WHERE name = 'resource_counts'").get()) {
        store.raw().prepare('INSERT INTO resource_counts (type, n) VALUES (?, 1) ON CONFLICT (type) DO UPDATE SET n = n + 1').run(type);
      }
    },
  };
});
