// Property-based fuzzing of the HTTP app on SQLite (issue 10). See harness.ts for the oracles.

import { buildTestApp } from '../helpers/test-app.js';
import { fuzzSuite } from './suite.js';

fuzzSuite('SQLite', async () => ({ t: await buildTestApp() }));
