// The record hooks for Agents: every committed write of an agent carries a freshly signed record
// of that version in `attestation`, in the same commit (finalize runs before the store write). A
// write that changes nothing but would re-sign keeps the stored attestation, so it stays a no-op.
// Compose these LAST: anything that changes the agent after signing would make the record stale.

import { GOVERNANCE_URN } from '../agents/records/claims.js';
import type { ResourceHooks } from '../resources/hooks.js';
import { canonicalJson } from '../store/canonical-json.js';
import type { Json } from '../store/types.js';
import { attestationOf, type RecordIssuer, withAttestation } from './issuer.js';

/** The agent without server-computed parts and without its attestation, for "did anything change". */
function comparable(agent: Json): string {
  const { id: _id, meta: _meta, groups: _groups, ...rest } = agent;
  const gov = rest[GOVERNANCE_URN];
  if (typeof gov === 'object' && gov !== null && !Array.isArray(gov)) {
    const { attestation: _a, ...g } = gov as Json;
    rest[GOVERNANCE_URN] = g;
  }
  return canonicalJson(rest);
}

export function createRecordHooks(issuer: RecordIssuer): ResourceHooks {
  return {
    async finalize(next, info) {
      const prior = attestationOf(info.previous);
      if (info.previous && prior && comparable(next) === comparable(info.previous)) return withAttestation(next, prior);
      const attestation = await issuer.attest(next, info.previous, info.version, info.at);
      return withAttestation(next, attestation);
    },
  };
}
