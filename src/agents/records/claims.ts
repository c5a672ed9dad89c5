// The canonical, signed subset of an agent (R19): who it is, who answers for it, what state it is
// in and what it may do. Pure: the same agent always gives the same content, whatever the order
// of its multi-valued attributes or of the keys inside them.
//
// canonicalJson (RFC 8785 JCS) is a pure leaf module that happens to live in store/; it is the one
// import from outside agents/ (the audit hash chain and the record digests must agree on it).

import { createHash } from 'node:crypto';
import { canonicalJson } from '../../store/canonical-json.js';
import type { RecordContent, RecordEntitlement, RecordOwner, RecordSponsor } from './format.js';

export const GOVERNANCE_URN = 'urn:agentroster:scim:schemas:extension:agent-governance:1.0:Agent';

type Json = Record<string, unknown>;

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export function sha256Digest(text: string): string {
  return `sha-256:${createHash('sha256').update(text, 'utf8').digest('base64url')}`;
}

/**
 * Drops exact duplicates (SCIM multi-values are sets) and sorts: by `value` first when `byValue`
 * (owners, entitlements), then by canonical JSON text (UTF-16 code-unit order).
 */
function canonicalSet<T>(values: T[], byValue = true): T[] {
  const byKey = new Map<string, T>();
  for (const v of values) byKey.set(canonicalJson(v), v);
  const valueOf = (v: T) => (byValue && isObj(v) && typeof v.value === 'string' ? v.value : '');
  const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  return [...byKey.entries()].sort(([ka, a], [kb, b]) => cmp(valueOf(a), valueOf(b)) || cmp(ka, kb)).map(([, v]) => v);
}

/**
 * Digest of an agent's actionPolicies: "sha-256:" + base64url(SHA-256(JCS(list))) where list is
 * the actionPolicies array (missing = []) with duplicates removed and sorted by each policy's JCS
 * text. Anyone holding the SCIM representation can recompute it.
 */
export function actionPolicyDigest(actionPolicies: unknown): string {
  const list = Array.isArray(actionPolicies) ? actionPolicies.filter(isObj) : [];
  // sorted by JCS text only, as documented (a policy's own `value` member must not reorder it)
  return sha256Digest(canonicalJson(canonicalSet(list, false)));
}

/** The record content of an agent resource (stored or rendered SCIM JSON). */
export function recordContent(agent: Json): RecordContent {
  const gov = isObj(agent[GOVERNANCE_URN]) ? (agent[GOVERNANCE_URN] as Json) : {};
  let sponsor: RecordSponsor | undefined;
  if (isObj(gov.sponsor) && str(gov.sponsor.value) !== undefined) {
    const s = gov.sponsor;
    sponsor = { value: s.value as string };
    if (str(s.display) !== undefined) sponsor.display = s.display as string;
    if (str(s.email) !== undefined) sponsor.email = s.email as string;
  }
  const owners = canonicalSet(
    (Array.isArray(agent.owners) ? agent.owners : []).filter(isObj).flatMap((o): RecordOwner[] => {
      const value = str(o.value);
      if (value === undefined) return [];
      const out: RecordOwner = { value };
      if (str(o.type) !== undefined) out.type = o.type as string;
      if (str(o.display) !== undefined) out.display = o.display as string;
      return [out];
    }),
  );
  const entitlements = canonicalSet(
    (Array.isArray(agent.entitlements) ? agent.entitlements : []).filter(isObj).flatMap((e): RecordEntitlement[] => {
      const value = str(e.value);
      if (value === undefined) return [];
      return [str(e.expiresAt) === undefined ? { value } : { value, expiresAt: e.expiresAt as string }];
    }),
  );
  const content: RecordContent = {
    agentUserName: str(agent.agentUserName) ?? '',
    owners,
    lifecycleState: str(gov.lifecycleState) ?? 'pending',
    entitlements,
    actionPolicyDigest: actionPolicyDigest(gov.actionPolicies),
  };
  if (sponsor) content.sponsor = sponsor;
  if (str(gov.autonomyLevel) !== undefined) content.autonomyLevel = gov.autonomyLevel as string;
  return content;
}

/** Hash of the record content (stable across renewals; changes when a signed claim changes). */
export function recordHash(content: RecordContent): string {
  return sha256Digest(canonicalJson(content));
}

/**
 * Whether moving from `before` to `after` revokes the records that state `before`. A change
 * revokes older records unless it only widens them: the same identity, sponsor, state, autonomy
 * and policies, no owner removed, and every earlier entitlement still held at least as long.
 * (Adding an entitlement or an owner does not make an older record untrue, only incomplete.)
 */
export function revokesOlderRecords(before: RecordContent, after: RecordContent): boolean {
  const same = (a: unknown, b: unknown) => canonicalJson(a ?? null) === canonicalJson(b ?? null);
  if (before.agentUserName !== after.agentUserName) return true;
  if (!same(before.sponsor, after.sponsor)) return true;
  if (before.lifecycleState !== after.lifecycleState) return true;
  if (before.autonomyLevel !== after.autonomyLevel) return true;
  if (before.actionPolicyDigest !== after.actionPolicyDigest) return true;
  const owners = new Set(after.owners.map((o) => canonicalJson(o)));
  if (before.owners.some((o) => !owners.has(canonicalJson(o)))) return true;
  for (const e of before.entitlements) {
    const still = after.entitlements.some(
      (n) =>
        n.value === e.value &&
        (n.expiresAt === undefined || (e.expiresAt !== undefined && Date.parse(n.expiresAt) >= Date.parse(e.expiresAt))),
    );
    if (!still) return true;
  }
  return false;
}
