/**
 * Scriptable faults, throttling, and the counters tests read to prove client behaviour.
 *
 * Every Graph request (each $batch item separately) and every token request is an "operation".
 * Throttling follows learn.microsoft.com/graph/throttling: a 429 carries Retry-After (seconds);
 * "usage keeps accruing during throttling", so a throttled app keeps getting 429 until Retry-After
 * has elapsed, and each request received before then is counted in `earlyRetries`.
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
  /** Retry-After seconds (default 1 for 429 and 503, none otherwise) */
  retryAfter?: number;
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
  /** ms the request arrived before a Retry-After this client was given had elapsed */
  earlyByMs?: number;
  dropped?: boolean;
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
  /** requests received before a Retry-After given to the same client had elapsed */
  earlyRetries: number;
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

export class Faults {
  private failRules: FailRule[] = [];
  private dropRules: DropRule[] = [];
  private throttleUntil: Partial<Record<`${Target}:${'all' | 'writes'}`, number>> = {};
  /** per target+client+scope: when the last Retry-After given expires */
  private deadlines = new Map<string, number>();
  /** per client: timestamps of accepted writes inside the rate-limit window */
  private writeTimes = new Map<string, number[]>();
  counters: Counters = emptyCounters();
  readonly log: LogEntry[] = [];
  private seq = 0;
  private readonly startedAt: number;

  constructor(
    private readonly clock: () => number,
    private readonly writeLimit: () => { limit: number; windowMs: number } | null,
    private readonly onSetWriteLimit: (v: { limit: number; windowMs: number } | null) => void,
    private readonly onSetReplicationLag: (ms: number, indexMs?: number) => void,
    private readonly onExpireDeltaTokens: () => void,
  ) {
    this.startedAt = clock();
  }

  // ------------------------------------------------------------ public API

  /** The next `count` matching operations fail with `status` (nothing is committed). */
  failNext(count: number, status: number, opts: FailNextOptions = {}): void {
    const retryAfter = opts.retryAfter ?? (status === 429 || status === 503 ? 1 : undefined);
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

  /** Objects younger than `ms` are not yet readable (404) or referenceable (400); lists also lag by `indexMs` (default = ms). */
  setReplicationLag(ms: number, indexMs?: number): void {
    this.onSetReplicationLag(ms, indexMs);
  }

  /** Every delta/skip token issued so far now yields 400 syncStateNotFound. */
  expireDeltaTokens(): void {
    this.onExpireDeltaTokens();
  }

  /** Removes pending failNext / drop / throttleFor rules (counters are kept). */
  clear(): void {
    this.failRules = [];
    this.dropRules = [];
    this.throttleUntil = {};
    this.deadlines.clear();
    this.writeTimes.clear();
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

  /** Records an incoming operation; returns its log entry (status filled in later). */
  begin(info: MatchInfo, query: string, batchItemId?: string): LogEntry {
    const write = info.target === 'graph' && WRITE_METHODS.has(info.method.toUpperCase()) && !/^\/\$batch$/i.test(info.path);
    const entry: LogEntry = {
      seq: ++this.seq,
      atMs: this.clock() - this.startedAt,
      target: info.target,
      method: info.method.toUpperCase(),
      path: info.path,
      query,
      inBatch: info.inBatch,
      batchItemId,
      clientId: info.clientId,
      write,
    };
    this.log.push(entry);
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

  finish(entry: LogEntry, status: number): void {
    entry.status = status;
    if (status === 429) this.counters.throttled++;
    if (entry.write && status >= 200 && status < 300) this.counters.writes++;
  }

  takeFailure(info: MatchInfo): InjectedFailure | undefined {
    const rule = this.failRules.find((r) => r.remaining > 0 && matches(r.match, info));
    if (!rule) return undefined;
    rule.remaining--;
    this.failRules = this.failRules.filter((r) => r.remaining > 0);
    this.counters.injectedFailures++;
    if (rule.retryAfter !== undefined && info.clientId) this.noteRetryAfter(info.target, info.clientId, 'all', rule.retryAfter);
    return { status: rule.status, retryAfter: rule.retryAfter, code: rule.code, message: rule.message };
  }

  /** throttleFor windows and the per-app write limit. Accepted writes are counted against the window. */
  checkThrottle(info: MatchInfo, isWrite: boolean): ThrottleDecision | undefined {
    const now = this.clock();
    const client = info.clientId ?? 'anonymous';
    for (const scope of ['all', 'writes'] as const) {
      const until = this.throttleUntil[`${info.target}:${scope}`];
      if (until !== undefined && now < until && (scope === 'all' || isWrite)) {
        const retryAfter = Math.max(1, Math.ceil((until - now) / 1000));
        this.noteRetryAfter(info.target, client, scope, retryAfter, until);
        return { retryAfter, information: scope === 'writes' ? 'WriteLimitExceeded' : 'ResourceUnitLimitExceeded' };
      }
    }
    if (info.target !== 'graph' || !isWrite) return undefined;
    // still inside a Retry-After we gave for writes: keep refusing (usage accrues during throttling)
    const pending = this.deadlines.get(`${info.target}|${client}|writes`);
    if (pending !== undefined && now < pending) {
      return { retryAfter: Math.max(1, Math.ceil((pending - now) / 1000)), information: 'WriteLimitExceeded' };
    }
    const limit = this.writeLimit();
    if (!limit) return undefined;
    const times = (this.writeTimes.get(client) ?? []).filter((t) => now - t < limit.windowMs);
    if (times.length >= limit.limit) {
      this.writeTimes.set(client, times);
      const oldest = times[0] as number;
      const retryAfter = Math.max(1, Math.ceil((oldest + limit.windowMs - now) / 1000));
      this.noteRetryAfter(info.target, client, 'writes', retryAfter);
      return { retryAfter, information: 'WriteLimitExceeded' };
    }
    times.push(now);
    this.writeTimes.set(client, times);
    return undefined;
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

  /** Remember that `client` was told to wait `seconds` (scope "all" or "writes"). */
  noteRetryAfter(target: Target, client: string, scope: 'all' | 'writes', seconds: number, until?: number): void {
    const key = `${target}|${client}|${scope}`;
    const deadline = until ?? this.clock() + seconds * 1000;
    this.deadlines.set(key, Math.max(this.deadlines.get(key) ?? 0, deadline));
  }

  private checkEarly(entry: LogEntry): void {
    const client = entry.clientId ?? 'anonymous';
    const now = this.clock();
    let early = 0;
    for (const scope of ['all', 'writes'] as const) {
      if (scope === 'writes' && !entry.write) continue;
      const d = this.deadlines.get(`${entry.target}|${client}|${scope}`);
      if (d !== undefined && d - now > EARLY_TOLERANCE_MS) early = Math.max(early, d - now);
    }
    if (early > 0) {
      entry.earlyByMs = Math.round(early);
      this.counters.earlyRetries++;
    }
  }
}
