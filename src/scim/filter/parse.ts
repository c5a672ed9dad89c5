// RFC 7644 §3.4.2.2 filter grammar → AST (ast.ts), the §3.5.2 PATCH `path` grammar, and bare
// attribute paths for sortBy / attributes / excludedAttributes (§3.4.2.3, §3.9). Pure; no I/O.
//
// Recursive descent over lexer.ts tokens. Precedence: `not ( … )` and `( … )` bind tightest, then
// `and`, then `or`; and/or chains are flattened into one node, also across parentheses, so
// `(a and b) and c` and `a and b and c` give the same AST. Error positions are 0-based offsets
// into the text, as in JSON.parse messages.

import type { AttrPath, CompareOp, Filter, FilterValue, PatchPath } from './ast.js';
import { invalidFilter, invalidPath } from '../errors.js';
import { tokenize, type Fail, type Token } from './lexer.js';

/** Bounds that keep hostile input cheap: checked while parsing, so recursion never gets deep. */
export const FILTER_LIMITS = {
  /** characters in a filter or path */
  maxLength: 10_000,
  /** nesting of `( … )`, `not ( … )` and `[ … ]` */
  maxDepth: 50,
  /** `compare` and `present` nodes */
  maxComparisons: 500,
} as const;

const COMPARE_OPS: ReadonlySet<string> = new Set<CompareOp>(['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le']);

/**
 * Parse a `filter` query parameter (or the `filter` of POST /.search) into an AST.
 * Throws ScimError 400 `invalidFilter` naming the problem and its position.
 * @example parseFilter('userName eq "bjensen"')
 *   // → { kind: 'compare', op: 'eq', path: { attr: 'userName' }, value: 'bjensen' }
 */
export function parseFilter(text: string): Filter {
  const parser = new Parser(checkLength(text, 'filter', invalidFilter), invalidFilter, 'filter');
  return parser.parseWholeFilter();
}

/**
 * Parse a PATCH operation's `path` (RFC 7644 §3.5.2): `attrPath` or `valuePath ["." subAttr]`.
 * Throws ScimError 400 `invalidPath`, also for a syntax error inside `[ … ]`.
 *
 * A bare schema URN is ambiguous without the schemas: `urn:x:y:User` comes back as
 * `{ path: { uri: 'urn:x:y', attr: 'User' } }`, and a URN whose last segment is not an attribute
 * name (`urn:example:ext:1.0`) is rejected. Callers that accept a whole extension as the target
 * should compare the text with their schema URNs before calling this.
 */
export function parsePatchPath(text: string): PatchPath {
  const parser = new Parser(checkLength(text, 'path', invalidPath), invalidPath, 'path');
  return parser.parseWholePatchPath();
}

/**
 * Parse one attribute path (`userName`, `name.givenName`, `urn:…:User:manager.value`), as used by
 * `sortBy` and each entry of `attributes` / `excludedAttributes`. Surrounding whitespace is ignored.
 * Throws ScimError 400 `invalidPath`. The bare-URN caveat of `parsePatchPath` applies.
 */
export function parseAttrPath(text: string): AttrPath {
  const parser = new Parser(checkLength(text, 'attribute path', invalidPath), invalidPath, 'attribute path');
  return parser.parseWholeAttrPath();
}

function checkLength(text: string, what: string, fail: Fail): string {
  if (typeof text !== 'string') throw fail(`the ${what} must be a string`);
  if (text.length > FILTER_LIMITS.maxLength) {
    throw fail(`the ${what} is too long: ${text.length} characters, the limit is ${FILTER_LIMITS.maxLength}`);
  }
  return text;
}

const quote = (s: string) => `"${s.length > 40 ? `${s.slice(0, 40)}…` : s}"`;

class Parser {
  private readonly tokens: Token[];
  private readonly fail: Fail;
  private readonly what: string;
  private index = 0;
  private depth = 0;
  private comparisons = 0;

  constructor(text: string, fail: Fail, what: string) {
    this.fail = fail;
    this.what = what;
    this.tokens = tokenize(text, fail);
  }

  parseWholeFilter(): Filter {
    if (this.peek().kind === 'end') throw this.fail('the filter is empty');
    const filter = this.parseOr(undefined);
    const t = this.peek();
    if (t.kind !== 'end') {
      const hint = t.kind === ')' ? ' (no matching "(")' : '; expected "and", "or" or the end of the filter';
      throw this.fail(`unexpected ${this.describe(t)} at position ${t.pos}${hint}`);
    }
    return filter;
  }

