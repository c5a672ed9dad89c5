/**
 * Service principals (all subtypes): CRUD for the fallback mapping, `servicePrincipals/delta`,
 * app role assignments (`appRoleAssignedTo`, `appRoleAssignments`) and `memberOf`.
 * Facts: serviceprincipal-delta.md, delta-query-overview.md, serviceprincipal-post-approleassignedto.md,
 * reference/entra.md §1.5, §2.3.
 */
import { badRequest, GraphError, notFound, unsupportedQuery, type GraphResponse } from '../errors.js';
import { parseFilter, parseSelect, project, runList, type FilterNode, type ListSpec } from '../odata.js';
import { hasPermission, PERMISSIONS, requirePermission } from '../permissions.js';
import { newAssignmentId, SP_KINDS, nowIso, type DirectoryObject } from '../store.js';
import { createAgentIdentity, deleteAgentIdentity, getAgentIdentity, patchAgentIdentity } from './agent-identities.js';
import {
  addressed,
  bodyObject,
  collection,
  collectionUrl,
  directoryObjects,
  entity,
  json,
  noContent,
  optionalBoolean,
  optionalStringArray,
  principalType,
  referenced,
  rejectUnknown,
  requireString,
  route,
  type OpContext,
  type Route,
} from './common.js';

const SP_SPEC: ListSpec = {
  type: 'servicePrincipal',
  filterable: {
    id: ['eq', 'in'],
    appId: ['eq', 'in'],
    displayName: ['eq', 'startswith', 'in'],
    accountEnabled: ['eq'],
    servicePrincipalType: ['eq'],
    'tags/any': ['eq', 'startswith'],
    'servicePrincipalNames/any': ['eq', 'startswith'],
  },
  maxPageSize: 999,
  selectOnly: ['customSecurityAttributes'],
};

const SP_WRITABLE = ['accountEnabled', 'displayName', 'tags', 'appRoleAssignmentRequired', 'description', 'notes', 'notificationEmailAddresses', 'homepage', 'loginUrl'];

// ------------------------------------------------------------------ CRUD

function createServicePrincipal(ctx: OpContext): GraphResponse {
  const body = bodyObject(ctx);
  if (typeof body['@odata.type'] === 'string' && /agentIdentity$/i.test(body['@odata.type'])) {
    const { ['@odata.type']: _ignored, ...rest } = body;
    return createAgentIdentity({ ...ctx, body: rest });
  }
  requirePermission(ctx.claims.roles, PERMISSIONS.spWrite);
  rejectUnknown(body, ['appId', ...SP_WRITABLE], 'servicePrincipal');
  const appId = requireString(body, 'appId', 'ServicePrincipal').toLowerCase();
  const { store } = ctx.env;
  const app = store.appByAppId(appId);
  if (!app || store.isLagging(app)) {
    throw badRequest(`The appId '${appId}' of the service principal does not reference a valid application object.`);
  }
  if (app.kind === 'agentIdentityBlueprint') {
    throw new GraphError(400, 'AgentBlueprintPrincipal_IncompatibleProperty', 'Use POST /servicePrincipals/microsoft.graph.agentIdentityBlueprintPrincipal to create a blueprint principal.');
  }
  if (store.findByProperty(SP_KINDS, 'appId', appId, true)) {
    throw new GraphError(409, 'Request_MultipleObjectsWithSameKeyValue', `The service principal cannot be created, updated, or restored because the service principal name ${appId} is already in use.`);
  }
  const obj = store.create('servicePrincipal', {
    accountEnabled: optionalBoolean(body, 'accountEnabled', 'ServicePrincipal') ?? true,
    appDisplayName: app.data['displayName'],
    appId,
    appOwnerOrganizationId: store.tenantId,
    appRoleAssignmentRequired: optionalBoolean(body, 'appRoleAssignmentRequired', 'ServicePrincipal') ?? false,
    appRoles: app.data['appRoles'] ?? [],
    description: body['description'] ?? null,
    displayName: typeof body['displayName'] === 'string' ? body['displayName'] : app.data['displayName'],
    notes: body['notes'] ?? null,
    servicePrincipalNames: [appId],
    servicePrincipalType: 'Application',
    tags: optionalStringArray(body, 'tags', 'ServicePrincipal') ?? [],
  });
  return entity(ctx, 'servicePrincipals/$entity', store.render(obj), 201, {
    location: `${ctx.env.graphUrl}/${ctx.version}/servicePrincipals/${obj.id}`,
  });
}

