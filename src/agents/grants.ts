// Entitlement and role grants (standards.md §4.4; R06, R07, R08, R13): catalogue membership, grant
// metadata set by the server, expiry rules for privileged grants, separation of duties, the
// autonomy guardrail and environment isolation. Pure: the catalogue entries and the granter are
// looked up by the caller.

import type { GovernancePolicy } from './policy.js';
import { addDays, forbidden, invalid, type Json, ms, objects, str, type Violation } from './util.js';

export type GrantKind = 'entitlement' | 'role';

export interface CatalogueEntry {
  id: string;
  value: string;
  display?: string;
  type?: string;
  privileged: boolean;
  environment?: string;
  maxGrantDays?: number;
  /** limitedAssignmentsPermitted: at most this many holders (totalAssignmentsPermitted) */
  assignmentLimit?: number;
}

export interface Granter {
  /** the bound human's User id, else the token (or system) name: `grantedBy` */
  id: string;
  /** the bound human User, when the token has one (R07) */
  userId?: string;
  display: string;
  /** agentroster, or the connector that granted (grantedBySystem) */
  system: string;
}

export interface GrantContext {
  kind: GrantKind;
  at: string;
  granter: Granter;
  sponsorId: string | undefined;
  environment: string | undefined;
  /** the agent's environment changes in this write: every grant is checked against it (R13) */
  environmentChanged: boolean;
  policy: GovernancePolicy;
  catalogue: ReadonlyMap<string, CatalogueEntry>;
  newGrantId: () => string;
}

export interface GrantResult {
  grants: Json[];
  violations: Violation[];
}

const KEPT_SUBS = [
  'grantId',
  'grantedBy',
  'grantedByDisplay',
  'grantedBySystem',
  'grantedAt',
  'source',
  'approvedBy',
  'lastUsedAt',
  'lastCertifiedAt',
] as const;

/** The longest a grant of this entry may run, in days, or undefined for no limit. */
export function maxGrantDays(entry: CatalogueEntry, policy: GovernancePolicy): number | undefined {
  const limits = [entry.maxGrantDays, entry.privileged ? policy.privilegedMaxDays : undefined].filter(
    (x): x is number => typeof x === 'number' && x > 0,
  );
  return limits.length > 0 ? Math.min(...limits) : undefined;
}

/**
 * Checks and completes the grants of one multi-valued attribute (entitlements or roles) after a
 * write: new grants get their metadata, kept grants keep theirs, and every rule is checked for
 * grants that are new or widened (expiry later or removed).
 */