  parseWholePatchPath(): PatchPath {
    const t = this.expectPathWord();
    const path = this.attrPath(t, undefined);
    const result: PatchPath = { path };
    if (this.peek().kind === '[') {
      result.valueFilter = this.parseValueFilter(t, path);
      const subAttr = this.takeTrailingSubAttr();
      if (subAttr !== undefined) result.subAttr = subAttr;
    }
    this.expectEnd();
    return result;
  }

  parseWholeAttrPath(): AttrPath {
    const t = this.expectPathWord();
    const path = this.attrPath(t, undefined);
    this.expectEnd();
    return path;
  }

  // ── filter grammar ──────────────────────────────────────────────────────────────────────────

  /** `inValue` is the raw attribute name while inside `attr[ … ]`, undefined at the top level. */
  private parseOr(inValue: string | undefined): Filter {
    const first = this.parseAnd(inValue);
    if (!this.isKeyword(this.peek(), 'or')) return first;
    const parts = [first];
    while (this.isKeyword(this.peek(), 'or')) {
      const op = this.next();
      parts.push(this.parseAnd(inValue, op));
    }
    return combine('or', parts);
  }

  private parseAnd(inValue: string | undefined, after?: Token): Filter {
    const first = this.parseUnary(inValue, after);
    if (!this.isKeyword(this.peek(), 'and')) return first;
    const parts = [first];
    while (this.isKeyword(this.peek(), 'and')) {
      const op = this.next();
      parts.push(this.parseUnary(inValue, op));
    }
    return combine('and', parts);
  }

  private parseUnary(inValue: string | undefined, after?: Token): Filter {
    const t = this.peek();
    if (t.kind === '(') {
      this.next();
      return this.parseGroup(t, inValue);
    }
    if (t.kind === 'word') {
      const word = t.text.toLowerCase();
      if (word === 'not') {
        // RFC 7644 ABNF: "not" "(" valFilter ")". `not a eq "b"` is not in the grammar.
        this.next();
        const open = this.peek();
        if (open.kind !== '(') {
          throw this.fail(`expected "(" after "not" at position ${open.pos}, found ${this.describe(open)}; write not ( … )`);
        }
        this.next();
        return { kind: 'not', filter: this.parseGroup(open, inValue) };
      }
      if (word !== 'and' && word !== 'or') return this.parseAttrExp(inValue);
    }
    const where = after ? ` after ${quote(after.raw)}` : '';
    throw this.fail(`expected an attribute path, "(" or "not"${where} at position ${t.pos}, found ${this.describe(t)}`);
  }

  /** The rest of `( … )` once `open` is consumed. */
  private parseGroup(open: Token, inValue: string | undefined): Filter {
    this.enter(open);
    const inner = this.parseOr(inValue);
    this.expectClose(open, ')');
    this.depth--;
    return inner;
  }

  /** `attrPath pr`, `attrPath op value`, `attrPath[ … ]`, or Entra's `attrPath[ … ].sub op value`. */
  private parseAttrExp(inValue: string | undefined): Filter {
    const t = this.next();
    const path = this.attrPath(t, inValue);
    if (this.peek().kind !== '[') return this.parseComparison(path, t.raw);

    if (inValue !== undefined) {
      throw this.fail(`nested value filters are not allowed: "[" at position ${this.peek().pos} inside "${inValue}[…]"`);
    }
    const filter = this.parseValueFilter(t, path);
    const subTok = this.peek();
    const sub = this.takeTrailingSubAttr();
    if (sub === undefined) return { kind: 'valuePath', path, filter };
    // Entra ID sends `emails[type eq "work"].value eq "a@b.c"` as a filter (entra.md §4.2). It is
    // not in the RFC grammar; we read it as `emails[type eq "work" and value eq "a@b.c"]`.
    const subExp = this.parseComparison({ attr: sub }, `${t.raw}[…]${subTok.raw}`);
    return { kind: 'valuePath', path, filter: combine('and', [filter, subExp]) };
  }

  private parseComparison(path: AttrPath, label: string): Filter {
    const opTok = this.peek();
    if (opTok.kind !== 'word') {
      throw this.fail(`expected a comparison operator after ${quote(label)} at position ${opTok.pos}, found ${this.describe(opTok)}`);
    }
    const op = opTok.text.toLowerCase();
    if (op === 'pr') {
      this.next();
      this.countComparison(opTok);
      return { kind: 'present', path };
    }
    if (!COMPARE_OPS.has(op)) {
      throw this.fail(
        `unknown comparison operator ${quote(opTok.raw)} after ${quote(label)} at position ${opTok.pos}; ` +
          'expected eq, ne, co, sw, ew, gt, ge, lt, le or pr',
      );
    }
    this.next();
    const value = this.literal(opTok);
    this.countComparison(opTok);
    return { kind: 'compare', op: op as CompareOp, path, value };
  }