function listServicePrincipals(ctx: OpContext): GraphResponse {
  requirePermission(ctx.claims.roles, PERMISSIONS.spRead);
  const { store } = ctx.env;
  const items = store
    .liveOfKinds(SP_KINDS)
    .filter((o) => store.isIndexed(o))
    .map((o) => store.render(o));
  const result = runList(items, { query: ctx.query, headers: ctx.headers, collectionUrl: collectionUrl(ctx), signer: ctx.env.signer }, SP_SPEC);
  return collection(ctx, 'servicePrincipals', result);
}

function spByAppId(ctx: OpContext, appId: string): DirectoryObject {
  const obj = ctx.env.store.findByProperty(SP_KINDS, 'appId', decodeURIComponent(appId));
  if (!obj || ctx.env.store.isLagging(obj)) throw notFound(appId);
  return obj;
}

function getServicePrincipal(ctx: OpContext, obj: DirectoryObject): GraphResponse {
  if (obj.kind === 'agentIdentity' && !hasPermission(ctx.claims.roles, PERMISSIONS.spRead)) return getAgentIdentity(ctx, obj.id);
  requirePermission(ctx.claims.roles, PERMISSIONS.spRead);
  return entity(ctx, 'servicePrincipals/$entity', project(ctx.env.store.render(obj), parseSelect(ctx.query), SP_SPEC));
}

function patchServicePrincipal(ctx: OpContext, obj: DirectoryObject): GraphResponse {
  if (obj.kind === 'agentIdentity' && !hasPermission(ctx.claims.roles, PERMISSIONS.spWrite)) return patchAgentIdentity(ctx, obj.id);
  requirePermission(ctx.claims.roles, PERMISSIONS.spWrite);
  const body = bodyObject(ctx);
  rejectUnknown(body, obj.kind === 'agentIdentity' ? [...SP_WRITABLE, 'customSecurityAttributes'] : SP_WRITABLE, 'servicePrincipal');
  if ('customSecurityAttributes' in body) requirePermission(ctx.claims.roles, PERMISSIONS.customSecurityAttributes);
  optionalBoolean(body, 'accountEnabled', 'ServicePrincipal');
  optionalStringArray(body, 'tags', 'ServicePrincipal');
  ctx.env.store.update(obj, body);
  return noContent();
}

function deleteServicePrincipal(ctx: OpContext, obj: DirectoryObject): GraphResponse {
  if (obj.kind === 'agentIdentity' && !hasPermission(ctx.claims.roles, PERMISSIONS.spWrite)) return deleteAgentIdentity(ctx, obj.id);
  requirePermission(ctx.claims.roles, PERMISSIONS.spWrite);
  ctx.env.store.softDelete(obj);
  return noContent();
}

// ------------------------------------------------------------------ delta

interface DeltaState {
  /** changes with from < seq <= to belong to this round; initial rounds list live objects instead */
  from: number;
  to: number;
  initial: boolean;
  /** initial rounds: last id served; incremental rounds: index into the change list */
  after?: string;
  off?: number;
  sel?: string[];
  ids?: string[];
  gen: number;
  iat: number;
}

const syncStateNotFound = (): GraphError =>
  new GraphError(400, 'syncStateNotFound', 'The sync state generation is not found. The delta token is expired and data must be synchronized again.');

/** learn.microsoft.com/graph/errors: 410 Gone, resyncRequired — the app must reset its sync state (our wording). */
const resyncRequired = (): GraphError =>
  new GraphError(410, 'resyncRequired', 'Resync required: the delta token is no longer valid. Replace local items with a full synchronization.');

function deltaIdFilter(raw: string | null): string[] | undefined {
  if (raw === null) return undefined;
  const ids: string[] = [];
  const walk = (n: FilterNode): void => {
    if (n.t === 'or') {
      walk(n.l);
      walk(n.r);
    } else if (n.t === 'cmp' && n.op === 'eq' && n.path === 'id' && typeof n.value === 'string') {
      ids.push(n.value.toLowerCase());
    } else {
      throw unsupportedQuery("The only supported $filter expression for delta is 'id eq {value}' (optionally or-ed).");
    }
  };
  walk(parseFilter(raw));
  return ids;
}

