/**
 * OData query options on directory collections: $filter (a parser and evaluator for the subset
 * directory objects support), $select, $top, $count, $search, and opaque, tamper-proof $skiptoken paging.
 *
 * Facts (learn.microsoft.com/graph/aad-advanced-queries, /graph/paging, agentidentity-list):
 * - `ne`, `not`, `endswith`, `$count` and `$search` are advanced queries: they need
 *   `ConsistencyLevel: eventual` (and `$count=true`, except $search), else 400 Request_UnsupportedQuery.
 * - `$top` outside 1..999 → 400 Request_UnsupportedQuery "Invalid page size specified…".
 * - agentIdentity lists: default and maximum page size 100. Other directory lists: default 100, max 999.
 * - A property the resource can't filter on → 400 Request_UnsupportedQuery.
 * - Directory string comparisons are case-insensitive.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { badRequest, GraphError, unsupportedQuery } from './errors.js';

// ------------------------------------------------------------------ filter AST

type Literal = string | number | boolean | null;
export type FilterNode =
  | { t: 'and' | 'or'; l: FilterNode; r: FilterNode }
  | { t: 'not'; e: FilterNode }
  | { t: 'cmp'; op: 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le'; path: string; value: Literal }
  | { t: 'in'; path: string; values: Literal[] }
  | { t: 'fn'; fn: 'startswith' | 'endswith'; path: string; value: string }
  | { t: 'any'; path: string; v: string; body: FilterNode };

type Token = { k: 'id' | 'str' | 'num' | 'p'; v: string };

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      let s = '';
      i++;
      for (;;) {
        if (i >= src.length) throw unsupportedQuery('Invalid filter clause: unterminated string literal.');
        if (src[i] === "'") {
          if (src[i + 1] === "'") {
            s += "'";
            i += 2;
            continue;
          }
          i++;
          break;
        }
        s += src[i];
        i++;
      }
      out.push({ k: 'str', v: s });
    } else if (GUID.test(src.slice(i))) {
      const m = GUID.exec(src.slice(i)) as RegExpExecArray;
      out.push({ k: 'str', v: m[0] });
      i += m[0].length;
    } else if (/[0-9-]/.test(c)) {
      const m = /^-?\d+(\.\d+)?/.exec(src.slice(i));
      if (!m) throw unsupportedQuery(`Invalid filter clause: syntax error at position ${i}.`);
      out.push({ k: 'num', v: m[0] });
      i += m[0].length;
    } else if ('(),:/'.includes(c)) {
      out.push({ k: 'p', v: c });
      i++;
    } else if (/[A-Za-z_@]/.test(c)) {
      const m = /^[A-Za-z_@][\w.@]*/.exec(src.slice(i)) as RegExpExecArray;
      out.push({ k: 'id', v: m[0] });
      i += m[0].length;
    } else {
      throw unsupportedQuery(`Invalid filter clause: syntax error at position ${i}.`);
    }
  }
  return out;
}

