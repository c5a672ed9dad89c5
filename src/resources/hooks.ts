// Per-resource-type behaviour plugged into the generic ResourceService: defaults, server-set
// attributes, reference checks, computed attributes on read.

import type { Json, Store } from '../store/types.js';
import type { RequestContext } from './context.js';

export interface WriteInfo {
  store: Store;
  ctx: RequestContext;
  /** the stored resource before this write (undefined on create) */
  previous: Json | undefined;
  /** the version this write will have if it commits (1 on create) */
  version: number;
  /** the time stamp of this write (meta.lastModified) */
  at: string;
}

export interface ResourceHooks {
  /** Defaults applied to the raw body before validation (e.g. a new agent's lifecycleState). */
  prepareCreate?(body: Json): Json;
  /** Server-set values and cross-resource checks on the validated resource, before it is stored. */
  finalize?(next: Json, info: WriteInfo): Promise<Json> | Json;
  /** Computed, read-only attributes (e.g. `groups`) added to resources just read, in one batch. */
  decorate?(resources: Json[], store: Store): Promise<void>;
}

/** Runs several hook sets in order (e.g. the core agent hooks, then record signing). */
export function composeHooks(...sets: ResourceHooks[]): ResourceHooks {
  return {
    prepareCreate(body) {
      return sets.reduce((b, h) => (h.prepareCreate ? h.prepareCreate(b) : b), body);
    },
    async finalize(next, info) {
      let out = next;
      for (const h of sets) if (h.finalize) out = await h.finalize(out, info);
      return out;
    },
    async decorate(resources, store) {
      for (const h of sets) if (h.decorate) await h.decorate(resources, store);
    },
  };
}
