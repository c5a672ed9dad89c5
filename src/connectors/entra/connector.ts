// The Microsoft Entra ID connector: agents → agent identities (or the fallback mappings) with
// sponsors, accountEnabled from the lifecycle, group memberships and app role assignments from the
// catalogue's mappings; delta and inventory for reconciliation. See src/sync/connector.ts for the
// contract and docs/entra.md for the admin's view.

import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type {
  ApplyContext,
  ApplyResult,
  ChangeKind,
  Connector,
  ConnectorHealth,
  ConnectorLink,
  DeltaResult,
  DesiredAgent,
  DriftReport,
  InventoryScope,
  PlannedChange,
  RemoteObservation,
} from '../../sync/connector.js';
import { PermanentError, RemoteGoneError, RetryableError } from '../../sync/errors.js';
import { sleep, WriteLimiter } from '../../sync/rate-limit.js';
import type { Json } from '../../store/types.js';
import { EntraDirectory, type ResolvedPrincipal, type ResolvedRole } from './directory.js';
import { GraphApiError, OutcomeUnknownError, PERMISSION_HINTS, toSyncError } from './errors.js';
import { GraphClient } from './graph.js';
import type { EntraMapping, EntraSettings } from './settings.js';
import { agentIdFromTags, type SponsorLink, type Strategy, strategyFor } from './strategies.js';
import { TokenProvider } from './token.js';

/** One applied app role assignment. */
export interface AppRoleLink {
  /** `${appId}|${role}` from the catalogue ("remote" when adopted from Entra) */
  ref: string;
  resourceId: string;
  appRoleId: string;
  /** the assignment's id, needed to remove it */
  id?: string;
}

/** The applied baseline kept in the link (see Connector). */
export interface EntraState {
  mapping: EntraMapping;
  blueprint?: string;
  appId?: string;
  appObjectId?: string;
  upn?: string;
  /** when the object was created (replication grace) */
  createdAt?: string;
  /** a create was sent at this time and its answer never came: look it up by tag before creating */
  intent?: string;
  displayName?: string;
  enabled?: boolean;
  sponsors?: SponsorLink[];
  /** undefined: unknown (after a restore) — observed before anything is removed */
  groups?: string[];
  appRoles?: AppRoleLink[];
}

type Wanted = { link: SponsorLink; p: ResolvedPrincipal };

const ORDER: ChangeKind[] = ['create', 'delete', 'disable', 'enable', 'adopt', 'update', 'noop'];
const stronger = (a: ChangeKind, b: ChangeKind): ChangeKind => (ORDER.indexOf(a) <= ORDER.indexOf(b) ? a : b);
const roleKey = (r: { resourceId: string; appRoleId: string }) => `${r.resourceId}/${r.appRoleId}`;

export interface EntraConnectorOptions {
  logger?: Logger;
}

export class EntraConnector implements Connector {
  readonly target = 'entra';
  readonly objectType: string;
  readonly graph: GraphClient;
  readonly strategy: Strategy;
  readonly directory: EntraDirectory;
  readonly #s: EntraSettings;
  readonly #log: Logger | undefined;
  readonly #token: TokenProvider;

  constructor(settings: EntraSettings, o: EntraConnectorOptions = {}) {
    this.#s = settings;
    this.#log = o.logger?.child({ connector: 'entra' });
    this.#token = new TokenProvider({
      tenantId: settings.tenantId,
      clientId: settings.clientId,
      ...(settings.clientSecret ? { clientSecret: settings.clientSecret } : {}),
      ...(settings.certificatePath ? { certificatePath: settings.certificatePath } : {}),
      authorityHost: settings.authorityHost,
      scope: `${settings.graphUrl}/.default`,
      ...(settings.msalNetworkClient ? { networkClient: settings.msalNetworkClient } : {}),
      ...(this.#log ? { logger: this.#log } : {}),
    });
    this.graph = new GraphClient({
      graphUrl: settings.graphUrl,
      apiVersion: settings.apiVersion,
      token: this.#token,
      limiter: new WriteLimiter({ limit: settings.writesPerSecond, windowMs: 1000, marginMs: settings.writeWindowMarginMs }),
      batchMax: settings.batchMax,
      batchLingerMs: settings.batchLingerMs,
      requestTimeoutMs: settings.requestTimeoutMs,
      ...(settings.fetch ? { fetch: settings.fetch } : {}),
      ...(this.#log ? { logger: this.#log } : {}),
    });
    this.directory = new EntraDirectory(this.graph, this.#log);
    this.strategy = strategyFor(this.graph, settings);
    this.objectType = this.strategy.objectType;
  }

  // ─────────────────────────────────────────────────────────────── baseline helpers

  #load(state: Json | undefined): EntraState {
    const s = (state ?? {}) as Partial<EntraState>;
    return { ...s, mapping: s.mapping ?? this.#s.mapping } as EntraState;
  }

  #groupsOf(d: DesiredAgent): string[] {
    const out = new Set<string>();
    for (const e of d.entitlements) for (const m of e.mappings) if (m.kind === 'group' && m.remoteId) out.add(m.remoteId.toLowerCase());
    return [...out].sort();
  }

