// Okta filter/search expressions, the eventually consistent search index, and Link-header paging.
//
// Expression language (https://developer.okta.com/docs/api/#filter, okta.md §2):
//   attr op "value" | attr pr | ( expr ) | not expr | expr and expr | expr or expr
//   ops: eq ne sw co ew gt ge lt le. Operators and string values are case-insensitive for `search`;
//   `filter` on /api/v1/users is "case-sensitive for property names and query values".
// Each endpoint restricts which attributes and operators it accepts; a violation is a 400.
import type { Response } from 'express';
import { invalidSearch } from './http.js';

export type Op = 'eq' | 'ne' | 'sw' | 'co' | 'ew' | 'gt' | 'ge' | 'lt' | 'le' | 'pr';
export type Literal = string | number | boolean | null;

export type Expr =
  | { kind: 'cmp'; attr: string; op: Op; value: Literal }
  | { kind: 'and' | 'or'; left: Expr; right: Expr }
  | { kind: 'not'; expr: Expr };

type Token =
  | { t: 'word'; v: string }
  | { t: 'str'; v: string }
  | { t: '(' }
  | { t: ')' };

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '(' || c === ')') {
      out.push({ t: c });
      i++;
    } else if (c === '"') {
      let v = '';
      i++;
      while (i < src.length && src[i] !== '"') {
        if (src[i] === '\\' && i + 1 < src.length) i++;
        v += src[i];
        i++;
      }
      if (src[i] !== '"') throw invalidSearch();
      i++;
      out.push({ t: 'str', v });
    } else {
      let v = '';
      while (i < src.length && !/[\s()"]/.test(src[i] as string)) v += src[i++];
      out.push({ t: 'word', v });
    }
  }
  return out;
}

const OPS = new Set<Op>(['eq', 'ne', 'sw', 'co', 'ew', 'gt', 'ge', 'lt', 'le', 'pr']);

export function parseExpression(src: string): Expr {
  const toks = tokenize(src);
  let pos = 0;
  const peekWord = (): string | undefined => {
    const t = toks[pos];
    return t && t.t === 'word' ? t.v.toLowerCase() : undefined;
  };
  const parseOr = (): Expr => {
    let left = parseAnd();
    while (peekWord() === 'or') {
      pos++;
      left = { kind: 'or', left, right: parseAnd() };
    }
    return left;
  };
  const parseAnd = (): Expr => {
    let left = parseUnary();
    while (peekWord() === 'and') {
      pos++;
      left = { kind: 'and', left, right: parseUnary() };
    }
    return left;
  };
  const parseUnary = (): Expr => {
    if (peekWord() === 'not') {
      pos++;
      return { kind: 'not', expr: parseUnary() };
    }
    const t = toks[pos];
    if (!t) throw invalidSearch();
    if (t.t === '(') {
      pos++;
      const e = parseOr();
      if (toks[pos]?.t !== ')') throw invalidSearch();
      pos++;
      return e;
    }
    if (t.t !== 'word') throw invalidSearch();
    pos++;
    const opTok = toks[pos];
    if (!opTok || opTok.t !== 'word' || !OPS.has(opTok.v.toLowerCase() as Op)) throw invalidSearch();
    pos++;
    const op = opTok.v.toLowerCase() as Op;
    if (op === 'pr') return { kind: 'cmp', attr: t.v, op, value: null };
    const vt = toks[pos];
    if (!vt) throw invalidSearch();
    pos++;
    let value: Literal;
    if (vt.t === 'str') value = vt.v;
    else if (vt.t === 'word') {
      const w = vt.v.toLowerCase();
      if (w === 'true') value = true;
      else if (w === 'false') value = false;
      else if (w === 'null') value = null;
      else if (/^-?\d+(\.\d+)?$/.test(vt.v)) value = Number(vt.v);
      else throw invalidSearch();
    } else throw invalidSearch();
    return { kind: 'cmp', attr: t.v, op, value };
  };
  const e = parseOr();
  if (pos !== toks.length) throw invalidSearch();
  return e;
}

/** Every (attribute, operator) pair used in an expression, for endpoint-specific validation. */
export function comparisons(e: Expr): Array<{ attr: string; op: Op }> {
  if (e.kind === 'cmp') return [{ attr: e.attr, op: e.op }];
  if (e.kind === 'not') return comparisons(e.expr);
  return [...comparisons(e.left), ...comparisons(e.right)];
}

export function usesNot(e: Expr): boolean {
  if (e.kind === 'not') return true;
  if (e.kind === 'cmp') return false;
  return usesNot(e.left) || usesNot(e.right);
}

function resolve(obj: unknown, path: string): unknown[] {
  // Returns every value reachable along the path, flattening arrays (SCIM-style array matching).
  let cur: unknown[] = [obj];
  for (const part of path.split('.')) {
    const next: unknown[] = [];
    for (const o of cur) {
      if (Array.isArray(o)) {
        for (const el of o) if (el && typeof el === 'object') next.push((el as Record<string, unknown>)[part]);
      } else if (o && typeof o === 'object') next.push((o as Record<string, unknown>)[part]);
    }
    cur = next;
  }
  const flat: unknown[] = [];
  for (const v of cur) {
    if (Array.isArray(v)) flat.push(...v);
    else flat.push(v);
  }
  return flat;
}

const ISO_DATE = /^\d{4}-\d{2}-\d{2}T/;