export function parseFilter(src: string): FilterNode {
  const toks = tokenize(src);
  let pos = 0;
  const peek = (): Token | undefined => toks[pos];
  const isWord = (w: string): boolean => peek()?.k === 'id' && peek()?.v.toLowerCase() === w;
  const expect = (v: string): void => {
    const t = toks[pos++];
    if (!t || t.v !== v) throw unsupportedQuery(`Invalid filter clause: expected '${v}'.`);
  };
  const literal = (): Literal => {
    const t = toks[pos++];
    if (!t) throw unsupportedQuery('Invalid filter clause: missing value.');
    if (t.k === 'str') return t.v;
    if (t.k === 'num') return Number(t.v);
    if (t.k === 'id') {
      const w = t.v.toLowerCase();
      if (w === 'true') return true;
      if (w === 'false') return false;
      if (w === 'null') return null;
    }
    throw unsupportedQuery(`Invalid filter clause: unexpected '${t.v}'.`);
  };
  const path = (): string => {
    const t = toks[pos++];
    if (!t || t.k !== 'id') throw unsupportedQuery('Invalid filter clause: expected a property name.');
    let p = t.v;
    // a/b (but not a/any(...))
    while (peek()?.v === '/' && toks[pos + 1]?.k === 'id' && toks[pos + 2]?.v !== '(') {
      pos++;
      p += '/' + (toks[pos++] as Token).v;
    }
    return p;
  };
  const or = (): FilterNode => {
    let l = and();
    while (isWord('or')) {
      pos++;
      l = { t: 'or', l, r: and() };
    }
    return l;
  };
  const and = (): FilterNode => {
    let l = unary();
    while (isWord('and')) {
      pos++;
      l = { t: 'and', l, r: unary() };
    }
    return l;
  };
  const unary = (): FilterNode => {
    if (isWord('not')) {
      pos++;
      return { t: 'not', e: unary() };
    }
    return primary();
  };
  const primary = (): FilterNode => {
    if (peek()?.v === '(') {
      pos++;
      const e = or();
      expect(')');
      return e;
    }
    if ((isWord('startswith') || isWord('endswith')) && toks[pos + 1]?.v === '(') {
      const fn = (toks[pos++] as Token).v.toLowerCase() as 'startswith' | 'endswith';
      expect('(');
      const p = path();
      expect(',');
      const v = literal();
      expect(')');
      if (typeof v !== 'string') throw unsupportedQuery(`Invalid filter clause: ${fn} needs a string.`);
      return { t: 'fn', fn, path: p, value: v };
    }
    const p = path();
    if (peek()?.v === '/' && toks[pos + 1]?.k === 'id' && toks[pos + 1]?.v.toLowerCase() === 'any') {
      pos += 2;
      expect('(');
      const v = toks[pos++];
      if (!v || v.k !== 'id') throw unsupportedQuery('Invalid filter clause: expected a lambda variable.');
      expect(':');
      const body = or();
      expect(')');
      return { t: 'any', path: p, v: v.v, body };
    }
    const op = toks[pos++];
    if (!op || op.k !== 'id') throw unsupportedQuery('Invalid filter clause: expected an operator.');
    const o = op.v.toLowerCase();
    if (o === 'in') {
      expect('(');
      const values: Literal[] = [literal()];
      while (peek()?.v === ',') {
        pos++;
        values.push(literal());
      }
      expect(')');
      return { t: 'in', path: p, values };
    }
    if (!['eq', 'ne', 'gt', 'ge', 'lt', 'le'].includes(o)) throw unsupportedQuery(`Invalid filter clause: unknown operator '${op.v}'.`);
    return { t: 'cmp', op: o as 'eq', path: p, value: literal() };
  };
  const node = or();
  if (pos !== toks.length) throw unsupportedQuery('Invalid filter clause: unexpected trailing input.');
  return node;
}

/** Property uses in a filter, as "prop:operator" (lambda bodies as "prop/any:operator"). */
export function filterUses(node: FilterNode, out: Array<{ prop: string; op: string }> = []): Array<{ prop: string; op: string }> {
  switch (node.t) {
    case 'and':
    case 'or':
      filterUses(node.l, out);
      filterUses(node.r, out);
      break;
    case 'not':
      out.push({ prop: '*', op: 'not' });
      filterUses(node.e, out);
      break;
    case 'cmp':
      out.push({ prop: node.path, op: node.op });
      break;
    case 'in':
      out.push({ prop: node.path, op: 'in' });
      break;
    case 'fn':
      out.push({ prop: node.path, op: node.fn });
      break;
    case 'any': {
      const inner = filterUses(node.body, []);
      for (const u of inner) out.push({ prop: `${node.path}/any`, op: u.op });
      break;
    }
  }
  return out;
}

const norm = (v: unknown): unknown => (typeof v === 'string' ? v.toLowerCase() : v);

