// The governance policy: every tunable of the agent rules, with defaults that match standards.md
// §3.3 (R02–R06, R11) and Entra's agent lifecycle policies. Built from the configuration by
// resources/governance/policy-config.ts; the domain functions take it as a plain value.

export type DepartureStep = 'promoteCoSponsor' | 'transferToManager';
export type InactivityAction = 'flag' | 'suspend' | 'suspendThenRetire';

export interface GovernancePolicy {
  /** environments in which a new agent waits for `agents.approve` (others start active) */
  approvalRequiredEnvironments: readonly string[];
  /** owner team (Group id or displayName; "*" = every other team) → most non-retired agents */
  seatLimits: Readonly<Record<string, number>>;
  /** R02: sponsor + co-sponsors at least this many */
  minSponsors: number;
  /** R02: days an agent may stay below minSponsors before it is suspended (policyViolation) */
  minSponsorsGraceDays: number;
  /** Okta's recommendation (≥ 2 owners): a warning in the compliance report, never an action */
  recommendedOwners: number;
  /** R03: what happens, in order, when a sponsor leaves; if none applies the agent is suspended after the grace */
  sponsorDeparture: readonly DepartureStep[];
  /** R03: days between departure and suspension when no successor was found */
  sponsorDepartureGraceDays: number;
  /** R04: default reconfirmation interval (30–730) */
  reviewIntervalDays: number;
  /** R04: days after nextReviewDue before the agent is suspended (reviewOverdue) */
  reviewGraceDays: number;
  /** R05: days without activity before an active agent counts as inactive */
  inactivityDays: number;
  /** R05: what happens to an inactive agent */
  inactivityAction: InactivityAction;
  /** R05: with suspendThenRetire, days suspended for inactivity before retirement */
  inactivityRetireAfterDays: number;
  /** R06: longest privileged grant, in days (an entitlement's maxGrantDays may be shorter) */
  privilegedMaxDays: number;
  /** R11: oldest rotation (or creation) of a static credential before it is stale */
  maxCredentialAgeDays: number;
  /** R09: a grant unused (lastUsedAt, else grantedAt) this many days is flagged recommendRevoke */
  grantUnusedDays: number;
  /** appended as "@suffix" to userName in the User projection (tools that need e-mail-like logins) */
  agentUserNameSuffix?: string;
}

export const REVIEW_INTERVAL_MIN = 30;
export const REVIEW_INTERVAL_MAX = 730;

export const DEFAULT_POLICY: GovernancePolicy = {
  approvalRequiredEnvironments: ['production', 'staging', 'development', 'test'],
  seatLimits: {},
  minSponsors: 1,
  minSponsorsGraceDays: 7,
  recommendedOwners: 2,
  sponsorDeparture: ['promoteCoSponsor', 'transferToManager'],
  sponsorDepartureGraceDays: 7,
  reviewIntervalDays: 90,
  reviewGraceDays: 14,
  inactivityDays: 90,
  inactivityAction: 'suspend',
  inactivityRetireAfterDays: 30,
  privilegedMaxDays: 30,
  maxCredentialAgeDays: 90,
  grantUnusedDays: 60,
};

/** The seat limit of an owner team, by id or display name, else the "*" default. */
export function seatLimitOf(policy: GovernancePolicy, team: { value: string; display?: string }): number | undefined {
  const limits = policy.seatLimits;
  const byKey = (k: string | undefined) =>
    k === undefined ? undefined : Object.entries(limits).find(([name]) => name.toLowerCase() === k.toLowerCase())?.[1];
  return byKey(team.value) ?? byKey(team.display) ?? limits['*'];
}
