// Generic SCIM resource operations (RFC 7644 §3.3–3.6) over the Store: validation, PATCH, ETags,
// optimistic concurrency, audit events and outbox rows in the same commit. No HTTP here: the
// routes and /Bulk both call this.

import { randomUUID } from 'node:crypto';
import { findSecretsInRequest } from '../agents/secrets.js';
import { invalidFilter, notFound, preconditionFailed, ScimError } from '../scim/errors.js';
import type { Filter } from '../scim/filter/ast.js';
import { checkFilterBudget, type CostClassifier, type FilterBudget } from '../scim/filter/cost.js';
import { applyPatch, parsePatchRequest } from '../scim/patch.js';
import type { ResourceTypeInfo, SchemaRegistry } from '../scim/registry.js';
import { validateResource } from '../scim/validate.js';
import { canonicalJson } from '../store/canonical-json.js';
import { costClassifier, indexedAttributeNames, QueryBusy, QueryTimeout } from '../store/query-cost.js';
import {
  type Commit,
  type Json,
  LimitExceeded,
  type ListQuery,
  RowMissing,
  type SortSpec,
  type Store,
  type StoredResource,
  VersionConflict,
} from '../store/types.js';
import type { Clock, RequestContext } from './context.js';
import { diffResources } from './diff.js';
import type { Effects, ResourceHooks, WriteInfo } from './hooks.js';

export const etagOf = (version: number): string => `W/"${version}"`;

/** A resource as returned to clients: full representation with meta; projection happens later. */
export interface Rendered {
  rt: ResourceTypeInfo;
  resource: Json;
  etag: string;
  location: string;
}

export interface ServiceOptions {
  registry: SchemaRegistry;
  store: Store;
  clock: Clock;
  hooks: Record<string, ResourceHooks>;
  /** sync targets that receive an outbox row for every Agent change */
  outboxTargets: readonly string[];
  /** how often a write is re-applied on top of a concurrent change when the client sent no If-Match */
  maxRetries?: number;
  /** the budget of a client's filter in list(): see src/scim/filter/cost.ts (defaults: 100, 100) */
  filterBudget?: FilterBudget;
}

/** Checks an If-Match header (RFC 7232 §3.1; weak comparison as SCIM ETags are weak). */
export function ifMatchPasses(header: string | undefined, version: number): boolean {
  if (header === undefined) return true;
  const wanted = etagOf(version);
  return header
    .split(',')
    .map((s) => s.trim())
    .some((t) => t === '*' || t === wanted || t === `"${version}"`);
}

export class ResourceService {
  readonly registry: SchemaRegistry;
  readonly store: Store;
  readonly #clock: Clock;
  readonly #hooks: Record<string, ResourceHooks>;
  readonly #outboxTargets: readonly string[];
  readonly #maxRetries: number;
  readonly #filterBudget: FilterBudget;
  readonly #classifiers = new Map<string, CostClassifier>();

  constructor(o: ServiceOptions) {
    this.registry = o.registry;
    this.store = o.store;
    this.#clock = o.clock;
    this.#hooks = o.hooks;
    this.#outboxTargets = o.outboxTargets;
    this.#maxRetries = o.maxRetries ?? 25;
    this.#filterBudget = o.filterBudget ?? { maxCost: 100, maxComparisons: 100 };
  }

  resourceType(name: string): ResourceTypeInfo {
    const rt = this.registry.resourceType(name);
    if (!rt) throw notFound(`unknown resource type "${name}"`);
    return rt;
  }

