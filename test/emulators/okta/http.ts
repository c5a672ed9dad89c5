// Shared HTTP helpers for the Okta emulator: ids, the emulator clock, Okta error bodies, JSON replies.
//
// Sources (see /work/shared/docs/reference/okta.md §2, §5):
// - error body {errorCode, errorSummary, errorLink, errorId, errorCauses}; summaries from the Okta
//   error-code catalogue (okta-developer-docs data/error-codes.json);
// - ids are 20 characters: a 3-character prefix plus 17 alphanumerics (00u…, 00g…, oty…, osc…, who…, wlp…).
import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import type { Request, Response } from 'express';

const ALPHANUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

export function randomAlnum(length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += ALPHANUM[randomInt(ALPHANUM.length)];
  return s;
}

/** Okta object id: `prefix` + alphanumerics up to 20 characters (e.g. `00u` + 17). */
export function oktaId(prefix: string): string {
  return prefix + randomAlnum(20 - prefix.length);
}

export function requestId(): string {
  // Real X-Okta-Request-Id values look like "ZCCzm8j2wTvzwele2NwLnwAADSc" (27 url-safe characters).
  return randomBytes(20).toString('base64url').slice(0, 27);
}

export function uuid(): string {
  return randomUUID();
}

/** The emulator's notion of "now". `offsetMs` lets tests skew the server clock against the client's. */
export class Clock {
  constructor(public offsetMs = 0) {}
  now(): number {
    return Date.now() + this.offsetMs;
  }
  iso(ms = this.now()): string {
    return new Date(ms).toISOString();
  }
}

export interface ErrorCause {
  errorSummary: string;
}

export interface OktaErrorBody {
  errorCode: string;
  errorSummary: string;
  errorLink: string;
  errorId: string;
  errorCauses: ErrorCause[];
}

/** Thrown by domain code; rendered as an Okta error body by the route layer. */
export class OktaError extends Error {
  readonly headers: Record<string, string>;
  constructor(
    readonly status: number,
    readonly errorCode: string,
    readonly errorSummary: string,
    readonly errorCauses: ErrorCause[] = [],
    headers: Record<string, string> = {},
  ) {
    super(`${status} ${errorCode} ${errorSummary}`);
    this.headers = headers;
  }

  body(): OktaErrorBody {
    return {
      errorCode: this.errorCode,
      errorSummary: this.errorSummary,
      errorLink: this.errorCode,
      errorId: 'oae' + randomAlnum(22), // real errorIds are 25 characters, e.g. oaeHfmOAx1iRLa0H10DeMz5fQ
      errorCauses: this.errorCauses,
    };
  }
}

// ---- the error codes the emulator uses (summaries verbatim from the Okta catalogue) ----

/** 400 E0000001 "Api validation failed: {0}" with causes. */
export function validationError(what: string, causes: string[]): OktaError {
  return new OktaError(400, 'E0000001', `Api validation failed: ${what}`, causes.map((c) => ({ errorSummary: c })));
}

export function malformedBody(): OktaError {
  return new OktaError(400, 'E0000003', 'The request body was not well-formed.');
}

export function accessDenied(headers: Record<string, string> = {}): OktaError {
  return new OktaError(403, 'E0000006', 'You do not have permission to perform the requested action', [], headers);
}

/** 404 E0000007, e.g. "Not found: Resource not found: 00u… (User)" (recorded from a live org). */
export function notFound(id: string, kind: string): OktaError {
  return new OktaError(404, 'E0000007', `Not found: Resource not found: ${id} (${kind})`);
}

export function internalError(): OktaError {
  return new OktaError(500, 'E0000009', 'Internal Server Error');
}

export function invalidToken(headers: Record<string, string> = {}): OktaError {
  return new OktaError(401, 'E0000011', 'Invalid token provided', [], headers);
}

export function featureNotEnabled(): OktaError {
  return new OktaError(401, 'E0000015', 'You do not have permission to access the feature you are requesting');
}

export function alreadyActive(): OktaError {
  return new OktaError(403, 'E0000016', 'Activation failed because the user is already active');
}

export function mediaTypeMismatch(): OktaError {
  return new OktaError(400, 'E0000021', 'Bad request.  Accept and/or Content-Type headers likely do not match supported values.');
}

export function methodNotAllowed(): OktaError {
  return new OktaError(405, 'E0000022', 'The endpoint does not support the provided HTTP method');
}

export function invalidSearch(): OktaError {
  return new OktaError(400, 'E0000031', 'Invalid search criteria.');
}

export function wrongStatus(): OktaError {
  return new OktaError(403, 'E0000038', "This operation is not allowed in the user's current status.");
}

export function rateLimited(): OktaError {
  return new OktaError(429, 'E0000047', 'API call exceeded rate limit due to too many requests.');
}

export function invalidScimFilter(): OktaError {
  return new OktaError(400, 'E0000053', 'Invalid SCIM filter.');
}

// ---- replies ----

/**
 * Send a JSON reply exactly as Okta does (`Content-Type: application/json`, no charset).
 * Every reply goes through here so that the "drop the response after commit" fault can cut the socket
 * after the handler has already changed state.
 */
export function reply(res: Response, status: number, body?: unknown): void {
  if (res.locals['dropResponse'] === true) {
    res.locals['dropped'] = true;
    res.emit('okta:dropped');
    res.socket?.destroy();
    return;
  }
  res.status(status);
  if (body === undefined || status === 204) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Content-Length', Buffer.byteLength(text));
  res.end(text);
}

export function replyError(res: Response, err: OktaError): void {
  for (const [k, v] of Object.entries(err.headers)) res.setHeader(k, v);
  reply(res, err.status, err.body());
}

/** Wrap an async route handler: OktaError → Okta error body; anything else → 500 E0000009. */
export function route(
  fn: (req: Request, res: Response) => void | Promise<void>,
): (req: Request, res: Response) => Promise<void> {
  return async (req, res) => {
    try {
      await fn(req, res);
    } catch (e) {
      if (e instanceof OktaError) {
        replyError(res, e);
      } else {
        res.locals['internalError'] = e;
        replyError(res, internalError());
      }
    }
  };
}

// ---- request parsing ----

/** Express 5's req.query is a getter that re-parses on each access: read it once into a plain map. */
export function queryOf(req: Request): Record<string, string> {
  const out: Record<string, string> = {};
  const url = new URL(req.originalUrl, 'http://x');
  for (const [k, v] of url.searchParams) if (!(k in out)) out[k] = v;
  return out;
}

export function param(req: Request, name: string): string {
  const v = (req.params as Record<string, string | undefined>)[name];
  if (v === undefined) throw internalError();
  return v;
}

export function bodyObject(req: Request): Record<string, unknown> {
  const b: unknown = req.body;
  if (b === undefined || b === null) return {};
  if (typeof b !== 'object' || Array.isArray(b)) throw malformedBody();
  return b as Record<string, unknown>;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parse Okta's boolean query parameters ("true"/"false"), with a default. */
export function boolParam(value: string | undefined, dflt: boolean): boolean {
  if (value === undefined || value === '') return dflt;
  return value.toLowerCase() === 'true';
}

/** `limit` query parameter: default, clamp to [1, max]. */
export function limitParam(value: string | undefined, dflt: number, max: number): number {
  if (value === undefined || value === '') return dflt;
  const n = Number.parseInt(value, 10);
  if (!Number.isFinite(n) || n < 1) return dflt;
  return Math.min(n, max);
}
