/**
 * The login host (what AGENTROSTER_ENTRA_AUTHORITY_HOST points at):
 * - GET  /{tenant}/v2.0/.well-known/openid-configuration   (MSAL's only discovery call when the
 *        authority host is listed in `knownAuthorities`; reference/entra.md §3.1 row A)
 * - GET  /{tenant}/.well-known/openid-configuration        (protocolMode "OIDC")
 * - GET  /common/discovery/instance                         (AAD instance discovery, for completeness)
 * - GET  /{tenant}/discovery/v2.0/keys, /common/discovery/keys (JWKS)
 * - POST /{tenant}/oauth2/v2.0/token                       (client credentials)
 */
import { randomUUID } from 'node:crypto';
import type { TokenService } from './auth.js';
import { aadError } from './errors.js';
import type { Faults } from './faults.js';

export interface LoginResponse {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

const jsonHeaders = { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store, no-cache' };

export function handleLogin(
  tokens: TokenService,
  faults: Faults,
  req: { method: string; path: string; query: URLSearchParams; headers: Record<string, string>; body: string; origin: string },
): LoginResponse {
  const { method, path } = req;
  const form = method === 'POST' ? new URLSearchParams(req.body) : new URLSearchParams();
  const clientId = form.get('client_id')?.toLowerCase() ?? undefined;
  const info = { target: 'token' as const, method, path, inBatch: false, clientId };
  const entry = faults.begin(info, req.query.toString(), { requestKey: `${form.get('grant_type') ?? ''} ${form.get('scope') ?? ''}` });
  const done = (r: LoginResponse): LoginResponse => {
    faults.finish(entry, r.status, r);
    return r;
  };
  const correlationId = form.get('client-request-id') ?? req.query.get('client-request-id') ?? randomUUID();

  const failure = faults.takeFailure(entry);
  if (failure) {
    const headers: Record<string, string> = { ...jsonHeaders };
    if (failure.retryAfter !== undefined) headers['retry-after'] = String(failure.retryAfter);
    const body =
      failure.status === 429
        ? aadError('temporarily_unavailable', 90055, 'There are too many incoming requests. Please try again later.', correlationId)
        : failure.status >= 500
          ? aadError('temporarily_unavailable', 90033, 'A transient error has occurred. Please try again.', correlationId)
          : aadError('invalid_request', 90002, failure.message ?? 'Injected failure.', correlationId);
    return done({ status: failure.status, headers, body });
  }
  const throttle = faults.checkThrottle(entry);
  if (throttle) {
    return done({
      status: 429,
      headers: { ...jsonHeaders, 'retry-after': String(throttle.retryAfter) },
      body: aadError('temporarily_unavailable', 90055, 'There are too many incoming requests. Please try again later.', correlationId),
    });
  }

  let m: RegExpExecArray | null;
  if (method === 'GET' && (m = /^\/([^/]+)(?:\/v2\.0)?\/\.well-known\/openid-configuration$/i.exec(path))) {
    const tenant = m[1] as string;
    if (!tokens.isTenant(tenant)) {
      return done({ status: 400, headers: jsonHeaders, body: aadError('invalid_tenant', 90002, `Tenant '${tenant}' not found.`, correlationId) });
    }
    return done({ status: 200, headers: jsonHeaders, body: tokens.openidConfiguration(req.origin, tenant) });
  }
  if (method === 'GET' && /^\/common\/discovery\/instance$/i.test(path)) {
    const host = new URL(req.origin).host;
    return done({
      status: 200,
      headers: jsonHeaders,
      body: {
        tenant_discovery_endpoint: `${req.origin}/${tokens.tenantId}/v2.0/.well-known/openid-configuration`,
        'api-version': '1.1',
        metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
      },
    });
  }
  if (method === 'GET' && /^\/[^/]+\/discovery(?:\/v2\.0)?\/keys$/i.test(path)) {
    return done({ status: 200, headers: jsonHeaders, body: tokens.jwks() });
  }
  if ((m = /^\/([^/]+)\/oauth2\/v2\.0\/token$/i.exec(path))) {
    if (method !== 'POST') {
      return done({ status: 405, headers: jsonHeaders, body: aadError('invalid_request', 900561, 'The endpoint only accepts POST requests.', correlationId) });
    }
    if (!(req.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded')) {
      return done({
        status: 400,
        headers: jsonHeaders,
        body: aadError('invalid_request', 900144, "The request body must contain the following parameter: 'grant_type'.", correlationId),
      });
    }
    const result = tokens.token({ tenant: m[1] as string, form, origin: req.origin });
    if (result.status === 200) faults.counters.tokensIssued++;
    return done({ status: result.status, headers: jsonHeaders, body: result.body });
  }
  return done({ status: 404, headers: jsonHeaders, body: aadError('invalid_request', 90019, 'No tenant-identifying information found in the request.', correlationId) });
}
