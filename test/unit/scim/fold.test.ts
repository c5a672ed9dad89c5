// The one case fold (src/lib/case-fold.ts): its frozen table maps one code point to one, folding is
// idempotent, and the table covers what Node's own case mappings equate (so the freeze loses nothing
// on the Node it was generated with; a newer Unicode may add letters, which stay unfolded until a
// migration re-folds with a regenerated table).

import { describe, expect, it } from 'vitest';
import { CASE_FOLD_PAIRS } from '../../../src/lib/case-fold-table.js';
import { compareCodePoints, foldCase, foldTranslation } from '../../../src/lib/case-fold.js';

describe('case-fold table', () => {
  const pairs = CASE_FOLD_PAIRS.flatMap((l) => l.split(' ')).map((p) => p.split(':').map((h) => Number.parseInt(h, 16)) as [number, number]);

  it('maps each code point once, to a code point that folds to itself', () => {
    const from = new Set(pairs.map(([f]) => f));
    expect(from.size).toBe(pairs.length);
    for (const [f, t] of pairs) {
      expect(f).not.toBe(t);
      expect(from.has(t), `U+${t.toString(16)} is itself folded`).toBe(false);
      expect(f < 0xd800 || f > 0xdfff).toBe(true);
    }
    const { from: a, to: b } = foldTranslation();
    expect([...a].length).toBe([...b].length);
    expect(a.includes("'") || b.includes("'") || a.includes('$') || a.includes('\\')).toBe(false); // safe in SQL literals
  });

  it('equates what simple case mapping equates, for every code point', () => {
    const oneCp = (s: string) => [...s].length === 1;
    for (let cp = 0; cp <= 0x1ffff; cp++) {
      if (cp >= 0xd800 && cp <= 0xdfff) continue;
      const c = String.fromCodePoint(cp);
      const l = c.toLowerCase();
      const u = c.toUpperCase();
      if (oneCp(l)) expect(foldCase(l), `U+${cp.toString(16)}`).toBe(foldCase(c));
      if (oneCp(u) && cp !== 0x130) expect(foldCase(u), `U+${cp.toString(16)}`).toBe(foldCase(c));
    }
  });

  it('folds whole strings code point by code point, ASCII fast path included', () => {
    expect(foldCase('Hello WORLD')).toBe('hello world');
    expect(foldCase('İSTANBUL ıi')).toBe('istanbul ii');
    expect(foldCase('ΌΣΟΣ ὈΔΌΣ')).toBe(foldCase('όσοσ ὀδόσ'));
    expect(foldCase('𐐀𐐁')).toBe('𐐨𐐩');
    expect(foldCase('a%_\\*?[')).toBe('a%_\\*?[');
    expect(foldCase('')).toBe('');
  });

  it('orders by code point like SQLite BINARY and PostgreSQL "C"', () => {
    const words = ['b', 'a', '😀', '\uFF21', 'ab', '', 'é', 'z', '𐐨'];
    const bytes = [...words].sort((x, y) => Buffer.compare(Buffer.from(x), Buffer.from(y)));
    expect([...words].sort(compareCodePoints)).toEqual(bytes);
  });
});
