/**
 * Resource-unit (RU) cost of one Graph operation, as learn.microsoft.com/graph/throttling-limits
 * (identity and access service limits) lists it — see the shared `reference/entra.md` §2.1:
 * - base cost 1; `GET users` (collection or item) 2, `GET applications` 2, `groups/{id}/members` 3,
 *   `transitiveMembers` 5, `getByIds` 3 (those three whatever the method, `$ref` and casts included);
 * - `$select` costs 1 less, `$expand` 1 more, `$top` below 20 1 less; never below 1.
 * Each `$batch` item is one operation; the envelope and token requests cost nothing (not called).
 * Writes cost their RU too (and count against the write limit on top).
 */
export interface CostedRequest {
  method: string;
  /** path without the version prefix, e.g. "/users/{id}" */
  path: string;
  /** the query string (with or without "?") or its parsed form */
  query?: string | URLSearchParams;
}

export function resourceUnitCost(req: CostedRequest): number {
  const method = req.method.toUpperCase();
  const path = req.path.replace(/\/+$/, '');
  const q = req.query instanceof URLSearchParams ? req.query : new URLSearchParams((req.query ?? '').replace(/^\?/, ''));
  let cost = 1;
  if (/\/transitiveMembers(\/|$)/i.test(path)) cost = 5;
  else if (/^\/groups\/[^/]+\/members(\/|$)/i.test(path)) cost = 3;
  else if (/\/(microsoft\.graph\.)?getByIds$/i.test(path)) cost = 3;
  else if (method === 'GET' && /^\/(users|applications)(\/[^/]+|\([^/]*\))?$/i.test(path)) cost = 2;
  if (q.has('$select')) cost -= 1;
  if (q.has('$expand')) cost += 1;
  const top = q.get('$top');
  if (top !== null && top.trim() !== '' && Number(top) < 20) cost -= 1;
  return Math.max(1, cost);
}
