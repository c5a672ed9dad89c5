// The audit log as a read-only SCIM resource type (R18): GET /AuditEvents with filters (by agent:
// resourceId, by actor: actor.client / actor.userId, by time: at, by action) and paging, and
// GET /AuditEvents/{id or seq}. The store exposes the log only in order (auditEvents(after, limit)),
// so filters are evaluated here on each page of events with the same evaluator PATCH uses: correct,
// but a scan of the log. Cursor paging stops as soon as a page is full; index paging counts all
// matches for totalResults. (A filtered store query is the requested follow-up.)

import { compileFilter } from '../../scim/filter/evaluate.js';
import { invalidValue, notFound } from '../../scim/errors.js';
import { invalidCursor } from '../../scim/errors.js';
import type { SchemaRegistry } from '../../scim/registry.js';
import type { Filter } from '../../scim/filter/ast.js';
import type { AuditEvent, Json, Store } from '../../store/types.js';

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
  const items: Json[] = [];
  if (q.cursor !== undefined) {
    let after = decode(q.cursor);
    for (;;) {
      const page = await store.auditEvents(after, PAGE);
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
    const page = await store.auditEvents(after, PAGE);
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
