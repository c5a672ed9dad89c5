// Finding people and resources in Entra: a sponsor's user (by externalId = object id, then UPN,
// then mail), a co-sponsor group (by externalId, then displayName), and an app role (resource by
// appId or object id, role by id or value). Lookups are cached (10 min, misses 1 min) so that
// 10,000 agents sharing 50 sponsors cost 50 reads.

import type { Logger } from 'pino';
import type { EntitlementMapping, SponsorRef } from '../../sync/connector.js';
import { PermanentError } from '../../sync/errors.js';
import { GraphApiError, toSyncError } from './errors.js';
import type { GraphClient } from './graph.js';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const HIT_MS = 10 * 60_000;
const MISS_MS = 60_000;

export interface ResolvedPrincipal {
  id: string;
  kind: 'user' | 'group';
  /** UPN or group name, for messages and notes */
  name: string;
  /** groups: may sponsor an agent identity (Microsoft 365 or dynamic, not role-assignable) */
  sponsorable: boolean;
}

export interface ResolvedRole {
  /** `${appId}|${role}` as the catalogue wrote it */
  ref: string;
  resourceId: string;
  appRoleId: string;
}

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;

export class EntraDirectory {
  readonly #cache = new Map<string, { at: number; ttl: number; value: unknown }>();
  /** lookups in flight: concurrent converges of agents sharing a sponsor wait for one request */
  readonly #inflight = new Map<string, Promise<unknown>>();

  constructor(
    private readonly graph: GraphClient,
    private readonly log?: Logger,
  ) {}

  async #cached<T>(key: string, load: () => Promise<T | null>): Promise<T | null> {
    const hit = this.#cache.get(key);
    if (hit && Date.now() - hit.at < hit.ttl) return hit.value as T | null;
    const running = this.#inflight.get(key);
    if (running) return running as Promise<T | null>;
    const p = load().then((value) => {
      if (this.#cache.size > 50_000) this.#cache.clear();
      this.#cache.set(key, { at: Date.now(), ttl: value === null ? MISS_MS : HIT_MS, value });
      return value;
    });
    this.#inflight.set(key, p);
    try {
      return await p;
    } finally {
      this.#inflight.delete(key);
    }
  }

  clear(): void {
    this.#cache.clear();
  }

  async principal(ref: SponsorRef, signal: AbortSignal): Promise<ResolvedPrincipal | null> {
    const key = `${ref.kind}|${ref.id}|${ref.externalId ?? ''}|${ref.userName ?? ''}|${ref.emails[0] ?? ''}|${ref.displayName ?? ''}`;
    return this.#cached(key, () => (ref.kind === 'user' ? this.#user(ref, signal) : this.#group(ref, signal)));
  }

  async #getOr404<T>(path: string, signal: AbortSignal): Promise<T | null> {
    try {
      return (await this.graph.get<T>(path, signal)).body;
    } catch (e) {
      if (e instanceof GraphApiError && (e.status === 404 || (e.status === 400 && e.code === 'Request_BadRequest'))) return null;
      if (e instanceof GraphApiError) throw toSyncError(e, `looking up ${path}`, path.startsWith('/groups') ? 'groups' : 'users');
      throw e;
    }
  }

  async #user(ref: SponsorRef, signal: AbortSignal): Promise<ResolvedPrincipal | null> {
    type U = { id: string; userPrincipalName?: string };
    const sel = '$select=id,userPrincipalName';
    const found = (u: U | null | undefined): ResolvedPrincipal | null =>
      u?.id ? { id: u.id.toLowerCase(), kind: 'user', name: u.userPrincipalName ?? u.id, sponsorable: true } : null;
    if (ref.externalId && GUID.test(ref.externalId)) {
      const u = found(await this.#getOr404<U>(`/users/${ref.externalId}?${sel}`, signal));
      if (u) return u;
    }
    for (const upn of [ref.userName, ref.externalId].filter((x): x is string => !!x && x.includes('@'))) {
      const u = found(await this.#getOr404<U>(`/users/${encodeURIComponent(upn)}?${sel}`, signal));
      if (u) return u;
    }
    for (const mail of ref.emails) {
      const r = await this.#getOr404<{ value?: U[] }>(`/users?$filter=${encodeURIComponent(`mail eq ${quote(mail)}`)}&${sel}`, signal);
      const u = found(r?.value?.[0]);
      if (u) return u;
    }
    return null;
  }

  async #group(ref: SponsorRef, signal: AbortSignal): Promise<ResolvedPrincipal | null> {
    type G = { id: string; displayName?: string; groupTypes?: string[]; isAssignableToRole?: boolean | null };
    const sel = '$select=id,displayName,groupTypes,isAssignableToRole';
    const found = (g: G | null | undefined): ResolvedPrincipal | null => {
      if (!g?.id) return null;
      const types = g.groupTypes ?? [];
      return {
        id: g.id.toLowerCase(),
        kind: 'group',
        name: g.displayName ?? g.id,
        sponsorable: g.isAssignableToRole !== true && (types.includes('Unified') || types.includes('DynamicMembership')),
      };
    };
    if (ref.externalId && GUID.test(ref.externalId)) {
      const g = found(await this.#getOr404<G>(`/groups/${ref.externalId}?${sel}`, signal));
      if (g) return g;
    }
    if (ref.displayName) {
      const r = await this.#getOr404<{ value?: G[] }>(`/groups?$filter=${encodeURIComponent(`displayName eq ${quote(ref.displayName)}`)}&${sel}`, signal);
      if (r?.value?.length === 1) return found(r.value[0]);
      if ((r?.value?.length ?? 0) > 1) this.log?.warn({ group: ref.displayName }, 'several Entra groups share this displayName: set the Group\'s externalId to the Entra object id');
    }
    return null;
  }

  /** The service principal and role an appRole mapping names; PermanentError when it does not exist. */
  async appRole(m: EntitlementMapping, entitlement: string, signal: AbortSignal): Promise<ResolvedRole> {
    const app = m.appId ?? '';
    const role = m.remoteId ?? '';
    const ref = `${app}|${role}`;
    if (!app || !role) {
      throw new PermanentError(`entitlement "${entitlement}": an appRole mapping needs appId (the resource application) and remoteId (the app role id or value)`, 'catalogue');
    }
    type SP = { id: string; appId?: string; appRoles?: { id: string; value?: string | null; isEnabled?: boolean; allowedMemberTypes?: string[] }[] };
    const sp = await this.#cached<SP>(`sp|${app}`, async () => {
      const sel = '$select=id,appId,appRoles';
      const byAppId = await this.#getOr404<SP>(`/servicePrincipals(appId=${quote(app)})?${sel}`, signal);
      if (byAppId) return byAppId;
      return GUID.test(app) ? this.#getOr404<SP>(`/servicePrincipals/${app}?${sel}`, signal) : null;
    });
    if (!sp) {
      throw new PermanentError(`entitlement "${entitlement}": no service principal with appId or id "${app}" in the tenant (the resource application of the app role)`, 'catalogue');
    }
    const r = (sp.appRoles ?? []).find((x) => x.id.toLowerCase() === role.toLowerCase() || (x.value ?? '') === role);
    if (!r) throw new PermanentError(`entitlement "${entitlement}": the application "${app}" has no app role "${role}"`, 'catalogue');
    return { ref, resourceId: sp.id.toLowerCase(), appRoleId: r.id.toLowerCase() };
  }
}
