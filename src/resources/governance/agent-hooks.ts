// The governance rules applied to every write of an Agent (standards.md §3.3, §4.3–4.4): who may
// make which change (R15), lifecycle transitions, sponsors (R01), grants (R06–R08, R13), reviews
// (R04), credentials and secrets (R10–R12), the profile (R22), seat limits, derived attributes,
// and the User projection written in the same commit. The rules are the pure functions of
// src/agents/; this module looks things up in the store and applies them.

import { randomUUID } from 'node:crypto';
import { deepEqual } from '../../agents/canonical.js';
import { type AgentChange, classifyChange } from '../../agents/changes.js';
import { autonomyViolation, type CatalogueEntry, finalizeGrants, type Granter } from '../../agents/grants.js';
import {
  type ActorKind,
  activationBlockers,
  defaultReason,
  isState,
  type LifecycleState,
  transitionViolation,
} from '../../agents/lifecycle.js';
import { type GovernancePolicy, seatLimitOf } from '../../agents/policy.js';
import { profileViolations } from '../../agents/profile.js';
import { complianceIssues, credentialFacts, reviewInterval, reviewIntervalViolation } from '../../agents/reviews.js';
import { coSponsorViolation, MAX_CO_SPONSORS, type Person, sponsorValue, sponsorViolation } from '../../agents/sponsor.js';
import { addDays, forbidden, invalid, isObj, type Json, maxIso, ms, objects, str, type Violation } from '../../agents/util.js';
import { invalidValue, notFound, preconditionFailed, ScimError } from '../../scim/errors.js';
import type { SchemaRegistry } from '../../scim/registry.js';
import type { Filter } from '../../scim/filter/ast.js';
import { QueryBusy } from '../../store/query-cost.js';
import type { CommitGuard, Store } from '../../store/types.js';
import type { Clock, RequestContext } from '../context.js';
import type { ResourceHooks } from '../hooks.js';
import { etagOf, ifMatchPasses } from '../service.js';
import {
  actorKind,
  AGENT_USER,
  allOf,
  baseUrlOf,
  count,
  eq,
  GOV,
  isAgentProjection,
  lookupCatalogue,
  resolvePeople,
  throwViolations,
} from './common.js';
import { agentToUser, projectedUserName, projectionWrite } from './projection.js';

export interface GovernanceDeps {
  policy: GovernancePolicy;
  registry: SchemaRegistry;
  store: Store;
  clock: Clock;
  /** ask the scheduler to run its integrity sweep on its next run (a cascade too large for one commit) */
  requestSweep?: () => void;
}

const LIVE_CREDENTIAL = (c: Json) => c.status !== 'revoked' && c.status !== 'expired';

/** R15 and the approval rule: may this actor make this change? */
export function authorizationViolation(
  change: AgentChange,
  kind: ActorKind,
  ctx: RequestContext,
  approvalRequired: boolean,
): Violation | undefined {
  const list = (xs: string[]) => xs.slice(0, 3).join(', ') + (xs.length > 3 ? ', …' : '');
  if (kind === 'governance') {
    return change.activation ? forbidden('the governance engine never activates an agent') : undefined;
  }
  if (kind === 'connector') {
    if (change.activation) {
      return forbidden(`${ctx.actor.client} cannot activate an agent: a remote re-enable is never applied here; reactivation needs "agents.approve" (R15, R17)`);
    }
    if (change.expansive.length > 0) {
      return forbidden(`${ctx.actor.client} may only suspend, retire and revoke (most restrictive wins), not: ${list(change.expansive)}`);
    }
    return undefined;
  }
  const s = ctx.scopes;
  if (change.expansive.length > 0 && !s.has('scim.write')) {
    const what = s.has('scim.revoke') ? 'may remove entitlements, suspend and retire, but never grant or change' : 'lacks "scim.write"';
    return forbidden(`this token ${what}: ${list(change.expansive)} (R15)`);
  }
  if (change.restrictive.length > 0 && !(s.has('scim.write') || s.has('scim.revoke') || s.has('agents.approve'))) {
    return forbidden(`this token lacks "scim.revoke" (or "scim.write"): ${list(change.restrictive)}`);
  }
  if (change.activation) {
    const needsApproval = (change.from !== undefined && change.from !== 'pending') || approvalRequired;
    if (needsApproval && !s.has('agents.approve')) {
      return forbidden(
        change.from === 'suspended'
          ? 'reactivating a suspended agent needs the "agents.approve" scope (R15)'
          : 'activating an agent needs the "agents.approve" scope: a new agent waits for approval',
      );
    }
    if (!needsApproval && !s.has('scim.write')) return forbidden('activating an agent needs "scim.write"');
  }
  return undefined;
}

