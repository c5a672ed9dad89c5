// Sponsors (R01–R03): who may be one, what the agent records about them, and who takes over when
// a sponsor leaves. Pure: people are looked up by the caller and passed in as Person values.

import type { GovernancePolicy } from './policy.js';
import { GOVERNANCE_URN as GOV, gov, invalid, type Json, objects, str, type Violation } from './util.js';

export type PersonKind = 'human' | 'agent' | 'group' | 'missing';

export interface Person {
  id: string;
  kind: PersonKind;
  /** a User with active ≠ false; a Group is always "active" */
  active: boolean;
  display?: string;
  email?: string;
  employeeNumber?: string;
  externalId?: string;
  /** enterprise manager.value of a User */
  managerId?: string;
}

export const MAX_CO_SPONSORS = 99; // Entra: at most 100 sponsors in all

/** R01: the sponsor is exactly one active human User, not the agent itself, another agent or a group. */
export function sponsorViolation(p: Person, agentId: string | undefined): Violation | undefined {
  if (p.id === agentId) return invalid('sponsor: an agent cannot sponsor itself; the sponsor must be a human User (R01)');
  switch (p.kind) {
    case 'missing':
      return invalid(`sponsor: no User has id "${p.id}" (R01: the sponsor must be an active human User)`);
    case 'agent':
      return invalid(`sponsor: "${p.id}" is an agent; the sponsor must be a human User (R01)`);
    case 'group':
      return invalid(`sponsor: "${p.id}" is a Group; the sponsor must be one human User (R01) — add groups to coSponsors`);
    case 'human':
      return p.active ? undefined : invalid(`sponsor: User "${p.id}" is not active (R01)`);
  }
}

export function coSponsorViolation(p: Person, agentId: string | undefined, sponsorId: string | undefined): Violation | undefined {
  if (p.id === agentId || p.kind === 'agent') return invalid(`coSponsors: "${p.id}" is an agent; co-sponsors are human Users or Groups`);
  if (p.kind === 'missing') return invalid(`coSponsors: no User or Group has id "${p.id}"`);
  if (p.id === sponsorId) return invalid(`coSponsors: "${p.id}" is already the sponsor`);
  if (p.kind === 'human' && !p.active) return invalid(`coSponsors: User "${p.id}" is not active`);
  return undefined;
}

/** The stored sponsor value: the reference plus the readOnly facts IGA correlation rules need. */
export function sponsorValue(p: Person, status: 'active' | 'departed'): Json {
  const out: Json = { value: p.id };
  if (p.display !== undefined) out.display = p.display;
  if (p.email !== undefined) out.email = p.email;
  if (p.employeeNumber !== undefined) out.employeeNumber = p.employeeNumber;
  if (p.externalId !== undefined) out.externalId = p.externalId;
  out.status = status;
  return out;
}

export interface Successor {
  how: 'promoteCoSponsor' | 'transferToManager';
  person: Person;
}

/**
 * R03: who takes over from a departed sponsor, trying the policy's steps in order: the first
 * active human co-sponsor, then the departed sponsor's manager. undefined: nobody (the agent is
 * suspended after the grace period).
 */
export function chooseSuccessor(
  agent: Json,
  departed: Person,
  people: ReadonlyMap<string, Person>,
  policy: GovernancePolicy,
): Successor | undefined {
  const ok = (p: Person | undefined): p is Person =>
    p !== undefined && p.kind === 'human' && p.active && p.id !== departed.id && p.id !== agent.id;
  for (const step of policy.sponsorDeparture) {
    if (step === 'promoteCoSponsor') {
      for (const c of objects(gov(agent).coSponsors)) {
        const p = people.get(String(c.value));
        if (ok(p)) return { how: step, person: p };
      }
    } else if (departed.managerId !== undefined) {
      const p = people.get(departed.managerId);
      if (ok(p)) return { how: step, person: p };
    }
  }
  return undefined;
}

/** Ids an agent's departure handling may need: its co-sponsors and the departed sponsor's manager. */
export function successorCandidates(agent: Json, departed: Person): string[] {
  const ids = objects(gov(agent).coSponsors)
    .map((c) => str(c.value))
    .filter((v): v is string => v !== undefined);
  if (departed.managerId !== undefined) ids.push(departed.managerId);
  return ids;
}

/**
 * The agent after its sponsor left (R03): a successor becomes sponsor with sponsorStatus
 * transferPending (until they confirm by certifying), or the sponsor is marked departed and the
 * grace clock starts.
 */
export function afterDeparture(agent: Json, departed: Person, successor: Successor | undefined, at: string): Json {
  const g = { ...gov(agent) };
  if (successor) {
    g.sponsor = sponsorValue(successor.person, 'active');
    const rest = objects(g.coSponsors).filter((c) => c.value !== successor.person.id);
    if (rest.length > 0) g.coSponsors = rest;
    else delete g.coSponsors;
    g.sponsorStatus = 'transferPending';
    delete g.sponsorDepartedAt;
  } else {
    const s = objects([g.sponsor])[0] ?? { value: departed.id };
    g.sponsor = { ...s, status: 'departed' };
    g.sponsorStatus = 'departed';
    if (g.sponsorDepartedAt === undefined) g.sponsorDepartedAt = at;
  }
  return { ...agent, [GOV]: g };
}

/** A departed sponsor who is active again (re-hired, deactivated by mistake): the agent is accountable again. */
export function afterReturn(agent: Json, person: Person): Json {
  const g = { ...gov(agent) };
  g.sponsor = sponsorValue(person, 'active');
  g.sponsorStatus = 'ok';
  delete g.sponsorDepartedAt;
  return { ...agent, [GOV]: g };
}

/** A co-sponsor who left is dropped from the list (the audit event keeps who it was). */
export function withoutCoSponsor(agent: Json, id: string): Json {
  const g = { ...gov(agent) };
  const rest = objects(g.coSponsors).filter((c) => c.value !== id);
  if (rest.length > 0) g.coSponsors = rest;
  else delete g.coSponsors;
  return { ...agent, [GOV]: g };
}
