/**
 * Scriptable faults, throttling, and the counters tests read to prove client behaviour.
 *
 * Every Graph request (each $batch item separately) and every token request is an "operation".
 * Throttling follows learn.microsoft.com/graph/throttling: a 429 carries Retry-After (seconds);
 * "usage keeps accruing during throttling", so a throttled app keeps getting 429 until Retry-After
 * has elapsed. Two counters judge the client:
 * - `earlyRetries`: a request identical (method, path, query, body) to one that was answered with
 *   Retry-After, received before that Retry-After elapsed — a retry that did not wait (an identical
 *   item of the same $batch is not a retry);
 * - `earlyRequests`: any request of that client (writes only, for a write-limit 429) received while a
 *   Retry-After was pending — stricter; it includes requests already in flight when the 429 was sent,
 *   except other items of the same $batch.
 *
 * Two quotas per app (client id) are enforced (learn.microsoft.com/graph/throttling-limits, identity):
 * - the write limit (`setWriteRateLimit`, default 20 per 1000 ms): 429 `WriteLimitExceeded`, and further
 *   writes of that client are refused until the Retry-After elapses;
 * - the resource-unit quota (`setResourceUnitQuota`, default 3,500 RU per 10 s, the "S" tenant size):
 *   every Graph operation costs `resourceUnitCost(…)` RU (resource-units.ts); one that does not fit in
 *   the window gets 429 `ResourceUnitLimitExceeded` with Retry-After = seconds until enough usage has
 *   left the window, and every request of that client (reads and writes) is refused until then.
 *   Refused operations cost nothing; a success reports its cost in `x-ms-resource-unit`, and
 *   `x-ms-throttle-limit-percentage` (the used fraction, e.g. "0.85") once above 0.8 of the quota.
 */
export type Target = 'graph' | 'token';

export interface MatchInfo {
  target: Target;
  method: string;
  /** path without the version prefix, e.g. "/servicePrincipals/microsoft.graph.agentIdentity" */
  path: string;
  inBatch: boolean;
  clientId?: string;
}

/**
 * A request matcher. Object form: every given field must match; `path` as a string matches the
 * version-less path exactly (case-insensitive), as a RegExp it is tested against it.
 * Defaults: target "graph"; inBatch unset matches both top-level requests and $batch items.
 */
export type RequestMatcher =
  | ((info: MatchInfo) => boolean)
  | { target?: Target; method?: string; path?: string | RegExp; inBatch?: boolean };

export function matches(m: RequestMatcher | undefined, info: MatchInfo): boolean {
  if (!m) return true;
  if (typeof m === 'function') return m(info);
  if ((m.target ?? 'graph') !== info.target) return false;
  if (m.method && m.method.toUpperCase() !== info.method.toUpperCase()) return false;
  if (m.inBatch !== undefined && m.inBatch !== info.inBatch) return false;
  if (typeof m.path === 'string' && m.path.toLowerCase() !== info.path.toLowerCase()) return false;
  if (m.path instanceof RegExp && !m.path.test(info.path)) return false;
  return true;
}

export interface InjectedFailure {
  status: number;
  retryAfter?: number;
  code?: string;
  message?: string;
}

interface FailRule extends InjectedFailure {
  remaining: number;
  match: RequestMatcher;
}

interface DropRule {
  remaining: number;
  match: RequestMatcher;
}

export interface FailNextOptions {
  /** which operations this applies to; default: any top-level Graph request (not $batch items) */
  match?: RequestMatcher;
  /**
   * Retry-After seconds (default 1 for 429 and 503, none otherwise); `null` sends no Retry-After at
   * all, as some Graph services document for their 429s (learn.microsoft.com/graph/throttling:
   * "fall back to an exponential backoff")
   */
  retryAfter?: number | null;
  code?: string;
  message?: string;
}

export interface ThrottleForOptions {
  /** "all" (default) throttles every request of every app; "writes" only POST/PATCH/PUT/DELETE */
  scope?: 'all' | 'writes';
  target?: Target;
}

export interface LogEntry {
  seq: number;
  /** ms since the emulator started */
  atMs: number;
  target: Target;
  method: string;
  path: string;
  query: string;
  inBatch: boolean;
  batchItemId?: string;
  clientId?: string;
  write: boolean;
  status?: number;
  /** ms the request arrived before a Retry-After this client was given had elapsed (see earlyRequests) */
  earlyByMs?: number;
  /** an identical request had been told to wait and this one came too soon (see earlyRetries) */
  earlyRetry?: boolean;
  dropped?: boolean;
  /** log seq of the $batch envelope this item belongs to */
  envelopeSeq?: number;
  /** identity of the request for retry detection */
  retryKey: string;
  /** for a 2xx collection answer: how many items its `value` held (e.g. an empty tag lookup is `items: 0`) */
  items?: number;
  /** the Retry-After header sent with this answer, if any (seconds) */
  retryAfter?: number;
}

