// The three ways an agent can be represented in Entra (reference/entra.md §1.2, §1.5):
// - agentIdentity (preferred): an Agent ID agent identity under a blueprint, with sponsors;
// - servicePrincipal (tenants without Agent ID): an application (upserted by uniqueName) and its
//   service principal; the sponsor is recorded in the service principal's notes (owners would gain
//   admin rights over the app, so they are not used);
// - user: a member user with employeeType (default "AIAgent"), UPN agent-<id>@<domain>, the sponsor
//   as manager.
// Each finds its object again by something carrying our id (tag, uniqueName, UPN), so a create
// whose response was lost never leaves a duplicate.

import { randomBytes } from 'node:crypto';
import type { DesiredAgent, RemoteObservation } from '../../sync/connector.js';
import { PermanentError, RemoteGoneError, RetryableError } from '../../sync/errors.js';
import type { ResolvedPrincipal } from './directory.js';
import { GraphApiError, OutcomeUnknownError, toSyncError } from './errors.js';
import type { GraphClient } from './graph.js';
import { type EntraMapping, type EntraSettings, TAG_PREFIX } from './settings.js';

export interface SponsorLink {
  /** our User/Group id */
  ref: string;
  /** Entra object id */
  id: string;
}

export interface CreateResult {
  id: string;
  blueprint?: string;
  appId?: string;
  appObjectId?: string;
  upn?: string;
  /** sponsors set by the create itself */
  sponsors: SponsorLink[];
}

export interface ObjectPatch {
  displayName?: string;
  accountEnabled?: boolean;
}

export interface Strategy {
  readonly kind: EntraMapping;
  /** externalIdentities.objectType */
  readonly objectType: string;
  readonly supportsDelta: boolean;
  /** path of the principal for memberOf / appRoleAssignments: /servicePrincipals/{id} or /users/{id} */
  principalPath(id: string): string;
  create(d: DesiredAgent, sponsors: { link: SponsorLink; p: ResolvedPrincipal }[], signal: AbortSignal): Promise<CreateResult>;
  /** objects carrying this agent's id (its tag, uniqueName or UPN) */
  findOwn(agentId: string, signal: AbortSignal): Promise<RemoteObservation[]>;
  /** full observation of one object (state and sponsors) */
  observe(id: string, signal: AbortSignal): Promise<RemoteObservation>;
  patch(id: string, p: ObjectPatch, signal: AbortSignal): Promise<void>;
  /**
   * Deletes the object. A 404 means it is gone already, unless `missingOk` is false: right after a
   * create, Graph's replicas may not know the object yet, and taking that 404 for "gone" would
   * leave it behind (the caller retries the replication race then).
   */
  remove(id: string, state: { appObjectId?: string }, signal: AbortSignal, opts?: { missingOk?: boolean }): Promise<void>;
  restore(id: string, signal: AbortSignal): Promise<boolean>;
  /** bring the sponsors (or manager/notes) from `have` to `want`; returns human-readable changes */
  setSponsors(id: string, want: { link: SponsorLink; p: ResolvedPrincipal }[], have: SponsorLink[], signal: AbortSignal): Promise<string[]>;
  /** every managed object (observed state and sponsors where cheap) */
  list(signal: AbortSignal): Promise<RemoteObservation[]>;
}

export const tagOf = (agentId: string) => `${TAG_PREFIX}${agentId}`;

export function agentIdFromTags(tags: unknown): string | undefined {
  if (!Array.isArray(tags)) return undefined;
  for (const t of tags) if (typeof t === 'string' && t.startsWith(TAG_PREFIX)) return t.slice(TAG_PREFIX.length);
  return undefined;
}

const quote = (s: string) => `'${s.replace(/'/g, "''")}'`;
const enc = encodeURIComponent;

/** A failed call as a SyncError (what = what we were doing). */
function fail(e: unknown, what: string, perm: Parameters<typeof toSyncError>[2]): never {
  if (e instanceof GraphApiError) throw toSyncError(e, what, perm);
  if (e instanceof OutcomeUnknownError) throw new RetryableError(`${what}: ${e.message}`, 'outcomeUnknown');
  throw e;
}