function delta(ctx: OpContext): GraphResponse {
  requirePermission(ctx.claims.roles, PERMISSIONS.spDelta);
  const { store, signer } = ctx.env;
  const now = store.clock();
  // the change feed lags behind writes by indexLagMs
  const visibleSeq = (): number => {
    let s = 0;
    for (const c of store.changes) if (now - c.atMs >= store.config.indexLagMs) s = c.seq;
    return s;
  };
  const rawDelta = ctx.query.get('$deltatoken') ?? ctx.query.get('$deltaToken');
  const rawSkip = ctx.query.get('$skiptoken') ?? ctx.query.get('$skipToken');
  let state: DeltaState;
  if (rawDelta === 'latest') {
    state = { from: visibleSeq(), to: visibleSeq(), initial: false, off: 0, gen: store.deltaGeneration, iat: now, sel: parseSelect(ctx.query), ids: deltaIdFilter(ctx.query.get('$filter')) };
    return deltaPage(ctx, state, []);
  }
  const raw = rawDelta ?? rawSkip;
  if (raw !== null) {
    const tok = signer.verify<DeltaState>(raw);
    if (tok && tok.gen !== store.deltaGeneration && store.deltaInvalidStatus === 410) throw resyncRequired();
    if (!tok || tok.gen !== store.deltaGeneration || now - tok.iat > store.config.deltaTokenTtlMs) throw syncStateNotFound();
    state = tok;
    if (rawDelta !== null) {
      // a new round from the deltaLink's position
      const to = visibleSeq();
      state = { ...tok, from: tok.from, to, initial: false, off: 0, after: undefined, iat: now };
    }
  } else {
    const to = visibleSeq();
    state = { from: 0, to, initial: true, gen: store.deltaGeneration, iat: now, sel: parseSelect(ctx.query), ids: deltaIdFilter(ctx.query.get('$filter')) };
  }
  return deltaPage(ctx, state, undefined);
}

function renderDeltaItem(ctx: OpContext, id: string, sel: string[] | undefined): Record<string, unknown> {
  const { store } = ctx.env;
  const obj = store.objects.get(id);
  if (!obj) return { id, '@removed': { reason: 'deleted' } };
  if (obj.deletedDateTime) {
    const out: Record<string, unknown> = { id, '@removed': { reason: 'changed' } };
    if (obj.kind !== 'servicePrincipal') out['@odata.type'] = store.render(obj)['@odata.type'];
    return out;
  }
  const full = store.render(obj);
  delete full['customSecurityAttributes'];
  if (!sel) return full;
  const out: Record<string, unknown> = { id: obj.id };
  if (full['@odata.type']) out['@odata.type'] = full['@odata.type'];
  for (const p of sel) if (p in full) out[p] = full[p];
  return out;
}

function deltaPage(ctx: OpContext, state: DeltaState, fixed: Array<Record<string, unknown>> | undefined): GraphResponse {
  const { store, signer } = ctx.env;
  const pageSize = store.config.deltaPageSize;
  let value: Array<Record<string, unknown>> = fixed ?? [];
  let next: DeltaState | undefined;
  if (!fixed) {
    if (state.initial) {
      let live = store.liveOfKinds(SP_KINDS).filter((o) => store.isIndexed(o));
      if (state.ids) live = live.filter((o) => state.ids?.includes(o.id));
      if (state.after) live = live.filter((o) => o.id > (state.after as string));
      const page = live.slice(0, pageSize);
      value = page.map((o) => renderDeltaItem(ctx, o.id, state.sel));
      if (live.length > pageSize) next = { ...state, after: page[page.length - 1]?.id };
    } else {
      const seen = new Set<string>();
      const ids: string[] = [];
      for (const c of store.changes) {
        if (c.seq > state.from && c.seq <= state.to && !seen.has(c.id)) {
          seen.add(c.id);
          if (!state.ids || state.ids.includes(c.id)) ids.push(c.id);
        }
      }
      const off = state.off ?? 0;
      value = ids.slice(off, off + pageSize).map((id) => renderDeltaItem(ctx, id, state.sel));
      if (off + pageSize < ids.length) next = { ...state, off: off + pageSize };
    }
  }
  const base = `${ctx.env.graphUrl}/${ctx.version}/servicePrincipals/delta`;
  const body: Record<string, unknown> = { '@odata.context': `${ctx.env.graphUrl}/${ctx.version}/$metadata#servicePrincipals` };
  if (next) {
    body['@odata.nextLink'] = `${base}?$skiptoken=${signer.sign(next)}`;
  } else {
    const done: DeltaState = { from: state.to, to: state.to, initial: false, off: 0, sel: state.sel, ids: state.ids, gen: state.gen, iat: store.clock() };
    body['@odata.deltaLink'] = `${base}?$deltatoken=${signer.sign(done)}`;
  }
  body['value'] = value;
  return json(200, body);
}

