// The pattern/minLength/maxLength keywords of schemas/*.json (src/scim/string-pattern.ts): regex
// semantics for the supported subset, a linear-time match whatever the input, messages that name
// the rule but never echo the value, and schema patterns outside the subset refused at load.

import { describe, expect, it } from 'vitest';
import type { AttributeDefinition } from '../../../src/scim/schema-types.js';
import { stringRuleOf, stringRuleViolation } from '../../../src/scim/string-pattern.js';

const def = (over: Partial<AttributeDefinition>): AttributeDefinition => ({
  name: 'x', type: 'string', multiValued: false, required: false, caseExact: false, mutability: 'readWrite', returned: 'default', uniqueness: 'none', ...over,
});
const check = (over: Partial<AttributeDefinition>, value: string) => stringRuleViolation(stringRuleOf(def(over))!, value);

describe('string rules', () => {
  const NAME = { pattern: '^[a-z0-9][a-z0-9._-]*$', minLength: 3, maxLength: 64 };

  it('agrees with the same pattern as a RegExp on a spread of inputs', () => {
    const patterns = ['^[a-z0-9][a-z0-9._-]*$', '^a[0-9]+b?$', '^[-a]*z$', '^[a-c\\]]+$', '^ab?c*\\.d$'];
    const inputs = ['', 'a', 'ab', 'abc', 'a1b', 'a12', 'a1bb', '-az', 'z', 'aaz', ']a', 'abc]', 'acc.d', 'a.d', 'ab.d', 'abccc.d', 'Has Spaces!', '../etc', 'é', 'a\u0000'];
    for (const pattern of patterns) {
      const re = new RegExp(pattern, 'u');
      for (const v of inputs) expect(check({ pattern }, v) === undefined, `${pattern} ${JSON.stringify(v)}`).toBe(re.test(v));
    }
  });

  it('names the rule and the first character that does not fit, not the value', () => {
    expect(check(NAME, 'Has Spaces!')).toBe('must match the pattern ^[a-z0-9][a-z0-9._-]*$: character 1 (U+0048 "H") is not allowed there');
    expect(check(NAME, 'has spaces')).toMatch(/character 4 \(U\+0020\) is not allowed/);
    expect(check(NAME, 'ab')).toBe('must be 3 to 64 characters long');
    expect(check(NAME, 'a'.repeat(65))).toBe('must be 3 to 64 characters long');
    expect(check(NAME, 'a'.repeat(64))).toBeUndefined();
    expect(check({ pattern: '^a[0-9]+$' }, 'a')).toBe('must match the pattern ^a[0-9]+$: it ends too early');
    expect(check({ minLength: 2 }, 'a')).toBe('must be at least 2 characters long');
    expect(check({ maxLength: 2 }, 'abc')).toBe('must be at most 2 characters long');
    // lengths are characters (code points), not UTF-16 units
    expect(check({ maxLength: 2 }, '😀😀')).toBeUndefined();
  });

  it('names the first offending character of a long adversarial value (one pass, no backtracking: not timed here)', () => {
    const rule = stringRuleOf(def({ pattern: '^[a-z]*[a-z0-9]*[a-z]*[0-9]$' }))!;
    expect(stringRuleViolation(rule, 'a'.repeat(200_000) + '!')).toMatch(/character 200001/);
  });

  it('refuses patterns outside the linear subset when the schema is loaded', () => {
    for (const pattern of ['[a-z]*', '^(a|b)*$', '^[^a]$', '^a.*$', '^[a-z]{3}$', '^[z-a]$', '^[]$']) {
      expect(() => stringRuleOf(def({ pattern })), pattern).toThrow(/unsupported pattern/);
    }
    expect(() => stringRuleOf(def({ minLength: 5, maxLength: 2 }))).toThrow(/minLength exceeds maxLength/);
    expect(() => stringRuleOf(def({ minLength: -1 }))).toThrow(/non-negative integer/);
  });
});
