// Shared glue of the governance rules: URNs, who is acting, people and catalogue look-ups in the
// store, and Violations as SCIM errors. The rules themselves are pure (src/agents/).

import type { CatalogueEntry } from '../../agents/grants.js';
import type { ActorKind } from '../../agents/lifecycle.js';
import type { Person } from '../../agents/sponsor.js';
import type { Violation } from '../../agents/util.js';
import { ScimError, type ScimType } from '../../scim/errors.js';
import type { Filter } from '../../scim/filter/ast.js';
import type { ResourceTypeInfo, SchemaRegistry } from '../../scim/registry.js';
import type { Json, Store, StoredResource } from '../../store/types.js';
import type { RequestContext } from '../context.js';

export const GOV = 'urn:agentroster:scim:schemas:extension:agent-governance:1.0:Agent';
export const USER_CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const AGENT_USER = 'urn:agentroster:scim:schemas:extension:agent:1.0:User';
export const ENTITLEMENT_EXT = 'urn:agentroster:scim:schemas:extension:entitlement:1.0:Entitlement';

/** The actor of the governance engine's own changes (scheduler, cascades). */
export const GOVERNANCE_CLIENT = 'agentroster-governance';

/** A RequestContext that says through which door a write came (the IGA view sets "iga"). */
export interface GovContext extends RequestContext {
  channel?: 'iga';
  /** set by the agents-view routes: agents' User projections are always visible there */
  view?: 'agents';
}

/**
 * Who is acting: a token (`client`, or `iga` through the agent-as-User view), the governance engine
 * itself, or a connector / reconciler (no token: Entra, Okta), which may only restrict.
 */
export function actorKind(ctx: RequestContext): ActorKind {
  if (ctx.actor.tokenId !== undefined) return (ctx as GovContext).channel === 'iga' ? 'iga' : 'client';
  if (ctx.actor.client === GOVERNANCE_CLIENT) return 'governance';
  return 'connector';
}

export function governanceContext(requestId: string, reason?: string): GovContext {
  return {
    actor: { client: GOVERNANCE_CLIENT },
    scopes: new Set(['scim.read', 'scim.write', 'scim.revoke']),
    requestId,
    baseUrl: '',
    ...(reason !== undefined ? { reason } : {}),
  };
}

export function toScimError(v: Violation): ScimError {
  return new ScimError(v.status, v.message, v.scimType as ScimType | undefined);
}

/** Throws the first violation (all of them when several, in one message). */
export function throwViolations(list: (Violation | undefined)[]): void {
  const vs = list.filter((v): v is Violation => v !== undefined);
  if (vs.length === 0) return;
  // the most severe status decides (403 over 409 over 400)
  const rank = (s: number) => (s === 403 ? 3 : s === 409 ? 2 : 1);
  const top = [...vs].sort((a, b) => rank(b.status) - rank(a.status))[0]!;
  const same = vs.filter((v) => v.status === top.status);
  throw toScimError({ ...top, message: same.map((v) => v.message).join('; ') });
}

const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A User row that is the projection of an agent (never a human, never a sponsor). */
export function isAgentProjection(data: Json | undefined): boolean {
  const ext = data?.[AGENT_USER];
  return isObj(ext) && ext.isAgent === true;
}

function displayOfUser(d: Json): string | undefined {
  const name = isObj(d.name) ? d.name : {};
  const v = d.displayName ?? name.formatted ?? d.userName;
  return typeof v === 'string' ? v : undefined;
}

function emailOf(d: Json): string | undefined {
  const emails = Array.isArray(d.emails) ? d.emails.filter(isObj) : [];
  const e = emails.find((x) => x.primary === true) ?? emails[0];
  return typeof e?.value === 'string' ? e.value : undefined;
}

export function personFromUser(row: StoredResource): Person {
  const d = row.data;
  const ent = isObj(d[ENTERPRISE]) ? d[ENTERPRISE] : {};
  const manager = isObj(ent.manager) ? ent.manager : undefined;
  const agentLike = isAgentProjection(d) || (typeof d.userType === 'string' && d.userType.toLowerCase() === 'agent');
  const p: Person = { id: row.id, kind: agentLike ? 'agent' : 'human', active: d.active !== false };
  const display = displayOfUser(d);
  if (display !== undefined) p.display = display;
  const email = emailOf(d);
  if (email !== undefined) p.email = email;
  if (typeof ent.employeeNumber === 'string') p.employeeNumber = ent.employeeNumber;
  if (typeof d.externalId === 'string') p.externalId = d.externalId;
  if (typeof manager?.value === 'string' && manager.value !== '') p.managerId = manager.value;
  return p;
}