function lookup(obj: Record<string, unknown>, path: string): unknown {
  let cur: unknown = obj;
  for (const part of path.split('/')) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

export function evaluate(node: FilterNode, obj: Record<string, unknown>, scope: Record<string, unknown> = {}): boolean {
  const get = (p: string): unknown => (p in scope ? scope[p] : lookup(obj, p));
  switch (node.t) {
    case 'and':
      return evaluate(node.l, obj, scope) && evaluate(node.r, obj, scope);
    case 'or':
      return evaluate(node.l, obj, scope) || evaluate(node.r, obj, scope);
    case 'not':
      return !evaluate(node.e, obj, scope);
    case 'cmp': {
      const a = norm(get(node.path) ?? null);
      const b = norm(node.value);
      switch (node.op) {
        case 'eq':
          return a === b;
        case 'ne':
          return a !== b;
        case 'gt':
          return a !== null && b !== null && (a as number) > (b as number);
        case 'ge':
          return a !== null && b !== null && (a as number) >= (b as number);
        case 'lt':
          return a !== null && b !== null && (a as number) < (b as number);
        case 'le':
          return a !== null && b !== null && (a as number) <= (b as number);
      }
      return false;
    }
    case 'in': {
      const a = norm(get(node.path) ?? null);
      return node.values.some((v) => norm(v) === a);
    }
    case 'fn': {
      const a = get(node.path);
      if (typeof a !== 'string') return false;
      const s = a.toLowerCase();
      const v = node.value.toLowerCase();
      return node.fn === 'startswith' ? s.startsWith(v) : s.endsWith(v);
    }
    case 'any': {
      const coll = get(node.path);
      if (!Array.isArray(coll)) return false;
      return coll.some((item) => evaluate(node.body, obj, { ...scope, [node.v]: item }));
    }
  }
}

// ------------------------------------------------------------------ opaque tokens

export class TokenSigner {
  constructor(private readonly secret: Buffer) {}

  sign(payload: unknown): string {
    const body = Buffer.from(JSON.stringify(payload)).toString('base64url');
    const mac = createHmac('sha256', this.secret).update(body).digest('base64url').slice(0, 22);
    return `${body}.${mac}`;
  }

  verify<T>(token: string): T | undefined {
    const [body, mac] = token.split('.');
    if (!body || !mac) return undefined;
    const expected = createHmac('sha256', this.secret).update(body).digest('base64url').slice(0, 22);
    if (expected.length !== mac.length || !timingSafeEqual(Buffer.from(expected), Buffer.from(mac))) return undefined;
    try {
      return JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as T;
    } catch {
      return undefined;
    }
  }
}

// ------------------------------------------------------------------ list queries

export interface ListSpec {
  /** resource type name for error messages, e.g. "servicePrincipal" */
  type: string;
  /** filterable properties and the operators allowed without advanced query headers */
  filterable: Record<string, string[]>;
  /** maximum page size; $top above it is served in pages of this size */
  maxPageSize: number;
  /** properties returned when there is no $select (users have a reduced default set) */
  defaultSelect?: string[];
  /** properties only returned when $select names them */
  selectOnly?: string[];
  /** navigation properties supported by $expand (value computed per item, given the nested $select) */
  expand?: Record<string, (item: Record<string, unknown>, select: string[] | undefined) => unknown>;
}

/** Parses `$expand=nav` or `$expand=nav($select=a,b)` against the supported navigation properties. */
export function parseExpand(
  query: URLSearchParams,
  spec: Pick<ListSpec, 'type' | 'expand'>,
): Array<{ name: string; select?: string[] }> {
  const raw = query.get('$expand');
  if (raw === null || raw.trim() === '') return [];
  return raw.split(/,(?![^(]*\))/).map((part) => {
    const m = /^\s*(\w+)(?:\(\$select=([\w,]+)\))?\s*$/.exec(part);
    const name = m?.[1];
    if (!m || !name || !spec.expand || !Object.keys(spec.expand).some((k) => k.toLowerCase() === name.toLowerCase())) {
      throw badRequest(`Parsing OData Select and Expand failed: Could not find a property named '${part.trim()}' on type 'microsoft.graph.${spec.type}'.`);
    }
    const key = Object.keys(spec.expand).find((k) => k.toLowerCase() === name.toLowerCase()) as string;
    return { name: key, select: m[2]?.split(',') };
  });
}

export function applyExpand(
  items: Array<Record<string, unknown>>,
  full: Array<Record<string, unknown>>,
  expands: Array<{ name: string; select?: string[] }>,
  spec: Pick<ListSpec, 'expand'>,
): void {
  items.forEach((item, i) => {
    for (const e of expands) item[e.name] = spec.expand?.[e.name]?.(full[i] ?? item, e.select);
  });
}

export interface ListRequest {
  query: URLSearchParams;
  headers: Record<string, string>;
  /** absolute URL of this collection (origin + version + path), for @odata.nextLink */
  collectionUrl: string;
  signer: TokenSigner;
}

export interface ListResult {
  value: Array<Record<string, unknown>>;
  nextLink?: string;
  count?: number;
}

const ADVANCED_OPS = new Set(['ne', 'not', 'endswith']);

export function isAdvanced(req: ListRequest): boolean {
  return (req.headers['consistencylevel'] ?? '').toLowerCase() === 'eventual';
}

export function parseTop(query: URLSearchParams): number | undefined {
  const raw = query.get('$top');
  if (raw === null) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 999) {
    throw unsupportedQuery(`Invalid page size specified: '${raw}'. Must be between 1 and 999 inclusive.`);
  }
  return n;
}

