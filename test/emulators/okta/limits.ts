// Traffic control, in front of every route: the headers Okta puts on every response, per-bucket rate
// limits, the org concurrency ceiling, fault injection, counters and the request log.
//
// Sources (okta.md §2, okta-developer-docs reference/rate-limits, rl2-concurrency, rl2-monitor,
// release-notes/2017 concurrency example, error catalogue):
// - every response carries X-Rate-Limit-Limit, X-Rate-Limit-Remaining, X-Rate-Limit-Reset ("UTC epoch
//   time (in seconds)"), X-Okta-Request-Id and Date;
// - limits are per bucket (endpoint × method); a request matches an exact bucket first, else the longest
//   prefix ("Longest Match", buckets ending in `*`); counters "reset every 60 seconds, though they aren't
//   necessarily synchronized with wall clock minutes" (here: a window opens at the first request);
// - over quota: 429 E0000047 "API call exceeded rate limit due to too many requests." with Remaining 0
//   and Reset in the future; System Log `system.org.rate_limit.violation`;
// - the org allows 75 simultaneous requests; a concurrency 429 reports Limit and Remaining as 0 and a
//   Reset that is "only a suggested value"; System Log `core.concurrency.org.limit.violation`
//   ("Too many requests in flight").
// The default quotas below are emulator defaults, not Okta's published per-bucket numbers.
import type express from 'express';
import type { Clock } from './http.js';
import { OktaError, internalError, rateLimited, replyError, requestId } from './http.js';
import type { SystemLog } from './logs.js';

export interface BucketConfig {
  name: string;
  /** Okta-style path: exact ("/api/v1/users"), prefix ("/api/v1/users/*", "/api/v1/groups*"), or "*". */
  path?: string;
  /** Arbitrary matcher instead of `path` (checked in order, before path buckets). */
  match?: (method: string, path: string) => boolean;
  methods?: string[];
  limit: number;
  windowSeconds?: number;
}

export const DEFAULT_BUCKETS: BucketConfig[] = [
  { name: 'POST /oauth2/v1/token', path: '/oauth2/v1/token', methods: ['POST'], limit: 600 },
  { name: '/api/v1/users', path: '/api/v1/users', limit: 600 },
  { name: '/api/v1/users/*', path: '/api/v1/users/*', limit: 600 },
  { name: '/api/v1/groups*', path: '/api/v1/groups*', limit: 600 },
  { name: '/api/v1/logs', path: '/api/v1/logs', limit: 600 },
  { name: '/api/v1/meta/*', path: '/api/v1/meta/*', limit: 600 },
  { name: '/api/v1/eventHooks*', path: '/api/v1/eventHooks*', limit: 600 },
  { name: '/workload-principals/*', path: '/workload-principals/*', limit: 600 },
  { name: 'default', path: '*', limit: 600 },
];

/**
 * Buckets for the sync benchmark: every non-GET request to the management API shares one quota of
 * `writesPerMinute`; reads keep a generous separate quota.
 */
export function writeLimitedBuckets(writesPerMinute: number, readsPerMinute = 6000): BucketConfig[] {
  return [
    { name: 'writes', match: (method, path) => method !== 'GET' && (path.startsWith('/api/') || path.startsWith('/workload-principals/')), limit: writesPerMinute },
    { name: 'POST /oauth2/v1/token', path: '/oauth2/v1/token', methods: ['POST'], limit: 600 },
    { name: 'reads', path: '*', limit: readsPerMinute },
  ];
}

export type RequestMatcher =
  | { method?: string; path?: string | RegExp }
  | ((req: { method: string; path: string; url: string }) => boolean);

function matches(m: RequestMatcher | undefined, req: { method: string; path: string; url: string }): boolean {
  if (!m) return true;
  if (typeof m === 'function') return m(req);
  if (m.method && m.method.toUpperCase() !== req.method) return false;
  if (m.path instanceof RegExp) return m.path.test(req.path);
  if (typeof m.path === 'string') return m.path.endsWith('*') ? req.path.startsWith(m.path.slice(0, -1)) : req.path === m.path;
  return true;
}

