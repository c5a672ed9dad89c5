// Property-based fuzzing of the HTTP app on PostgreSQL (issue 10). Skips with a message where no
// PostgreSQL server is reachable; fails instead when AGENTROSTER_REQUIRE_POSTGRES=1 (CI).

import { describe, it } from 'vitest';
import { buildTestApp } from '../helpers/test-app.js';
import { dropSchema, freshSchema, PG_URL, postgresAvailable } from '../helpers/postgres.js';
import { fuzzSuite } from './suite.js';

if (await postgresAvailable()) {
  fuzzSuite('PostgreSQL', async () => {
    const schema = freshSchema();
    const t = await buildTestApp({ env: { AGENTROSTER_DATABASE_URL: PG_URL, AGENTROSTER_DATABASE_SCHEMA: schema } });
    return { t, cleanup: () => dropSchema(schema) };
  });
} else {
  describe.skip('fuzz: PostgreSQL (no server; see the message above)', () => {
    it('needs PostgreSQL', () => undefined);
  });
}
