// Time-based governance facts of an agent (R02, R04, R05, R11): when its next review is due, how
// stale its credentials are, whether it is inactive, and the resulting compliance issues. Pure:
// every function takes `now`.

import { type GovernancePolicy, REVIEW_INTERVAL_MAX, REVIEW_INTERVAL_MIN } from './policy.js';
import { addDays, DAY_MS, gov, invalid, type Json, maxIso, ms, objects, str, type Violation } from './util.js';

export function reviewIntervalViolation(agentGov: Json): Violation | undefined {
  const v = agentGov.reviewIntervalDays;
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < REVIEW_INTERVAL_MIN || v > REVIEW_INTERVAL_MAX) {
    return invalid(`reviewIntervalDays must be an integer from ${REVIEW_INTERVAL_MIN} to ${REVIEW_INTERVAL_MAX} (R04)`);
  }
  return undefined;
}

export function reviewInterval(agentGov: Json, policy: GovernancePolicy): number {
  const v = agentGov.reviewIntervalDays;
  return typeof v === 'number' ? v : policy.reviewIntervalDays;
}

/** R04: nextReviewDue = last review (approval counts as one; else creation) + interval. */
export function nextReviewDue(agentGov: Json, createdAt: string, policy: GovernancePolicy): string {
  const base = str(agentGov.lastReviewedAt) ?? str(agentGov.approvedAt) ?? createdAt;
  return addDays(base, reviewInterval(agentGov, policy));
}

/** Credential types whose secret is long-lived and must be rotated (R11); federated ones are not. */
const ROTATED_TYPES = new Set(['apiKey', 'oauthClient', 'x509', 'jwk']);
const LIVE = (c: Json) => c.status === undefined || c.status === 'active';

export interface CredentialFacts {
  /** ok | stale | expired; undefined without live credentials */
  status: 'ok' | 'stale' | 'expired' | undefined;
  count: number;
  staleCount: number;
  oldestRotationAt?: string;
}

/** R11: live credentials past expiresAt are expired; rotated (or created) longer ago than the maximum, stale. */
export function credentialFacts(agentGov: Json, now: string, policy: GovernancePolicy): CredentialFacts {
  const creds = objects(agentGov.credentials);
  const t = Date.parse(now);
  let expired = 0;
  let stale = 0;
  let oldest: number | undefined;
  for (const c of creds.filter(LIVE)) {
    const exp = ms(c.expiresAt);
    const rotated = ms(c.lastRotatedAt) ?? ms(c.createdAt);
    if (rotated !== undefined && (oldest === undefined || rotated < oldest)) oldest = rotated;
    if (exp !== undefined && exp <= t) expired++;
    else if (ROTATED_TYPES.has(String(c.type)) && rotated !== undefined && rotated <= t - policy.maxCredentialAgeDays * DAY_MS) stale++;
  }
  const live = creds.filter(LIVE).length;
  const out: CredentialFacts = {
    status: live === 0 ? undefined : expired > 0 ? 'expired' : stale > 0 ? 'stale' : 'ok',
    count: creds.length,
    staleCount: stale + expired,
  };
  if (oldest !== undefined) out.oldestRotationAt = new Date(oldest).toISOString();
  return out;
}

/**
 * R05: the instant inactivity is measured from: the last activity, or — for an agent never seen —
 * when it was approved or (re)activated. Reactivation by an approver restarts the clock.
 */
export function activityReference(agentGov: Json, createdAt: string): string {
  const activatedAt = agentGov.lifecycleState === 'active' ? agentGov.stateChangedAt : undefined;
  return maxIso(agentGov.lastActivityAt, activatedAt, agentGov.approvedAt, createdAt) ?? createdAt;
}

export type IssueType =
  | 'sponsorDeparted'
  | 'sponsorUnconfirmed'
  | 'minSponsors'
  | 'reviewOverdue'
  | 'inactive'
  | 'credentialStale'
  | 'credentialExpired'
  | 'validityExpired';

export const ISSUE_TYPES: readonly IssueType[] = [
  'sponsorDeparted',
  'sponsorUnconfirmed',
  'minSponsors',
  'reviewOverdue',
  'inactive',
  'credentialStale',
  'credentialExpired',
  'validityExpired',
];

export interface Issue {
  type: IssueType;
  /** since when it holds (the grace clocks of R02 and R03 run from here) */
  since: string;
}

/**
 * The compliance issues of an agent at `now` (R02–R05, R11, R25), stored on the agent so that
 * `complianceIssues.type eq "…"` is a database filter. A persisting issue keeps its `since`.
 */
export function complianceIssues(agent: Json, createdAt: string, now: string, policy: GovernancePolicy): Issue[] {
  const g = gov(agent);
  const state = g.lifecycleState;
  if (state === 'retired') return [];
  const prev = new Map(objects(g.complianceIssues).map((i) => [String(i.type), str(i.since)]));
  const t = Date.parse(now);
  const out: Issue[] = [];
  const add = (type: IssueType, natural?: string) => out.push({ type, since: prev.get(type) ?? natural ?? now });
  if (g.sponsorStatus === 'departed' || g.sponsorStatus === 'missing') add('sponsorDeparted', str(g.sponsorDepartedAt));
  if (g.sponsorStatus === 'transferPending') add('sponsorUnconfirmed');
  if (1 + objects(g.coSponsors).length < policy.minSponsors) add('minSponsors');
  const due = ms(g.nextReviewDue);
  if (due !== undefined && due <= t) add('reviewOverdue', str(g.nextReviewDue));
  if (state === 'active') {
    const inactiveAt = ms(activityReference(g, createdAt))! + policy.inactivityDays * DAY_MS;
    if (inactiveAt <= t) add('inactive', new Date(inactiveAt).toISOString());
  }
  const creds = credentialFacts(g, now, policy).status;
  if (creds === 'expired') add('credentialExpired');
  if (creds === 'stale') add('credentialStale');
  const until = ms(g.validUntil);
  if (until !== undefined && until <= t) add('validityExpired', str(g.validUntil));
  return out;
}

/** Whether an issue has lasted `days` at `now`. */
export function lastedDays(issue: Issue | undefined, days: number, now: string): boolean {
  if (!issue) return false;
  return Date.parse(issue.since) + days * DAY_MS <= Date.parse(now);
}

export function issueOf(agent: Json, type: IssueType): Issue | undefined {
  const i = objects(gov(agent).complianceIssues).find((x) => x.type === type);
  return i && typeof i.since === 'string' ? { type, since: i.since } : undefined;
}
