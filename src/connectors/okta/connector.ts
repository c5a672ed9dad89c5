// The Okta connector: each agent is an Okta user of the custom type "AI Agent" (schema.ts), found
// again by a deterministic login (GET /api/v1/users/{login}, never the lagging search), with the
// sponsor as manager (profile.managerId: the reviewer of OIG campaigns), the catalogue's group
// mappings as direct memberships, and the lifecycle as Okta user statuses:
//
//   active → ACTIVE · pending → STAGED (or SUSPENDED once it was active) · suspended → SUSPENDED
//   (STAGED stays STAGED, DEPROVISIONED stays: most restrictive wins) · retired → DEPROVISIONED ·
//   deleted, or retired beyond the grace period → deleted (DELETE twice).
//
// Users are created with a FEDERATION credential (provider=true) and no password: agents never sign
// in to Okta, no activation e-mail goes out, and an activated user is ACTIVE at once (a user created
// without credentials would be PROVISIONED, and Okta only suspends ACTIVE users).
//
// Decisions flowing back: delta() polls the System Log; the event hook (hooks.ts) feeds the same
// observations; inventory() is the full compare. Observations are always fresh reads by id: events
// only say which users to look at. See src/sync/connector.ts for the contract, docs/okta.md for the
// admin's view.

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
  SponsorRef,
} from '../../sync/connector.js';
import { PermanentError, RemoteGoneError, RetryableError } from '../../sync/errors.js';
import type { Json } from '../../store/types.js';
import { AiAgentProjection, type AiState } from './ai-agents.js';
import { OktaApi, type OktaUser, parseLinks, type UserStatus } from './api.js';
import { oktaFailure, toSyncError } from './errors.js';
import { AGENT_PROPERTIES, AgentSchema, AUTONOMY_LEVELS, ENVIRONMENTS, RISK_TIERS } from './schema.js';
import { describeSettings, type OktaSettings } from './settings.js';

const GOV = 'urn:agentroster:scim:schemas:extension:agent-governance:1.0:Agent';

/** The applied baseline kept in the link (see Connector). */
export interface OktaState {
  login?: string;
  /** the status we applied (or observed, when reconciliation moved the baseline) */
  status?: UserStatus;
  /** hash of the profile last applied; undefined: unknown, pushed by the next apply */
  profile?: string;
  managerId?: string;
  /** for plan(): hash of the profile inputs other than the sponsor, and the sponsor (our id) applied */
  src?: string;
  sponsor?: string;
  /** direct memberships applied; undefined: unknown (observed before anything is removed) */
  groups?: string[];
  createdAt?: string;
  ai?: AiState;
}

/** System Log event types that can change what agentroster must know about an agent user. */
export const WATCHED_EVENTS = [
  'user.lifecycle.deactivate',
  'user.lifecycle.suspend',
  'user.lifecycle.unsuspend',
  'user.lifecycle.activate',
  'user.lifecycle.reactivate',
  'user.lifecycle.delete.initiated',
  'user.lifecycle.delete.completed',
  'user.account.update_profile',
  'group.user_membership.remove',
  'group.user_membership.add',
] as const;
const WATCHED = new Set<string>(WATCHED_EVENTS);
export const isWatchedEvent = (eventType: string): boolean => WATCHED.has(eventType);
const MEMBERSHIP_EVENTS = new Set(['group.user_membership.remove', 'group.user_membership.add']);

/** A System Log / event-hook LogEvent, the parts we read. */
export interface LogEventLike {
  uuid?: string;
  eventType?: string;
  published?: string;
  target?: { id?: string; type?: string }[] | null;
  /** the X-Okta-Request-Id of the API call that caused the event */
  transaction?: { id?: string } | null;
  debugContext?: { debugData?: { requestId?: unknown } } | null;
}

const ORDER: ChangeKind[] = ['create', 'delete', 'disable', 'enable', 'adopt', 'update', 'noop'];
const stronger = (a: ChangeKind, b: ChangeKind): ChangeKind => (ORDER.indexOf(a) <= ORDER.indexOf(b) ? a : b);
const ENABLED_STATUSES = new Set<string>(['ACTIVE', 'RECOVERY', 'PASSWORD_EXPIRED', 'LOCKED_OUT']);
/** 403s that refuse a lifecycle call for the user's current status (not a permission): E0000038 "not
 * allowed in the user's current status", E0000016 "the user is already active" */
const STATUS_REFUSALS = new Set(['E0000038', 'E0000016']);
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const OKTA_USER_ID = /^00u[A-Za-z0-9]{17}$/;
const clip = (s: string, n: number) => (s.length > n ? s.slice(0, n) : s);
const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export function isEnabledStatus(s: string | undefined): boolean {
  return s !== undefined && ENABLED_STATUSES.has(s);
}

interface ResolvedSponsor {
  /** Okta user id of the primary sponsor (undefined: a group, or not in Okta) */
  id?: string;
  name?: string;
  email?: string;
  found: boolean;
}

/** A small TTL cache (sponsor lookups; which users are not agents). */
class TtlCache<V> {
  readonly #m = new Map<string, { v: V; at: number }>();
  constructor(
    private readonly ttlMs: number,
    private readonly max = 10_000,
  ) {}
  get(k: string): V | undefined {
    const e = this.#m.get(k);
    if (!e) return undefined;
    if (Date.now() - e.at > this.ttlMs) {
      this.#m.delete(k);
      return undefined;
    }
    return e.v;
  }
  set(k: string, v: V): void {
    if (this.#m.size >= this.max) {
      const first = this.#m.keys().next().value;
      if (first !== undefined) this.#m.delete(first);
    }
    this.#m.set(k, { v, at: Date.now() });
  }
  delete(k: string): void {
    this.#m.delete(k);
  }
}

