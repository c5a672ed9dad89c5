// The wire formats of signed agent records and of the revocation (status) list: names, media
// types and claim shapes. Pure data; shared by the issuer (src/records/), the verifier
// (src/verify.ts) and the documentation (docs/verifying-agent-records.md).

/** JOSE `typ` of an agent record (RFC 8725 §3.11: explicit typing). */
export const RECORD_TYP = 'agent-record+jwt';
/** JOSE `typ` of the signed revocation list. */
export const STATUS_LIST_TYP = 'agent-status-list+jwt';
/** Where the issuer publishes its public keys, relative to the issuer URL. */
export const JWKS_PATH = '/.well-known/jwks.json';
/** Where the issuer publishes the signed revocation list, relative to the issuer URL. */
export const STATUS_LIST_PATH = '/.well-known/agentroster/status-list';
/** Signature algorithms a record or status list may use. */
export const RECORD_ALGORITHMS = ['ES256', 'EdDSA', 'Ed25519'] as const;

export interface RecordSponsor {
  value: string;
  display?: string;
  email?: string;
}

export interface RecordOwner {
  value: string;
  type?: string;
  display?: string;
}

export interface RecordEntitlement {
  value: string;
  /** RFC 3339 UTC, as stored on the agent; absent = no expiry */
  expiresAt?: string;
}

/** The signed subset of an agent that describes who it is and what it may do. */
export interface RecordContent {
  agentUserName: string;
  sponsor?: RecordSponsor;
  owners: RecordOwner[];
  lifecycleState: string;
  entitlements: RecordEntitlement[];
  autonomyLevel?: string;
  /** "sha-256:" + base64url(SHA-256(JCS(actionPolicies, sorted))); see actionPolicyDigest */
  actionPolicyDigest: string;
}

/** Claims of an agent record JWT (header: alg, kid, typ = agent-record+jwt). */
export interface AgentRecordClaims extends RecordContent {
  iss: string;
  /** agent id (SCIM `id`) */
  sub: string;
  iat: number;
  exp: number;
  /** unique id of this record */
  jti: string;
  /** the agent's meta.version when this record was issued; increases with every write */
  version: number;
  /** where revocations are published (the issuer's status list) */
  status?: { revocation_list: { uri: string } };
}

/**
 * One revocation: every record of agent `sub` with `version` lower than `ver` is revoked. `at`
 * (NumericDate) is when that happened; `state` the agent's lifecycle state since then, or
 * "deleted".
 */
export interface RevocationEntry {
  sub: string;
  ver: number;
  at: number;
  state?: string;
}

/** Claims of the signed revocation list JWT (header: alg, kid, typ = agent-status-list+jwt). */
export interface StatusListClaims {
  iss: string;
  /** the URL the list is published at */
  sub: string;
  iat: number;
  exp: number;
  /** entries sorted by sub; an agent appears at most once */
  revoked: RevocationEntry[];
}

/** The record of `claims` is revoked by `list` (the entry that revokes it), or undefined. */
export function revocationOf(list: Pick<StatusListClaims, 'revoked'>, sub: string, version: number): RevocationEntry | undefined {
  const e = list.revoked.find((r) => r.sub === sub);
  return e !== undefined && version < e.ver ? e : undefined;
}

/** Checks the shape of a status list payload (after its signature was verified). */
export function parseStatusListClaims(p: Record<string, unknown>): StatusListClaims | string {
  if (typeof p.iss !== 'string') return 'the status list has no "iss"';
  if (typeof p.sub !== 'string') return 'the status list has no "sub"';
  if (typeof p.iat !== 'number' || typeof p.exp !== 'number') return 'the status list has no "iat"/"exp"';
  if (!Array.isArray(p.revoked)) return 'the status list has no "revoked" array';
  const revoked: RevocationEntry[] = [];
  for (const e of p.revoked as unknown[]) {
    if (typeof e !== 'object' || e === null) return 'a "revoked" entry is not an object';
    const r = e as Record<string, unknown>;
    if (typeof r.sub !== 'string' || !Number.isSafeInteger(r.ver) || typeof r.at !== 'number') {
      return 'a "revoked" entry lacks "sub", "ver" or "at"';
    }
    revoked.push({ sub: r.sub, ver: r.ver as number, at: r.at, ...(typeof r.state === 'string' ? { state: r.state } : {}) });
  }
  return { iss: p.iss, sub: p.sub, iat: p.iat, exp: p.exp, revoked };
}

/** Checks the shape of a record payload (after its signature was verified). */
export function parseRecordClaims(p: Record<string, unknown>): AgentRecordClaims | string {
  for (const k of ['iss', 'sub', 'jti', 'agentUserName', 'lifecycleState', 'actionPolicyDigest'] as const) {
    if (typeof p[k] !== 'string' || p[k] === '') return `the record has no "${k}" claim`;
  }
  for (const k of ['iat', 'exp'] as const) if (typeof p[k] !== 'number') return `the record has no "${k}" claim`;
  if (!Number.isSafeInteger(p.version) || (p.version as number) < 1) return 'the record has no valid "version" claim';
  if (!Array.isArray(p.entitlements) || !Array.isArray(p.owners)) return 'the record has no "entitlements" or "owners" claim';
  return p as unknown as AgentRecordClaims;
}
