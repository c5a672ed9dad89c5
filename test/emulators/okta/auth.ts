// Authentication and authorization: `Authorization: SSWS <api token>`, and OAuth 2.0 service apps
// (client_credentials with a private_key_jwt client assertion) via POST /oauth2/v1/token, then
// `Authorization: Bearer <access token>` with Okta scopes.
//
// Sources: okta-developer-docs guides/implement-oauth-for-okta-serviceapp (assertion claims: aud =
// the token endpoint URL, iss = sub = client_id, exp at most one hour ahead, optional jti "to prevent the
// JWT from being replayed"; response {token_type:"Bearer", expires_in:3600, access_token, scope};
// "The lifetime for this token is fixed at one hour"), guides/implement-oauth-for-okta ("Use the
// okta.<resource>.read scopes to perform GET API operations. Use the okta.<resource>.manage scopes to
// perform any GET operations and POST, PUT, and DELETE"), data/oauth2-error-codes.json (invalid_client
// descriptions, use_dpop_nonce with a `dpop-nonce` header), guides/dpop; okta.md §3.3 item 7 (the SDK's
// PrivateKey mode always attaches a DPoP proof to the token request; it is ignored unless the client
// requires DPoP); the error catalogue (E0000011 "Invalid token provided", E0000006 access denied).
import express from 'express';
import { compactVerify, decodeProtectedHeader, importJWK, calculateJwkThumbprint, type JWK } from 'jose';
import { createHash } from 'node:crypto';
import {
  OktaError,
  accessDenied,
  invalidToken,
  randomAlnum,
  replyError,
} from './http.js';
import type { LogActor } from './logs.js';
import type { Clock } from './http.js';

export interface OAuthClientConfig {
  clientId?: string;
  /** Public keys (JWK) registered for private_key_jwt. */
  jwks: JWK[];
  /** Okta API scopes granted to the service app (its grants collection). */
  scopes: string[];
  /** Require DPoP-bound access tokens (the org answers use_dpop_nonce first). */
  requireDpop?: boolean;
  name?: string;
}

interface OAuthClient {
  clientId: string;
  jwks: JWK[];
  scopes: Set<string>;
  requireDpop: boolean;
  name: string;
}

interface AccessToken {
  clientId: string;
  scopes: Set<string>;
  expiresAt: number;
  dpopJkt?: string;
}

export interface Principal {
  kind: 'ssws' | 'oauth';
  actor: LogActor;
  clientId?: string;
  scopes: Set<string> | 'all';
}

function oauthError(res: express.Response, status: number, error: string, description: string, headers: Record<string, string> = {}) {
  for (const [k, v] of Object.entries(headers)) res.setHeader(k, v);
  res.status(status);
  const text = JSON.stringify({ error, error_description: description });
  res.setHeader('Content-Type', 'application/json');
  res.setHeader('Cache-Control', 'no-cache, no-store');
  res.setHeader('Pragma', 'no-cache');
  res.end(text);
}

