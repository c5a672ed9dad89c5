// Bearer authentication and scope checks (design.md: scim.read, scim.write, scim.revoke,
// agents.approve, admin). 401 for a missing or wrong token, 403 for a missing scope, both with
// SCIM error bodies.

import type { NextFunction, Request, Response } from 'express';
import { ScimError } from '../scim/errors.js';
import type { Scope } from '../resources/context.js';
import type { Store, TokenRecord } from '../store/types.js';
import { boundUserProblem, hashToken, tokenExpiredEvent } from './tokens.js';

export interface Principal {
  token: TokenRecord;
  scopes: Set<Scope>;
}

declare module 'express-serve-static-core' {
  interface Request {
    principal?: Principal;
    requestId: string;
  }
}

const CACHE_MS = 5_000; // a revoked token stops working within this many milliseconds
const USER_CACHE_MS = 5_000; // a deactivated or deleted bound User's tokens stop within this long
const TOUCH_MS = 60_000; // last-used is written at most this often per token

/** Scopes a token effectively holds: admin holds all; write implies read. */
export function effectiveScopes(scopes: readonly string[]): Set<Scope> {
  const s = new Set(scopes as Scope[]);
  if (s.has('admin')) return new Set<Scope>(['scim.read', 'scim.write', 'scim.revoke', 'agents.approve', 'admin']);
  if (s.has('scim.write') || s.has('scim.revoke') || s.has('agents.approve')) s.add('scim.read');
  return s;
}

/** 401 with a SCIM body; `invalidToken` adds RFC 6750's error="invalid_token" (a token was sent but is unusable). */
export function unauthorized(detail: string, invalidToken = false): ScimError {
  const challenge = invalidToken ? `Bearer realm="agentroster", error="invalid_token", error_description="${detail.replace(/["\\]/g, "'")}"` : 'Bearer realm="agentroster"';
  return new ScimError(401, detail, undefined, { 'WWW-Authenticate': challenge });
}

export function authenticate(store: Store) {
  const cache = new Map<string, { at: number; token: TokenRecord | undefined }>();
  const users = new Map<string, { at: number; problem: string | undefined }>();
  const touched = new Map<string, number>();
  /** expired tokens whose `expire` audit event is written (or being written) by this process */
  const expiryRecorded = new Set<string>();
  return async (req: Request, _res: Response, next: NextFunction): Promise<void> => {
    const header = req.headers.authorization;
    const m = header === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m?.[1]) return next(unauthorized('a bearer token is required (Authorization: Bearer <token>)'));
    const hash = hashToken(m[1]);
    const now = Date.now();
    let hit = cache.get(hash);
    if (!hit || now - hit.at > CACHE_MS) {
      hit = { at: now, token: await store.tokens.findByHash(hash) };
      if (cache.size > 10_000) cache.clear();
      cache.set(hash, hit);
    }
    const token = hit.token;
    if (!token || token.revoked) return next(unauthorized('the bearer token is not valid', true));
    if (token.expiresAt !== undefined && Date.parse(token.expiresAt) <= now) {
      // One `expire` audit event per token: the store's marker makes it once across instances,
      // this set spares the database a write per request from a client that keeps trying.
      if (token.expiryRecordedAt === undefined && !expiryRecorded.has(token.id)) {
        if (expiryRecorded.size > 10_000) expiryRecorded.clear();
        expiryRecorded.add(token.id);
        try {
          await store.tokens.recordExpiry(token.id, tokenExpiredEvent(token, new Date(now).toISOString(), req.requestId));
        } catch {
          expiryRecorded.delete(token.id); // the refusal stands; a later request tries to record it again
        }
      }
      return next(unauthorized(`the bearer token expired at ${token.expiresAt}; create a new one (agentroster token create)`, true));
    }
    if (token.userId !== undefined) {
      // A token bound to a User acts for that person only while they are an active human User.
      let u = users.get(token.userId);
      if (!u || now - u.at > USER_CACHE_MS) {
        u = { at: now, problem: await boundUserProblem(store, token.userId) };
        if (users.size > 10_000) users.clear();
        users.set(token.userId, u);
      }
      if (u.problem !== undefined) return next(unauthorized(`the bearer token is bound to a User who can no longer act: ${u.problem}`, true));
    }
    if (now - (touched.get(token.id) ?? 0) > TOUCH_MS) {
      touched.set(token.id, now);
      await store.tokens.touch(token.id, new Date(now).toISOString());
    }
    req.principal = { token, scopes: effectiveScopes(token.scopes) };
    next();
  };
}

export function requireScope(req: Request, scope: Scope): void {
  if (!req.principal?.scopes.has(scope)) {
    throw new ScimError(403, `this token lacks the "${scope}" scope`);
  }
}
