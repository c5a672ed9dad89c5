/**
 * `directory/deletedItems` (soft-deleted objects: list by type cast, get, restore, permanent delete)
 * and `directoryObjects/{id}`.
 * Facts: directory-deleteditems-{list,get,restore,delete}.md; agent identities are restorable for
 * 30 days (reference/entra.md §1.2); the FAQ says deletedItems can't filter by subtype.
 */
import { badRequest, notFound, type GraphResponse } from '../errors.js';
import { runList, type ListSpec } from '../odata.js';
import { hasPermission, PERMISSIONS, requirePermission, type Requirement } from '../permissions.js';
import { APP_KINDS, SP_KINDS, USER_KINDS, type DirectoryObject, type ObjectKind } from '../store.js';
import { collection, collectionUrl, directoryObjects, entity, noContent, route, type OpContext, type Route } from './common.js';

const CASTS: Record<string, readonly ObjectKind[]> = {
  'microsoft.graph.serviceprincipal': SP_KINDS,
  'microsoft.graph.agentidentity': ['agentIdentity'],
  'microsoft.graph.application': APP_KINDS,
  'microsoft.graph.user': USER_KINDS,
  'microsoft.graph.group': ['group'],
};

function readPermission(kind: ObjectKind): Requirement[] {
  if (kind === 'agentIdentity') return [PERMISSIONS.agentGet, PERMISSIONS.agentDelete, PERMISSIONS.spRead];
  if (SP_KINDS.includes(kind)) return [PERMISSIONS.spRead];
  if (APP_KINDS.includes(kind)) return [PERMISSIONS.appRead];
  if (USER_KINDS.includes(kind)) return [PERMISSIONS.userRead];
  return [PERMISSIONS.groupRead];
}

function writePermission(kind: ObjectKind): Requirement[] {
  if (kind === 'agentIdentity') return [PERMISSIONS.agentDelete, PERMISSIONS.spWrite];
  if (SP_KINDS.includes(kind)) return [PERMISSIONS.spWrite];
  if (APP_KINDS.includes(kind)) return [PERMISSIONS.appWrite];
  if (USER_KINDS.includes(kind)) return [PERMISSIONS.userWrite];
  return [PERMISSIONS.groupMemberWrite];
}

function deletedItem(ctx: OpContext, id: string): DirectoryObject {
  const obj = ctx.env.store.deleted(decodeURIComponent(id));
  if (!obj) throw notFound(id);
  return obj;
}

function listDeleted(ctx: OpContext, cast: string): GraphResponse {
  const kinds = CASTS[cast.toLowerCase()];
  if (!kinds) throw badRequest(`Resource not found for the segment '${cast}'.`);
  const first = kinds[0] as ObjectKind;
  requirePermission(ctx.claims.roles, ...readPermission(first));
  const objs = [...ctx.env.store.objects.values()]
    .filter((o) => o.deletedDateTime && kinds.includes(o.kind))
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  const spec: ListSpec = { type: cast.replace(/^microsoft\.graph\./i, ''), filterable: { id: ['eq', 'in'], displayName: ['eq', 'startswith'] }, maxPageSize: 999 };
  const items = directoryObjects(ctx, objs);
  return collection(ctx, 'directoryObjects', runList(items, { query: ctx.query, headers: ctx.headers, collectionUrl: collectionUrl(ctx), signer: ctx.env.signer }, spec));
}

export const directoryRoutes: Route[] = [
  route('GET', '/directory/deletedItems', () => {
    throw badRequest("A type cast is required: use /directory/deletedItems/microsoft.graph.{user|group|application|servicePrincipal}.");
  }),
  route('GET', '/directory/deletedItems/{id}', (ctx, [seg]) => {
    if (/^microsoft\.graph\./i.test(seg as string)) return listDeleted(ctx, seg as string);
    const obj = deletedItem(ctx, seg as string);
    requirePermission(ctx.claims.roles, ...readPermission(obj.kind));
    return entity(ctx, 'directoryObjects/$entity', directoryObjects(ctx, [obj])[0] ?? {});
  }),
  route('POST', '/directory/deletedItems/{id}/restore', (ctx, [id]) => {
    const obj = deletedItem(ctx, id as string);
    requirePermission(ctx.claims.roles, ...writePermission(obj.kind));
    ctx.env.store.restore(obj);
    return entity(ctx, 'directoryObjects/$entity', directoryObjects(ctx, [obj])[0] ?? {});
  }),
  route('DELETE', '/directory/deletedItems/{id}', (ctx, [id]) => {
    const obj = deletedItem(ctx, id as string);
    requirePermission(ctx.claims.roles, ...writePermission(obj.kind));
    ctx.env.store.hardDelete(obj);
    return noContent();
  }),
  route('GET', '/directoryObjects/{id}', (ctx, [id]) => {
    const obj = ctx.env.store.live(decodeURIComponent(id as string));
    if (!obj || ctx.env.store.isLagging(obj)) throw notFound(id as string);
    if (!hasPermission(ctx.claims.roles, PERMISSIONS.directoryRead)) requirePermission(ctx.claims.roles, ...readPermission(obj.kind));
    return entity(ctx, 'directoryObjects/$entity', directoryObjects(ctx, [obj])[0] ?? {});
  }),
];
