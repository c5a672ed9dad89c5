// Issue 10, finding 1: the secret scan runs on every write, so it must be linear in its input
// whatever the input looks like. Each adversarial shape (a rule's prefix or alphabet repeated, so
// that a backtracking pattern would rescan the tail from every start) is timed at 100 KB and 1 MB,
// against 1 MB of ordinary prose scanned the same way. A quadratic rule grows ~100× from 100 KB to
// 1 MB and is thousands of times slower than prose ("eyJ".repeat(30000) took ~7 s before); a linear
// one grows ~10× and stays within a small factor of prose. npm run bench:secrets

import { findSecrets, findSecretsInRequest, secretKind } from '../src/agents/secrets.js';
import { ADVERSARIAL, fill, PROSE } from '../test/fixtures/adversarial-text.js';

const MB = 1_000_000;

/** The fastest of a few runs, in ms (the machine is noisy: the minimum is the cost). */
function fastest(fn: () => void, runs = 5): number {
  let best = Infinity;
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    fn();
    best = Math.min(best, performance.now() - t);
  }
  return best;
}


const scans: Record<string, (s: string) => unknown> = {
  'string value': (s) => secretKind(s),
  'PATCH path': (s) => findSecretsInRequest({ Operations: [{ op: 'remove', path: s }] }),
  'member name': (s) => findSecrets({ [s]: 1 }),
};

const prose = fill(PROSE, MB);
secretKind(prose);
const baseline = fastest(() => secretKind(prose));
const rows: string[][] = [];
let worstGrowth = 0;
let worstVsProse = 0;
for (const [where, scan] of Object.entries(scans)) {
  for (const [label, unit] of Object.entries(ADVERSARIAL)) {
    const small = fill(unit, MB / 10);
    const large = fill(unit, MB);
    scan(small);
    const tSmall = fastest(() => scan(small));
    const tLarge = fastest(() => scan(large));
    const growth = tLarge / Math.max(tSmall, 0.05);
    const vsProse = tLarge / Math.max(baseline, 0.05);
    worstGrowth = Math.max(worstGrowth, growth);
    worstVsProse = Math.max(worstVsProse, vsProse);
    rows.push([where, label, tSmall.toFixed(2), tLarge.toFixed(2), growth.toFixed(1), vsProse.toFixed(2)]);
  }
}
const header = ['scan', 'shape', '100 KB ms', '1 MB ms', '1 MB ÷ 100 KB', '÷ 1 MB prose'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (r: string[]) => r.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
console.log(`1 MB of prose: ${baseline.toFixed(2)} ms\n`);
console.log(line(header));
console.log(widths.map((w) => '-'.repeat(w)).join('  '));
for (const r of rows) console.log(line(r));
console.log(`\nworst growth 100 KB → 1 MB: ${worstGrowth.toFixed(1)}× (linear ≈ 10–30 once 1 MB outgrows the CPU caches, quadratic ≈ 100; target ≤ 50)`);
console.log(`worst 1 MB shape ÷ 1 MB prose: ${worstVsProse.toFixed(2)} (target ≤ 20)`);