export interface Counters {
  /** operations by "METHOD /path/template" (ids replaced by {id}), e.g. "POST /servicePrincipals/microsoft.graph.agentIdentity" */
  requests: Record<string, number>;
  byMethod: Record<string, number>;
  /** Graph operations (top-level requests + $batch items, excluding the $batch envelope) */
  graphOperations: number;
  batches: number;
  batchItems: number;
  /** write operations that committed (2xx) */
  writes: number;
  /** write operations attempted (including those rejected) */
  writeAttempts: number;
  /** 429 responses sent (top level, $batch items and token endpoint) */
  throttled: number;
  /** retries of a request answered with Retry-After, received before it elapsed */
  earlyRetries: number;
  /** any request of a client received while a Retry-After given to it was pending (in-flight ones included) */
  earlyRequests: number;
  tokenRequests: number;
  tokensIssued: number;
  droppedResponses: number;
  injectedFailures: number;
}

function emptyCounters(): Counters {
  return {
    requests: {},
    byMethod: {},
    graphOperations: 0,
    batches: 0,
    batchItems: 0,
    writes: 0,
    writeAttempts: 0,
    throttled: 0,
    earlyRetries: 0,
    earlyRequests: 0,
    tokenRequests: 0,
    tokensIssued: 0,
    droppedResponses: 0,
    injectedFailures: 0,
  };
}

/** "/servicePrincipals/3f…/sponsors/$ref" → "/servicePrincipals/{id}/sponsors/$ref" */
export function pathTemplate(path: string): string {
  return path
    .replace(/\('([^']*)'\)/g, "('{key}')")
    .replace(/\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(?=\/|$)/gi, '/{id}')
    .replace(/\/[^/]*@[^/]*(?=\/|$)/g, '/{id}')
    .replace(/\/[A-Za-z0-9_-]{43}(?=\/|$)/g, '/{id}');
}

export const WRITE_METHODS = new Set(['POST', 'PATCH', 'PUT', 'DELETE']);

export interface ThrottleDecision {
  retryAfter: number;
  information: 'WriteLimitExceeded' | 'ResourceUnitLimitExceeded';
}

/** Tolerance for timer granularity when judging "before Retry-After elapsed". */
const EARLY_TOLERANCE_MS = 5;

/** The request log keeps at most this many entries (the oldest half is dropped beyond it). */
const MAX_LOG = 200_000;

export class Faults {
  private failRules: FailRule[] = [];
  private dropRules: DropRule[] = [];
  private throttleUntil: Partial<Record<`${Target}:${'all' | 'writes'}`, number>> = {};
  /** per target+client+scope: when the last Retry-After given expires (and which $batch it came from) */
  private deadlines = new Map<string, { until: number; envelopeSeq?: number }>();
  /** per request identity: when the Retry-After it was given expires (and which $batch it came from) */
  private retryDeadlines = new Map<string, { until: number; envelopeSeq?: number | undefined }>();
  /** per client: timestamps of accepted writes inside the rate-limit window */
  private writeTimes = new Map<string, number[]>();
  /** per client: accepted operations (time, RU cost) inside the resource-unit window */
  private ruUsage = new Map<string, Array<{ t: number; cost: number }>>();
  /** per client: a ResourceUnitLimitExceeded Retry-After runs until then; every request is refused */
  private ruBlockedUntil = new Map<string, number>();
  counters: Counters = emptyCounters();
  readonly log: LogEntry[] = [];
  private seq = 0;
  private readonly startedAt: number;

  constructor(
    private readonly clock: () => number,
    private readonly writeLimit: () => { limit: number; windowMs: number } | null,
    private readonly onSetWriteLimit: (v: { limit: number; windowMs: number } | null) => void,
    private readonly onSetReplicationLag: (ms: number, indexMs?: number) => void,
    private readonly onExpireDeltaTokens: (status: 400 | 410) => void,
    private readonly resourceUnitQuota: () => { limit: number; windowMs: number } | null = () => null,
    private readonly onSetResourceUnitQuota: (v: { limit: number; windowMs: number } | null) => void = () => undefined,
  ) {
    this.startedAt = clock();
  }