function compare(actual: unknown, op: Op, expected: Literal, caseInsensitive: boolean): boolean {
  if (op === 'pr') return actual !== undefined && actual !== null && actual !== '';
  if (expected === null) {
    const isNull = actual === null || actual === undefined;
    return op === 'eq' ? isNull : op === 'ne' ? !isNull : false;
  }
  if (actual === undefined || actual === null) return op === 'ne';
  if (typeof expected === 'string' && typeof actual === 'string') {
    if (ISO_DATE.test(expected) && ISO_DATE.test(actual) && ['gt', 'ge', 'lt', 'le'].includes(op)) {
      const a = Date.parse(actual);
      const b = Date.parse(expected);
      return op === 'gt' ? a > b : op === 'ge' ? a >= b : op === 'lt' ? a < b : a <= b;
    }
    const a = caseInsensitive ? actual.toLowerCase() : actual;
    const b = caseInsensitive ? expected.toLowerCase() : expected;
    switch (op) {
      case 'eq':
        return a === b;
      case 'ne':
        return a !== b;
      case 'sw':
        return a.startsWith(b);
      case 'co':
        return a.includes(b);
      case 'ew':
        return a.endsWith(b);
      case 'gt':
        return a > b;
      case 'ge':
        return a >= b;
      case 'lt':
        return a < b;
      case 'le':
        return a <= b;
    }
  }
  const a = actual as number | boolean | string;
  const b = expected;
  switch (op) {
    case 'eq':
      return a === b;
    case 'ne':
      return a !== b;
    case 'gt':
      return a > b;
    case 'ge':
      return a >= b;
    case 'lt':
      return a < b;
    case 'le':
      return a <= b;
    default:
      return false;
  }
}

export function evaluate(e: Expr, obj: unknown, caseInsensitive: boolean): boolean {
  switch (e.kind) {
    case 'and':
      return evaluate(e.left, obj, caseInsensitive) && evaluate(e.right, obj, caseInsensitive);
    case 'or':
      return evaluate(e.left, obj, caseInsensitive) || evaluate(e.right, obj, caseInsensitive);
    case 'not':
      return !evaluate(e.expr, obj, caseInsensitive);
    case 'cmp': {
      const values = resolve(obj, e.attr);
      if (values.length === 0) return compare(undefined, e.op, e.value, caseInsensitive);
      if (e.op === 'ne') return values.every((v) => compare(v, e.op, e.value, caseInsensitive));
      return values.some((v) => compare(v, e.op, e.value, caseInsensitive));
    }
  }
}

// ---- eventually consistent index ----

/**
 * A per-document history of committed versions. A reader at time T with lag L sees, for each document,
 * the newest version committed at or before T - L ("search is sourced from an eventually consistent
 * datasource", okta.md §2). `null` marks deletion.
 */
export class LaggedIndex<T> {
  private readonly history = new Map<string, Array<{ at: number; doc: T | null }>>();

  constructor(
    private readonly now: () => number,
    public lagMs: number,
  ) {}

  record(id: string, doc: T | null): void {
    const h = this.history.get(id) ?? [];
    h.push({ at: this.now(), doc: doc === null ? null : structuredClone(doc) });
    // Keep only what a lagged reader may still need.
    const cutoff = this.now() - this.lagMs;
    while (h.length > 1 && (h[1] as { at: number }).at <= cutoff) h.shift();
    this.history.set(id, h);
  }

  /** Make every committed write visible immediately (test helper). */
  flush(): void {
    for (const [id, h] of this.history) {
      const last = h[h.length - 1];
      if (last) this.history.set(id, [{ at: Number.NEGATIVE_INFINITY, doc: last.doc }]);
    }
  }

  /** Documents visible to a lagged reader, in first-write order. */
  visible(): T[] {
    const cutoff = this.now() - this.lagMs;
    const out: T[] = [];
    for (const h of this.history.values()) {
      let seen: T | null | undefined;
      for (const v of h) if (v.at <= cutoff) seen = v.doc;
      if (seen) out.push(seen);
    }
    return out;
  }
}

// ---- paging ----

/**
 * Write Okta's Link headers: one header per relation, absolute URLs, `after` first then `limit`, the
 * remaining original parameters after them (the order seen in recorded Okta responses).
 */
export function setLinkHeaders(res: Response, selfUrl: string, next: { after: string; limit: number } | null): void {
  const links = [`<${selfUrl}>; rel="self"`];
  if (next) links.push(`<${nextUrl(selfUrl, next.after, next.limit)}>; rel="next"`);
  res.setHeader('Link', links);
}

export function nextUrl(selfUrl: string, after: string, limit: number): string {
  const u = new URL(selfUrl);
  const params = new URLSearchParams();
  params.set('after', after);
  params.set('limit', String(limit));
  for (const [k, v] of u.searchParams) if (k !== 'after' && k !== 'limit') params.append(k, v);
  u.search = params.toString();
  return u.toString();
}

/**
 * Cursor paging over an ordered list of items that carry a stable sequence number. `after` is the id of
 * the last item of the previous page; a cursor whose item has since disappeared still works, because
 * the caller resolves it to that item's sequence number.
 */
export function pageBySeq<T extends { seq: number }>(
  items: T[],
  afterSeq: number | undefined,
  limit: number,
): { page: T[]; more: boolean } {
  const sorted = [...items].sort((a, b) => a.seq - b.seq);
  const start = afterSeq === undefined ? sorted : sorted.filter((i) => i.seq > afterSeq);
  return { page: start.slice(0, limit), more: start.length > limit };
}
