// POST /Bulk (RFC 7644 §3.7): operations run in order through the same ResourceService as single
// requests; `bulkId:x` in a path or in any string value refers to a resource created earlier in the
// request (an operation whose reference is created later waits for it; a reference to an operation
// that failed, to an undefined bulkId, or in a cycle → 409 for that operation).

import { invalidSyntax, invalidValue, ScimError } from '../scim/errors.js';
import type { RequestContext, Scope } from '../resources/context.js';
import type { ResourceService } from '../resources/service.js';

export const BULK_REQUEST_URN = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
export const BULK_RESPONSE_URN = 'urn:ietf:params:scim:api:messages:2.0:BulkResponse';

interface BulkOp {
  method: string;
  path: string;
  bulkId?: string;
  version?: string;
  data?: unknown;
}

interface BulkResult {
  method: string;
  bulkId?: string;
  version?: string;
  location?: string;
  status: string;
  response?: unknown;
}

const BULK_REF = /^bulkId:(.+)$/;

function parseOps(body: unknown, maxOperations: number): { ops: BulkOp[]; failOnErrors: number | undefined } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw invalidSyntax('a BulkRequest must be a JSON object');
  const b = body as Record<string, unknown>;
  if (!Array.isArray(b.schemas) || !b.schemas.includes(BULK_REQUEST_URN)) {
    throw invalidSyntax(`"schemas" must contain "${BULK_REQUEST_URN}"`);
  }
  if (!Array.isArray(b.Operations)) throw invalidSyntax('"Operations" must be an array');
  if (b.Operations.length > maxOperations) {
    throw new ScimError(413, `a bulk request may hold at most ${maxOperations} operations`);
  }
  let failOnErrors: number | undefined;
  if (b.failOnErrors !== undefined) {
    if (typeof b.failOnErrors !== 'number' || !Number.isInteger(b.failOnErrors) || b.failOnErrors < 1) {
      throw invalidSyntax('"failOnErrors" must be a positive integer');
    }
    failOnErrors = b.failOnErrors;
  }
  const seen = new Set<string>();
  const ops = b.Operations.map((o, i): BulkOp => {
    if (typeof o !== 'object' || o === null) throw invalidSyntax(`Operations[${i}] must be an object`);
    const op = o as Record<string, unknown>;
    const method = typeof op.method === 'string' ? op.method.toUpperCase() : '';
    if (!['POST', 'PUT', 'PATCH', 'DELETE'].includes(method)) throw invalidSyntax(`Operations[${i}].method must be POST, PUT, PATCH or DELETE`);
    if (typeof op.path !== 'string' || !op.path.startsWith('/')) throw invalidSyntax(`Operations[${i}].path must be a path such as "/Users"`);
    const out: BulkOp = { method, path: op.path, data: op.data };
    if (op.bulkId !== undefined) {
      if (typeof op.bulkId !== 'string' || op.bulkId === '') throw invalidSyntax(`Operations[${i}].bulkId must be a non-empty string`);
      if (seen.has(op.bulkId)) throw invalidSyntax(`Operations[${i}].bulkId "${op.bulkId}" is used twice`);
      seen.add(op.bulkId);
      out.bulkId = op.bulkId;
    }
    if (method === 'POST' && out.bulkId === undefined) throw invalidSyntax(`Operations[${i}]: POST requires a bulkId`);
    // `version` is an If-Match precondition: one that cannot be read must not be dropped silently,
    // or a conditional DELETE/PUT would run unconditionally.
    if (op.version !== undefined) {
      if (typeof op.version !== 'string') throw invalidSyntax(`Operations[${i}].version must be an ETag string such as W/"3"`);
      out.version = op.version;
    }
    return out;
  });
  return { ops, failOnErrors };
}

/** bulkIds an operation refers to, in its path and anywhere in its data. */
function references(op: BulkOp): Set<string> {
  const refs = new Set<string>();
  const visit = (v: unknown): void => {
    if (typeof v === 'string') {
      const m = BULK_REF.exec(v);
      if (m?.[1]) refs.add(m[1]);
    } else if (Array.isArray(v)) v.forEach(visit);
    else if (typeof v === 'object' && v !== null) Object.values(v).forEach(visit);
  };
  for (const seg of op.path.split('/')) visit(seg);
  visit(op.data);
  return refs;
}

function substitute(v: unknown, ids: Map<string, string>): unknown {
  if (typeof v === 'string') {
    const m = BULK_REF.exec(v);
    return m?.[1] && ids.has(m[1]) ? ids.get(m[1]) : v;
  }
  if (Array.isArray(v)) return v.map((x) => substitute(x, ids));
  if (typeof v === 'object' && v !== null) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, substitute(x, ids)]));
  }
  return v;
}

