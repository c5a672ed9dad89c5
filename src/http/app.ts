// The express application: request ids, authentication, then (only for authenticated requests)
// media types, body limits and the input guard, the SCIM routes, and one error renderer. Internal
// errors become a generic 500 and are logged with the request id, never sent to the client.

import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { secretKind } from '../agents/secrets.js';
import { invalidSyntax, ScimError } from '../scim/errors.js';
import type { RequestContext } from '../resources/context.js';
import { internalQueryLimitError, type ResourceService } from '../resources/service.js';
import type { Store } from '../store/types.js';
import { authenticate, requireScope } from './auth.js';
import { runBulk } from './bulk.js';
import { discoveryRouter } from './discovery.js';
import { DEFAULT_MAX_JSON_DEPTH, guardedJsonParser, urlGuard } from './input-guard.js';
import type { RecordRouters } from './records-routes.js';
import { sendError, sendScim } from './render.js';
import { resourceRouter, rootSearchRouter } from './scim-routes.js';

export const SCIM_BASE_PATH = '/scim/v2';

export interface AppOptions {
  service: ResourceService;
  store: Store;
  logger: Logger;
  /** public base URL of the SCIM API; default: derived from each request */
  baseUrl?: string;
  maxBodyBytes: number;
  bulkMaxOperations: number;
  /** deepest JSON nesting accepted in a body; default DEFAULT_MAX_JSON_DEPTH (64) */
  maxJsonDepth?: number;
  trustProxy?: boolean;
  /** signed agent records: /.well-known routes (public) and /Agents/{id}/record (records-routes.ts) */
  records?: RecordRouters;
  /** sync health, operations and /metrics (sync-routes.ts), when a sync target is configured */
  sync?: express.Router;
  /** Okta event hooks (okta-hook-routes.ts), mounted at /hooks/okta when configured */
  oktaHooks?: express.Router;
  /** agent governance routes (governance-routes.ts), mounted before the resource routes */
  governance?: (contextOf: (req: Request) => RequestContext) => express.Router;
}

const JSON_TYPES = ['application/scim+json', 'application/json', 'application/*+json'];
const BODY_METHODS = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

export function createApp(o: AppOptions): express.Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false); // SCIM ETags are resource versions, set explicitly
  if (o.trustProxy) app.set('trust proxy', true);

  const baseUrlOf = (req: Request): string =>
    o.baseUrl?.replace(/\/+$/, '') ?? `${req.protocol}://${req.get('host') ?? 'localhost'}${SCIM_BASE_PATH}`;

  app.use((req, res, next) => {
    const given = req.get('x-request-id');
    req.requestId = given !== undefined && REQUEST_ID.test(given) ? given : randomUUID();
    res.setHeader('X-Request-Id', req.requestId);
    next();
  });

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  if (o.records) app.use(o.records.wellKnown);
  if (o.sync) app.use(o.sync);
  if (o.oktaHooks) app.use('/hooks/okta', o.oktaHooks);

  const scim = express.Router({ caseSensitive: false });
  // The token first: an unauthenticated client gets 401 before one byte of its body is read or
  // any of its input is looked at (no 400/413/415 that would tell it about the API).
  scim.use(authenticate(o.store));
  scim.use(urlGuard());
  scim.use((req, _res, next) => {
    if (['POST', 'PUT', 'PATCH'].includes(req.method)) {
      const len = Number(req.get('content-length') ?? '0');
      const hasBody = len > 0 || req.get('transfer-encoding') !== undefined;
      if (hasBody && !req.is(JSON_TYPES)) {
        return next(
          new ScimError(415, `Content-Type must be application/scim+json (got ${req.get('content-type') ?? 'none'})`, 'invalidSyntax'),
        );
      }
    }
    next();
  });
  // Parsed once, then checked once (depth, text no store can hold) before any route sees it.
  const parseJson = guardedJsonParser({ types: JSON_TYPES, limit: o.maxBodyBytes, maxDepth: o.maxJsonDepth ?? DEFAULT_MAX_JSON_DEPTH });
  // Only requests that carry a body pay for the body parser.
  scim.use((req, res, next) => (BODY_METHODS.has(req.method) ? parseJson(req, res, next) : next()));
  if (o.records) scim.use(o.records.scim);
  if (o.governance) scim.use(o.governance((req) => contextOf(req)));


  const contextOf = (req: Request): RequestContext => {
    const p = req.principal!;
    return {
      actor: { client: p.token.name, tokenId: p.token.id, ...(p.token.userId ? { userId: p.token.userId } : {}) },
      scopes: p.scopes,
      requestId: req.requestId,
      baseUrl: baseUrlOf(req),
      ...auditReason(req),
    };
  };

  // Resource endpoints first: they carry almost all traffic.
  for (const rt of o.service.registry.resourceTypes()) {
    scim.use(rt.type.endpoint, resourceRouter(o.service, rt, contextOf));
  }
  scim.use(discoveryRouter(o.service.registry, baseUrlOf, { maxOperations: o.bulkMaxOperations, maxPayloadSize: o.maxBodyBytes }));
  scim.post('/Bulk', async (req, res) => {
    requireScope(req, 'scim.read');
    const out = await runBulk(o.service, req.body, contextOf(req), (s) => req.principal!.scopes.has(s), o.bulkMaxOperations);
    sendScim(res, 200, out);
  });
  scim.use(rootSearchRouter(o.service, contextOf));
  scim.all('/Me', () => {
    throw new ScimError(501, '/Me is not supported: tokens belong to clients, not to SCIM Users');
  });
  scim.use((req) => {
    throw new ScimError(404, `no SCIM endpoint at ${req.method} ${req.path}`);
  });
  app.use(SCIM_BASE_PATH, scim);

  app.use((req: Request, res: Response) => {
    sendError(res, new ScimError(404, `not found: ${req.path} (the SCIM API is at ${SCIM_BASE_PATH})`));
  });

  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  app.use((err: unknown, req: Request, res: Response, _next: NextFunction) => {
    const scimErr = toScimError(err) ?? internalQueryLimitError(err);
    if (scimErr) {
      // 4xx and 501 (/Me) are answers given on purpose, not failures: no stack, and no detail,
      // which may quote the client's input (a filter, a value, a secret it should not have sent).
      if (scimErr.status === 503) {
        // load shedding (every query worker busy): an operator wants to see it, but it is no bug
        o.logger.warn({ requestId: req.requestId, method: req.method, status: 503 }, 'request shed: server busy');
      } else if (scimErr.status >= 500 && scimErr.status !== 501) o.logger.error({ requestId: req.requestId, err }, 'request failed');
      else {
        o.logger.debug(
          { requestId: req.requestId, method: req.method, status: scimErr.status, ...(scimErr.scimType ? { scimType: scimErr.scimType } : {}) },
          'request rejected',
        );
      }
      closeIfBodyUnread(req, res);
      sendError(res, scimErr);
      return;
    }
    o.logger.error({ requestId: req.requestId, err }, 'internal error');
    sendError(res, new ScimError(500, `internal error; quote request id ${req.requestId} when reporting it`));
  });
  return app;
}

