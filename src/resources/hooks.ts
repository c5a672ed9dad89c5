// Per-resource-type behaviour plugged into the generic ResourceService: defaults, server-set
// attributes, reference checks, computed attributes on read, and (for governance) the effects a
// write has on other resources in the same commit.

import type { Filter } from '../scim/filter/ast.js';
import type { AuditEventInput, CommitGuard, Json, OutboxInput, Store, Write } from '../store/types.js';
import type { RequestContext } from './context.js';
import type { Rendered } from './service.js';

export interface WriteInfo {
  store: Store;
  ctx: RequestContext;
  /** the stored resource before this write (undefined on create) */
  previous: Json | undefined;
  /** the version this write will have if it commits (1 on create) */
  version: number;
  /** the time stamp of this write (meta.lastModified) */
  at: string;
  /** the id of the resource being written */
  id: string;
  /** create | replace | patch | delete, or the name of a server-side action (ResourceService.modify) */
  action: string;
  /**
   * Limits the store enforces inside this write's transaction (a limit checked in finalize holds
   * only until another request commits): finalize pushes here, the service commits them with the
   * write, and a guard that fails rolls the whole commit back (a 409 with the guard's message).
   */
  guards: CommitGuard[];
}

/** Further rows of the same commit: they succeed or fail together with the write that caused them. */
export interface Effects {
  writes: Write[];
  audit: AuditEventInput[];
  outbox: OutboxInput[];
  /** limits of these rows (a planned write's, ResourceService.plan), committed with them: see WriteInfo.guards */
  guards?: CommitGuard[];
}

/** A client operation a hook may take over entirely (e.g. a write to an agent's User projection). */
export type InterceptedOp =
  | { kind: 'create'; body: unknown }
  | { kind: 'replace'; id: string; body: unknown; ifMatch: string | undefined }
  | { kind: 'patch'; id: string; body: unknown; ifMatch: string | undefined }
  | { kind: 'delete'; id: string; ifMatch: string | undefined };

export interface ResourceHooks {
  /** Defaults applied to the raw body before validation (e.g. a new agent's lifecycleState). */
  prepareCreate?(body: Json): Json;
  /**
   * Looks at the raw request body before anything else parses it (so that no error message can
   * echo what it finds). Throws to reject. Secrets need no hook: ResourceService refuses them for
   * every resource type before any hook runs.
   */
  inspect?(body: unknown, action: 'create' | 'replace' | 'patch', ctx: RequestContext): void;
  /** Server-set values and cross-resource checks on the validated resource, before it is stored. */
  finalize?(next: Json, info: WriteInfo): Promise<Json> | Json;
  /**
   * Writes to other resources that belong to this one (a projection, a cascade), committed in the
   * same transaction. `data` is what will be stored (undefined when the resource is deleted).
   */
  effects?(data: Json | undefined, info: WriteInfo): Promise<Partial<Effects> | undefined> | Partial<Effects> | undefined;
  /**
   * Takes over a client operation: a Rendered resource (or 'done' for a delete) means it was
   * handled; undefined lets the generic operation run.
   */
  intercept?(op: InterceptedOp, ctx: RequestContext): Promise<Rendered | 'done' | undefined>;
  /** Computed, read-only attributes (e.g. `groups`) added to resources just read, in one batch. */
  decorate?(resources: Json[], store: Store): Promise<void>;
  /** Rows this caller does not see (e.g. agents' User projections where they are not served): ANDed into every list. */
  listFilter?(ctx: RequestContext): Filter | undefined;
  /** The same rule for a single read: false → 404. */
  visible?(data: Json, ctx: RequestContext): boolean;
}

/** Runs several hook sets in order (e.g. the core agent hooks, then record signing). */
export function composeHooks(...sets: ResourceHooks[]): ResourceHooks {
  return {
    prepareCreate(body) {
      return sets.reduce((b, h) => (h.prepareCreate ? h.prepareCreate(b) : b), body);
    },
    inspect(body, action, ctx) {
      for (const h of sets) h.inspect?.(body, action, ctx);
    },
    async finalize(next, info) {
      let out = next;
      for (const h of sets) if (h.finalize) out = await h.finalize(out, info);
      return out;
    },
    async effects(data, info) {
      const out: Effects = { writes: [], audit: [], outbox: [] };
      for (const h of sets) {
        const e = h.effects ? await h.effects(data, info) : undefined;
        if (!e) continue;
        out.writes.push(...(e.writes ?? []));
        out.audit.push(...(e.audit ?? []));
        out.outbox.push(...(e.outbox ?? []));
        if (e.guards?.length) (out.guards ??= []).push(...e.guards);
      }
      return out;
    },
    async intercept(op, ctx) {
      for (const h of sets) {
        const r = h.intercept ? await h.intercept(op, ctx) : undefined;
        if (r !== undefined) return r;
      }
      return undefined;
    },
    async decorate(resources, store) {
      for (const h of sets) if (h.decorate) await h.decorate(resources, store);
    },
    listFilter(ctx) {
      const fs = sets.map((h) => h.listFilter?.(ctx)).filter((f): f is Filter => f !== undefined);
      return fs.length === 0 ? undefined : fs.length === 1 ? fs[0] : { kind: 'and', filters: fs };
    },
    visible(data, ctx) {
      return sets.every((h) => !h.visible || h.visible(data, ctx));
    },
  };
}
