// Bearer tokens: 32 random bytes, shown once, stored as SHA-256 (a high-entropy secret needs no
// slow hash; the hash only has to make a stolen database useless for authentication).

import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { invalidValue, ScimError } from '../scim/errors.js';
import { SCOPES, type Scope } from '../resources/context.js';
import { resolvePeople } from '../resources/governance/common.js';
import type { Actor, AuditEventInput, Json, Store, TokenRecord } from '../store/types.js';

export const TOKEN_PREFIX = 'art_';

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function parseScopes(text: string | string[]): Scope[] {
  const list = (Array.isArray(text) ? text : text.split(/[\s,]+/)).map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) throw invalidValue(`at least one scope is required (${SCOPES.join(', ')})`);
  for (const s of list) {
    if (!SCOPES.includes(s as Scope)) throw invalidValue(`unknown scope "${s}" (known: ${SCOPES.join(', ')})`);
  }
  return [...new Set(list)] as Scope[];
}

export interface NewToken {
  id: string;
  name: string;
  token: string;
  scopes: Scope[];
  /** absent: the token never expires */
  expiresAt?: string;
}

/** Default lifetime of a bearer token: 90 days (token create --ttl). */
export const DEFAULT_TOKEN_TTL_MS = 90 * 86_400_000;
/** The longest lifetime --ttl accepts (10 years); longer is `never`, which warns. */
export const MAX_TOKEN_TTL_MS = 3650 * 86_400_000;

const TTL_UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A token lifetime: a positive whole number with a unit s, m, h or d ("90d", "12h"), or "never"
 * (null). Throws an invalidValue naming the accepted forms.
 */
export function parseTtl(text: string): number | null {
  const t = text.trim().toLowerCase();
  if (t === 'never') return null;
  const m = /^(\d{1,9})([smhd])$/.exec(t);
  const ms = m ? Number(m[1]) * TTL_UNITS[m[2]!]! : NaN;
  if (!m || ms <= 0) throw invalidValue(`--ttl "${text}": a positive number with a unit s, m, h or d (e.g. 90d, 12h), or "never"`);
  if (ms > MAX_TOKEN_TTL_MS) throw invalidValue(`--ttl "${text}": at most 3650d (or "never")`);
  return ms;
}

/** resourceType of the audit events of bearer tokens (resourceId: the token id, never its value). */
export const TOKEN_AUDIT_TYPE = 'Token';
/** The actor of changes made with the command line (`agentroster token …`, `keys rotate`). */
export const CLI_ACTOR: Actor = { client: 'cli' };
/** The actor of changes the server makes on its own (bootstrap token, first signing key, expiry). */
export const SYSTEM_ACTOR: Actor = { client: 'system' };

type TokenFacts = Pick<TokenRecord, 'name' | 'scopes' | 'userId' | 'expiresAt'>;

/**
 * What an audit event says about a token: name, scopes, bound User, expiry (null: never). Never
 * the token's value or its hash.
 */
function facts(t: TokenFacts): Json {
  return { name: t.name, scopes: [...t.scopes], ...(t.userId !== undefined ? { userId: t.userId } : {}), expiresAt: t.expiresAt ?? null };
}

/** The facts as unchanged context of a revoke or expire event ({ before, after } both the value). */
function context(t: TokenFacts): Json {
  return Object.fromEntries(Object.entries(facts(t)).map(([k, v]) => [k, { before: v, after: v }]));
}

export function tokenCreatedEvent(t: TokenFacts & { id: string }, actor: Actor, at: string): AuditEventInput {
  return {
    action: 'create',
    resourceType: TOKEN_AUDIT_TYPE,
    resourceId: t.id,
    actor,
    changes: Object.fromEntries(Object.entries(facts(t)).map(([k, v]) => [k, { after: v }])),
    at,
  };
}

export function tokenRevokedEvent(t: TokenRecord, actor: Actor, at: string): AuditEventInput {
  return {
    action: 'revoke',
    resourceType: TOKEN_AUDIT_TYPE,
    resourceId: t.id,
    actor,
    changes: { ...context(t), revoked: { before: false, after: true } },
    at,
  };
}

