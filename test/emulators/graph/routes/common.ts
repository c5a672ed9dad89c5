/** Shared plumbing for Graph route handlers: the per-operation context, routing, references. */
import type { AccessTokenClaims } from '../auth.js';
import { badRequest, GraphError, notFound, replicationNotFound, type GraphResponse } from '../errors.js';
import type { ListResult, TokenSigner } from '../odata.js';
import type { DirectoryObject, DirectoryStore, ObjectKind } from '../store.js';

export interface GraphEnv {
  store: DirectoryStore;
  signer: TokenSigner;
  /** Graph base URL without version, e.g. https://127.0.0.1:1234 */
  graphUrl: string;
}

export interface OpContext {
  method: string;
  /** path without the version prefix, original case */
  path: string;
  version: 'v1.0' | 'beta';
  query: URLSearchParams;
  /** lower-cased header names */
  headers: Record<string, string>;
  body: unknown;
  claims: AccessTokenClaims;
  env: GraphEnv;
}

export type Handler = (ctx: OpContext, params: string[]) => GraphResponse;

export interface Route {
  method: string;
  pattern: RegExp;
  handler: Handler;
}

/**
 * `route('GET', '/servicePrincipals/{id}/microsoft.graph.agentIdentity', h)`; `{id}` captures a
 * segment, `{key}` a quoted alternate key value. Matching is case-insensitive (Graph paths are).
 */
export function route(method: string, template: string, handler: Handler): Route {
  const re = template
    .replace(/[.$()]/g, (c) => `\\${c}`)
    .replace(/\{id\}/g, '([^/]+)')
    .replace(/'\{key\}'/g, "'([^']*)'");
  return { method, pattern: new RegExp(`^${re}/?$`, 'i'), handler };
}

export const json = (status: number, body: unknown, headers: Record<string, string> = {}): GraphResponse => ({
  status,
  headers: { 'content-type': 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8', ...headers },
  body,
});

export const noContent = (): GraphResponse => ({ status: 204, headers: {} });

export function metadata(ctx: OpContext, fragment: string): string {
  return `${ctx.env.graphUrl}/${ctx.version}/$metadata#${fragment}`;
}

export function entity(ctx: OpContext, fragment: string, obj: Record<string, unknown>, status = 200, headers: Record<string, string> = {}): GraphResponse {
  return json(status, { '@odata.context': metadata(ctx, fragment), ...obj }, headers);
}

export function collection(ctx: OpContext, fragment: string, result: ListResult): GraphResponse {
  const body: Record<string, unknown> = { '@odata.context': metadata(ctx, fragment) };
  if (result.count !== undefined) body['@odata.count'] = result.count;
  if (result.nextLink) body['@odata.nextLink'] = result.nextLink;
  body['value'] = result.value;
  return json(200, body);
}

/** Absolute URL of the collection addressed by this request (for nextLink). */
export function collectionUrl(ctx: OpContext): string {
  return `${ctx.env.graphUrl}/${ctx.version}${ctx.path}`;
}

/** The JSON object body of a POST/PATCH/PUT, or 400. */
export function bodyObject(ctx: OpContext): Record<string, unknown> {
  if (ctx.body === undefined || ctx.body === null) throw badRequest('Empty Payload. JSON content expected.');
  if (typeof ctx.body !== 'object' || Array.isArray(ctx.body)) throw badRequest('Invalid request body: a JSON object is expected.');
  return ctx.body as Record<string, unknown>;
}

/** Parses a reference URL (`@odata.id`, `…@odata.bind`) into an object id. */
export function refId(value: unknown, property = '@odata.id'): string {
  if (typeof value !== 'string' || value === '') throw badRequest(`Invalid value specified for property '${property}'.`);
  const m = /\/(?:directoryObjects|users|groups|servicePrincipals|applications|contacts|devices)\/([0-9a-f-]{36})\/?$/i.exec(value);
  if (!m) throw badRequest(`Invalid object identifier '${value}'.`);
  return (m[1] as string).toLowerCase();
}

/**
 * An object referenced by another write (a sponsor, a member, an assignee): 404 if it doesn't exist,
 * 400 "Object with id … not found" while it is still replicating (Agent ID FAQ).
 */
export function referenced(ctx: OpContext, id: string): DirectoryObject {
  const obj = ctx.env.store.live(id);
  if (!obj) throw notFound(id);
  if (ctx.env.store.isLagging(obj)) throw replicationNotFound(obj.id);
  return obj;
}

/** An object addressed by the request path: 404 if missing, soft-deleted, of another kind, or still replicating. */
export function addressed(ctx: OpContext, id: string, kinds: readonly ObjectKind[]): DirectoryObject {
  const obj = ctx.env.store.live(decodeURIComponent(id));
  if (!obj || !kinds.includes(obj.kind) || ctx.env.store.isLagging(obj)) throw notFound(decodeURIComponent(id));
  return obj;
}

export function requireString(body: Record<string, unknown>, prop: string, resource: string): string {
  const v = body[prop];
  if (typeof v !== 'string' || v.trim() === '') throw badRequest(`Invalid value specified for property '${prop}' of resource '${resource}'.`);
  return v;
}

export function optionalBoolean(body: Record<string, unknown>, prop: string, resource: string): boolean | undefined {
  const v = body[prop];
  if (v === undefined) return undefined;
  if (typeof v !== 'boolean') throw badRequest(`Invalid value specified for property '${prop}' of resource '${resource}'.`);
  return v;
}

export function optionalStringArray(body: Record<string, unknown>, prop: string, resource: string): string[] | undefined {
  const v = body[prop];
  if (v === undefined) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) {
    throw badRequest(`Invalid value specified for property '${prop}' of resource '${resource}'.`);
  }
  return v as string[];
}

