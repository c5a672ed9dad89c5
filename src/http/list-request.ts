// Query parameters of a SCIM list/search (RFC 7644 §3.4.2, §3.4.3; RFC 9865 cursors), from a
// URL query or a SearchRequest body, parsed once into our own object (Express 5 re-parses
// req.query on every access; design.md pitfalls).

import { invalidValue } from '../scim/errors.js';
import type { AttrPath, Filter } from '../scim/filter/ast.js';
import { parseAttrPath, parseFilter } from '../scim/filter/parse.js';

export const DEFAULT_COUNT = 100;
export const MAX_COUNT = 1000;

export interface ListRequest {
  filter?: Filter;
  sort?: { path: AttrPath; descending: boolean };
  startIndex: number;
  count: number;
  cursor?: string;
  attributes?: string;
  excludedAttributes?: string;
}

export const SEARCH_REQUEST_URN = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';

/** Lower-cased parameter names: clients differ in case (sortby, startindex). */
export function queryParams(url: string): Map<string, string> {
  const q = url.indexOf('?');
  const params = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
  const out = new Map<string, string>();
  for (const [k, v] of params) out.set(k.toLowerCase(), v);
  return out;
}

function integer(name: string, v: unknown): number | undefined {
  if (v === undefined || v === null || v === '') return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isInteger(n)) throw invalidValue(`"${name}" must be an integer`);
  // Beyond 2^53 a JS number is no exact integer and the database rejects it as LIMIT/OFFSET: such
  // a startIndex is simply past the end (the caller clamps count to MAX_COUNT anyway).
  return Math.max(-Number.MAX_SAFE_INTEGER, Math.min(Number.MAX_SAFE_INTEGER, n));
}

function text(name: string, v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (Array.isArray(v)) return v.map((x) => text(name, x)).join(',');
  if (typeof v !== 'string') throw invalidValue(`"${name}" must be a string`);
  return v;
}

export function parseListRequest(get: (name: string) => unknown): ListRequest {
  const req: ListRequest = { startIndex: 1, count: DEFAULT_COUNT };
  const filter = text('filter', get('filter'));
  if (filter !== undefined && filter.trim() !== '') req.filter = parseFilter(filter);
  const sortBy = text('sortBy', get('sortby'));
  if (sortBy !== undefined && sortBy !== '') {
    const order = text('sortOrder', get('sortorder'))?.toLowerCase() ?? 'ascending';
    if (order !== 'ascending' && order !== 'descending') {
      throw invalidValue('"sortOrder" must be "ascending" or "descending"');
    }
    req.sort = { path: parseAttrPath(sortBy), descending: order === 'descending' };
  }
  // RFC 7644 §3.4.2.4: startIndex < 1 is read as 1; count < 0 as 0; a count above the maximum is
  // lowered to it (the response's itemsPerPage tells the client).
  const startIndex = integer('startIndex', get('startindex'));
  if (startIndex !== undefined) req.startIndex = Math.max(1, startIndex);
  const count = integer('count', get('count'));
  if (count !== undefined) req.count = Math.min(MAX_COUNT, Math.max(0, count));
  const cursor = text('cursor', get('cursor'));
  if (cursor !== undefined) req.cursor = cursor;
  const attributes = text('attributes', get('attributes'));
  if (attributes !== undefined) req.attributes = attributes;
  const excluded = text('excludedAttributes', get('excludedattributes'));
  if (excluded !== undefined) req.excludedAttributes = excluded;
  return req;
}

export function listRequestFromQuery(url: string): ListRequest {
  const p = queryParams(url);
  return parseListRequest((n) => p.get(n));
}

export function listRequestFromBody(body: unknown): ListRequest {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalidValue('a SearchRequest body must be a JSON object');
  }
  const b = body as Record<string, unknown>;
  const schemas = b.schemas;
  if (schemas !== undefined && (!Array.isArray(schemas) || !schemas.includes(SEARCH_REQUEST_URN))) {
    throw invalidValue(`"schemas" must contain "${SEARCH_REQUEST_URN}"`);
  }
  const lower = new Map(Object.entries(b).map(([k, v]) => [k.toLowerCase(), v]));
  return parseListRequest((n) => lower.get(n));
}
