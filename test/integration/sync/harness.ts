// A wired agentroster (in-memory SQLite) whose Entra connector talks to the Graph emulator over
// HTTPS with the real @azure/msal-node — configured through AGENTROSTER_* variables exactly as in
// production (NODE_EXTRA_CA_CERTS comes from the vitest globalSetup). Sync tunables are shrunk so
// that retries and grace periods take milliseconds. The emulator is as realistic as its defaults:
// Graph's 20 writes per second, replication and index lag (tens of ms); a test that raises the
// quota or turns a lag off says why.

import { randomUUID } from 'node:crypto';
import pino from 'pino';
import { type Agentroster, buildAgentroster } from '../../../src/app.js';
import { loadConfig } from '../../../src/config/config.js';
import { agentFixtures } from '../../helpers/agent-fixtures.js';
import type { RequestContext, Scope } from '../../../src/resources/context.js';
import type { Json } from '../../../src/store/types.js';
import type { TargetRuntime } from '../../../src/sync/engine.js';
import { type GraphEmulator, startGraphEmulator } from '../../emulators/graph/index.js';
import type { EmulatorConfig } from '../../emulators/graph/store.js';

export const AGENT_URN = 'urn:ietf:params:scim:schemas:core:2.0:Agent';
export const GOV_URN = 'urn:agentroster:scim:schemas:extension:agent-governance:1.0:Agent';
export const USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_URN = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENT_URN = 'urn:ietf:params:scim:schemas:core:2.0:Entitlement';
export const ENT_GOV_URN = 'urn:agentroster:scim:schemas:extension:entitlement:1.0:Entitlement';
export const PATCH_URN = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

export const ALL_SCOPES: Scope[] = ['scim.read', 'scim.write', 'scim.revoke', 'agents.approve', 'admin'];

export function ctx(client = 'test-admin'): RequestContext {
  return { actor: { client, tokenId: `token-${client}` }, scopes: new Set(ALL_SCOPES), requestId: randomUUID(), baseUrl: 'http://test/scim/v2' };
}

export interface HarnessOptions {
  emulator?: GraphEmulator;
  emulatorConfig?: Partial<EmulatorConfig>;
  env?: Record<string, string>;
  blueprints?: number;
  databaseUrl?: string;
}

/** Real time plus an adjustable skew: grace periods pass without sleeping. */
export class SkewClock {
  skewMs = 0;
  now(): Date {
    return new Date(Date.now() + this.skewMs);
  }
}

export interface Harness {
  emu: GraphEmulator;
  ar: Agentroster;
  entra: TargetRuntime;
  blueprints: string[];
  env: Record<string, string>;
  clock: SkewClock;
  /** a sponsor: a User here (userName = UPN) and a user in Entra */
  sponsor(name: string, opts?: { inEntra?: boolean }): Promise<{ id: string; entraId: string; upn: string }>;
  agent(name: string, sponsorId: string, gov?: Json, extra?: Json): Promise<string>;
  patch(id: string, ...ops: Json[]): Promise<void>;
  setState(id: string, state: string): Promise<void>;
  entitlement(value: string, mappings: Json[]): Promise<string>;
  /** one pass of the worker; throws when anything was parked */
  sync(o?: { allowFailures?: boolean }): Promise<import('../../../src/sync/worker.js').PassResult>;
  /** the agent identity (or fallback object) of one agent in the emulator */
  remote(agentId: string): Record<string, unknown> | undefined;
  remotesOf(agentId: string): Record<string, unknown>[];
  /** waits out the emulator's index lag: lists, tag filters and delta then show every change made so far */
  settle(): Promise<void>;
  close(): Promise<void>;
}