  #roleRefsOf(d: DesiredAgent): string[] {
    const out = new Set<string>();
    for (const e of d.entitlements) for (const m of e.mappings) if (m.kind === 'appRole') out.add(`${m.appId ?? ''}|${m.remoteId ?? ''}`);
    return [...out].sort();
  }

  fingerprint(d: DesiredAgent): string {
    const material = {
      v: 1,
      m: this.#s.mapping,
      p: d.presence,
      e: d.enabled,
      n: d.displayName,
      s: d.sponsors.map((s) => [s.kind, s.id, s.externalId ?? '', s.userName ?? '', s.emails[0] ?? '', s.kind === 'group' ? (s.displayName ?? '') : '']),
      g: this.#groupsOf(d),
      r: this.#roleRefsOf(d),
    };
    return createHash('sha256').update(JSON.stringify(material)).digest('base64url').slice(0, 32);
  }

  // ─────────────────────────────────────────────────────────────── plan

  plan(d: DesiredAgent, link: ConnectorLink | undefined): PlannedChange {
    const st = this.#load(link?.state);
    if (d.presence !== 'present') {
      return link?.remoteId ? { kind: 'delete', details: [`delete ${this.objectType} ${link.remoteId} (${d.lifecycleState === 'deleted' ? 'agent deleted' : d.presence === 'absent' ? 'retired beyond the grace period' : 'deleted in Entra'})`] } : { kind: 'noop', details: [] };
    }
    const sponsorRefs = d.sponsors.map((s) => s.id);
    if (!link?.remoteId) {
      const details = [
        `${link?.previousRemoteId ? `restore ${link.previousRemoteId} or create` : 'create'} ${this.objectType} "${d.displayName}" (${d.enabled ? 'enabled' : 'disabled'})`,
        `sponsors: ${d.sponsors.map((s) => s.userName ?? s.displayName ?? s.id).join(', ') || 'NONE (will fail: a sponsor is required)'}`,
      ];
      if (st.intent) details.push('an earlier create got no answer: the object is looked up by its tag first');
      const groups = this.#groupsOf(d);
      const roles = this.#roleRefsOf(d);
      if (groups.length) details.push(`groups: +${groups.join(', +')}`);
      if (roles.length) details.push(`app roles: +${roles.join(', +')}`);
      return { kind: 'create', details };
    }
    let kind: ChangeKind = 'noop';
    const details: string[] = [];
    if (st.enabled !== d.enabled) {
      kind = d.enabled ? 'enable' : 'disable';
      details.push(d.enabled ? 'enable (accountEnabled: true)' : 'disable (accountEnabled: false)');
    }
    if (st.displayName !== d.displayName) {
      kind = stronger(kind, 'update');
      details.push(`displayName "${d.displayName}"`);
    }
    const have = (st.sponsors ?? []).map((s) => s.ref);
    const plus = sponsorRefs.filter((r) => !have.includes(r));
    const minus = have.filter((r) => !sponsorRefs.includes(r));
    if (plus.length || minus.length) {
      kind = stronger(kind, 'update');
      details.push(`sponsors: ${[...plus.map((r) => `+${r}`), ...minus.map((r) => `-${r}`)].join(', ')}`);
    }
    const gw = this.#groupsOf(d);
    const gh = st.groups ?? [];
    const gd = [...gw.filter((g) => !gh.includes(g)).map((g) => `+${g}`), ...gh.filter((g) => !gw.includes(g)).map((g) => `-${g}`)];
    if (gd.length) {
      kind = stronger(kind, 'update');
      details.push(`groups: ${gd.join(', ')}`);
    }
    const rw = this.#roleRefsOf(d);
    const rh = (st.appRoles ?? []).map((r) => r.ref);
    const rd = [...rw.filter((r) => !rh.includes(r)).map((r) => `+${r}`), ...rh.filter((r) => !rw.includes(r)).map((r) => `-${r}`)];
    if (rd.length) {
      kind = stronger(kind, 'update');
      details.push(`app roles: ${rd.join(', ')}`);
    }
    return { kind, details };
  }

  // ─────────────────────────────────────────────────────────────── apply

  async apply(d: DesiredAgent, link: ConnectorLink | undefined, ctx: ApplyContext): Promise<ApplyResult> {
    const signal = ctx.signal;
    let st = this.#load(link?.state);
    let remoteId = link?.remoteId;
    const objectType = this.objectType;
    if (d.presence !== 'present') {
      if (remoteId) {
        const id = remoteId;
        // a 404 for an object created moments ago is the replication race, not proof it is gone
        const young = st.createdAt !== undefined && Date.now() - Date.parse(st.createdAt) < Math.max(this.#s.createConfirmMs, 120_000);
        await this.#op(`deleting ${objectType} ${id}`, 'deleteAgent', young, signal, () => this.strategy.remove(id, st, signal, { missingOk: !young }));
        return { link: null, change: { kind: 'delete', details: [`deleted ${objectType} ${id}`] }, objectType };
      }
      if (st.intent) {
        // a create of unknown outcome: make sure it left nothing behind
        const found = await this.strategy.findOwn(d.id, signal);
        for (const o of found) await this.strategy.remove(o.remoteId, {}, signal);
        // not visible (yet): the tag index trails writes, so an empty answer proves nothing until
        // the confirmation window has passed; forgetting the intent now would leak the object
        const waited = Date.now() - Date.parse(st.intent);
        if (found.length === 0 && waited < this.#s.createConfirmMs) {
          throw new RetryableError(
            `the last create of agent ${d.id} got no answer and the object is not visible yet; waiting ${Math.ceil((this.#s.createConfirmMs - waited) / 1000)} s more before concluding there is nothing to delete`,
            'outcomeUnknown',
            this.#s.createConfirmMs - waited,
          );
        }
      }
      return { link: null, change: { kind: 'noop', details: [] }, objectType };
    }
    const sponsors = await this.#sponsors(d, signal);
    const groups = this.#groupsOf(d);
    const roles = await this.#roles(d, signal);
    const details: string[] = [];
    let kind: ChangeKind = 'noop';
    if (!remoteId) {
      const got = await this.#obtain(d, link, st, sponsors, ctx);
      remoteId = got.remoteId;
      st = got.state;
      kind = got.kind;
      details.push(...got.details);
    }
    const young = st.createdAt !== undefined && Date.now() - Date.parse(st.createdAt) < Math.max(this.#s.createConfirmMs, 120_000);
    try {
      kind = await this.#converge(remoteId, st, d, sponsors, groups, roles, details, young, kind, signal);
    } catch (e) {
      await ctx.checkpoint({ remoteId, state: st as unknown as Json });
      throw e;
    }
    return { link: { remoteId, state: st as unknown as Json }, change: { kind, details }, objectType };
  }

  /** Restore, adopt (a lost create found by its tag) or create the object. */
  async #obtain(
    d: DesiredAgent,
    link: ConnectorLink | undefined,
    prior: EntraState,
    sponsors: Wanted[],
    ctx: ApplyContext,
  ): Promise<{ remoteId: string; state: EntraState; kind: ChangeKind; details: string[] }> {
    const signal = ctx.signal;
    const mapping = this.#s.mapping;
    if (link?.previousRemoteId && (await this.strategy.restore(link.previousRemoteId, signal))) {
      const id = link.previousRemoteId;
      const obs = await this.#op(`reading restored ${id}`, 'readAgent', true, signal, () => this.strategy.observe(id, signal));
      if (obs.exists) {
        // grants unknown after a restore: observed (and kept only where wanted) before converging
        const state: EntraState = { ...this.#fromObservation(obs), groups: undefined, appRoles: undefined, createdAt: new Date().toISOString() } as EntraState;
        await ctx.checkpoint({ remoteId: id, state: state as unknown as Json });
        return { remoteId: id, state, kind: 'create', details: [`restored ${this.objectType} ${id} from deleted items`] };
      }
    }
    if (prior.intent) {
      const found = (await this.strategy.findOwn(d.id, signal)).sort((a, b) => (a.createdAt ?? '').localeCompare(b.createdAt ?? ''));
      const keep = found[0];
      if (keep) {
        for (const dup of found.slice(1)) await this.strategy.remove(dup.remoteId, {}, signal);
        const obs = await this.strategy.observe(keep.remoteId, signal);
        // nothing but the create itself can have happened: no grants were added before the link existed
        const state: EntraState = { ...this.#fromObservation(obs.exists ? obs : keep), blueprint: prior.blueprint, createdAt: keep.createdAt ?? prior.intent, groups: [], appRoles: [] } as EntraState;
        if (!state.blueprint) delete state.blueprint;
        await ctx.checkpoint({ remoteId: keep.remoteId, state: state as unknown as Json });
        this.#log?.warn({ agentId: d.id, remoteId: keep.remoteId, duplicatesRemoved: found.length - 1 }, 'found the object of a create whose answer was lost');
        return { remoteId: keep.remoteId, state, kind: 'adopt', details: [`adopted ${this.objectType} ${keep.remoteId} (its create got no answer)`] };
      }
      const waited = Date.now() - Date.parse(prior.intent);
      if (waited < this.#s.createConfirmMs) {
        throw new RetryableError(
          `the last create of agent ${d.id} got no answer and the object is not visible yet; waiting ${Math.ceil((this.#s.createConfirmMs - waited) / 1000)} s more before creating it again`,
          'outcomeUnknown',
          this.#s.createConfirmMs - waited,
        );
      }
    }
    const intent: EntraState = { mapping, intent: new Date().toISOString() };
    await ctx.checkpoint({ state: intent as unknown as Json });
    let r;
    try {
      r = await this.strategy.create(d, sponsors, signal);
    } catch (e) {
      if (e instanceof OutcomeUnknownError) {
        throw new RetryableError(`creating the ${this.objectType} of agent ${d.id}: ${e.message}; it is looked up by its tag before any new create`, 'outcomeUnknown', this.#s.createConfirmMs);
      }
      if (e instanceof RetryableError && e.code === 'outcomeUnknown') throw e;
      await ctx.checkpoint({ state: { mapping } as unknown as Json });
      throw e;
    }
    const state: EntraState = {
      mapping,
      createdAt: new Date().toISOString(),
      displayName: d.displayName,
      enabled: d.enabled,
      sponsors: r.sponsors,
      groups: [],
      appRoles: [],
    };
    if (r.blueprint) state.blueprint = r.blueprint;
    if (r.appId) state.appId = r.appId;
    if (r.appObjectId) state.appObjectId = r.appObjectId;
    if (r.upn) state.upn = r.upn;
    // the remote id is persisted the moment the create returns
    await ctx.checkpoint({ remoteId: r.id, state: state as unknown as Json });
    return { remoteId: r.id, state, kind: 'create', details: [`created ${this.objectType} ${r.id} "${d.displayName}" (${d.enabled ? 'enabled' : 'disabled'})`] };
  }

  #fromObservation(o: RemoteObservation): EntraState {
    const st: EntraState = { mapping: this.#s.mapping };
    if (o.displayName !== undefined) st.displayName = o.displayName;
    if (o.enabled !== undefined) st.enabled = o.enabled;
    if (o.sponsors) st.sponsors = o.sponsors.map((id) => ({ ref: `remote:${id}`, id }));
    if (o.groups) st.groups = [...o.groups];
    if (o.appRoles) {
      st.appRoles = o.appRoles.map((k) => {
        const [resourceId = '', appRoleId = ''] = k.split('/');
        return { ref: 'remote', resourceId, appRoleId };
      });
    }
    if (o.createdAt) st.createdAt = o.createdAt;
    return st;
  }

  async #converge(
    id: string,
    st: EntraState,
    d: DesiredAgent,
    sponsors: Wanted[],
    groups: string[],
    roles: ResolvedRole[],
    details: string[],
    young: boolean,
    kindIn: ChangeKind,
    signal: AbortSignal,
  ): Promise<ChangeKind> {
    let kind = kindIn;
    const s = this.strategy;
    // 1. restrictive first: disable (with a rename in the same PATCH)
    const first: { displayName?: string; accountEnabled?: boolean } = {};
    if (st.enabled !== false && !d.enabled) first.accountEnabled = false;
    if (st.displayName !== d.displayName) first.displayName = d.displayName;
    if (Object.keys(first).length > 0) {
      await this.#op(`updating ${this.objectType} ${id}`, 'updateAgent', young, signal, () => s.patch(id, first, signal), id);
      if (first.accountEnabled === false) {
        st.enabled = false;
        kind = stronger(kind, 'disable');
        details.push('disabled');
      }
      if (first.displayName !== undefined) {
        st.displayName = first.displayName;
        kind = stronger(kind, 'update');
        details.push(`displayName "${first.displayName}"`);
      }
    }
    // grants unknown (after a restore): keep only those already present and wanted
    if (st.groups === undefined || st.appRoles === undefined) await this.#observeGrants(id, st, groups, roles, signal);
    // 2. removals
    for (const g of [...(st.groups ?? [])]) {
      if (groups.includes(g)) continue;
      await this.#op(`removing ${id} from group ${g}`, 'groups', false, signal, async () => {
        try {
          await this.graph.request({ method: 'DELETE', path: `/groups/${g}/members/${id}/$ref` }, signal);
        } catch (e) {
          if (!(e instanceof GraphApiError && e.doesNotExist)) throw e;
        }
      });
      st.groups = (st.groups ?? []).filter((x) => x !== g);
      kind = stronger(kind, 'update');
      details.push(`group -${g}`);
    }
    const wantedRoles = new Set(roles.map(roleKey));
    for (const r of [...(st.appRoles ?? [])]) {
      if (wantedRoles.has(roleKey(r))) continue;
      await this.#op(`removing app role ${roleKey(r)} from ${id}`, 'appRoles', false, signal, async () => {
        const aid = r.id ?? (await this.#findAssignment(id, r, signal));
        if (!aid) return;
        try {
          await this.graph.request({ method: 'DELETE', path: `/servicePrincipals/${r.resourceId}/appRoleAssignedTo/${encodeURIComponent(aid)}` }, signal);
        } catch (e) {
          if (!(e instanceof GraphApiError && e.status === 404)) throw e;
        }
      });
      st.appRoles = (st.appRoles ?? []).filter((x) => roleKey(x) !== roleKey(r));
      kind = stronger(kind, 'update');
      details.push(`app role -${r.ref === 'remote' ? roleKey(r) : r.ref}`);
    }
    // 3. sponsors (added before removed: an agent identity keeps at least one)
    const changes = await this.#op(`updating the sponsors of ${id}`, 'sponsors', young, signal, () => s.setSponsors(id, sponsors, st.sponsors ?? [], signal));
    st.sponsors = sponsors.map((w) => w.link);
    if (changes.length) {
      kind = stronger(kind, 'update');
      details.push(...changes);
    }
    // 4. grants
    for (const g of groups) {
      if ((st.groups ?? []).includes(g)) continue;
      await this.#op(`adding ${id} to group ${g}`, 'groups', false, signal, async () => {
        try {
          await this.graph.request({ method: 'POST', path: `/groups/${g}/members/$ref`, body: { '@odata.id': this.graph.ref('directoryObjects', id) } }, signal);
        } catch (e) {
          if (e instanceof GraphApiError && e.alreadyExists) return;
          if (e instanceof GraphApiError && e.status === 404) {
            throw new PermanentError(`adding ${id} to group ${g}: group ${g} does not exist in the tenant (check the entitlement's mapping in the catalogue)`, e.code);
          }
          throw e;
        }
      });
      st.groups = [...(st.groups ?? []), g];
      kind = stronger(kind, 'update');
      details.push(`group +${g}`);
    }
    for (const r of roles) {
      if ((st.appRoles ?? []).some((x) => roleKey(x) === roleKey(r))) continue;
      const aid = await this.#op(`assigning app role ${r.ref} to ${id}`, 'appRoles', false, signal, async () => {
        try {
          const res = await this.graph.request<{ id?: string }>(
            { method: 'POST', path: `/servicePrincipals/${r.resourceId}/appRoleAssignedTo`, body: { principalId: id, resourceId: r.resourceId, appRoleId: r.appRoleId } },
            signal,
          );
          return res.body?.id;
        } catch (e) {
          if (e instanceof GraphApiError && e.alreadyExists) return this.#findAssignment(id, r, signal);
          throw e;
        }
      });
      st.appRoles = [...(st.appRoles ?? []), { ...r, ...(aid ? { id: aid } : {}) }];
      kind = stronger(kind, 'update');
      details.push(`app role +${r.ref}`);
    }
    // 5. enable last, once everything else is in place
    if (d.enabled && st.enabled !== true) {
      await this.#op(`enabling ${this.objectType} ${id}`, 'updateAgent', young, signal, () => s.patch(id, { accountEnabled: true }, signal), id);
      st.enabled = true;
      kind = stronger(kind, 'enable');
      details.push('enabled');
    }
    // the role refs of the catalogue replace adopted ones
    st.appRoles = (st.appRoles ?? []).map((x) => {
      const r = roles.find((y) => roleKey(y) === roleKey(x));
      return r ? { ...x, ref: r.ref } : x;
    });
    return kind;
  }

  async #findAssignment(principalId: string, r: { resourceId: string; appRoleId: string }, signal: AbortSignal): Promise<string | undefined> {
    for await (const page of this.graph.pages<{ id: string; principalId: string; appRoleId: string }>(`/servicePrincipals/${r.resourceId}/appRoleAssignedTo?$top=999`, signal)) {
      const hit = page.find((a) => a.principalId?.toLowerCase() === principalId && a.appRoleId?.toLowerCase() === r.appRoleId);
      if (hit) return hit.id;
    }
    return undefined;
  }

  async #observeGrants(id: string, st: EntraState, groups: string[], roles: ResolvedRole[], signal: AbortSignal): Promise<void> {
    if (st.groups === undefined) {
      const member = await this.#op(`reading the groups of ${id}`, 'groups', true, signal, () =>
        this.graph.all<{ id: string }>(`${this.strategy.principalPath(id)}/memberOf?$select=id&$top=999`, signal),
      );
      const ids = new Set(member.map((m) => m.id.toLowerCase()));
      st.groups = groups.filter((g) => ids.has(g));
    }
    if (st.appRoles === undefined) {
      st.appRoles = [];
      for (const r of roles) {
        const aid = await this.#findAssignment(id, r, signal);
        if (aid) st.appRoles.push({ ...r, id: aid });
      }
    }
  }

  /** Retries the replication race (and 404s on a young object); 404 on an old object: it is gone. */
  async #op<T>(what: string, perm: keyof typeof PERMISSION_HINTS, young: boolean, signal: AbortSignal, fn: () => Promise<T>, objectId?: string): Promise<T> {
    for (let i = 0; ; i++) {
      try {
        return await fn();
      } catch (e) {
        if (e instanceof GraphApiError) {
          const lag = e.replicationRace || (young && e.status === 404);
          if (lag && i < this.#s.replicationRetries) {
            await sleep(this.#s.replicationDelayMs * 2 ** i, signal);
            continue;
          }
          if (!young && e.status === 404 && objectId) throw new RemoteGoneError(objectId);
          throw toSyncError(e, what, perm);
        }
        if (e instanceof OutcomeUnknownError) throw new RetryableError(`${what}: ${e.message}`, 'outcomeUnknown');
        throw e;
      }
    }
  }

  async #sponsors(d: DesiredAgent, signal: AbortSignal): Promise<Wanted[]> {
    const out: Wanted[] = [];
    const missing: string[] = [];
    for (const ref of d.sponsors) {
      const p = await this.directory.principal(ref, signal);
      if (!p) {
        missing.push(`${ref.kind} ${ref.userName ?? ref.displayName ?? ref.id}`);
        if (ref.primary) {
          throw new PermanentError(
            `agent ${d.id}: its sponsor ${ref.userName ?? ref.id} has no account in Entra (looked up by externalId as object id, by userName as UPN, and by email). Provision the sponsor into Entra or set the User's externalId to the Entra object id, then run "agentroster sync retry".`,
            'sponsorNotFound',
          );
        }
        continue;
      }
      if (this.#s.mapping === 'agentIdentity' && p.kind === 'group' && !p.sponsorable) {
        this.#log?.warn({ agentId: d.id, group: p.name }, 'co-sponsor group skipped: an agent identity sponsor group must be a Microsoft 365 or dynamic group, not role-assignable');
        continue;
      }
      if (!out.some((w) => w.p.id === p.id)) out.push({ link: { ref: ref.id, id: p.id }, p });
    }
    if (out.length === 0) {
      throw new PermanentError(`agent ${d.id} has no sponsor that exists in Entra${missing.length ? ` (not found: ${missing.join(', ')})` : ''}; Entra requires at least one`, 'sponsorNotFound');
    }
    return out;
  }

  async #roles(d: DesiredAgent, signal: AbortSignal): Promise<ResolvedRole[]> {
    const out: ResolvedRole[] = [];
    for (const e of d.entitlements) {
      for (const m of e.mappings) {
        if (m.kind !== 'appRole') continue;
        const r = await this.directory.appRole(m, e.value, signal);
        if (!out.some((x) => roleKey(x) === roleKey(r))) out.push(r);
      }
    }
    return out;
  }

  // ─────────────────────────────────────────────────────────────── reconciliation

  compare(d: DesiredAgent, link: ConnectorLink, obs: RemoteObservation): DriftReport {
    const st = this.#load(link.state);
    const next: EntraState = JSON.parse(JSON.stringify(st)) as EntraState;
    const report: DriftReport = { deleted: false, disabled: false, reenabled: false, revoked: [], other: [], state: next as unknown as Json, ...(link.remoteId ? { remoteId: link.remoteId } : {}) };
    if (!obs.exists) {
      report.deleted = true;
      return report;
    }
    if (obs.enabled !== undefined && st.enabled !== undefined && obs.enabled !== st.enabled) {
      if (st.enabled && !obs.enabled) report.disabled = true;
      else report.reenabled = true;
      next.enabled = obs.enabled;
    }
    if (obs.displayName !== undefined && obs.displayName !== st.displayName) {
      next.displayName = obs.displayName;
      if (obs.displayName !== d.displayName) report.other.push(`displayName changed in Entra to "${obs.displayName}"`);
    }
    if (obs.sponsors !== undefined && this.#s.mapping === 'agentIdentity') {
      const have = new Set((st.sponsors ?? []).map((s) => s.id));
      const seen = new Set(obs.sponsors);
      if (have.size !== seen.size || [...seen].some((x) => !have.has(x))) {
        next.sponsors = obs.sponsors.map((id) => st.sponsors?.find((s) => s.id === id) ?? { ref: `remote:${id}`, id });
        report.other.push(`sponsors changed in Entra (now ${obs.sponsors.join(', ') || 'none'})`);
      }
    }
    const wantGroups = this.#groupsOf(d);
    if (obs.groups !== undefined && st.groups !== undefined) {
      const seen = new Set(obs.groups);
      const removed = st.groups.filter((g) => wantGroups.includes(g) && !seen.has(g));
      for (const g of removed) {
        for (const e of d.entitlements) if (e.mappings.some((m) => m.kind === 'group' && m.remoteId?.toLowerCase() === g)) report.revoked.push(e.value);
      }
      const unauthorized = obs.groups.filter((g) => !st.groups!.includes(g) && !wantGroups.includes(g));
      for (const g of unauthorized) report.other.push(`member of group ${g} in Entra without an entitlement here: removed`);
      // baseline: what was seen, plus applied groups we no longer want and did not see (removed idempotently)
      next.groups = [...new Set([...obs.groups, ...st.groups.filter((g) => !wantGroups.includes(g) && !seen.has(g))])].sort();
    }
    if (obs.appRoles !== undefined && st.appRoles !== undefined) {
      const seen = new Set(obs.appRoles);
      const wantRefs = new Set(this.#roleRefsOf(d));
      const applied = st.appRoles;
      for (const r of applied) {
        if (seen.has(roleKey(r)) || !wantRefs.has(r.ref)) continue;
        for (const e of d.entitlements) if (e.mappings.some((m) => m.kind === 'appRole' && `${m.appId ?? ''}|${m.remoteId ?? ''}` === r.ref)) report.revoked.push(e.value);
      }
      const appliedKeys = new Set(applied.map(roleKey));
      const kept = applied.filter((r) => seen.has(roleKey(r)) || !wantRefs.has(r.ref));
      for (const k of obs.appRoles) {
        if (appliedKeys.has(k)) continue;
        const [resourceId = '', appRoleId = ''] = k.split('/');
        // assigned in Entra: kept if an entitlement here maps it (a pending push), else removed by the next apply
        report.other.push(`app role ${k} assigned in Entra outside agentroster: removed unless an entitlement here maps it`);
        kept.push({ ref: 'remote', resourceId, appRoleId });
      }
      next.appRoles = kept;
    }
    report.revoked = [...new Set(report.revoked)];
    return report;
  }

  adopt(obs: RemoteObservation): ConnectorLink {
    const st = this.#fromObservation(obs);
    st.groups ??= [];
    st.appRoles ??= [];
    return { remoteId: obs.remoteId, state: st as unknown as Json };
  }

  async remove(remoteId: string, signal: AbortSignal): Promise<void> {
    await this.strategy.remove(remoteId, {}, signal);
  }

  async inventory(scope: InventoryScope, signal: AbortSignal): Promise<RemoteObservation[]> {
    const objects = await this.strategy.list(signal);
    const byId = new Map(objects.map((o) => [o.remoteId, o]));
    // group memberships: all or nothing (a partial view would look like mass removals)
    const groupIds = [...new Set(scope.mappings.filter((m) => m.kind === 'group' && m.remoteId).map((m) => m.remoteId!.toLowerCase()))];
    const groupsOk = await this.#collect(groupIds, async (g) => {
      for await (const page of this.graph.pages<{ id: string }>(`/groups/${g}/members?$select=id&$top=999`, signal)) {
        for (const m of page) {
          const o = byId.get(m.id.toLowerCase());
          if (o) (o.groups ??= []).push(g);
        }
      }
    });
    const roles: ResolvedRole[] = [];
    for (const m of scope.mappings) {
      if (m.kind !== 'appRole') continue;
      try {
        roles.push(await this.directory.appRole(m, `${m.appId}|${m.remoteId}`, signal));
      } catch {
        // a broken mapping is reported by the agents that hold it
      }
    }
    const byResource = new Map<string, Set<string>>();
    for (const r of roles) (byResource.get(r.resourceId) ?? byResource.set(r.resourceId, new Set()).get(r.resourceId)!).add(r.appRoleId);
    const rolesOk = await this.#collect([...byResource.keys()], async (res) => {
      const wanted = byResource.get(res)!;
      for await (const page of this.graph.pages<{ principalId: string; appRoleId: string }>(`/servicePrincipals/${res}/appRoleAssignedTo?$top=999`, signal)) {
        for (const a of page) {
          const o = byId.get(a.principalId?.toLowerCase());
          if (o && wanted.has(a.appRoleId?.toLowerCase())) (o.appRoles ??= []).push(`${res}/${a.appRoleId.toLowerCase()}`);
        }
      }
    });
    for (const o of objects) {
      if (groupsOk) o.groups ??= [];
      else delete o.groups;
      if (rolesOk) o.appRoles ??= [];
      else delete o.appRoles;
    }
    return objects;
  }

  async #collect(keys: string[], fn: (k: string) => Promise<void>): Promise<boolean> {
    try {
      for (const k of keys) await fn(k);
      return true;
    } catch (e) {
      this.#log?.error({ err: e instanceof Error ? e.message : String(e) }, 'inventory: could not read every membership; memberships are not compared this time');
      return false;
    }
  }

  async delta(cursor: string | undefined, signal: AbortSignal): Promise<DeltaResult> {
    if (!this.strategy.supportsDelta) return { observations: [], cursor: cursor ?? 'full-compare-only', resync: false };
    const latest = `${this.graph.base}/servicePrincipals/delta?$deltatoken=latest&$select=id,accountEnabled,displayName,tags`;
    try {
      const r = await this.#follow(cursor ?? latest, signal);
      return { observations: cursor ? r.observations : [], cursor: r.deltaLink, resync: false };
    } catch (e) {
      if (e instanceof GraphApiError && e.deltaExpired) {
        const r = await this.#follow(latest, signal);
        return { observations: [], cursor: r.deltaLink, resync: true };
      }
      if (e instanceof GraphApiError) throw toSyncError(e, 'servicePrincipals/delta', 'delta');
      throw e;
    }
  }

  async #follow(start: string, signal: AbortSignal): Promise<{ observations: RemoteObservation[]; deltaLink: string }> {
    const observations: RemoteObservation[] = [];
    let next: string | undefined = start;
    for (;;) {
      const res: { body: { value?: Record<string, unknown>[]; '@odata.nextLink'?: string; '@odata.deltaLink'?: string } } = await this.graph.request(
        { method: 'GET', path: next, batchable: false },
        signal,
      );
      for (const item of res.body.value ?? []) {
        const id = String(item.id ?? '').toLowerCase();
        if (!id) continue;
        if (item['@removed']) {
          observations.push({ remoteId: id, exists: false });
          continue;
        }
        const agentId = agentIdFromTags(item.tags);
        if (!agentId) continue;
        const o: RemoteObservation = { remoteId: id, agentId, exists: true };
        if (typeof item.accountEnabled === 'boolean') o.enabled = item.accountEnabled;
        if (typeof item.displayName === 'string') o.displayName = item.displayName;
        observations.push(o);
      }
      if (res.body['@odata.deltaLink']) return { observations, deltaLink: res.body['@odata.deltaLink'] };
      next = res.body['@odata.nextLink'];
      if (!next) throw new RetryableError('servicePrincipals/delta: a page without nextLink or deltaLink', 'delta');
    }
  }

  health(): ConnectorHealth {
    const c = this.graph.counters;
    const until = this.graph.gate.until;
    return {
      ...(until ? { throttledUntil: until } : {}),
      settings: {
        mapping: this.#s.mapping,
        tenantId: this.#s.tenantId,
        clientId: this.#s.clientId,
        credential: this.#s.certificatePath ? 'certificate' : 'client secret',
        authorityHost: this.#s.authorityHost,
        graphUrl: this.#s.graphUrl,
        apiVersion: this.#s.apiVersion,
        ...(this.#s.mapping === 'agentIdentity' ? { blueprints: this.#s.blueprintIds.join(',') } : {}),
        writesPerSecond: this.#s.writesPerSecond,
        pacedWritesPerSecond: Math.round(this.graph.limiter.ratePerSecond * 100) / 100,
      },
      requests: { reads: c.reads, writes: c.writes, batches: c.batches, throttled: c.throttled },
    };
  }

  async close(): Promise<void> {
    this.graph.close();
  }
}
