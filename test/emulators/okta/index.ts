// Okta emulator: a local HTTP server that reproduces the documented Okta management API closely enough
// that the real @okta/okta-sdk-nodejs talks to it exactly as in production (plain http works: the SDK has
// no https or domain check, okta.md §3.3).
//
//   const okta = await startOktaEmulator();
//   const client = new Client({ orgUrl: okta.orgUrl, token: okta.apiToken, cacheMiddleware: null,
//     requestExecutor: new DefaultRequestExecutor({ maxRetries: 4 }) });
//   ...
//   await okta.close();
//
// Modules: http.ts (ids, clock, errors), query.ts (expressions, lagged search index, Link paging),
// state.ts (the org), users.ts, lifecycle.ts, user-types.ts, groups.ts, logs.ts, event-hooks.ts,
// ai-agents.ts, auth.ts, limits.ts (headers, rate limits, concurrency, faults, counters).
import express from 'express';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { aiAgentRoutes, AiAgents, type AiAgentOptions } from './ai-agents.js';
import { Auth, type OAuthClientConfig, type Principal } from './auth.js';
import { eventHookRoutes, EventHooks, type EventHookOptions } from './event-hooks.js';
import { groupRoutes, Groups } from './groups.js';
import {
  Clock,
  OktaError,
  internalError,
  malformedBody,
  mediaTypeMismatch,
  methodNotAllowed,
  notFound,
  randomAlnum,
  replyError,
} from './http.js';
import { Lifecycle, lifecycleRoutes } from './lifecycle.js';
import { Traffic, type BucketConfig, type Counters, type RequestLogEntry, type RequestMatcher } from './limits.js';
import { logRoutes, type EmitInput, type LogActor, type LogEvent } from './logs.js';
import { OktaState, type GroupRecord, type OpContext, type UserRecord, type UserStatus, type UserTypeRecord } from './state.js';
import { userTypeRoutes, UserTypes } from './user-types.js';
import { userRoutes, Users } from './users.js';

export type { BucketConfig, Counters, RequestLogEntry, RequestMatcher } from './limits.js';
export type { LogActor, LogEvent, LogTarget, EmitInput } from './logs.js';
export type { OAuthClientConfig } from './auth.js';
export type { DeliveryAttempt, DeliveryMode, EventHookOptions, HookRecord } from './event-hooks.js';
export type { AiAgentRecord, OperationRecord } from './ai-agents.js';
export type { GroupRecord, UserRecord, UserStatus, UserTypeRecord, SchemaProperty } from './state.js';
export { DEFAULT_BUCKETS, writeLimitedBuckets } from './limits.js';

export interface OktaEmulatorOptions {
  /** Port on 127.0.0.1 (default: any free port). */
  port?: number;
  /** SSWS API token accepted by the org (default: random, Okta-shaped). */
  apiToken?: string;
  /** How long `search=` lags behind writes (default 1500 ms; Okta: "eventually consistent"). */
  searchLagMs?: number;
  /** How long a System Log event takes to become readable (default 0). */
  logLagMs?: number;
  /** Skew of the emulator's clock (Date, X-Rate-Limit-Reset, timestamps) against the host clock. */
  clockOffsetMs?: number;
  /** Rate-limit buckets (default: DEFAULT_BUCKETS, 600 requests/minute each). */
  buckets?: BucketConfig[];
  /** Org concurrency ceiling (Okta default 75). */
  maxConcurrentRequests?: number;
  /** Suggested X-Rate-Limit-Reset, in seconds, on a concurrency 429 (default 1). */
  concurrencyResetSeconds?: number;
  /** Artificial processing time per request (default 0). */
  latencyMs?: number | ((req: { method: string; path: string }) => number);
  /** Entries kept in the request log (default 100 000). */
  requestLogLimit?: number;
  eventHooks?: EventHookOptions;
  aiAgents?: Partial<AiAgentOptions>;
  /** Completion delay of `Prefer: respond-async` deactivations (default 250 ms). */
  asyncLifecycleMs?: number;
  /** Lifetime of OAuth access tokens (default 3600 s, Okta's fixed value). */
  accessTokenTtlSeconds?: number;
}