export async function emulatorEnv(emu: GraphEmulator, blueprints: string[]): Promise<Record<string, string>> {
  return {
    AGENTROSTER_SYNC_TARGETS: 'entra',
    AGENTROSTER_ENTRA_TENANT_ID: emu.tenantId,
    AGENTROSTER_ENTRA_CLIENT_ID: emu.defaultClient.clientId,
    AGENTROSTER_ENTRA_CLIENT_SECRET: emu.defaultClient.clientSecret,
    AGENTROSTER_ENTRA_AUTHORITY_HOST: emu.authorityHost,
    AGENTROSTER_ENTRA_GRAPH_URL: emu.url,
    AGENTROSTER_ENTRA_BLUEPRINT_ID: blueprints.join(','),
    AGENTROSTER_SYNC_BACKOFF_BASE_SECONDS: '0.05',
    AGENTROSTER_SYNC_BACKOFF_MAX_SECONDS: '0.5',
    AGENTROSTER_SYNC_POLL_INTERVAL_MS: '20',
    AGENTROSTER_SYNC_CREATE_CONFIRM_SECONDS: '0.3',
    AGENTROSTER_SYNC_DELTA_INTERVAL_SECONDS: '0',
    AGENTROSTER_SYNC_FULL_COMPARE_INTERVAL_MINUTES: '0',
    AGENTROSTER_SYNC_LEASE_SECONDS: '30',
    AGENTROSTER_ENTRA_WRITES_PER_SECOND: '20',
  };
}

export async function startHarness(o: HarnessOptions = {}): Promise<Harness> {
  const emu = o.emulator ?? (await startGraphEmulator({ config: { ...o.emulatorConfig } }));
  const blueprints = Array.from({ length: o.blueprints ?? 1 }, (_, i) => {
    const appId = randomUUID();
    emu.state.seedBlueprint({ displayName: `agentroster blueprint ${i + 1}`, appId });
    return appId;
  });
  const env = { ...(await emulatorEnv(emu, blueprints)), ...o.env };
  const config = loadConfig({ AGENTROSTER_DATABASE_URL: o.databaseUrl ?? 'sqlite::memory:', AGENTROSTER_LOG_LEVEL: 'silent', ...env });
  const clock = new SkewClock();
  const ar = await buildAgentroster(config, { logger: pino({ level: 'silent' }), clock, startJobs: false, sync: { start: false } });
  const entra = ar.sync!.target('entra');
  const h: Harness = {
    emu,
    ar,
    entra,
    blueprints,
    env,
    clock,
    async sponsor(name, so = {}) {
      const upn = `${name}@contoso.com`;
      const entraId = randomUUID();
      if (so.inEntra ?? true) emu.state.seedUser({ id: entraId, displayName: name, userPrincipalName: upn });
      const r = await ar.service.create('User', { schemas: [USER_URN], userName: upn, displayName: name, emails: [{ value: upn, primary: true }] }, ctx());
      return { id: r.resource.id as string, entraId, upn };
    },
    ...agentFixtures(ar.service, () => ctx(), { purpose: 'testing sync', environment: 'test', autonomyLevel: 'humanInTheLoop', lifecycleState: 'pending' }, () => entra.sync.catalogue.invalidate()),
    async sync(so = {}) {
      const r = await entra.worker.runOnce({ maxRetryWaitMs: 20_000 });
      if (!so.allowFailures && (r.parked > 0 || r.pendingLeft > 0)) throw new Error(`sync failed: ${JSON.stringify(r)}`);
      return r;
    },
    remote(agentId) {
      return h.remotesOf(agentId)[0];
    },
    remotesOf(agentId) {
      const all = [
        ...emu.state.agentIdentities(),
        ...emu.state.liveOfKinds(['servicePrincipal', 'user']).map((x) => emu.state.render(x)),
      ];
      return all.filter((a) => {
        const tags = (a.tags as string[] | undefined) ?? [];
        return tags.includes(`agentroster:${agentId}`) || String(a.userPrincipalName ?? '').startsWith(`agent-${agentId}@`);
      });
    },
    async settle() {
      const { indexLagMs, replicationLagMs } = emu.state.config;
      await new Promise((r) => setTimeout(r, Math.max(indexLagMs, replicationLagMs) + 5));
    },
    async close() {
      await ar.close();
      if (!o.emulator) await emu.close();
    },
  };
  return h;
}
