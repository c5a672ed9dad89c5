// Event hooks: /api/v1/eventHooks (CRUD, lifecycle/activate|deactivate|verify) and delivery of System Log
// events to the registered endpoint.
//
// Sources: okta-developer-docs concepts/event-hooks (one-time GET with `x-okta-verification-challenge`,
// answer `{"verification": value}`; deliveries are POSTs with Accept/Content-Type application/json and the
// configured authorization header, body {eventType:"com.okta.event_hook", eventTypeVersion:"1.0",
// cloudEventsVersion:"0.1", source:"{org}/api/v1/eventHooks/{id}", eventId, eventTime,
// contentType:"application/json", data:{events:[LogEvent…]}}; "Events that occur within a short time of
// each other are amalgamated in the array"; "delivered at least once … may arrive out of order";
// 3-second timeout, at most one retry, 5xx retried and 4xx not; failures logged as
// `event_hook.delivery`); management.yaml (create → 200 ACTIVE + UNVERIFIED; "Your external service must
// use a valid HTTPS endpoint"; the auth value is write-only; only ACTIVE and VERIFIED hooks receive
// events; verify times out after 3 s with one retry, then 400; delete only INACTIVE hooks, 204);
// recorded responses (terraform-provider-okta fixtures TestAccResourceOktaEventHookVerification: ids
// `who…`, `filter: null`, `headers: []`, `method: "POST"`, `_links.verify/deactivate` with hints).
import express from 'express';
import http from 'node:http';
import https from 'node:https';
import {
  OktaError,
  bodyObject,
  isRecord,
  notFound,
  oktaId,
  param,
  randomAlnum,
  reply,
  route,
  uuid,
  validationError,
  type Clock,
} from './http.js';
import type { LogActor, LogEvent, SystemLog } from './logs.js';
import type { OpContext } from './state.js';

/** Event types the catalogue tags `event-hook-eligible` that matter to agentroster (subset). */
export const HOOK_ELIGIBLE = new Set([
  'user.lifecycle.create',
  'user.lifecycle.activate',
  'user.lifecycle.deactivate',
  'user.lifecycle.suspend',
  'user.lifecycle.unsuspend',
  'user.lifecycle.reactivate',
  'user.lifecycle.delete.initiated',
  'user.account.update_profile',
  'group.lifecycle.create',
  'group.lifecycle.delete',
  'group.profile.update',
  'group.user_membership.add',
  'group.user_membership.remove',
  'application.user_membership.add',
  'application.user_membership.remove',
  'application.provision.user.remove_entitlements',
  'resource.user_entitlements.update',
  'certification.campaign.item.decide',
  'certification.campaign.item.remediate',
  'workload_principal.ai_agent.register',
  'workload_principal.ai_agent.update',
  'workload_principal.ai_agent.activate',
  'workload_principal.ai_agent.deactivate',
  'workload_principal.ai_agent.delete',
]);

export interface HookRecord {
  id: string;
  name: string;
  description: string | null;
  status: 'ACTIVE' | 'INACTIVE';
  verificationStatus: 'UNVERIFIED' | 'VERIFIED';
  created: string;
  createdBy: string;
  lastUpdated: string;
  items: string[];
  uri: string;
  headers: Array<{ key: string; value: string }>;
  authScheme: { type: string; key: string; value: string } | null;
}

export interface DeliveryAttempt {
  hookId: string;
  eventId: string;
  attempt: number;
  at: number;
  eventUuids: string[];
  status?: number;
  error?: string;
}

export interface DeliveryMode {
  /** Send every delivery twice (same eventId, same events). */
  duplicate?: boolean;
  /** Split each batch into one delivery per event and send them newest first. */
  outOfOrder?: boolean;
}

interface HttpResult {
  status: number;
  body: string;
}

