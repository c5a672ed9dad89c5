// Row → domain object mapping shared by the SQLite and PostgreSQL stores (column names are the same).

import type { AuditEvent, Json, OutboxRow, SigningKeyRecord, SyncLink, TokenRecord } from './types.js';

export type Raw = Record<string, unknown>;

export function outboxRow(r: Raw): OutboxRow {
  const row: OutboxRow = {
    seq: Number(r.seq),
    target: r.target as string,
    resourceType: r.resource_type as string,
    resourceId: r.resource_id as string,
    action: r.action as string,
    version: Number(r.version),
    created: r.created as string,
    availableAt: r.available_at as string,
    attempts: Number(r.attempts),
    status: r.status as OutboxRow['status'],
  };
  if (r.lease_owner) row.leaseOwner = r.lease_owner as string;
  if (r.lease_until) row.leaseUntil = r.lease_until as string;
  if (r.last_error) row.lastError = r.last_error as string;
  return row;
}

export function syncLink(r: Raw): SyncLink {
  const l: SyncLink = { target: r.target as string, resourceId: r.resource_id as string };
  if (r.remote_id) l.remoteId = r.remote_id as string;
  if (r.remote_state) l.remoteState = (typeof r.remote_state === 'string' ? JSON.parse(r.remote_state) : r.remote_state) as Json;
  if (r.last_synced_at) l.lastSyncedAt = r.last_synced_at as string;
  if (r.last_error) l.lastError = r.last_error as string;
  if (r.synced_version !== null && r.synced_version !== undefined) l.syncedVersion = Number(r.synced_version);
  return l;
}

export function tokenRow(r: Raw): TokenRecord {
  const t: TokenRecord = {
    id: r.id as string,
    name: r.name as string,
    hash: r.hash as string,
    scopes: (typeof r.scopes === 'string' ? JSON.parse(r.scopes) : r.scopes) as string[],
    created: r.created as string,
    revoked: r.revoked === 1 || r.revoked === true,
  };
  if (r.user_id) t.userId = r.user_id as string;
  if (r.expires_at) t.expiresAt = r.expires_at as string;
  if (r.last_used) t.lastUsed = r.last_used as string;
  if (r.expiry_recorded_at) t.expiryRecordedAt = r.expiry_recorded_at as string;
  return t;
}

export function keyRow(r: Raw): SigningKeyRecord {
  const k: SigningKeyRecord = {
    kid: r.kid as string,
    alg: r.alg as string,
    publicJwk: (typeof r.public_jwk === 'string' ? JSON.parse(r.public_jwk) : r.public_jwk) as Json,
    privateKeyEnc: r.private_key_enc as string,
    createdAt: r.created_at as string,
    status: r.status as SigningKeyRecord['status'],
  };
  if (r.retired_at) k.retiredAt = r.retired_at as string;
  if (r.verify_until) k.verifyUntil = r.verify_until as string;
  return k;
}

/** The column values of an audit_events row, in INSERT order (both stores use the same columns). */
export function auditColumns(ev: AuditEvent): unknown[] {
  return [
    ev.seq,
    ev.id,
    ev.at,
    ev.action,
    ev.resourceType,
    ev.resourceId,
    JSON.stringify(ev.actor),
    ev.requestId ?? null,
    ev.reason ?? null,
    ev.changes === undefined ? null : JSON.stringify(ev.changes),
    ev.version ?? null,
    ev.prevHash,
    ev.hash,
  ];
}

export function auditRow(x: Raw): AuditEvent {
  const parse = (v: unknown) => (typeof v === 'string' ? (JSON.parse(v) as unknown) : v);
  const ev: AuditEvent = {
    seq: Number(x.seq),
    id: x.id as string,
    at: x.at as string,
    action: x.action as string,
    resourceType: x.resource_type as string,
    resourceId: x.resource_id as string,
    actor: parse(x.actor) as AuditEvent['actor'],
    prevHash: x.prev_hash as string,
    hash: x.hash as string,
  };
  if (x.request_id !== null && x.request_id !== undefined) ev.requestId = x.request_id as string;
  if (x.reason !== null && x.reason !== undefined) ev.reason = x.reason as string;
  if (x.changes !== null && x.changes !== undefined) ev.changes = parse(x.changes) as Json;
  if (x.version !== null && x.version !== undefined) ev.version = Number(x.version);
  return ev;
}
