// The layout of SyncLink.remoteState: the connector's applied baseline plus the engine's own
// bookkeeping, kept apart so that a connector never has to know about the engine's fields.

import type { Json, SyncLink } from '../store/types.js';

export interface SyncFlag {
  /** remoteReenable: the object was enabled remotely while the agent is not active here */
  kind: 'remoteReenable';
  at: string;
  detail: string;
}

export interface EngineMeta {
  /** fingerprint of the desired state last applied successfully */
  fp?: string;
  /** kind of the remote object (externalIdentities.objectType) */
  objectType?: string;
  /** first time sync saw the agent retired (when governance has no stateChangedAt) */
  retiredSeenAt?: string;
  /** the object was deleted remotely; kept so it is not re-created while the agent is inactive */
  remoteDeleted?: { at: string; remoteId: string };
  /** conditions an admin should look at (shown as syncState "drifted") */
  flags?: SyncFlag[];
  /** last drift found by reconciliation (human-readable) */
  drift?: string[];
  driftAt?: string;
}

export interface LinkState {
  meta: EngineMeta;
  /** connector-owned baseline */
  state: Json;
}

export function readLink(link: SyncLink | undefined): LinkState {
  const rs = link?.remoteState;
  if (!rs || typeof rs !== 'object') return { meta: {}, state: {} };
  const meta = (typeof rs.meta === 'object' && rs.meta !== null ? rs.meta : {}) as EngineMeta;
  const state = (typeof rs.state === 'object' && rs.state !== null ? rs.state : {}) as Json;
  return { meta, state };
}

export function writeState(meta: EngineMeta, state: Json): Json {
  const m: Json = {};
  for (const [k, v] of Object.entries(meta)) if (v !== undefined) m[k] = v;
  return { meta: m, state };
}
