import { afterAll, describe, it } from 'vitest';
import { loadRegistry } from '../../../src/scim/load-schemas.js';
import { PostgresStore } from '../../../src/store/postgres/postgres-store.js';
import { dropSchema, freshSchema, PG_URL, postgresAvailable } from '../../helpers/postgres.js';
import { storeContract } from './store-contract.js';

const registry = loadRegistry();
const schemas: string[] = [];

if (await postgresAvailable()) {
  storeContract('PostgreSQL', async (targetVersion) => {
    const schema = freshSchema();
    schemas.push(schema);
    const mk = (v?: number) => PostgresStore.open(registry, { url: PG_URL, schema, ...(v === undefined ? {} : { targetVersion: v }) });
    const store = await mk(targetVersion);
    return {
      store,
      reopen: (v?: number) => mk(v),
      seedRaw: async (type, id, data, at) => {
        await store
          .pool()
          .query('INSERT INTO resources (type, id, data, version, created, last_modified) VALUES ($1, $2, $3, 1, $4, $4)', [type, id, data, at]);
        // the code of a version that had resource counts kept them too
        const counts = await store.pool().query("SELECT to_regclass('resource_counts') IS NOT NULL AS present");
        if (counts.rows[0].present) {
          await store
            .pool()
            .query('INSERT INTO resource_counts (type, n) VALUES ($1, 1) ON CONFLICT (type) DO UPDATE SET n = resource_counts.n + 1', [type]);
        }
      },
    };
  });
  afterAll(async () => {
    for (const s of schemas) await dropSchema(s);
  });
} else {
  describe.skip('Store contract: PostgreSQL (no server; see the message above)', () => {
    it('needs PostgreSQL', () => undefined);
  });
}
