// Tokenizer for RFC 7644 §3.4.2.2 filters and §3.5.2 PATCH paths. Hand-written and linear-time:
// no regular expressions over the input, so hostile text cannot trigger backtracking.

import type { ScimError } from '../errors.js';
import { unstorableCharacter } from '../text.js';

/**
 * `word` is a maximal run of characters that are not whitespace, parentheses, brackets or `"`:
 * attribute paths, operators, and bare literals (numbers, true/false/null). The parser decides
 * what a word means, because `pr`, `eq` or `not` can only be told apart from names by position.
 */
export type TokenKind = 'word' | 'string' | '(' | ')' | '[' | ']' | 'end';

export interface Token {
  kind: TokenKind;
  /** the decoded string for `string`, the raw text otherwise ('' for `end`) */
  text: string;
  /** 0-based offset of the token's first character in the input */
  pos: number;
  /** the raw source text of the token, for error messages */
  raw: string;
  /** whether whitespace separates this token from the previous one (the `[` and `.sub` of a value path must be adjacent) */
  spaceBefore: boolean;
}

/** Builds the error to throw: invalidFilter for filters, invalidPath for PATCH paths. */
export type Fail = (detail: string) => ScimError;

// Spaces and tabs are what RFC 7644 allows; CR and LF are tolerated because POST /.search bodies
// may carry multi-line filters.
const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;
const isDelimiter = (c: number) =>
  c === 0x28 /* ( */ || c === 0x29 /* ) */ || c === 0x5b /* [ */ || c === 0x5d /* ] */ || c === 0x22; /* " */

const hexValue = (c: number): number => {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
};

const SIMPLE_ESCAPES: Record<string, string> = {
  '"': '"',
  '\\': '\\',
  '/': '/',
  b: '\b',
  f: '\f',
  n: '\n',
  r: '\r',
  t: '\t',
};

const codePointName = (c: number) => `U+${c.toString(16).toUpperCase().padStart(4, '0')}`;

/** Split `text` into tokens; the last one is always `end`. Throws `fail(…)` on a malformed string or a control character. */
export function tokenize(text: string, fail: Fail): Token[] {
  const tokens: Token[] = [];
  const n = text.length;
  let i = 0;
  while (true) {
    const start0 = i;
    while (i < n && isSpace(text.charCodeAt(i))) i++;
    const spaceBefore = i > start0;
    if (i >= n) {
      tokens.push({ kind: 'end', text: '', raw: '', pos: n, spaceBefore });
      return tokens;
    }
    const c = text.charCodeAt(i);
    const start = i;
    if (c === 0x22) {
      i = readString(text, i, tokens, spaceBefore, fail);
      continue;
    }
    if (isDelimiter(c)) {
      const ch = text[i] as TokenKind;
      tokens.push({ kind: ch, text: ch, raw: ch, pos: start, spaceBefore });
      i++;
      continue;
    }
    while (i < n) {
      const d = text.charCodeAt(i);
      if (isSpace(d) || isDelimiter(d)) break;
      if (d < 0x20 || d === 0x7f) {
        throw fail(`unexpected control character ${codePointName(d)} at position ${i}`);
      }
      i++;
    }
    const word = text.slice(start, i);
    tokens.push({ kind: 'word', text: word, raw: word, pos: start, spaceBefore });
  }
}

/** Read a JSON string (RFC 8259 §7) starting at the `"` at `start`; push it and return the index after the closing quote. */
function readString(text: string, start: number, tokens: Token[], spaceBefore: boolean, fail: Fail): number {
  const n = text.length;
  const parts: string[] = [];
  let i = start + 1;
  let runStart = i;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      parts.push(text.slice(runStart, i));
      const decoded = parts.join('');
      // \u0000 or an unpaired \uD800 escape decodes to text no store can hold (scim/text.ts).
      const bad = unstorableCharacter(decoded);
      if (bad !== undefined) throw fail(`the string at position ${start} contains ${bad}, which cannot be stored or matched`);
      tokens.push({ kind: 'string', text: decoded, raw: text.slice(start, i + 1), pos: start, spaceBefore });
      return i + 1;
    }
    if (c < 0x20) {
      // JSON forbids raw control characters inside strings; they must be escaped.
      throw fail(`control character ${codePointName(c)} in the string at position ${start} must be escaped (at position ${i})`);
    }
    if (c !== 0x5c) {
      i++;
      continue;
    }
    parts.push(text.slice(runStart, i));
    const e = text[i + 1];
    if (e === undefined) break; // unterminated
    const simple = SIMPLE_ESCAPES[e];
    if (simple !== undefined) {
      parts.push(simple);
      i += 2;
    } else if (e === 'u') {
      let code = 0;
      for (let k = 2; k < 6; k++) {
        const h = hexValue(text.charCodeAt(i + k));
        if (h < 0) {
          throw fail(`invalid \\u escape at position ${i}: expected 4 hex digits`);
        }
        code = code * 16 + h;
      }
      // Each \uXXXX is one UTF-16 code unit, so a surrogate pair written as two escapes
      // concatenates into the right character (as JSON.parse does).
      parts.push(String.fromCharCode(code));
      i += 6;
    } else {
      throw fail(`invalid escape "\\${e}" at position ${i}`);
    }
    runStart = i;
  }
  throw fail(`unterminated string starting at position ${start}`);
}
