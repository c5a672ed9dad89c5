// Case-insensitive comparison (SCIM caseExact: false), defined once: a frozen, locale-independent
// table that maps one code point to one code point (case-fold-table.ts). The in-memory evaluator
// folds with foldCase(); the stores fold stored values with the same table: SQLite calls foldCase()
// itself (a registered function, scim_fold), PostgreSQL runs translate() over the table's two strings
// (foldFunctionSql(), created by the migrations). Because the mapping is one code point to one,
// folding commutes with substring tests, so eq, co, sw and ew agree everywhere; SQL lower() is
// never used (ASCII-only on SQLite, collation- and locale-dependent on PostgreSQL).
//
// What it equates: upper, lower and title case of a letter (A/a, Ǆ/ǅ/ǆ, Σ/σ/ς, Ω/ω, Kelvin sign/k,
// fullwidth Ａ/ａ, Deseret, Cherokee …), and the Turkish I variants İ/ı with i. What it does not:
// one-to-many foldings (ß is not "ss", ﬁ is not "fi") and Unicode normalisation (é composed is not
// e + U+0301): both would change lengths or depend on a Unicode version.

import { CASE_FOLD_PAIRS } from './case-fold-table.js';

/** code point → folded code point, for every code point that changes */
const TABLE = new Map<number, number>();
for (const line of CASE_FOLD_PAIRS) {
  for (const pair of line.split(' ')) {
    const [from, to] = pair.split(':');
    TABLE.set(Number.parseInt(from!, 16), Number.parseInt(to!, 16));
  }
}

const ASCII_UPPER = /[A-Z]/;
// eslint-disable-next-line no-control-regex
const NOT_ASCII = /[^\u0000-\u007f]/;

/** The folded form of a string: the same length in code points, idempotent, locale-independent. */
export function foldCase(s: string): string {
  if (!NOT_ASCII.test(s)) return ASCII_UPPER.test(s) ? s.toLowerCase() : s;
  let out = '';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    const to = TABLE.get(cp);
    out += to === undefined ? ch : String.fromCodePoint(to);
  }
  return out;
}

/** The table as two strings of equal length in code points, for SQL translate(). */
export function foldTranslation(): { from: string; to: string } {
  let from = '';
  let to = '';
  for (const [f, t] of TABLE) {
    from += String.fromCodePoint(f);
    to += String.fromCodePoint(t);
  }
  return { from, to };
}

/**
 * Order of two strings by code point, as SQLite (BINARY: UTF-8 bytes) and PostgreSQL (COLLATE "C")
 * compare text; JS `<` compares UTF-16 code units, which differs for astral characters.
 */
export function compareCodePoints(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // a surrogate (D800–DFFF: half of an astral code point) sorts after every BMP code unit
    const rx = x >= 0xd800 && x <= 0xdfff ? x + 0x10000 : x;
    const ry = y >= 0xd800 && y <= 0xdfff ? y + 0x10000 : y;
    return rx < ry ? -1 : 1;
  }
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}