  #hooksOf(rt: ResourceTypeInfo): ResourceHooks {
    return this.#hooks[rt.type.name] ?? {};
  }

  /** Full representation: stored data + meta + computed attributes, for a batch of rows. */
  async render(rt: ResourceTypeInfo, rows: StoredResource[], ctx: RequestContext): Promise<Rendered[]> {
    const out = rows.map((row) => {
      const location = `${ctx.baseUrl}${rt.type.endpoint}/${row.id}`;
      const resource: Json = {
        ...row.data,
        id: row.id,
        meta: {
          resourceType: rt.type.name,
          created: row.created,
          lastModified: row.lastModified,
          location,
          version: etagOf(row.version),
        },
      };
      addRefs(resource, ctx.baseUrl);
      return { rt, resource, etag: etagOf(row.version), location };
    });
    const decorate = this.#hooksOf(rt).decorate;
    if (decorate && out.length > 0) await decorate(out.map((o) => o.resource), this.store);
    return out;
  }

  async get(rtName: string, id: string, ctx: RequestContext): Promise<Rendered> {
    const rt = this.resourceType(rtName);
    const row = await this.store.get(rt.type.name, id);
    const visible = this.#hooksOf(rt).visible;
    if (!row || (visible && !visible(row.data, ctx))) throw notFound(`${rt.type.name} "${id}" not found`);
    const [r] = await this.render(rt, [row], ctx);
    return r!;
  }

  async list(
    rt: ResourceTypeInfo,
    q: ListQuery,
    ctx: RequestContext,
  ): Promise<{ total: number | undefined; items: Rendered[]; nextCursor?: string }> {
    // The client's filter only: what the server adds (listFilter) is its own, cheap, business.
    if (q.filter) this.#checkFilterCost(rt, q.filter);
    const hidden = this.#hooksOf(rt).listFilter?.(ctx);
    let res;
    try {
      res = await this.store.list(rt, hidden ? { ...q, filter: q.filter ? { kind: 'and', filters: [q.filter, hidden] } : hidden } : q);
    } catch (e) {
      throw queryLimitError(e) ?? e;
    }
    const items = await this.render(rt, res.resources, ctx);
    return res.nextCursor === undefined ? { total: res.total, items } : { total: res.total, items, nextCursor: res.nextCursor };
  }

  /**
   * R10, for every resource type and every door (routes, /Bulk, the IGA view): a client body that
   * holds something secret-looking is refused before anything parses, stores, audits or echoes it.
   * The callers have authenticated the client and checked the route's scope already (a token that
   * may not write is refused before its body is scanned); the scan is linear in the body's size.
   * The error names where and what kind, never the value.
   */
  #rejectSecrets(rt: ResourceTypeInfo, body: unknown): void {
    // a write-only, never-returned attribute (a User's password) is dropped unread by validation
    const discarded = rt.attributes
      .filter((a) => a.mutability === 'writeOnly' && a.returned === 'never')
      .flatMap((a) => [a.name, `${rt.core.id}:${a.name}`]);
    const found = findSecretsInRequest(body, { discarded })[0];
    if (!found) return;
    throw new ScimError(
      400,
      `${found.where} looks like a secret (${found.kind}); agentroster stores identifiers and metadata, never secrets — keep the secret in a vault (an agent's credential references it with credentials.vaultRef) (R10)`,
      'invalidValue',
    );
  }

  /** 400 invalidFilter "filter too expensive: …" for a filter over the budget (issue 10, finding 2). */
  #checkFilterCost(rt: ResourceTypeInfo, filter: Filter): void {
    let classify = this.#classifiers.get(rt.type.name);
    if (!classify) {
      classify = costClassifier(this.registry, rt);
      this.#classifiers.set(rt.type.name, classify);
    }
    checkFilterBudget(filter, classify, this.#filterBudget, indexedAttributeNames(rt));
  }

  async create(rtName: string, body: unknown, ctx: RequestContext): Promise<Rendered> {
    const rt = this.resourceType(rtName);
    this.#rejectSecrets(rt, body);
    const hooks = this.#hooksOf(rt);
    const taken = hooks.intercept ? await hooks.intercept({ kind: 'create', body }, ctx) : undefined;
    if (taken !== undefined && taken !== 'done') return taken;
    hooks.inspect?.(body, 'create', ctx);
    const input = hooks.prepareCreate && isJson(body) ? hooks.prepareCreate(body) : body;
    const id = randomUUID();
    let next = validateResource(this.registry, rt, input, { mode: 'create' });
    next = withId(next, id);
    const at = this.#clock.now().toISOString();
    const info: WriteInfo = { store: this.store, ctx, previous: undefined, version: 1, at, id, action: 'create', guards: [] };
    if (hooks.finalize) next = await hooks.finalize(next, info);
    const data = stripServer(next);
    const extra = await this.#effects(hooks, data, info);
    await this.#commit({
      writes: [{ kind: 'insert', type: rt.type.name, id, data, at }, ...extra.writes],
      audit: [this.#audit('create', rt, id, ctx, at, diffResources(undefined, data), 1), ...extra.audit],
      outbox: [...this.#outbox(rt, id, 'create', 1), ...extra.outbox],
      guards: [...info.guards, ...(extra.guards ?? [])],
    });
    return (await this.render(rt, [{ type: rt.type.name, id, data, version: 1, created: at, lastModified: at }], ctx))[0]!;
  }

  async replace(rtName: string, id: string, body: unknown, ctx: RequestContext, ifMatch?: string): Promise<Rendered> {
    const rt = this.resourceType(rtName);
    this.#rejectSecrets(rt, body);
    const hooks = this.#hooksOf(rt);
    const taken = hooks.intercept ? await hooks.intercept({ kind: 'replace', id, body, ifMatch }, ctx) : undefined;
    if (taken !== undefined && taken !== 'done') return taken;
    hooks.inspect?.(body, 'replace', ctx);
    return this.#update(rt, id, ctx, ifMatch, 'replace', (existing) =>
      validateResource(this.registry, rt, body, { mode: 'replace', existing }),
    );
  }

  async patch(rtName: string, id: string, body: unknown, ctx: RequestContext, ifMatch?: string): Promise<Rendered> {
    const rt = this.resourceType(rtName);
    this.#rejectSecrets(rt, body);
    const hooks = this.#hooksOf(rt);
    const taken = hooks.intercept ? await hooks.intercept({ kind: 'patch', id, body, ifMatch }, ctx) : undefined;
    if (taken !== undefined && taken !== 'done') return taken;
    hooks.inspect?.(body, 'patch', ctx);
    const ops = parsePatchRequest(body);
    return this.#update(rt, id, ctx, ifMatch, 'patch', (existing) => {
      const { resource, changed } = applyPatch(this.registry, rt, existing, ops);
      if (!changed) return existing;
      return validateResource(this.registry, rt, resource, { mode: 'patch', existing });
    });
  }

  /**
   * A server-side change (scheduler, cascade, certification, an IGA revocation): `fn` gets the
   * stored resource and returns the next one, which is trusted — it may set readOnly attributes —
   * and then goes through the hooks, the audit log and the outbox like any client write. Returning
   * the resource unchanged is a no-op. Re-applied on top of concurrent changes.
   */
  async modify(
    rtName: string,
    id: string,
    fn: (existing: Json, at: string) => Json,
    ctx: RequestContext,
    opts: { action?: string; reason?: string; ifMatch?: string } = {},
  ): Promise<Rendered> {
    const rt = this.resourceType(rtName);
    return this.#update(rt, id, ctx, opts.ifMatch, opts.action ?? 'patch', fn, opts.reason);
  }

  /**
   * modify() without committing: the rows one server-side change of `id` would write, for a caller
   * that commits them together with its own write (a sponsor leaving and their agents). undefined
   * when the resource does not exist or the change is a no-op.
   */
  async plan(
    rtName: string,
    id: string,
    fn: (existing: Json, at: string) => Json,
    ctx: RequestContext,
    opts: { action?: string; reason?: string; at?: string } = {},
  ): Promise<Effects | undefined> {
    const rt = this.resourceType(rtName);
    const row = await this.store.get(rt.type.name, id);
    if (!row) return undefined;
    const prepared = await this.#prepare(rt, row, ctx, opts.action ?? 'patch', fn, opts.reason, opts.at);
    return prepared?.commit;
  }

  async delete(rtName: string, id: string, ctx: RequestContext, ifMatch?: string): Promise<void> {
    const rt = this.resourceType(rtName);
    const hooks = this.#hooksOf(rt);
    const taken = hooks.intercept ? await hooks.intercept({ kind: 'delete', id, ifMatch }, ctx) : undefined;
    if (taken !== undefined) return;
    for (let attempt = 0; ; attempt++) {
      const row = await this.store.get(rt.type.name, id);
      if (!row) throw notFound(`${rt.type.name} "${id}" not found`);
      if (!ifMatchPasses(ifMatch, row.version)) throw preconditionFailed(`If-Match does not match the current version ${etagOf(row.version)}`);
      const at = this.#clock.now().toISOString();
      const commit: Commit = {
        writes: [{ kind: 'delete', type: rt.type.name, id, expectedVersion: row.version }],
        audit: [this.#audit('delete', rt, id, ctx, at, diffResources(row.data, undefined), row.version)],
        outbox: this.#outbox(rt, id, 'delete', row.version),
      };
      await this.#removeMemberships(id, ctx, at, commit);
      const extra = await this.#effects(hooks, undefined, {
        store: this.store,
        ctx,
        previous: withId(row.data, id),
        version: row.version,
        at,
        id,
        action: 'delete',
        guards: [],
      });
      commit.writes.push(...extra.writes);
      commit.audit.push(...extra.audit);
      commit.outbox.push(...extra.outbox);
      if (extra.guards?.length) commit.guards = extra.guards;
      try {
        await this.#commit(commit);
        return;
      } catch (e) {
        if (e instanceof RowMissing && e.id === id) throw notFound(`${rt.type.name} "${id}" not found`);
        if (e instanceof VersionConflict || e instanceof RowMissing) {
          if (ifMatch !== undefined && e.id === id) throw preconditionFailed('the resource changed meanwhile');
          if (attempt < this.#maxRetries) {
            await backoff(attempt);
            continue;
          }
        }
        throw e;
      }
    }
  }

  /** RFC 7643 §4.2: a deleted resource leaves no dangling group membership. */
  async #removeMemberships(id: string, ctx: RequestContext, at: string, commit: Commit): Promise<void> {
    const groups = (await this.store.groupsOf([id])).get(id) ?? [];
    if (groups.length === 0) return;
    const gt = this.resourceType('Group');
    const rows = await this.store.getMany('Group', groups.map((g) => g.value));
    for (const g of rows) {
      const members = ((g.data.members as Json[] | undefined) ?? []).filter(
        (m) => String(m.value).toLowerCase() !== id.toLowerCase(),
      );
      const data = { ...g.data };
      if (members.length > 0) data.members = members;
      else delete data.members;
      commit.writes.push({ kind: 'update', type: 'Group', id: g.id, data, at, expectedVersion: g.version, before: g.data });
      commit.audit.push(this.#audit('patch', gt, g.id, ctx, at, diffResources(g.data, data), g.version + 1, 'member deleted'));
    }
  }

  async #update(
    rt: ResourceTypeInfo,
    id: string,
    ctx: RequestContext,
    ifMatch: string | undefined,
    action: string,
    change: (existing: Json, at: string) => Json,
    reason?: string,
  ): Promise<Rendered> {
    for (let attempt = 0; ; attempt++) {
      const row = await this.store.get(rt.type.name, id);
      if (!row) throw notFound(`${rt.type.name} "${id}" not found`);
      if (!ifMatchPasses(ifMatch, row.version)) {
        throw preconditionFailed(`If-Match does not match the current version ${etagOf(row.version)}`);
      }
      const prepared = await this.#prepare(rt, row, ctx, action, change, reason);
      // A write that changes nothing keeps its version: Okta PUTs whole users on every sync.
      if (!prepared) return (await this.render(rt, [row], ctx))[0]!;
      const { data, version, at } = prepared;
      try {
        await this.#commit(prepared.commit);
      } catch (e) {
        if (e instanceof RowMissing && e.type === rt.type.name && e.id === id) throw notFound(`${rt.type.name} "${id}" not found`);
        if (e instanceof VersionConflict || e instanceof RowMissing) {
          // With If-Match the client asked for exactly that version: 412. Without, re-apply on top
          // (also when another row of the same commit — a cascade — changed meanwhile).
          if (ifMatch !== undefined && e.type === rt.type.name && e.id === id) {
            throw preconditionFailed('the resource changed meanwhile; fetch it and retry');
          }
          if (attempt < this.#maxRetries) {
            await backoff(attempt);
            continue;
          }
          throw new ScimError(409, 'the resource is being changed concurrently; retry');
        }
        throw e;
      }
      return (await this.render(rt, [{ type: rt.type.name, id, data, version, created: row.created, lastModified: at }], ctx))[0]!;
    }
  }

  /** The commit of one update of a stored row, or undefined when it changes nothing. */
  async #prepare(
    rt: ResourceTypeInfo,
    row: StoredResource,
    ctx: RequestContext,
    action: string,
    change: (existing: Json, at: string) => Json,
    reason?: string,
    atOverride?: string,
  ): Promise<{ data: Json; version: number; at: string; commit: Effects } | undefined> {
    const hooks = this.#hooksOf(rt);
    const id = row.id;
    const existing = withId(row.data, id);
    const at = atOverride ?? this.#clock.now().toISOString();
    const version = row.version + 1;
    let next = change(existing, at);
    const info: WriteInfo = { store: this.store, ctx, previous: existing, version, at, id, action, guards: [] };
    if (next !== existing && hooks.finalize) next = await hooks.finalize(withId(next, id), info);
    const data = stripServer(next);
    if (canonicalJson(data) === canonicalJson(row.data)) return undefined;
    const extra = await this.#effects(hooks, data, info);
    return {
      data,
      version,
      at,
      commit: {
        writes: [{ kind: 'update', type: rt.type.name, id, data, at, expectedVersion: row.version, before: row.data }, ...extra.writes],
        audit: [this.#audit(action, rt, id, ctx, at, diffResources(row.data, data), version, reason), ...extra.audit],
        outbox: [...this.#outbox(rt, id, action, version), ...extra.outbox],
        ...(info.guards.length > 0 || extra.guards?.length ? { guards: [...info.guards, ...(extra.guards ?? [])] } : {}),
      },
    };
  }

  /** store.commit, with the store's refusal of a guarded limit as the SCIM error the early check gives. */
  async #commit(c: Commit): Promise<void> {
    try {
      await this.store.commit(c);
    } catch (e) {
      throw commitError(e) ?? e;
    }
  }

  async #effects(hooks: ResourceHooks, data: Json | undefined, info: WriteInfo): Promise<Effects> {
    const e = hooks.effects ? await hooks.effects(data, info) : undefined;
    return { writes: e?.writes ?? [], audit: e?.audit ?? [], outbox: e?.outbox ?? [], ...(e?.guards?.length ? { guards: e.guards } : {}) };
  }

  #audit(
    action: string,
    rt: ResourceTypeInfo,
    id: string,
    ctx: RequestContext,
    at: string,
    changes: Json,
    version: number,
    reason?: string,
  ) {
    return {
      action,
      resourceType: rt.type.name,
      resourceId: id,
      actor: ctx.actor,
      requestId: ctx.requestId,
      changes,
      version,
      at,
      ...(reason !== undefined ? { reason } : ctx.reason !== undefined ? { reason: ctx.reason } : {}),
    };
  }

  #outbox(rt: ResourceTypeInfo, id: string, action: string, version: number) {
    if (rt.type.name !== 'Agent') return [];
    return this.#outboxTargets.map((target) => ({ target, resourceType: rt.type.name, resourceId: id, action, version }));
  }
}

