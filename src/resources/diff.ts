// Attribute-level change records for the audit log: { attr: { before, after } } over top-level
// attributes and, for extensions, their attributes ("urn:…:Agent:sponsor"). The signed record
// (`attestation`) is left out: it is derived from the change, not a change itself, and would put
// a 1 KB token twice into every agent event (its issuance is visible at /Agents/{id}/record).

import { canonicalJson } from '../store/canonical-json.js';
import type { Json } from '../store/types.js';

function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function diffResources(before: Json | undefined, after: Json | undefined): Json {
  const out: Json = {};
  const keys = new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})]);
  for (const k of keys) {
    if (k === 'schemas' || k === 'meta' || k === 'attestation') continue;
    const b = before?.[k];
    const a = after?.[k];
    if (k.startsWith('urn:') && (isObj(a) || isObj(b))) {
      const inner = diffResources(isObj(b) ? b : undefined, isObj(a) ? a : undefined);
      for (const [ik, iv] of Object.entries(inner)) out[`${k}:${ik}`] = iv;
      continue;
    }
    if (canonicalJson(b ?? null) !== canonicalJson(a ?? null)) out[k] = { before: b ?? null, after: a ?? null };
  }
  return out;
}
