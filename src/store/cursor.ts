// RFC 9865 cursors: opaque to clients; to us a keyset position: the last row's sort key (when
// sorted) and its seq, bound to the query shape that issued it (resource type, sort attribute and
// order). An empty cursor asks for the first page.
//
// A cursor comes back from the client, so decoding trusts nothing: the text, the JSON, the version,
// the query it was issued for and the JS type of the sort key are all checked, and anything we could
// not have issued is a 400 invalidCursor (RFC 9865 §3), never a value that reaches SQL with the
// wrong type (PostgreSQL would fail the cast: a 500).

import { createHash } from 'node:crypto';
import { normalizeDateTime } from '../scim/datetime.js';
import { invalidCursor } from '../scim/errors.js';

export type SortKey = string | number | boolean | null;

export interface CursorPosition {
  seq: number;
  /** the sort key of the last row (null: it had none); absent for the default order */
  key?: SortKey;
}

/** What a sort key must look like: the JS type the store returns for the sort attribute. */
export type SortKeyKind = 'string' | 'dateTime' | 'number' | 'boolean';

/** The query a cursor belongs to: the resource type and, when sorted, the sort and its key kind. */
export interface CursorScope {
  type: string;
  sort?: { attr: string; descending: boolean; kind: SortKeyKind };
}

const VERSION = 1;
/** The request body limit bounds it too; sort keys are whole attribute values, so this is generous. */
const MAX_CURSOR = 1_048_576;

function scopeTag(s: CursorScope): string {
  const text = JSON.stringify([s.type, s.sort ? [s.sort.attr.toLowerCase(), s.sort.descending, s.sort.kind] : null]);
  return createHash('sha256').update(text).digest('base64url').slice(0, 10);
}

export function encodeCursor(p: CursorPosition, scope: CursorScope): string {
  const body: unknown[] = [VERSION, scopeTag(scope), p.seq];
  if (scope.sort) body.push(p.key === undefined ? null : p.key);
  return Buffer.from(JSON.stringify(body)).toString('base64url');
}

const BASE64URL = /^[A-Za-z0-9_-]*$/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function fail(cursor: string, why: string): never {
  const shown = cursor.length > 60 ? `${cursor.slice(0, 60)}…` : cursor;
  throw invalidCursor(`cursor "${shown}" is not valid for this query (${why}); start again with an empty cursor`);
}

/** Text the stores can bind: well-formed UTF-16, no NUL (PostgreSQL rejects both). */
function bindableText(s: string): boolean {
  return !s.includes('\u0000') && !LONE_SURROGATE.test(s);
}

function keyFits(key: unknown, kind: SortKeyKind): boolean {
  if (key === null) return true;
  switch (kind) {
    case 'string':
      return typeof key === 'string' && bindableText(key);
    case 'dateTime':
      return typeof key === 'string' && bindableText(key) && normalizeDateTime(key) !== undefined;
    case 'number':
      return typeof key === 'number' && Number.isFinite(key);
    case 'boolean':
      return typeof key === 'boolean';
  }
}

/** A sort key as read from a row (SQLite: 0/1 for booleans; PostgreSQL: numeric as text), as a cursor carries it. */
export function cursorKeyOf(raw: unknown, kind: SortKeyKind): SortKey {
  if (raw === null || raw === undefined) return null;
  if (kind === 'boolean') return raw === true || raw === 1 || raw === '1' || raw === 't' || raw === 'true';
  if (kind === 'number') return typeof raw === 'number' ? raw : Number(raw);
  return typeof raw === 'string' ? raw : String(raw);
}

export function decodeCursor(cursor: string, scope: CursorScope): CursorPosition | undefined {
  if (cursor === '') return undefined;
  if (typeof cursor !== 'string' || cursor.length > MAX_CURSOR) fail(String(cursor).slice(0, 60), 'too long');
  if (!BASE64URL.test(cursor)) fail(cursor, 'not base64url');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    fail(cursor, 'not a cursor');
  }
  if (!Array.isArray(parsed) || parsed[0] !== VERSION) fail(cursor, 'unknown format');
  if (parsed[1] !== scopeTag(scope)) fail(cursor, 'issued for another resource type or sort order');
  const seq: unknown = parsed[2];
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) fail(cursor, 'bad position');
  if (!scope.sort) {
    if (parsed.length !== 3) fail(cursor, 'unknown format');
    return { seq };
  }
  if (parsed.length !== 4) fail(cursor, 'unknown format');
  const key: unknown = parsed[3];
  if (!keyFits(key, scope.sort.kind)) fail(cursor, `the sort key is not a ${scope.sort.kind}`);
  return { seq, key: key as SortKey };
}
