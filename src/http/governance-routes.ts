// Governance over HTTP (docs/governance.md), mounted inside /scim/v2 after authentication and
// before the generic resource routes:
//   PATCH|PUT|DELETE /Agents/{id}          scopes checked by the governance rules (R15): scim.revoke
//                                          may suspend, retire and revoke, agents.approve activates
//   POST /Agents/{id}/certifications       certify | modify | revoke decisions (R04)
//   POST /Agents/{id}/activity             usage evidence (R05, R09, R21)
//   PATCH|PUT|DELETE /Users/{id}           when {id} is an agent: the IGA revoke forms (§2.5)
//   PATCH|PUT /Groups/{id}                 member removal with scim.revoke (§2.5 group removal)
//   GET /AuditEvents[/{id}], POST /AuditEvents/.search   the audit log (R18), read-only
//   GET /Reports/Compliance                the compliance summary (R25)
//   /agents-view/…                         the IGA view: a SCIM service whose /Users are only agents

import { Router, type Request, type Response } from 'express';
import { type GovContext, isAgentProjection } from '../resources/governance/common.js';
import { AGENT_USER, ENTERPRISE, USER_CORE } from '../resources/governance/common.js';
import type { Governance } from '../resources/governance/index.js';
import { getAuditEvent, listAuditEvents } from '../resources/governance/audit-events.js';
import { recordCertification } from '../resources/governance/certification.js';
import { recordActivity } from '../resources/governance/activity.js';
import { complianceReport } from '../resources/governance/compliance.js';
import type { Scope } from '../resources/context.js';
import type { ResourceService } from '../resources/service.js';
import { notFound, ScimError } from '../scim/errors.js';
import type { Filter } from '../scim/filter/ast.js';
import { parseProjection, projectResource } from '../scim/projection.js';
import type { ResourceTypeInfo } from '../scim/registry.js';
import { requireScope } from './auth.js';
import { serviceProviderConfig } from './discovery.js';
import { type ListRequest, listRequestFromBody, listRequestFromQuery, queryParams } from './list-request.js';
import { listResponse, sendScim } from './render.js';
import { type ContextOf, runList } from './scim-routes.js';

export const AGENTS_VIEW_PATH = '/agents-view';
const OKTA_ENTITLEMENT_URN = 'urn:okta:scim:schemas:core:1.0:Entitlement';
const OKTA_ROLE_URN = 'urn:okta:scim:schemas:core:1.0:Role';
const CORE_ENTITLEMENT_URN = 'urn:ietf:params:scim:schemas:core:2.0:Entitlement';
const CORE_ROLE_URN = 'urn:ietf:params:scim:schemas:core:2.0:Role';

export interface GovernanceRouterOptions {
  service: ResourceService;
  governance: Governance;
  /** publish the catalogue under Okta's URNs in the agents-view */
  oktaCatalogueUrns: boolean;
  maxOperations: number;
  maxPayloadSize: number;
}

function requireAny(req: Request, scopes: Scope[]): void {
  if (!scopes.some((s) => req.principal?.scopes.has(s))) {
    throw new ScimError(403, `this token lacks every one of the scopes ${scopes.map((s) => `"${s}"`).join(', ')}`);
  }
}

const WRITE_OR_RESTRICT: Scope[] = ['scim.write', 'scim.revoke', 'agents.approve'];

function projectionOf(req: Request): { attributes?: string; excludedAttributes?: string } {
  const p = queryParams(req.originalUrl);
  const out: { attributes?: string; excludedAttributes?: string } = {};
  const a = p.get('attributes');
  const e = p.get('excludedattributes');
  if (a !== undefined) out.attributes = a;
  if (e !== undefined) out.excludedAttributes = e;
  return out;
}

