// System Log: the LogEvent store, the events the emulator's own state changes emit, and
// GET /api/v1/logs with Okta's polling vs bounded semantics.
//
// Sources: okta-developer-docs docs/reference/system-log-query (polling: `until` unspecified and
// ASCENDING, "a next link relation header is always present, even if there are no new events";
// bounded: since+until, ordered by published, finite pages; limit default 100, max 1000; invalid
// dates → 400 E0000001; invalid filter → 400 E0000053), the LogEvent shape from management.yaml
// (ListLogs example) and the event-hook sample payload, event types from data/event-types.json.
import express from 'express';
import type { Clock } from './http.js';
import { OktaError, invalidScimFilter, limitParam, queryOf, reply, route, uuid } from './http.js';
import { evaluate, nextUrl, parseExpression, setLinkHeaders, type Expr } from './query.js';

export interface LogActor {
  id: string;
  type: string;
  alternateId: string;
  displayName: string;
  detailEntry: Record<string, unknown> | null;
}

export interface LogTarget {
  id: string;
  type: string;
  alternateId: string;
  displayName: string;
  detailEntry: Record<string, unknown> | null;
}

export interface LogEvent {
  uuid: string;
  published: string;
  eventType: string;
  version: string;
  displayMessage: string;
  severity: 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
  legacyEventType: string | null;
  client: {
    userAgent: { rawUserAgent: string; os: string; browser: string } | null;
    zone: string;
    device: string;
    id: string | null;
    ipAddress: string | null;
    geographicalContext: null;
  };
  device: null;
  actor: LogActor;
  outcome: { result: string; reason: string | null } | null;
  target: LogTarget[] | null;
  transaction: { type: string; id: string; detail: Record<string, unknown> };
  debugContext: { debugData: Record<string, unknown> };
  authenticationContext: {
    authenticationProvider: null;
    credentialProvider: null;
    credentialType: null;
    issuer: null;
    interface: null;
    authenticationStep: number;
    externalSessionId: string | null;
  };
  securityContext: { asNumber: null; asOrg: null; isp: null; domain: null; isProxy: null };
  request: { ipChain: Array<{ ip: string; geographicalContext: null; version: string; source: null }> };
  insertionTimestamp: null;
}

/** displayMessage per event type (the catalogue descriptions, data/event-types.json). */
const DISPLAY: Record<string, string> = {
  'user.lifecycle.create': 'Create Okta user',
  'user.lifecycle.activate': 'Activate Okta user',
  'user.lifecycle.deactivate': 'Deactivate Okta user',
  'user.lifecycle.suspend': 'Suspend Okta user',
  'user.lifecycle.unsuspend': 'Unsuspend Okta user',
  'user.lifecycle.reactivate': 'Reactivate Okta user',
  'user.lifecycle.delete.initiated': 'Delete Okta user initiated',
  'user.lifecycle.delete.completed': 'Delete Okta user completed',
  'user.account.update_profile': 'Update user profile for Okta',
  'user.account.unlock': 'Unlock user account',
  'group.lifecycle.create': 'Create Okta group',
  'group.lifecycle.delete': 'Delete Okta group',
  'group.profile.update': 'Update Okta group profile',
  'group.user_membership.add': 'Add user to group membership',
  'group.user_membership.remove': 'Remove user from group membership',
  'system.org.rate_limit.violation': 'Rate limit violation',
  'core.concurrency.org.limit.violation': 'Too many requests in flight',
  'event_hook.created': 'Event hook created',
  'event_hook.activated': 'Event hook activated',
  'event_hook.deactivated': 'Event hook deactivated',
  'event_hook.deleted': 'Event hook deleted',
  'event_hook.verified': 'Event hook verified',
  'event_hook.delivery': 'Event hook delivery failed',
  'workload_principal.ai_agent.register': 'Register an AI agent',
  'workload_principal.ai_agent.update': 'Update an AI agent',
  'workload_principal.ai_agent.activate': 'Activate an AI agent',
  'workload_principal.ai_agent.deactivate': 'Deactivate an AI agent',
  'workload_principal.ai_agent.delete': 'Delete an AI agent',
};

