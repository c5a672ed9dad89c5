/**
 * JSON batching (learn.microsoft.com/graph/json-batching):
 * - ≤ 20 requests, ids unique (case-insensitive) or the whole batch is 400; malformed → 400;
 * - each item is throttled individually and can get 429 (Retry-After in the item's headers) inside a 200;
 * - `dependsOn`: if a dependency failed, the dependent item gets 424 Failed Dependency;
 * - responses come back in any order; a body needs a Content-Type header.
 */
import { randomUUID } from 'node:crypto';
import type { AccessTokenClaims } from './auth.js';
import { GraphError, graphErrorResponse, type GraphResponse } from './errors.js';
import { canonicalBody, type Faults, type MatchInfo } from './faults.js';
import type { GraphService } from './graph.js';

export const MAX_BATCH_REQUESTS = 20;

interface BatchItem {
  id: string;
  method: string;
  url: string;
  headers: Record<string, string>;
  body: unknown;
  dependsOn: string[];
}

export interface BatchOutcome {
  response: GraphResponse;
  /** a dropResponseAfterCommit rule matched one of the items (or the envelope) */
  drop: boolean;
}

const batchError = (message: string): GraphError => new GraphError(400, 'BadRequest', message);

function parseItems(body: unknown): BatchItem[] {
  if (!body || typeof body !== 'object' || !Array.isArray((body as Record<string, unknown>)['requests'])) {
    throw batchError('Invalid batch payload format.');
  }
  const raw = (body as { requests: unknown[] }).requests;
  if (raw.length === 0) throw batchError('Invalid batch payload format: the requests collection is empty.');
  if (raw.length > MAX_BATCH_REQUESTS) throw batchError(`Limit of ${MAX_BATCH_REQUESTS} requests per batch exceeded.`);
  const items = raw.map((r): BatchItem => {
    if (!r || typeof r !== 'object') throw batchError('Invalid batch payload format.');
    const o = r as Record<string, unknown>;
    if (typeof o['id'] !== 'string' || o['id'] === '') throw batchError("Invalid batch payload format: each request needs a string 'id'.");
    if (typeof o['method'] !== 'string' || typeof o['url'] !== 'string') {
      throw batchError(`Invalid batch payload format: request '${o['id']}' needs 'method' and 'url'.`);
    }
    const headers: Record<string, string> = {};
    if (o['headers'] !== undefined) {
      if (typeof o['headers'] !== 'object' || o['headers'] === null) throw batchError('Invalid batch payload format: headers must be an object.');
      for (const [k, v] of Object.entries(o['headers'] as Record<string, unknown>)) headers[k.toLowerCase()] = String(v);
    }
    const dependsOn = o['dependsOn'] === undefined ? [] : o['dependsOn'];
    if (!Array.isArray(dependsOn) || dependsOn.some((d) => typeof d !== 'string')) {
      throw batchError(`Invalid batch payload format: dependsOn of request '${o['id']}' must be an array of ids.`);
    }
    return { id: o['id'], method: o['method'].toUpperCase(), url: o['url'], headers, body: o['body'], dependsOn: dependsOn as string[] };
  });
  const ids = new Set<string>();
  for (const it of items) {
    const key = it.id.toLowerCase();
    if (ids.has(key)) throw batchError(`Batch request contains duplicate request id '${it.id}'.`);
    ids.add(key);
  }
  for (const it of items) {
    for (const d of it.dependsOn) {
      if (!ids.has(d.toLowerCase())) throw batchError(`Request '${it.id}' depends on unknown request id '${d}'.`);
    }
  }
  return items;
}

function shuffle<T>(xs: T[]): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [a[i], a[j]] = [a[j] as T, a[i] as T];
  }
  return a;
}

const titleCase = (h: string): string => h.replace(/(^|-)([a-z])/g, (_, p: string, c: string) => p + c.toUpperCase());