  /** compValue: a JSON string, number, true, false or null (the keywords in any case). */
  private literal(opTok: Token): FilterValue {
    const t = this.peek();
    if (t.kind === 'string') {
      this.next();
      return t.text;
    }
    if (t.kind !== 'word') {
      throw this.fail(`expected a value after ${quote(opTok.raw)} at position ${t.pos}, found ${this.describe(t)}`);
    }
    const lower = t.text.toLowerCase();
    let value: FilterValue;
    if (lower === 'true') value = true;
    else if (lower === 'false') value = false;
    else if (lower === 'null') value = null;
    else if (isJsonNumber(t.text)) {
      const n = Number(t.text);
      if (!Number.isFinite(n)) throw this.fail(`number ${quote(t.raw)} at position ${t.pos} is out of range`);
      value = n === 0 ? 0 : n; // no -0 in the AST
    } else {
      const hint = t.text.startsWith("'") ? 'strings must be in double quotes' : 'expected a "string", a number, true, false or null';
      throw this.fail(`invalid value ${quote(t.raw)} at position ${t.pos}: ${hint}`);
    }
    this.next();
    return value;
  }

  /** `[ valFilter ]` with the `[` next; `pathTok`/`path` name the attribute it filters. */
  private parseValueFilter(pathTok: Token, path: AttrPath): Filter {
    const open = this.next();
    if (open.spaceBefore) {
      throw this.fail(`unexpected space before "[" at position ${open.pos}; the value filter must follow ${quote(pathTok.raw)} directly`);
    }
    if (path.sub !== undefined) {
      // Sub-attributes cannot be complex (RFC 7643 §2.3.8), so `a.b[ … ]` can never select anything.
      throw this.fail(`a value filter must follow an attribute, not the sub-attribute ${quote(pathTok.raw)} (position ${open.pos})`);
    }
    this.enter(open);
    if (this.peek().kind === ']') throw this.fail(`empty value filter at position ${open.pos}`);
    const filter = this.parseOr(pathTok.raw);
    this.expectClose(open, ']');
    this.depth--;
    return filter;
  }

  /** After `]`: an adjacent `.subAttr` word, consumed and validated, or undefined. */
  private takeTrailingSubAttr(): string | undefined {
    const t = this.peek();
    if (t.kind !== 'word' || !t.text.startsWith('.')) return undefined;
    if (t.spaceBefore) throw this.fail(`unexpected space before ${quote(t.raw)} at position ${t.pos}`);
    const sub = t.text.slice(1);
    if (!isAttrName(sub)) throw this.fail(`invalid sub-attribute name ${quote(sub)} at position ${t.pos + 1}`);
    this.next();
    return sub;
  }

  // ── attribute paths ─────────────────────────────────────────────────────────────────────────

  /**
   * attrPath = [URI ":"] ATTRNAME ["." ATTRNAME]. The URI is everything up to the last ':' (URNs
   * contain dots, as in `…:2.0:User`; attribute names never contain ':').
   */
  private attrPath(t: Token, inValue: string | undefined): AttrPath {
    const raw = t.text;
    const colon = raw.lastIndexOf(':');
    let uri: string | undefined;
    let rest = raw;
    let restPos = t.pos;
    if (colon >= 0) {
      uri = raw.slice(0, colon);
      rest = raw.slice(colon + 1);
      restPos = t.pos + colon + 1;
      if (!isSchemaUri(uri)) throw this.fail(`invalid attribute path ${quote(raw)} at position ${t.pos}`);
      if (rest === '') throw this.fail(`expected an attribute name after ${quote(uri + ':')} at position ${restPos}`);
    }
    const dot = rest.indexOf('.');
    const attr = dot < 0 ? rest : rest.slice(0, dot);
    const sub = dot < 0 ? undefined : rest.slice(dot + 1);
    if (!isAttrName(attr)) throw this.fail(`invalid attribute name ${quote(attr)} at position ${restPos}`);
    if (sub !== undefined && !isAttrName(sub)) {
      throw this.fail(`invalid sub-attribute name ${quote(sub)} at position ${restPos + dot + 1}`);
    }
    if (inValue !== undefined && (uri !== undefined || sub !== undefined)) {
      throw this.fail(
        `${quote(raw)} at position ${t.pos} is not a sub-attribute name: inside "${inValue}[…]" ` +
          `write sub-attributes of ${quote(inValue)} without "." or a schema URI`,
      );
    }
    return { ...(uri !== undefined ? { uri } : {}), attr, ...(sub !== undefined ? { sub } : {}) };
  }