function b64json(part: string | undefined): Record<string, unknown> | undefined {
  if (!part) return undefined;
  try {
    const v: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

export class Auth {
  readonly apiTokens = new Set<string>();
  private readonly clients = new Map<string, OAuthClient>();
  private readonly tokens = new Map<string, AccessToken>();
  private readonly usedJtis = new Set<string>();
  private readonly dpopNonces = new Set<string>();
  /** Access-token lifetime in seconds (Okta: fixed at one hour). Lower it to test token renewal. */
  accessTokenTtlSeconds = 3600;
  /** Token-endpoint requests, for assertions about token caching. */
  tokenRequests = 0;

  constructor(
    private readonly clock: Clock,
    private readonly orgUrl: () => string,
    private readonly adminActor: () => LogActor,
  ) {}

  registerClient(cfg: OAuthClientConfig): string {
    const clientId = cfg.clientId ?? `0oa${randomAlnum(17)}`;
    this.clients.set(clientId, {
      clientId,
      jwks: cfg.jwks,
      scopes: new Set(cfg.scopes),
      requireDpop: cfg.requireDpop ?? false,
      name: cfg.name ?? 'agentroster service app',
    });
    return clientId;
  }

  /** Invalidate every issued access token (e.g. to test the SDK's one-shot re-authentication). */
  revokeAllAccessTokens(): void {
    this.tokens.clear();
  }

  // ---- POST /oauth2/v1/token ----

  tokenRoute(): express.RequestHandler {
    return async (req, res) => {
      this.tokenRequests += 1;
      const body = (req.body ?? {}) as Record<string, unknown>;
      const str = (k: string) => (typeof body[k] === 'string' ? (body[k] as string) : undefined);
      if (str('grant_type') !== 'client_credentials') {
        oauthError(res, 400, 'unsupported_grant_type', `The authorization grant type is not supported by the authorization server. Configured grant types: [client_credentials].`);
        return;
      }
      if (str('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
        oauthError(res, 400, 'invalid_request', 'The client_assertion_type is invalid.');
        return;
      }
      const assertion = str('client_assertion') ?? '';
      const [h, p] = assertion.split('.');
      const header = b64json(h);
      const claims = b64json(p);
      if (!header || !claims) {
        oauthError(res, 401, 'invalid_client', 'The parsing of the client_assertion failed.');
        return;
      }
      const client = typeof claims['iss'] === 'string' ? this.clients.get(claims['iss']) : undefined;
      if (!client) {
        oauthError(res, 401, 'invalid_client', 'The issuer claim for client_assertion is not a valid client_id.');
        return;
      }
      if (claims['sub'] !== client.clientId) {
        oauthError(res, 401, 'invalid_client', 'The subject claim for client_assertion is not a valid client_id.');
        return;
      }
      if (claims['aud'] !== `${this.orgUrl()}/oauth2/v1/token`) {
        oauthError(res, 401, 'invalid_client', 'The audience claim for client_assertion must be the endpoint invoked for the request.');
        return;
      }
      const nowSec = Math.floor(this.clock.now() / 1000);
      const exp = claims['exp'];
      if (typeof exp !== 'number') {
        oauthError(res, 401, 'invalid_client', "The client_assertion must contain the 'exp' claim as seconds since epoch.");
        return;
      }
      if (exp <= nowSec) {
        oauthError(res, 401, 'invalid_client', 'The client_assertion token is expired.');
        return;
      }
      if (exp > nowSec + 3600 + 60) {
        oauthError(res, 401, 'invalid_client', 'The client_assertion token has an expiration too far into the future.');
        return;
      }
      if (typeof claims['iat'] === 'number' && claims['iat'] > nowSec + 60) {
        oauthError(res, 401, 'invalid_client', 'The client_assertion token must be issued before the current time.');
        return;
      }
      const kid = typeof header['kid'] === 'string' ? header['kid'] : undefined;
      const alg = typeof header['alg'] === 'string' ? header['alg'] : '';
      if (!['RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512'].includes(alg)) {
        oauthError(res, 401, 'invalid_client', 'The client_assertion JWT signature algorithm is invalid.');
        return;
      }
      const jwk = kid ? client.jwks.find((k) => k.kid === kid) : client.jwks.length === 1 ? client.jwks[0] : undefined;
      if (!jwk) {
        oauthError(res, 401, 'invalid_client', 'The client_assertion JWT kid is invalid.');
        return;
      }
      try {
        const key = await importJWK(jwk, alg);
        await compactVerify(assertion, key);
      } catch {
        oauthError(res, 401, 'invalid_client', 'The client_assertion signature is invalid.');
        return;
      }
      if (typeof claims['jti'] === 'string') {
        if (this.usedJtis.has(claims['jti'])) {
          oauthError(res, 401, 'invalid_client', 'The client_assertion token has already been used.');
          return;
        }
        this.usedJtis.add(claims['jti']);
      }
      const requested = (str('scope') ?? '').split(/\s+/).filter(Boolean);
      if (requested.length === 0) {
        oauthError(res, 400, 'invalid_scope', 'No scopes were requested.');
        return;
      }
      const denied = requested.filter((s) => !client.scopes.has(s));
      if (denied.length) {
        oauthError(res, 400, 'invalid_scope', 'The requested scope is invalid, unknown, malformed, or exceeds the scope granted by the resource owner.');
        return;
      }
      let dpopJkt: string | undefined;
      if (client.requireDpop) {
        const proof = req.headers['dpop'];
        if (typeof proof !== 'string') {
          oauthError(res, 400, 'invalid_dpop_proof', 'The DPoP proof JWT header is missing.');
          return;
        }
        const ph = decodeProtectedHeaderSafe(proof);
        const pc = b64json(proof.split('.')[1]);
        if (!ph || !pc || ph['typ'] !== 'dpop+jwt' || !ph['jwk']) {
          oauthError(res, 400, 'invalid_dpop_proof', 'The DPoP proof JWT is invalid.');
          return;
        }
        if (typeof pc['nonce'] !== 'string' || !this.dpopNonces.has(pc['nonce'])) {
          const nonce = randomAlnum(32);
          this.dpopNonces.add(nonce);
          oauthError(res, 400, 'use_dpop_nonce', 'Authorization server requires nonce in DPoP proof.', { 'dpop-nonce': nonce });
          return;
        }
        try {
          const jwkOfProof = ph['jwk'] as JWK;
          await compactVerify(proof, await importJWK(jwkOfProof, String(ph['alg'])));
          dpopJkt = await calculateJwkThumbprint(jwkOfProof);
        } catch {
          oauthError(res, 400, 'invalid_dpop_proof', 'The DPoP proof JWT signature is invalid.');
          return;
        }
      }
      const accessToken = `${randomAlnum(40)}`;
      this.tokens.set(accessToken, {
        clientId: client.clientId,
        scopes: new Set(requested),
        expiresAt: this.clock.now() + this.accessTokenTtlSeconds * 1000,
        ...(dpopJkt ? { dpopJkt } : {}),
      });
      res.status(200);
      res.setHeader('Content-Type', 'application/json');
      res.setHeader('Cache-Control', 'no-cache, no-store');
      res.end(
        JSON.stringify({
          token_type: dpopJkt ? 'DPoP' : 'Bearer',
          expires_in: this.accessTokenTtlSeconds,
          access_token: accessToken,
          scope: requested.join(' '),
        }),
      );
    };
  }

  // ---- resource-server side ----

  private wwwAuthenticate(scheme: string, error: string, description: string, scope: string | undefined, resource: string) {
    const org = this.orgUrl();
    const parts = [
      `authorization_uri="${org}/oauth2/v1/authorize"`,
      `realm="${org}"`,
      ...(scope ? [`scope="${scope}"`] : []),
      `error="${error}"`,
      `error_description="${description}"`,
      `resource="${resource}"`,
    ];
    return { 'WWW-Authenticate': `${scheme} ${parts.join(', ')}` };
  }

  /** Authenticates every management-API request; stores the principal in `res.locals.principal`. */
  authenticate(): express.RequestHandler {
    return (req, res, next) => {
      void (async () => {
        const resource = new URL(req.originalUrl, 'http://x').pathname; // req.path is relative to the mount
        const header = String(req.headers['authorization'] ?? '');
        const [scheme = '', credential = ''] = header.split(/\s+/, 2);
        if (scheme === 'SSWS' && this.apiTokens.has(credential)) {
          const p: Principal = { kind: 'ssws', actor: this.adminActor(), scopes: 'all' };
          res.locals['principal'] = p;
          next();
          return;
        }
        if (scheme === 'Bearer' || scheme === 'DPoP') {
          const tok = this.tokens.get(credential);
          if (!tok || tok.expiresAt <= this.clock.now()) {
            const desc = tok ? 'The token has expired.' : 'The access token is invalid.';
            throw invalidToken(this.wwwAuthenticate(scheme, 'invalid_token', desc, undefined, resource));
          }
          if (tok.dpopJkt) {
            if (scheme !== 'DPoP') {
              throw invalidToken(
                this.wwwAuthenticate('DPoP', 'invalid_request', 'The resource request must use the DPoP authentication scheme when using a DPoP bound token.', undefined, resource),
              );
            }
            await this.verifyResourceDpop(req, credential, tok.dpopJkt, resource);
          }
          const client = this.clients.get(tok.clientId);
          const p: Principal = {
            kind: 'oauth',
            clientId: tok.clientId,
            scopes: tok.scopes,
            actor: {
              id: tok.clientId,
              type: 'PublicClientApp',
              alternateId: tok.clientId,
              displayName: client?.name ?? tok.clientId,
              detailEntry: null,
            },
          };
          res.locals['principal'] = p;
          next();
          return;
        }
        throw invalidToken();
      })().catch((e: unknown) => {
        if (e instanceof OktaError) replyError(res, e);
        else next(e);
      });
    };
  }

  private async verifyResourceDpop(req: express.Request, accessToken: string, jkt: string, resource: string): Promise<void> {
    const proof = req.headers['dpop'];
    const fail = (d: string) =>
      invalidToken(this.wwwAuthenticate('DPoP', 'invalid_dpop_proof', d, undefined, resource));
    if (typeof proof !== 'string') throw fail('The resource request requires a DPoP proof.');
    const ph = decodeProtectedHeaderSafe(proof);
    const pc = b64json(proof.split('.')[1]);
    if (!ph || !pc || !ph['jwk']) throw fail('The DPoP proof JWT is invalid.');
    try {
      await compactVerify(proof, await importJWK(ph['jwk'] as JWK, String(ph['alg'])));
    } catch {
      throw fail('The DPoP proof JWT signature is invalid.');
    }
    if ((await calculateJwkThumbprint(ph['jwk'] as JWK)) !== jkt) throw fail('The access_token is not bound to the provided DPoP proof.');
    const ath = createHash('sha256').update(accessToken).digest('base64url');
    if (pc['ath'] !== ath) throw fail("'ath' claim in the DPoP proof does not match the presented access_token.");
  }

  /** Scope check: `okta.x.manage` also grants `okta.x.read`. SSWS tokens carry every permission. */
  require(scope: string): express.RequestHandler {
    return (req, res, next) => {
      const p = res.locals['principal'] as Principal | undefined;
      if (!p) {
        replyError(res, invalidToken());
        return;
      }
      if (p.scopes === 'all') {
        next();
        return;
      }
      const alt = scope.endsWith('.read') ? scope.replace(/\.read$/, '.manage') : undefined;
      if (p.scopes.has(scope) || (alt && p.scopes.has(alt))) {
        next();
        return;
      }
      replyError(
        res,
        accessDenied(
          this.wwwAuthenticate('Bearer', 'insufficient_scope', 'The access token provided does not contain the required scopes.', scope, req.path),
        ),
      );
    };
  }

  scopes(read: string, manage: string): { read: express.RequestHandler; manage: express.RequestHandler } {
    return { read: this.require(read), manage: this.require(manage) };
  }
}

function decodeProtectedHeaderSafe(jwt: string): Record<string, unknown> | undefined {
  try {
    return decodeProtectedHeader(jwt) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
