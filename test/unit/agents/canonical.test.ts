// Value comparison and the small helpers every rule leans on: when two values count as the same
// (a write that changes nothing is no change), dates, and the errors the glue turns into SCIM.

import { describe, expect, it } from 'vitest';
import { canonical, deepEqual } from '../../../src/agents/canonical.js';
import { addDays, conflict, forbidden, gov, GOVERNANCE_URN, invalid, isObj, maxIso, ms, objects, str } from '../../../src/agents/util.js';

describe('deepEqual', () => {
  it.each([
    [1, 1],
    ['a', 'a'],
    [null, null],
    [undefined, undefined],
    [{ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 }],
    [{ a: 1, b: undefined }, { a: 1 }],
    [{ a: 1 }, { a: 1, b: undefined }],
    [[], []],
    [{}, {}],
  ])('%j equals %j', (a, b) => {
    expect(deepEqual(a, b)).toBe(true);
    expect(deepEqual(b, a)).toBe(true);
  });

  it.each([
    [1, 2],
    [1, '1'],
    [0, false],
    ['', null],
    [null, undefined],
    [null, {}],
    [undefined, {}],
    [{}, []],
    [[1, 2], [2, 1]],
    [[1], [1, 1]],
    [[undefined], []],
    [{ a: 1 }, { a: 2 }],
    [{ a: 1 }, { b: 1 }],
    [{ a: 1 }, { a: 1, b: 2 }],
    [{ a: null }, {}],
    [{ a: { b: 1 } }, { a: { b: 1, c: 1 } }],
    [[{ a: 1 }], [{ a: 2 }]],
  ])('%j differs from %j', (a, b) => {
    expect(deepEqual(a, b)).toBe(false);
    expect(deepEqual(b, a)).toBe(false);
  });
});

describe('canonical', () => {
  it.each([
    [undefined, 'null'],
    [null, 'null'],
    [1, '1'],
    ['a"b', '"a\\"b"'],
    [true, 'true'],
    [[1, undefined, 'x'], '[1,null,"x"]'],
    [{ b: 1, a: [2], c: undefined }, '{"a":[2],"b":1}'],
    [{ B: 1, a: 2, _: 3 }, '{"B":1,"_":3,"a":2}'],
    [{ z: { y: 1, x: { w: 0 } } }, '{"z":{"x":{"w":0},"y":1}}'],
  ])('%j → %s', (v, want) => {
    expect(canonical(v)).toBe(want);
  });

  it('key order never matters; value order in arrays does', () => {
    expect(canonical({ a: 1, b: 2 })).toBe(canonical({ b: 2, a: 1 }));
    expect(canonical([1, 2])).not.toBe(canonical([2, 1]));
  });
});

describe('util', () => {
  it('isObj, str, objects', () => {
    expect([isObj({}), isObj([]), isObj(null), isObj('x')]).toEqual([true, false, false, false]);
    expect([str('a'), str(''), str(1), str(undefined)]).toEqual(['a', undefined, undefined, undefined]);
    expect(objects([{ a: 1 }, 'x', null, [1], { b: 2 }])).toEqual([{ a: 1 }, { b: 2 }]);
    expect(objects({ a: 1 })).toEqual([]);
  });

  it('gov: the governance extension, or {}', () => {
    expect(gov({ [GOVERNANCE_URN]: { purpose: 'p' } })).toEqual({ purpose: 'p' });
    expect(gov({ [GOVERNANCE_URN]: ['x'] })).toEqual({});
    expect(gov({})).toEqual({});
  });

  it('dates: ms, addDays, maxIso', () => {
    expect(ms('2026-01-01T00:00:00Z')).toBe(Date.UTC(2026, 0, 1));
    expect([ms('nope'), ms(5), ms(undefined)]).toEqual([undefined, undefined, undefined]);
    expect(addDays('2026-01-31T00:00:00Z', 1)).toBe('2026-02-01T00:00:00.000Z');
    expect(addDays('2026-01-31T00:00:00Z', -31)).toBe('2025-12-31T00:00:00.000Z');
    expect(maxIso('2026-01-01T00:00:00Z', undefined, 'x', '2026-03-01T00:00:00+01:00', '2026-02-01T00:00:00Z')).toBe('2026-02-28T23:00:00.000Z');
    expect(maxIso('2026-03-01T00:00:00Z', '2026-01-01T00:00:00Z')).toBe('2026-03-01T00:00:00.000Z');
    expect(maxIso(undefined, 'x')).toBeUndefined();
  });

  it('violations', () => {
    expect(invalid('m')).toEqual({ status: 400, scimType: 'invalidValue', message: 'm' });
    expect(forbidden('m')).toEqual({ status: 403, message: 'm' });
    expect(conflict('m')).toEqual({ status: 409, message: 'm' });
    expect(conflict('m', 'uniqueness')).toEqual({ status: 409, scimType: 'uniqueness', message: 'm' });
  });
});