/** Rejects properties a client may not write. */
export function rejectReadOnly(body: Record<string, unknown>, readOnly: readonly string[]): void {
  for (const k of readOnly) {
    if (k in body) throw badRequest(`Property '${k}' is read-only and cannot be set.`);
  }
}

/** Rejects properties not declared on the (closed) type. */
export function rejectUnknown(body: Record<string, unknown>, allowed: readonly string[], type: string): void {
  for (const k of Object.keys(body)) {
    if (k.startsWith('@odata.type')) continue;
    if (!allowed.includes(k)) {
      throw badRequest(`Property '${k}' does not exist as a declared property or extension property on type 'microsoft.graph.${type}'.`);
    }
  }
}

export function isGraphError(e: unknown): e is GraphError {
  return e instanceof GraphError;
}

export function principalType(obj: DirectoryObject): 'User' | 'Group' | 'ServicePrincipal' {
  if (obj.kind === 'user' || obj.kind === 'agentUser') return 'User';
  if (obj.kind === 'group') return 'Group';
  return 'ServicePrincipal';
}

/** Polymorphic directoryObject collections (members, sponsors, owners, memberOf). */
export function directoryObjects(ctx: OpContext, objs: DirectoryObject[]): Array<Record<string, unknown>> {
  return objs.map((o) => {
    const full = ctx.env.store.render(o, true);
    if (o.kind !== 'user' && o.kind !== 'agentUser') {
      delete full['customSecurityAttributes'];
      return full;
    }
    const out: Record<string, unknown> = { '@odata.type': full['@odata.type'] };
    for (const k of USER_DEFAULT_SELECT) out[k] = full[k];
    return out;
  });
}

/** GET /users returns only this default property set unless $select asks for more (Graph v1.0). */
export const USER_DEFAULT_SELECT = [
  'businessPhones',
  'displayName',
  'givenName',
  'jobTitle',
  'mail',
  'mobilePhone',
  'officeLocation',
  'preferredLanguage',
  'surname',
  'userPrincipalName',
  'id',
];