function httpRequest(
  url: string,
  opts: { method: string; headers: Record<string, string>; body?: string; timeoutMs: number; ca?: string | Buffer },
): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const lib = u.protocol === 'https:' ? https : http;
    const req = lib.request(
      u,
      {
        method: opts.method,
        headers: { ...opts.headers, ...(opts.body !== undefined ? { 'Content-Length': Buffer.byteLength(opts.body) } : {}) },
        ...(u.protocol === 'https:' && opts.ca ? { ca: opts.ca } : {}),
        timeout: opts.timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

export interface EventHookOptions {
  /** PEM of a CA to trust for https hook endpoints (e.g. a test receiver's self-signed certificate). */
  trustedCa?: string | Buffer;
  /** Accept http:// hook URIs. Okta requires HTTPS; turning this on is a deliberate leniency. */
  allowHttp?: boolean;
  /** Window in which events are amalgamated into one delivery. */
  batchMs?: number;
  timeoutMs?: number;
}

export class EventHooks {
  readonly hooks = new Map<string, HookRecord>();
  readonly deliveries: DeliveryAttempt[] = [];
  mode: DeliveryMode = {};
  private paused = false;
  private readonly queues = new Map<string, LogEvent[]>();
  private flushTimer: NodeJS.Timeout | undefined;
  private inFlight = 0;
  private idleWaiters: Array<() => void> = [];
  private closed = false;

  constructor(
    private readonly clock: Clock,
    private readonly log: SystemLog,
    private readonly orgUrl: () => string,
    readonly opts: EventHookOptions,
  ) {
    log.onEvent((e) => this.onEvent(e));
  }

  get(id: string): HookRecord {
    const h = this.hooks.get(id);
    if (!h) throw notFound(id, 'EventHook');
    return h;
  }

  private parse(body: Record<string, unknown>, existing?: HookRecord): Omit<HookRecord, 'id' | 'created' | 'createdBy' | 'lastUpdated' | 'status' | 'verificationStatus'> {
    const name = body['name'];
    if (typeof name !== 'string' || name === '') throw validationError('name', ['name: The field cannot be left blank']);
    const events = body['events'];
    if (!isRecord(events) || events['type'] !== 'EVENT_TYPE' || !Array.isArray(events['items']) || events['items'].length === 0) {
      throw validationError('events', ['events: The field cannot be left blank']);
    }
    const items = events['items'].map(String);
    const ineligible = items.filter((i) => !HOOK_ELIGIBLE.has(i));
    if (ineligible.length) {
      // [unverified wording]
      throw validationError('events', ineligible.map((i) => `events.items: ${i} is not an eligible event type for event hooks`));
    }
    const channel = body['channel'];
    const config = isRecord(channel) ? channel['config'] : undefined;
    if (!isRecord(channel) || channel['type'] !== 'HTTP' || channel['version'] !== '1.0.0' || !isRecord(config)) {
      throw validationError('channel', ['channel: type must be HTTP and version 1.0.0']);
    }
    const uri = config['uri'];
    if (typeof uri !== 'string' || uri === '') throw validationError('channel', ['channel.config.uri: The field cannot be left blank']);
    let parsed: URL;
    try {
      parsed = new URL(uri);
    } catch {
      throw validationError('channel', ['channel.config.uri: Invalid URI']);
    }
    if (parsed.protocol !== 'https:' && !(this.opts.allowHttp && parsed.protocol === 'http:')) {
      // "Your external service must use a valid HTTPS endpoint." [unverified wording]
      throw validationError('channel', ['channel.config.uri: The URI must use HTTPS']);
    }
    const headers = Array.isArray(config['headers'])
      ? config['headers'].filter(isRecord).map((h) => ({ key: String(h['key']), value: String(h['value']) }))
      : [];
    const auth = config['authScheme'];
    let authScheme: HookRecord['authScheme'] = null;
    if (isRecord(auth)) {
      const value = typeof auth['value'] === 'string' ? auth['value'] : existing?.authScheme?.value;
      if (auth['type'] !== 'HEADER' || typeof auth['key'] !== 'string' || value === undefined) {
        throw validationError('channel', ['channel.config.authScheme: type HEADER, key and value are required']);
      }
      authScheme = { type: 'HEADER', key: auth['key'], value };
    }
    return {
      name,
      description: typeof body['description'] === 'string' ? body['description'] : null,
      items,
      uri,
      headers,
      authScheme,
    };
  }

  create(body: Record<string, unknown>, ctx: OpContext): HookRecord {
    const now = this.clock.iso();
    const h: HookRecord = {
      id: oktaId('who'),
      ...this.parse(body),
      status: 'ACTIVE',
      verificationStatus: 'UNVERIFIED',
      created: now,
      createdBy: ctx.actor.id,
      lastUpdated: now,
    };
    this.hooks.set(h.id, h);
    this.emitAdmin('event_hook.created', h, ctx);
    return h;
  }

  replace(id: string, body: Record<string, unknown>, ctx: OpContext): HookRecord {
    const h = this.get(id);
    const next = this.parse(body, h);
    const uriChanged = next.uri !== h.uri;
    Object.assign(h, next, { lastUpdated: this.clock.iso() });
    if (uriChanged) h.verificationStatus = 'UNVERIFIED';
    this.emitAdmin('event_hook.updated', h, ctx);
    return h;
  }

  setStatus(id: string, status: 'ACTIVE' | 'INACTIVE', ctx: OpContext): HookRecord {
    const h = this.get(id);
    h.status = status;
    h.lastUpdated = this.clock.iso();
    this.emitAdmin(status === 'ACTIVE' ? 'event_hook.activated' : 'event_hook.deactivated', h, ctx);
    return h;
  }

  delete(id: string, ctx: OpContext): void {
    const h = this.get(id);
    if (h.status !== 'INACTIVE') {
      throw validationError('eventHook', ['You can only delete event hooks with a status of INACTIVE']);
    }
    this.hooks.delete(id);
    this.emitAdmin('event_hook.deleted', h, ctx);
  }

  private baseHeaders(h: HookRecord): Record<string, string> {
    const headers: Record<string, string> = { Accept: 'application/json', 'Content-Type': 'application/json' };
    for (const x of h.headers) headers[x.key] = x.value;
    if (h.authScheme) headers[h.authScheme.key] = h.authScheme.value;
    return headers;
  }

  /** POST …/lifecycle/verify: the one-time GET challenge; one retry after a timeout or error response. */
  async verify(id: string, ctx: OpContext): Promise<HookRecord> {
    const h = this.get(id);
    const challenge = randomAlnum(32);
    let ok = false;
    let lastError = '';
    for (let attempt = 1; attempt <= 2 && !ok; attempt++) {
      try {
        const r = await httpRequest(h.uri, {
          method: 'GET',
          headers: { ...this.baseHeaders(h), 'x-okta-verification-challenge': challenge },
          timeoutMs: this.opts.timeoutMs ?? 3000,
          ...(this.opts.trustedCa ? { ca: this.opts.trustedCa } : {}),
        });
        let parsed: unknown;
        try {
          parsed = JSON.parse(r.body);
        } catch {
          parsed = undefined;
        }
        if (r.status === 200 && isRecord(parsed) && parsed['verification'] === challenge) ok = true;
        else lastError = `status ${r.status}, body ${r.body.slice(0, 200)}`;
      } catch (e) {
        lastError = e instanceof Error ? e.message : String(e);
      }
    }
    this.log.emit({
      eventType: 'event_hook.verified',
      actor: ctx.actor,
      target: [this.target(h)],
      outcome: { result: ok ? 'SUCCESS' : 'FAILURE', reason: ok ? null : lastError },
      ...(ctx.requestId ? { requestId: ctx.requestId } : {}),
    });
    if (!ok) {
      // [unverified wording] Documented: "this operation returns a 400 error with more information".
      throw new OktaError(400, 'E0000001', 'Api validation failed: eventHook', [
        { errorSummary: `Event hook verification failed: ${lastError}` },
      ]);
    }
    h.verificationStatus = 'VERIFIED';
    h.lastUpdated = this.clock.iso();
    return h;
  }

  // ---- delivery ----

  private onEvent(e: LogEvent): void {
    if (this.closed) return;
    for (const h of this.hooks.values()) {
      if (h.status !== 'ACTIVE' || h.verificationStatus !== 'VERIFIED' || !h.items.includes(e.eventType)) continue;
      const q = this.queues.get(h.id) ?? [];
      q.push(e);
      this.queues.set(h.id, q);
    }
    if (this.queues.size && !this.flushTimer && !this.paused) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = undefined;
        this.flush();
      }, this.opts.batchMs ?? 50);
    }
  }

  /** Hold deliveries (events keep queueing) until `resume()`. */
  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    this.flush();
  }

  /** Resolves when nothing is queued or being delivered. */
  idle(): Promise<void> {
    if (this.queues.size === 0 && this.inFlight === 0 && !this.flushTimer) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private checkIdle(): void {
    if (this.queues.size === 0 && this.inFlight === 0 && !this.flushTimer) {
      const w = this.idleWaiters;
      this.idleWaiters = [];
      for (const fn of w) fn();
    }
  }

  private flush(): void {
    if (this.paused || this.closed) return;
    const work = [...this.queues.entries()];
    this.queues.clear();
    for (const [hookId, events] of work) {
      const h = this.hooks.get(hookId);
      if (!h) continue;
      let batches: LogEvent[][] = [events];
      if (this.mode.outOfOrder) batches = events.map((e) => [e]).reverse();
      const sends: Array<{ eventId: string; events: LogEvent[] }> = [];
      for (const b of batches) {
        const eventId = uuid();
        sends.push({ eventId, events: b });
        if (this.mode.duplicate) sends.push({ eventId, events: b });
      }
      // Deliver sequentially per hook so the chosen order is the order of arrival.
      this.inFlight += 1;
      void (async () => {
        for (const s of sends) await this.deliver(h, s.eventId, s.events);
      })().finally(() => {
        this.inFlight -= 1;
        this.checkIdle();
      });
    }
    this.checkIdle();
  }

  private async deliver(h: HookRecord, eventId: string, events: LogEvent[]): Promise<void> {
    const envelope = {
      eventType: 'com.okta.event_hook',
      eventTypeVersion: '1.0',
      cloudEventsVersion: '0.1',
      source: `${this.orgUrl()}/api/v1/eventHooks/${h.id}`,
      eventId,
      data: { events },
      eventTime: this.clock.iso(),
      contentType: 'application/json',
    };
    const body = JSON.stringify(envelope);
    for (let attempt = 1; attempt <= 2; attempt++) {
      const rec: DeliveryAttempt = { hookId: h.id, eventId, attempt, at: this.clock.now(), eventUuids: events.map((e) => e.uuid) };
      this.deliveries.push(rec);
      let retry = false;
      try {
        const r = await httpRequest(h.uri, {
          method: 'POST',
          headers: this.baseHeaders(h),
          body,
          timeoutMs: this.opts.timeoutMs ?? 3000,
          ...(this.opts.trustedCa ? { ca: this.opts.trustedCa } : {}),
        });
        rec.status = r.status;
        if (r.status >= 200 && r.status < 300) return;
        retry = r.status >= 500;
      } catch (e) {
        rec.error = e instanceof Error ? e.message : String(e);
        retry = true;
      }
      if (!retry || attempt === 2 || this.closed) {
        this.log.emit({
          eventType: 'event_hook.delivery',
          actor: { id: 'system', type: 'SystemPrincipal', alternateId: 'system@okta.com', displayName: 'Okta System', detailEntry: null },
          target: [this.target(h)],
          outcome: { result: 'FAILURE', reason: rec.error ?? `status ${rec.status}` },
          severity: 'WARN',
        });
        return;
      }
    }
  }

  private target(h: HookRecord) {
    return { id: h.id, type: 'EventHook', alternateId: h.uri, displayName: h.name, detailEntry: null };
  }

  private emitAdmin(eventType: string, h: HookRecord, ctx: OpContext): void {
    this.log.emit({ eventType, actor: ctx.actor as LogActor, target: [this.target(h)], ...(ctx.requestId ? { requestId: ctx.requestId } : {}) });
  }

  render(h: HookRecord): Record<string, unknown> {
    const self = `${this.orgUrl()}/api/v1/eventHooks/${h.id}`;
    const links: Record<string, unknown> = { self: { href: self } };
    links['verify'] = { href: `${self}/lifecycle/verify`, hints: { allow: ['POST'] } };
    if (h.status === 'ACTIVE') links['deactivate'] = { href: `${self}/lifecycle/deactivate`, hints: { allow: ['POST'] } };
    else links['activate'] = { href: `${self}/lifecycle/activate`, hints: { allow: ['POST'] } };
    return {
      id: h.id,
      status: h.status,
      verificationStatus: h.verificationStatus,
      name: h.name,
      description: h.description,
      created: h.created,
      createdBy: h.createdBy,
      lastUpdated: h.lastUpdated,
      events: { type: 'EVENT_TYPE', items: h.items, filter: null },
      channel: {
        type: 'HTTP',
        version: '1.0.0',
        config: {
          uri: h.uri,
          headers: h.headers,
          method: 'POST',
          ...(h.authScheme ? { authScheme: { type: h.authScheme.type, key: h.authScheme.key } } : {}),
        },
      },
      _links: links,
    };
  }

  close(): void {
    this.closed = true;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.queues.clear();
    this.checkIdle();
  }
}