export interface OktaFaults {
  /** The next `count` matching requests fail with `status` (429 → E0000047 with Reset; 5xx → E0000009/E0000010; 502/504 → HTML). */
  failNext(
    count: number,
    status: number,
    opts?: { match?: RequestMatcher; errorCode?: string; errorSummary?: string; resetSeconds?: number; duplicateRateLimitHeaders?: boolean },
  ): void;
  /** Every matching request gets 429 until `seconds` from now (Reset = end of the throttle). */
  throttleFor(seconds: number, match?: RequestMatcher): void;
  /** The next `count` matching requests are executed (state committed), then the socket is destroyed. */
  dropResponseAfterCommit(match: RequestMatcher, count?: number): void;
  /** Artificial per-request latency from now on. */
  setLatency(ms: number | ((req: { method: string; path: string }) => number)): void;
  setMaxConcurrent(n: number): void;
  clear(): void;
}

/** Out-of-band changes, as an admin or an IGA campaign would make them in Okta (same events as the API). */
export interface OktaAdmin {
  createUser(body: Record<string, unknown>, opts?: { activate?: boolean; provider?: boolean }): UserRecord;
  getUser(idOrLogin: string): UserRecord | undefined;
  updateProfile(idOrLogin: string, profile: Record<string, unknown>, actor?: Partial<LogActor>): UserRecord;
  activate(idOrLogin: string, actor?: Partial<LogActor>): void;
  suspend(idOrLogin: string, actor?: Partial<LogActor>): void;
  unsuspend(idOrLogin: string, actor?: Partial<LogActor>): void;
  deactivate(idOrLogin: string, actor?: Partial<LogActor>): void;
  deleteUser(idOrLogin: string, actor?: Partial<LogActor>): void;
  /** Put a user into any status without an event (e.g. LOCKED_OUT, RECOVERY). */
  forceStatus(idOrLogin: string, status: UserStatus): void;
  createGroup(name: string, description?: string): GroupRecord;
  addMember(groupId: string, userIdOrLogin: string, actor?: Partial<LogActor>): void;
  removeMember(groupId: string, userIdOrLogin: string, actor?: Partial<LogActor>): void;
  groupsOf(userIdOrLogin: string): GroupRecord[];
  createUserType(name: string, displayName: string, description?: string): UserTypeRecord;
  /** Partial schema update of a type's custom properties (null removes). */
  updateSchema(typeIdOrSchemaId: string, properties: Record<string, unknown>): UserTypeRecord;
  /** Append any System Log event (e.g. `certification.campaign.item.decide`); hooks deliver it too. */
  emitEvent(input: Omit<EmitInput, 'actor'> & { actor?: Partial<LogActor> }): LogEvent;
  flushSearchIndex(): void;
  setSearchLag(ms: number): void;
}

export interface OktaEmulator {
  orgUrl: string;
  apiToken: string;
  state: OktaState;
  faults: OktaFaults;
  counters: Counters;
  requestLog: RequestLogEntry[];
  admin: OktaAdmin;
  oauth: {
    /** Register a service app for private_key_jwt; returns its client id. */
    registerClient(cfg: OAuthClientConfig): string;
    revokeAllAccessTokens(): void;
    setAccessTokenTtl(seconds: number): void;
    readonly tokenRequests: number;
  };
  limits: Traffic;
  eventHooks: EventHooks;
  aiAgents: AiAgents;
  clock: Clock;
  /** Zero the counters and the request log. */
  resetCounters(): void;
  close(): Promise<void>;
}

// Paths the emulator serves, for 405 (known path, wrong method) versus 404.
const KNOWN_PATHS = [
  /^\/oauth2\/v1\/token$/,
  /^\/api\/v1\/users(\/[^/]+(\/groups|\/lifecycle\/[a-z_]+)?)?$/,
  /^\/api\/v1\/groups(\/[^/]+(\/users(\/[^/]+)?)?)?$/,
  /^\/api\/v1\/meta\/types\/user(\/[^/]+)?$/,
  /^\/api\/v1\/meta\/schemas\/user\/[^/]+$/,
  /^\/api\/v1\/logs$/,
  /^\/api\/v1\/eventHooks(\/[^/]+(\/lifecycle\/[a-z]+)?)?$/,
  /^\/workload-principals\/api\/v1\/(ai-agents(\/[^/]+(\/lifecycle\/[a-z]+)?)?|operations(\/[^/]+)?)$/,
];

