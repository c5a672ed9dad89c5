// What a write does to an agent, in the terms the permission rules need (R15, governed-agent
// "permission to disable MUST NOT imply permission to enable"): restrictive changes take access
// away (suspend, retire, revoke a grant, shorten an expiry, revoke a credential); expansive changes
// give or widen it, or edit the record; activation is its own permission. Server-maintained
// attributes are ignored: clients cannot write them. Pure.

import { isRestrictiveTransition, isState, type LifecycleState } from './lifecycle.js';
import { gov, isObj, type Json, ms, objects, str } from './util.js';
import { deepEqual } from './canonical.js';

export interface AgentChange {
  from: LifecycleState | undefined;
  to: LifecycleState | undefined;
  activation: boolean;
  /** e.g. "suspend", "revoke entitlement x" */
  restrictive: string[];
  /** e.g. "grant entitlement x", "change purpose" */
  expansive: string[];
}

/** Governance attributes only the server writes (readOnly in the schema, or derived). */
export const SERVER_GOVERNANCE_ATTRIBUTES = new Set([
  'sponsorStatus',
  'sponsorDepartedAt',
  'stateChangedAt',
  'approvedBy',
  'approvedAt',
  'version',
  'authorizationNotBefore',
  'lastReviewedAt',
  'lastReviewedBy',
  'lastReviewOutcome',
  'nextReviewDue',
  'lastActivityAt',
  'lastAuthentication',
  'performance',
  'externalIdentities',
  'attestation',
  'complianceIssues',
  'credentialStatus',
]);
const SERVER_CORE_ATTRIBUTES = new Set(['id', 'meta', 'schemas', 'active', 'groups']);
/** readOnly sub-attributes of references (display, $ref, …) and of grants. */
const REF_SUBS = new Set(['display', '$ref', 'email', 'employeeNumber', 'externalId']);
const GRANT_SERVER_SUBS = new Set([
  'display',
  '$ref',
  'grantId',
  'grantedBy',
  'grantedByDisplay',
  'grantedBySystem',
  'grantedAt',
  'source',
  'approvedBy',
  'lastUsedAt',
  'lastCertifiedAt',
]);

function withoutKeys(v: unknown, keys: ReadonlySet<string>): unknown {
  if (Array.isArray(v)) return v.map((x) => withoutKeys(x, keys));
  if (!isObj(v)) return v;
  return Object.fromEntries(Object.entries(v).filter(([k]) => !keys.has(k)));
}

function byValue(list: Json[], key = 'value'): Map<string, Json> {
  const m = new Map<string, Json>();
  for (const x of list) {
    const v = str(x[key]);
    if (v !== undefined) m.set(v, x);
  }
  return m;
}

function grantChanges(kind: 'entitlement' | 'role', prev: Json[], next: Json[], out: AgentChange): void {
  const before = byValue(prev);
  const after = byValue(next);
  for (const [v] of before) if (!after.has(v)) out.restrictive.push(`revoke ${kind} ${v}`);
  for (const [v, n] of after) {
    const p = before.get(v);
    if (!p) {
      out.expansive.push(`grant ${kind} ${v}`);
      continue;
    }
    const pe = ms(p.expiresAt);
    const ne = ms(n.expiresAt);
    if (pe !== ne) {
      if (ne !== undefined && (pe === undefined || ne < pe)) out.restrictive.push(`shorten ${kind} ${v}`);
      else out.expansive.push(`extend ${kind} ${v}`);
    }
    if (deepEqual(p, n)) continue;
    const rest = (x: Json) => withoutKeys({ ...x, expiresAt: undefined }, GRANT_SERVER_SUBS);
    if (!deepEqual(rest(p), rest(n))) out.expansive.push(`change ${kind} ${v}`);
  }
}

/**
 * How usable a credential status leaves it: revoked or expired not at all; stale (past the rotation
 * policy) still usable, as R14 counts it live; active (or no status) fully.
 */
const credentialLife = (status: unknown): number => (status === 'revoked' || status === 'expired' ? 0 : status === 'stale' ? 1 : 2);

function credentialChanges(prev: Json[], next: Json[], out: AgentChange): void {
  const before = byValue(prev, 'credentialId');
  const after = byValue(next, 'credentialId');
  for (const [id] of before) if (!after.has(id)) out.restrictive.push(`remove credential ${id}`);
  for (const [id, n] of after) {
    const p = before.get(id);
    if (!p) {
      out.expansive.push(`add credential ${id}`);
      continue;
    }
    const strip = (x: Json) => ({ ...x, status: undefined, lastUsedAt: undefined });
    if (p.status !== n.status) {
      // revoked → stale makes a dead credential usable again: a reinstatement, not a revocation
      const life = credentialLife(n.status);
      if (life === 0 || life < credentialLife(p.status)) out.restrictive.push(`revoke credential ${id}`);
      else out.expansive.push(`reinstate credential ${id}`);
    }
    if (!deepEqual(strip(p), strip(n))) out.expansive.push(`change credential ${id}`);
  }
}

export function classifyChange(prev: Json | undefined, next: Json): AgentChange {
  const pg = prev ? gov(prev) : {};
  const ng = gov(next);
  const from = prev ? (isState(pg.lifecycleState) ? pg.lifecycleState : undefined) : undefined;
  const to = isState(ng.lifecycleState) ? ng.lifecycleState : undefined;
  const out: AgentChange = { from, to, activation: false, restrictive: [], expansive: [] };
  if (!prev) {
    out.expansive.push('create');
    if (to === 'active') out.activation = true;
    return out;
  }
  if (to !== undefined && from !== to) {
    if (to === 'active') out.activation = true;
    else if (isRestrictiveTransition(from, to)) out.restrictive.push(to === 'retired' ? 'retire' : 'suspend');
    else out.expansive.push(`set lifecycleState ${to}`);
  }
  grantChanges('entitlement', objects(prev.entitlements), objects(next.entitlements), out);
  grantChanges('role', objects(prev.roles), objects(next.roles), out);
  credentialChanges(objects(pg.credentials), objects(ng.credentials), out);

  const keys = new Set([...Object.keys(prev), ...Object.keys(next)]);
  for (const k of keys) {
    if (SERVER_CORE_ATTRIBUTES.has(k) || k === 'entitlements' || k === 'roles' || k.startsWith('urn:')) continue;
    if (deepEqual(prev[k], next[k])) continue;
    if (!deepEqual(withoutKeys(prev[k], REF_SUBS), withoutKeys(next[k], REF_SUBS))) out.expansive.push(`change ${k}`);
  }
  const gkeys = new Set([...Object.keys(pg), ...Object.keys(ng)]);
  for (const k of gkeys) {
    if (SERVER_GOVERNANCE_ATTRIBUTES.has(k) || k === 'lifecycleState' || k === 'credentials') continue;
    const subs = k === 'sponsor' ? new Set([...REF_SUBS, 'status']) : REF_SUBS;
    if (deepEqual(pg[k], ng[k]) || deepEqual(withoutKeys(pg[k], subs), withoutKeys(ng[k], subs))) continue;
    // a reason that comes with a suspension or retirement is part of it
    if (k === 'stateReason' && out.restrictive.some((r) => r === 'suspend' || r === 'retire')) continue;
    if (k === 'stateReason' && out.activation) continue;
    out.expansive.push(`change ${k}`);
  }
  return out;
}
