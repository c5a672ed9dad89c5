// One fuzz suite per store (sqlite.test.ts, postgres.test.ts): seed, run the three properties,
// print the counts, fail with every distinct failure (minimal counterexample, curl reproduction).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestApp } from '../helpers/test-app.js';
import { FUZZ } from './config.js';
import { type Failure, StoreFuzzer } from './harness.js';

/** generous: the properties stop at FUZZ.runs cases or the time limit, whichever comes first */
const PROPERTY_TIMEOUT = FUZZ.timeLimitMs > 0 ? FUZZ.timeLimitMs + FUZZ.shrinkMax * FUZZ.shrinkMs + 60_000 : FUZZ.runs * 2_000 + FUZZ.shrinkMax * FUZZ.shrinkMs + 120_000;

export function fuzzSuite(name: string, open: () => Promise<{ t: TestApp; cleanup?: () => Promise<void> }>): void {
  describe(`fuzz (fast-check, seed ${FUZZ.seed}, ${FUZZ.runs} runs per property): ${name}`, () => {
    let fz: StoreFuzzer;
    let cleanup: (() => Promise<void>) | undefined;
    const all: Failure[] = [];

    beforeAll(async () => {
      const opened = await open();
      cleanup = opened.cleanup;
      fz = new StoreFuzzer(name, opened.t);
      await fz.seed();
    }, 120_000);

    afterAll(async () => {
      if (fz) {
        console.log(fz.countsLine());
        if (all.length) console.log(`[fuzz] ${name}: ${all.length} distinct failures\n${fz.describeFailures(all)}`);
        await fz.t.close();
      }
      await cleanup?.();
    }, 60_000);

    const property = (title: string, run: () => Promise<Failure[]>) =>
      it(
        title,
        async () => {
          const failures = await run();
          all.push(...failures);
          expect(failures, `${failures.length} distinct failures:\n${fz.describeFailures(failures)}`).toEqual([]);
        },
        PROPERTY_TIMEOUT,
      );

    property('filters: no 5xx, SCIM errors, results equal to the in-memory evaluator', () =>
      fz.run('filters', fz.filterArbitrary(), (c) => fz.checkFilter(c)),
    );
    property('query parameters: no 5xx, SCIM errors, attributes never drop data', () =>
      fz.run('queries', fz.queryArbitrary(), (c) => fz.checkQuery(c)),
    );
    property('POST/PUT/PATCH bodies: no 5xx, SCIM errors, a failure changes nothing and writes no audit event', () =>
      fz.run('writes', fz.writeArbitrary(), (c) => fz.checkWrite(c)),
    );
  });
}