  private expectPathWord(): Token {
    const t = this.peek();
    if (t.kind === 'end') throw this.fail(`the ${this.what} is empty`);
    if (t.kind !== 'word') throw this.fail(`expected an attribute path at position ${t.pos}, found ${this.describe(t)}`);
    return this.next();
  }

  // ── token helpers ───────────────────────────────────────────────────────────────────────────

  private peek(): Token {
    // tokenize() always ends with an `end` token and next() never moves past it.
    return this.tokens[this.index] as Token;
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'end') this.index++;
    return t;
  }

  private isKeyword(t: Token, keyword: string): boolean {
    return t.kind === 'word' && t.text.length === keyword.length && t.text.toLowerCase() === keyword;
  }

  private expectClose(open: Token, close: ')' | ']'): void {
    const t = this.peek();
    if (t.kind === close) {
      this.next();
      return;
    }
    throw this.fail(
      `expected "${close}" to close the "${open.raw}" at position ${open.pos}, found ${this.describe(t)} at position ${t.pos}`,
    );
  }

  private expectEnd(): void {
    const t = this.peek();
    if (t.kind !== 'end') throw this.fail(`unexpected ${this.describe(t)} at position ${t.pos} in the ${this.what}`);
  }

  private enter(open: Token): void {
    if (++this.depth > FILTER_LIMITS.maxDepth) {
      throw this.fail(`the ${this.what} nests deeper than ${FILTER_LIMITS.maxDepth} levels (at position ${open.pos})`);
    }
  }

  private countComparison(t: Token): void {
    if (++this.comparisons > FILTER_LIMITS.maxComparisons) {
      throw this.fail(`the ${this.what} has more than ${FILTER_LIMITS.maxComparisons} comparisons (at position ${t.pos})`);
    }
  }

  private describe(t: Token): string {
    if (t.kind === 'end') return `the end of the ${this.what}`;
    if (t.kind === 'string') return `the string ${t.raw.length > 42 ? `${t.raw.slice(0, 41)}…"` : t.raw}`;
    return quote(t.raw);
  }
}

/** Join and/or operands into one node, splicing in children that are already the same connective. */
function combine(kind: 'and' | 'or', parts: Filter[]): Filter {
  const filters: Filter[] = [];
  for (const part of parts) {
    if ((part.kind === 'and' || part.kind === 'or') && part.kind === kind) filters.push(...part.filters);
    else filters.push(part);
  }
  return { kind, filters };
}

const isAlpha = (c: number) => (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

/** ATTRNAME = ALPHA *(ALPHA / DIGIT / "-" / "_"), plus `$ref` (RFC 7643 §2.1, §7). */
function isAttrName(s: string): boolean {
  if (s.toLowerCase() === '$ref') return true;
  if (s.length === 0 || !isAlpha(s.charCodeAt(0))) return false;
  for (let i = 1; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (!isAlpha(c) && !isDigit(c) && c !== 0x2d && c !== 0x5f) return false;
  }
  return true;
}

/** A schema URI: scheme ":" something (RFC 3986 §3.1), e.g. `urn:ietf:params:scim:schemas:core:2.0:User`. */
function isSchemaUri(s: string): boolean {
  const colon = s.indexOf(':');
  if (colon < 1 || colon === s.length - 1 || !isAlpha(s.charCodeAt(0))) return false;
  for (let i = 1; i < colon; i++) {
    const c = s.charCodeAt(i);
    if (!isAlpha(c) && !isDigit(c) && c !== 0x2b && c !== 0x2d && c !== 0x2e) return false;
  }
  return true;
}

/** JSON number grammar (RFC 8259 §6): -? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)? */
function isJsonNumber(s: string): boolean {
  let i = 0;
  const digits = () => {
    const from = i;
    while (i < s.length && isDigit(s.charCodeAt(i))) i++;
    return i > from;
  };
  if (s[i] === '-') i++;
  if (s[i] === '0') i++;
  else if (!digits()) return false;
  if (s[i] === '.') {
    i++;
    if (!digits()) return false;
  }
  if (s[i] === 'e' || s[i] === 'E') {
    i++;
    if (s[i] === '+' || s[i] === '-') i++;
    if (!digits()) return false;
  }
  return i === s.length;
}
