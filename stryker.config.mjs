// Mutation testing (npm run test:mutation): does the suite fail when the rule-bearing code is
// wrong? Each scope mutates a group of modules and runs only the tests that cover each mutant
// (coverageAnalysis perTest). Choose scopes with MUTATION_SCOPE=filter,patch,… (default: all);
// scripts/mutation.ts runs them one after another and prints the score per module.

import { readFileSync } from 'node:fs';

/** scope → the modules it mutates and the test files that may kill its mutants (mutation-scopes.json) */
export const SCOPES = JSON.parse(readFileSync(new URL('./mutation-scopes.json', import.meta.url), 'utf8')).scopes;

const wanted = (process.env.MUTATION_SCOPE ?? Object.keys(SCOPES).join(','))
  .split(',')
  .map((s) => s.trim())
  .filter(Boolean);
for (const s of wanted) if (!(s in SCOPES)) throw new Error(`unknown MUTATION_SCOPE "${s}" (known: ${Object.keys(SCOPES).join(', ')})`);
const chosen = wanted.map((s) => SCOPES[s]);
const tag = wanted.join('+');

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  testRunner: 'vitest',
  plugins: ['@stryker-mutator/vitest-runner'],
  vitest: { configFile: 'vitest.mutation.config.ts', related: false },
  coverageAnalysis: 'perTest',
  mutate: chosen.flatMap((c) => c.mutate),
  ignoreStatic: true,
  concurrency: Number(process.env.MUTATION_CONCURRENCY ?? 2),
  timeoutMS: Math.max(...chosen.map((c) => c.timeoutMS ?? 20_000)),
  timeoutFactor: 3,
  reporters: ['clear-text', 'progress', 'json', 'html'],
  jsonReporter: { fileName: `reports/mutation/${tag}.json` },
  htmlReporter: { fileName: `reports/mutation/${tag}.html` },
  clearTextReporter: { allowColor: false, logTests: false, maxTestsToLog: 0, reportMutants: false },
  thresholds: { high: 85, low: 75, break: null },
  // sandboxes of other scopes' runs and the reports are not part of the project copied into a sandbox
  ignorePatterns: ['/.stryker-tmp', '/reports', '/.scratch', '/bench/results'],
  // a re-run re-tests only the mutants whose code or covering tests changed since the last run
  incremental: true,
  incrementalFile: `reports/mutation/${tag}.incremental.json`,
  tempDirName: `.stryker-tmp/${tag}`, // one per scope: runs of different scopes may overlap
  cleanTempDir: 'always',
};