/**
 * The store's query limits as SCIM errors. A query past the time limit is the filter's doing (the
 * same filter would run as long again): 400 invalidFilter, like the static budget. A query that
 * found every read worker busy is the server's: 503 with Retry-After.
 */
function queryLimitError(e: unknown): ScimError | undefined {
  if (e instanceof QueryTimeout) {
    return invalidFilter(
      `filter too expensive: the query took longer than ${e.limitMs} ms and was stopped; narrow the filter with "eq" on an indexed attribute (combined with "and"), use fewer co/sw/ew comparisons, or page with a smaller count`,
    );
  }
  if (e instanceof QueryBusy) {
    return new ScimError(503, 'the server is busy with other expensive queries; retry shortly', undefined, { 'Retry-After': '1' });
  }
  return undefined;
}

/**
 * A store limit hit by a query the server ran for its own rules (a governance count, a uniqueness
 * check), not by the client's filter: every read worker busy, or the time limit reached, is the
 * server's load, so 503 with Retry-After, never a 500 or a blame on a filter the client did not send.
 */
export function internalQueryLimitError(e: unknown): ScimError | undefined {
  if (e instanceof QueryBusy || e instanceof QueryTimeout) {
    return new ScimError(503, 'the server is busy; retry shortly', undefined, { 'Retry-After': '1' });
  }
  return undefined;
}