// ------------------------------------------------------------------ app role assignments

function assignmentJson(ctx: OpContext, a: { id: string; appRoleId: string; principalId: string; resourceId: string; createdDateTime: string }): Record<string, unknown> {
  const { store } = ctx.env;
  const principal = store.objects.get(a.principalId);
  const resource = store.objects.get(a.resourceId);
  return {
    id: a.id,
    deletedDateTime: null,
    appRoleId: a.appRoleId,
    createdDateTime: a.createdDateTime,
    principalDisplayName: principal?.data['displayName'] ?? null,
    principalId: a.principalId,
    principalType: principal ? principalType(principal) : null,
    resourceDisplayName: resource?.data['displayName'] ?? null,
    resourceId: a.resourceId,
  };
}

const DEFAULT_ACCESS_ROLE = '00000000-0000-0000-0000-000000000000';

function createAssignment(ctx: OpContext, pathObj: DirectoryObject, pathIs: 'resource' | 'principal'): GraphResponse {
  requirePermission(ctx.claims.roles, PERMISSIONS.appRoleAssignmentWrite);
  const body = bodyObject(ctx);
  rejectUnknown(body, ['principalId', 'resourceId', 'appRoleId'], 'appRoleAssignment');
  const principalId = requireString(body, 'principalId', 'AppRoleAssignment').toLowerCase();
  const resourceId = requireString(body, 'resourceId', 'AppRoleAssignment').toLowerCase();
  const appRoleId = requireString(body, 'appRoleId', 'AppRoleAssignment').toLowerCase();
  if (pathIs === 'resource' && resourceId !== pathObj.id) throw badRequest("Invalid value specified for property 'resourceId' of resource 'AppRoleAssignment'.");
  if (pathIs === 'principal' && principalId !== pathObj.id) throw badRequest("Invalid value specified for property 'principalId' of resource 'AppRoleAssignment'.");
  const principal = pathIs === 'principal' ? pathObj : referenced(ctx, principalId);
  const resource = pathIs === 'resource' ? pathObj : referenced(ctx, resourceId);
  if (!SP_KINDS.includes(resource.kind)) throw notFound(resourceId);
  const pType = principalType(principal);
  const memberType = pType === 'ServicePrincipal' ? 'Application' : 'User';
  const roles = (resource.data['appRoles'] as Array<{ id: string; isEnabled: boolean; allowedMemberTypes: string[] }> | undefined) ?? [];
  const role = roles.find((r) => r.id.toLowerCase() === appRoleId);
  const ok = role ? role.isEnabled && role.allowedMemberTypes.includes(memberType) : appRoleId === DEFAULT_ACCESS_ROLE && memberType === 'User';
  if (!ok) throw badRequest(`Permission being assigned was not found on application '${String(resource.data['appId'])}'.`);
  const store = ctx.env.store;
  for (const a of store.assignments.values()) {
    if (a.principalId === principal.id && a.resourceId === resource.id && a.appRoleId === appRoleId) {
      throw badRequest('Permission being assigned already exists on the object');
    }
  }
  const a = { id: newAssignmentId(), appRoleId, principalId: principal.id, resourceId: resource.id, createdDateTime: nowIso(store.clock()) };
  store.assignments.set(a.id, a);
  const fragment = pathIs === 'resource' ? `servicePrincipals('${resource.id}')/appRoleAssignedTo/$entity` : `servicePrincipals('${principal.id}')/appRoleAssignments/$entity`;
  return entity(ctx, fragment, assignmentJson(ctx, a), 201);
}

function listAssignments(ctx: OpContext, obj: DirectoryObject, side: 'resourceId' | 'principalId', fragment: string): GraphResponse {
  requirePermission(ctx.claims.roles, PERMISSIONS.appRoleAssignmentRead);
  const store = ctx.env.store;
  const items = [...store.assignments.values()]
    .filter((a) => a[side] === obj.id && store.live(side === 'resourceId' ? a.principalId : a.resourceId))
    .sort((x, y) => (x.id < y.id ? -1 : 1))
    .map((a) => assignmentJson(ctx, a));
  const spec: ListSpec = { type: 'appRoleAssignment', filterable: { principalId: ['eq'], resourceId: ['eq'], appRoleId: ['eq'] }, maxPageSize: 999 };
  return collection(ctx, fragment, runList(items, { query: ctx.query, headers: ctx.headers, collectionUrl: collectionUrl(ctx), signer: ctx.env.signer }, spec));
}