export function parseSelect(query: URLSearchParams): string[] | undefined {
  const raw = query.get('$select');
  if (raw === null || raw.trim() === '') return undefined;
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Applies $select, the default property set, and select-only properties. */
export function project(
  obj: Record<string, unknown>,
  select: string[] | undefined,
  spec: Pick<ListSpec, 'type' | 'defaultSelect' | 'selectOnly'>,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (typeof obj['@odata.type'] === 'string') out['@odata.type'] = obj['@odata.type'];
  if (select) {
    for (const p of select) {
      if (!(p in obj)) {
        throw badRequest(`Could not find a property named '${p}' on type 'microsoft.graph.${spec.type}'.`);
      }
      out[p] = obj[p];
    }
    return out;
  }
  const keys = spec.defaultSelect ?? Object.keys(obj);
  for (const k of keys) {
    if (k === '@odata.type' || spec.selectOnly?.includes(k)) continue;
    if (k in obj) out[k] = obj[k];
  }
  return out;
}

export function compileFilter(req: ListRequest, spec: ListSpec): FilterNode | undefined {
  const raw = req.query.get('$filter');
  if (raw === null || raw.trim() === '') return undefined;
  const node = parseFilter(raw);
  const advanced = isAdvanced(req) && req.query.get('$count') === 'true';
  for (const use of filterUses(node)) {
    if (use.prop === '*') {
      if (!advanced) throw unsupportedQuery('Unsupported query.');
      continue;
    }
    const allowed = spec.filterable[use.prop] ?? spec.filterable[use.prop.replace(/\/any$/, '')];
    if (!allowed) {
      throw unsupportedQuery(`Unsupported or invalid query filter clause specified for property '${use.prop.replace(/\/any$/, '')}' of resource '${spec.type}'.`);
    }
    if (ADVANCED_OPS.has(use.op)) {
      if (!advanced) throw unsupportedQuery('Unsupported query.');
      continue;
    }
    if (!allowed.includes(use.op)) {
      throw unsupportedQuery(`Unsupported or invalid query filter clause specified for property '${use.prop}' of resource '${spec.type}'.`);
    }
  }
  return node;
}

interface SkipToken {
  a: string; // last id served
  h: string; // hash of the query the token belongs to
}

function queryHash(req: ListRequest): string {
  const q = new URLSearchParams(req.query);
  q.delete('$skiptoken');
  q.sort();
  return createHash('sha256').update(req.collectionUrl.toLowerCase() + '?' + q.toString()).digest('base64url').slice(0, 16);
}

function nextLinkFor(req: ListRequest, token: string): string {
  const parts: string[] = [];
  for (const [k, v] of req.query) {
    if (k === '$skiptoken') continue;
    parts.push(`${k}=${encodeURIComponent(v)}`);
  }
  parts.push(`$skiptoken=${token}`);
  return `${req.collectionUrl}?${parts.join('&')}`;
}

/**
 * Runs a list query over `items` (already rendered, sorted by id, visible to the index).
 * Paging is keyset-based on id, so objects created or deleted between pages are never skipped twice
 * or duplicated.
 */
export function runList(items: Array<Record<string, unknown>>, req: ListRequest, spec: ListSpec): ListResult {
  const countRequested = req.query.get('$count') === 'true';
  if (countRequested && !isAdvanced(req)) {
    throw badRequest('$count is not currently supported.');
  }
  const search = req.query.get('$search');
  if (search !== null && !isAdvanced(req)) {
    throw badRequest("Request with $search query parameter only works through MSGraph with a special request header: 'ConsistencyLevel: eventual'");
  }
  for (const k of req.query.keys()) {
    if (k.startsWith('$') && !['$filter', '$select', '$top', '$count', '$skiptoken', '$search', '$orderby', '$expand'].includes(k)) {
      throw badRequest(`Query option '${k}' is not supported for this request.`);
    }
  }
  if (req.query.has('$orderby')) {
    const ob = (req.query.get('$orderby') ?? '').trim();
    if (!/^displayName( (asc|desc))?$/i.test(ob)) throw unsupportedQuery(`Unsupported query: $orderby=${ob}`);
  }
  const filter = compileFilter(req, spec);
  const select = parseSelect(req.query);
  const expands = parseExpand(req.query, spec);
  const top = parseTop(req.query);
  const pageSize = Math.min(top ?? 100, spec.maxPageSize);

  let matched = filter ? items.filter((o) => evaluate(filter, o)) : items;
  if (search !== null) {
    const m = /^"(\w+):([^"]*)"$/.exec(search.trim());
    if (!m) throw badRequest('Invalid $search syntax; expected "property:value".');
    const [, prop, term] = m as unknown as [string, string, string];
    matched = matched.filter((o) => String(o[prop] ?? '').toLowerCase().includes(term.toLowerCase()));
  }
  const orderDesc = /desc$/i.test(req.query.get('$orderby') ?? '');
  if (req.query.has('$orderby')) {
    // keyset paging needs a total order: displayName, then id
    matched = [...matched].sort((a, b) => {
      const x = String(a['displayName'] ?? '').toLowerCase();
      const y = String(b['displayName'] ?? '').toLowerCase();
      const c = x < y ? -1 : x > y ? 1 : String(a['id']) < String(b['id']) ? -1 : 1;
      return orderDesc ? -c : c;
    });
  }

  let start = 0;
  const rawSkip = req.query.get('$skiptoken');
  const hash = queryHash(req);
  if (rawSkip !== null) {
    const tok = req.signer.verify<SkipToken>(rawSkip);
    if (!tok || tok.h !== hash) throw badRequest('The specified page token value has expired or is invalid.');
    const idx = matched.findIndex((o) => o['id'] === tok.a);
    if (idx >= 0) start = idx + 1;
    else {
      // the last-served object disappeared: continue after its position in id order
      start = req.query.has('$orderby') ? matched.length : matched.findIndex((o) => String(o['id']) > tok.a);
      if (start < 0) start = matched.length;
    }
  }
  const page = matched.slice(start, start + pageSize);
  const result: ListResult = { value: page.map((o) => project(o, select, spec)) };
  applyExpand(result.value, page, expands, spec);
  if (start + pageSize < matched.length) {
    const last = page[page.length - 1];
    result.nextLink = nextLinkFor(req, req.signer.sign({ a: String(last?.['id']), h: hash } satisfies SkipToken));
  }
  if (countRequested) result.count = matched.length;
  return result;
}

export function isGraphError(e: unknown): e is GraphError {
  return e instanceof GraphError;
}