export interface RequestLogEntry {
  seq: number;
  requestId: string;
  at: number;
  method: string;
  path: string;
  url: string;
  bucket: string;
  status?: number;
  durationMs?: number;
  retryCount?: string;
  retryFor?: string;
  authScheme?: string;
  /** Why the emulator refused it before any handler ran. */
  rejected?: 'rate-limit' | 'concurrency' | 'throttle' | 'injected';
  /** Arrived before the X-Rate-Limit-Reset announced by an earlier 429 for the same bucket. */
  early?: boolean;
  /** The handler committed its change, then the emulator cut the connection. */
  dropped?: boolean;
}

export interface Counters {
  requests: number;
  requestsByBucket: Record<string, number>;
  responsesByStatus: Record<string, number>;
  /** Every 429 sent, whatever the cause. */
  tooManyRequests: number;
  rateLimit429: number;
  concurrency429: number;
  injected429: number;
  /** Requests that arrived before the X-Rate-Limit-Reset announced by a 429 of their bucket. */
  earlyAfter429: number;
  earlyAfter429ByBucket: Record<string, number>;
  /** Same, after a concurrency 429, whose Reset is "only a suggested value" (reported separately). */
  earlyAfterConcurrency429: number;
  droppedResponses: number;
  maxInFlight: number;
}

function emptyCounters(): Counters {
  return {
    requests: 0,
    requestsByBucket: {},
    responsesByStatus: {},
    tooManyRequests: 0,
    rateLimit429: 0,
    concurrency429: 0,
    injected429: 0,
    earlyAfter429: 0,
    earlyAfter429ByBucket: {},
    earlyAfterConcurrency429: 0,
    droppedResponses: 0,
    maxInFlight: 0,
  };
}

interface BucketState {
  cfg: BucketConfig;
  windowStart: number;
  windowEnd: number;
  count: number;
  /** ms epoch of the latest Reset announced with a 429 for this bucket. */
  announcedResetMs: number;
  violationLoggedForWindow: number;
}

interface InjectedFault {
  remaining: number;
  status: number;
  match?: RequestMatcher;
  errorCode?: string;
  errorSummary?: string;
  resetSeconds: number;
  duplicateRateLimitHeaders: boolean;
}

export interface TrafficOptions {
  buckets?: BucketConfig[];
  maxConcurrent: number;
  /** Suggested X-Rate-Limit-Reset for concurrency 429s, seconds from now. */
  concurrencyResetSeconds: number;
  /** Artificial processing time per request (lets requests overlap, to exercise the concurrency limit). */
  latencyMs: number | ((req: { method: string; path: string }) => number);
  requestLogLimit: number;
}

export class Traffic {
  private buckets: BucketState[] = [];
  private inFlight = 0;
  private seq = 0;
  private faultsQueue: InjectedFault[] = [];
  private throttleUntil = 0;
  private throttleMatch: RequestMatcher | undefined;
  private drops: Array<{ match: RequestMatcher; remaining: number }> = [];
  private concurrencyAnnouncedResetMs = 0;
  private lastConcurrencyLog = 0;
  readonly counters: Counters = emptyCounters();
  readonly requestLog: RequestLogEntry[] = [];
  opts: TrafficOptions;

  constructor(
    private readonly clock: Clock,
    private readonly log: SystemLog,
    opts: TrafficOptions,
  ) {
    this.opts = opts;
    this.setBuckets(opts.buckets ?? DEFAULT_BUCKETS);
  }

  setBuckets(cfgs: BucketConfig[]): void {
    this.buckets = cfgs.map((cfg) => ({ cfg, windowStart: 0, windowEnd: 0, count: 0, announcedResetMs: 0, violationLoggedForWindow: 0 }));
  }

