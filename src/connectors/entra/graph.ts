// Microsoft Graph over fetch: tokens, the per-target write limiter and Retry-After gate, transparent
// JSON batching, retries, paging and OData errors.
//
// - Every write takes a limiter token right before it goes on the wire (writes are what Graph
//   limits per app and tenant); reads are not limited.
// - A 429 (or a 503/504 with Retry-After), at top level or inside a $batch, closes the gate for that
//   long: NO request of this client goes out before it elapses — not the retry, not anything else.
// - Requests issued close together (other agents converging at the same time) travel as one
//   `$batch` of at most 20; each item is retried on its own (learn.microsoft.com/graph/json-batching).
// - 5xx and connection errors are retried with backoff, except on non-idempotent creates, whose
//   outcome is then unknown (OutcomeUnknownError): the caller looks the object up by its tag.
// - Lists follow @odata.nextLink verbatim.

import type { Logger } from 'pino';
import { backoffDelay } from '../../sync/backoff.js';
import { isSyncError, RetryableError } from '../../sync/errors.js';
import { RetryGate, sleep, WriteLimiter } from '../../sync/rate-limit.js';
import { GraphApiError, OutcomeUnknownError, parseGraphError } from './errors.js';

export type FetchLike = (input: string | URL, init?: RequestInit) => Promise<Response>;

export interface GraphClientOptions {
  /** e.g. https://graph.microsoft.com (no version) */
  graphUrl: string;
  /** v1.0 (default) or beta */
  apiVersion: string;
  token: { get(force?: boolean): Promise<string> };
  limiter: WriteLimiter;
  gate?: RetryGate;
  fetch?: FetchLike;
  logger?: Logger;
  /** requests per $batch (≤ 20); 1 disables batching */
  batchMax?: number;
  /** how long a request waits for companions before its batch leaves */
  batchLingerMs?: number;
  requestTimeoutMs?: number;
  /** retries of 429s (each after its Retry-After) before the caller is told to retry later */
  maxThrottleRetries?: number;
  /** retries of 5xx / connection errors */
  maxTransientRetries?: number;
  transientBaseMs?: number;
}

export interface GraphRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  /** path below the version ("/servicePrincipals/…"), or an absolute URL (an @odata.nextLink) */
  path: string;
  body?: unknown;
  headers?: Record<string, string>;
  /** false for creates: a lost response must not be retried blindly (default: true) */
  idempotent?: boolean;
  /** may travel in a $batch (default: true for relative paths) */
  batchable?: boolean;
}

export interface GraphResult<T = unknown> {
  status: number;
  headers: Record<string, string>;
  body: T;
}

interface Raw {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

interface BatchItem {
  req: GraphRequest;
  resolve: (r: Raw) => void;
  reject: (e: unknown) => void;
}

interface BatchQueue {
  items: BatchItem[];
  timer?: NodeJS.Timeout | undefined;
}

export interface GraphCounters {
  reads: number;
  writes: number;
  batches: number;
  throttled: number;
  retries: number;
}

const WRITE = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);

/** Retry-After: delta-seconds or an HTTP date → ms (undefined when absent or unparsable). */
export function retryAfterMs(v: string | undefined, now = Date.now()): number | undefined {
  if (v === undefined || v.trim() === '') return undefined;
  const s = Number(v.trim());
  if (Number.isFinite(s)) return Math.max(0, Math.ceil(s * 1000));
  const d = Date.parse(v);
  return Number.isFinite(d) ? Math.max(0, d - now) : undefined;
}

export class GraphClient {
  readonly counters: GraphCounters = { reads: 0, writes: 0, batches: 0, throttled: 0, retries: 0 };
  readonly gate: RetryGate;
  readonly limiter: WriteLimiter;
  readonly base: string;
  readonly #o: Required<Pick<GraphClientOptions, 'batchMax' | 'batchLingerMs' | 'requestTimeoutMs' | 'maxThrottleRetries' | 'maxTransientRetries' | 'transientBaseMs'>>;
  readonly #fetch: FetchLike;
  readonly #token: GraphClientOptions['token'];
  readonly #log: Logger | undefined;
  readonly #graphUrl: string;
  readonly #reads: BatchQueue = { items: [] };
  readonly #writes: BatchQueue = { items: [] };