/**
 * The one rule that turns a written `active` into lifecycle intent, for /Agents (PATCH, PUT, /Bulk)
 * and the IGA view alike (docs/schemas.md): false suspends an active agent, true activates a
 * pending or suspended one — the authorisation and activation rules then judge that transition
 * like any other. Only an `active` that differs from the stored state counts, and an explicit
 * lifecycleState change in the same write wins. undefined: no lifecycle change.
 */
export function activeIntent(prevState: unknown, nextState: unknown, active: unknown): LifecycleState | undefined {
  if (typeof active !== 'boolean' || nextState !== prevState || active === (prevState === 'active')) return undefined;
  if (!active) return prevState === 'active' ? 'suspended' : undefined;
  return prevState === 'pending' || prevState === 'suspended' ? 'active' : undefined;
}

function samePerson(a: unknown, b: unknown): boolean {
  return isObj(a) && isObj(b) && a.value === b.value;
}

/** Everything but the attributes that are bookkeeping of the record itself. */
function contentOf(agent: Json): Json {
  const { id: _i, meta: _m, groups: _g, active: _a, ...rest } = agent;
  const g = isObj(rest[GOV]) ? { ...(rest[GOV] as Json) } : {};
  delete g.version;
  delete g.attestation;
  rest[GOV] = g;
  return rest;
}

