// Verification of agent records and of the revocation list, offline: everything needed is the
// issuer's key set (a JWKS document or a jose key resolver) and, for revocation, a recent status
// list. Each failure has its own stable `code`. Built on jose only, so relying parties can use it
// without a server.

import {
  createLocalJWKSet,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JSONWebKeySet,
  type JWK,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import {
  type AgentRecordClaims,
  parseRecordClaims,
  parseStatusListClaims,
  RECORD_ALGORITHMS,
  RECORD_TYP,
  revocationOf,
  STATUS_LIST_TYP,
  type StatusListClaims,
} from './format.js';

export type RecordErrorCode =
  /** not a compact JWS, not an agent record (typ), a forbidden algorithm, or missing claims */
  | 'ERR_RECORD_MALFORMED'
  /** the signature does not verify: the record was altered, or signed by another key with the same kid */
  | 'ERR_RECORD_SIGNATURE'
  /** the key set has no key with the record's kid (never issued here, or rotated out long ago) */
  | 'ERR_RECORD_UNKNOWN_KEY'
  /** `iss` is not the expected issuer */
  | 'ERR_RECORD_ISSUER'
  /** past `exp` (validUntil): a relying party must not rely on it any more */
  | 'ERR_RECORD_EXPIRED'
  /** `iat`/`nbf` lies in the future (clock skew beyond the tolerance, or a forged time) */
  | 'ERR_RECORD_NOT_YET_VALID'
  /** the status list revokes this record (agent suspended, retired, deleted or restricted since) */
  | 'ERR_RECORD_REVOKED'
  /** authentic and current, but the agent is not active in it (pending, suspended, retired) */
  | 'ERR_RECORD_INACTIVE'
  /** the status list is past its own `exp`: fetch a fresh one */
  | 'ERR_STATUS_LIST_EXPIRED'
  /** the status list does not verify (signature, key, typ, issuer or shape) */
  | 'ERR_STATUS_LIST_INVALID'
  /** requireStatus was set but no status list was given */
  | 'ERR_STATUS_LIST_MISSING'
  /** the key set is not a JWKS document, or its key for the kid cannot be imported */
  | 'ERR_JWKS_INVALID';

export class RecordVerificationError extends Error {
  override name = 'RecordVerificationError';
  constructor(
    readonly code: RecordErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** A JWKS document ({ keys: [...] }) or a jose key resolver such as createRemoteJWKSet(url). */
export type KeySetInput = JSONWebKeySet | JWTVerifyGetKey;

export interface VerifyOptions {
  /** the issuer's public keys (from /.well-known/jwks.json) */
  jwks: KeySetInput;
  /** the expected `iss` (pin it: the key set alone says who signed, not who should have) */
  issuer?: string;
  /**
   * A recent signed status list (the JWT from /.well-known/agentroster/status-list), or the
   * result of verifyStatusList. Without it revocation is not checked (status "unchecked").
   */
  statusList?: string | StatusListClaims;
  /** fail with ERR_STATUS_LIST_MISSING when no status list is given */
  requireStatus?: boolean;
  /** accept records of agents that are not active (pending, suspended, retired) */
  allowInactive?: boolean;
  /** the time to verify at (default: now) */
  now?: Date;
  /** allowed clock skew in seconds for exp / iat (default 60) */
  clockToleranceSeconds?: number;
}

export interface VerifiedRecord {
  claims: AgentRecordClaims;
  header: { alg: string; kid: string; typ: string };
  /** "good": checked against a status list; "unchecked": no status list was given */
  status: 'good' | 'unchecked';
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Public members only: a key set handed to a verifier never needs private parts (d, p, q, …). */
const PUBLIC_MEMBERS = ['kty', 'crv', 'x', 'y', 'n', 'e', 'kid', 'alg', 'use', 'key_ops'] as const;

function publicJwk(k: unknown): JWK {
  if (!isObj(k)) throw new RecordVerificationError('ERR_JWKS_INVALID', 'the key set holds a key that is not an object');
  const out: Record<string, unknown> = {};
  for (const m of PUBLIC_MEMBERS) if (k[m] !== undefined) out[m] = k[m];
  return out as JWK;
}

/** A jose key resolver for a JWKS document or an existing resolver. */
export function keyResolver(jwks: KeySetInput): JWTVerifyGetKey {
  if (typeof jwks === 'function') return jwks;
  if (!isObj(jwks) || !Array.isArray(jwks.keys)) {
    throw new RecordVerificationError('ERR_JWKS_INVALID', 'the key set is not a JWKS document ({"keys": [...]})');
  }
  return createLocalJWKSet({ keys: jwks.keys.map(publicJwk) });
}

const typOk = (typ: unknown, expected: string) =>
  typeof typ === 'string' && typ.toLowerCase().replace(/^application\//, '') === expected;

const iso = (numericDate: unknown) =>
  typeof numericDate === 'number' ? new Date(numericDate * 1000).toISOString() : String(numericDate);

type Kind = 'record' | 'status list';

function fail(kind: Kind, code: RecordErrorCode, message: string): RecordVerificationError {
  // Every failure of the status list itself is ERR_STATUS_LIST_INVALID, except its expiry.
  if (kind === 'status list' && code !== 'ERR_STATUS_LIST_EXPIRED') {
    return new RecordVerificationError('ERR_STATUS_LIST_INVALID', `status list: ${message}`);
  }
  return new RecordVerificationError(code, message);
}

async function verifyJwt(
  jwt: string,
  kind: Kind,
  getKey: JWTVerifyGetKey,
  o: { issuer?: string; now: Date; tolerance: number },
): Promise<{ payload: JWTPayload; header: { alg: string; kid: string; typ: string } }> {
  const expectedTyp = kind === 'record' ? RECORD_TYP : STATUS_LIST_TYP;
  if (typeof jwt !== 'string' || jwt.trim().split('.').length !== 3) {
    throw fail(kind, 'ERR_RECORD_MALFORMED', `the ${kind} is not a compact JWS (three base64url parts separated by ".")`);
  }
  const token = jwt.trim();
  let header: Record<string, unknown>;
  try {
    header = decodeProtectedHeader(token) as Record<string, unknown>;
  } catch {
    throw fail(kind, 'ERR_RECORD_MALFORMED', `the ${kind} header is not valid base64url JSON`);
  }
  if (!typOk(header.typ, expectedTyp)) {
    throw fail(kind, 'ERR_RECORD_MALFORMED', `not an agentroster ${kind}: typ is ${JSON.stringify(header.typ ?? null)}, expected "${expectedTyp}"`);
  }
  if (typeof header.alg !== 'string' || !(RECORD_ALGORITHMS as readonly string[]).includes(header.alg)) {
    throw fail(kind, 'ERR_RECORD_MALFORMED', `algorithm ${JSON.stringify(header.alg ?? null)} is not accepted (${RECORD_ALGORITHMS.join(', ')})`);
  }
  if (typeof header.kid !== 'string' || header.kid === '') throw fail(kind, 'ERR_RECORD_MALFORMED', `the ${kind} header has no "kid"`);
  const kid = header.kid;
  try {
    const { payload } = await jwtVerify(token, getKey, {
      algorithms: [...RECORD_ALGORITHMS],
      typ: expectedTyp,
      currentDate: o.now,
      clockTolerance: o.tolerance,
      requiredClaims: ['iss', 'sub', 'iat', 'exp'],
      ...(o.issuer === undefined ? {} : { issuer: o.issuer }),
    });
    if (typeof payload.iat === 'number' && payload.iat > o.now.getTime() / 1000 + o.tolerance) {
      throw fail(kind, 'ERR_RECORD_NOT_YET_VALID', `the ${kind} was issued in the future (iat ${iso(payload.iat)})`);
    }
    return { payload, header: { alg: header.alg, kid, typ: header.typ as string } };
  } catch (e) {
    if (e instanceof RecordVerificationError) throw e;
    if (e instanceof errors.JWKSNoMatchingKey) {
      throw fail(kind, 'ERR_RECORD_UNKNOWN_KEY', `no key with kid "${kid}" in the key set: not issued with these keys, or its key was rotated out`);
    }
    if (e instanceof errors.JWSSignatureVerificationFailed) {
      throw fail(kind, 'ERR_RECORD_SIGNATURE', `the signature of the ${kind} does not verify with key "${kid}": it was altered or signed by another key`);
    }
    if (e instanceof errors.JWTExpired) {
      const exp = (e.payload as JWTPayload).exp;
      if (kind === 'status list') {
        throw fail(kind, 'ERR_STATUS_LIST_EXPIRED', `the status list expired at ${iso(exp)}; fetch a fresh one`);
      }
      throw fail(kind, 'ERR_RECORD_EXPIRED', `the record expired at ${iso(exp)} (validUntil); fetch a fresh one`);
    }
    if (e instanceof errors.JWTClaimValidationFailed) {
      if (e.claim === 'iss' && e.reason !== 'missing') {
        throw fail(kind, 'ERR_RECORD_ISSUER', `the ${kind} was issued by ${JSON.stringify(e.payload.iss)}, expected ${JSON.stringify(o.issuer)}`);
      }
      if (e.claim === 'nbf') throw fail(kind, 'ERR_RECORD_NOT_YET_VALID', `the ${kind} is not valid yet (nbf ${iso(e.payload.nbf)})`);
      throw fail(kind, 'ERR_RECORD_MALFORMED', `the ${kind} has an invalid "${e.claim}" (${e.reason}): ${e.message}`);
    }
    // a key of the set that WebCrypto cannot import (corrupt x/y/n…) fails with a DOMException
    if (e instanceof errors.JWKSInvalid || e instanceof errors.JWKInvalid || e instanceof DOMException) {
      throw new RecordVerificationError('ERR_JWKS_INVALID', `the key set is not usable: ${(e as Error).message}`);
    }
    if (e instanceof errors.JOSEError || e instanceof TypeError || e instanceof SyntaxError) {
      throw fail(kind, 'ERR_RECORD_MALFORMED', `the ${kind} is malformed: ${(e as Error).message}`);
    }
    throw e;
  }
}

export interface StatusListOptions {
  jwks: KeySetInput;
  /** the expected issuer (the list must come from the same issuer as the records) */
  issuer?: string;
  now?: Date;
  clockToleranceSeconds?: number;
}

/** Verifies a signed status list (signature, typ, issuer, exp) and returns its claims. */
export async function verifyStatusList(jwt: string, o: StatusListOptions): Promise<StatusListClaims> {
  const now = o.now ?? new Date();
  const { payload } = await verifyJwt(jwt, 'status list', keyResolver(o.jwks), {
    now,
    tolerance: o.clockToleranceSeconds ?? 60,
    ...(o.issuer === undefined ? {} : { issuer: o.issuer }),
  });
  const parsed = parseStatusListClaims(payload as Record<string, unknown>);
  if (typeof parsed === 'string') throw new RecordVerificationError('ERR_STATUS_LIST_INVALID', `status list: ${parsed}`);
  return parsed;
}

/**
 * Verifies an agent record: signature (kid in the key set), typ, algorithm, issuer, expiry, then
 * revocation against the status list (if given) and, unless allowInactive, that the agent is active.
 */
export async function verifyRecord(jwt: string, o: VerifyOptions): Promise<VerifiedRecord> {
  const now = o.now ?? new Date();
  const tolerance = o.clockToleranceSeconds ?? 60;
  const getKey = keyResolver(o.jwks);
  const { payload, header } = await verifyJwt(jwt, 'record', getKey, {
    now,
    tolerance,
    ...(o.issuer === undefined ? {} : { issuer: o.issuer }),
  });
  const claims = parseRecordClaims(payload as Record<string, unknown>);
  if (typeof claims === 'string') throw new RecordVerificationError('ERR_RECORD_MALFORMED', claims);

  let status: VerifiedRecord['status'] = 'unchecked';
  if (o.statusList !== undefined) {
    const list =
      typeof o.statusList === 'string'
        ? await verifyStatusList(o.statusList, { jwks: getKey, issuer: claims.iss, now, clockToleranceSeconds: tolerance })
        : o.statusList;
    if (list.exp + tolerance <= now.getTime() / 1000) {
      throw new RecordVerificationError('ERR_STATUS_LIST_EXPIRED', `the status list expired at ${iso(list.exp)}; fetch a fresh one`);
    }
    if (list.iss !== claims.iss) {
      throw new RecordVerificationError(
        'ERR_STATUS_LIST_INVALID',
        `status list: published by ${JSON.stringify(list.iss)}, but the record was issued by ${JSON.stringify(claims.iss)}`,
      );
    }
    const hit = revocationOf(list, claims.sub, claims.version);
    if (hit) {
      throw new RecordVerificationError(
        'ERR_RECORD_REVOKED',
        `the record (version ${claims.version}) of agent ${claims.sub} was revoked at ${iso(hit.at)}` +
          `${hit.state ? ` (agent ${hit.state})` : ''}: only versions ≥ ${hit.ver} are current`,
      );
    }
    status = 'good';
  } else if (o.requireStatus) {
    throw new RecordVerificationError('ERR_STATUS_LIST_MISSING', 'a status list is required to check revocation, and none was given');
  }

  if (claims.lifecycleState !== 'active' && !o.allowInactive) {
    throw new RecordVerificationError(
      'ERR_RECORD_INACTIVE',
      `the agent is "${claims.lifecycleState}" in this record, not "active": do not rely on it as an active agent`,
    );
  }
  return { claims, header, status };
}