/**
 * X-Audit-Reason: why the caller makes a change, recorded in its audit event (R18). Plain text up to
 * 500 characters; control characters are dropped, and a secret-looking reason is refused.
 */
function auditReason(req: Request): { reason?: string } {
  const raw = req.get('x-audit-reason');
  if (raw === undefined) return {};
  const reason = raw.replace(/[\u0000-\u001f\u007f]/g, ' ').trim().slice(0, 500);
  if (reason === '') return {};
  if (secretKind(reason) !== undefined) throw invalidSyntax('X-Audit-Reason looks like it contains a secret; it is recorded in the audit log');
  return { reason };
}

/**
 * A request rejected before its body was read (401, 415, 413 by Content-Length): the connection is
 * not reused, so the unread body is neither parsed nor waited for on a kept-alive connection.
 */
function closeIfBodyUnread(req: Request, res: Response): void {
  const hasBody = Number(req.get('content-length') ?? '0') > 0 || req.get('transfer-encoding') !== undefined;
  if (hasBody && !req.complete && !res.headersSent) res.setHeader('Connection', 'close');
}

/** body-parser's errors, and our own, as SCIM errors; anything else is internal (undefined). */
function toScimError(err: unknown): ScimError | undefined {
  if (err instanceof ScimError) return err;
  if (typeof err !== 'object' || err === null) return undefined;
  const type = (err as { type?: unknown }).type;
  switch (type) {
    case 'entity.parse.failed':
      return invalidSyntax(`the request body is not valid JSON: ${(err as Error).message}`);
    case 'entity.too.large':
      return new ScimError(413, `the request body is larger than ${(err as { limit?: number }).limit ?? 'allowed'} bytes`);
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return new ScimError(415, (err as Error).message);
    case 'request.aborted':
      return new ScimError(400, 'the request was aborted by the client');
    default:
      break;
  }
  // Express itself rejects a malformed percent-encoding in a path parameter (GET /Users/%E0%A4%A)
  // with a URIError marked status 400: the client's fault, not an internal error.
  if (err instanceof URIError && (err as { status?: unknown }).status === 400) {
    return invalidSyntax(`the request path is not valid percent-encoding: ${err.message}`);
  }
  return undefined;
}