export function eventHookRoutes(ctx: {
  hooks: EventHooks;
  opContext: (req: express.Request, res: express.Response) => OpContext;
  scopes: { read: express.RequestHandler; manage: express.RequestHandler };
}) {
  const r = express.Router();
  const { hooks } = ctx;
  r.get('/api/v1/eventHooks', ctx.scopes.read, route((_req, res) => {
    reply(res, 200, [...hooks.hooks.values()].map((h) => hooks.render(h)));
  }));
  r.post('/api/v1/eventHooks', ctx.scopes.manage, route((req, res) => {
    reply(res, 200, hooks.render(hooks.create(bodyObject(req), ctx.opContext(req, res))));
  }));
  r.get('/api/v1/eventHooks/:id', ctx.scopes.read, route((req, res) => {
    reply(res, 200, hooks.render(hooks.get(param(req, 'id'))));
  }));
  r.put('/api/v1/eventHooks/:id', ctx.scopes.manage, route((req, res) => {
    reply(res, 200, hooks.render(hooks.replace(param(req, 'id'), bodyObject(req), ctx.opContext(req, res))));
  }));
  r.delete('/api/v1/eventHooks/:id', ctx.scopes.manage, route((req, res) => {
    hooks.delete(param(req, 'id'), ctx.opContext(req, res));
    reply(res, 204);
  }));
  r.post('/api/v1/eventHooks/:id/lifecycle/activate', ctx.scopes.manage, route((req, res) => {
    reply(res, 200, hooks.render(hooks.setStatus(param(req, 'id'), 'ACTIVE', ctx.opContext(req, res))));
  }));
  r.post('/api/v1/eventHooks/:id/lifecycle/deactivate', ctx.scopes.manage, route((req, res) => {
    reply(res, 200, hooks.render(hooks.setStatus(param(req, 'id'), 'INACTIVE', ctx.opContext(req, res))));
  }));
  r.post('/api/v1/eventHooks/:id/lifecycle/verify', ctx.scopes.manage, route(async (req, res) => {
    reply(res, 200, hooks.render(await hooks.verify(param(req, 'id'), ctx.opContext(req, res))));
  }));
  return r;
}
