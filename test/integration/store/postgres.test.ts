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
    return { store: await mk(targetVersion), reopen: (v?: number) => mk(v) };
  });
  afterAll(async () => {
    for (const s of schemas) await dropSchema(s);
  });
} else {
  describe.skip('Store contract: PostgreSQL (no server; see the message above)', () => {
    it('needs PostgreSQL', () => undefined);
  });
}
