// The audit log as a read-only SCIM resource type (R18): GET /AuditEvents with filters (by agent:
// resourceId, by actor: actor.client / actor.userId, by time: at, by action) and paging, and
// GET /AuditEvents/{id or seq}. The simple conditions of a filter (resourceId, resourceType, action,
// actor.client, actor.userId equality and `at` ranges, at the top level of an AND) are pushed down
// to the database (store.auditEvents' `where`, indexed on resource_id and at); the whole filter is
// then evaluated on what comes back, with the same evaluator PATCH uses. Cursor paging stops as
// soon as a page is full; index paging counts all matches for totalResults.

import { compileFilter } from '../../scim/filter/evaluate.js';
import { invalidValue, notFound } from '../../scim/errors.js';
import { invalidCursor } from '../../scim/errors.js';
import type { SchemaRegistry } from '../../scim/registry.js';
import type { Filter } from '../../scim/filter/ast.js';
import { normalizeDateTime } from '../../scim/datetime.js';
import type { AuditEvent, AuditWhere, Json, Store } from '../../store/types.js';

export const AUDIT_EVENT_URN = 'urn:agentroster:scim:schemas:core:1.0:AuditEvent';
const PAGE = 1000;

const ENDPOINT: Record<string, string> = {
  Agent: 'Agents',
  User: 'Users',
  Group: 'Groups',
  Entitlement: 'Entitlements',
  Role: 'Roles',
};

export function renderAuditEvent(e: AuditEvent, baseUrl: string): Json {
  const changes = Object.entries(e.changes ?? {}).map(([attribute, v]) => {
    const c = (v ?? {}) as { before?: unknown; after?: unknown };
    const out: Json = { attribute };
    if (c.before !== undefined && c.before !== null) out.before = JSON.stringify(c.before);
    if (c.after !== undefined && c.after !== null) out.after = JSON.stringify(c.after);
    return out;
  });
  const actor: Json = { client: e.actor.client };
  if (e.actor.tokenId !== undefined) actor.tokenId = e.actor.tokenId;
  if (e.actor.userId !== undefined) {
    actor.userId = e.actor.userId;
    actor.userRef = `${baseUrl}/Users/${e.actor.userId}`;
  }
  const endpoint = ENDPOINT[e.resourceType];
  return {
    schemas: [AUDIT_EVENT_URN],
    id: e.id,
    seq: e.seq,
    at: e.at,
    action: e.action,
    resourceType: e.resourceType,
    resourceId: e.resourceId,
    ...(endpoint ? { resourceRef: `${baseUrl}/${endpoint}/${e.resourceId}` } : {}),
    actor,
    ...(e.requestId !== undefined ? { requestId: e.requestId } : {}),
    ...(e.reason !== undefined ? { reason: e.reason } : {}),
    ...(changes.length > 0 ? { changes } : {}),
    ...(e.version !== undefined ? { version: e.version } : {}),
    prevHash: e.prevHash,
    hash: e.hash,
    meta: {
      resourceType: 'AuditEvent',
      created: e.at,
      lastModified: e.at,
      location: `${baseUrl}/AuditEvents/${e.id}`,
      version: 'W/"1"',
    },
  };
}

function predicate(registry: SchemaRegistry, filter: Filter | undefined): (r: Json) => boolean {
  if (!filter) return () => true;
  const rt = registry.resourceType('AuditEvent');
  if (!rt) throw new Error('the AuditEvent resource type is not registered');
  return compileFilter(filter, { attributes: rt.attributes, coreSchema: rt.core.id, extensions: {} });
}