  // ------------------------------------------------------------ public API

  /** The next `count` matching operations fail with `status` (nothing is committed). */
  failNext(count: number, status: number, opts: FailNextOptions = {}): void {
    const retryAfter = opts.retryAfter === null ? undefined : (opts.retryAfter ?? (status === 429 || status === 503 ? 1 : undefined));
    this.failRules.push({
      remaining: count,
      status,
      retryAfter,
      code: opts.code,
      message: opts.message,
      match: opts.match ?? { inBatch: false },
    });
  }

  /** Every matching request gets 429 + Retry-After (the remaining seconds) for `seconds`. */
  throttleFor(seconds: number, opts: ThrottleForOptions = {}): void {
    this.throttleUntil[`${opts.target ?? 'graph'}:${opts.scope ?? 'all'}`] = this.clock() + seconds * 1000;
  }

  /** The next `times` (default 1) matching operations commit, then the socket is destroyed without a response. */
  dropResponseAfterCommit(match: RequestMatcher, opts: { times?: number } = {}): void {
    this.dropRules.push({ remaining: opts.times ?? 1, match });
  }

  /** Per-app write limit (default 20 per 1000 ms); null disables it. */
  setWriteRateLimit(limit: number | null, windowMs = 1000): void {
    this.onSetWriteLimit(limit === null ? null : { limit, windowMs });
  }

  /**
   * Per-app resource-unit quota (default 3,500 RU per 10 s, the documented "S" tenant size; M is
   * 5,000, L 8,000); null disables it. See resource-units.ts for what an operation costs.
   */
  setResourceUnitQuota(limit: number | null, windowMs = 10_000): void {
    this.onSetResourceUnitQuota(limit === null ? null : { limit, windowMs });
  }

  /** Objects younger than `ms` are not yet readable (404) or referenceable (400); lists also lag by `indexMs` (default = ms). */
  setReplicationLag(ms: number, indexMs?: number): void {
    this.onSetReplicationLag(ms, indexMs);
  }

  /**
   * Every delta/skip token issued so far is invalidated. By default it then yields the documented
   * `400 syncStateNotFound` (directory delta links, Microsoft 365 Dev blog 2020-07-03); with
   * `{status: 410}` it yields `410 Gone` + `resyncRequired` (learn.microsoft.com/graph/errors and the
   * delta-query overview: "the application must restart with a full synchronization").
   */
  expireDeltaTokens(opts: { status?: 400 | 410 } = {}): void {
    this.onExpireDeltaTokens(opts.status ?? 400);
  }

  /** Removes pending failNext / drop / throttleFor rules (counters are kept). */
  clear(): void {
    this.failRules = [];
    this.dropRules = [];
    this.throttleUntil = {};
    this.deadlines.clear();
    this.retryDeadlines.clear();
    this.writeTimes.clear();
    this.ruUsage.clear();
    this.ruBlockedUntil.clear();
  }

  resetCounters(): void {
    this.counters = emptyCounters();
    this.log.length = 0;
  }

  /** Count of operations for "METHOD /path/template". */
  count(method: string, template: string): number {
    return this.counters.requests[`${method.toUpperCase()} ${template}`] ?? 0;
  }

  // ------------------------------------------------------------ used by the server

  /**
   * Records an incoming operation; returns its log entry (status filled in later).
   * `requestKey` identifies the request for retry detection (e.g. canonical JSON of the body).
   */
  begin(info: MatchInfo, query: string, opts: { batchItemId?: string; envelopeSeq?: number; requestKey?: string } = {}): LogEntry {
    const write = info.target === 'graph' && WRITE_METHODS.has(info.method.toUpperCase()) && !/^\/\$batch$/i.test(info.path);
    const entry: LogEntry = {
      seq: ++this.seq,
      atMs: this.clock() - this.startedAt,
      target: info.target,
      method: info.method.toUpperCase(),
      path: info.path,
      query,
      inBatch: info.inBatch,
      batchItemId: opts.batchItemId,
      envelopeSeq: opts.envelopeSeq,
      clientId: info.clientId,
      write,
      // token requests carry a fresh client-request-id in the query on every attempt: ignore the query there
      retryKey: `${info.target} ${info.clientId ?? ''} ${info.method.toUpperCase()} ${info.path.toLowerCase()}?${info.target === 'token' ? '' : query} ${opts.requestKey ?? ''}`,
    };
    this.log.push(entry);
    if (this.log.length > MAX_LOG) this.log.splice(0, this.log.length - MAX_LOG / 2); // long benchmarks
    const key = `${entry.method} ${pathTemplate(info.path)}`;
    this.counters.requests[key] = (this.counters.requests[key] ?? 0) + 1;
    this.counters.byMethod[entry.method] = (this.counters.byMethod[entry.method] ?? 0) + 1;
    if (info.target === 'token') this.counters.tokenRequests++;
    else if (/^\/\$batch$/i.test(info.path)) this.counters.batches++;
    else {
      this.counters.graphOperations++;
      if (info.inBatch) this.counters.batchItems++;
    }
    if (write) this.counters.writeAttempts++;
    this.checkEarly(entry);
    return entry;
  }