type Obj = Record<string, unknown> & { id: string };

function observation(o: Obj, agentId?: string): RemoteObservation {
  const out: RemoteObservation = { remoteId: String(o.id).toLowerCase(), exists: true };
  const a = agentId ?? agentIdFromTags(o.tags);
  if (a) out.agentId = a;
  if (typeof o.accountEnabled === 'boolean') out.enabled = o.accountEnabled;
  if (typeof o.displayName === 'string') out.displayName = o.displayName;
  if (typeof o.createdDateTime === 'string') out.createdAt = o.createdDateTime;
  if (Array.isArray(o.sponsors)) out.sponsors = (o.sponsors as Obj[]).map((s) => String(s.id).toLowerCase());
  return out;
}

// ───────────────────────────────────────────────────────────────────── agent identity

export class AgentIdentityStrategy implements Strategy {
  readonly kind = 'agentIdentity' as const;
  readonly objectType = 'agentIdentity';
  readonly supportsDelta = true;
  /** blueprint appId → full since (ms) */
  readonly #full = new Map<string, number>();
  /** blueprint → identities counted or created by us (a soft estimate; LimitExceeded is authoritative) */
  readonly #count = new Map<string, number>();
  #counted: Promise<void> | undefined;

  constructor(
    private readonly g: GraphClient,
    private readonly s: EntraSettings,
  ) {}