export async function startOktaEmulator(opts: OktaEmulatorOptions = {}): Promise<OktaEmulator> {
  const clock = new Clock(opts.clockOffsetMs ?? 0);
  let orgUrl = 'http://127.0.0.1:0';
  const org = () => orgUrl;
  const state = new OktaState({ clock, searchLagMs: opts.searchLagMs ?? 1500, logLagMs: opts.logLagMs ?? 0, orgUrl: org });
  const apiToken = opts.apiToken ?? `00${randomAlnum(40)}`;
  const auth = new Auth(clock, org, () => state.adminActor());
  auth.apiTokens.add(apiToken);
  if (opts.accessTokenTtlSeconds !== undefined) auth.accessTokenTtlSeconds = opts.accessTokenTtlSeconds;

  const traffic = new Traffic(clock, state.log, {
    ...(opts.buckets ? { buckets: opts.buckets } : {}),
    maxConcurrent: opts.maxConcurrentRequests ?? 75,
    concurrencyResetSeconds: opts.concurrencyResetSeconds ?? 1,
    latencyMs: opts.latencyMs ?? 0,
    requestLogLimit: opts.requestLogLimit ?? 100_000,
  });
  const types = new UserTypes(state);
  const users = new Users(state, types);
  const lifecycle = new Lifecycle(state, users);
  if (opts.asyncLifecycleMs !== undefined) lifecycle.asyncMs = opts.asyncLifecycleMs;
  const groups = new Groups(state, users);
  const hooks = new EventHooks(clock, state.log, org, opts.eventHooks ?? {});
  const agents = new AiAgents(clock, state.log, org, {
    enabled: opts.aiAgents?.enabled ?? true,
    operationStepMs: opts.aiAgents?.operationStepMs ?? 50,
  });

  const opContext = (req: express.Request, res: express.Response): OpContext => {
    const p = res.locals['principal'] as Principal | undefined;
    const ua = req.headers['user-agent'];
    return {
      actor: p?.actor ?? state.adminActor(),
      requestId: String(res.locals['requestId'] ?? ''),
      requestUri: req.path,
      ...(req.socket.remoteAddress ? { ip: req.socket.remoteAddress } : {}),
      ...(typeof ua === 'string' ? { userAgent: ua } : {}),
    };
  };
  const actorId = (res: express.Response) => ((res.locals['principal'] as Principal | undefined)?.actor.id ?? state.adminUser.id);

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(traffic.middleware());
  app.use(express.json({ type: ['application/json', 'application/*+json', 'application/merge-patch+json'], limit: '1mb' }));
  app.use(express.urlencoded({ extended: false }));
  app.use((req, _res, next) => {
    const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
    const ct = String(req.headers['content-type'] ?? '');
    const json = /json/i.test(ct);
    const form = /x-www-form-urlencoded/i.test(ct) && req.path === '/oauth2/v1/token';
    if (['POST', 'PUT', 'PATCH'].includes(req.method) && hasBody && !json && !form) throw mediaTypeMismatch();
    next();
  });
  app.post('/oauth2/v1/token', auth.tokenRoute());
  app.use(['/api', '/workload-principals'], auth.authenticate());

  const userScopes = auth.scopes('okta.users.read', 'okta.users.manage');
  app.use(userRoutes({ state, users, opContext, scopes: userScopes }));
  app.use(lifecycleRoutes({ lifecycle, opContext, manage: userScopes.manage }));
  app.use(groupRoutes({ state, groups, users, opContext, groupScopes: auth.scopes('okta.groups.read', 'okta.groups.manage'), userScopes }));
  app.use(userTypeRoutes({ types, actorId, scopes: (r, m) => auth.scopes(r, m) }));
  app.use(logRoutes({ log: state.log, clock, orgUrl: org, scope: auth.require('okta.logs.read') }));
  app.use(eventHookRoutes({ hooks, opContext, scopes: auth.scopes('okta.eventHooks.read', 'okta.eventHooks.manage') }));
  app.use(aiAgentRoutes({ agents, opContext, scopes: auth.scopes('okta.aiAgents.read', 'okta.aiAgents.manage') }));

  app.use((req, res) => {
    if (KNOWN_PATHS.some((re) => re.test(req.path))) replyError(res, methodNotAllowed());
    else replyError(res, notFound(req.path, 'Resource'));
  });
  app.use((err: unknown, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    void _next;
    if (err instanceof OktaError) {
      replyError(res, err);
      return;
    }
    const e = err as { type?: string; status?: number };
    if (e && e.type === 'entity.parse.failed') {
      replyError(res, malformedBody());
      return;
    }
    res.locals['internalError'] = err;
    replyError(res, internalError());
  });

  const server = http.createServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  orgUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const ctxFor = (actor?: Partial<LogActor>) => state.systemContext(actor);
  const admin: OktaAdmin = {
    createUser: (body, o = {}) => users.create(body, { activate: o.activate ?? true, provider: o.provider ?? false }, ctxFor()),
    getUser: (idOrLogin) => users.find(idOrLogin),
    updateProfile: (idOrLogin, profile, actor) => users.update(idOrLogin, { profile }, false, ctxFor(actor)),
    activate: (idOrLogin, actor) => void lifecycle.activate(idOrLogin, true, ctxFor(actor)),
    suspend: (idOrLogin, actor) => lifecycle.suspend(idOrLogin, ctxFor(actor)),
    unsuspend: (idOrLogin, actor) => lifecycle.unsuspend(idOrLogin, ctxFor(actor)),
    deactivate: (idOrLogin, actor) => lifecycle.deactivate(idOrLogin, ctxFor(actor)),
    deleteUser: (idOrLogin, actor) => void lifecycle.delete(idOrLogin, ctxFor(actor)),
    forceStatus: (idOrLogin, status) => lifecycle.forceStatus(idOrLogin, status),
    createGroup: (name, description) => groups.create({ profile: { name, ...(description ? { description } : {}) } }, ctxFor()),
    addMember: (gid, uid, actor) => groups.addMember(gid, uid, ctxFor(actor)),
    removeMember: (gid, uid, actor) => groups.removeMember(gid, uid, ctxFor(actor)),
    groupsOf: (uid) => groups.groupsOf(uid),
    createUserType: (name, displayName, description) =>
      types.create({ name, displayName, ...(description ? { description } : {}) }, state.adminUser.id),
    updateSchema: (id, properties) => {
      const t = state.types.get(id) ?? types.bySchemaId(id);
      return types.updateSchema(t.schemaId, { definitions: { custom: { properties } } });
    },
    emitEvent: (input) => state.log.emit({ ...input, actor: { ...state.adminActor(), ...input.actor } }),
    flushSearchIndex: () => state.flushSearchIndex(),
    setSearchLag: (ms) => {
      state.searchLagMs = ms;
    },
  };

  const faults: OktaFaults = {
    failNext: (count, status, o) => traffic.failNext(count, status, o),
    throttleFor: (seconds, match) => traffic.throttleFor(seconds, match),
    dropResponseAfterCommit: (match, count) => traffic.dropResponseAfterCommit(match, count),
    setLatency: (ms) => {
      traffic.opts.latencyMs = ms;
    },
    setMaxConcurrent: (n) => {
      traffic.opts.maxConcurrent = n;
    },
    clear: () => traffic.clearFaults(),
  };

  return {
    orgUrl,
    apiToken,
    state,
    faults,
    counters: traffic.counters,
    requestLog: traffic.requestLog,
    admin,
    oauth: {
      registerClient: (cfg) => auth.registerClient(cfg),
      revokeAllAccessTokens: () => auth.revokeAllAccessTokens(),
      setAccessTokenTtl: (s) => {
        auth.accessTokenTtlSeconds = s;
      },
      get tokenRequests() {
        return auth.tokenRequests;
      },
    },
    limits: traffic,
    eventHooks: hooks,
    aiAgents: agents,
    clock,
    resetCounters: () => traffic.resetCounters(),
    close: async () => {
      hooks.close();
      agents.close();
      lifecycle.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
