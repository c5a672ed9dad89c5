// A fully wired agentroster (the same buildAgentroster the server uses) on an in-memory SQLite
// database, with a controllable clock, an in-memory log, an admin token and a way to mint tokens
// with any scopes. Every integration test builds its own instance, so tests never share state.

import type { Express } from 'express';
import pino, { type Logger } from 'pino';
import supertest from 'supertest';
import { expect } from 'vitest';
import { buildAgentroster } from '../../src/app.js';
import { loadConfig } from '../../src/config/config.js';
import { createHttpServer, listen, serverLimitsFromConfig } from '../../src/http/server.js';
import { createToken } from '../../src/http/tokens.js';
import type { Clock, Scope } from '../../src/resources/context.js';
import type { Governance } from '../../src/resources/governance/index.js';
import type { ResourceService } from '../../src/resources/service.js';
import type { SchemaRegistry } from '../../src/scim/registry.js';
import type { AuditEvent, Store } from '../../src/store/types.js';

export const SCIM = '/scim/v2';
export const SCIM_CT = /^application\/scim\+json/;
export const ERROR_URN = 'urn:ietf:params:scim:api:messages:2.0:Error';
export const LIST_URN = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const PATCH_URN = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_URN = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const AGENT_URN = 'urn:ietf:params:scim:schemas:core:2.0:Agent';
export const ENTERPRISE_URN = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const GOV_URN = 'urn:agentroster:scim:schemas:extension:agent-governance:1.0:Agent';

/** A clock that only moves when told to: meta timestamps are exact and predictable. */
export class TestClock implements Clock {
  #ms: number;
  constructor(start = '2026-01-01T00:00:00.000Z') {
    this.#ms = Date.parse(start);
  }
  now(): Date {
    return new Date(this.#ms);
  }
  iso(): string {
    return new Date(this.#ms).toISOString();
  }
  set(iso: string): void {
    this.#ms = Date.parse(iso);
  }
  advance(ms = 1000): string {
    this.#ms += ms;
    return this.iso();
  }
}

export interface TestAppOptions {
  /** extra AGENTROSTER_* environment for loadConfig (e.g. AGENTROSTER_BASE_URL) */
  env?: Record<string, string>;
  clockStart?: string;
  outboxTargets?: string[];
}

export interface TestApp {
  app: Express;
  store: Store;
  service: ResourceService;
  registry: SchemaRegistry;
  /** agent governance; `governance.scheduler.runOnce()` runs the time-based rules at clock.now() */
  governance: Governance;
  clock: TestClock;
  /** bearer token with the admin scope, named "test-admin" */
  adminToken: string;
  /** every log line pino wrote (level ≥ debug), parsed, so tests can check what was logged */
  logs(): Record<string, unknown>[];
  /** the raw log text, for "never contains" assertions */
  logText(): string;
  /** a token with these scopes; `userId` binds it to a human User (token create --user) */
  tokenWith(scopes: Scope[], name?: string, userId?: string): Promise<string>;
  /**
   * supertest bound to the app: the admin token unless another is given ('' sends no Authorization
   * header at all); bodies go out as JSON with Content-Type application/scim+json
   */
  http: ScimClient;
  /** http://127.0.0.1:PORT of the listening server (meta.location is origin + /scim/v2/…) */
  origin: string;
  close(): Promise<void>;
}

export interface ScimClient {
  get(path: string, token?: string): supertest.Test;
  delete(path: string, token?: string): supertest.Test;
  post(path: string, body: unknown, token?: string): supertest.Test;
  put(path: string, body: unknown, token?: string): supertest.Test;
  patch(path: string, body: unknown, token?: string): supertest.Test;
}

let tokenSeq = 0;

export async function buildTestApp(opts: TestAppOptions = {}): Promise<TestApp> {
  const config = loadConfig({
    AGENTROSTER_DATABASE_URL: 'sqlite::memory:',
    AGENTROSTER_LOG_LEVEL: 'silent',
    ...opts.env,
  });
  const lines: string[] = [];
  // Nothing reaches the console; everything from debug up is kept for assertions.
  const logger: Logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(s) });
  const clock = new TestClock(opts.clockStart);
  const ar = await buildAgentroster(config, { logger, clock, outboxTargets: opts.outboxTargets ?? [] });
  const admin = await createToken(ar.store, 'test-admin', ['admin']);
  // One listening server for the whole test: meta.location (derived from the Host header when no
  // AGENTROSTER_BASE_URL is set) is then the same on every request, so bodies compare exactly.
  // The production server (timeouts, connection cap, SCIM bodies for 431/408), not a bare listen.
  const server = createHttpServer(ar.app, serverLimitsFromConfig(config), logger);
  await listen(server, 0, '127.0.0.1');
  const addr = server.address();
  const origin = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  const agent = supertest(server);
  const withAuth = (t: supertest.Test, token: string | undefined) =>
    token === '' ? t : t.set('Authorization', `Bearer ${token ?? admin.token}`);
  const json = (t: supertest.Test, body: unknown) =>
    t.set('Content-Type', 'application/scim+json').send(JSON.stringify(body));
  const http: ScimClient = {
    get: (p, token) => withAuth(agent.get(SCIM + p), token),
    delete: (p, token) => withAuth(agent.delete(SCIM + p), token),
    post: (p, body, token) => json(withAuth(agent.post(SCIM + p), token), body),
    put: (p, body, token) => json(withAuth(agent.put(SCIM + p), token), body),
    patch: (p, body, token) => json(withAuth(agent.patch(SCIM + p), token), body),
  };
  return {
    app: ar.app,
    store: ar.store,
    service: ar.service,
    registry: ar.registry,
    governance: ar.governance,
    clock,
    adminToken: admin.token,
    logs: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
    logText: () => lines.join(''),
    tokenWith: async (scopes, name, userId) => (await createToken(ar.store, name ?? `t${++tokenSeq}`, scopes, userId)).token,
    http,
    origin,
    close: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await ar.close();
    },
  };
}