export function governanceRouter(o: GovernanceRouterOptions, contextOf: ContextOf): Router {
  const { service, governance } = o;
  const r = Router({ caseSensitive: false });
  const shape = (rt: ResourceTypeInfo, req: Request) => {
    const p = projectionOf(req);
    const projection = parseProjection(service.registry, [rt], p.attributes, p.excludedAttributes);
    return (resource: Record<string, unknown>) => projectResource(rt, resource, projection);
  };

  r.use(AGENTS_VIEW_PATH, agentsViewRouter(o, contextOf));

  // ── Agents: writes whose permission depends on what they change (R15) ─────────────────────────
  r.patch('/Agents/:id', async (req, res) => {
    requireAny(req, WRITE_OR_RESTRICT);
    const out = await service.patch('Agent', String(req.params.id), req.body, contextOf(req), req.get('if-match'));
    sendScim(res, 200, shape(out.rt, req)(out.resource), { ETag: out.etag, Location: out.location });
  });
  r.put('/Agents/:id', async (req, res) => {
    requireAny(req, WRITE_OR_RESTRICT);
    const out = await service.replace('Agent', String(req.params.id), req.body, contextOf(req), req.get('if-match'));
    sendScim(res, 200, shape(out.rt, req)(out.resource), { ETag: out.etag, Location: out.location });
  });
  r.delete('/Agents/:id', async (req, res) => {
    requireAny(req, WRITE_OR_RESTRICT);
    await service.delete('Agent', String(req.params.id), contextOf(req), req.get('if-match'));
    sendScim(res, 204, undefined);
  });
  r.post('/Agents/:id/certifications', async (req, res) => {
    requireAny(req, WRITE_OR_RESTRICT);
    const out = await recordCertification(service, String(req.params.id), req.body, contextOf(req));
    sendScim(res, 201, out, { Location: String((out.agent as Record<string, unknown>).$ref) });
  });
  r.post('/Agents/:id/activity', async (req, res) => {
    requireScope(req, 'scim.write');
    await recordActivity(service, String(req.params.id), req.body, contextOf(req), governance.deps.clock.now());
    sendScim(res, 204, undefined);
  });

  // ── Users that are agents: the IGA revoke forms; Groups: member removal with scim.revoke ──────
  const projectionWrite = (method: 'patch' | 'replace' | 'delete') => async (req: Request, res: Response, next: () => void) => {
    const id = String(req.params.id);
    const row = await service.store.get('User', id);
    if (!row || !isAgentProjection(row.data)) {
      const retired = method === 'delete' && !row ? await service.store.get('Agent', id) : undefined;
      if (!retired) return next();
    }
    requireAny(req, WRITE_OR_RESTRICT);
    const ctx = contextOf(req);
    if (method === 'delete') {
      await service.delete('User', id, ctx, req.get('if-match'));
      sendScim(res, 204, undefined);
      return;
    }
    const out =
      method === 'patch'
        ? await service.patch('User', id, req.body, ctx, req.get('if-match'))
        : await service.replace('User', id, req.body, ctx, req.get('if-match'));
    sendScim(res, 200, shape(out.rt, req)(out.resource), { ETag: out.etag, Location: out.location });
  };
  r.patch('/Users/:id', projectionWrite('patch'));
  r.put('/Users/:id', projectionWrite('replace'));
  r.delete('/Users/:id', projectionWrite('delete'));
  const groupRevoke = (method: 'patch' | 'replace') => async (req: Request, res: Response, next: () => void) => {
    const s = req.principal?.scopes;
    if (!s || s.has('scim.write') || !s.has('scim.revoke')) return next();
    const ctx = contextOf(req);
    const id = String(req.params.id);
    const out =
      method === 'patch'
        ? await service.patch('Group', id, req.body, ctx, req.get('if-match'))
        : await service.replace('Group', id, req.body, ctx, req.get('if-match'));
    sendScim(res, 200, shape(out.rt, req)(out.resource), { ETag: out.etag, Location: out.location });
  };
  r.patch('/Groups/:id', groupRevoke('patch'));
  r.put('/Groups/:id', groupRevoke('replace'));

  // ── the audit log ─────────────────────────────────────────────────────────────────────────────
  const auditList = async (req: Request, res: Response, lr: ListRequest) => {
    requireScope(req, 'scim.read');
    const ctx = contextOf(req);
    const rt = service.resourceType('AuditEvent');
    const out = await listAuditEvents(
      service.store,
      service.registry,
      {
        ...(lr.filter ? { filter: lr.filter } : {}),
        sorted: lr.sort !== undefined,
        startIndex: lr.startIndex,
        count: lr.count,
        ...(lr.cursor !== undefined ? { cursor: lr.cursor } : {}),
      },
      ctx.baseUrl,
    );
    const projection = parseProjection(service.registry, [rt], lr.attributes, lr.excludedAttributes);
    const items = out.items.map((i) => projectResource(rt, i, projection));
    sendScim(res, 200, listResponse(items, out.total, lr.cursor === undefined ? lr.startIndex : undefined, out.nextCursor ? { nextCursor: out.nextCursor } : {}));
  };
  r.get('/AuditEvents', (req, res) => auditList(req, res, listRequestFromQuery(req.originalUrl)));
  r.post('/AuditEvents/.search', (req, res) => auditList(req, res, listRequestFromBody(req.body)));
  r.get('/AuditEvents/:id', async (req, res) => {
    requireScope(req, 'scim.read');
    const rt = service.resourceType('AuditEvent');
    const event = await getAuditEvent(service.store, String(req.params.id), contextOf(req).baseUrl);
    sendScim(res, 200, shape(rt, req)(event), { ETag: 'W/"1"' });
  });
  r.all('/AuditEvents', (req) => {
    throw new ScimError(405, `${req.method} is not supported: the audit log is append-only and read-only`);
  });
  r.all('/AuditEvents/:id', (req) => {
    throw new ScimError(405, `${req.method} is not supported: the audit log is append-only and read-only`);
  });

  r.get('/Reports/Compliance', async (req, res) => {
    requireScope(req, 'scim.read');
    const now = governance.deps.clock.now().toISOString();
    sendScim(res, 200, await complianceReport(service.store, service.registry, governance.policy, now));
  });
  return r;
}