  /** Change one bucket's quota at run time. */
  setLimit(bucketName: string, limit: number): void {
    const b = this.buckets.find((x) => x.cfg.name === bucketName);
    if (!b) throw new Error(`no bucket ${bucketName}`);
    b.cfg = { ...b.cfg, limit };
  }

  bucketNames(): string[] {
    return this.buckets.map((b) => b.cfg.name);
  }

  get currentInFlight(): number {
    return this.inFlight;
  }

  resetCounters(): void {
    Object.assign(this.counters, emptyCounters());
    this.requestLog.length = 0;
  }

  private bucketFor(method: string, path: string): BucketState | undefined {
    const methodOk = (b: BucketState) => !b.cfg.methods || b.cfg.methods.map((m) => m.toUpperCase()).includes(method);
    for (const b of this.buckets) if (b.cfg.match && methodOk(b) && b.cfg.match(method, path)) return b;
    const exact = this.buckets.find((b) => b.cfg.path === path && methodOk(b));
    if (exact) return exact;
    let best: BucketState | undefined;
    let bestLen = -1;
    for (const b of this.buckets) {
      const p = b.cfg.path;
      if (!p || !p.endsWith('*') || !methodOk(b)) continue;
      const prefix = p.slice(0, -1);
      if (path.startsWith(prefix) && prefix.length > bestLen) {
        best = b;
        bestLen = prefix.length;
      }
    }
    return best;
  }

  // ---- fault injection ----

  failNext(
    count: number,
    status: number,
    opts: {
      match?: RequestMatcher;
      errorCode?: string;
      errorSummary?: string;
      resetSeconds?: number;
      /** Send every X-Rate-Limit-* header twice, as Okta sometimes does (the SDK then refuses to retry, OKTA-112507). */
      duplicateRateLimitHeaders?: boolean;
    } = {},
  ): void {
    this.faultsQueue.push({
      remaining: count,
      status,
      ...(opts.match ? { match: opts.match } : {}),
      ...(opts.errorCode ? { errorCode: opts.errorCode } : {}),
      ...(opts.errorSummary ? { errorSummary: opts.errorSummary } : {}),
      resetSeconds: opts.resetSeconds ?? 1,
      duplicateRateLimitHeaders: opts.duplicateRateLimitHeaders ?? false,
    });
  }

  throttleFor(seconds: number, match?: RequestMatcher): void {
    this.throttleUntil = Math.ceil((this.clock.now() + seconds * 1000) / 1000) * 1000;
    this.throttleMatch = match;
  }

  dropResponseAfterCommit(match: RequestMatcher, count = 1): void {
    this.drops.push({ match, remaining: count });
  }

  clearFaults(): void {
    this.faultsQueue = [];
    this.throttleUntil = 0;
    this.throttleMatch = undefined;
    this.drops = [];
  }

  // ---- the middleware ----

