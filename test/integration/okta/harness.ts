// A wired agentroster (SQLite) whose Okta connector talks to the Okta emulator with the real
// @okta/okta-sdk-nodejs — configured through AGENTROSTER_* variables exactly as in production. Sync
// tunables are shrunk so that retries and grace periods take milliseconds.

import { randomUUID } from 'node:crypto';
import pino, { type Logger } from 'pino';
import supertest from 'supertest';
import { type Agentroster, buildAgentroster } from '../../../src/app.js';
import { loadConfig } from '../../../src/config/config.js';
import { agentFixtures } from '../../helpers/agent-fixtures.js';
import type { OktaConnector } from '../../../src/connectors/okta/index.js';
import type { RequestContext, Scope } from '../../../src/resources/context.js';
import type { AuditEvent, Json } from '../../../src/store/types.js';
import type { TargetRuntime } from '../../../src/sync/engine.js';
import type { PassResult } from '../../../src/sync/worker.js';
import { type OktaEmulator, type OktaEmulatorOptions, startOktaEmulator, type UserRecord } from '../../emulators/okta/index.js';

export const AGENT_URN = 'urn:ietf:params:scim:schemas:core:2.0:Agent';
export const GOV_URN = 'urn:agentroster:scim:schemas:extension:agent-governance:1.0:Agent';
export const USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENT_URN = 'urn:ietf:params:scim:schemas:core:2.0:Entitlement';
export const ENT_GOV_URN = 'urn:agentroster:scim:schemas:extension:entitlement:1.0:Entitlement';
export const PATCH_URN = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const HOOK_SECRET = 'hook-secret-0123456789abcdef';
export const LOGIN_DOMAIN = 'agents.example.com';

export const ALL_SCOPES: Scope[] = ['scim.read', 'scim.write', 'scim.revoke', 'agents.approve', 'admin'];

export function ctx(client = 'test-admin'): RequestContext {
  return { actor: { client, tokenId: `tok-${client}` }, scopes: new Set(ALL_SCOPES), requestId: randomUUID(), baseUrl: 'http://test/scim/v2' };
}

export function oktaEnv(emu: OktaEmulator): Record<string, string> {
  return {
    AGENTROSTER_SYNC_TARGETS: 'okta',
    AGENTROSTER_OKTA_ORG_URL: emu.orgUrl,
    AGENTROSTER_OKTA_TOKEN: emu.apiToken,
    AGENTROSTER_OKTA_LOGIN_DOMAIN: LOGIN_DOMAIN,
    AGENTROSTER_OKTA_EVENT_HOOK_SECRET: HOOK_SECRET,
    AGENTROSTER_SYNC_BACKOFF_BASE_SECONDS: '0.05',
    AGENTROSTER_SYNC_BACKOFF_MAX_SECONDS: '0.5',
    AGENTROSTER_SYNC_POLL_INTERVAL_MS: '20',
    AGENTROSTER_SYNC_CREATE_CONFIRM_SECONDS: '0.3',
    AGENTROSTER_SYNC_DELTA_INTERVAL_SECONDS: '0',
    AGENTROSTER_SYNC_FULL_COMPARE_INTERVAL_MINUTES: '0',
    AGENTROSTER_SYNC_LEASE_SECONDS: '30',
    AGENTROSTER_OKTA_REQUEST_TIMEOUT_SECONDS: '10',
  };
}

export interface HarnessOptions {
  emulator?: OktaEmulator;
  emulatorOptions?: OktaEmulatorOptions;
  env?: Record<string, string>;
  databaseUrl?: string;
  logger?: Logger;
}