// control characters and lone surrogates (half of a UTF-16 pair): never in an id we issue
const NOT_AN_ID = /[\u0000-\u001f\u007f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

/** Whether a client-given reference can be an id at all (ids are never blank or padded). */
function lookupable(id: string): boolean {
  return id !== '' && id.length <= 1024 && id.trim() === id && !NOT_AN_ID.test(id);
}

/**
 * Users, Groups and Agents with these ids, as Persons. Every id asked for has an entry: one that
 * names nothing (no such resource, or not an id at all: "", blank, padded, control characters,
 * whatever String() made of a non-string value) is a `missing` Person, which the people rules turn
 * into a 400 invalidValue, so that callers never meet an undefined Person.
 */
export async function resolvePeople(store: Store, ids: readonly unknown[]): Promise<Map<string, Person>> {
  const asked = [...new Set(ids.map((x) => (typeof x === 'string' ? x : String(x))))];
  const want = asked.filter(lookupable);
  const out = new Map<string, Person>();
  for (const id of asked) if (!lookupable(id)) out.set(id, { id, kind: 'missing', active: false });
  if (want.length === 0) return out;
  for (const r of await store.getMany('User', want)) out.set(r.id, personFromUser(r));
  const rest = want.filter((id) => !out.has(id));
  if (rest.length > 0) {
    for (const g of await store.getMany('Group', rest)) {
      const p: Person = { id: g.id, kind: 'group', active: true };
      if (typeof g.data.displayName === 'string') p.display = g.data.displayName;
      if (typeof g.data.externalId === 'string') p.externalId = g.data.externalId;
      out.set(g.id, p);
    }
  }
  const rest2 = want.filter((id) => !out.has(id));
  if (rest2.length > 0) {
    for (const a of await store.getMany('Agent', rest2)) {
      const p: Person = { id: a.id, kind: 'agent', active: true };
      const d = a.data.displayName ?? a.data.agentUserName;
      if (typeof d === 'string') p.display = d;
      out.set(a.id, p);
    }
  }
  for (const id of want) if (!out.has(id)) out.set(id, { id, kind: 'missing', active: false });
  return out;
}

export function eq(attr: string, value: string | boolean, uri?: string, sub?: string): Filter {
  return { kind: 'compare', op: 'eq', path: { attr, ...(uri ? { uri } : {}), ...(sub ? { sub } : {}) }, value };
}

export function anyOf(filters: Filter[]): Filter | undefined {
  if (filters.length === 0) return undefined;
  return filters.length === 1 ? filters[0]! : { kind: 'or', filters };
}

export function allOf(...filters: (Filter | undefined)[]): Filter | undefined {
  const fs = filters.filter((f): f is Filter => f !== undefined);
  if (fs.length === 0) return undefined;
  return fs.length === 1 ? fs[0]! : { kind: 'and', filters: fs };
}

/** Every row matching a filter, page by page (keyset cursor: stable under concurrent writes). */
export async function* scan(store: Store, rt: ResourceTypeInfo, filter: Filter | undefined, page = 200): AsyncGenerator<StoredResource> {
  let cursor = '';
  for (;;) {
    const res = await store.list(rt, { ...(filter ? { filter } : {}), startIndex: 1, count: page, cursor, withoutTotal: true });
    for (const r of res.resources) yield r;
    if (!res.nextCursor || res.resources.length < page) return;
    cursor = res.nextCursor;
  }
}

export async function count(store: Store, rt: ResourceTypeInfo, filter: Filter | undefined): Promise<number> {
  const res = await store.list(rt, { ...(filter ? { filter } : {}), startIndex: 1, count: 0 });
  return res.total ?? 0;
}

/** Catalogue entries (Entitlements or Roles) by value, in one query per 100 values. */
export async function lookupCatalogue(
  store: Store,
  registry: SchemaRegistry,
  kind: 'Entitlement' | 'Role',
  values: string[],
): Promise<Map<string, CatalogueEntry>> {
  const out = new Map<string, CatalogueEntry>();
  const rt = registry.resourceType(kind);
  const want = [...new Set(values)];
  if (!rt || want.length === 0) return out;
  for (let i = 0; i < want.length; i += 100) {
    const chunk = want.slice(i, i + 100);
    const res = await store.list(rt, { filter: anyOf(chunk.map((v) => eq('value', v)))!, startIndex: 1, count: chunk.length, withoutTotal: true });
    for (const r of res.resources) {
      const d = r.data;
      const ext = isObj(d[ENTITLEMENT_EXT]) ? d[ENTITLEMENT_EXT] : {};
      const e: CatalogueEntry = { id: r.id, value: String(d.value), privileged: ext.privileged === true };
      if (typeof d.display === 'string') e.display = d.display;
      if (typeof d.type === 'string') e.type = d.type;
      if (typeof ext.environment === 'string') e.environment = ext.environment;
      if (typeof ext.maxGrantDays === 'number') e.maxGrantDays = ext.maxGrantDays;
      if (d.limitedAssignmentsPermitted === true && typeof d.totalAssignmentsPermitted === 'number') e.assignmentLimit = d.totalAssignmentsPermitted;
      out.set(e.value, e);
    }
  }
  return out;
}

/** The base URL (…/scim/v2) of a rendered resource, from its meta.location. */
export function baseUrlOf(resource: Json, endpoint: string): string | undefined {
  const meta = isObj(resource.meta) ? resource.meta : {};
  const loc = typeof meta.location === 'string' ? meta.location : undefined;
  if (!loc) return undefined;
  const i = loc.toLowerCase().lastIndexOf(`${endpoint.toLowerCase()}/`);
  return i < 0 ? undefined : loc.slice(0, i);
}