export interface OktaConnectorOptions {
  logger?: Logger;
}

export class OktaConnector implements Connector {
  readonly target = 'okta';
  readonly objectType = 'user';
  readonly api: OktaApi;
  readonly schema: AgentSchema;
  readonly ai: AiAgentProjection | undefined;
  readonly #s: OktaSettings;
  readonly #log: Logger | undefined;
  readonly #sponsors: TtlCache<ResolvedSponsor>;
  /** remote ids known to be agentroster's agent users (apply, inventory, reads) */
  readonly #managed = new Set<string>();
  /** user ids known NOT to be agent users (humans touched in the System Log) */
  readonly #notAgents = new TtlCache<true>(3_600_000, 50_000);
  /** the status last observed per user (observations carry `enabled` only) */
  readonly #observed = new Map<string, UserStatus>();
  /** every group the catalogue maps (from the last inventory scope and the desired states seen) */
  readonly #mapped = new Set<string>();

  constructor(settings: OktaSettings, o: OktaConnectorOptions = {}) {
    this.#s = settings;
    this.#log = o.logger?.child({ connector: 'okta' });
    this.api = new OktaApi(settings, this.#log);
    this.schema = new AgentSchema(this.api, settings);
    this.#sponsors = new TtlCache(settings.sponsorCacheMs);
    this.ai = settings.aiAgents ? new AiAgentProjection(this.api, settings, this.#log) : undefined;
  }

  get settings(): OktaSettings {
    return this.#s;
  }

  // ─────────────────────────────────────────────────────────────── desired values

  #load(state: Json | undefined): OktaState {
    return { ...((state ?? {}) as OktaState) };
  }

  #groupsOf(d: DesiredAgent): string[] {
    const out = new Set<string>();
    for (const e of d.entitlements) for (const m of e.mappings) if (m.kind === 'group' && m.remoteId) out.add(m.remoteId);
    for (const g of out) this.#mapped.add(g);
    return [...out].sort();
  }

  /** The login: the agentUserName if email-shaped, else agentUserName@loginDomain (lower case). */
  loginOf(d: DesiredAgent): string {
    const name = d.agentUserName.trim().toLowerCase();
    let login: string;
    if (name.includes('@')) login = name;
    else if (this.#s.loginDomain) login = `${name}@${this.#s.loginDomain}`;
    else {
      throw new PermanentError(
        `agent ${d.id}: its agentUserName "${d.agentUserName}" is not email-shaped and Okta logins must be; set AGENTROSTER_OKTA_LOGIN_DOMAIN (logins become ${name}@<domain>), then run "agentroster sync retry"`,
        'loginDomainMissing',
      );
    }
    if (!EMAIL.test(login) || login.length > 100) {
      throw new PermanentError(`agent ${d.id}: "${login}" is not a valid Okta login (an e-mail address of at most 100 characters, no spaces); rename the agent's agentUserName`, 'invalidLogin');
    }
    return login;
  }

  #gov(d: DesiredAgent): Json {
    const g = d.resource?.[GOV];
    return isObj(g) ? g : {};
  }

