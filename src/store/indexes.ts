// Which attributes the database indexes, per resource type. The same definitions generate the
// index DDL and the filter/sort SQL, so a query can only be written in the form its index has.
// Entra and Okta match users by userName/externalId, groups by displayName (entra.md §4.2,
// okta.md §4.1); IGA aggregation filters on meta.lastModified; agents by agentUserName.

import type { AttrPath } from '../scim/filter/ast.js';

export const GOVERNANCE_URN = 'urn:agentroster:scim:schemas:extension:agent-governance:1.0:Agent';

export interface IndexedAttribute {
  type: string;
  path: AttrPath;
  unique?: boolean;
  /** the schema migration that created the index (1 unless added later) */
  since?: number;
}

/** Single-valued attributes: an expression index on the JSON value. */
export const SINGLE_VALUED_INDEXES: readonly IndexedAttribute[] = [
  { type: 'User', path: { attr: 'userName' }, unique: true },
  { type: 'User', path: { attr: 'externalId' } },
  { type: 'User', path: { attr: 'displayName' } },
  { type: 'User', path: { attr: 'userType' } },
  { type: 'Group', path: { attr: 'displayName' } },
  { type: 'Group', path: { attr: 'externalId' } },
  { type: 'Agent', path: { attr: 'agentUserName' }, unique: true },
  { type: 'Agent', path: { attr: 'externalId' } },
  { type: 'Agent', path: { attr: 'displayName' } },
  { type: 'Agent', path: { attr: 'subject' }, unique: true },
  { type: 'Agent', path: { uri: GOVERNANCE_URN, attr: 'sponsor', sub: 'value' } },
  { type: 'Agent', path: { uri: GOVERNANCE_URN, attr: 'lifecycleState' } },
  { type: 'Entitlement', path: { attr: 'value' }, unique: true },
  { type: 'Role', path: { attr: 'value' }, unique: true },
  // migration 5: what governance, compliance reports and the scheduler filter on
  { type: 'Agent', path: { uri: GOVERNANCE_URN, attr: 'nextReviewDue' }, since: 5 },
  { type: 'Agent', path: { uri: GOVERNANCE_URN, attr: 'sponsorStatus' }, since: 5 },
  { type: 'Agent', path: { uri: GOVERNANCE_URN, attr: 'ownerTeam', sub: 'value' }, since: 5 },
  { type: 'Agent', path: { uri: GOVERNANCE_URN, attr: 'credentialStatus' }, since: 5 },
  { type: 'Agent', path: { uri: GOVERNANCE_URN, attr: 'stateChangedAt' }, since: 5 },
];

/**
 * Sub-attributes of multi-valued attributes: one row per value in resource_values, so that
 * `members[value eq "…"]` or `entitlements[value eq "…"]` is an index lookup, not a JSON scan.
 */
export const MULTI_VALUED_INDEXES: readonly IndexedAttribute[] = [
  { type: 'Group', path: { attr: 'members', sub: 'value' } },
  { type: 'Agent', path: { attr: 'entitlements', sub: 'value' } },
  { type: 'Agent', path: { attr: 'roles', sub: 'value' } },
  { type: 'Agent', path: { attr: 'owners', sub: 'value' } },
  { type: 'User', path: { attr: 'emails', sub: 'value' } },
  // migration 5: a credential belongs to one agent (R12), enforced by a unique index
  { type: 'Agent', path: { uri: GOVERNANCE_URN, attr: 'credentials', sub: 'credentialId' }, unique: true, since: 5 },
  { type: 'Agent', path: { uri: GOVERNANCE_URN, attr: 'credentials', sub: 'keyThumbprint' }, unique: true, since: 5 },
  { type: 'Agent', path: { uri: GOVERNANCE_URN, attr: 'coSponsors', sub: 'value' }, since: 5 },
  { type: 'Agent', path: { uri: GOVERNANCE_URN, attr: 'complianceIssues', sub: 'type' }, since: 5 },
];

/** resource_values keys whose values are unique across resources of their type. */
export function uniqueValueKeys(): string[] {
  return MULTI_VALUED_INDEXES.filter((i) => i.unique).map((i) => pathKey(i.path));
}

export function indexName(prefix: 'ix' | 'ux', ia: IndexedAttribute): string {
  const parts = [ia.type, ia.path.uri ? 'ext' : '', ia.path.attr, ia.path.sub ?? ''].filter(Boolean);
  return `${prefix}_${parts.join('_')}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
}

/** "members.value" / "urn:…:sponsor.value": the key stored in resource_values.attr. */
export function pathKey(path: AttrPath): string {
  const base = path.uri ? `${path.uri}:${path.attr}` : path.attr;
  return path.sub ? `${base}.${path.sub}` : base;
}