export function tokenExpiredEvent(t: TokenRecord, at: string, requestId?: string): AuditEventInput {
  return {
    action: 'expire',
    resourceType: TOKEN_AUDIT_TYPE,
    resourceId: t.id,
    actor: SYSTEM_ACTOR,
    ...(requestId !== undefined ? { requestId } : {}),
    reason: 'an expired bearer token was presented and refused (recorded once per token)',
    changes: context(t),
    at,
  };
}

/**
 * Revokes a token by id or name, with its audit event in the same transaction. false: no such
 * token, nothing written. Revoking a revoked token again is true and writes nothing.
 */
export async function revokeToken(store: Store, idOrName: string, actor: Actor, now = new Date()): Promise<boolean> {
  return store.tokens.revoke(idOrName, (t) => tokenRevokedEvent(t, actor, now.toISOString()));
}

export interface CreateTokenOptions {
  /** who creates it, for the audit event; default SYSTEM_ACTOR (the CLI passes CLI_ACTOR) */
  actor?: Actor;
  /** bind the token to this human User (recorded as the actor of its grants and approvals) */
  userId?: string;
  /** lifetime in milliseconds; null: never expires; default DEFAULT_TOKEN_TTL_MS */
  ttlMs?: number | null;
  now?: Date;
}

/**
 * Why a User id cannot be bound to a token, or undefined when it is an active human User (agents'
 * User projections and Groups are not people; a deactivated or deleted User acts for no one).
 */
export async function boundUserProblem(store: Store, userId: string): Promise<string | undefined> {
  const p = (await resolvePeople(store, [userId])).get(userId);
  if (!p || p.kind === 'missing') return `no User "${userId}"`;
  if (p.kind !== 'human') return `"${userId}" is ${p.kind === 'agent' ? 'an agent' : `a ${p.kind}`}, not a human User`;
  if (!p.active) return `User "${userId}" is not active`;
  return undefined;
}

/**
 * Creates a bearer token and returns it (the only time its value exists outside the client). The
 * 4th argument is the bound User id (older callers) or the options.
 */
export async function createToken(
  store: Store,
  name: string,
  scopes: Scope[],
  userIdOrOptions?: string | CreateTokenOptions,
  nowArg?: Date,
): Promise<NewToken> {
  const o: CreateTokenOptions = typeof userIdOrOptions === 'string' ? { userId: userIdOrOptions } : { ...userIdOrOptions };
  const now = o.now ?? nowArg ?? new Date();
  if (!/^[A-Za-z0-9._@-]{1,64}$/.test(name)) {
    throw invalidValue('token name: 1-64 characters of letters, digits, ".", "_", "@" or "-"');
  }
  const ttl = o.ttlMs === undefined ? DEFAULT_TOKEN_TTL_MS : o.ttlMs;
  if (ttl !== null && (!Number.isFinite(ttl) || ttl <= 0)) throw invalidValue('token lifetime must be positive');
  if (o.userId !== undefined) {
    const problem = await boundUserProblem(store, o.userId);
    if (problem) throw invalidValue(`--user: ${problem}; a token can only be bound to an active human User`);
  }
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  const id = randomUUID();
  const expiresAt = ttl === null ? undefined : new Date(now.getTime() + ttl).toISOString();
  const record = {
    id,
    name,
    hash: hashToken(token),
    scopes,
    created: now.toISOString(),
    ...(o.userId ? { userId: o.userId } : {}),
    ...(expiresAt ? { expiresAt } : {}),
  };
  await store.tokens.create(record, tokenCreatedEvent(record, o.actor ?? SYSTEM_ACTOR, record.created));
  return { id, name, token, scopes, ...(expiresAt ? { expiresAt } : {}) };
}

/** First start: an admin token, printed once, so that the two-command quickstart works. */
export async function ensureBootstrapToken(store: Store): Promise<NewToken | undefined> {
  if ((await store.tokens.count()) > 0) return undefined;
  try {
    return await createToken(store, 'bootstrap-admin', ['admin'], { actor: SYSTEM_ACTOR });
  } catch (e) {
    // Another instance on the same database created it first: that one prints it.
    if (e instanceof ScimError && e.status === 409) return undefined;
    throw e;
  }
}