  #item(id: string): string {
    return `/servicePrincipals/${id}/microsoft.graph.agentIdentity`;
  }

  principalPath(id: string): string {
    return `/servicePrincipals/${id}`;
  }

  /** counts per blueprint, once ($count needs ConsistencyLevel: eventual; a failure just means "unknown") */
  async #countAll(signal: AbortSignal): Promise<void> {
    this.#counted ??= (async () => {
      for (const bp of this.s.blueprintIds) {
        try {
          const r = await this.g.get<{ '@odata.count'?: number }>(
            `/servicePrincipals/microsoft.graph.agentIdentity?$filter=${enc(`agentIdentityBlueprintId eq ${quote(bp)}`)}&$count=true&$top=1&$select=id`,
            signal,
            { ConsistencyLevel: 'eventual' },
          );
          if (typeof r.body['@odata.count'] === 'number') this.#count.set(bp, r.body['@odata.count']);
        } catch {
          // unknown: fill it until Graph says AgentIdentity_LimitExceeded
        }
      }
    })();
    await this.#counted;
  }

  #pick(): string | undefined {
    const now = Date.now();
    for (const bp of this.s.blueprintIds) {
      const fullSince = this.#full.get(bp);
      if (fullSince !== undefined && now - fullSince < 3_600_000) continue; // re-try a full one hourly (purges free space)
      if ((this.#count.get(bp) ?? 0) >= this.s.agentsPerBlueprint) continue;
      return bp;
    }
    return undefined;
  }

  async create(d: DesiredAgent, sponsors: { link: SponsorLink; p: ResolvedPrincipal }[], signal: AbortSignal): Promise<CreateResult> {
    await this.#countAll(signal);
    for (;;) {
      const bp = this.#pick();
      if (!bp) {
        throw new PermanentError(
          `every configured agent identity blueprint is full (${this.s.agentsPerBlueprint} identities each, soft-deleted ones included): add a blueprint to AGENTROSTER_ENTRA_BLUEPRINT_ID (comma-separated) or permanently delete unneeded identities`,
          'AgentIdentity_LimitExceeded',
        );
      }
      this.#count.set(bp, (this.#count.get(bp) ?? 0) + 1); // reserve
      try {
        const r = await this.g.request<Obj>(
          {
            method: 'POST',
            path: '/servicePrincipals/microsoft.graph.agentIdentity',
            idempotent: false,
            headers: { 'OData-Version': '4.0' },
            body: {
              displayName: d.displayName,
              agentIdentityBlueprintId: bp,
              accountEnabled: d.enabled,
              tags: [tagOf(d.id)],
              'sponsors@odata.bind': sponsors.map((s) => this.g.ref(s.p.kind === 'group' ? 'groups' : 'users', s.p.id)),
            },
          },
          signal,
        );
        return { id: String(r.body.id).toLowerCase(), blueprint: bp, sponsors: sponsors.map((s) => s.link) };
      } catch (e) {
        this.#count.set(bp, Math.max(0, (this.#count.get(bp) ?? 1) - 1));
        if (e instanceof GraphApiError && e.code === 'AgentIdentity_LimitExceeded') {
          this.#full.set(bp, Date.now());
          this.#count.set(bp, this.s.agentsPerBlueprint);
          continue; // nothing was created: the next blueprint
        }
        if (e instanceof GraphApiError && e.code === 'AgentIdentity_AgentBlueprintPrincipalDoesNotExist') {
          throw new PermanentError(
            `blueprint ${bp}: ${e.message} Create the blueprint's principal in this tenant (POST /servicePrincipals/microsoft.graph.agentIdentityBlueprintPrincipal {"appId":"${bp}"}) or fix AGENTROSTER_ENTRA_BLUEPRINT_ID.`,
            e.code,
          );
        }
        if (e instanceof OutcomeUnknownError) throw e;
        fail(e, `creating the agent identity of agent ${d.id}`, 'createAgent');
      }
    }
  }

  async findOwn(agentId: string, signal: AbortSignal): Promise<RemoteObservation[]> {
    try {
      const items = await this.g.all<Obj>(
        `/servicePrincipals/microsoft.graph.agentIdentity?$filter=${enc(`tags/any(t:t eq ${quote(tagOf(agentId))})`)}&$select=id,displayName,accountEnabled,tags,createdDateTime,agentIdentityBlueprintId`,
        signal,
      );
      return items.map((o) => observation(o, agentId));
    } catch (e) {
      return fail(e, `looking for agent ${agentId} by its tag`, 'readAgent');
    }
  }

  async observe(id: string, signal: AbortSignal): Promise<RemoteObservation> {
    try {
      const r = await this.g.get<Obj>(`${this.#item(id)}?$expand=${enc('sponsors($select=id)')}`, signal);
      return observation(r.body);
    } catch (e) {
      if (e instanceof GraphApiError && e.status === 404) return { remoteId: id, exists: false };
      return fail(e, `reading agent identity ${id}`, 'readAgent');
    }
  }

  async patch(id: string, p: ObjectPatch, signal: AbortSignal): Promise<void> {
    await this.g.request({ method: 'PATCH', path: this.#item(id), body: p }, signal);
  }

  async remove(id: string, _state: { appObjectId?: string }, signal: AbortSignal, { missingOk = true } = {}): Promise<void> {
    try {
      await this.g.request({ method: 'DELETE', path: this.#item(id) }, signal);
    } catch (e) {
      if (e instanceof GraphApiError && e.status === 404) {
        if (missingOk) return;
        throw e;
      }
      fail(e, `deleting agent identity ${id}`, 'deleteAgent');
    }
  }

  async restore(id: string, signal: AbortSignal): Promise<boolean> {
    try {
      await this.g.request({ method: 'POST', path: `/directory/deletedItems/${id}/restore` }, signal);
      return true;
    } catch (e) {
      if (e instanceof GraphApiError && (e.status === 404 || e.status === 400)) return false;
      return fail(e, `restoring agent identity ${id}`, 'restore');
    }
  }

  async setSponsors(id: string, want: { link: SponsorLink; p: ResolvedPrincipal }[], have: SponsorLink[], signal: AbortSignal): Promise<string[]> {
    const changes: string[] = [];
    const haveIds = new Set(have.map((h) => h.id));
    const wantIds = new Set(want.map((w) => w.p.id));
    // add first: an agent identity must keep at least one sponsor
    for (const w of want) {
      if (haveIds.has(w.p.id)) continue;
      try {
        await this.g.request({ method: 'POST', path: `${this.#item(id)}/sponsors/$ref`, body: { '@odata.id': this.g.ref('directoryObjects', w.p.id) } }, signal);
      } catch (e) {
        if (!(e instanceof GraphApiError && e.alreadyExists)) throw e;
      }
      changes.push(`sponsor +${w.p.name}`);
    }
    for (const h of have) {
      if (wantIds.has(h.id)) continue;
      try {
        await this.g.request({ method: 'DELETE', path: `${this.#item(id)}/sponsors/${h.id}/$ref` }, signal);
      } catch (e) {
        if (!(e instanceof GraphApiError && e.doesNotExist)) throw e;
      }
      changes.push(`sponsor -${h.ref}`);
    }
    return changes;
  }

  async list(signal: AbortSignal): Promise<RemoteObservation[]> {
    const out: RemoteObservation[] = [];
    for (const bp of this.s.blueprintIds) {
      const path =
        `/servicePrincipals/microsoft.graph.agentIdentity?$filter=${enc(`agentIdentityBlueprintId eq ${quote(bp)}`)}` +
        `&$select=id,displayName,accountEnabled,tags,createdDateTime&$expand=${enc('sponsors($select=id)')}&$top=100`;
      try {
        for await (const page of this.g.pages<Obj>(path, signal)) {
          for (const o of page) {
            const obs = observation(o);
            if (obs.agentId) out.push(obs);
          }
        }
      } catch (e) {
        fail(e, `listing the agent identities of blueprint ${bp}`, 'readAgent');
      }
    }
    return out;
  }
}

// ───────────────────────────────────────────────────────────────────── application + service principal

export class ServicePrincipalStrategy implements Strategy {
  readonly kind = 'servicePrincipal' as const;
  readonly objectType = 'servicePrincipal';
  readonly supportsDelta = true;

  constructor(private readonly g: GraphClient) {}

  principalPath(id: string): string {
    return `/servicePrincipals/${id}`;
  }

  #uniqueName(agentId: string): string {
    return `agentroster-${agentId}`;
  }

  async create(d: DesiredAgent, sponsors: { link: SponsorLink; p: ResolvedPrincipal }[], signal: AbortSignal): Promise<CreateResult> {
    const unique = this.#uniqueName(d.id);
    const appKey = `/applications(uniqueName=${quote(unique)})`;
    let app: Obj | undefined;
    try {
      // upsert: idempotent by nature (201 created, 204 updated)
      const r = await this.g.request<Obj | undefined>(
        { method: 'PATCH', path: appKey, headers: { Prefer: 'create-if-missing' }, body: { displayName: d.displayName, tags: [tagOf(d.id)] } },
        signal,
      );
      if (r.status === 201 && r.body) app = r.body;
    } catch (e) {
      if (!(e instanceof GraphApiError && e.objectConflict)) fail(e, `upserting the application of agent ${d.id}`, 'applications');
    }
    if (!app) {
      try {
        app = (await this.g.get<Obj>(`${appKey}?$select=id,appId`, signal)).body;
      } catch (e) {
        fail(e, `reading the application of agent ${d.id}`, 'applications');
      }
    }
    const appId = String(app.appId);
    let spId: string;
    try {
      const r = await this.g.request<Obj>(
        { method: 'POST', path: '/servicePrincipals', body: { appId, accountEnabled: d.enabled, tags: [tagOf(d.id)], notes: sponsorNotes(sponsors.map((s) => s.p)) } },
        signal,
      );
      spId = String(r.body.id);
    } catch (e) {
      // already there (a retry after a lost response): 409 Request_MultipleObjectsWithSameKeyValue
      if (e instanceof GraphApiError && (e.status === 409 || e.objectConflict)) {
        spId = String((await this.g.get<Obj>(`/servicePrincipals(appId=${quote(appId)})?$select=id`, signal)).body.id);
      } else if (e instanceof GraphApiError && /does not reference a valid application/i.test(e.message)) {
        throw new RetryableError(`the application ${appId} is still replicating`, 'replicationLag');
      } else {
        fail(e, `creating the service principal of agent ${d.id}`, 'applications');
      }
    }
    return { id: spId.toLowerCase(), appId, appObjectId: String(app.id), sponsors: sponsors.map((s) => s.link) };
  }

  async findOwn(agentId: string, signal: AbortSignal): Promise<RemoteObservation[]> {
    try {
      const items = await this.g.all<Obj>(
        `/servicePrincipals?$filter=${enc(`tags/any(t:t eq ${quote(tagOf(agentId))})`)}&$select=id,appId,displayName,accountEnabled,tags,createdDateTime`,
        signal,
      );
      return items.map((o) => observation(o, agentId));
    } catch (e) {
      return fail(e, `looking for agent ${agentId} by its tag`, 'applications');
    }
  }

  async observe(id: string, signal: AbortSignal): Promise<RemoteObservation> {
    try {
      return observation((await this.g.get<Obj>(`/servicePrincipals/${id}?$select=id,displayName,accountEnabled,tags,createdDateTime`, signal)).body);
    } catch (e) {
      if (e instanceof GraphApiError && e.status === 404) return { remoteId: id, exists: false };
      return fail(e, `reading service principal ${id}`, 'applications');
    }
  }

  async patch(id: string, p: ObjectPatch, signal: AbortSignal): Promise<void> {
    await this.g.request({ method: 'PATCH', path: `/servicePrincipals/${id}`, body: p }, signal);
  }

  async remove(id: string, state: { appObjectId?: string }, signal: AbortSignal, { missingOk = true } = {}): Promise<void> {
    for (const path of [`/servicePrincipals/${id}`, ...(state.appObjectId ? [`/applications/${state.appObjectId}`] : [])]) {
      try {
        await this.g.request({ method: 'DELETE', path }, signal);
      } catch (e) {
        if (e instanceof GraphApiError && e.status === 404 && !missingOk) throw e;
        if (!(e instanceof GraphApiError && e.status === 404)) fail(e, `deleting ${path}`, 'applications');
      }
    }
  }

  async restore(): Promise<boolean> {
    return false; // the application would need restoring too: create afresh
  }

  async setSponsors(id: string, want: { link: SponsorLink; p: ResolvedPrincipal }[], have: SponsorLink[], signal: AbortSignal): Promise<string[]> {
    const same = want.length === have.length && want.every((w, i) => have[i]?.id === w.p.id);
    if (same) return [];
    await this.g.request({ method: 'PATCH', path: `/servicePrincipals/${id}`, body: { notes: sponsorNotes(want.map((w) => w.p)) } }, signal);
    return [`sponsors (notes): ${want.map((w) => w.p.name).join(', ')}`];
  }

  async list(signal: AbortSignal): Promise<RemoteObservation[]> {
    try {
      const items = await this.g.all<Obj>(
        `/servicePrincipals?$filter=${enc(`tags/any(t:startswith(t,${quote(TAG_PREFIX)}))`)}&$select=id,displayName,accountEnabled,tags,createdDateTime&$top=999`,
        signal,
      );
      return items.map((o) => observation(o)).filter((o) => o.agentId);
    } catch (e) {
      return fail(e, 'listing agentroster service principals', 'applications');
    }
  }
}

function sponsorNotes(ps: ResolvedPrincipal[]): string {
  return `agentroster agent. Sponsor: ${ps[0]?.name ?? 'none'}${ps.length > 1 ? `; co-sponsors: ${ps.slice(1).map((p) => p.name).join(', ')}` : ''}`;
}

// ───────────────────────────────────────────────────────────────────── user with employeeType

export class UserStrategy implements Strategy {
  readonly kind = 'user' as const;
  readonly objectType = 'user';
  readonly supportsDelta = false;

  constructor(
    private readonly g: GraphClient,
    private readonly s: EntraSettings,
  ) {}

  principalPath(id: string): string {
    return `/users/${id}`;
  }

  upn(agentId: string): string {
    return `agent-${agentId}@${this.s.userDomain}`;
  }

  async create(d: DesiredAgent, sponsors: { link: SponsorLink; p: ResolvedPrincipal }[], signal: AbortSignal): Promise<CreateResult> {
    const upn = this.upn(d.id);
    let id: string;
    try {
      const r = await this.g.request<Obj>(
        {
          method: 'POST',
          path: '/users',
          body: {
            accountEnabled: d.enabled,
            displayName: d.displayName,
            mailNickname: `agent-${d.id}`,
            userPrincipalName: upn,
            employeeType: this.s.employeeType,
            // required by Graph; never used, never stored, never logged
            passwordProfile: { password: `${randomBytes(24).toString('base64url')}aA1!`, forceChangePasswordNextSignIn: false },
          },
        },
        signal,
      );
      id = String(r.body.id);
    } catch (e) {
      // a retry after a lost response: the UPN (which carries our id) is taken by our own object
      if (e instanceof GraphApiError && e.objectConflict) {
        id = String((await this.g.get<Obj>(`/users/${enc(upn)}?$select=id`, signal)).body.id);
      } else {
        fail(e, `creating the user of agent ${d.id}`, 'users');
      }
    }
    void sponsors; // the manager is set by the sponsor step that follows (after replication)
    return { id: id.toLowerCase(), upn, sponsors: [] };
  }

  async #setManager(id: string, managerId: string, signal: AbortSignal): Promise<void> {
    await this.g.request({ method: 'PUT', path: `/users/${id}/manager/$ref`, body: { '@odata.id': this.g.ref('users', managerId) } }, signal);
  }

  async findOwn(agentId: string, signal: AbortSignal): Promise<RemoteObservation[]> {
    const o = await this.observe(this.upn(agentId), signal);
    return o.exists ? [{ ...o, agentId }] : [];
  }

  async observe(idOrUpn: string, signal: AbortSignal): Promise<RemoteObservation> {
    try {
      const u = (await this.g.get<Obj>(`/users/${enc(idOrUpn)}?$select=id,displayName,accountEnabled,userPrincipalName,createdDateTime`, signal)).body;
      const obs = observation(u, agentIdFromUpn(u.userPrincipalName));
      return obs;
    } catch (e) {
      if (e instanceof GraphApiError && e.status === 404) return { remoteId: idOrUpn, exists: false };
      return fail(e, `reading user ${idOrUpn}`, 'users');
    }
  }

  async patch(id: string, p: ObjectPatch, signal: AbortSignal): Promise<void> {
    await this.g.request({ method: 'PATCH', path: `/users/${id}`, body: p }, signal);
  }

  async remove(id: string, _s: { appObjectId?: string }, signal: AbortSignal, { missingOk = true } = {}): Promise<void> {
    try {
      await this.g.request({ method: 'DELETE', path: `/users/${id}` }, signal);
    } catch (e) {
      if (e instanceof GraphApiError && e.status === 404 && !missingOk) throw e;
      if (!(e instanceof GraphApiError && e.status === 404)) fail(e, `deleting user ${id}`, 'users');
    }
  }

  async restore(id: string, signal: AbortSignal): Promise<boolean> {
    try {
      await this.g.request({ method: 'POST', path: `/directory/deletedItems/${id}/restore` }, signal);
      return true;
    } catch (e) {
      if (e instanceof GraphApiError && (e.status === 404 || e.status === 400)) return false;
      return fail(e, `restoring user ${id}`, 'users');
    }
  }

  async setSponsors(id: string, want: { link: SponsorLink; p: ResolvedPrincipal }[], have: SponsorLink[], signal: AbortSignal): Promise<string[]> {
    const primary = want.find((w) => w.p.kind === 'user');
    if (!primary || have[0]?.id === primary.p.id) return [];
    await this.#setManager(id, primary.p.id, signal);
    return [`manager ${primary.p.name}`];
  }

  async list(signal: AbortSignal): Promise<RemoteObservation[]> {
    try {
      const items = await this.g.all<Obj>(
        `/users?$filter=${enc(`employeeType eq ${quote(this.s.employeeType)}`)}&$select=id,displayName,accountEnabled,userPrincipalName,createdDateTime&$top=999`,
        signal,
      );
      return items.map((u) => observation(u, agentIdFromUpn(u.userPrincipalName))).filter((o) => o.agentId);
    } catch (e) {
      return fail(e, 'listing agent users', 'users');
    }
  }
}

function agentIdFromUpn(upn: unknown): string | undefined {
  const m = typeof upn === 'string' ? /^agent-([0-9a-f-]{36})@/i.exec(upn) : null;
  return m?.[1]?.toLowerCase();
}

export function strategyFor(g: GraphClient, s: EntraSettings): Strategy {
  if (s.mapping === 'servicePrincipal') return new ServicePrincipalStrategy(g);
  if (s.mapping === 'user') return new UserStrategy(g, s);
  return new AgentIdentityStrategy(g, s);
}

export { RemoteGoneError };