export interface EmitInput {
  eventType: string;
  actor: LogActor;
  target?: LogTarget[] | null;
  displayMessage?: string;
  outcome?: { result: string; reason: string | null } | null;
  severity?: LogEvent['severity'];
  debugData?: Record<string, unknown>;
  requestId?: string;
  requestUri?: string;
  ip?: string;
  userAgent?: string;
  /** Override `published` (ISO string), e.g. to inject events that happened "earlier". */
  published?: string;
}

interface Stored {
  seq: number;
  persistedAt: number;
  publishedMs: number;
  event: LogEvent;
}

export class SystemLog {
  private readonly events: Stored[] = [];
  private seq = 0;
  private readonly listeners = new Set<(e: LogEvent) => void>();

  constructor(
    private readonly clock: Clock,
    /** Delay before an event becomes visible to /api/v1/logs readers ("near real-time"). */
    public lagMs: number,
  ) {}

  onEvent(fn: (e: LogEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  all(): LogEvent[] {
    return this.events.map((s) => s.event);
  }

  emit(input: EmitInput): LogEvent {
    const now = this.clock.now();
    const txId = input.requestId ?? uuid().replace(/-/g, '').slice(0, 27);
    const event: LogEvent = {
      uuid: uuid(),
      published: input.published ?? this.clock.iso(now),
      eventType: input.eventType,
      version: '0',
      displayMessage: input.displayMessage ?? DISPLAY[input.eventType] ?? input.eventType,
      severity: input.severity ?? 'INFO',
      legacyEventType: null,
      client: {
        userAgent: input.userAgent
          ? { rawUserAgent: input.userAgent, os: 'Unknown', browser: 'UNKNOWN' }
          : null,
        zone: 'null',
        device: 'Unknown',
        id: null,
        ipAddress: input.ip ?? null,
        geographicalContext: null,
      },
      device: null,
      actor: input.actor,
      outcome: input.outcome === undefined ? { result: 'SUCCESS', reason: null } : input.outcome,
      target: input.target === undefined ? [] : input.target,
      transaction: { type: 'WEB', id: txId, detail: {} },
      debugContext: {
        debugData: {
          requestId: txId,
          ...(input.requestUri ? { requestUri: input.requestUri, url: input.requestUri } : {}),
          ...input.debugData,
        },
      },
      authenticationContext: {
        authenticationProvider: null,
        credentialProvider: null,
        credentialType: null,
        issuer: null,
        interface: null,
        authenticationStep: 0,
        externalSessionId: null,
      },
      securityContext: { asNumber: null, asOrg: null, isp: null, domain: null, isProxy: null },
      request: { ipChain: input.ip ? [{ ip: input.ip, geographicalContext: null, version: 'V4', source: null }] : [] },
      insertionTimestamp: null,
    };
    this.seq += 1;
    this.events.push({ seq: this.seq, persistedAt: now, publishedMs: Date.parse(event.published), event });
    for (const l of this.listeners) l(event);
    return event;
  }

  /** Events persisted and visible to readers now (honouring the log lag). */
  visible(): Stored[] {
    const cutoff = this.clock.now() - this.lagMs;
    return this.events.filter((s) => s.persistedAt <= cutoff);
  }
}

// ---- GET /api/v1/logs ----

function parseDate(name: 'since' | 'until', v: string | undefined): number | undefined {
  if (v === undefined || v === '') return undefined;
  const ms = Date.parse(v);
  if (!/^\d{4}-\d{2}-\d{2}/.test(v) || Number.isNaN(ms)) {
    // Verbatim from the System Log query guide's error example.
    throw new OktaError(
      400,
      'E0000001',
      `Api validation failed: '${name}': The date format in your query is not recognized. Please enter dates using ISO8601 string format. '${name}': must be a valid date-time or empty.`,
      [
        { errorSummary: `${name}: The date format in your query is not recognized. Please enter dates using ISO8601 string format.` },
        { errorSummary: `${name}: must be a valid date-time or empty.` },
      ],
    );
  }
  return ms;
}

function cursorOf(s: Stored): string {
  return `${s.persistedAt}_${s.seq}`;
}

function parseCursor(after: string): number {
  const m = /^\d+_(\d+)$/.exec(after);
  if (!m) throw new OktaError(400, 'E0000001', "Api validation failed: 'after': invalid cursor", []);
  return Number(m[1]);
}

const SEVEN_DAYS = 7 * 24 * 3600 * 1000;

export function logRoutes(ctx: { log: SystemLog; clock: Clock; orgUrl: () => string; scope: express.RequestHandler }) {
  const r = express.Router();
  r.get(
    '/api/v1/logs',
    ctx.scope,
    route((req, res) => {
      const q = queryOf(req);
      const since = parseDate('since', q['since']);
      const until = parseDate('until', q['until']);
      const limit = limitParam(q['limit'], 100, 1000);
      const sortOrder = (q['sortOrder'] ?? 'ASCENDING').toUpperCase();
      let filter: Expr | undefined;
      if (q['filter']) {
        try {
          filter = parseExpression(q['filter']);
        } catch {
          throw invalidScimFilter();
        }
      }
      const keywords = (q['q'] ?? '').split(/\s+/).filter(Boolean).map((k) => k.toLowerCase());
      const matches = (s: Stored): boolean => {
        if (filter && !evaluate(filter, s.event, true)) return false;
        if (keywords.length) {
          const text = JSON.stringify(s.event).toLowerCase();
          if (!keywords.every((k) => text.includes(k))) return false;
        }
        return true;
      };
      const selfUrl = `${ctx.orgUrl()}${req.originalUrl}`;
      const now = ctx.clock.now();
      const polling = until === undefined && sortOrder === 'ASCENDING';

      if (polling) {
        // Ordered by persistence; `since` bounds persistence time; the next link always exists.
        const afterSeq = q['after'] ? parseCursor(q['after']) : undefined;
        const lower = since ?? now - SEVEN_DAYS;
        const candidates = ctx.log
          .visible()
          .filter((s) => (afterSeq !== undefined ? s.seq > afterSeq : s.persistedAt >= lower));
        const page: Stored[] = [];
        let last: Stored | undefined;
        for (const s of candidates) {
          if (page.length >= limit) break;
          last = s;
          if (matches(s)) page.push(s);
        }
        let cursor: string;
        if (last) cursor = cursorOf(last);
        else if (q['after']) cursor = q['after'];
        else {
          // Nothing yet: a cursor just before the first event persisted at or after `since`.
          const prior = ctx.log.visible().filter((s) => s.persistedAt < lower);
          const p = prior[prior.length - 1];
          cursor = p ? cursorOf(p) : `${lower}_0`;
        }
        // since and after are mutually exclusive: the next link carries only the cursor.
        const next = new URL(nextUrl(selfUrl, cursor, limit));
        next.searchParams.delete('since');
        res.setHeader('Link', [`<${selfUrl}>; rel="self"`, `<${next.toString()}>; rel="next"`]);
        reply(res, 200, page.map((s) => s.event));
        return;
      }

      // Bounded request: filter and order by `published`.
      const upper = until ?? now;
      const lower = since ?? upper - SEVEN_DAYS;
      let items = ctx.log.visible().filter((s) => s.publishedMs >= lower && s.publishedMs < upper && matches(s));
      items.sort((a, b) => a.publishedMs - b.publishedMs || a.seq - b.seq);
      if (sortOrder === 'DESCENDING') items.reverse();
      if (q['after']) {
        const afterSeq = parseCursor(q['after']);
        const idx = items.findIndex((s) => s.seq === afterSeq);
        items = idx >= 0 ? items.slice(idx + 1) : [];
      }
      const page = items.slice(0, limit);
      const lastItem = page[page.length - 1];
      setLinkHeaders(res, selfUrl, items.length > limit && lastItem ? { after: cursorOf(lastItem), limit } : null);
      reply(res, 200, page.map((s) => s.event));
    }),
  );
  return r;
}
