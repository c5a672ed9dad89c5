// The vitest configuration mutation testing runs (stryker.config.mjs): only the test files of the
// chosen scopes (MUTATION_SCOPE), no emulator start-up.
import { defineConfig } from 'vitest/config';
import { readFileSync } from 'node:fs';

const SCOPES = JSON.parse(readFileSync(new URL('./mutation-scopes.json', import.meta.url), 'utf8')).scopes as Record<string, { tests: string[] }>;

const wanted = (process.env.MUTATION_SCOPE ?? Object.keys(SCOPES).join(',')).split(',').map((s) => s.trim()).filter(Boolean);

export default defineConfig({
  test: {
    include: [...new Set(wanted.flatMap((s) => SCOPES[s]?.tests ?? []))],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
