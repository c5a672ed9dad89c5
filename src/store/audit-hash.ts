// The audit log's hash chain (R18): each event's hash covers its canonical JSON and the previous
// event's hash, so a changed, removed or reordered row breaks the chain at that row.

import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';
import type { AuditEvent } from './types.js';

export const GENESIS_HASH = '0'.repeat(64);

export function auditHash(e: Omit<AuditEvent, 'hash'>): string {
  const body = {
    seq: e.seq,
    id: e.id,
    at: e.at,
    action: e.action,
    resourceType: e.resourceType,
    resourceId: e.resourceId,
    actor: e.actor,
    requestId: e.requestId ?? null,
    reason: e.reason ?? null,
    changes: e.changes ?? null,
    version: e.version ?? null,
    prevHash: e.prevHash,
  };
  return createHash('sha256').update(canonicalJson(body)).digest('hex');
}
