// The Okta management API as the connector uses it, on @okta/okta-sdk-nodejs 8.x:
// - the SDK Client does authentication (SSWS API token, or OAuth client_credentials with a
//   private_key_jwt assertion, DPoP when the org asks for it, token refresh on 401) and runs every
//   request through our executor (executor.ts: retries, pacing, the 429 gate);
// - `cacheMiddleware: null`: the SDK's default GET cache serves stale users (okta.md §3);
// - typed SDK calls for users, lifecycle and group memberships; raw `client.http` (same executor,
//   same auth) where the SDK falls short: enum schema properties (`UserSchemaAttribute._enum` is
//   broken), the System Log (a polling collection never ends, and the `next` link is the cursor to
//   persist), and Okta for AI Agents (`registerAIAgent()` drops the operation's Location).
// Every failure leaves here as an OktaFailure (errors.ts).

import { Client } from '@okta/okta-sdk-nodejs';
import type { Logger } from 'pino';
import { oktaFailure } from './errors.js';
import { PacedExecutor } from './executor.js';
import type { OktaSettings } from './settings.js';

export type UserStatus = 'STAGED' | 'PROVISIONED' | 'ACTIVE' | 'RECOVERY' | 'PASSWORD_EXPIRED' | 'LOCKED_OUT' | 'SUSPENDED' | 'DEPROVISIONED';

/** A user as the connector needs it (the SDK's model classes reduced to plain data). */
export interface OktaUser {
  id: string;
  status: UserStatus;
  transitioningToStatus?: string;
  created?: string;
  lastUpdated?: string;
  typeId?: string;
  profile: Record<string, unknown>;
}

export interface RawResponse<T = unknown> {
  status: number;
  headers: { get(name: string): string | null };
  body: T;
}

export type LifecycleAction = 'activate' | 'suspend' | 'unsuspend' | 'deactivate' | 'delete';

const iso = (v: unknown): string | undefined => (v instanceof Date ? v.toISOString() : typeof v === 'string' ? v : undefined);

export function plainUser(u: unknown): OktaUser {
  const x = (u ?? {}) as Record<string, unknown>;
  const profile = { ...((x.profile ?? {}) as Record<string, unknown>) };
  const out: OktaUser = { id: String(x.id), status: String(x.status) as UserStatus, profile };
  const t = x.transitioningToStatus;
  if (typeof t === 'string' && t) out.transitioningToStatus = t;
  const created = iso(x.created);
  if (created) out.created = created;
  const lu = iso(x.lastUpdated);
  if (lu) out.lastUpdated = lu;
  const type = x.type as { id?: unknown } | undefined;
  if (type && typeof type.id === 'string') out.typeId = type.id;
  return out;
}

/** RFC 8288 Link header → rel → URL (Okta sends one header per rel; fetch joins them with ", "). */
export function parseLinks(h: string | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const m of (h ?? '').matchAll(/<([^>]+)>\s*;\s*rel="?([^";]+)"?/g)) out[m[2] as string] = m[1] as string;
  return out;
}

export class OktaApi {
  readonly client: Client;
  readonly executor: PacedExecutor;
  readonly orgUrl: string;
  readonly #log: Logger | undefined;

  constructor(s: OktaSettings, logger?: Logger) {
    this.orgUrl = s.orgUrl;
    this.#log = logger;
    this.executor = new PacedExecutor({ maxRetries: s.maxRetries, requestTimeoutMs: s.requestTimeoutMs, maxConcurrent: s.maxConcurrentRequests });
    this.executor.on('backoff', (_req: unknown, _res: unknown, requestId: string, delayMs: number) =>
      this.#log?.warn({ requestId, delayMs }, 'Okta answered 429: every request waits for the announced reset'),
    );
    // Every key explicit, so that ~/.okta/okta.yaml or OKTA_CLIENT_* cannot leak in.
    const common = { orgUrl: s.orgUrl, cacheMiddleware: null, requestExecutor: this.executor, userAgent: 'agentroster' };
    this.client =
      s.auth.mode === 'SSWS'
        ? new Client({ ...common, authorizationMode: 'SSWS', token: s.auth.token })
        : new Client({
            ...common,
            authorizationMode: 'PrivateKey',
            clientId: s.auth.clientId,
            scopes: s.auth.scopes,
            privateKey: s.auth.privateKey,
            ...(s.auth.keyId ? { keyId: s.auth.keyId } : {}),
          });
  }