  finish(entry: LogEntry, status: number, answer?: { headers?: Record<string, string>; body?: unknown }): void {
    entry.status = status;
    const value = (answer?.body as { value?: unknown } | undefined)?.value;
    if (status >= 200 && status < 300 && Array.isArray(value)) entry.items = value.length;
    const ra = answer?.headers?.['retry-after'] ?? answer?.headers?.['Retry-After'];
    if (ra !== undefined && ra !== '') entry.retryAfter = Number(ra);
    if (status === 429) this.counters.throttled++;
    if (entry.write && status >= 200 && status < 300) this.counters.writes++;
  }

  takeFailure(entry: LogEntry): InjectedFailure | undefined {
    const rule = this.failRules.find((r) => r.remaining > 0 && matches(r.match, entry));
    if (!rule) return undefined;
    rule.remaining--;
    this.failRules = this.failRules.filter((r) => r.remaining > 0);
    this.counters.injectedFailures++;
    if (rule.retryAfter !== undefined) this.noteRetryAfter(entry, 'all', rule.retryAfter);
    return { status: rule.status, retryAfter: rule.retryAfter, code: rule.code, message: rule.message };
  }

  /**
   * throttleFor windows, the per-app write limit and the per-app resource-unit quota. An accepted
   * operation is counted against both (writes) or the RU quota (reads); a refused one against neither.
   * `cost`: the operation's RU (resourceUnitCost); 0 for token requests.
   */
  checkThrottle(entry: LogEntry, cost = 0): ThrottleDecision | undefined {
    const now = this.clock();
    const client = entry.clientId ?? 'anonymous';
    const isWrite = entry.write;
    for (const scope of ['all', 'writes'] as const) {
      const until = this.throttleUntil[`${entry.target}:${scope}`];
      if (until !== undefined && now < until && (scope === 'all' || isWrite)) {
        const retryAfter = Math.max(1, Math.ceil((until - now) / 1000));
        this.noteRetryAfter(entry, scope, retryAfter, until);
        return { retryAfter, information: scope === 'writes' ? 'WriteLimitExceeded' : 'ResourceUnitLimitExceeded' };
      }
    }
    if (entry.target !== 'graph') return undefined;
    // still inside a ResourceUnitLimitExceeded Retry-After: every request is refused again
    const ruUntil = this.ruBlockedUntil.get(client);
    if (ruUntil !== undefined && now < ruUntil) {
      const retryAfter = Math.max(1, Math.ceil((ruUntil - now) / 1000));
      this.noteRetryAfter(entry, 'all', retryAfter, ruUntil);
      return { retryAfter, information: 'ResourceUnitLimitExceeded' };
    }
    let times: number[] | undefined;
    const limit = isWrite ? this.writeLimit() : null;
    if (isWrite) {
      // still inside a Retry-After we gave for writes: keep refusing (usage accrues during throttling)
      const pending = this.deadlines.get(`${entry.target}|${client}|writes`);
      if (pending !== undefined && now < pending.until) {
        const retryAfter = Math.max(1, Math.ceil((pending.until - now) / 1000));
        this.noteRetryAfter(entry, 'writes', retryAfter, pending.until);
        return { retryAfter, information: 'WriteLimitExceeded' };
      }
      if (limit) {
        times = (this.writeTimes.get(client) ?? []).filter((t) => now - t < limit.windowMs);
        this.writeTimes.set(client, times);
        if (times.length >= limit.limit) {
          const oldest = times[0] as number;
          const retryAfter = Math.max(1, Math.ceil((oldest + limit.windowMs - now) / 1000));
          this.noteRetryAfter(entry, 'writes', retryAfter);
          return { retryAfter, information: 'WriteLimitExceeded' };
        }
      }
    }
    const quota = this.resourceUnitQuota();
    if (quota) {
      const usage = (this.ruUsage.get(client) ?? []).filter((u) => now - u.t < quota.windowMs);
      this.ruUsage.set(client, usage);
      let used = usage.reduce((n, u) => n + u.cost, 0);
      // an operation dearer than the whole quota still gets through once the window is empty
      if (used > 0 && used + cost > quota.limit) {
        // the moment enough of the oldest usage has left the window for this operation to fit
        let freeAt = now;
        for (const u of usage) {
          if (used + cost <= quota.limit) break;
          used -= u.cost;
          freeAt = u.t + quota.windowMs;
        }
        const retryAfter = Math.max(1, Math.ceil((freeAt - now) / 1000));
        const until = now + retryAfter * 1000;
        this.ruBlockedUntil.set(client, until);
        this.noteRetryAfter(entry, 'all', retryAfter, until);
        return { retryAfter, information: 'ResourceUnitLimitExceeded' };
      }
      usage.push({ t: now, cost });
    }
    if (times) times.push(now);
    return undefined;
  }

