// The resource endpoints of RFC 7644 §3 for every registered resource type, and /.search.

import { Router, type Request, type Response } from 'express';
import { invalidFilter, ScimError } from '../scim/errors.js';
import { parseProjection, projectResource } from '../scim/projection.js';
import type { ResourceTypeInfo } from '../scim/registry.js';
import type { RequestContext } from '../resources/context.js';
import type { Rendered, ResourceService } from '../resources/service.js';
import { requireScope } from './auth.js';
import { type ListRequest, listRequestFromBody, listRequestFromQuery, queryParams } from './list-request.js';
import { listResponse, sendScim } from './render.js';

export type ContextOf = (req: Request) => RequestContext;

function shape(service: ResourceService, rts: ResourceTypeInfo[], lr: { attributes?: string; excludedAttributes?: string }) {
  const projection = parseProjection(service.registry, rts, lr.attributes, lr.excludedAttributes);
  return (r: Rendered) => projectResource(r.rt, r.resource, projection);
}

function projectionParams(req: Request): { attributes?: string; excludedAttributes?: string } {
  const p = queryParams(req.originalUrl);
  const out: { attributes?: string; excludedAttributes?: string } = {};
  const a = p.get('attributes');
  const e = p.get('excludedattributes');
  if (a !== undefined) out.attributes = a;
  if (e !== undefined) out.excludedAttributes = e;
  return out;
}

function ifNoneMatchHits(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  return header.split(',').some((t) => {
    const s = t.trim();
    return s === '*' || s === etag || `W/${s}` === etag;
  });
}

export async function runList(
  service: ResourceService,
  rt: ResourceTypeInfo,
  lr: ListRequest,
  ctx: RequestContext,
): Promise<Record<string, unknown>> {
  const q = {
    startIndex: lr.startIndex,
    count: lr.count,
    ...(lr.filter ? { filter: lr.filter } : {}),
    ...(lr.sort ? { sort: lr.sort } : {}),
    ...(lr.cursor !== undefined ? { cursor: lr.cursor } : {}),
  };
  const res = await service.list(rt, q, ctx);
  const project = shape(service, [rt], lr);
  const extra: Record<string, unknown> = {};
  // RFC 9865: a client that asked for cursor paging (cursor= present, even empty) gets nextCursor.
  if (lr.cursor !== undefined && res.nextCursor !== undefined) extra.nextCursor = res.nextCursor;
  return listResponse(res.items.map(project), res.total, lr.cursor === undefined ? lr.startIndex : undefined, extra);
}

export function resourceRouter(service: ResourceService, rt: ResourceTypeInfo, contextOf: ContextOf): Router {
  const r = Router({ caseSensitive: false });
  const name = rt.type.name;

  r.get('/', async (req, res) => {
    requireScope(req, 'scim.read');
    const lr = listRequestFromQuery(req.originalUrl);
    sendScim(res, 200, await runList(service, rt, lr, contextOf(req)));
  });

  r.post('/.search', async (req, res) => {
    requireScope(req, 'scim.read');
    const lr = listRequestFromBody(req.body);
    sendScim(res, 200, await runList(service, rt, lr, contextOf(req)));
  });

  r.post('/', async (req, res) => {
    requireScope(req, 'scim.write');
    const out = await service.create(name, req.body, contextOf(req));
    sendScim(res, 201, shape(service, [rt], projectionParams(req))(out), { Location: out.location, ETag: out.etag });
  });

  r.get('/:id', async (req: Request, res: Response) => {
    requireScope(req, 'scim.read');
    const out = await service.get(name, String(req.params.id), contextOf(req));
    if (ifNoneMatchHits(req.get('if-none-match'), out.etag)) {
      sendScim(res, 304, undefined, { ETag: out.etag });
      return;
    }
    sendScim(res, 200, shape(service, [rt], projectionParams(req))(out), { ETag: out.etag, 'Content-Location': out.location });
  });

  r.put('/:id', async (req, res) => {
    requireScope(req, 'scim.write');
    const out = await service.replace(name, String(req.params.id), req.body, contextOf(req), req.get('if-match'));
    sendScim(res, 200, shape(service, [rt], projectionParams(req))(out), { ETag: out.etag, Location: out.location });
  });

  r.patch('/:id', async (req, res) => {
    requireScope(req, 'scim.write');
    const out = await service.patch(name, String(req.params.id), req.body, contextOf(req), req.get('if-match'));
    sendScim(res, 200, shape(service, [rt], projectionParams(req))(out), { ETag: out.etag, Location: out.location });
  });

  r.delete('/:id', async (req, res) => {
    requireScope(req, 'scim.write');
    await service.delete(name, String(req.params.id), contextOf(req), req.get('if-match'));
    sendScim(res, 204, undefined);
  });

  r.all('/', (req) => {
    throw new ScimError(405, `${req.method} is not supported on ${rt.type.endpoint}`);
  });
  r.all('/:id', (req) => {
    throw new ScimError(405, `${req.method} is not supported on ${rt.type.endpoint}/{id}`);
  });
  return r;
}

/**
 * POST /.search across every resource type (RFC 7644 §3.4.3). A filter naming an attribute a
 * type does not have matches nothing in that type; results are paged across types in a fixed order.
 */
export function rootSearchRouter(service: ResourceService, contextOf: ContextOf): Router {
  const r = Router();
  r.post('/.search', async (req, res) => {
    requireScope(req, 'scim.read');
    const lr = listRequestFromBody(req.body);
    if (lr.cursor !== undefined) throw new ScimError(400, 'cursor paging is offered per resource type, not on /.search', 'invalidValue');
    const ctx = contextOf(req);
    const types = service.registry.resourceTypes();
    let total = 0;
    let skip = lr.startIndex - 1;
    let want = lr.count;
    const items: Rendered[] = [];
    let anyApplicable = false;
    for (const rt of types) {
      let counted;
      try {
        const base = { ...(lr.filter ? { filter: lr.filter } : {}), ...(lr.sort ? { sort: lr.sort } : {}) };
        counted = await service.list(rt, { ...base, startIndex: 1, count: 0 }, ctx);
        anyApplicable = true;
        const n = counted.total ?? 0;
        total += n;
        if (want > 0 && skip < n) {
          const page = await service.list(rt, { ...base, startIndex: skip + 1, count: want }, ctx);
          items.push(...page.items);
          want -= page.items.length;
        }
        skip = Math.max(0, skip - n);
      } catch (e) {
        if (e instanceof ScimError && e.scimType === 'invalidFilter' && /unknown|cannot sort/.test(e.message)) continue;
        throw e;
      }
    }
    if (!anyApplicable) throw invalidFilter('the filter names attributes no resource type has');
    const projection = parseProjection(service.registry, types, lr.attributes, lr.excludedAttributes);
    sendScim(res, 200, listResponse(items.map((i) => projectResource(i.rt, i.resource, projection)), total, lr.startIndex));
  });
  return r;
}