export interface Harness {
  emu: OktaEmulator;
  ar: Agentroster;
  okta: TargetRuntime;
  connector: OktaConnector;
  env: Record<string, string>;
  http: supertest.Agent;
  /** a sponsor: a User here (userName = login) and an ACTIVE user in Okta */
  sponsor(name: string, opts?: { inOkta?: boolean }): Promise<{ id: string; oktaId?: string; login: string }>;
  agent(name: string, sponsorId: string, gov?: Json, extra?: Json): Promise<string>;
  patch(id: string, ...ops: Json[]): Promise<void>;
  setState(id: string, state: string): Promise<void>;
  entitlement(value: string, mappings: Json[]): Promise<string>;
  grant(agentId: string, ...values: string[]): Promise<void>;
  agentData(id: string): Promise<Json>;
  /** one pass of the worker; throws when anything was parked or left */
  sync(o?: { allowFailures?: boolean }): Promise<PassResult>;
  /** the agent's Okta user (by our tag) */
  remote(agentId: string): UserRecord | undefined;
  remotesOf(agentId: string): UserRecord[];
  groupsOf(agentId: string): string[];
  audit(resourceId?: string): Promise<AuditEvent[]>;
  close(): Promise<void>;
}

export async function startHarness(o: HarnessOptions = {}): Promise<Harness> {
  const emu = o.emulator ?? (await startOktaEmulator({ searchLagMs: 300, ...o.emulatorOptions }));
  const env = { ...oktaEnv(emu), ...o.env };
  const config = loadConfig({ AGENTROSTER_DATABASE_URL: o.databaseUrl ?? 'sqlite::memory:', AGENTROSTER_LOG_LEVEL: 'silent', ...env });
  const ar = await buildAgentroster(config, { logger: o.logger ?? pino({ level: 'silent' }), startJobs: false, sync: { start: false } });
  const okta = ar.sync!.target('okta');
  const h: Harness = {
    emu,
    ar,
    okta,
    connector: okta.sync.connector as OktaConnector,
    env,
    http: supertest.agent(ar.app),
    async sponsor(name, so = {}) {
      const login = `${name}@example.com`;
      let oktaId: string | undefined;
      if (so.inOkta ?? true) {
        const u = emu.admin.createUser({ profile: { login, email: login, firstName: name, lastName: 'Sponsor', displayName: `${name} Sponsor` } }, { activate: true });
        oktaId = u.id;
      }
      const r = await ar.service.create('User', { schemas: [USER_URN], userName: login, displayName: `${name} Sponsor`, active: true, emails: [{ value: login, primary: true }] }, ctx());
      return { id: r.resource.id as string, ...(oktaId ? { oktaId } : {}), login };
    },
    ...agentFixtures(ar.service, () => ctx(), { purpose: 'testing the Okta sync', environment: 'test', autonomyLevel: 'humanInTheLoop', riskTier: 'low' }, () => okta.sync.catalogue.invalidate()),
    async grant(agentId, ...values) {
      await h.patch(agentId, { op: 'add', path: 'entitlements', value: values.map((value) => ({ value })) });
    },
    async agentData(id) {
      return (await ar.store.get('Agent', id))!.data;
    },
    async sync(so = {}) {
      const r = await okta.worker.runOnce({ maxRetryWaitMs: 20_000 });
      if (!so.allowFailures && (r.parked > 0 || r.pendingLeft > 0)) throw new Error(`sync failed: ${JSON.stringify(r)}`);
      return r;
    },
    remote(agentId) {
      return h.remotesOf(agentId)[0];
    },
    remotesOf(agentId) {
      return [...emu.state.users.values()].filter((u) => u.profile['agentrosterId'] === agentId);
    },
    groupsOf(agentId) {
      const u = h.remote(agentId);
      return u ? emu.admin.groupsOf(u.id).filter((g) => g.type !== 'BUILT_IN').map((g) => g.id).sort() : [];
    },
    async audit(resourceId) {
      const out: AuditEvent[] = [];
      for (;;) {
        const page = await ar.store.auditEvents(out.at(-1)?.seq ?? 0, 1000);
        out.push(...page);
        if (page.length < 1000) break;
      }
      return resourceId ? out.filter((e) => e.resourceId === resourceId) : out;
    },
    async close() {
      await ar.close();
      if (!o.emulator) await emu.close();
    },
  };
  return h;
}

export async function waitFor<T>(fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 5000, what = 'condition'): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const gov = (data: Json): Json => (data[GOV_URN] ?? {}) as Json;
