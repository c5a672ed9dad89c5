/**
 * Applications for fallback mapping A (application + service principal), including the
 * `uniqueName` upsert: PATCH /applications(uniqueName='…') with `Prefer: create-if-missing`
 * → 201 when created, 204 when updated, 404 without the header (application-upsert.md).
 */
import { randomUUID } from 'node:crypto';
import { badRequest, notFound, objectConflict, type GraphResponse } from '../errors.js';
import { parseSelect, project, runList, type ListSpec } from '../odata.js';
import { PERMISSIONS, requirePermission } from '../permissions.js';
import { APP_KINDS, applicationData, normaliseAppRole, type AppRole, type DirectoryObject } from '../store.js';
import {
  addressed,
  bodyObject,
  collection,
  collectionUrl,
  directoryObjects,
  entity,
  json,
  noContent,
  optionalStringArray,
  referenced,
  refId,
  rejectUnknown,
  requireString,
  route,
  type OpContext,
  type Route,
} from './common.js';

const APP_SPEC: ListSpec = {
  type: 'application',
  filterable: {
    id: ['eq', 'in'],
    appId: ['eq', 'in'],
    displayName: ['eq', 'startswith', 'in'],
    uniqueName: ['eq', 'in'],
    'tags/any': ['eq', 'startswith'],
    'identifierUris/any': ['eq', 'startswith'],
  },
  maxPageSize: 999,
};

const APP_WRITABLE = ['displayName', 'uniqueName', 'tags', 'appRoles', 'description', 'notes', 'signInAudience', 'identifierUris', 'api', 'web', 'requiredResourceAccess'];

function validateAppBody(ctx: OpContext, body: Record<string, unknown>, self?: DirectoryObject): Record<string, unknown> {
  rejectUnknown(body, APP_WRITABLE, 'application');
  const patch: Record<string, unknown> = { ...body };
  if ('tags' in body) optionalStringArray(body, 'tags', 'Application');
  if ('uniqueName' in body) {
    const u = body['uniqueName'];
    if (self && self.data['uniqueName'] && u !== self.data['uniqueName']) throw badRequest("Property 'uniqueName' is immutable once set.");
    if (typeof u !== 'string' || u === '') throw badRequest("Invalid value specified for property 'uniqueName' of resource 'Application'.");
    const clash = ctx.env.store.findByProperty(APP_KINDS, 'uniqueName', u, true);
    if (clash && clash !== self) throw objectConflict('uniqueName');
  }
  if ('appRoles' in body) {
    if (!Array.isArray(body['appRoles'])) throw badRequest("Invalid value specified for property 'appRoles' of resource 'Application'.");
    patch['appRoles'] = (body['appRoles'] as Array<Partial<AppRole> & { value: string }>).map(normaliseAppRole);
  }
  return patch;
}

function createApplication(ctx: OpContext, extra: Record<string, unknown> = {}): DirectoryObject {
  const body = { ...bodyObject(ctx), ...extra };
  const displayName = requireString(body, 'displayName', 'Application');
  const patch = validateAppBody(ctx, body);
  return ctx.env.store.create('application', { ...applicationData(randomUUID(), displayName, []), ...patch });
}

function created(ctx: OpContext, obj: DirectoryObject): GraphResponse {
  return entity(ctx, 'applications/$entity', ctx.env.store.render(obj), 201, {
    location: `${ctx.env.graphUrl}/${ctx.version}/applications/${obj.id}`,
  });
}

function byKey(ctx: OpContext, prop: 'appId' | 'uniqueName', value: string): DirectoryObject | undefined {
  const obj = ctx.env.store.findByProperty(APP_KINDS, prop, decodeURIComponent(value));
  return obj && !ctx.env.store.isLagging(obj) ? obj : undefined;
}

function getApp(ctx: OpContext, obj: DirectoryObject | undefined, key: string): GraphResponse {
  requirePermission(ctx.claims.roles, PERMISSIONS.appRead);
  if (!obj) throw notFound(key);
  return entity(ctx, 'applications/$entity', project(ctx.env.store.render(obj), parseSelect(ctx.query), APP_SPEC));
}

function patchApp(ctx: OpContext, obj: DirectoryObject | undefined, key: string): GraphResponse {
  requirePermission(ctx.claims.roles, PERMISSIONS.appWrite);
  if (!obj) throw notFound(key);
  ctx.env.store.update(obj, validateAppBody(ctx, bodyObject(ctx), obj));
  return noContent();
}

