// The agent-as-User projection (standards.md §4.5): each non-retired agent is also a User row with
// the same id, written in the same commit as every change of the agent, so that /Users (and the
// IGA view /agents-view/Users) filter, sort and page agents in the database with everything else.
// A retired agent's projection is deleted (the IGA tool sees the account gone; the Agent stays as
// the tombstone). Request-dependent parts ($ref, agentRef) are added on read.

import { recommendRevoke } from '../../agents/grants.js';
import type { CatalogueEntry } from '../../agents/grants.js';
import type { GovernancePolicy } from '../../agents/policy.js';
import { credentialFacts } from '../../agents/reviews.js';
import { gov, isObj, type Json, objects, str } from '../../agents/util.js';
import type { Store, StoredResource, Write } from '../../store/types.js';
import { AGENT_USER, baseUrlOf, ENTERPRISE, isAgentProjection, USER_CORE } from './common.js';
import { deepEqual } from '../../agents/canonical.js';

export function projectedUserName(agentUserName: string, policy: GovernancePolicy): string {
  return policy.agentUserNameSuffix ? `${agentUserName}@${policy.agentUserNameSuffix}` : agentUserName;
}

const rfcValue = (g: Json): Json => {
  const out: Json = { value: g.value };
  for (const k of ['display', 'type', 'primary']) if (g[k] !== undefined) out[k] = g[k];
  return out;
};

/** The stored User projection of an agent. */
export function agentToUser(
  agent: Json,
  o: { policy: GovernancePolicy; now: string; catalogue: ReadonlyMap<string, CatalogueEntry>; coSponsorEmails: string[] },
): Json {
  const g = gov(agent);
  const name = String(agent.agentUserName);
  const display = str(agent.displayName) ?? name;
  const sponsor = isObj(g.sponsor) ? g.sponsor : {};
  const user: Json = {
    schemas: [USER_CORE, ENTERPRISE, AGENT_USER],
    ...(str(agent.externalId) !== undefined ? { externalId: agent.externalId } : {}),
    userName: projectedUserName(name, o.policy),
    name: { formatted: display, familyName: 'Agent', givenName: display },
    displayName: display,
    ...(str(agent.agentType) !== undefined ? { title: agent.agentType } : {}),
    userType: 'Agent',
    active: g.lifecycleState === 'active',
  };
  const ents = objects(agent.entitlements);
  if (ents.length > 0) user.entitlements = ents.map(rfcValue);
  const roles = objects(agent.roles);
  if (roles.length > 0) user.roles = roles.map(rfcValue);
  const ent: Json = { employeeNumber: name };
  for (const k of ['organization', 'division', 'department', 'costCenter']) if (str(g[k]) !== undefined) ent[k] = g[k];
  if (str(sponsor.value) !== undefined) {
    ent.manager = { value: sponsor.value, ...(str(sponsor.display) !== undefined ? { displayName: sponsor.display } : {}) };
  }
  user[ENTERPRISE] = ent;
  const ext: Json = { isAgent: true };
  const put = (k: string, v: unknown) => {
    if (v !== undefined && v !== null && v !== '') ext[k] = v;
  };
  put('sponsorEmail', sponsor.email);
  put('sponsorEmployeeNumber', sponsor.employeeNumber);
  put('sponsorExternalId', sponsor.externalId);
  put('sponsorDisplayName', sponsor.display);
  if (o.coSponsorEmails.length > 0) ext.coSponsorEmails = o.coSponsorEmails;
  for (const k of ['purpose', 'environment', 'riskTier', 'autonomyLevel', 'lifecycleState', 'stateReason', 'sponsorStatus']) put(k, g[k]);
  for (const k of ['lastReviewedAt', 'nextReviewDue', 'lastActivityAt', 'validUntil']) put(k, g[k]);
  const grants = ents.map((e) => {
    const out: Json = { value: e.value };
    for (const k of ['grantedAt', 'grantedBy', 'expiresAt', 'lastUsedAt', 'source']) if (e[k] !== undefined) out[k] = e[k];
    out.privileged = o.catalogue.get(String(e.value))?.privileged === true;
    out.recommendRevoke = recommendRevoke(e, o.now, o.policy.grantUnusedDays);
    return out;
  });
  if (grants.length > 0) ext.entitlementGrants = grants;
  const facts = credentialFacts(g, o.now, o.policy);
  if (facts.count > 0) {
    ext.credentialSummary = {
      count: facts.count,
      staleCount: facts.staleCount,
      ...(facts.oldestRotationAt ? { oldestRotationAt: facts.oldestRotationAt } : {}),
    };
  }
  user[AGENT_USER] = ext;
  return user;
}

/** The write that brings the projection row in line with the agent (undefined: already is). */
export async function projectionWrite(
  store: Store,
  id: string,
  projection: Json | undefined,
  at: string,
  current?: StoredResource | null,
): Promise<Write | undefined> {
  const row = current === undefined ? await store.get('User', id) : (current ?? undefined);
  if (row && !isAgentProjection(row.data)) return undefined; // never overwrite a human User (impossible by id)
  if (projection === undefined) return row ? { kind: 'delete', type: 'User', id, expectedVersion: row.version } : undefined;
  if (!row) return { kind: 'insert', type: 'User', id, data: projection, at };
  if (deepEqual(row.data, projection)) return undefined;
  return { kind: 'update', type: 'User', id, data: projection, at, expectedVersion: row.version, before: row.data };
}

/** On read: agentRef and the manager's $ref (they depend on the public base URL of the request). */
export function decorateProjection(user: Json, policy: GovernancePolicy, now: string): void {
  // the agents-view serves the projection under …/agents-view; agents and sponsors live on the main base URL
  const base = baseUrlOf(user, '/Users')?.replace(/\/agents-view$/i, '');
  const ext = isObj(user[AGENT_USER]) ? user[AGENT_USER] : undefined;
  if (!ext) return;
  if (base !== undefined) {
    ext.agentRef = `${base}/Agents/${String(user.id)}`;
    const ent = isObj(user[ENTERPRISE]) ? user[ENTERPRISE] : undefined;
    const manager = ent && isObj(ent.manager) ? ent.manager : undefined;
    if (manager) manager.$ref = `${base}/Users/${String(manager.value)}`;
  }
  // time moves on between writes: the usage flag is as of now
  for (const g of objects(ext.entitlementGrants)) g.recommendRevoke = recommendRevoke(g, now, policy.grantUnusedDays);
}
