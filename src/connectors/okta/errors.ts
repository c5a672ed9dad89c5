// Okta errors and what they mean for sync. "Only the errorCode property is supported for runtime
// error flow control" (okta.md §2): branch on status and errorCode, and on the documented "already
// exists" cause of E0000001 — never on other message texts.

import { PermanentError, RetryableError, type SyncError } from '../../sync/errors.js';

export type FailureKind = 'api' | 'http' | 'network';

/** What went wrong with one Okta call, whatever the SDK threw. */
export class OktaFailure extends Error {
  override name = 'OktaFailure';
  constructor(
    readonly kind: FailureKind,
    readonly status: number,
    readonly code: string,
    readonly summary: string,
    readonly causes: string[] = [],
    readonly requestId?: string,
  ) {
    super(`${status ? `${status} ` : ''}${code}: ${summary}${causes.length ? ` (${causes.join('; ')})` : ''}`);
  }

  get notFound(): boolean {
    return this.status === 404;
  }

  /** E0000001 "An object with this field already exists in the current organization" */
  get alreadyExists(): boolean {
    return this.status === 400 && this.code === 'E0000001' && this.causes.some((c) => /already exists/i.test(c));
  }

  /** the request may or may not have been carried out: connection lost, timeout, 5xx */
  get outcomeUnknown(): boolean {
    return this.kind === 'network' || this.status >= 500;
  }

  get transient(): boolean {
    return this.outcomeUnknown || this.status === 429;
  }

  describe(): string {
    return `${this.message}${this.requestId ? ` [X-Okta-Request-Id ${this.requestId}]` : ''}`;
  }
}

function header(headers: unknown, name: string): string | undefined {
  const h = headers as { get?: (n: string) => string | null } | Record<string, string> | undefined;
  if (!h) return undefined;
  if (typeof (h as { get?: unknown }).get === 'function') return (h as { get: (n: string) => string | null }).get(name) ?? undefined;
  const v = (h as Record<string, string>)[name];
  return typeof v === 'string' ? v : undefined;
}

/** Normalise OktaApiError, HttpError (non-JSON bodies: gateways), node-fetch errors. */
export function oktaFailure(e: unknown): OktaFailure | undefined {
  if (e instanceof OktaFailure) return e;
  if (typeof e !== 'object' || e === null) return undefined;
  const x = e as Record<string, unknown>;
  const name = String(x.name ?? (x.constructor as { name?: string } | undefined)?.name ?? '');
  if (name === 'OktaApiError') {
    const causes = Array.isArray(x.errorCauses) ? (x.errorCauses as { errorSummary?: unknown }[]).map((c) => String(c?.errorSummary ?? '')) : [];
    return new OktaFailure('api', Number(x.status) || 0, String(x.errorCode ?? `HTTP${String(x.status)}`), String(x.errorSummary ?? ''), causes, header(x.headers, 'x-okta-request-id'));
  }
  if (name === 'HttpError') {
    const status = Number(x.status) || 0;
    return new OktaFailure('http', status, `HTTP${status}`, String(x.message ?? '').slice(0, 200), [], header(x.headers, 'x-okta-request-id'));
  }
  if (name === 'FetchError' || name === 'AbortError' || x.code === 'ECONNRESET' || x.code === 'ECONNREFUSED' || x.type === 'request-timeout') {
    const what = x.type === 'request-timeout' ? 'timeout' : String(x.code ?? x.type ?? 'network error');
    return new OktaFailure('network', 0, what, String(x.message ?? what).slice(0, 300));
  }
  if (e instanceof Error && /rateLimit\.requestTimeout/.test(e.message)) return new OktaFailure('network', 0, 'timeout', e.message);
  return undefined;
}

/** Which scope / admin permission an operation needs, for 403 messages. */
export const SCOPE_HINTS = {
  users: 'okta.users.manage (API token: an admin allowed to manage users)',
  readUsers: 'okta.users.read',
  groups: 'okta.groups.manage (the token\'s admin must be allowed to manage these groups)',
  readGroups: 'okta.groups.read',
  types: 'okta.userTypes.manage and okta.schemas.manage (super admin or org admin)',
  logs: 'okta.logs.read',
  aiAgents: 'okta.aiAgents.manage (super admin) and the Okta for AI Agents subscription',
} as const;

export type ScopeHint = keyof typeof SCOPE_HINTS;

/** An Okta failure as a SyncError for the engine: retryable or not, with an actionable message. */
export function toSyncError(e: unknown, what: string, hint?: ScopeHint): SyncError | unknown {
  const f = oktaFailure(e);
  if (!f) return e;
  const msg = `${what}: ${f.describe()}`;
  if (f.status === 429) return new RetryableError(`${msg} (rate limited)`, f.code, undefined, { cause: f, throttled: true });
  if (f.outcomeUnknown) return new RetryableError(msg, f.kind === 'network' ? 'outcomeUnknown' : f.code, undefined, { cause: f });
  if (f.status === 401) {
    return new RetryableError(
      `${msg}. Okta rejected the credential: check AGENTROSTER_OKTA_TOKEN, or the service app's client id, key and granted scopes (token-endpoint failures surface as E0000011 too)`,
      f.code,
      undefined,
      { cause: f },
    );
  }
  if (f.status === 403) {
    return new PermanentError(
      `${msg}. The credential lacks a permission${hint ? `: ${SCOPE_HINTS[hint]}` : ''}. Grant it, then run "agentroster sync retry".`,
      f.code,
      { cause: f },
    );
  }
  return new PermanentError(msg, f.code, { cause: f });
}