  /** Run an SDK call; failures become OktaFailure. */
  async call<T>(fn: (c: Client) => Promise<T>): Promise<T> {
    try {
      return await fn(this.client);
    } catch (e) {
      throw oktaFailure(e) ?? e;
    }
  }

  /** A request through the SDK's authenticated http (same executor); JSON in and out. */
  async raw<T = unknown>(method: string, pathOrUrl: string, body?: unknown, headers: Record<string, string> = {}): Promise<RawResponse<T>> {
    const url = pathOrUrl.startsWith('http') ? pathOrUrl : `${this.orgUrl}${pathOrUrl}`;
    if (!url.startsWith(`${this.orgUrl}/`)) throw new Error(`refusing to send the Okta credential to ${new URL(url).origin}`);
    const request: Record<string, unknown> = {
      method: method.toLowerCase(),
      headers: { Accept: 'application/json', ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers },
    };
    if (body !== undefined) request.body = JSON.stringify(body);
    const res = await this.call((c) => c.http.http(url, request as never));
    const text = await (res as unknown as { text(): Promise<string> }).text();
    let parsed: unknown = undefined;
    if (text) {
      try {
        parsed = JSON.parse(text);
      } catch {
        parsed = text;
      }
    }
    return { status: res.status, headers: res.headers as unknown as RawResponse['headers'], body: parsed as T };
  }

  // ───────────────────────────────────────────────────────────── users

  /** GET /api/v1/users/{id or login}: current (not the lagging search index). undefined on 404. */
  async getUser(idOrLogin: string): Promise<OktaUser | undefined> {
    try {
      return plainUser(await this.call((c) => c.userApi.getUser({ userId: idOrLogin })));
    } catch (e) {
      if (oktaFailure(e)?.notFound) return undefined;
      throw e;
    }
  }

  async createUser(body: Record<string, unknown>, o: { activate: boolean }): Promise<OktaUser> {
    // provider=true: a FEDERATION credential without a password (agents never sign in to Okta)
    return plainUser(await this.call((c) => c.userApi.createUser({ body: body as never, activate: o.activate, provider: true })));
  }

  /** POST /api/v1/users/{id}: partial profile update (merge). */
  async updateProfile(id: string, profile: Record<string, unknown>): Promise<OktaUser> {
    return plainUser(await this.call((c) => c.userApi.updateUser({ userId: id, user: { profile: profile as never } })));
  }

  async lifecycle(id: string, action: LifecycleAction): Promise<void> {
    await this.call(async (c) => {
      switch (action) {
        case 'activate':
          await c.userApi.activateUser({ userId: id, sendEmail: false });
          return;
        case 'suspend':
          await c.userApi.suspendUser({ userId: id });
          return;
        case 'unsuspend':
          await c.userApi.unsuspendUser({ userId: id });
          return;
        case 'deactivate':
          await c.userApi.deactivateUser({ userId: id, sendEmail: false });
          return;
        case 'delete':
          await c.userApi.deleteUser({ userId: id, sendEmail: false });
          return;
      }
    });
  }

  /** The user's direct OKTA_GROUP memberships (the built-in Everyone group left out). */
  async userGroups(id: string): Promise<string[]> {
    return this.call(async (c) => {
      const out: string[] = [];
      for await (const g of await c.userApi.listUserGroups({ userId: id })) {
        if (!g || g.type === 'BUILT_IN' || (g.profile as { name?: string } | undefined)?.name === 'Everyone') continue;
        if (g.id) out.push(g.id);
      }
      return out;
    });
  }

  async addToGroup(groupId: string, userId: string): Promise<void> {
    await this.call((c) => c.groupApi.assignUserToGroup({ groupId, userId }));
  }

  async removeFromGroup(groupId: string, userId: string): Promise<void> {
    await this.call((c) => c.groupApi.unassignUserFromGroup({ groupId, userId }));
  }

  /** Members of a group (ids), every page. */
  async groupMembers(groupId: string): Promise<string[]> {
    return this.call(async (c) => {
      const out: string[] = [];
      for await (const u of await c.groupApi.listGroupUsers({ groupId, limit: 1000 })) if (u?.id) out.push(u.id);
      return out;
    });
  }

  /** Users matching a `search` or `filter` expression, every page (a finite list: for-await ends). */
  async listUsers(q: { search?: string; filter?: string }): Promise<OktaUser[]> {
    return this.call(async (c) => {
      const out: OktaUser[] = [];
      for await (const u of await c.userApi.listUsers({ ...q, limit: 200 })) if (u) out.push(plainUser(u));
      return out;
    });
  }
}