  #primary(d: DesiredAgent): SponsorRef | undefined {
    return d.sponsors.find((s) => s.primary) ?? d.sponsors[0];
  }

  /** The profile agentroster owns (managerId from the resolved sponsor). */
  #profile(d: DesiredAgent, login: string, sponsor: ResolvedSponsor | undefined, st: OktaState): Record<string, unknown> {
    const g = this.#gov(d);
    const canon = (v: unknown, allowed: string[]) => {
      const s = str(v);
      return s ? (allowed.find((a) => a.toLowerCase() === s.toLowerCase()) ?? null) : null;
    };
    const ref = this.#primary(d);
    const managerId = sponsor ? (sponsor.id ?? null) : (st.managerId ?? null);
    const p: Record<string, unknown> = {
      login,
      email: login,
      firstName: clip(d.displayName || d.agentUserName, 50),
      lastName: 'AI agent',
      displayName: d.displayName,
      nickName: clip(d.agentUserName, 100),
      title: 'AI agent',
      userType: this.#s.userTypeMarker,
      managerId,
      manager: sponsor?.name ?? ref?.displayName ?? ref?.userName ?? null,
      agentrosterId: d.id,
      agentPurpose: str(g.purpose) ? clip(String(g.purpose), 1024) : null,
      agentSponsorEmail: sponsor?.email ?? ref?.emails[0] ?? null,
      agentSponsorName: sponsor?.name ?? ref?.displayName ?? null,
      agentEnvironment: canon(g.environment, ENVIRONMENTS),
      agentRiskTier: canon(g.riskTier, RISK_TIERS),
      agentAutonomyLevel: canon(g.autonomyLevel, AUTONOMY_LEVELS),
    };
    return p;
  }

  #hash(v: unknown): string {
    return createHash('sha256').update(JSON.stringify(v)).digest('base64url').slice(0, 24);
  }

  /** The profile inputs that are not the sponsor (plan() compares them without remote calls). */
  #src(d: DesiredAgent, login: string): string {
    const p = this.#profile(d, login, { found: true }, {});
    for (const k of ['managerId', 'manager', 'agentSponsorEmail', 'agentSponsorName']) delete p[k];
    return this.#hash(p);
  }

  fingerprint(d: DesiredAgent): string {
    const g = this.#gov(d);
    let login = '';
    try {
      login = d.presence === 'present' ? this.loginOf(d) : '';
    } catch {
      login = `!${d.agentUserName}`;
    }
    const material = {
      v: 1,
      p: d.presence,
      lc: d.lifecycleState,
      login,
      n: d.displayName,
      u: d.agentUserName,
      f: [g.purpose, g.environment, g.riskTier, g.autonomyLevel].map((x) => (typeof x === 'string' ? x : '')),
      s: d.sponsors.filter((s) => s.primary).map((s) => [s.kind, s.id, s.externalId ?? '', s.userName ?? '', s.emails[0] ?? '', s.displayName ?? '']),
      g: this.#groupsOf(d),
      ai: this.ai ? 1 : 0,
    };
    return this.#hash(material);
  }

  /** The status the user should have, given what it has now (most restrictive wins). */
  #targetStatus(d: DesiredAgent, cur: UserStatus | undefined): UserStatus {
    switch (d.lifecycleState) {
      case 'active':
        return 'ACTIVE';
      case 'retired':
      case 'deleted':
        return 'DEPROVISIONED';
      case 'suspended':
        if (cur === 'DEPROVISIONED' || cur === 'STAGED' || cur === 'PROVISIONED') return cur;
        return 'SUSPENDED';
      case 'pending':
      default:
        if (cur === undefined) return 'STAGED';
        if (isEnabledStatus(cur)) return 'SUSPENDED';
        return cur;
    }
  }

  // ─────────────────────────────────────────────────────────────── plan

  plan(d: DesiredAgent, link: ConnectorLink | undefined): PlannedChange {
    const st = this.#load(link?.state);
    if (d.presence !== 'present') {
      return link?.remoteId
        ? { kind: 'delete', details: [`delete user ${link.remoteId} (${d.lifecycleState === 'deleted' ? 'agent deleted' : d.presence === 'absent' ? 'retired beyond the grace period' : 'deleted in Okta'})`] }
        : { kind: 'noop', details: [] };
    }
    let login: string;
    try {
      login = this.loginOf(d);
    } catch (e) {
      return { kind: 'update', details: [`will fail: ${(e as Error).message}`] };
    }
    const groups = this.#groupsOf(d);
    const sponsor = this.#primary(d);
    if (!link?.remoteId) {
      const status = this.#targetStatus(d, undefined);
      const details = [
        `create user ${login} of type ${this.#s.userTypeName} (${status})`,
        `manager (sponsor): ${sponsor ? (sponsor.userName ?? sponsor.displayName ?? sponsor.id) : 'NONE'}`,
      ];
      if (groups.length) details.push(`groups: +${groups.join(', +')}`);
      if (this.ai) details.push('register with Okta for AI Agents');
      return { kind: 'create', details };
    }
    let kind: ChangeKind = 'noop';
    const details: string[] = [];
    const target = this.#targetStatus(d, st.status);
    if (target !== st.status) {
      kind = isEnabledStatus(target) ? 'enable' : 'disable';
      details.push(`status ${st.status ?? '?'} → ${target}`);
    }
    if (st.login !== login) {
      kind = stronger(kind, 'update');
      details.push(`login ${st.login ?? '?'} → ${login}`);
    }
    if (target !== 'DEPROVISIONED') {
      if (st.profile === undefined) {
        kind = stronger(kind, 'update');
        details.push('profile (pushed again)');
      } else if (st.src !== this.#src(d, login)) {
        kind = stronger(kind, 'update');
        details.push('profile (name, purpose, environment, risk tier or autonomy level)');
      }
      if (sponsor && st.sponsor !== undefined && st.sponsor !== sponsor.id) {
        kind = stronger(kind, 'update');
        details.push(`manager → sponsor ${sponsor.userName ?? sponsor.displayName ?? sponsor.id}`);
      }
    }
    const have = st.groups ?? [];
    const gd = [...groups.filter((g) => !have.includes(g)).map((g) => `+${g}`), ...have.filter((g) => !groups.includes(g)).map((g) => `-${g}`)];
    if (gd.length) {
      kind = stronger(kind, 'update');
      details.push(`groups: ${gd.join(', ')}`);
    }
    return { kind, details };
  }

  // ─────────────────────────────────────────────────────────────── apply

  async apply(d: DesiredAgent, link: ConnectorLink | undefined, ctx: ApplyContext): Promise<ApplyResult> {
    let st = this.#load(link?.state);
    let id = link?.remoteId;
    if (d.presence !== 'present') {
      const details: string[] = [];
      if (st.ai && this.ai) {
        await this.ai.remove(st.ai, details);
        delete st.ai;
      }
      if (id) {
        await this.#deleteUser(id);
        this.#managed.delete(id);
        return { link: null, change: { kind: 'delete', details: [`deleted user ${id}`, ...details] }, objectType: this.objectType };
      }
      return { link: null, change: { kind: 'noop', details }, objectType: this.objectType };
    }
    const type = await this.schema.ensure();
    const login = this.loginOf(d);
    const groups = this.#groupsOf(d);
    const details: string[] = [];
    let kind: ChangeKind = 'noop';
    let sponsor: ResolvedSponsor | undefined;
    if (!id) {
      sponsor = await this.#sponsor(d, true);
      const got = await this.#obtain(d, login, groups, sponsor!, type.typeId, ctx);
      id = got.id;
      st = got.state;
      kind = got.kind;
      details.push(...got.details);
    }
    this.#managed.add(id);
    try {
      kind = await this.#converge(id, st, d, login, groups, sponsor, details, kind);
    } catch (e) {
      await ctx.checkpoint({ remoteId: id, state: st as unknown as Json });
      throw e;
    }
    if (this.ai) {
      await ctx.checkpoint({ remoteId: id, state: st as unknown as Json });
      st.ai = await this.ai.converge(d, st.ai ?? {}, details, async (ai) => {
        st.ai = ai;
        await ctx.checkpoint({ remoteId: id, state: st as unknown as Json });
      });
    }
    return { link: { remoteId: id, state: st as unknown as Json }, change: { kind, details }, objectType: this.objectType };
  }

  /** Create the user, or find the one an earlier create left (its answer lost) by the login. */
  async #obtain(
    d: DesiredAgent,
    login: string,
    groups: string[],
    sponsor: ResolvedSponsor,
    typeId: string,
    ctx: ApplyContext,
  ): Promise<{ id: string; state: OktaState; kind: ChangeKind; details: string[] }> {
    const st: OktaState = {};
    const profile = this.#profile(d, login, sponsor, st);
    const status = this.#targetStatus(d, undefined);
    const activate = status === 'ACTIVE';
    const body: Record<string, unknown> = {
      type: { id: typeId },
      profile: Object.fromEntries(Object.entries(profile).filter(([, v]) => v !== null)),
      credentials: { provider: { type: 'FEDERATION', name: 'FEDERATION' } },
    };
    // memberships in the same write (Okta takes up to 20 groupIds on create)
    const withGroups = groups.length > 0 && groups.length <= 20;
    if (withGroups) body.groupIds = groups;
    try {
      const u = await this.api.createUser(body, { activate });
      const state: OktaState = {
        login,
        status: u.status,
        profile: this.#hash(profile),
        managerId: sponsor.id ?? '',
        src: this.#src(d, login),
        ...(this.#primary(d) ? { sponsor: this.#primary(d)!.id } : {}),
        groups: withGroups ? [...groups] : [],
        createdAt: u.created ?? new Date().toISOString(),
      };
      // the remote id is persisted the moment the create returns
      await ctx.checkpoint({ remoteId: u.id, state: state as unknown as Json });
      this.#observed.set(u.id, u.status);
      return { id: u.id, state, kind: 'create', details: [`created user ${u.id} ${login} (${u.status})${withGroups ? ` in ${groups.length} group(s)` : ''}`] };
    } catch (e) {
      const f = oktaFailure(e);
      if (!f || !(f.alreadyExists || f.outcomeUnknown)) {
        if (f?.status === 404) {
          throw new PermanentError(`creating user ${login}: a group of the agent's entitlements does not exist in Okta (${groups.join(', ')}); check the catalogue mappings`, f.code, { cause: f });
        }
        throw toSyncError(e, `creating user ${login}`, 'users');
      }
      // duplicate login, or no answer: the login finds what exists (a read by login is current)
      const existing = await this.#read(login, `looking up ${login} after ${f.alreadyExists ? 'a duplicate-login answer' : 'a create without answer'}`);
      if (!existing) {
        if (f.alreadyExists) {
          throw new PermanentError(
            `creating user ${login}: Okta reports a duplicate, but no user has this login; another user carries agentrosterId ${d.id} (an earlier login of this agent?). Find it in Okta (profile.agentrosterId), delete it or link it by setting its login to ${login}, then run "agentroster sync retry"`,
            'duplicateAgentId',
          );
        }
        throw new RetryableError(`creating user ${login}: ${f.describe()}; not found by login, so the create is sent again`, 'outcomeUnknown', undefined, { cause: f });
      }
      if (existing.profile.agentrosterId !== d.id) {
        throw new PermanentError(
          `creating user ${login}: the login belongs to another Okta user (${existing.id}${existing.profile.agentrosterId ? `, agent ${String(existing.profile.agentrosterId)}` : ', not an agentroster agent'}); rename the agent (agentUserName) or that user`,
          'loginTaken',
        );
      }
      const memberOf = await this.#call(`reading the groups of ${existing.id}`, 'readGroups', () => this.api.userGroups(existing.id));
      const state: OktaState = {
        login: String(existing.profile.login ?? login).toLowerCase(),
        status: existing.status,
        // unknown: pushed again (one partial update) so that it surely matches
        managerId: str(existing.profile.managerId) ?? '',
        groups: memberOf.filter((g) => groups.includes(g)),
        createdAt: existing.created ?? new Date().toISOString(),
      };
      await ctx.checkpoint({ remoteId: existing.id, state: state as unknown as Json });
      this.#observed.set(existing.id, existing.status);
      this.#log?.warn({ agentId: d.id, remoteId: existing.id }, 'found the user of a create whose answer was lost (or sent twice): adopted, not duplicated');
      return { id: existing.id, state, kind: 'adopt', details: [`adopted user ${existing.id} ${login} (its create got no answer)`] };
    }
  }

  async #converge(
    id: string,
    st: OktaState,
    d: DesiredAgent,
    login: string,
    groups: string[],
    sponsorIn: ResolvedSponsor | undefined,
    details: string[],
    kindIn: ChangeKind,
  ): Promise<ChangeKind> {
    let kind = kindIn;
    // 1. restrictive first
    const target = this.#targetStatus(d, st.status);
    if (target !== st.status && !isEnabledStatus(target)) {
      if (await this.#transition(id, st, target)) {
        kind = stronger(kind, 'disable');
        details.push(`status → ${st.status}`);
      }
    }
    // 2. removals (allowed in any status)
    if (st.groups === undefined) {
      const memberOf = await this.#call(`reading the groups of ${id}`, 'readGroups', () => this.api.userGroups(id), id);
      st.groups = memberOf.filter((g) => groups.includes(g));
    }
    for (const g of [...st.groups]) {
      if (groups.includes(g)) continue;
      await this.#call(`removing ${id} from group ${g}`, 'groups', async () => {
        try {
          await this.api.removeFromGroup(g, id);
        } catch (e) {
          if (!oktaFailure(e)?.notFound) throw e; // the group or the user is gone: nothing to remove
        }
      });
      st.groups = st.groups.filter((x) => x !== g);
      kind = stronger(kind, 'update');
      details.push(`group -${g}`);
    }
    const enabling = isEnabledStatus(target);
    // 3. a DEPROVISIONED user cannot be updated (Okta answers 404): re-activated before the updates
    if (enabling && st.status === 'DEPROVISIONED') {
      if (await this.#transition(id, st, target)) {
        kind = stronger(kind, 'enable');
        details.push(`status → ${st.status}`);
      }
    }
    // 4. profile and manager
    let sponsor = sponsorIn;
    sponsor ??= await this.#sponsor(d, enabling);
    const profile = this.#profile(d, login, sponsor, st);
    const h = this.#hash(profile);
    if (st.profile !== h || st.login !== login) {
      if (st.status === 'DEPROVISIONED') {
        st.profile = undefined; // pushed once the user is active again
      } else {
        const updated = await this.#updateProfile(id, profile);
        if (updated) {
          st.profile = h;
          st.login = login;
          st.managerId = String(profile.managerId ?? '');
          st.src = this.#src(d, login);
          const ref = this.#primary(d);
          if (ref) st.sponsor = ref.id;
          kind = stronger(kind, 'update');
          details.push('profile updated');
        } else {
          st.profile = undefined;
          details.push('profile not updated: the user is deactivated in Okta (reconciliation applies that here)');
        }
      }
    }
    // 5. additions
    if (st.status !== 'DEPROVISIONED') {
      for (const g of groups) {
        if (st.groups.includes(g)) continue;
        await this.#call(`adding ${id} to group ${g}`, 'groups', async () => {
          try {
            await this.api.addToGroup(g, id);
          } catch (e) {
            const f = oktaFailure(e);
            if (f?.notFound) {
              if (!(await this.api.getUser(id))) throw new RemoteGoneError(id);
              throw new PermanentError(`adding ${id} to group ${g}: group ${g} does not exist in Okta (check the entitlement's mapping in the catalogue)`, f.code);
            }
            throw e;
          }
        });
        st.groups = [...st.groups, g].sort();
        kind = stronger(kind, 'update');
        details.push(`group +${g}`);
      }
    }
    // 6. enable last, once everything else is in place
    if (enabling && st.status !== target) {
      if (await this.#transition(id, st, target)) {
        kind = stronger(kind, 'enable');
        details.push(`status → ${st.status}`);
      }
    }
    return kind;
  }

  /** The lifecycle call that leads from `from` to `to` (undefined: none can). */
  #action(from: UserStatus | undefined, to: UserStatus): 'activate' | 'suspend' | 'unsuspend' | 'deactivate' | undefined {
    if (to === 'DEPROVISIONED') return from === 'DEPROVISIONED' ? undefined : 'deactivate';
    if (to === 'SUSPENDED') return isEnabledStatus(from) ? 'suspend' : undefined;
    if (to === 'ACTIVE') {
      if (from === 'SUSPENDED') return 'unsuspend';
      if (from === 'STAGED' || from === 'DEPROVISIONED' || from === 'PROVISIONED' || from === undefined) return 'activate';
      return undefined;
    }
    return undefined;
  }

  /**
   * Move the user to `to`. A refusal (wrong status: someone changed it in Okta meanwhile, or a lost
   * answer) is resolved by reading the status and trying the right call once more; a DEPROVISIONED
   * user answers 404 to deactivate: already done. Returns whether the status changed.
   */
  async #transition(id: string, st: OktaState, to: UserStatus): Promise<boolean> {
    let from = st.status;
    for (let attempt = 0; attempt < 2; attempt++) {
      const action = this.#action(from, to);
      if (!action) {
        if (from !== st.status && from !== undefined) st.status = from;
        return false;
      }
      try {
        await this.api.lifecycle(id, action);
        st.status = action === 'activate' ? 'ACTIVE' : to;
        this.#observed.set(id, st.status);
        return true;
      } catch (e) {
        const f = oktaFailure(e);
        // 403 is a missing permission, except the two status refusals Okta answers with 403
        if (!f || f.status === 429 || f.status === 401 || (f.status === 403 && !STATUS_REFUSALS.has(f.code))) throw toSyncError(e, `${action} user ${id}`, 'users');
        const now = await this.#read(id, `reading user ${id} after a refused ${action}`);
        if (!now) throw new RemoteGoneError(id);
        if (now.status === to || (to === 'ACTIVE' && isEnabledStatus(now.status))) {
          st.status = now.status;
          return true;
        }
        if (attempt > 0 || (now.status === from && !f.outcomeUnknown)) throw toSyncError(e, `${action} user ${id} (status ${now.status})`, 'users');
        from = now.status;
      }
    }
    return false;
  }

  /** Partial update; false when the user is DEPROVISIONED (404 to updates), RemoteGone when deleted. */
  async #updateProfile(id: string, profile: Record<string, unknown>): Promise<boolean> {
    try {
      await this.api.updateProfile(id, profile);
      return true;
    } catch (e) {
      const f = oktaFailure(e);
      if (f?.notFound) {
        const u = await this.#read(id, `reading user ${id} after a 404 to an update`);
        if (!u) throw new RemoteGoneError(id);
        if (u.status === 'DEPROVISIONED') return false;
      }
      if (f?.alreadyExists) {
        throw new PermanentError(`updating user ${id}: the login ${String(profile.login)} belongs to another Okta user; rename the agent`, 'loginTaken', { cause: f });
      }
      throw toSyncError(e, `updating user ${id}`, 'users');
    }
  }

  /** DELETE twice: the first deactivates (unless already DEPROVISIONED), the second deletes. 404: gone. */
  async #deleteUser(id: string): Promise<void> {
    for (let i = 0; i < 2; i++) {
      try {
        await this.api.lifecycle(id, 'delete');
      } catch (e) {
        if (oktaFailure(e)?.notFound) return;
        throw toSyncError(e, `deleting user ${id}`, 'users');
      }
    }
  }

  /** GET by id or login, SyncErrors on failure. */
  async #read(idOrLogin: string, what: string): Promise<OktaUser | undefined> {
    try {
      return await this.api.getUser(idOrLogin);
    } catch (e) {
      throw toSyncError(e, what, 'readUsers');
    }
  }

  async #call<T>(what: string, hint: 'groups' | 'readGroups' | 'users', fn: () => Promise<T>, userId?: string): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (e instanceof RemoteGoneError || e instanceof PermanentError || e instanceof RetryableError) throw e;
      if (userId && oktaFailure(e)?.notFound) throw new RemoteGoneError(userId);
      throw toSyncError(e, what, hint);
    }
  }

  /**
   * The primary sponsor in Okta: by externalId when it is an Okta user id (Okta provisioned the
   * person into agentroster), else by userName as login, else by e-mail as login. A group sponsor
   * has no manager. `required`: a user sponsor that Okta does not know fails the agent (the OIG
   * reviewer would be missing); otherwise the manager last applied stays.
   */
  async #sponsor(d: DesiredAgent, required: boolean): Promise<ResolvedSponsor | undefined> {
    const ref = this.#primary(d);
    if (!ref) {
      if (required) {
        throw new PermanentError(`agent ${d.id} has no sponsor that exists here; Okta needs the sponsor as the user's manager (the OIG reviewer)`, 'sponsorNotFound');
      }
      return undefined;
    }
    if (ref.kind === 'group') return { found: true, ...(ref.displayName ? { name: ref.displayName } : {}) };
    const key = `${ref.id}|${ref.externalId ?? ''}|${ref.userName ?? ''}|${ref.emails[0] ?? ''}`;
    let hit = this.#sponsors.get(key);
    if (!hit) {
      const tries = [...new Set([ref.externalId && OKTA_USER_ID.test(ref.externalId) ? ref.externalId : undefined, ref.userName, ...ref.emails].filter((x): x is string => Boolean(x)))];
      let u: OktaUser | undefined;
      for (const t of tries) {
        u = await this.#read(t, `looking up sponsor ${t}`);
        if (u) break;
      }
      hit = u
        ? {
            found: true,
            id: u.id,
            name: str(u.profile.displayName) ?? ([u.profile.firstName, u.profile.lastName].filter(Boolean).join(' ') || ref.displayName || String(u.profile.login)),
            email: str(u.profile.email) ?? ref.emails[0] ?? String(u.profile.login),
          }
        : { found: false };
      this.#sponsors.set(key, hit);
    }
    if (!hit.found) {
      this.#sponsors.delete(key); // looked up again next time
      if (required) {
        throw new PermanentError(
          `agent ${d.id}: its sponsor ${ref.userName ?? ref.id} has no user in Okta (looked up by externalId as user id, by userName and by e-mail as login). Okta needs the sponsor as the agent user's manager (the reviewer of OIG campaigns): provision the sponsor into Okta, or set the User's externalId to the Okta user id, then run "agentroster sync retry"`,
          'sponsorNotFound',
        );
      }
      return undefined;
    }
    return hit;
  }

  // ─────────────────────────────────────────────────────────────── reconciliation

  compare(d: DesiredAgent, link: ConnectorLink, obs: RemoteObservation): DriftReport {
    const st = this.#load(link.state);
    const next: OktaState = JSON.parse(JSON.stringify(st)) as OktaState;
    const report: DriftReport = { deleted: false, disabled: false, reenabled: false, revoked: [], other: [], state: next as unknown as Json, ...(link.remoteId ? { remoteId: link.remoteId } : {}) };
    if (!obs.exists) {
      report.deleted = true;
      return report;
    }
    let observed = this.#observed.get(obs.remoteId);
    if (observed === undefined && obs.enabled !== undefined) observed = obs.enabled ? 'ACTIVE' : st.status && !isEnabledStatus(st.status) ? st.status : 'SUSPENDED';
    if (obs.enabled !== undefined && st.status !== undefined && observed !== undefined) {
      const was = isEnabledStatus(st.status);
      if (was && !obs.enabled) report.disabled = true;
      else if (!was && obs.enabled) report.reenabled = true;
      // the status Okta has now is the baseline (a re-enable is corrected by the next push)
      if (observed !== st.status) next.status = observed;
    }
    if (obs.displayName !== undefined && obs.displayName !== d.displayName && st.profile !== undefined) {
      next.profile = undefined;
      report.other.push(`displayName changed in Okta to "${obs.displayName}"`);
    }
    if (obs.sponsors !== undefined && st.managerId !== undefined) {
      const seen = obs.sponsors[0] ?? '';
      if (seen !== st.managerId) {
        next.managerId = seen;
        next.profile = undefined;
        report.other.push(`manager changed in Okta (now ${seen || 'none'})`);
      }
    }
    const want = new Set(this.#groupsOf(d));
    if (obs.groups !== undefined && st.groups !== undefined) {
      const seen = new Set(obs.groups);
      const removed = st.groups.filter((g) => want.has(g) && !seen.has(g));
      for (const g of removed) {
        for (const e of d.entitlements) if (e.mappings.some((m) => m.kind === 'group' && m.remoteId === g)) report.revoked.push(e.value);
      }
      const unauthorized = obs.groups.filter((g) => !st.groups!.includes(g) && !want.has(g) && this.#mapped.has(g));
      for (const g of unauthorized) report.other.push(`member of group ${g} in Okta without an entitlement here: removed`);
      next.groups = [
        ...new Set([
          ...st.groups.filter((g) => seen.has(g)),
          ...obs.groups.filter((g) => want.has(g)),
          ...unauthorized,
          // applied, no longer wanted, not seen: removed again idempotently
          ...st.groups.filter((g) => !want.has(g) && !seen.has(g)),
        ]),
      ].sort();
    }
    report.revoked = [...new Set(report.revoked)];
    return report;
  }

  adopt(obs: RemoteObservation): ConnectorLink {
    const status = this.#observed.get(obs.remoteId) ?? (obs.enabled === false ? 'SUSPENDED' : 'ACTIVE');
    this.#managed.add(obs.remoteId);
    const st: OktaState = { status, groups: obs.groups ? [...obs.groups] : [] };
    if (obs.sponsors) st.managerId = obs.sponsors[0] ?? '';
    if (obs.createdAt) st.createdAt = obs.createdAt;
    return { remoteId: obs.remoteId, state: st as unknown as Json };
  }

  async remove(remoteId: string): Promise<void> {
    await this.#deleteUser(remoteId);
    this.#managed.delete(remoteId);
  }

  #observation(u: OktaUser): RemoteObservation {
    this.#observed.set(u.id, u.status);
    const o: RemoteObservation = { remoteId: u.id, exists: true, enabled: isEnabledStatus(u.status) };
    const agentId = str(u.profile.agentrosterId);
    if (agentId) o.agentId = agentId;
    const dn = str(u.profile.displayName);
    if (dn) o.displayName = dn;
    o.sponsors = str(u.profile.managerId) ? [String(u.profile.managerId)] : [];
    if (u.created) o.createdAt = u.created;
    return o;
  }

  #isAgentUser(u: OktaUser, typeId: string | undefined): boolean {
    return Boolean(str(u.profile.agentrosterId)) && (typeId === undefined || u.typeId === undefined || u.typeId === typeId);
  }

  async inventory(scope: InventoryScope): Promise<RemoteObservation[]> {
    const { typeId } = await this.schema.ensure();
    const byId = new Map<string, OktaUser>();
    try {
      // search (includes DEPROVISIONED) enumerates the agent users, but lags behind writes…
      for (const u of await this.api.listUsers({ search: `type.id eq "${typeId}"` })) byId.set(u.id, u);
      // …so whatever changed recently is read again through the consistent filter
      const since = new Date(Date.now() - this.#s.searchLagGuardMs).toISOString();
      for (const u of await this.api.listUsers({ filter: `lastUpdated gt "${since}"` })) if (u.typeId === typeId) byId.set(u.id, u);
    } catch (e) {
      throw toSyncError(e, 'listing the agent users', 'readUsers');
    }
    const observations = new Map<string, RemoteObservation>();
    for (const u of byId.values()) {
      if (!this.#isAgentUser(u, typeId)) continue;
      this.#managed.add(u.id);
      observations.set(u.id, this.#observation(u));
    }
    const groupIds = [...new Set(scope.mappings.filter((m) => m.kind === 'group' && m.remoteId).map((m) => m.remoteId!))];
    for (const g of groupIds) this.#mapped.add(g);
    // memberships: all or nothing (a partial view would look like mass removals)
    let ok = true;
    try {
      for (const g of groupIds) {
        let members: string[];
        try {
          members = await this.api.groupMembers(g);
        } catch (e) {
          if (oktaFailure(e)?.notFound) members = []; // the group was deleted in Okta: its memberships are gone
          else throw e;
        }
        for (const m of members) {
          const o = observations.get(m);
          if (o) (o.groups ??= []).push(g);
        }
      }
    } catch (e) {
      ok = false;
      this.#log?.error({ err: oktaFailure(e)?.describe() ?? String(e) }, 'inventory: could not read every group membership; memberships are not compared this time');
    }
    for (const o of observations.values()) {
      if (ok) o.groups ??= [];
      else delete o.groups;
    }
    return [...observations.values()];
  }

  /**
   * Fresh observations of the agent users some events are about (hooks and System Log alike):
   * events only say whom to look at; the state is read by id, so duplicates and out-of-order
   * deliveries change nothing. Users that are not agents are remembered and skipped, and so are
   * events our own writes caused (their transaction id is the X-Okta-Request-Id we got back).
   */
  async observeEvents(events: LogEventLike[]): Promise<RemoteObservation[]> {
    const users = new Map<string, { membership: boolean }>();
    const ex = this.api.executor;
    for (const e of events) {
      if (!e.eventType || !WATCHED.has(e.eventType)) continue;
      // our own writes come back in the log too: not news
      const rid = e.transaction?.id ?? (typeof e.debugContext?.debugData?.requestId === 'string' ? e.debugContext.debugData.requestId : undefined);
      if (ex.isOwnRequest(rid)) continue;
      for (const t of e.target ?? []) {
        if (t?.type !== 'User' || !t.id) continue;
        const cur = users.get(t.id) ?? { membership: false };
        if (MEMBERSHIP_EVENTS.has(e.eventType)) cur.membership = true;
        users.set(t.id, cur);
      }
    }
    const typeId = this.schema.current?.typeId ?? (await this.schema.ensure()).typeId;
    const out: RemoteObservation[] = [];
    for (const [id, what] of users) {
      if (this.#notAgents.get(id)) continue;
      const observedAt = Date.now();
      const u = await this.#read(id, `reading user ${id} named by an Okta event`);
      if (!u) {
        // deleted: only ours matter (the engine also knows its links)
        out.push({ remoteId: id, exists: false, observedAt });
        continue;
      }
      if (!this.#isAgentUser(u, typeId)) {
        this.#notAgents.set(id, true);
        continue;
      }
      this.#managed.add(id);
      const o = this.#observation(u);
      o.observedAt = observedAt;
      if (what.membership) {
        try {
          o.groups = await this.api.userGroups(id);
        } catch (e) {
          this.#log?.warn({ remoteId: id, err: oktaFailure(e)?.describe() }, 'could not read the groups of an agent user; memberships are compared next time');
        }
      }
      out.push(o);
    }
    return out;
  }

  /**
   * The System Log as a change feed: GET /api/v1/logs?since=…&filter=… (a polling query: ASCENDING,
   * no `until`; "a next link relation header is always present"). The cursor is the last `next` URL,
   * followed verbatim; pages are read until one comes back short.
   */
  async delta(cursor: string | undefined): Promise<DeltaResult> {
    if (cursor === undefined || !cursor.startsWith(`${this.#s.orgUrl}/api/v1/logs?`)) {
      // a first start: changes from now on (the engine runs a full compare for everything before)
      return { observations: [], cursor: await this.#startCursor(), resync: false };
    }
    const events: LogEventLike[] = [];
    let url = cursor;
    let next = cursor;
    for (let page = 0; page < 50; page++) {
      let res;
      try {
        res = await this.api.raw<LogEventLike[]>('GET', url);
      } catch (e) {
        const f = oktaFailure(e);
        if (f && f.status === 400) {
          // an expired or foreign cursor: start again from now, and compare everything
          this.#log?.warn({ err: f.describe() }, 'System Log cursor rejected: starting from now with a full compare');
          return { observations: [], cursor: await this.#startCursor(), resync: true };
        }
        throw toSyncError(e, 'polling the System Log', 'logs');
      }
      const batch = Array.isArray(res.body) ? res.body : [];
      events.push(...batch);
      const n = parseLinks(res.headers.get('link')).next;
      if (n) next = n;
      if (!n || batch.length === 0 || batch.length < 1000 || n === url) break;
      url = n;
    }
    const observations = await this.observeEvents(events);
    return { observations, cursor: next, resync: false };
  }

  /** The server-issued `next` link of a polling query from now: the first cursor. */
  async #startCursor(): Promise<string> {
    // five minutes back: a host clock ahead of Okta must not skip events (re-reading is harmless)
    const url = this.#logsUrl(new Date(Date.now() - 5 * 60_000));
    try {
      const res = await this.api.raw('GET', url);
      return parseLinks(res.headers.get('link')).next ?? url;
    } catch (e) {
      throw toSyncError(e, 'starting to poll the System Log', 'logs');
    }
  }

  #logsUrl(since: Date): string {
    const filter = WATCHED_EVENTS.map((t) => `eventType eq "${t}"`).join(' or ');
    const q = new URLSearchParams({ since: since.toISOString(), limit: '1000', filter });
    return `${this.#s.orgUrl}/api/v1/logs?${q.toString()}`;
  }

  health(): ConnectorHealth {
    const c = this.api.executor.counters;
    const until = this.api.executor.pacer.gateUntil;
    return {
      ...(until ? { throttledUntil: until } : {}),
      settings: { ...describeSettings(this.#s), ...(this.schema.current ? { userTypeId: this.schema.current.typeId } : {}) },
      requests: { reads: c.reads, writes: c.writes, batches: 0, throttled: c.throttled },
    };
  }

  async close(): Promise<void> {
    this.api.executor.pacer.close();
    this.ai?.close();
  }
}

export { AGENT_PROPERTIES };
