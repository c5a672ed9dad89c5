// Sync state on the agent itself: the readOnly governance attribute `externalIdentities`, computed
// when an agent is read (a decorate hook) from the link table. Nothing is written to the agent, so
// sync never bumps an agent's version or ETag and never races a client's If-Match.
// (Computed at read time, it cannot be used in a SCIM filter; `agentroster sync status` and
// GET /admin/sync cover "which agents are failing".)

import type { ResourceHooks } from '../resources/hooks.js';
import type { Json, Store, SyncLink } from '../store/types.js';
import { GOVERNANCE_URN } from './desired.js';
import { readLink } from './link-state.js';

export function externalIdentity(target: string, link: SyncLink | undefined, agentVersion: number, objectType: string): Json {
  const out: Json = { system: target };
  if (!link) return { ...out, objectType, syncState: 'pending' };
  const { meta } = readLink(link);
  out.objectType = meta.objectType ?? objectType;
  if (link.remoteId) out.objectId = link.remoteId;
  let syncState = 'synced';
  if (link.lastError) syncState = 'error';
  else if (meta.flags?.length || meta.remoteDeleted) syncState = 'drifted';
  else if ((link.syncedVersion ?? 0) < agentVersion || meta.fp === undefined) syncState = 'pending';
  out.syncState = syncState;
  if (link.lastSyncedAt) out.lastSyncedAt = link.lastSyncedAt;
  const problems = [link.lastError, ...(meta.flags ?? []).map((f) => f.detail), meta.remoteDeleted ? `deleted in ${target} at ${meta.remoteDeleted.at}` : undefined].filter(
    (x): x is string => typeof x === 'string',
  );
  if (problems.length) out.lastError = problems.join('; ');
  return out;
}

/** Agent hook: fills `externalIdentities` for the given targets. */
export function externalIdentitiesHook(store: Store, targets: { target: string; objectType: string }[]): ResourceHooks {
  return {
    async decorate(resources) {
      if (targets.length === 0) return;
      // one query per target for the whole page, not one per agent
      const links = await Promise.all(targets.map((t) => store.sync.getLinks(t.target, resources.map((r) => r.id as string))));
      await Promise.all(
        resources.map(async (r) => {
          const id = r.id as string;
          const meta = r.meta as Json | undefined;
          const m = /(\d+)/.exec(String(meta?.version ?? ''));
          const version = m ? Number(m[1]) : 0;
          const ids: Json[] = targets.map((t, k) => externalIdentity(t.target, links[k]!.get(id), version, t.objectType));
          const gov = (typeof r[GOVERNANCE_URN] === 'object' && r[GOVERNANCE_URN] !== null ? r[GOVERNANCE_URN] : {}) as Json;
          r[GOVERNANCE_URN] = { ...gov, externalIdentities: ids };
        }),
      );
    },
  };
}
