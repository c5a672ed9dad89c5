/**
 * Users: lookups for sponsors (by id, userPrincipalName, `$filter=mail eq …`, `employeeId eq …`),
 * and the fallback mapping B (a user with `employeeType`, `manager` as sponsor).
 * Facts: user-post-users.md, user-get.md (default property set), reference/entra.md §1.5, §2.7.
 */
import { randomUUID } from 'node:crypto';
import { badRequest, notFound, objectConflict, type GraphResponse } from '../errors.js';
import { parseSelect, project, runList, type ListSpec } from '../odata.js';
import { PERMISSIONS, requirePermission } from '../permissions.js';
import { USER_KINDS, type DirectoryObject } from '../store.js';
import {
  bodyObject,
  collection,
  collectionUrl,
  directoryObjects,
  entity,
  noContent,
  optionalBoolean,
  referenced,
  refId,
  rejectUnknown,
  requireString,
  route,
  USER_DEFAULT_SELECT,
  type OpContext,
  type Route,
} from './common.js';
import { memberOf } from './service-principals.js';

export const USER_SPEC: ListSpec = {
  type: 'user',
  filterable: {
    id: ['eq', 'in'],
    userPrincipalName: ['eq', 'startswith', 'in'],
    mail: ['eq', 'startswith', 'in'],
    displayName: ['eq', 'startswith', 'in'],
    givenName: ['eq', 'startswith', 'in'],
    surname: ['eq', 'startswith', 'in'],
    mailNickname: ['eq', 'startswith', 'in'],
    employeeId: ['eq', 'startswith', 'in'],
    employeeType: ['eq', 'startswith', 'in'],
    accountEnabled: ['eq'],
    jobTitle: ['eq', 'startswith', 'in'],
  },
  maxPageSize: 999,
  defaultSelect: USER_DEFAULT_SELECT,
};

const USER_WRITABLE = [
  'accountEnabled',
  'displayName',
  'mailNickname',
  'userPrincipalName',
  'passwordProfile',
  'givenName',
  'surname',
  'jobTitle',
  'department',
  'companyName',
  'mail',
  'employeeId',
  'employeeType',
  'usageLocation',
  'officeLocation',
  'mobilePhone',
  'preferredLanguage',
  'identityParentId',
];

/** `/users/{id | userPrincipalName}` */
function userByKey(ctx: OpContext, key: string): DirectoryObject {
  const { store } = ctx.env;
  const k = decodeURIComponent(key);
  const obj = k.includes('@') ? store.findUserByUpn(k) : store.live(k);
  if (!obj || !USER_KINDS.includes(obj.kind) || store.isLagging(obj)) throw notFound(k);
  return obj;
}

function checkUpn(ctx: OpContext, upn: string, self?: DirectoryObject): void {
  const domain = upn.split('@')[1]?.toLowerCase();
  if (!domain || !ctx.env.store.config.verifiedDomains.some((d) => d.toLowerCase() === domain)) {
    throw badRequest('The domain portion of the userPrincipalName property is invalid. You must use one of the verified domain names in your organization.', [
      { target: 'userPrincipalName', code: 'InvalidValue' },
    ]);
  }
  const existing = ctx.env.store.findUserByUpn(upn);
  if (existing && existing !== self) throw objectConflict('userPrincipalName');
}

function createUser(ctx: OpContext): GraphResponse {
  requirePermission(ctx.claims.roles, PERMISSIONS.userWrite);
  const body = bodyObject(ctx);
  rejectUnknown(body, USER_WRITABLE, 'user');
  const isAgentUser = typeof body['@odata.type'] === 'string' && /agentUser$/i.test(body['@odata.type']);
  const accountEnabled = optionalBoolean(body, 'accountEnabled', 'User');
  if (accountEnabled === undefined) throw badRequest("Invalid value specified for property 'accountEnabled' of resource 'User'.");
  const displayName = requireString(body, 'displayName', 'User');
  const mailNickname = requireString(body, 'mailNickname', 'User');
  const upn = requireString(body, 'userPrincipalName', 'User');
  if (!isAgentUser) {
    const pp = body['passwordProfile'];
    if (!pp || typeof pp !== 'object' || typeof (pp as Record<string, unknown>)['password'] !== 'string') {
      throw badRequest("Invalid value specified for property 'passwordProfile' of resource 'User'.");
    }
  }
  checkUpn(ctx, upn);
  const { store } = ctx.env;
  let identityParentId: string | undefined;
  if (isAgentUser) {
    identityParentId = requireString(body, 'identityParentId', 'AgentUser').toLowerCase();
    const parent = referenced(ctx, identityParentId);
    if (parent.kind !== 'agentIdentity') throw badRequest("Invalid value specified for property 'identityParentId' of resource 'AgentUser'.");
    if (store.findByProperty(['agentUser'], 'identityParentId', identityParentId)) {
      throw badRequest(`The agent identity '${identityParentId}' is already linked to an agent user.`);
    }
  }
  const data: Record<string, unknown> = {
    accountEnabled,
    businessPhones: [],
    displayName,
    givenName: body['givenName'] ?? null,
    jobTitle: body['jobTitle'] ?? null,
    mail: body['mail'] ?? null,
    mailNickname,
    mobilePhone: body['mobilePhone'] ?? null,
    officeLocation: body['officeLocation'] ?? null,
    preferredLanguage: body['preferredLanguage'] ?? null,
    surname: body['surname'] ?? null,
    userPrincipalName: upn,
    employeeId: body['employeeId'] ?? null,
    employeeType: body['employeeType'] ?? null,
    department: body['department'] ?? null,
    companyName: body['companyName'] ?? null,
    usageLocation: body['usageLocation'] ?? null,
  };
  if (isAgentUser) data['identityParentId'] = identityParentId;
  const obj = store.create(isAgentUser ? 'agentUser' : 'user', data, { id: randomUUID() });
  return entity(ctx, 'users/$entity', project(store.render(obj), undefined, USER_SPEC), 201, {
    location: `${ctx.env.graphUrl}/${ctx.version}/users/${obj.id}`,
  });
}