export function runBatch(
  service: GraphService,
  faults: Faults,
  envelope: { version: 'v1.0' | 'beta'; headers: Record<string, string>; claims: AccessTokenClaims; body: unknown; envelopeSeq: number },
  shuffleResponses: boolean,
): BatchOutcome {
  const clientRequestId = envelope.headers['client-request-id'];
  let items: BatchItem[];
  try {
    items = parseItems(envelope.body);
  } catch (e) {
    if (!(e instanceof GraphError)) throw e;
    return { response: graphErrorResponse(e, clientRequestId, randomUUID()), drop: false };
  }
  const results = new Map<string, { id: string; status: number; headers: Record<string, string>; body?: unknown }>();
  let drop = false;
  const pending = [...items];
  while (pending.length > 0) {
    const ready = pending.filter((it) => it.dependsOn.every((d) => results.has(d.toLowerCase())));
    if (ready.length === 0) {
      return { response: graphErrorResponse(batchError('Batch request contains a dependency cycle.'), clientRequestId, randomUUID()), drop: false };
    }
    // independent requests run "in parallel": their order is unspecified
    for (const it of shuffle(ready)) {
      pending.splice(pending.indexOf(it), 1);
      const failedDep = it.dependsOn.some((d) => (results.get(d.toLowerCase())?.status ?? 0) >= 400);
      let r: GraphResponse;
      const { path, query, version } = splitUrl(it.url, envelope.version);
      const info: MatchInfo = { target: 'graph', method: it.method, path, inBatch: true, clientId: envelope.claims.appid };
      const entry = faults.begin(info, query.toString(), { batchItemId: it.id, envelopeSeq: envelope.envelopeSeq, requestKey: canonicalBody(it.body) });
      if (failedDep) {
        r = graphErrorResponse(
          new GraphError(424, 'FailedDependency', 'The request was not executed because a request it depends on failed.'),
          clientRequestId,
          randomUUID(),
        );
      } else if (/^https?:/i.test(it.url)) {
        r = graphErrorResponse(batchError('The url of a batch request must be relative, e.g. /users.'), clientRequestId, randomUUID());
      } else if (it.body !== undefined && !it.headers['content-type']) {
        r = graphErrorResponse(batchError('A Content-Type header is required when a request in a batch has a body.'), clientRequestId, randomUUID());
      } else if (/^\/?\$batch/i.test(path.replace(/^\//, ''))) {
        r = graphErrorResponse(batchError('Nested batch requests are not supported.'), clientRequestId, randomUUID());
      } else {
        r = service.execute({
          method: it.method,
          path,
          version,
          query,
          headers: { ...envelope.headers, ...it.headers, 'client-request-id': clientRequestId ?? randomUUID() },
          body: it.body,
          claims: envelope.claims,
          inBatch: true,
        }, entry);
        if (faults.shouldDrop(info)) drop = true;
      }
      faults.finish(entry, r.status, r);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(r.headers)) headers[titleCase(k)] = v;
      const out: { id: string; status: number; headers: Record<string, string>; body?: unknown } = { id: it.id, status: r.status, headers };
      if (r.body !== undefined) out.body = r.body;
      results.set(it.id.toLowerCase(), out);
    }
  }
  const ordered = items.map((it) => results.get(it.id.toLowerCase()) as NonNullable<ReturnType<typeof results.get>>);
  return {
    response: {
      status: 200,
      headers: { 'content-type': 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8' },
      body: { responses: shuffleResponses ? shuffle(ordered) : ordered },
    },
    drop,
  };
}

/** "/users?$filter=…" or "users?$filter=…" relative to the batch's version. */
function splitUrl(url: string, version: 'v1.0' | 'beta'): { path: string; query: URLSearchParams; version: 'v1.0' | 'beta' } {
  const rel = url.startsWith('/') ? url : `/${url}`;
  const u = new URL(`https://graph.invalid${rel}`);
  return { path: decodeURIComponentSafe(u.pathname), query: u.searchParams, version };
}

function decodeURIComponentSafe(p: string): string {
  // keep the path raw except for characters clients commonly escape ($ in $ref, quotes in keys)
  return p.replace(/%24/gi, '$').replace(/%27/g, "'");
}
