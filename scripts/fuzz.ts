// npm run fuzz -- [--runs N] [--seed S] [--store sqlite|postgres]
// The property-based fuzz suite of test/fuzz with a longer budget: N cases per property and store
// (no time limit), seed S (default: the CI seed). Prints per store the counts (cases, 5xx,
// 4xx-without-SCIM-body, resources changed after a 4xx, audit events after a failure, evaluator
// mismatches) and, for every distinct failure, the minimal counterexample as a curl command with
// the seed and fast-check path that replays it.

import { spawnSync } from 'node:child_process';
import { DEFAULT_RUNS, DEFAULT_SEED } from '../test/fuzz/config.js';

const args = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = args.indexOf(`--${name}`);
  if (i >= 0) return args[i + 1];
  return args.find((a) => a.startsWith(`--${name}=`))?.slice(name.length + 3);
};
const runs = opt('runs') ?? String(DEFAULT_RUNS * 4);
const seed = opt('seed') ?? String(DEFAULT_SEED);
const store = opt('store');
if (!/^\d+$/.test(runs) || !/^-?\d+$/.test(seed)) {
  console.error('usage: npm run fuzz -- [--runs N] [--seed S] [--store sqlite|postgres]');
  process.exit(2);
}
const files = store ? [`test/fuzz/${store === 'postgres' ? 'postgres' : 'sqlite'}.test.ts`] : ['test/fuzz'];
console.log(`fuzz: seed ${seed}, ${runs} runs per property and store (${files.join(' ')})`);
const res = spawnSync('npx', ['vitest', 'run', ...files, '--reporter=verbose'], {
  stdio: 'inherit',
  env: { ...process.env, FUZZ_RUNS: runs, FUZZ_SEED: seed },
});
process.exit(res.status ?? 1);