function listUsers(ctx: OpContext): GraphResponse {
  requirePermission(ctx.claims.roles, PERMISSIONS.userRead);
  const { store } = ctx.env;
  const items = store
    .liveOfKinds(USER_KINDS)
    .filter((o) => store.isIndexed(o))
    .map((o) => store.render(o));
  return collection(ctx, 'users', runList(items, { query: ctx.query, headers: ctx.headers, collectionUrl: collectionUrl(ctx), signer: ctx.env.signer }, USER_SPEC));
}

function getUser(ctx: OpContext, key: string): GraphResponse {
  requirePermission(ctx.claims.roles, PERMISSIONS.userRead);
  const obj = userByKey(ctx, key);
  return entity(ctx, 'users/$entity', project(ctx.env.store.render(obj), parseSelect(ctx.query), USER_SPEC));
}

function patchUser(ctx: OpContext, key: string): GraphResponse {
  requirePermission(ctx.claims.roles, PERMISSIONS.userWrite);
  const obj = userByKey(ctx, key);
  const body = bodyObject(ctx);
  rejectUnknown(body, USER_WRITABLE, 'user');
  optionalBoolean(body, 'accountEnabled', 'User');
  if (typeof body['userPrincipalName'] === 'string') checkUpn(ctx, body['userPrincipalName'], obj);
  const { passwordProfile: _pp, ...rest } = body;
  ctx.env.store.update(obj, rest);
  return noContent();
}

function deleteUser(ctx: OpContext, key: string): GraphResponse {
  requirePermission(ctx.claims.roles, PERMISSIONS.userWrite);
  ctx.env.store.softDelete(userByKey(ctx, key));
  return noContent();
}

function putManager(ctx: OpContext, key: string): GraphResponse {
  requirePermission(ctx.claims.roles, PERMISSIONS.userWrite);
  const user = userByKey(ctx, key);
  const managerId = refId(bodyObject(ctx)['@odata.id']);
  const manager = referenced(ctx, managerId);
  if (!USER_KINDS.includes(manager.kind)) throw badRequest(`Invalid object identifier '${managerId}'.`);
  if (manager.id === user.id) throw badRequest('A user cannot be their own manager.');
  ctx.env.store.managers.set(user.id, manager.id);
  return noContent();
}

function getManager(ctx: OpContext, key: string): GraphResponse {
  requirePermission(ctx.claims.roles, PERMISSIONS.userRead);
  const user = userByKey(ctx, key);
  const manager = ctx.env.store.live(ctx.env.store.managers.get(user.id));
  if (!manager) throw notFound('manager');
  const [rendered] = directoryObjects(ctx, [manager]);
  return entity(ctx, 'directoryObjects/$entity', rendered ?? {});
}

function deleteManager(ctx: OpContext, key: string): GraphResponse {
  requirePermission(ctx.claims.roles, PERMISSIONS.userWrite);
  const user = userByKey(ctx, key);
  if (!ctx.env.store.managers.delete(user.id)) throw notFound('manager');
  return noContent();
}

export const userRoutes: Route[] = [
  route('POST', '/users', (ctx) => createUser(ctx)),
  route('POST', '/users/microsoft.graph.agentUser', (ctx) => createUser({ ...ctx, body: { ...bodyObject(ctx), '@odata.type': '#microsoft.graph.agentUser' } })),
  route('GET', '/users', (ctx) => listUsers(ctx)),
  route('GET', '/users/{id}', (ctx, [k]) => getUser(ctx, k as string)),
  route('PATCH', '/users/{id}', (ctx, [k]) => patchUser(ctx, k as string)),
  route('DELETE', '/users/{id}', (ctx, [k]) => deleteUser(ctx, k as string)),
  route('PUT', '/users/{id}/manager/$ref', (ctx, [k]) => putManager(ctx, k as string)),
  route('GET', '/users/{id}/manager', (ctx, [k]) => getManager(ctx, k as string)),
  route('DELETE', '/users/{id}/manager/$ref', (ctx, [k]) => deleteManager(ctx, k as string)),
  route('GET', '/users/{id}/memberOf', (ctx, [k]) => {
    requirePermission(ctx.claims.roles, PERMISSIONS.userRead);
    return memberOf(ctx, userByKey(ctx, k as string));
  }),
];
