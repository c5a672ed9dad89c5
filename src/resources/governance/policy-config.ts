// The governance policy from the configuration (config.ts keys → agents/policy.ts).

import type { GovernancePolicy } from '../../agents/policy.js';
import type { Config } from '../../config/config.js';

export function governancePolicy(c: Config): GovernancePolicy {
  return {
    approvalRequiredEnvironments: c.approvalRequiredEnvironments,
    seatLimits: c.seatLimits,
    minSponsors: c.minSponsors,
    minSponsorsGraceDays: c.minSponsorsGraceDays,
    recommendedOwners: c.recommendedOwners,
    sponsorDeparture: c.sponsorDeparturePolicy,
    sponsorDepartureGraceDays: c.sponsorDepartureGraceDays,
    reviewIntervalDays: c.reviewIntervalDays,
    reviewGraceDays: c.reviewGraceDays,
    inactivityDays: c.inactivityDays,
    inactivityAction: c.inactivityAction,
    inactivityRetireAfterDays: c.inactivityRetireAfterDays,
    privilegedMaxDays: c.privilegedMaxDays,
    maxCredentialAgeDays: c.maxCredentialAgeDays,
    grantUnusedDays: c.grantUnusedDays,
    ...(c.agentUserNameSuffix !== undefined ? { agentUserNameSuffix: c.agentUserNameSuffix } : {}),
  };
}
