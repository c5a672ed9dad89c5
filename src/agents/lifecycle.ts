// The agent lifecycle (standards.md §4.3): pending → active ↔ suspended → retired, and
// pending → retired (a rejected request). retired is terminal. Pure.

import { invalid, type Json, ms, type Violation } from './util.js';

export type LifecycleState = 'pending' | 'active' | 'suspended' | 'retired';

export const STATES: readonly LifecycleState[] = ['pending', 'active', 'suspended', 'retired'];

export type StateReason =
  | 'approvalPending'
  | 'sponsorDeparted'
  | 'reviewOverdue'
  | 'inactivity'
  | 'credentialCompromise'
  | 'policyViolation'
  | 'certificationRevoked'
  | 'budgetExceeded'
  | 'externalDisable'
  | 'manual'
  | 'decommissioned'
  | 'validityExpired';

const NEXT: Record<LifecycleState, readonly LifecycleState[]> = {
  pending: ['active', 'retired'],
  active: ['suspended', 'retired'],
  suspended: ['active', 'retired'],
  retired: [],
};

export function isState(v: unknown): v is LifecycleState {
  return typeof v === 'string' && (STATES as readonly string[]).includes(v);
}

/** undefined when `from → to` is a legal transition (or no transition at all). */
export function transitionViolation(from: LifecycleState | undefined, to: LifecycleState): Violation | undefined {
  if (from === undefined) {
    return to === 'retired' ? invalid('an agent cannot be created retired') : undefined;
  }
  if (from === to) return undefined;
  if (NEXT[from].includes(to)) return undefined;
  if (from === 'retired') return invalid(`a retired agent is a tombstone: it cannot become ${to}`);
  return invalid(`lifecycleState cannot change from ${from} to ${to} (allowed: ${NEXT[from].join(', ') || 'none'})`);
}

/** Suspension and retirement take access away; they advance authorizationNotBefore (R16). */
export function isRestrictiveTransition(from: LifecycleState | undefined, to: LifecycleState): boolean {
  return from !== to && (to === 'suspended' || to === 'retired');
}

export type ActorKind = 'client' | 'iga' | 'connector' | 'governance';

/** The stateReason a transition gets when the caller gave none. */
export function defaultReason(to: LifecycleState, actor: ActorKind): StateReason | undefined {
  switch (to) {
    case 'pending':
      return 'approvalPending';
    case 'active':
      return undefined;
    case 'suspended':
      return actor === 'connector' ? 'externalDisable' : actor === 'iga' ? 'certificationRevoked' : 'manual';
    case 'retired':
      return actor === 'iga' ? 'certificationRevoked' : 'decommissioned';
  }
}

/**
 * What keeps an agent from becoming active (standards.md §4.3: "all blocking reasons cleared"):
 * an accountable sponsor, a review that is not overdue, a validity window that has begun and not
 * ended. Returns human-readable reasons; empty means it may be activated.
 */
export function activationBlockers(agentGov: Json, now: string): string[] {
  const out: string[] = [];
  const status = agentGov.sponsorStatus;
  if (status === 'departed' || status === 'missing') out.push(`the sponsor is ${String(status)}: assign an active sponsor first`);
  const due = ms(agentGov.nextReviewDue);
  const t = Date.parse(now);
  if (due !== undefined && due <= t) out.push('the review is overdue: certify the agent first (POST …/certifications)');
  const from = ms(agentGov.validFrom);
  if (from !== undefined && from > t) out.push(`validFrom ${String(agentGov.validFrom)} is in the future`);
  const until = ms(agentGov.validUntil);
  if (until !== undefined && until <= t) out.push(`validUntil ${String(agentGov.validUntil)} has passed`);
  return out;
}