/**
 * The IGA view (standards.md §4.5): a SCIM service provider of its own at /scim/v2/agents-view
 * whose /Users are the agents only (for connectors that cannot filter), with /Groups, the
 * catalogue, and discovery documents that describe exactly that.
 */
function agentsViewRouter(o: GovernanceRouterOptions, contextOf: ContextOf): Router {
  const { service } = o;
  const r = Router({ caseSensitive: false });
  const viewContext = (req: Request): GovContext => {
    const ctx = contextOf(req);
    return { ...ctx, baseUrl: `${ctx.baseUrl}${AGENTS_VIEW_PATH}`, view: 'agents' };
  };
  const agentsOnly: Filter = {
    kind: 'and',
    filters: [
      { kind: 'compare', op: 'eq', path: { attr: 'userType' }, value: 'Agent' },
      { kind: 'compare', op: 'eq', path: { uri: AGENT_USER, attr: 'isAgent' }, value: true },
    ],
  };
  const okta = (rt: ResourceTypeInfo, resource: Record<string, unknown>) => {
    if (!o.oktaCatalogueUrns) return resource;
    const from = rt.type.name === 'Entitlement' ? CORE_ENTITLEMENT_URN : rt.type.name === 'Role' ? CORE_ROLE_URN : undefined;
    if (!from || !Array.isArray(resource.schemas)) return resource;
    const to = from === CORE_ENTITLEMENT_URN ? OKTA_ENTITLEMENT_URN : OKTA_ROLE_URN;
    return { ...resource, schemas: (resource.schemas as string[]).map((s) => (s === from ? to : s)) };
  };
  const TYPES = ['User', 'Group', 'Entitlement', 'Role'];

  const list = async (req: Request, res: Response, rtName: string, lr: ListRequest) => {
    requireScope(req, 'scim.read');
    const rt = service.resourceType(rtName);
    const filter = rtName === 'User' ? (lr.filter ? { kind: 'and' as const, filters: [lr.filter, agentsOnly] } : agentsOnly) : lr.filter;
    const body = await runList(service, rt, { ...lr, ...(filter ? { filter } : {}) }, viewContext(req));
    if (Array.isArray(body.Resources)) body.Resources = (body.Resources as Record<string, unknown>[]).map((x) => okta(rt, x));
    sendScim(res, 200, body);
  };
  for (const name of TYPES) {
    const endpoint = service.resourceType(name).type.endpoint;
    r.get(endpoint, (req, res) => list(req, res, name, listRequestFromQuery(req.originalUrl)));
    r.post(`${endpoint}/.search`, (req, res) => list(req, res, name, listRequestFromBody(req.body)));
    r.get(`${endpoint}/:id`, async (req, res) => {
      requireScope(req, 'scim.read');
      const out = await service.get(name, String(req.params.id), viewContext(req));
      if (name === 'User' && !isAgentProjection(out.resource)) throw notFound(`User "${String(req.params.id)}" not found (this view holds agents only)`);
      const p = projectionOf(req);
      const projection = parseProjection(service.registry, [out.rt], p.attributes, p.excludedAttributes);
      sendScim(res, 200, okta(out.rt, projectResource(out.rt, out.resource, projection)), { ETag: out.etag, 'Content-Location': out.location });
    });
  }
  // writes: the revoke forms on agents; group member removal; nothing is created here
  const write = (method: 'patch' | 'replace' | 'delete', rtName: 'User' | 'Group') => async (req: Request, res: Response) => {
    requireAny(req, WRITE_OR_RESTRICT);
    const id = String(req.params.id);
    const ctx = viewContext(req);
    if (rtName === 'User') {
      const row = await service.store.get('User', id);
      const isProjection = row !== undefined && isAgentProjection(row.data);
      const retired = !row && method === 'delete' ? await service.store.get('Agent', id) : undefined;
      if (!isProjection && !retired) throw notFound(`User "${id}" not found (this view holds agents only)`);
    } else if (!req.principal?.scopes.has('scim.write') && !req.principal?.scopes.has('scim.revoke')) {
      throw new ScimError(403, 'changing group members needs "scim.revoke" (removal) or "scim.write"');
    }
    if (method === 'delete') {
      if (rtName === 'Group') throw new ScimError(405, 'groups are not deleted through the agents-view');
      await service.delete(rtName, id, ctx, req.get('if-match'));
      sendScim(res, 204, undefined);
      return;
    }
    const out =
      method === 'patch'
        ? await service.patch(rtName, id, req.body, ctx, req.get('if-match'))
        : await service.replace(rtName, id, req.body, ctx, req.get('if-match'));
    const p = projectionOf(req);
    const projection = parseProjection(service.registry, [out.rt], p.attributes, p.excludedAttributes);
    sendScim(res, 200, projectResource(out.rt, out.resource, projection), { ETag: out.etag, Location: out.location });
  };
  r.patch('/Users/:id', write('patch', 'User'));
  r.put('/Users/:id', write('replace', 'User'));
  r.delete('/Users/:id', write('delete', 'User'));
  r.patch('/Groups/:id', write('patch', 'Group'));
  r.put('/Groups/:id', write('replace', 'Group'));
  r.post('/Users', (req) => {
    const canWrite = req.principal?.scopes.has('scim.write');
    throw new ScimError(
      403,
      `agents are registered at ${AGENTS_VIEW_PATH.replace('/agents-view', '')}/Agents (with a sponsor, purpose and environment), not created as Users here${canWrite ? '' : '; this token lacks "scim.write" as well'}`,
    );
  });

  // discovery, describing this view only
  const base = (req: Request) => viewContext(req).baseUrl;
  r.get('/ServiceProviderConfig', (req, res) => {
    requireScope(req, 'scim.read');
    const spc = serviceProviderConfig(base(req), { maxOperations: o.maxOperations, maxPayloadSize: o.maxPayloadSize });
    sendScim(res, 200, {
      ...spc,
      documentationUri: 'https://github.com/agentroster/agentroster/blob/main/docs/governance.md',
      bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
      // draft-ietf-scim-roles-entitlements
      RolesAndEntitlements: {
        roles: { supported: true, multipleRolesSupported: true, primarySupported: true, typeSupported: true, types: [] },
        entitlements: { supported: true, multipleEntitlementsSupported: true, primarySupported: true, typeSupported: true, types: [] },
      },
    });
  });
  const resourceType = (req: Request, name: string) => {
    const rt = service.resourceType(name).type;
    const schema = !o.oktaCatalogueUrns ? rt.schema : name === 'Entitlement' ? OKTA_ENTITLEMENT_URN : name === 'Role' ? OKTA_ROLE_URN : rt.schema;
    const extensions =
      name === 'User'
        ? [
            { schema: ENTERPRISE, required: true },
            { schema: AGENT_USER, required: true },
          ]
        : (rt.schemaExtensions ?? []);
    return {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
      id: rt.id,
      name: rt.name,
      endpoint: rt.endpoint,
      description: name === 'User' ? 'AI agents as accounts: every non-retired agent of record, userType "Agent", sponsor as enterprise manager' : (rt.description ?? rt.name),
      schema,
      schemaExtensions: extensions,
      meta: { resourceType: 'ResourceType', location: `${base(req)}/ResourceTypes/${rt.id}` },
    };
  };
  r.get('/ResourceTypes', (req, res) => {
    requireScope(req, 'scim.read');
    const all = TYPES.map((t) => resourceType(req, t));
    sendScim(res, 200, listResponse(all, all.length, 1));
  });
  r.get('/ResourceTypes/:name', (req, res) => {
    requireScope(req, 'scim.read');
    const name = TYPES.find((t) => t.toLowerCase() === String(req.params.name).toLowerCase());
    if (!name) throw notFound(`unknown resource type "${String(req.params.name)}" in the agents-view`);
    sendScim(res, 200, resourceType(req, name));
  });
  const schemaIds = () => {
    const ids = [USER_CORE, ENTERPRISE, AGENT_USER, 'urn:ietf:params:scim:schemas:core:2.0:Group', CORE_ENTITLEMENT_URN, 'urn:agentroster:scim:schemas:extension:entitlement:1.0:Entitlement', CORE_ROLE_URN];
    return o.oktaCatalogueUrns ? [...ids, OKTA_ENTITLEMENT_URN, OKTA_ROLE_URN] : ids;
  };
  const schemaJson = (req: Request, urn: string) => {
    const source = urn === OKTA_ENTITLEMENT_URN ? CORE_ENTITLEMENT_URN : urn === OKTA_ROLE_URN ? CORE_ROLE_URN : urn;
    const s = service.registry.schema(source);
    if (!s || !schemaIds().some((x) => x.toLowerCase() === urn.toLowerCase())) throw notFound(`unknown schema "${urn}" in the agents-view`);
    const id = source === urn ? s.id : urn;
    return {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'],
      id,
      name: s.name,
      ...(s.description ? { description: s.description } : {}),
      attributes: s.attributes,
      meta: { resourceType: 'Schema', location: `${base(req)}/Schemas/${id}` },
    };
  };
  r.get('/Schemas', (req, res) => {
    requireScope(req, 'scim.read');
    const all = schemaIds().map((u) => schemaJson(req, u));
    sendScim(res, 200, listResponse(all, all.length, 1));
  });
  r.get('/Schemas/:urn', (req, res) => {
    requireScope(req, 'scim.read');
    sendScim(res, 200, schemaJson(req, String(req.params.urn)));
  });
  r.all('/Me', () => {
    throw new ScimError(501, '/Me is not supported');
  });
  r.use((req) => {
    throw new ScimError(404, `no endpoint at ${req.method} ${AGENTS_VIEW_PATH}${req.path}`);
  });
  return r;
}
