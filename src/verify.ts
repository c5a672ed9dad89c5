// agentroster/verify: verify signed agent records offline, with the issuer's JWKS and (for
// revocation) a recent status list. docs/verifying-agent-records.md shows how.
//
//   import { verify } from 'agentroster/verify';
//   const { claims } = await verify(jwt, { jwks, statusList, issuer: 'https://roster.example.com' });

import { createRemoteJWKSet, type JWTVerifyGetKey } from 'jose';
import { JWKS_PATH, STATUS_LIST_PATH } from './agents/records/format.js';
import { verifyRecord, type VerifiedRecord, type VerifyOptions } from './agents/records/verify.js';

export {
  JWKS_PATH,
  RECORD_ALGORITHMS,
  RECORD_TYP,
  revocationOf,
  STATUS_LIST_PATH,
  STATUS_LIST_TYP,
  type AgentRecordClaims,
  type RecordEntitlement,
  type RecordOwner,
  type RecordSponsor,
  type RevocationEntry,
  type StatusListClaims,
} from './agents/records/format.js';
export { actionPolicyDigest } from './agents/records/claims.js';
export {
  keyResolver,
  RecordVerificationError,
  verifyRecord,
  verifyStatusList,
  type KeySetInput,
  type RecordErrorCode,
  type StatusListOptions,
  type VerifiedRecord,
  type VerifyOptions,
} from './agents/records/verify.js';

/** verify(jwt, { jwks, statusList?, issuer?, now? }) → { claims, header, status }, or a RecordVerificationError. */
export function verify(jwt: string, options: VerifyOptions): Promise<VerifiedRecord> {
  return verifyRecord(jwt, options);
}

/** A key resolver that fetches (and caches) the issuer's JWKS: online use only. */
export function remoteJwks(issuer: string): JWTVerifyGetKey {
  return createRemoteJWKSet(new URL(issuer.replace(/\/+$/, '') + JWKS_PATH));
}

/** The status list URL of an issuer. */
export function statusListUrl(issuer: string): string {
  return issuer.replace(/\/+$/, '') + STATUS_LIST_PATH;
}