  constructor(o: GraphClientOptions) {
    this.#graphUrl = o.graphUrl.replace(/\/+$/, '');
    this.base = `${this.#graphUrl}/${o.apiVersion}`;
    this.#token = o.token;
    this.limiter = o.limiter;
    this.gate = o.gate ?? new RetryGate();
    this.#fetch = o.fetch ?? ((i, init) => fetch(i, init));
    this.#log = o.logger;
    this.#o = {
      batchMax: Math.min(20, Math.max(1, o.batchMax ?? 20)),
      batchLingerMs: o.batchLingerMs ?? 10,
      requestTimeoutMs: o.requestTimeoutMs ?? 30_000,
      maxThrottleRetries: o.maxThrottleRetries ?? 10,
      maxTransientRetries: o.maxTransientRetries ?? 4,
      transientBaseMs: o.transientBaseMs ?? 500,
    };
  }

  /** `${graphUrl}/${version}/directoryObjects/{id}` — for @odata.id / @odata.bind references */
  ref(kind: 'directoryObjects' | 'users' | 'groups', id: string): string {
    return `${this.base}/${kind}/${id}`;
  }

  /** One request with throttling, retries and batching; non-2xx → GraphApiError. */
  async request<T = unknown>(req: GraphRequest, signal?: AbortSignal): Promise<GraphResult<T>> {
    const write = WRITE.has(req.method);
    const idempotent = req.idempotent ?? true;
    let throttles = 0;
    let transient = 0;
    let forcedToken = false;
    for (;;) {
      await this.gate.pass(signal);
      let raw: Raw;
      try {
        raw = await this.#send(req, forcedToken, signal);
      } catch (e) {
        if (signal?.aborted) throw e;
        // token errors (already classified) and Graph answers are not transport failures
        if (isSyncError(e) || e instanceof GraphApiError) throw e;
        if (!idempotent) throw new OutcomeUnknownError(`${req.method} ${pathOf(req.path)}: ${(e as Error).message}`);
        if (++transient > this.#o.maxTransientRetries) {
          throw new RetryableError(`${req.method} ${pathOf(req.path)}: ${(e as Error).message}`, 'network', undefined, { cause: e });
        }
        this.counters.retries++;
        await sleep(backoffDelay(transient, { baseMs: this.#o.transientBaseMs, maxMs: 30_000 }), signal);
        continue;
      }
      forcedToken = false;
      if (raw.status >= 200 && raw.status < 300) return raw as GraphResult<T>;
      const ra = retryAfterMs(raw.headers['retry-after']);
      if (raw.status === 429 || ((raw.status === 503 || raw.status === 504) && ra !== undefined)) {
        this.counters.throttled++;
        if (write && raw.status === 429 && !/ResourceUnit/i.test(raw.headers['x-ms-throttle-information'] ?? '')) this.limiter.widen();
        const wait = ra ?? backoffDelay(throttles + 1, { baseMs: 1_000, maxMs: 60_000 });
        this.gate.block(wait);
        this.#log?.debug({ method: req.method, path: pathOf(req.path), status: raw.status, retryAfterMs: wait }, 'graph throttled');
        if (raw.status === 503 && !idempotent) {
          throw new OutcomeUnknownError(`${req.method} ${pathOf(req.path)}: 503 service unavailable`);
        }
        if (++throttles > this.#o.maxThrottleRetries) {
          throw new RetryableError(`${req.method} ${pathOf(req.path)}: still throttled after ${throttles - 1} waits`, 'throttled', wait, { throttled: true });
        }
        this.counters.retries++;
        continue;
      }
      if (raw.status >= 500) {
        if (!idempotent) throw new OutcomeUnknownError(`${req.method} ${pathOf(req.path)}: ${raw.status} from Graph`);
        if (++transient > this.#o.maxTransientRetries) throw parseGraphError(raw.status, raw.body, raw.headers, ra);
        this.counters.retries++;
        await sleep(ra ?? backoffDelay(transient, { baseMs: this.#o.transientBaseMs, maxMs: 30_000 }), signal);
        continue;
      }
      if (raw.status === 401 && !forcedToken && transient === 0) {
        forcedToken = true;
        transient++;
        continue;
      }
      throw parseGraphError(raw.status, raw.body, raw.headers, ra);
    }
  }

  get<T = unknown>(path: string, signal?: AbortSignal, headers?: Record<string, string>): Promise<GraphResult<T>> {
    return this.request<T>({ method: 'GET', path, ...(headers ? { headers } : {}) }, signal);
  }

  /** All items of a collection, following @odata.nextLink verbatim. */
  async all<T = Record<string, unknown>>(path: string, signal?: AbortSignal, headers?: Record<string, string>): Promise<T[]> {
    const out: T[] = [];
    for await (const page of this.pages<T>(path, signal, headers)) out.push(...page);
    return out;
  }

  async *pages<T = Record<string, unknown>>(path: string, signal?: AbortSignal, headers?: Record<string, string>): AsyncGenerator<T[]> {
    let next: string | undefined = path;
    while (next) {
      const r: GraphResult<{ value?: T[]; '@odata.nextLink'?: string }> = await this.request(
        { method: 'GET', path: next, batchable: false, ...(headers ? { headers } : {}) },
        signal,
      );
      yield r.body?.value ?? [];
      next = r.body?.['@odata.nextLink'];
    }
  }

  // ──────────────────────────────────────────────────────────── transport

  async #send(req: GraphRequest, forceToken: boolean, signal?: AbortSignal): Promise<Raw> {
    const absolute = /^https?:/i.test(req.path);
    const write = WRITE.has(req.method);
    if (write) this.counters.writes++;
    else this.counters.reads++;
    if (this.#o.batchMax > 1 && !absolute && (req.batchable ?? true) && !forceToken) {
      // reads and writes batch separately: a read never waits for write tokens
      const q = write ? this.#writes : this.#reads;
      return new Promise<Raw>((resolve, reject) => {
        const onAbort = () => reject(signal?.reason as Error);
        const done = () => signal?.removeEventListener('abort', onAbort);
        q.items.push({
          req,
          resolve: (r) => {
            done();
            resolve(r);
          },
          reject: (e) => {
            done();
            reject(e);
          },
        });
        signal?.addEventListener('abort', onAbort, { once: true });
        if (q.items.length >= this.#o.batchMax) this.#flush(q);
        else q.timer ??= setTimeout(() => this.#flush(q), this.#o.batchLingerMs);
      });
    }
    return this.#direct(req, forceToken, signal, write ? 1 : 0);
  }

  /**
   * One HTTP request. Write tokens are taken here, right before the request goes on the wire, so
   * that the limiter's clock matches what Graph sees; a Retry-After given meanwhile is waited out.
   */
  async #direct(req: GraphRequest, forceToken: boolean, signal: AbortSignal | undefined, writes: number): Promise<Raw> {
    const url = /^https?:/i.test(req.path) ? req.path : `${this.base}${req.path}`;
    const token = await this.#token.get(forceToken);
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'application/json', ...req.headers };
    if (req.body !== undefined) headers['content-type'] ??= 'application/json';
    const body = req.body !== undefined ? JSON.stringify(req.body) : undefined;
    await this.gate.pass(signal);
    if (writes > 0) {
      const ticket = await this.limiter.take(writes, signal);
      if (this.gate.until) {
        await this.gate.pass(signal);
        ticket.restamp();
      }
    }
    const timeout = AbortSignal.timeout(this.#o.requestTimeoutMs);
    const res = await this.#fetch(url, {
      method: req.method,
      headers,
      ...(body !== undefined ? { body } : {}),
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    });
    return { status: res.status, headers: headerRecord(res.headers), body: await readBody(res) };
  }

  #flush(q: BatchQueue): void {
    if (q.timer) clearTimeout(q.timer);
    q.timer = undefined;
    const items = q.items.splice(0, this.#o.batchMax);
    if (q.items.length > 0) q.timer = setTimeout(() => this.#flush(q), 0);
    if (items.length === 0) return;
    void this.#dispatch(items);
  }

  async #dispatch(items: BatchItem[]): Promise<void> {
    const writes = items.filter((it) => WRITE.has(it.req.method)).length;
    try {
      if (items.length === 1) {
        const it = items[0]!;
        it.resolve(await this.#direct(it.req, false, undefined, writes));
        return;
      }
      this.counters.batches++;
      const requests = items.map((it, i) => {
        const r: Record<string, unknown> = { id: String(i + 1), method: it.req.method, url: it.req.path };
        const headers: Record<string, string> = { ...it.req.headers };
        if (it.req.body !== undefined) {
          headers['content-type'] ??= 'application/json';
          r.body = it.req.body;
        }
        if (Object.keys(headers).length) r.headers = headers;
        return r;
      });
      const env = await this.#direct({ method: 'POST', path: '/$batch', body: { requests } }, false, undefined, writes);
      if (env.status !== 200) {
        // the envelope itself was refused (429/5xx/400): every item shares that answer
        for (const it of items) it.resolve(env);
        return;
      }
      const responses = ((env.body as { responses?: unknown[] } | undefined)?.responses ?? []) as {
        id?: string;
        status?: number;
        headers?: Record<string, string>;
        body?: unknown;
      }[];
      const byId = new Map(responses.map((r) => [String(r.id), r]));
      items.forEach((it, i) => {
        const r = byId.get(String(i + 1));
        if (!r || typeof r.status !== 'number') {
          it.reject(new Error('the $batch response lacks this request'));
          return;
        }
        const h: Record<string, string> = {};
        for (const [k, v] of Object.entries(r.headers ?? {})) h[k.toLowerCase()] = String(v);
        it.resolve({ status: r.status, headers: h, body: r.body });
      });
    } catch (e) {
      for (const it of items) it.reject(e);
    }
  }

  close(): void {
    for (const q of [this.#reads, this.#writes]) {
      if (q.timer) clearTimeout(q.timer);
      q.timer = undefined;
      for (const it of q.items.splice(0)) it.reject(new Error('graph client closed'));
    }
    this.limiter.close();
  }
}

function pathOf(p: string): string {
  try {
    return /^https?:/i.test(p) ? new URL(p).pathname : p.split('?')[0] ?? p;
  } catch {
    return p;
  }
}

function headerRecord(h: Headers): Record<string, string> {
  const out: Record<string, string> = {};
  h.forEach((v, k) => {
    out[k.toLowerCase()] = v;
  });
  return out;
}

async function readBody(res: Response): Promise<unknown> {
  const text = await res.text();
  if (!text) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
