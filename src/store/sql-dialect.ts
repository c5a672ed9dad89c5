// The few places where SQLite's JSON1 and PostgreSQL's JSONB differ, so that one filter
// translator (filter-sql.ts) and one index generator serve both stores.

import type { AttributeDefinition } from '../scim/schema-types.js';

export interface SqlDialect {
  readonly name: 'sqlite' | 'postgres';
  /** The value of a single-valued attribute inside a JSON column, typed for comparison. */
  scalar(column: string, segments: string[], def: AttributeDefinition): string;
  /** The raw text (or JSON text) at a path, for presence checks. */
  text(column: string, segments: string[]): string;
  /**
   * A FROM source over the elements of an array, aliased `alias` (default `je`) with a column
   * `value`. `column` may be another source's `je.value`, for an array nested in an element
   * (`actionPolicies.approvers`).
   */
  elements(column: string, segments: string[], alias?: string): string;
  /** One element's sub-attribute (or the element itself when `sub` is undefined), typed. */
  elementScalar(sub: string | undefined, def: AttributeDefinition, alias?: string): string;
  /** The raw text of one element's sub-attribute (or the element), for presence checks. */
  elementText(sub: string | undefined, alias?: string): string;
  /**
   * The primary-else-first value of a multi-valued attribute (RFC 7644 §3.4.2.3 sorting): `sub` of
   * the primary (else first) element, or the first element itself when `sub` is undefined. With
   * `nested`, `sub` is itself multi-valued (`actionPolicies.approvers`): the first value of `sub`
   * in the primary (else first) element that has one, i.e. the first of the values the filter
   * evaluator lists for the path, primary element first.
   */
  primaryOrFirst(
    column: string,
    segments: string[],
    sub: string | undefined,
    def: AttributeDefinition,
    fold: boolean,
    nested?: boolean,
  ): string;
  /** Whether the JSON at a path is an object. */
  isObject(column: string, segments: string[]): string;
  /**
   * Case folding identical to foldCase() of src/lib/case-fold.ts: scim_fold() on both stores (SQLite:
   * the JS function itself, registered on the connection; PostgreSQL: a translate() over the same
   * frozen table, created by foldFunctionDdl()). Never SQL lower(), which is ASCII-only on SQLite and
   * locale-dependent on PostgreSQL.
   */
  fold(expr: string): string;
  /** A text expression ordered by code point (the database collation may order otherwise). */
  binaryOrder(expr: string): string;
  /** co / sw / ew as an index-friendly pattern match; returns the SQL and the bound pattern. */
  pattern(expr: string, kind: 'co' | 'sw' | 'ew', value: string): { sql: string; param: string };
  /** the literal for SQL false, for coalesce() of a NULL comparison */
  readonly falseLiteral: string;
  /** a boolean as a bound parameter */
  bool(b: boolean): unknown;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** SQLite JSON path: $.attr.sub or $."urn:…".attr */
export function sqliteJsonPath(segments: string[]): string {
  return '$' + segments.map((s) => (IDENT.test(s) ? `.${s}` : `."${s}"`)).join('');
}

export const sqliteDialect: SqlDialect = {
  name: 'sqlite',
  scalar: (column, segments) => `json_extract(${column}, '${sqliteJsonPath(segments)}')`,
  text: (column, segments) => `json_extract(${column}, '${sqliteJsonPath(segments)}')`,
  elements: (column, segments, alias = 'je') => `json_each(${column}, '${sqliteJsonPath(segments)}') ${alias}`,
  elementScalar: (sub, _def, alias = 'je') => (sub === undefined ? `${alias}.value` : `json_extract(${alias}.value, '${sqliteJsonPath([sub])}')`),
  elementText: (sub, alias = 'je') => (sub === undefined ? `${alias}.value` : `json_extract(${alias}.value, '${sqliteJsonPath([sub])}')`),
  primaryOrFirst(column, segments, sub, _def, fold, nested) {
    const from = `json_each(${column}, '${sqliteJsonPath(segments)}') je`;
    // `$.primary` only of object elements: json_extract() of a plain string element is an error
    const primary = `CASE je.type WHEN 'object' THEN coalesce(json_extract(je.value, '$.primary'), 0) ELSE 0 END`;
    if (nested && sub !== undefined) {
      const v = fold ? 'scim_fold(je2.value)' : 'je2.value';
      return `(SELECT ${v} FROM ${from}, json_each(je.value, '${sqliteJsonPath([sub])}') je2 WHERE je.type = 'object' ORDER BY ${primary} DESC, je.key, je2.key LIMIT 1)`;
    }
    const v = sub === undefined ? 'je.value' : `json_extract(je.value, '${sqliteJsonPath([sub])}')`;
    return `(SELECT ${fold ? `scim_fold(${v})` : v} FROM ${from} ORDER BY ${primary} DESC, je.key LIMIT 1)`;
  },
  isObject: (column, segments) => `json_type(${column}, '${sqliteJsonPath(segments)}') = 'object'`,
  fold: (expr) => `scim_fold(${expr})`,
  binaryOrder: (expr) => expr, // BINARY collation: UTF-8 bytes, i.e. code points
  pattern(expr, kind, value) {
    // GLOB is case-sensitive (folding is applied to both sides beforehand) and can use an index for sw.
    const esc = value.replace(/[*?[\]]/g, (c) => `[${c}]`);
    const param = kind === 'co' ? `*${esc}*` : kind === 'sw' ? `${esc}*` : `*${esc}`;
    return { sql: `${expr} GLOB ?`, param };
  },
  falseLiteral: '0',
  bool: (b) => (b ? 1 : 0),
};

/** PostgreSQL text[] path literal: '{"urn:…","sponsor","value"}' */
export function pgPath(segments: string[]): string {
  return `'{${segments.map((s) => `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`).join(',')}}'`;
}

function pgCast(text: string, def: AttributeDefinition): string {
  switch (def.type) {
    case 'integer':
    case 'decimal':
      return `(${text})::numeric`;
    case 'boolean':
      return `(${text})::boolean`;
    default:
      return text;
  }
}

export const postgresDialect: SqlDialect = {
  name: 'postgres',
  scalar: (column, segments, def) => pgCast(`(${column} #>> ${pgPath(segments)})`, def),
  text: (column, segments) => `(${column} #>> ${pgPath(segments)})`,
  elements: (column, segments, alias = 'je') => `jsonb_array_elements(${column} #> ${pgPath(segments)}) AS ${alias}(value)`,
  elementScalar: (sub, def, alias = 'je') => pgCast(sub === undefined ? `(${alias}.value #>> '{}')` : `(${alias}.value ->> '${sub}')`, def),
  elementText: (sub, alias = 'je') => (sub === undefined ? `(${alias}.value #>> '{}')` : `(${alias}.value ->> '${sub}')`),
  primaryOrFirst(column, segments, sub, def, fold, nested) {
    const from = `jsonb_array_elements(${column} #> ${pgPath(segments)}) WITH ORDINALITY AS je(value, ord)`;
    // `->> 'primary'` of a non-object element is NULL
    const primary = `coalesce((je.value ->> 'primary')::boolean, false)`;
    if (nested && sub !== undefined) {
      const v = pgCast(`(je2.value #>> '{}')`, def);
      return `(SELECT ${fold ? `scim_fold(${v})` : v} FROM ${from}, jsonb_array_elements(je.value -> '${sub}') WITH ORDINALITY AS je2(value, ord) ORDER BY ${primary} DESC, je.ord, je2.ord LIMIT 1)`;
    }
    const v = pgCast(sub === undefined ? `(je.value #>> '{}')` : `(je.value ->> '${sub}')`, def);
    return `(SELECT ${fold ? `scim_fold(${v})` : v} FROM ${from} ORDER BY ${primary} DESC, je.ord LIMIT 1)`;
  },
  isObject: (column, segments) => `jsonb_typeof(${column} #> ${pgPath(segments)}) = 'object'`,
  fold: (expr) => `scim_fold(${expr})`,
  binaryOrder: (expr) => `(${expr} COLLATE "C")`,
  pattern(expr, kind, value) {
    const esc = value.replace(/[\\%_]/g, (c) => `\\${c}`);
    const param = kind === 'co' ? `%${esc}%` : kind === 'sw' ? `${esc}%` : `%${esc}`;
    return { sql: `${expr} LIKE ?`, param };
  },
  falseLiteral: 'false',
  bool: (b) => b,
};

/** `?` placeholders → `$1, $2, …` (generated SQL never contains `?` otherwise). */
export function numberPlaceholders(sql: string, offset = 0): string {
  let n = offset;
  return sql.replace(/\?/g, () => `$${++n}`);
}
