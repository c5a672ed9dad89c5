// The SQL of a list query, shared by both stores: WHERE from the filter, ORDER BY, LIMIT/OFFSET or
// an RFC 9865 keyset cursor, and how to count. Unfiltered totals come from resource_counts (kept in
// the same transaction as every insert and delete), so a page of a million rows costs no COUNT(*).

import { type CursorScope, cursorKeyOf, decodeCursor, encodeCursor } from './cursor.js';
import type { SqlFilterTranslator } from './filter-sql.js';
import { pathKey } from './indexes.js';
import type { ListQuery, ListResult, StoredResource } from './types.js';

const COLS = 'r.type, r.id, r.data, r.version, r.created, r.last_modified, r.seq';

export interface ListPlan {
  pageSql: string | undefined;
  pageParams: unknown[];
  /** SELECT n … for the total, or undefined when not wanted */
  countSql: string | undefined;
  countParams: unknown[];
  cursorMode: boolean;
  limit: number;
  /** the query a cursor of this list belongs to */
  scope: CursorScope;
}

export function planList(t: SqlFilterTranslator, typeName: string, q: ListQuery): ListPlan {
  const typeLit = `'${typeName.replace(/'/g, "''")}'`;
  let where = `r.type = ${typeLit}`;
  const params: unknown[] = [];
  if (q.filter) {
    const f = t.where(q.filter);
    where += ` AND ${f.sql}`;
    params.push(...f.params);
  }
  const order = t.orderBy(q.sort);
  const info = q.sort ? t.sortInfo(q.sort) : undefined;
  const key = info ? `, (${info.expr}) AS sort_key` : '';
  const scope: CursorScope = {
    type: typeName,
    ...(q.sort && info ? { sort: { attr: pathKey(q.sort.path), descending: q.sort.descending, kind: info.kind } } : {}),
  };
  const countSql = q.withoutTotal
    ? undefined
    : q.filter
      ? `SELECT count(*) AS n FROM resources r WHERE ${where}`
      : `SELECT coalesce((SELECT n FROM resource_counts WHERE type = ${typeLit}), 0) AS n`;
  const countParams = q.filter ? [...params] : [];
  if (q.cursor !== undefined) {
    const pos = decodeCursor(q.cursor, scope);
    const pageParams = [...params];
    const cond = pos ? ` AND ${t.after(q.sort, pos, pageParams)}` : '';
    pageParams.push(q.count + 1);
    return {
      pageSql: q.count === 0 ? undefined : `SELECT ${COLS}${key} FROM resources r WHERE ${where}${cond} ORDER BY ${order} LIMIT ?`,
      pageParams,
      countSql,
      countParams,
      cursorMode: true,
      limit: q.count,
      scope,
    };
  }
  return {
    pageSql: q.count === 0 ? undefined : `SELECT ${COLS}${key} FROM resources r WHERE ${where} ORDER BY ${order} LIMIT ? OFFSET ?`,
    pageParams: [...params, q.count, q.startIndex - 1],
    countSql,
    countParams,
    cursorMode: false,
    limit: q.count,
    scope,
  };
}

/**
 * The count of the resources of `typeName` matching `filter`: the total of a list query with that
 * filter (planList), for the commit guards both stores evaluate inside their write transaction.
 */
export function countQuery(t: SqlFilterTranslator, typeName: string, filter: ListQuery['filter']): { sql: string; params: unknown[] } {
  const plan = planList(t, typeName, { ...(filter ? { filter } : {}), startIndex: 1, count: 0 });
  return { sql: plan.countSql!, params: plan.countParams };
}

/** Page rows (one extra in cursor mode, to know whether a next page exists) → ListResult. */
export function finishList(
  plan: ListPlan,
  rows: { seq: unknown; sort_key?: unknown }[],
  toStored: (r: never) => StoredResource,
  total: number | undefined,
): ListResult {
  const page = plan.cursorMode ? rows.slice(0, plan.limit) : rows;
  const res: ListResult = { total, resources: page.map((r) => toStored(r as never)) };
  const last = page[page.length - 1];
  const more = plan.cursorMode ? rows.length > plan.limit : page.length === plan.limit;
  if (last && more) {
    const sort = plan.scope.sort;
    const pos = sort ? { seq: Number(last.seq), key: cursorKeyOf(last.sort_key, sort.kind) } : { seq: Number(last.seq) };
    res.nextCursor = encodeCursor(pos, plan.scope);
  }
  return res;
}