/** The conditions of a filter that the database can evaluate: a narrowing, never a widening. */
export function auditPushdown(registry: SchemaRegistry, filter: Filter | undefined): AuditWhere {
  const where: AuditWhere = {};
  if (!filter) return where;
  const rt = registry.resourceType('AuditEvent');
  const parts = filter.kind === 'and' ? filter.filters : [filter];
  for (const f of parts) {
    if (f.kind !== 'compare' || f.path.uri !== undefined || f.value === null) continue;
    const attr = f.path.attr.toLowerCase();
    const sub = f.path.sub?.toLowerCase();
    const def = rt?.attributes.find((a) => a.name.toLowerCase() === attr);
    const exact = (d: { caseExact: boolean } | undefined) => d?.caseExact === true;
    if (f.op === 'eq' && typeof f.value === 'string') {
      if (attr === 'resourceid' && !sub && exact(def)) where.resourceId = f.value;
      else if (attr === 'resourcetype' && !sub && exact(def)) where.resourceType = f.value;
      else if (attr === 'action' && !sub && exact(def)) where.action = f.value;
      else if (attr === 'actor' && sub) {
        const sdef = def?.subAttributes?.find((x) => x.name.toLowerCase() === sub);
        if (sub === 'client' && exact(sdef)) where.actorClient = f.value;
        if (sub === 'userid' && exact(sdef)) where.actorUserId = f.value;
      }
    }
    if (attr === 'at' && !sub && typeof f.value === 'string' && ['gt', 'ge', 'lt', 'le'].includes(f.op)) {
      const v = normalizeDateTime(f.value);
      if (v === undefined) continue;
      if (f.op === 'gt' || f.op === 'ge') where.atAfter = { value: v, inclusive: f.op === 'ge' };
      else where.atBefore = { value: v, inclusive: f.op === 'le' };
    }
  }
  return where;
}

const encode = (seq: number) => Buffer.from(JSON.stringify([seq])).toString('base64url');
function decode(cursor: string): number {
  if (cursor === '') return 0;
  try {
    const v = JSON.parse(Buffer.from(cursor, 'base64url').toString()) as unknown;
    if (Array.isArray(v) && Number.isSafeInteger(v[0])) return v[0] as number;
  } catch {
    // fall through
  }
  throw invalidCursor(`cursor "${cursor.slice(0, 100)}" is not valid for /AuditEvents; start again with an empty cursor`);
}

export interface AuditListRequest {
  filter?: Filter;
  sorted: boolean;
  startIndex: number;
  count: number;
  cursor?: string;
}

export async function listAuditEvents(
  store: Store,
  registry: SchemaRegistry,
  q: AuditListRequest,
  baseUrl: string,
): Promise<{ items: Json[]; total?: number; nextCursor?: string }> {
  if (q.sorted) throw invalidValue('AuditEvents come in log order (seq); sortBy is not supported');
  const match = predicate(registry, q.filter);
  const where = auditPushdown(registry, q.filter);
  const items: Json[] = [];
  if (q.cursor !== undefined) {
    let after = decode(q.cursor);
    for (;;) {
      const page = await store.auditEvents(after, PAGE, where);
      for (const e of page) {
        const r = renderAuditEvent(e, baseUrl);
        if (!match(r)) continue;
        if (items.length === q.count) return { items, nextCursor: encode(items[items.length - 1]!.seq as number) };
        items.push(r);
      }
      if (page.length < PAGE) return { items };
      after = page[page.length - 1]!.seq;
    }
  }
  let total = 0;
  let after = 0;
  for (;;) {
    const page = await store.auditEvents(after, PAGE, where);
    for (const e of page) {
      const r = renderAuditEvent(e, baseUrl);
      if (!match(r)) continue;
      total++;
      if (total >= q.startIndex && items.length < q.count) items.push(r);
    }
    if (page.length < PAGE) return { items, total };
    after = page[page.length - 1]!.seq;
  }
}

/** One event by its id (UUID) or its seq. */
export async function getAuditEvent(store: Store, idOrSeq: string, baseUrl: string): Promise<Json> {
  if (/^[0-9]{1,15}$/.test(idOrSeq)) {
    const [e] = await store.auditEvents(Number(idOrSeq) - 1, 1);
    if (e && e.seq === Number(idOrSeq)) return renderAuditEvent(e, baseUrl);
  } else {
    let after = 0;
    for (;;) {
      const page = await store.auditEvents(after, PAGE);
      const hit = page.find((e) => e.id === idOrSeq);
      if (hit) return renderAuditEvent(hit, baseUrl);
      if (page.length < PAGE) break;
      after = page[page.length - 1]!.seq;
    }
  }
  throw notFound(`AuditEvent "${idOrSeq}" not found`);
}