function upsertByUniqueName(ctx: OpContext, uniqueName: string): GraphResponse {
  requirePermission(ctx.claims.roles, PERMISSIONS.appWrite);
  const name = decodeURIComponent(uniqueName);
  const existing = ctx.env.store.findByProperty(APP_KINDS, 'uniqueName', name);
  if (existing && !ctx.env.store.isLagging(existing)) return patchApp(ctx, existing, name);
  const prefer = (ctx.headers['prefer'] ?? '').toLowerCase();
  if (!prefer.split(',').map((s) => s.trim()).includes('create-if-missing')) throw notFound(name);
  if (existing) throw objectConflict('uniqueName'); // still replicating: the create collides
  return created(ctx, createApplication(ctx, { uniqueName: name }));
}

function owners(ctx: OpContext, id: string): GraphResponse {
  requirePermission(ctx.claims.roles, PERMISSIONS.appRead);
  const app = addressed(ctx, id, APP_KINDS);
  const objs = [...(ctx.env.store.owners.get(app.id) ?? [])].flatMap((o) => ctx.env.store.live(o) ?? []);
  return json(200, { '@odata.context': `${ctx.env.graphUrl}/${ctx.version}/$metadata#directoryObjects`, value: directoryObjects(ctx, objs) });
}

function addOwner(ctx: OpContext, id: string): GraphResponse {
  requirePermission(ctx.claims.roles, PERMISSIONS.appWrite);
  const app = addressed(ctx, id, APP_KINDS);
  const owner = referenced(ctx, refId(bodyObject(ctx)['@odata.id']));
  if (!['user', 'servicePrincipal'].includes(owner.kind)) throw badRequest(`Invalid object identifier '${owner.id}'.`);
  const set = ctx.env.store.owners.get(app.id) ?? new Set<string>();
  if (set.has(owner.id)) throw badRequest("One or more added object references already exist for the following modified properties: 'owners'.");
  set.add(owner.id);
  ctx.env.store.owners.set(app.id, set);
  return noContent();
}

function removeOwner(ctx: OpContext, id: string, ownerRaw: string): GraphResponse {
  requirePermission(ctx.claims.roles, PERMISSIONS.appWrite);
  const app = addressed(ctx, id, APP_KINDS);
  const ownerId = decodeURIComponent(ownerRaw).toLowerCase();
  if (!ctx.env.store.owners.get(app.id)?.delete(ownerId)) {
    if (!ctx.env.store.live(ownerId)) throw notFound(ownerId);
    throw badRequest("One or more removed object references do not exist for the following modified properties: 'owners'.");
  }
  return noContent();
}

export const applicationRoutes: Route[] = [
  route('POST', '/applications', (ctx) => {
    requirePermission(ctx.claims.roles, PERMISSIONS.appWrite);
    return created(ctx, createApplication(ctx));
  }),
  route('GET', '/applications', (ctx) => {
    requirePermission(ctx.claims.roles, PERMISSIONS.appRead);
    const { store } = ctx.env;
    const items = store
      .liveOfKinds(APP_KINDS)
      .filter((o) => store.isIndexed(o))
      .map((o) => store.render(o));
    return collection(ctx, 'applications', runList(items, { query: ctx.query, headers: ctx.headers, collectionUrl: collectionUrl(ctx), signer: ctx.env.signer }, APP_SPEC));
  }),
  route('GET', "/applications(appId='{key}')", (ctx, [k]) => getApp(ctx, byKey(ctx, 'appId', k as string), k as string)),
  route('PATCH', "/applications(appId='{key}')", (ctx, [k]) => patchApp(ctx, byKey(ctx, 'appId', k as string), k as string)),
  route('GET', "/applications(uniqueName='{key}')", (ctx, [k]) => getApp(ctx, byKey(ctx, 'uniqueName', k as string), k as string)),
  route('PATCH', "/applications(uniqueName='{key}')", (ctx, [k]) => upsertByUniqueName(ctx, k as string)),
  route('GET', '/applications/{id}', (ctx, [id]) => getApp(ctx, addressed(ctx, id as string, APP_KINDS), id as string)),
  route('PATCH', '/applications/{id}', (ctx, [id]) => patchApp(ctx, addressed(ctx, id as string, APP_KINDS), id as string)),
  route('DELETE', '/applications/{id}', (ctx, [id]) => {
    requirePermission(ctx.claims.roles, PERMISSIONS.appWrite);
    ctx.env.store.softDelete(addressed(ctx, id as string, APP_KINDS));
    return noContent();
  }),
  route('GET', '/applications/{id}/owners', (ctx, [id]) => owners(ctx, id as string)),
  route('POST', '/applications/{id}/owners/$ref', (ctx, [id]) => addOwner(ctx, id as string)),
  route('DELETE', '/applications/{id}/owners/{id}/$ref', (ctx, [id, oid]) => removeOwner(ctx, id as string, oid as string)),
];