// ── small helpers shared by the suites ───────────────────────────────────────────────────────────

export function patchBody(...ops: unknown[]): Record<string, unknown> {
  return { schemas: [PATCH_URN], Operations: ops };
}

/** The SCIM error body RFC 7644 §3.12 prescribes, detail matched loosely. */
export function scimError(status: number, scimType?: string, detail: RegExp | string = /\S/): Record<string, unknown> {
  return {
    schemas: [ERROR_URN],
    status: String(status),
    ...(scimType ? { scimType } : {}),
    detail: typeof detail === 'string' ? detail : expectMatching(detail),
  };
}

function expectMatching(re: RegExp): unknown {
  return expect.stringMatching(re);
}

export async function allAudit(t: TestApp): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  for (;;) {
    const page = await t.store.auditEvents(out.at(-1)?.seq ?? 0, 1000);
    out.push(...page);
    if (page.length < 1000) return out;
  }
}

/** What a failed request must leave untouched: the resources as GET shows them, and the audit log. */
export interface State {
  resources: { path: string; status: number; body: unknown; etag: string | undefined }[];
  auditCount: number;
}

/** GET each path (e.g. "/Users/<id>") and count audit events. */
export async function captureState(t: TestApp, ...paths: string[]): Promise<State> {
  const resources = [];
  for (const path of paths) {
    const res = await t.http.get(path);
    resources.push({ path, status: res.status, body: res.body as unknown, etag: res.headers.etag as string | undefined });
  }
  return { resources, auditCount: (await allAudit(t)).length };
}

/** The same GETs answer exactly as before (body, meta.version, ETag) and no audit event was written. */
export async function expectUnchanged(t: TestApp, before: State): Promise<void> {
  const after = await captureState(t, ...before.resources.map((r) => r.path));
  expect(after.resources).toEqual(before.resources);
  expect(after.auditCount).toBe(before.auditCount);
}
