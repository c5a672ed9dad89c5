// R25: the compliance summary (GET /Reports/Compliance). Every count is a database query, and each
// finding carries the SCIM filter that lists exactly those agents at /Agents, so a report line is
// one click (or one curl) away from the agents behind it.

import { ISSUE_TYPES } from '../../agents/reviews.js';
import type { GovernancePolicy } from '../../agents/policy.js';
import { addDays, type Json } from '../../agents/util.js';
import { parseFilter } from '../../scim/filter/parse.js';
import type { SchemaRegistry } from '../../scim/registry.js';
import type { Store } from '../../store/types.js';
import { count, GOV } from './common.js';

export const COMPLIANCE_REPORT_URN = 'urn:agentroster:scim:api:messages:1.0:ComplianceReport';

const G = GOV;
const LIVE = `not (${G}:lifecycleState eq "retired")`;

interface Finding {
  id: string;
  severity: 'high' | 'medium' | 'low' | 'info';
  title: string;
  filter: string;
}

export function findings(now: string, policy: GovernancePolicy): Finding[] {
  const soon = addDays(now, 30);
  const week = addDays(now, 7);
  const issue = (t: string) => `${G}:complianceIssues[type eq "${t}"] and ${LIVE}`;
  const f: Finding[] = [
    { id: 'sponsorDeparted', severity: 'high', title: 'sponsor departed or missing: no accountable human (R03)', filter: `(${G}:sponsorStatus eq "departed" or ${G}:sponsorStatus eq "missing") and ${LIVE}` },
    { id: 'sponsorUnconfirmed', severity: 'medium', title: 'sponsorship transferred automatically, not yet confirmed by a certification (R03)', filter: `${G}:sponsorStatus eq "transferPending" and ${LIVE}` },
    { id: 'reviewOverdue', severity: 'high', title: 'review overdue (R04)', filter: `${G}:nextReviewDue lt "${now}" and ${LIVE}` },
    { id: 'reviewDueSoon', severity: 'info', title: 'review due within 30 days', filter: `${G}:nextReviewDue ge "${now}" and ${G}:nextReviewDue lt "${soon}" and ${LIVE}` },
    { id: 'credentialStale', severity: 'medium', title: `credential not rotated within ${policy.maxCredentialAgeDays} days (R11)`, filter: `${G}:credentialStatus eq "stale" and ${LIVE}` },
    { id: 'credentialExpired', severity: 'high', title: 'credential past its expiry and still active (R11)', filter: `${G}:credentialStatus eq "expired" and ${LIVE}` },
    { id: 'inactive', severity: 'medium', title: `no activity for ${policy.inactivityDays} days (R05)`, filter: issue('inactive') },
    { id: 'minSponsors', severity: 'medium', title: `fewer than ${policy.minSponsors} sponsors (R02)`, filter: issue('minSponsors') },
    { id: 'validityExpired', severity: 'high', title: 'past validUntil', filter: issue('validityExpired') },
    { id: 'grantsExpiringSoon', severity: 'info', title: 'a grant expires within 7 days (R06)', filter: `entitlements[expiresAt lt "${week}"] and ${LIVE}` },
    { id: 'humanUseSuspected', severity: 'high', title: 'interactive sign-in of an agent identity (R21)', filter: `${G}:lastAuthentication.humanUseSuspected eq true and ${LIVE}` },
    { id: 'withoutOwners', severity: 'low', title: `no technical owners (${policy.recommendedOwners} recommended)`, filter: `not (owners pr) and ${LIVE}` },
    { id: 'pendingApproval', severity: 'info', title: 'waiting for approval', filter: `${G}:lifecycleState eq "pending"` },
  ];
  return f;
}

export async function complianceReport(store: Store, registry: SchemaRegistry, policy: GovernancePolicy, now: string): Promise<Json> {
  const rt = registry.resourceType('Agent')!;
  const byState: Record<string, number> = {};
  for (const s of ['pending', 'active', 'suspended', 'retired']) byState[s] = await count(store, rt, parseFilter(`${G}:lifecycleState eq "${s}"`));
  const out = [];
  for (const f of findings(now, policy)) out.push({ ...f, count: await count(store, rt, parseFilter(f.filter)) });
  const live = (byState.pending ?? 0) + (byState.active ?? 0) + (byState.suspended ?? 0);
  const withIssues = await count(store, rt, parseFilter(`${G}:complianceIssues.type pr and ${LIVE}`));
  return {
    schemas: [COMPLIANCE_REPORT_URN],
    generatedAt: now,
    agents: { total: live + (byState.retired ?? 0), ...byState },
    compliant: live - withIssues,
    nonCompliant: withIssues,
    issueTypes: ISSUE_TYPES,
    findings: out,
    policy: {
      minSponsors: policy.minSponsors,
      reviewIntervalDays: policy.reviewIntervalDays,
      reviewGraceDays: policy.reviewGraceDays,
      inactivityDays: policy.inactivityDays,
      inactivityAction: policy.inactivityAction,
      sponsorDepartureGraceDays: policy.sponsorDepartureGraceDays,
      privilegedMaxDays: policy.privilegedMaxDays,
      maxCredentialAgeDays: policy.maxCredentialAgeDays,
    },
  };
}
