// npm run test:mutation [-- --scope agents,rules]: runs StrykerJS once per scope (stryker.config.mjs)
// and prints, per module, the mutation score over all mutants and over the covered ones, from the
// JSON reports in reports/mutation/. Exit code 0 even below target: the scores are the result.
// --report-only reprints the table from the last reports; --survivors also lists every surviving
// and uncovered mutant (file:line:column, mutator, replacement) for triage.

import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

const SCOPES = (JSON.parse(readFileSync(new URL('../mutation-scopes.json', import.meta.url), 'utf8')) as { scopes: Record<string, unknown> }).scopes;

interface Mutant {
  status: string;
  mutatorName: string;
  replacement?: string;
  location: { start: { line: number; column: number } };
}
interface Report {
  files: Record<string, { source: string; mutants: Mutant[] }>;
}

const arg = process.argv.indexOf('--scope');
const scopes = (arg >= 0 ? process.argv[arg + 1] ?? '' : Object.keys(SCOPES).join(',')).split(',').filter(Boolean);
const report = process.argv.includes('--report-only');
const listSurvivors = process.argv.includes('--survivors');
const survivorLines: string[] = [];

const DETECTED = new Set(['Killed', 'Timeout']);
const UNDETECTED = new Set(['Survived', 'NoCoverage']);

const rows: string[][] = [];
for (const scope of scopes) {
  if (!report) {
    console.error(`\n── mutation scope "${scope}" ──`);
    const r = spawnSync('npx', ['stryker', 'run'], { stdio: 'inherit', env: { ...process.env, MUTATION_SCOPE: scope } });
    if (r.status !== 0) console.error(`stryker exited ${r.status} for scope ${scope}`);
  }
  const file = `reports/mutation/${scope}.json`;
  if (!existsSync(file)) {
    rows.push([scope, '(no report)', '', '', '', '', '']);
    continue;
  }
  const json = JSON.parse(readFileSync(file, 'utf8')) as Report;
  for (const [path, f] of Object.entries(json.files).sort(([a], [b]) => a.localeCompare(b))) {
    const count = (set: Set<string>) => f.mutants.filter((m) => set.has(m.status)).length;
    const detected = count(DETECTED);
    const survived = f.mutants.filter((m) => m.status === 'Survived').length;
    const noCov = f.mutants.filter((m) => m.status === 'NoCoverage').length;
    const valid = detected + count(UNDETECTED);
    const pct = (a: number, b: number) => (b === 0 ? '—' : `${((100 * a) / b).toFixed(1)} %`);
    rows.push([scope, path, String(valid), pct(detected, valid), pct(detected, detected + survived), String(survived), String(noCov)]);
    if (listSurvivors) {
      const lines = f.source.split('\n');
      for (const m of f.mutants.filter((x) => UNDETECTED.has(x.status)).sort((a, b) => a.location.start.line - b.location.start.line)) {
        const { line, column } = m.location.start;
        const original = (lines[line - 1] ?? '').trim().slice(0, 100);
        const replacement = (m.replacement ?? '').replace(/\s+/g, ' ').slice(0, 80);
        survivorLines.push(`${path}:${line}:${column}  ${m.status}  ${m.mutatorName}  → ${replacement}\n    ${original}`);
      }
    }
  }
}

const header = ['scope', 'module', 'mutants', 'score', 'score (covered)', 'survived', 'no coverage'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (r: string[]) => r.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
console.log(`\n${line(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
for (const r of rows) console.log(line(r));
if (listSurvivors) console.log(`\nsurviving and uncovered mutants:\n${survivorLines.join('\n')}`);