function deleteAssignment(ctx: OpContext, obj: DirectoryObject, side: 'resourceId' | 'principalId', assignmentId: string): GraphResponse {
  requirePermission(ctx.claims.roles, PERMISSIONS.appRoleAssignmentWrite);
  const a = ctx.env.store.assignments.get(decodeURIComponent(assignmentId));
  if (!a || a[side] !== obj.id) throw notFound(assignmentId);
  ctx.env.store.assignments.delete(a.id);
  return noContent();
}

// ------------------------------------------------------------------ memberOf

export function memberOf(ctx: OpContext, obj: DirectoryObject): GraphResponse {
  const { store } = ctx.env;
  const groups = [...store.members.entries()]
    .filter(([, set]) => set.has(obj.id))
    .flatMap(([gid]) => store.live(gid) ?? [])
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  const items = directoryObjects(ctx, groups);
  const spec: ListSpec = { type: 'directoryObject', filterable: { id: ['eq', 'in'], displayName: ['eq', 'startswith'] }, maxPageSize: 999 };
  return collection(ctx, 'directoryObjects', runList(items, { query: ctx.query, headers: ctx.headers, collectionUrl: collectionUrl(ctx), signer: ctx.env.signer }, spec));
}

const sp = (ctx: OpContext, id: string): DirectoryObject => addressed(ctx, id, SP_KINDS);

export const servicePrincipalRoutes: Route[] = [
  route('GET', '/servicePrincipals/delta', (ctx) => delta(ctx)),
  route('GET', '/servicePrincipals/microsoft.graph.delta()', (ctx) => delta(ctx)),
  route('POST', '/servicePrincipals', (ctx) => createServicePrincipal(ctx)),
  route('GET', '/servicePrincipals', (ctx) => listServicePrincipals(ctx)),
  route('GET', "/servicePrincipals(appId='{key}')", (ctx, [appId]) => getServicePrincipal(ctx, spByAppId(ctx, appId as string))),
  route('PATCH', "/servicePrincipals(appId='{key}')", (ctx, [appId]) => patchServicePrincipal(ctx, spByAppId(ctx, appId as string))),
  route('GET', '/servicePrincipals/{id}', (ctx, [id]) => getServicePrincipal(ctx, sp(ctx, id as string))),
  route('PATCH', '/servicePrincipals/{id}', (ctx, [id]) => patchServicePrincipal(ctx, sp(ctx, id as string))),
  route('DELETE', '/servicePrincipals/{id}', (ctx, [id]) => deleteServicePrincipal(ctx, sp(ctx, id as string))),
  route('GET', '/servicePrincipals/{id}/appRoleAssignedTo', (ctx, [id]) =>
    listAssignments(ctx, sp(ctx, id as string), 'resourceId', `servicePrincipals('${id}')/appRoleAssignedTo`),
  ),
  route('POST', '/servicePrincipals/{id}/appRoleAssignedTo', (ctx, [id]) => createAssignment(ctx, sp(ctx, id as string), 'resource')),
  route('DELETE', '/servicePrincipals/{id}/appRoleAssignedTo/{id}', (ctx, [id, aid]) => deleteAssignment(ctx, sp(ctx, id as string), 'resourceId', aid as string)),
  route('GET', '/servicePrincipals/{id}/appRoleAssignments', (ctx, [id]) =>
    listAssignments(ctx, sp(ctx, id as string), 'principalId', `servicePrincipals('${id}')/appRoleAssignments`),
  ),
  route('POST', '/servicePrincipals/{id}/appRoleAssignments', (ctx, [id]) => createAssignment(ctx, sp(ctx, id as string), 'principal')),
  route('DELETE', '/servicePrincipals/{id}/appRoleAssignments/{id}', (ctx, [id, aid]) => deleteAssignment(ctx, sp(ctx, id as string), 'principalId', aid as string)),
  route('GET', '/servicePrincipals/{id}/memberOf', (ctx, [id]) => {
    const obj = sp(ctx, id as string);
    if (!hasPermission(ctx.claims.roles, PERMISSIONS.spRead) && !(obj.kind === 'agentIdentity' && hasPermission(ctx.claims.roles, PERMISSIONS.agentGet))) {
      requirePermission(ctx.claims.roles, PERMISSIONS.spRead);
    }
    return memberOf(ctx, obj);
  }),
];
