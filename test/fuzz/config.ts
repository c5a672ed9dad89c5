// Settings of the property-based fuzz suite (issue 10, "Make the class impossible").
//
// `npm test` runs it with a fixed seed and a bounded budget; `npm run fuzz -- --runs N --seed S`
// (scripts/fuzz.ts) runs the same properties longer by setting these variables.

function int(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isSafeInteger(n)) throw new Error(`${name} must be an integer, got ${JSON.stringify(raw)}`);
  return n;
}

/** The CI budget: cases per property and store (three properties per store). */
export const DEFAULT_RUNS = 1000;
/** The fixed seed of the CI run. */
export const DEFAULT_SEED = 20260110;

export const FUZZ = {
  /** cases per property (filters, query parameters, writes), per store */
  runs: int('FUZZ_RUNS', DEFAULT_RUNS),
  seed: int('FUZZ_SEED', DEFAULT_SEED),
  /**
   * Wall-clock bound of the generation phase of one property (ms). The CI budget is ~60 s for the
   * whole suite on both stores; a longer run (FUZZ_RUNS set) is bounded by its runs only.
   */
  timeLimitMs: int('FUZZ_TIME_LIMIT_MS', process.env.FUZZ_RUNS ? 0 : 14_000),
  /** time spent shrinking one distinct failure to a minimal counterexample (ms) */
  shrinkMs: int('FUZZ_SHRINK_MS', process.env.FUZZ_RUNS ? 20_000 : 2_500),
  /** distinct failures shrunk per property (the others are reported as first found) */
  shrinkMax: int('FUZZ_SHRINK_MAX', process.env.FUZZ_RUNS ? 40 : 6),
};