export async function runBulk(
  service: ResourceService,
  body: unknown,
  ctx: RequestContext,
  hasScope: (s: Scope) => boolean,
  maxOperations: number,
): Promise<Record<string, unknown>> {
  const { ops, failOnErrors } = parseOps(body, maxOperations);
  const ids = new Map<string, string>();
  const results: (BulkResult | undefined)[] = new Array(ops.length);
  const producers = new Set(ops.map((o) => o.bulkId).filter((x): x is string => x !== undefined));
  let pending = ops.map((_, i) => i);
  let errors = 0;
  /** bulkIds of operations that failed: whatever refers to them fails too */
  const failed = new Set<string>();
  const stopped = () => failOnErrors !== undefined && errors >= failOnErrors;

  const fail = (i: number, op: BulkOp, e: ScimError) => {
    errors += 1;
    if (op.bulkId) failed.add(op.bulkId);
    results[i] = { method: op.method, ...(op.bulkId ? { bulkId: op.bulkId } : {}), status: String(e.status), response: e.toJSON() };
  };

  while (pending.length > 0) {
    const waiting: number[] = [];
    for (const i of pending) {
      if (stopped()) break;
      const op = ops[i]!;
      const refs = [...references(op)];
      const unknown = refs.find((r) => !producers.has(r));
      if (unknown) {
        fail(i, op, new ScimError(409, `bulkId "${unknown}" is not defined in this request`, 'invalidValue'));
        continue;
      }
      const broken = refs.find((r) => failed.has(r));
      if (broken) {
        fail(i, op, new ScimError(409, `bulkId "${broken}" refers to an operation that failed`, 'invalidValue'));
        continue;
      }
      if (refs.some((r) => !ids.has(r))) {
        waiting.push(i);
        continue;
      }
      try {
        // the path is substituted segment by segment: "/Users/bulkId:u1" is a reference in its last segment
        const path = op.path
          .split('/')
          .map((seg) => String(substitute(seg, ids)))
          .join('/');
        results[i] = await runOne(service, { ...op, path, data: substitute(op.data, ids) }, ctx, hasScope);
      } catch (e) {
        if (!(e instanceof ScimError)) throw e;
        fail(i, op, e);
      }
      const res = results[i];
      if (op.bulkId && res?.location) ids.set(op.bulkId, res.location.slice(res.location.lastIndexOf('/') + 1));
    }
    if (stopped()) break;
    if (waiting.length === pending.length) {
      // No progress: the remaining operations refer to each other in a cycle (or wait on one).
      // Each is an error of its own, counted against failOnErrors like any other.
      for (const i of waiting) {
        if (stopped()) break;
        const unresolved = [...references(ops[i]!)].find((r) => !ids.has(r));
        fail(i, ops[i]!, new ScimError(409, `bulkId "${unresolved ?? ''}" cannot be resolved: the operations refer to each other in a cycle`, 'invalidValue'));
      }
      break;
    }
    pending = waiting;
  }
  return { schemas: [BULK_RESPONSE_URN], Operations: results.filter((r): r is BulkResult => r !== undefined) };
}

async function runOne(
  service: ResourceService,
  op: BulkOp,
  ctx: RequestContext,
  hasScope: (s: Scope) => boolean,
): Promise<BulkResult> {
  if (!hasScope('scim.write')) throw new ScimError(403, 'this token lacks the "scim.write" scope');
  const parts = op.path.split('/').filter(Boolean);
  const rt = service.registry.byEndpoint(`/${parts[0] ?? ''}`);
  if (!rt || parts.length > 2) throw invalidValue(`unknown bulk path "${op.path}"`);
  const id = parts[1];
  const base = { method: op.method, ...(op.bulkId ? { bulkId: op.bulkId } : {}) };
  const name = rt.type.name;
  if (op.method === 'POST') {
    if (id !== undefined) throw invalidValue('POST goes to a resource type endpoint such as "/Users"');
    const r = await service.create(name, op.data, ctx);
    return { ...base, location: r.location, version: r.etag, status: '201' };
  }
  if (id === undefined) throw invalidValue(`${op.method} needs a path such as "/Users/{id}"`);
  if (op.method === 'DELETE') {
    await service.delete(name, id, ctx, op.version);
    return { ...base, location: `${ctx.baseUrl}${rt.type.endpoint}/${id}`, status: '204' };
  }
  const r =
    op.method === 'PUT'
      ? await service.replace(name, id, op.data, ctx, op.version)
      : await service.patch(name, id, op.data, ctx, op.version);
  return { ...base, location: r.location, version: r.etag, status: '200' };
}