export function agentGovernanceHooks(deps: GovernanceDeps): ResourceHooks {
  const { policy, registry } = deps;
  const agentType = () => registry.resourceType('Agent')!;
  const userType = () => registry.resourceType('User')!;

  // catalogue ids for the $ref of grants, cached briefly: a value's id never changes, and an entry
  // cannot be deleted (and re-created under a new id) while an agent holds it
  const catalogueIds = new CatalogueIdCache(registry);

  const approvalRequired = (env: unknown) => typeof env !== 'string' || policy.approvalRequiredEnvironments.includes(env);

  async function checkCredentialUniqueness(store: Store, id: string, prev: Json[], next: Json[]): Promise<void> {
    const known = (key: string) => new Set(prev.map((c) => str(c[key])).filter((x): x is string => x !== undefined));
    const checks: { key: string; value: string }[] = [];
    for (const key of ['credentialId', 'keyThumbprint']) {
      const had = known(key);
      for (const c of next) {
        const v = str(c[key]);
        if (v !== undefined && !had.has(v)) checks.push({ key, value: v });
      }
    }
    for (const { key, value } of checks) {
      const filter: Filter = allOf(
        { kind: 'valuePath', path: { uri: GOV, attr: 'credentials' }, filter: eq(key, value) },
        { kind: 'not', filter: eq('id', id) },
      )!;
      if ((await count(store, agentType(), filter)) > 0) {
        throw new ScimError(409, `credentials: this ${key} is already attached to another agent; one credential belongs to one agent (R12)`, 'uniqueness');
      }
    }
  }

  async function checkUserNameFree(store: Store, id: string, agentUserName: string): Promise<void> {
    const name = projectedUserName(agentUserName, policy);
    const res = await store.list(userType(), { filter: eq('userName', name), startIndex: 1, count: 2, withoutTotal: true });
    const other = res.resources.find((r) => r.id !== id);
    if (other) {
      const what = isAgentProjection(other.data) ? 'another agent' : 'a User';
      throw new ScimError(
        409,
        `agentUserName "${agentUserName}" is already the userName of ${what} on /Users; agents are listed there too and userName is unique across them`,
        'uniqueness',
      );
    }
  }

  /**
   * The early check of a limit (a friendly 409 before any work): the count of `filter`, or undefined
   * when every read worker is busy — the commit's guard decides then, as it does in every case.
   */
  async function countForEarlyCheck(store: Store, filter: Filter): Promise<number | undefined> {
    try {
      return await count(store, agentType(), filter);
    } catch (e) {
      if (e instanceof QueryBusy) return undefined;
      throw e;
    }
  }

  /**
   * Seat limits: an agent joining an owner team (created in it, or moved in) must find a free seat.
   * Checked here, and enforced by the store in the commit (a guard: counted after the write, in its
   * transaction), so concurrent hires cannot all take the last seat.
   */
  async function checkSeat(store: Store, g: Json, prevGov: Json | undefined, id: string, to: LifecycleState, guards: CommitGuard[]): Promise<void> {
    const team = isObj(g.ownerTeam) ? str(g.ownerTeam.value) : undefined;
    const before = prevGov && isObj(prevGov.ownerTeam) ? str(prevGov.ownerTeam.value) : undefined;
    if (team === undefined || team === before || to === 'retired') return;
    const limit = seatLimitOf(policy, { value: team, ...(str((g.ownerTeam as Json).display) ? { display: String((g.ownerTeam as Json).display) } : {}) });
    if (limit === undefined) return;
    const message = `owner team "${String((g.ownerTeam as Json).display ?? team)}" has used all of its ${limit} agent seats; retire an agent or raise the limit`;
    const seated = allOf(eq('ownerTeam', team, GOV, 'value'), { kind: 'not', filter: eq('lifecycleState', 'retired', GOV) })!;
    guards.push({ key: `seat-limit:${team.toLowerCase()}`, type: 'Agent', filter: seated, max: limit, message });
    const used = await countForEarlyCheck(store, allOf(seated, { kind: 'not', filter: eq('id', id) })!);
    if (used !== undefined && used >= limit) throw new ScimError(409, message);
  }

  async function granterOf(ctx: RequestContext, kind: ActorKind, people: Map<string, Person>): Promise<Granter> {
    const userId = ctx.actor.userId;
    const p = userId ? people.get(userId) : undefined;
    const human = p && p.kind === 'human' && p.active ? p : undefined;
    return {
      id: userId ?? ctx.actor.client,
      ...(human ? { userId: human.id } : {}),
      display: human?.display ?? ctx.actor.client,
      system: kind === 'connector' ? ctx.actor.client : 'agentroster',
    };
  }

  /**
   * totalAssignmentsPermitted: a newly granted entitlement may be held by at most its limit of
   * agents. Checked here, and enforced by the store in the commit (a guard per limited entitlement).
   */
  async function assignmentLimits(store: Store, id: string, added: string[], catalogue: Map<string, CatalogueEntry>, guards: CommitGuard[]): Promise<void> {
    for (const v of added) {
      const limit = catalogue.get(v)?.assignmentLimit;
      if (limit === undefined) continue;
      const message = `entitlements: "${v}" may be held by at most ${limit} agents (totalAssignmentsPermitted)`;
      const holding: Filter = { kind: 'valuePath', path: { attr: 'entitlements' }, filter: eq('value', v) };
      guards.push({ key: `entitlement-limit:${v.toLowerCase()}`, type: 'Agent', filter: holding, max: limit, message });
      const holders = await countForEarlyCheck(store, allOf(holding, { kind: 'not', filter: eq('id', id) })!);
      if (holders !== undefined && holders >= limit) throw new ScimError(409, message);
    }
  }

  return {
    prepareCreate(body) {
      // Hiring, not spawning (standards.md §4.3): a new agent waits for approval, unless its
      // environment does not require one.
      const key = Object.keys(body).find((k) => k.toLowerCase() === GOV.toLowerCase());
      if (!key) return body;
      const ext = body[key];
      if (!isObj(ext)) return body;
      if (Object.keys(ext).some((k) => k.toLowerCase() === 'lifecyclestate')) return body;
      const envKey = Object.keys(ext).find((k) => k.toLowerCase() === 'environment');
      const state = approvalRequired(envKey === undefined ? undefined : ext[envKey]) ? 'pending' : 'active';
      return { ...body, [key]: { ...ext, lifecycleState: state } };
    },

    async finalize(input, info) {
      const { store, ctx, previous, at, id } = info;
      const kind = actorKind(ctx);
      const prevGov = previous && isObj(previous[GOV]) ? (previous[GOV] as Json) : undefined;
      const next: Json = { ...input };
      const g: Json = { ...(isObj(input[GOV]) ? (input[GOV] as Json) : {}) };
      next[GOV] = g;
      const violations: (Violation | undefined)[] = [];

      // `active` is derived; a client's write of it is a request to change lifecycleState. On
      // create it is ignored: approval decides a new agent's state.
      if (prevGov) {
        const intended = activeIntent(prevGov.lifecycleState, g.lifecycleState, input.active);
        if (intended) g.lifecycleState = intended;
      }

      // Most restrictive wins: a connector's or the engine's "suspend" of an agent that is pending
      // or retired keeps the stronger state.
      if (prevGov && kind !== 'client' && kind !== 'iga' && g.lifecycleState === 'suspended' && (prevGov.lifecycleState === 'pending' || prevGov.lifecycleState === 'retired')) {
        g.lifecycleState = prevGov.lifecycleState;
        if (prevGov.stateReason === undefined) delete g.stateReason;
        else g.stateReason = prevGov.stateReason;
      }

      const change = classifyChange(previous, next);
      if (prevGov?.lifecycleState === 'retired' && (change.activation || change.expansive.length > 0 || change.restrictive.length > 0)) {
        throw invalidValue('a retired agent is a tombstone and cannot change (R14); register a new agent instead');
      }
      throwViolations([authorizationViolation(change, kind, ctx, approvalRequired(g.environment))]);

      // ── lifecycle ────────────────────────────────────────────────────────────────────────────
      const from = prevGov && isState(prevGov.lifecycleState) ? prevGov.lifecycleState : undefined;
      const to = isState(g.lifecycleState) ? g.lifecycleState : 'pending';
      // a new agent may also be registered suspended (an import of a paused agent); never retired
      if (!previous && to === 'retired') throw invalidValue('a new agent cannot be retired');
      throwViolations([transitionViolation(from, to)]);
      const stateChanged = !previous || from !== to;
      if (stateChanged) {
        g.stateChangedAt = at;
        if (to === 'suspended' || to === 'retired') g.authorizationNotBefore = maxIso(prevGov?.authorizationNotBefore, at);
        // the reason that comes with the transition; a client's unchanged reason is the old state's
        const given = !previous || kind === 'governance' || g.stateReason !== prevGov?.stateReason ? str(g.stateReason) : undefined;
        if (to === 'active') delete g.stateReason;
        else g.stateReason = given ?? defaultReason(to, kind);
        if (to === 'active' && (from === undefined || from === 'pending')) {
          g.approvedAt = at;
          const people = ctx.actor.userId ? await resolvePeople(store, [ctx.actor.userId]) : new Map<string, Person>();
          const approver = await granterOf(ctx, kind, people);
          g.approvedBy = approvalRequired(g.environment)
            ? { ...(approver.userId ? { value: approver.userId } : {}), display: approver.display }
            : { display: `${approver.display} (no approval required in ${String(g.environment)})` };
        }
      }
      if (to === 'retired' && from !== 'retired') {
        // R14: retirement takes every grant away; credentials must be revoked at their issuer first.
        const live = objects(g.credentials).filter(LIVE_CREDENTIAL);
        if (live.length > 0) {
          throw new ScimError(
            409,
            `the agent cannot retire while credentials are live (${live.map((c) => String(c.credentialId)).join(', ')}): revoke them at their issuer and set their status to "revoked" first (R14)`,
          );
        }
        delete next.entitlements;
        delete next.roles;
      }

      // ── people: sponsor, co-sponsors, owners, owner team ──────────────────────────────────────
      const sponsorChanged = !prevGov || !samePerson(prevGov.sponsor, g.sponsor);
      const prevCo = new Set(objects(prevGov?.coSponsors).map((c) => String(c.value)));
      const prevOwners = new Set(objects(previous?.owners).map((o) => String(o.value)));
      const teamChanged = !samePerson(prevGov?.ownerTeam, g.ownerTeam) && isObj(g.ownerTeam);
      const wanted: string[] = [];
      if (sponsorChanged && isObj(g.sponsor)) wanted.push(String(g.sponsor.value));
      for (const c of objects(g.coSponsors)) wanted.push(String(c.value));
      for (const o of objects(next.owners)) wanted.push(String(o.value));
      if (teamChanged) wanted.push(String((g.ownerTeam as Json).value));
      if (ctx.actor.userId) wanted.push(ctx.actor.userId);
      const people = await resolvePeople(store, wanted);

      if (sponsorChanged) {
        const p = people.get(String((g.sponsor as Json | undefined)?.value ?? ''));
        if (!p) throw invalidValue('sponsor is required (R01)');
        throwViolations([sponsorViolation(p, id)]);
        if (kind === 'governance') {
          // the engine (a transfer to a co-sponsor or manager) sets status and facts itself
          g.sponsor = { ...sponsorValue(p, 'active'), ...(g.sponsor as Json) };
        } else {
          g.sponsor = sponsorValue(p, 'active');
          g.sponsorStatus = 'ok';
          delete g.sponsorDepartedAt;
        }
      } else if (kind !== 'governance' && prevGov) {
        g.sponsor = prevGov.sponsor; // its readOnly facts are the server's
      }
      if (g.sponsorStatus === undefined) g.sponsorStatus = 'ok';
      const sponsorId = str((g.sponsor as Json | undefined)?.value);

      const co = objects(g.coSponsors);
      if (co.length > MAX_CO_SPONSORS) violations.push(invalid(`coSponsors: at most ${MAX_CO_SPONSORS}`));
      const seenCo = new Set<string>();
      g.coSponsors = co.map((c) => {
        const value = String(c.value);
        if (seenCo.has(value)) violations.push(invalid(`coSponsors: "${value}" is listed twice`));
        seenCo.add(value);
        const p = people.get(value)!;
        if (!prevCo.has(value) || value === sponsorId) violations.push(coSponsorViolation(p, id, sponsorId));
        const out: Json = { value, type: p.kind === 'group' ? 'group' : 'user' };
        const display = p.display ?? str(c.display);
        if (display !== undefined) out.display = display;
        return out;
      });
      if (co.length === 0) delete g.coSponsors;

      const owners = objects(next.owners);
      if (owners.length > 0) {
        next.owners = owners.map((o) => {
          const value = String(o.value);
          const p = people.get(value)!;
          if (!prevOwners.has(value)) {
            if (p.kind === 'missing') violations.push(invalid(`owners: no User or Group has id "${value}"`));
            else if (p.kind === 'agent') violations.push(invalid(`owners: "${value}" is an agent; owners are Users or Groups`));
            else if (p.kind === 'human' && !p.active) violations.push(invalid(`owners: User "${value}" is not active`));
          }
          const out: Json = { value, type: p.kind === 'group' ? 'group' : (str(o.type) ?? 'user') };
          const display = p.display ?? str(o.display);
          if (display !== undefined) out.display = display;
          return out;
        });
      }
      if (isObj(g.ownerTeam)) {
        if (teamChanged) {
          const p = people.get(String(g.ownerTeam.value))!;
          if (p.kind !== 'group') violations.push(invalid(`ownerTeam: "${String(g.ownerTeam.value)}" is not a Group`));
          g.ownerTeam = { value: g.ownerTeam.value, ...(p.display !== undefined ? { display: p.display } : {}) };
        } else if (prevGov?.ownerTeam) g.ownerTeam = prevGov.ownerTeam;
      }
      throwViolations(violations);

      // ── reviews (R04) ─────────────────────────────────────────────────────────────────────────
      throwViolations([reviewIntervalViolation(g)]);
      if (to === 'retired') delete g.nextReviewDue;
      else {
        const prevDue = str(prevGov?.nextReviewDue);
        const base =
          str(g.lastReviewedAt) ??
          str(g.approvedAt) ??
          (prevDue !== undefined && prevGov ? addDays(prevDue, -reviewInterval(prevGov, policy)) : at);
        g.nextReviewDue = addDays(base, reviewInterval(g, policy));
      }

      // ── grants (R06, R07, R08, R13) ───────────────────────────────────────────────────────────
      const atMs = Date.parse(at);
      const prevEnts = objects(previous?.entitlements);
      const prevByValue = new Map(prevEnts.map((e) => [String(e.value), e]));
      // grants past their expiry go (the scheduler normally removes them first)
      const ents = objects(next.entitlements).filter((e) => {
        const p = prevByValue.get(String(e.value));
        const pe = p ? ms(p.expiresAt) : undefined;
        return !(pe !== undefined && pe <= atMs && ms(e.expiresAt) === pe);
      });
      const roles = objects(next.roles);
      const envChanged = prevGov !== undefined && prevGov.environment !== g.environment;
      // Only grants that are new or changed are checked against the catalogue (a kept grant was
      // checked when it was made) — unless the environment moves (R13) or the agent is autonomous
      // (R08 looks at every privileged grant).
      const touched = (list: Json[], before: Json[]) => {
        const old = new Map(before.map((x) => [String(x.value), x]));
        return list.filter((x) => !deepEqual(old.get(String(x.value)), x)).map((x) => String(x.value));
      };
      const everyGrant = envChanged || g.autonomyLevel === 'autonomous';
      const entValues = everyGrant ? ents.map((e) => String(e.value)) : touched(ents, prevEnts);
      const entCatalogue = entValues.length > 0 ? await lookupCatalogue(store, registry, 'Entitlement', entValues) : new Map<string, CatalogueEntry>();
      if (ents.length > 0 || prevEnts.length > 0) {
        const granter = await granterOf(ctx, kind, people);
        const common = { at, granter, sponsorId, environment: str(g.environment), environmentChanged: envChanged, policy, newGrantId: randomUUID };
        const res = finalizeGrants(prevEnts, ents, { ...common, kind: 'entitlement', catalogue: entCatalogue });
        throwViolations(res.violations);
        if (res.grants.length > 0) next.entitlements = res.grants;
        else delete next.entitlements;
        const added = res.grants.map((e) => String(e.value)).filter((v) => !prevByValue.has(v));
        await assignmentLimits(store, id, added, entCatalogue, info.guards);
      }
      const prevRoles = objects(previous?.roles);
      if (roles.length > 0) {
        const roleValues = touched(roles, prevRoles);
        const roleCatalogue = roleValues.length > 0 ? await lookupCatalogue(store, registry, 'Role', roleValues) : new Map<string, CatalogueEntry>();
        const granter = await granterOf(ctx, kind, people);
        const res = finalizeGrants(prevRoles, roles, {
          kind: 'role', at, granter, sponsorId, environment: str(g.environment), environmentChanged: envChanged, policy, catalogue: roleCatalogue, newGrantId: randomUUID,
        });
        throwViolations(res.violations);
        next.roles = res.grants;
      }
      if (g.autonomyLevel === 'autonomous' && (!previous || change.expansive.length > 0 || change.activation)) {
        throwViolations([autonomyViolation(g, objects(next.entitlements), entCatalogue)]);
      }

      // ── profile, credentials, uniqueness, seats ───────────────────────────────────────────────
      throwViolations(profileViolations(next, g, id));
      await checkCredentialUniqueness(store, id, objects(prevGov?.credentials), objects(g.credentials));
      if (!previous || previous.agentUserName !== next.agentUserName) await checkUserNameFree(store, id, String(next.agentUserName));
      await checkSeat(store, g, prevGov, id, to, info.guards);
      // (secrets: every client input is scanned raw before it is parsed — ResourceService for every type,
      // certifications, activity — so no error message can echo one; nothing to re-scan here)

      // ── derived state ─────────────────────────────────────────────────────────────────────────
      const creds = credentialFacts(g, at, policy).status;
      if (creds === undefined) delete g.credentialStatus;
      else g.credentialStatus = creds;
      // inactivity (R05) is measured from the last activity or (re)activation, never from this write
      const issues = complianceIssues(next, str(g.stateChangedAt) ?? at, at, policy);
      if (issues.length > 0) g.complianceIssues = issues;
      else delete g.complianceIssues;
      if (change.activation) {
        const blockers = activationBlockers(g, at);
        if (blockers.length > 0) throw new ScimError(409, `the agent cannot be activated: ${blockers.join('; ')}`);
      }
      next.active = to === 'active';
      g.lifecycleState = to;
      const prevVersion = typeof prevGov?.version === 'number' ? prevGov.version : 0;
      g.version = previous && deepEqual(contentOf(previous), contentOf(next)) ? prevVersion || 1 : prevVersion + 1;
      return next;
    },

    async effects(data, info) {
      if (!data) return undefined;
      const g = isObj(data[GOV]) ? (data[GOV] as Json) : {};
      let projection: Json | undefined;
      const stored = info.action === 'repair' ? undefined : await info.store.get('User', info.id);
      if (g.lifecycleState !== 'retired') {
        // privileged flags: the stored projection knows those of kept grants; only new ones are
        // looked up (a repair looks up all: a catalogue flag may have changed since)
        const known = new Map<string, boolean>();
        const ext = stored && isObj(stored.data[AGENT_USER]) ? (stored.data[AGENT_USER] as Json) : undefined;
        for (const e of objects(ext?.entitlementGrants)) known.set(String(e.value), e.privileged === true);
        const values = objects(data.entitlements).map((e) => String(e.value));
        const missing = values.filter((v) => !known.has(v));
        const found = missing.length > 0 ? await lookupCatalogue(info.store, registry, 'Entitlement', missing) : new Map<string, CatalogueEntry>();
        const catalogue = new Map<string, CatalogueEntry>();
        for (const v of values) {
          const privileged = known.get(v) ?? found.get(v)?.privileged ?? false;
          catalogue.set(v, { id: found.get(v)?.id ?? '', value: v, privileged });
        }
        const coIds = objects(g.coSponsors).filter((c) => c.type !== 'group').map((c) => String(c.value));
        const people = coIds.length > 0 ? await resolvePeople(info.store, coIds) : new Map<string, Person>();
        const coSponsorEmails = coIds.map((i) => people.get(i)?.email).filter((e): e is string => e !== undefined);
        projection = agentToUser({ ...data, id: info.id }, { policy, now: info.at, catalogue, coSponsorEmails });
      }
      const w = await projectionWrite(info.store, info.id, projection, info.at, info.action === 'repair' ? undefined : (stored ?? null));
      return w ? { writes: [w] } : undefined;
    },

    async intercept(op, ctx) {
      if (op.kind !== 'delete') return undefined;
      // R14 / governed-agent: DELETE never loses an agent. A retired agent is already the tombstone
      // (204, nothing changes); any other agent must be retired first (403, nothing changes).
      void ctx;
      const row = await deps.store.get('Agent', op.id);
      if (!row) throw notFound(`Agent "${op.id}" not found`);
      if (!ifMatchPasses(op.ifMatch, row.version)) throw preconditionFailed(`If-Match does not match the current version ${etagOf(row.version)}`);
      const state = isObj(row.data[GOV]) ? (row.data[GOV] as Json).lifecycleState : undefined;
      if (state === 'retired') return 'done';
      throw new ScimError(
        403,
        `an agent that is not retired cannot be deleted (it is ${String(state)}); nothing was changed — retire it first (PATCH ${GOV}:lifecycleState "retired"); the retired record stays as a tombstone (R14)`,
      );
    },

    async decorate(resources, store) {
      const entValues = new Set<string>();
      const roleValues = new Set<string>();
      for (const r of resources) {
        for (const e of objects(r.entitlements)) entValues.add(String(e.value));
        for (const e of objects(r.roles)) roleValues.add(String(e.value));
      }
      const ents = await catalogueIds.get(store, 'Entitlement', [...entValues]);
      const roles = await catalogueIds.get(store, 'Role', [...roleValues]);
      for (const r of resources) {
        const base = baseUrlOf(r, '/Agents');
        if (base === undefined) continue;
        const ref = (o: unknown, endpoint: string) => {
          if (isObj(o) && typeof o.value === 'string') o.$ref = `${base}/${endpoint}/${o.value}`;
        };
        const byType = (o: Json) => ref(o, o.type === 'group' ? 'Groups' : 'Users');
        const g = isObj(r[GOV]) ? (r[GOV] as Json) : {};
        ref(g.sponsor, 'Users');
        objects(g.coSponsors).forEach(byType);
        objects(r.owners).forEach(byType);
        ref(g.ownerTeam, 'Groups');
        ref(g.approvedBy, 'Users');
        ref(r.parent, 'Agents');
        for (const e of objects(r.entitlements)) {
          const c = ents.get(String(e.value));
          if (c) e.$ref = `${base}/Entitlements/${c}`;
        }
        for (const e of objects(r.roles)) {
          const c = roles.get(String(e.value));
          if (c) e.$ref = `${base}/Roles/${c}`;
        }
      }
    },
  };
}

const ID_CACHE_MS = 60_000;

class CatalogueIdCache {
  readonly #registry: SchemaRegistry;
  readonly #ids = new Map<string, { id: string; at: number }>();
  constructor(registry: SchemaRegistry) {
    this.#registry = registry;
  }
  async get(store: Store, kind: 'Entitlement' | 'Role', values: string[]): Promise<Map<string, string>> {
    const now = Date.now();
    const out = new Map<string, string>();
    const missing: string[] = [];
    for (const v of values) {
      const hit = this.#ids.get(`${kind}\u0000${v}`);
      if (hit && now - hit.at < ID_CACHE_MS) out.set(v, hit.id);
      else missing.push(v);
    }
    if (missing.length > 0) {
      if (this.#ids.size > 50_000) this.#ids.clear();
      for (const [v, e] of await lookupCatalogue(store, this.#registry, kind, missing)) {
        this.#ids.set(`${kind}\u0000${v}`, { id: e.id, at: now });
        out.set(v, e.id);
      }
    }
    return out;
  }
}