  middleware(): express.RequestHandler {
    return (req, res, next) => {
      const now = this.clock.now();
      const rid = requestId();
      const method = req.method.toUpperCase();
      const path = req.path;
      const reqInfo = { method, path, url: req.originalUrl };
      res.locals['requestId'] = rid;
      res.setHeader('X-Okta-Request-Id', rid);
      res.setHeader('Date', new Date(now).toUTCString());

      this.inFlight += 1;
      this.counters.maxInFlight = Math.max(this.counters.maxInFlight, this.inFlight);
      this.counters.requests += 1;
      const bucket = this.bucketFor(method, path);
      const bucketName = bucket?.cfg.name ?? 'none';
      this.counters.requestsByBucket[bucketName] = (this.counters.requestsByBucket[bucketName] ?? 0) + 1;

      this.seq += 1;
      const entry: RequestLogEntry = {
        seq: this.seq,
        requestId: rid,
        at: now,
        method,
        path,
        url: req.originalUrl,
        bucket: bucketName,
      };
      const rc = req.headers['x-okta-retry-count'];
      const rf = req.headers['x-okta-retry-for'];
      if (typeof rc === 'string') entry.retryCount = rc;
      if (typeof rf === 'string') entry.retryFor = rf;
      const auth = req.headers['authorization'];
      if (typeof auth === 'string') entry.authScheme = auth.split(' ')[0] ?? '';
      this.requestLog.push(entry);
      if (this.requestLog.length > this.opts.requestLogLimit * 1.1) {
        this.requestLog.splice(0, this.requestLog.length - this.opts.requestLogLimit);
      }

      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        this.inFlight -= 1;
        entry.durationMs = this.clock.now() - now;
      };
      res.on('finish', () => {
        entry.status = res.statusCode;
        this.counters.responsesByStatus[String(res.statusCode)] = (this.counters.responsesByStatus[String(res.statusCode)] ?? 0) + 1;
        release();
      });
      res.on('close', release);
      res.on('okta:dropped', () => {
        entry.dropped = true;
        this.counters.droppedResponses += 1;
      });

      // Arrival before an announced reset (the client did not honour X-Rate-Limit-Reset).
      if (bucket && now < bucket.announcedResetMs) {
        entry.early = true;
        this.counters.earlyAfter429 += 1;
        this.counters.earlyAfter429ByBucket[bucketName] = (this.counters.earlyAfter429ByBucket[bucketName] ?? 0) + 1;
      } else if (now < this.concurrencyAnnouncedResetMs) {
        this.counters.earlyAfterConcurrency429 += 1;
      }

      const tooMany = (kind: NonNullable<RequestLogEntry['rejected']>, limit: number, resetMs: number, duplicate = false) => {
        entry.rejected = kind;
        this.counters.tooManyRequests += 1;
        const set = (name: string, value: string) => res.setHeader(name, duplicate ? [value, value] : value);
        set('X-Rate-Limit-Limit', String(limit));
        set('X-Rate-Limit-Remaining', '0');
        set('X-Rate-Limit-Reset', String(Math.ceil(resetMs / 1000)));
        replyError(res, rateLimited());
      };

      // 1. Throttle window (every matching request is refused until it ends).
      if (now < this.throttleUntil && matches(this.throttleMatch, reqInfo)) {
        if (bucket) bucket.announcedResetMs = Math.max(bucket.announcedResetMs, this.throttleUntil);
        this.counters.injected429 += 1;
        tooMany('throttle', bucket?.cfg.limit ?? 0, this.throttleUntil);
        return;
      }

      // 2. Concurrency ceiling.
      if (this.inFlight > this.opts.maxConcurrent) {
        const resetMs = now + this.opts.concurrencyResetSeconds * 1000;
        this.concurrencyAnnouncedResetMs = Math.max(this.concurrencyAnnouncedResetMs, Math.ceil(resetMs / 1000) * 1000);
        this.counters.concurrency429 += 1;
        if (now - this.lastConcurrencyLog >= 1000) {
          this.lastConcurrencyLog = now;
          this.log.emit({
            eventType: 'core.concurrency.org.limit.violation',
            actor: { id: 'system', type: 'SystemPrincipal', alternateId: 'system@okta.com', displayName: 'Okta System', detailEntry: null },
            target: null,
            outcome: null,
            requestId: rid,
            requestUri: path,
          });
        }
        tooMany('concurrency', 0, resetMs);
        return;
      }

      // 3. Injected faults.
      const fault = this.faultsQueue.find((f) => f.remaining > 0 && matches(f.match, reqInfo));
      if (fault) {
        fault.remaining -= 1;
        if (fault.remaining === 0) this.faultsQueue = this.faultsQueue.filter((f) => f !== fault);
        entry.rejected = 'injected';
        if (fault.status === 429) {
          const resetMs = Math.ceil((now + fault.resetSeconds * 1000) / 1000) * 1000;
          if (bucket) bucket.announcedResetMs = Math.max(bucket.announcedResetMs, resetMs);
          this.counters.injected429 += 1;
          tooMany('injected', bucket?.cfg.limit ?? 0, resetMs, fault.duplicateRateLimitHeaders);
          return;
        }
        this.setQuotaHeaders(res, bucket, now);
        if (fault.status === 502 || fault.status === 504) {
          // Gateways answer with HTML, which the SDK surfaces as HttpError rather than OktaApiError.
          res.status(fault.status).setHeader('Content-Type', 'text/html');
          res.end(`<html><body><h1>${fault.status} ${fault.status === 502 ? 'Bad Gateway' : 'Gateway Timeout'}</h1></body></html>`);
          return;
        }
        const err =
          fault.errorCode || fault.errorSummary
            ? new OktaError(fault.status, fault.errorCode ?? 'E0000009', fault.errorSummary ?? 'Internal Server Error')
            : fault.status === 503
              ? new OktaError(503, 'E0000010', 'Service is in read only mode')
              : fault.status >= 500
                ? internalError()
                : new OktaError(fault.status, 'E0000001', 'Api validation failed: injected fault');
        replyError(res, err);
        return;
      }

      // 4. Bucket quota.
      if (bucket) {
        if (now >= bucket.windowEnd) {
          bucket.windowStart = now;
          bucket.windowEnd = Math.ceil((now + (bucket.cfg.windowSeconds ?? 60) * 1000) / 1000) * 1000;
          bucket.count = 0;
        }
        if (bucket.count >= bucket.cfg.limit) {
          bucket.announcedResetMs = Math.max(bucket.announcedResetMs, bucket.windowEnd);
          this.counters.rateLimit429 += 1;
          if (bucket.violationLoggedForWindow !== bucket.windowStart) {
            bucket.violationLoggedForWindow = bucket.windowStart;
            this.log.emit({
              eventType: 'system.org.rate_limit.violation',
              actor: { id: 'system', type: 'SystemPrincipal', alternateId: 'system@okta.com', displayName: 'Okta System', detailEntry: null },
              target: null,
              outcome: null,
              requestId: rid,
              requestUri: path,
              debugData: { threshold: bucket.cfg.limit, timeSpan: bucket.cfg.windowSeconds ?? 60, timeUnit: 'SECONDS', bucket: bucketName },
            });
          }
          tooMany('rate-limit', bucket.cfg.limit, bucket.windowEnd);
          return;
        }
        bucket.count += 1;
      }
      this.setQuotaHeaders(res, bucket, now);

      // 5. Commit-then-drop.
      const drop = this.drops.find((d) => d.remaining > 0 && matches(d.match, reqInfo));
      if (drop) {
        drop.remaining -= 1;
        if (drop.remaining === 0) this.drops = this.drops.filter((d) => d !== drop);
        res.locals['dropResponse'] = true;
      }

      const latency = typeof this.opts.latencyMs === 'function' ? this.opts.latencyMs(reqInfo) : this.opts.latencyMs;
      if (latency > 0) setTimeout(next, latency);
      else next();
    };
  }

  private setQuotaHeaders(res: express.Response, bucket: BucketState | undefined, now: number): void {
    const limit = bucket?.cfg.limit ?? 0;
    const remaining = bucket ? Math.max(0, bucket.cfg.limit - bucket.count) : 0;
    const resetMs = bucket && bucket.windowEnd > now ? bucket.windowEnd : Math.ceil((now + 60_000) / 1000) * 1000;
    res.setHeader('X-Rate-Limit-Limit', String(limit));
    res.setHeader('X-Rate-Limit-Remaining', String(remaining));
    res.setHeader('X-Rate-Limit-Reset', String(Math.ceil(resetMs / 1000)));
  }
}
