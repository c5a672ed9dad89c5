// R03: a sponsor's departure, return or change of facts reaches every agent they sponsor in the
// same commit as the User change itself (an IdP's PATCH active "False", Okta's PUT active:false,
// a DELETE): each agent's own write is planned through the full Agent hook chain (rules, signed
// record, projection) with its own audit event and outbox rows. If a sponsor holds more agents
// than one commit should carry, the rest is picked up by the scheduler's sponsor sweep minutes
// later (the same functions), so the cascade is atomic for the common case and recoverable always.

import { afterDeparture, afterReturn, chooseSuccessor, type Person, successorCandidates, withoutCoSponsor } from '../../agents/sponsor.js';
import { gov, isObj, type Json } from '../../agents/util.js';
import type { Filter } from '../../scim/filter/ast.js';
import type { Store } from '../../store/types.js';
import type { RequestContext } from '../context.js';
import type { Effects } from '../hooks.js';
import type { ResourceService } from '../service.js';
import { allOf, eq, GOV, governanceContext, resolvePeople, scan } from './common.js';
import type { GovernanceDeps } from './agent-hooks.js';
import { sponsorValue } from '../../agents/sponsor.js';

/** Agents per commit; more are left to the scheduler's sweep. */
export const CASCADE_LIMIT = 500;

export type SponsorEvent = 'departed' | 'returned' | 'changed';

const notRetired: Filter = { kind: 'not', filter: eq('lifecycleState', 'retired', GOV) };

export function sponsoredBy(id: string): Filter {
  return allOf(eq('sponsor', id, GOV, 'value'), notRetired)!;
}

export function coSponsoredBy(id: string): Filter {
  return allOf({ kind: 'valuePath', path: { uri: GOV, attr: 'coSponsors' }, filter: eq('value', id) }, notRetired)!;
}

/** The agent after `event` of its sponsor `person` (undefined: nothing to do for this agent). */
export function sponsorChange(
  agent: Json,
  event: SponsorEvent,
  person: Person,
  people: ReadonlyMap<string, Person>,
  deps: GovernanceDeps,
  at: string,
): Json | undefined {
  const g = gov(agent);
  const sponsor = isObj(g.sponsor) ? g.sponsor : {};
  if (sponsor.value !== person.id) return undefined;
  if (event === 'departed') {
    if (g.sponsorStatus === 'departed' && sponsor.status === 'departed') {
      // already departed: a successor may have become available since (the sweep retries)
      const successor = chooseSuccessor(agent, person, people, deps.policy);
      return successor ? afterDeparture(agent, person, successor, at) : undefined;
    }
    return afterDeparture(agent, person, chooseSuccessor(agent, person, people, deps.policy), at);
  }
  if (event === 'returned') return g.sponsorStatus === 'departed' ? afterReturn(agent, person) : undefined;
  // facts changed (name, e-mail, employee number): refresh what the agent and its projection show
  const status = sponsor.status === 'departed' ? 'departed' : 'active';
  return { ...agent, [GOV]: { ...g, sponsor: sponsorValue(person, status) } };
}

export interface CascadeInput {
  store: Store;
  service: ResourceService;
  deps: GovernanceDeps;
  /** the User as it was and as it will be (undefined when deleted) */
  before: Person;
  after: Person | undefined;
  ctx: RequestContext;
  at: string;
}

function eventOf(before: Person, after: Person | undefined): SponsorEvent | undefined {
  const wasActive = before.active;
  const isActive = after !== undefined && after.active;
  if (wasActive && !isActive) return 'departed';
  if (!wasActive && isActive) return 'returned';
  if (!after) return undefined;
  const facts = (p: Person) => [p.display, p.email, p.employeeNumber, p.externalId].join('\u0000');
  return facts(before) !== facts(after) ? 'changed' : undefined;
}

/** The agent writes that follow from a User change, to commit with it. */
export async function sponsorCascade(i: CascadeInput): Promise<Effects | undefined> {
  const event = eventOf(i.before, i.after);
  if (!event) return undefined;
  const person = i.after ?? i.before;
  const agentType = i.deps.registry.resourceType('Agent')!;
  const why =
    event === 'departed'
      ? `sponsor ${person.id}${person.display ? ` (${person.display})` : ''} ${i.after ? 'deactivated' : 'deleted'} by ${i.ctx.actor.client}`
      : event === 'returned'
        ? `sponsor ${person.id} active again (${i.ctx.actor.client})`
        : `sponsor ${person.id} changed (${i.ctx.actor.client})`;
  const gctx = governanceContext(i.ctx.requestId, why);
  const out: Effects = { writes: [], audit: [], outbox: [] };
  const add = (e: Effects | undefined) => {
    if (!e) return;
    out.writes.push(...e.writes);
    out.audit.push(...e.audit);
    out.outbox.push(...e.outbox);
    if (e.guards?.length) (out.guards ??= []).push(...e.guards);
  };
  let n = 0;
  const overflow = () => {
    // the rest follows within one scheduler run (its sweep applies the same functions)
    i.deps.requestSweep?.();
    return true;
  };
  for await (const row of scan(i.store, agentType, sponsoredBy(person.id))) {
    if (n++ >= CASCADE_LIMIT && overflow()) break;
    const candidates = event === 'departed' ? successorCandidates(row.data, person) : [];
    const people = await resolvePeople(i.store, candidates);
    const action = event === 'departed' ? 'sponsor.departed' : event === 'returned' ? 'sponsor.returned' : 'sponsor.refresh';
    add(
      await i.service.plan(
        'Agent',
        row.id,
        (a) => sponsorChange(a, event, person, people, i.deps, i.at) ?? a,
        gctx,
        { action, reason: why, at: i.at },
      ),
    );
  }
  if (event === 'departed') {
    for await (const row of scan(i.store, agentType, coSponsoredBy(person.id))) {
      if (n++ >= CASCADE_LIMIT && overflow()) break;
      add(await i.service.plan('Agent', row.id, (a) => withoutCoSponsor(a, person.id), gctx, { action: 'cosponsor.departed', reason: why, at: i.at }));
    }
  }
  return out;
}
