// The `pattern`, `minLength` and `maxLength` attribute keywords (an agentroster extension of the
// RFC 7643 §7 attribute definition, docs/schemas.md): string rules that live in schemas/*.json.
// A pattern is deliberately not a general regular expression: only `^`, a sequence of character
// classes (`[a-z0-9._-]`) or literal letters and digits, each optionally followed by `*`, `+` or
// `?`, and `$`. It is matched by a set-of-states scan, so checking a value costs O(length × atoms)
// whatever the input — no backtracking, and nothing a client sends is ever compiled. Pure.

import type { AttributeDefinition } from './schema-types.js';

interface Atom {
  /** inclusive code point ranges */
  ranges: [number, number][];
  /** may repeat (`*`, or the second half of `+`) */
  star: boolean;
  /** may be skipped (`*`, `?`) */
  optional: boolean;
}

export interface StringRule {
  pattern?: { source: string; atoms: Atom[] };
  minLength?: number;
  maxLength?: number;
}

const compiled = new WeakMap<AttributeDefinition, StringRule | null>();

/** The string rule of an attribute, or undefined when it has none. Throws on an unsupported pattern. */
export function stringRuleOf(def: AttributeDefinition): StringRule | undefined {
  let rule = compiled.get(def);
  if (rule === undefined) {
    rule = compileRule(def);
    compiled.set(def, rule);
  }
  return rule ?? undefined;
}

function compileRule(def: AttributeDefinition): StringRule | null {
  const { pattern, minLength, maxLength } = def;
  if (pattern === undefined && minLength === undefined && maxLength === undefined) return null;
  const rule: StringRule = {};
  for (const [k, v] of [['minLength', minLength], ['maxLength', maxLength]] as const) {
    if (v === undefined) continue;
    if (!Number.isSafeInteger(v) || v < 0) throw new Error(`attribute "${def.name}": ${k} must be a non-negative integer`);
    rule[k] = v;
  }
  if (minLength !== undefined && maxLength !== undefined && minLength > maxLength) {
    throw new Error(`attribute "${def.name}": minLength exceeds maxLength`);
  }
  if (pattern !== undefined) rule.pattern = { source: pattern, atoms: compilePattern(def.name, pattern) };
  return rule;
}

function compilePattern(name: string, src: string): Atom[] {
  const fail = (why: string): never => {
    throw new Error(`attribute "${name}": unsupported pattern ${JSON.stringify(src)} (${why}); see docs/schemas.md`);
  };
  if (!src.startsWith('^') || !src.endsWith('$') || src.length < 2) fail('it must be anchored with ^ and $');
  const atoms: Atom[] = [];
  let i = 1;
  const end = src.length - 1;
  const escaped = (c: string | undefined) => (c !== undefined && '\\]-.[^$*+?'.includes(c) ? c : fail(`bad escape \\${c ?? ''}`));
  while (i < end) {
    let ranges: [number, number][];
    const c = src[i]!;
    if (c === '[') {
      ranges = [];
      i++;
      if (src[i] === '^') fail('negated classes are not supported');
      while (i < end && src[i] !== ']') {
        let lo = src[i]!;
        if (lo === '\\') lo = escaped(src[++i]);
        else if (lo === '[') fail('"[" inside a class must be escaped');
        i++;
        let hi = lo;
        // "a-z" is a range; a "-" first or last in the class is itself
        if (src[i] === '-' && i + 1 < end && src[i + 1] !== ']') {
          i++;
          hi = src[i] === '\\' ? escaped(src[++i]) : src[i]!;
          i++;
        }
        const l = lo.codePointAt(0)!;
        const h = hi.codePointAt(0)!;
        if (l > h) fail(`range ${lo}-${hi} is reversed`);
        ranges.push([l, h]);
      }
      if (src[i] !== ']' || ranges.length === 0) fail('unterminated or empty character class');
      i++;
    } else if (/^[A-Za-z0-9_@:-]$/.test(c)) {
      ranges = [[c.codePointAt(0)!, c.codePointAt(0)!]];
      i++;
    } else if (c === '\\') {
      const e = escaped(src[i + 1]);
      ranges = [[e.codePointAt(0)!, e.codePointAt(0)!]];
      i += 2;
    } else {
      return fail(`"${c}" is not supported outside a class`);
    }
    const q = i < end ? src[i] : undefined;
    if (q === '*') atoms.push({ ranges, star: true, optional: true });
    else if (q === '?') atoms.push({ ranges, star: false, optional: true });
    else if (q === '+') atoms.push({ ranges, star: false, optional: false }, { ranges, star: true, optional: true });
    else atoms.push({ ranges, star: false, optional: false });
    if (q === '*' || q === '?' || q === '+') i++;
  }
  return atoms;
}

/**
 * Checks a value against a rule; returns why it fails (for an invalidValue message) or undefined.
 * Never echoes the value: only its length or the position and code of the first character that
 * cannot be matched.
 */
export function stringRuleViolation(rule: StringRule, value: string): string | undefined {
  if (rule.minLength !== undefined || rule.maxLength !== undefined) {
    // code points, counted only as far as the limit needs
    const cap = rule.maxLength === undefined ? Infinity : rule.maxLength + 1;
    let n = 0;
    for (const _ of value) if (++n >= cap) break;
    const min = rule.minLength ?? 0;
    if (n < min || (rule.maxLength !== undefined && n > rule.maxLength)) {
      const span = rule.maxLength === undefined ? `at least ${min}` : min === 0 ? `at most ${rule.maxLength}` : `${min} to ${rule.maxLength}`;
      return `must be ${span} characters long`;
    }
  }
  if (rule.pattern) {
    const at = mismatchAt(rule.pattern.atoms, value);
    if (at !== undefined) {
      const where =
        at.index === undefined
          ? 'it ends too early'
          : `character ${at.index + 1} (U+${at.code.toString(16).toUpperCase().padStart(4, '0')}${at.code >= 0x21 && at.code <= 0x7e ? ` "${String.fromCodePoint(at.code)}"` : ''}) is not allowed there`;
      return `must match the pattern ${rule.pattern.source}: ${where}`;
    }
  }
  return undefined;
}

/** Thompson-style simulation: the set of atom positions reachable after each code point. */
function mismatchAt(atoms: Atom[], value: string): { index: number; code: number } | { index: undefined } | undefined {
  const m = atoms.length;
  let states = closure(atoms, [0]);
  let index = 0;
  for (const ch of value) {
    const code = ch.codePointAt(0)!;
    const next: number[] = [];
    for (const s of states) {
      if (s === m) continue;
      const a = atoms[s]!;
      if (!a.ranges.some(([lo, hi]) => code >= lo && code <= hi)) continue;
      next.push(a.star ? s : s + 1);
    }
    states = closure(atoms, next);
    if (states.length === 0) return { index, code };
    index++;
  }
  return states.includes(m) ? undefined : { index: undefined };
}

function closure(atoms: Atom[], from: number[]): number[] {
  const seen = new Set<number>();
  const stack = [...from];
  while (stack.length > 0) {
    const s = stack.pop()!;
    if (seen.has(s)) continue;
    seen.add(s);
    if (s < atoms.length && atoms[s]!.optional) stack.push(s + 1);
  }
  return [...seen];
}