  /**
   * The fraction of its resource-unit quota the client of `entry` has used in the current window
   * (undefined when no quota is set) — what `x-ms-throttle-limit-percentage` reports above 0.8.
   */
  resourceUnitUsage(entry: LogEntry): number | undefined {
    const quota = this.resourceUnitQuota();
    if (!quota || entry.target !== 'graph') return undefined;
    const now = this.clock();
    const used = (this.ruUsage.get(entry.clientId ?? 'anonymous') ?? [])
      .filter((u) => now - u.t < quota.windowMs)
      .reduce((n, u) => n + u.cost, 0);
    return used / quota.limit;
  }

  shouldDrop(info: MatchInfo): boolean {
    const rule = this.dropRules.find((r) => r.remaining > 0 && matches(r.match, info));
    if (!rule) return false;
    rule.remaining--;
    this.dropRules = this.dropRules.filter((r) => r.remaining > 0);
    return true;
  }

  noteDropped(entry: LogEntry): void {
    entry.dropped = true;
    this.counters.droppedResponses++;
  }

  /** Remember that the client of `entry` was told to wait `seconds` (scope "all" or "writes"). */
  private noteRetryAfter(entry: LogEntry, scope: 'all' | 'writes', seconds: number, until?: number): void {
    const key = `${entry.target}|${entry.clientId ?? 'anonymous'}|${scope}`;
    const deadline = until ?? this.clock() + seconds * 1000;
    const prev = this.deadlines.get(key);
    if (!prev || prev.until < deadline) this.deadlines.set(key, { until: deadline, envelopeSeq: entry.envelopeSeq });
    const prevRetry = this.retryDeadlines.get(entry.retryKey);
    if (!prevRetry || prevRetry.until < deadline) this.retryDeadlines.set(entry.retryKey, { until: deadline, envelopeSeq: entry.envelopeSeq });
  }

  private checkEarly(entry: LogEntry): void {
    const client = entry.clientId ?? 'anonymous';
    const now = this.clock();
    let early = 0;
    for (const scope of ['all', 'writes'] as const) {
      if (scope === 'writes' && !entry.write) continue;
      const d = this.deadlines.get(`${entry.target}|${client}|${scope}`);
      if (!d || d.until - now <= EARLY_TOLERANCE_MS) continue;
      if (entry.envelopeSeq !== undefined && d.envelopeSeq === entry.envelopeSeq) continue; // same $batch
      early = Math.max(early, d.until - now);
    }
    if (early > 0) {
      entry.earlyByMs = Math.round(early);
      this.counters.earlyRequests++;
    }
    const r = this.retryDeadlines.get(entry.retryKey);
    // an identical item of the same $batch is not a retry: it was sent together with the one refused
    const sameBatch = r !== undefined && entry.envelopeSeq !== undefined && r.envelopeSeq === entry.envelopeSeq;
    if (r !== undefined && !sameBatch && r.until - now > EARLY_TOLERANCE_MS) {
      entry.earlyRetry = true;
      this.counters.earlyRetries++;
    }
  }
}

/** Canonical JSON (sorted keys) of a request body, for retry detection; the raw text if it isn't JSON. */
export function canonicalBody(raw: unknown): string {
  const sortKeys = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sortKeys)
      : v && typeof v === 'object'
        ? Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]))
        : v;
  if (raw === undefined) return '';
  if (typeof raw === 'string') {
    if (raw.trim() === '') return '';
    try {
      return JSON.stringify(sortKeys(JSON.parse(raw)));
    } catch {
      return raw;
    }
  }
  return JSON.stringify(sortKeys(raw));
}