export function finalizeGrants(prev: Json[], next: Json[], c: GrantContext): GrantResult {
  const violations: Violation[] = [];
  const attr = c.kind === 'entitlement' ? 'entitlements' : 'roles';
  const before = new Map(prev.map((g) => [str(g.value) ?? '', g]));
  const seen = new Set<string>();
  const grants: Json[] = [];
  for (const g of next) {
    const value = str(g.value);
    if (value === undefined) continue;
    if (seen.has(value)) {
      violations.push(invalid(`${attr}: "${value}" is granted twice`));
      continue;
    }
    seen.add(value);
    const entry = c.catalogue.get(value);
    const old = before.get(value);
    if (!entry && old) {
      grants.push({ ...g }); // removed from the catalogue since: kept until revoked, never re-checked
      continue;
    }
    if (!entry) {
      violations.push(
        invalid(`${attr}: "${value}" is not in the catalogue (${c.kind === 'entitlement' ? '/Entitlements' : '/Roles'})`),
      );
      continue;
    }
    const out: Json = { ...g };
    if (old) for (const k of KEPT_SUBS) if (old[k] !== undefined) out[k] = old[k];
    if (entry.display !== undefined) out.display = entry.display;
    else delete out.display;
    if (entry.type !== undefined) out.type = entry.type;
    const exp = ms(out.expiresAt);
    const oldExp = old ? ms(old.expiresAt) : undefined;
    const widened =
      !old || (exp === undefined && oldExp !== undefined) || (exp !== undefined && oldExp !== undefined && exp > oldExp);
    const envCheck = widened || c.environmentChanged;
    if (envCheck && c.kind === 'entitlement' && entry.environment && c.environment && entry.environment !== c.environment) {
      violations.push(
        invalid(`${attr}: "${value}" belongs to the ${entry.environment} environment; this agent is ${c.environment} (R13)`),
      );
    }
    const max = maxGrantDays(entry, c.policy);
    if (widened && entry.privileged && exp === undefined) {
      violations.push(invalid(`${attr}: "${value}" is privileged: expiresAt is required (R06, at most ${max ?? c.policy.privilegedMaxDays} days)`));
    }
    if (widened) {
      if (exp !== undefined && exp <= Date.parse(c.at)) violations.push(invalid(`${attr}: "${value}" expiresAt must be in the future`));
      if (max !== undefined) {
        const limit = Date.parse(addDays(c.at, max));
        if (exp === undefined && !entry.privileged) {
          violations.push(invalid(`${attr}: "${value}" may be granted for at most ${max} days: expiresAt is required`));
        } else if (exp !== undefined && exp > limit) {
          violations.push(invalid(`${attr}: "${value}" may be granted for at most ${max} days (expiresAt ≤ ${new Date(limit).toISOString()})`));
        }
      }
      if (entry.privileged) {
        // R07: a privileged grant needs a human granter who is not the sponsor; that human approves it.
        if (!c.granter.userId) {
          violations.push(
            forbidden(`${attr}: "${value}" is privileged: it must be granted with a token bound to a human User (token create --user), not by "${c.granter.display}" (R07)`),
          );
        } else if (c.sponsorId !== undefined && c.granter.userId === c.sponsorId) {
          violations.push(forbidden(`${attr}: "${value}" is privileged: the agent's sponsor cannot grant it (separation of duties, R07)`));
        } else {
          out.approvedBy = c.granter.userId;
        }
      }
    }
    if (!old) {
      out.grantId = c.newGrantId();
      out.grantedAt = c.at;
      out.grantedBy = c.granter.id;
      out.grantedByDisplay = c.granter.display;
      out.grantedBySystem = c.granter.system;
      if (out.source === undefined) out.source = 'direct';
    }
    if (c.kind === 'role') {
      // roles carry the RFC 7643 sub-attributes only
      for (const k of KEPT_SUBS) delete out[k];
      delete out.approvedBy;
      delete out.expiresAt;
      delete out.justification;
    }
    grants.push(out);
  }
  return { grants, violations };
}

/** An action policy covers an entitlement value: exact, "prefix.*" or "*". */
export function policyCovers(action: string, value: string): boolean {
  if (action === '*' || action === value) return true;
  return action.endsWith('*') && value.startsWith(action.slice(0, -1));
}

/**
 * R08: an autonomous agent holds privileged entitlements only under an action policy that requires
 * approval for (or denies) them.
 */
export function autonomyViolation(agentGov: Json, grants: Json[], catalogue: ReadonlyMap<string, CatalogueEntry>): Violation | undefined {
  if (agentGov.autonomyLevel !== 'autonomous') return undefined;
  const guarded = objects(agentGov.actionPolicies)
    .filter((p) => p.mode === 'requireApproval' || p.mode === 'deny')
    .map((p) => str(p.action))
    .filter((a): a is string => a !== undefined);
  const bare = grants
    .map((g) => str(g.value))
    .filter((v): v is string => v !== undefined && catalogue.get(v)?.privileged === true)
    .filter((v) => !guarded.some((a) => policyCovers(a, v)));
  if (bare.length === 0) return undefined;
  return invalid(
    `an autonomous agent cannot hold privileged entitlements (${bare.join(', ')}) without an actionPolicies entry for them with mode requireApproval or deny (R08)`,
  );
}

/** Grants past their expiry at `now`. */
export function expiredGrants(grants: Json[], now: string): Json[] {
  const t = Date.parse(now);
  return grants.filter((g) => {
    const e = ms(g.expiresAt);
    return e !== undefined && e <= t;
  });
}

/** R09: unused for `days` (lastUsedAt, else grantedAt) at `now`. */
export function recommendRevoke(grant: Json, now: string, days: number): boolean {
  const last = ms(grant.lastUsedAt) ?? ms(grant.grantedAt);
  return last !== undefined && last <= Date.parse(now) - days * 86_400_000;
}