/**
 * The store's refusals of a commit as SCIM errors: a guarded limit (a seat limit, an assignment
 * limit) that the commit would exceed is 409 with the guard's message, the same refusal the hooks'
 * early check gives when it already sees the limit reached.
 */
function commitError(e: unknown): ScimError | undefined {
  if (e instanceof LimitExceeded) return new ScimError(409, e.message);
  return undefined;
}

/** A few milliseconds, growing and jittered, so that competing writers stop colliding. */
function backoff(attempt: number): Promise<void> {
  const ms = Math.random() * Math.min(50, 2 ** attempt);
  return new Promise((r) => setTimeout(r, ms));
}

function isJson(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function withId(r: Json, id: string): Json {
  return { ...r, id };
}

/** What is stored: the resource without id, meta and computed attributes (they live in columns or are derived). */
function stripServer(r: Json): Json {
  const { id: _id, meta: _meta, groups: _groups, ...rest } = r;
  return rest;
}

/** `$ref` of members / owners / sponsor / manager, from their `value` and type. */
function addRefs(resource: Json, baseUrl: string): void {
  const members = resource.members;
  if (Array.isArray(members)) {
    for (const m of members as Json[]) {
      const type = typeof m.type === 'string' ? m.type : 'User';
      const endpoint = type === 'Group' ? 'Groups' : type === 'Agent' ? 'Agents' : 'Users';
      m.$ref = `${baseUrl}/${endpoint}/${String(m.value)}`;
    }
  }
}

export type { Filter, SortSpec };
