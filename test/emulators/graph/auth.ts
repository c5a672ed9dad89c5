/**
 * The Entra ID side: client registrations, the v2.0 token endpoint (client credentials with a
 * client secret or a certificate assertion), OpenID metadata and JWKS, and validation of the
 * bearer tokens Graph receives.
 *
 * Facts: reference/entra.md §3 (what msal-node 7.2.1 sends), learn.microsoft.com
 * /entra/identity-platform/v2-oauth2-client-creds-grant-flow, /certificate-credentials,
 * /access-token-claims-reference.
 */
import {
  createHash,
  generateKeyPairSync,
  randomBytes,
  randomUUID,
  sign,
  verify,
  constants,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import { aadError, GraphError } from './errors.js';

/** Microsoft Graph's well-known application id. */
export const GRAPH_APP_ID = '00000003-0000-0000-c000-000000000000';

export interface ClientSpec {
  clientId?: string;
  displayName?: string;
  /** client secrets accepted for this app */
  secrets?: string[];
  /** PEM certificates whose keys may sign client assertions */
  certificates?: string[];
  /** Graph application permissions (app roles) granted to the app, e.g. "AgentIdentity.ReadWrite.All" */
  roles?: string[];
}

export interface ClientRegistration {
  clientId: string;
  displayName: string;
  secrets: string[];
  certificates: X509Certificate[];
  roles: string[];
  /** object id of the app's service principal: the token's `oid`/`sub` */
  objectId: string;
}

export interface AccessTokenClaims {
  aud: string;
  iss: string;
  iat: number;
  nbf: number;
  exp: number;
  appid: string;
  app_displayname: string;
  appidacr: '1' | '2';
  idp: string;
  idtyp: 'app';
  oid: string;
  sub: string;
  /** absent when the app holds no application permissions; verifyBearer() normalises it to [] */
  roles: string[];
  tid: string;
  uti: string;
  ver: '1.0';
}

export interface TokenRequestContext {
  tenant: string;
  form: URLSearchParams;
  /** origin of the login host, e.g. https://127.0.0.1:1234 */
  origin: string;
}

export interface TokenResult {
  status: number;
  body: Record<string, unknown>;
  clientId?: string;
}

let sharedSigningKey: { privateKey: KeyObject; publicKey: KeyObject } | undefined;

const b64json = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');

function decodeJwtPart(part: string | undefined): Record<string, unknown> | undefined {
  if (!part) return undefined;
  try {
    const v: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** Reads appid from a bearer token without verifying it (for bookkeeping before auth runs). */
export function peekAppId(authorization: string | undefined): string | undefined {
  const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
  const claims = decodeJwtPart(m?.[1]?.split('.')[1]);
  return typeof claims?.['appid'] === 'string' ? claims['appid'] : undefined;
}

export class TokenService {
  readonly clients = new Map<string, ClientRegistration>();
  private readonly privateKey: KeyObject;
  private readonly publicKey: KeyObject;
  readonly kid: string;

  constructor(
    readonly tenantId: string,
    readonly tenantDomains: string[],
    /** resource identifiers (besides Graph's app id and https://graph.microsoft.com) accepted as scope */
    readonly graphResources: string[],
    readonly lifetimeSeconds: number,
    private readonly clock: () => number,
  ) {
    // RSA key generation takes ~0.3 s: one key per process, but a distinct kid per emulator, so a
    // token issued by one emulator instance is not accepted by another
    sharedSigningKey ??= generateKeyPairSync('rsa', { modulusLength: 2048 });
    this.privateKey = sharedSigningKey.privateKey;
    this.publicKey = sharedSigningKey.publicKey;
    this.kid = randomBytes(20).toString('base64url');
  }

  register(spec: ClientSpec): ClientRegistration {
    const reg: ClientRegistration = {
      clientId: (spec.clientId ?? randomUUID()).toLowerCase(),
      displayName: spec.displayName ?? 'agentroster test client',
      secrets: spec.secrets ?? [],
      certificates: (spec.certificates ?? []).map((pem) => new X509Certificate(pem)),
      roles: spec.roles ?? [],
      objectId: randomUUID(),
    };
    this.clients.set(reg.clientId, reg);
    return reg;
  }

  isTenant(t: string): boolean {
    const x = t.toLowerCase();
    return x === this.tenantId || this.tenantDomains.some((d) => d.toLowerCase() === x);
  }

  jwks(): Record<string, unknown> {
    const jwk = this.publicKey.export({ format: 'jwk' }) as { n: string; e: string };
    return { keys: [{ kty: 'RSA', use: 'sig', kid: this.kid, n: jwk.n, e: jwk.e, alg: 'RS256', issuer: this.issuer() }] };
  }

  issuer(): string {
    return `https://sts.windows.net/${this.tenantId}/`;
  }

  openidConfiguration(origin: string, tenant: string): Record<string, unknown> {
    const base = `${origin}/${tenant}`;
    return {
      token_endpoint: `${base}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${origin}/${tenant}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      // MSAL 7 requires the issuer to share scheme, host and port with the authority
      issuer: `${origin}/${this.tenantId}/v2.0`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${origin}/oidc/userinfo`,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'tid', 'oid', 'roles'],
      tenant_region_scope: 'EU',
      cloud_instance_name: 'microsoftonline.com',
      cloud_graph_host_name: 'graph.windows.net',
      msgraph_host: 'graph.microsoft.com',
      rbac_url: 'https://pas.windows.net',
    };
  }

  /** POST /{tenant}/oauth2/v2.0/token */
  token(ctx: TokenRequestContext): TokenResult {
    const { form } = ctx;
    const correlationId = form.get('client-request-id') ?? randomUUID();
    const fail = (status: number, error: string, code: number, description: string, clientId?: string): TokenResult => ({
      status,
      body: aadError(error, code, description, correlationId),
      clientId,
    });
    if (!this.isTenant(ctx.tenant)) {
      return fail(400, 'invalid_request', 90002, `Tenant '${ctx.tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`);
    }
    const clientId = (form.get('client_id') ?? '').toLowerCase();
    if (!clientId) return fail(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'client_id'.");
    const grant = form.get('grant_type');
    if (grant !== 'client_credentials') {
      return fail(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grant ?? ''}'.`, clientId);
    }
    const client = this.clients.get(clientId);
    if (!client) {
      return fail(400, 'unauthorized_client', 700016, `Application with identifier '${clientId}' was not found in the directory '${ctx.tenant}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`, clientId);
    }
    const scopeCheck = this.checkScope(form.get('scope'));
    if ('error' in scopeCheck) return { ...fail(400, scopeCheck.error, scopeCheck.code, scopeCheck.description, clientId) };

    let appidacr: '1' | '2';
    const secret = form.get('client_secret');
    const assertion = form.get('client_assertion');
    if (secret !== null) {
      if (!client.secrets.includes(secret)) {
        return fail(401, 'invalid_client', 7000215, `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${clientId}'.`, clientId);
      }
      appidacr = '1';
    } else if (assertion !== null) {
      if (form.get('client_assertion_type') !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer') {
        return fail(400, 'invalid_request', 90002, "The request body must contain a valid 'client_assertion_type' parameter.", clientId);
      }
      const problem = this.verifyAssertion(assertion, client, ctx);
      if (problem) return fail(401, 'invalid_client', problem.code, problem.description, clientId);
      appidacr = '2';
    } else {
      return fail(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.", clientId);
    }

    const now = Math.floor(this.clock() / 1000);
    const claims: Omit<AccessTokenClaims, 'roles'> & { roles?: string[] } = {
      aud: scopeCheck.resource,
      iss: this.issuer(),
      iat: now,
      nbf: now,
      exp: now + this.lifetimeSeconds,
      appid: client.clientId,
      app_displayname: client.displayName,
      appidacr,
      idp: this.issuer(),
      idtyp: 'app',
      oid: client.objectId,
      sub: client.objectId,
      ...(client.roles.length > 0 ? { roles: [...client.roles] } : {}), // Entra omits an empty roles claim
      tid: this.tenantId,
      uti: randomBytes(16).toString('base64url'),
      ver: '1.0',
    };
    return {
      status: 200,
      clientId,
      body: {
        token_type: 'Bearer',
        expires_in: this.lifetimeSeconds,
        ext_expires_in: this.lifetimeSeconds,
        access_token: this.sign(claims),
      },
    };
  }

  private checkScope(raw: string | null):
    | { resource: string }
    | { error: string; code: number; description: string } {
    const scopes = (raw ?? '').split(/\s+/).filter((s) => s && !['openid', 'profile', 'offline_access'].includes(s));
    if (scopes.length === 0) {
      return { error: 'invalid_request', code: 900144, description: "The request body must contain the following parameter: 'scope'." };
    }
    const notDefault = scopes.find((s) => !s.endsWith('/.default'));
    if (notDefault || scopes.length > 1) {
      return {
        error: 'invalid_scope',
        code: 1002012,
        description: `The provided value for scope ${notDefault ?? scopes.join(' ')} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`,
      };
    }
    const resource = (scopes[0] as string).slice(0, -'/.default'.length);
    const known = ['https://graph.microsoft.com', GRAPH_APP_ID, ...this.graphResources];
    if (!known.some((k) => k.toLowerCase() === resource.toLowerCase().replace(/\/$/, ''))) {
      return {
        error: 'invalid_resource',
        code: 500011,
        description: `The resource principal named ${resource} was not found in the tenant named ${this.tenantId}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.`,
      };
    }
    // Graph tokens carry aud https://graph.microsoft.com (or the emulator's own Graph URL if requested)
    return { resource: resource.toLowerCase() === GRAPH_APP_ID ? 'https://graph.microsoft.com' : resource.replace(/\/$/, '') };
  }

  /** private_key_jwt: PS256 with x5t#S256 (MSAL 7) or RS256 with x5t; aud = token endpoint; exp/nbf; iss = sub = client_id. */
  private verifyAssertion(jwt: string, client: ClientRegistration, ctx: TokenRequestContext): { code: number; description: string } | undefined {
    const [h, p, s] = jwt.split('.');
    const header = decodeJwtPart(h);
    const payload = decodeJwtPart(p);
    if (!header || !payload || !s) return { code: 50027, description: 'JWT token is invalid or malformed.' };
    const alg = header['alg'];
    const x5tS256 = typeof header['x5t#S256'] === 'string' ? header['x5t#S256'] : undefined;
    const x5t = typeof header['x5t'] === 'string' ? header['x5t'] : undefined;
    const cert = client.certificates.find(
      (c) =>
        (x5tS256 && createHash('sha256').update(c.raw).digest('base64url') === x5tS256) ||
        (x5t && createHash('sha1').update(c.raw).digest('base64url') === x5t),
    );
    if (!cert) {
      return {
        code: 700027,
        description: `Client assertion failed signature validation. [Reason - The key was not found., Thumbprint of key used by client: '${x5tS256 ?? x5t ?? ''}']`,
      };
    }
    const data = Buffer.from(`${h}.${p}`);
    const sig = Buffer.from(s, 'base64url');
    let ok = false;
    if (alg === 'PS256') {
      ok = verify('sha256', data, { key: cert.publicKey, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 }, sig);
    } else if (alg === 'RS256') {
      ok = verify('sha256', data, cert.publicKey, sig);
    }
    if (!ok) {
      return { code: 700027, description: 'Client assertion failed signature validation. [Reason - The provided signature value did not match the expected signature value.]' };
    }
    if (payload['iss'] !== client.clientId || payload['sub'] !== client.clientId) {
      return { code: 700021, description: "Client assertion application identifier doesn't match 'client_id' parameter." };
    }
    const validAud = [this.tenantId, ...this.tenantDomains].flatMap((t) => [
      `${ctx.origin}/${t}/oauth2/v2.0/token`,
      `${ctx.origin}/${t}/oauth2/token`,
    ]);
    if (typeof payload['aud'] !== 'string' || !validAud.some((a) => a.toLowerCase() === String(payload['aud']).toLowerCase())) {
      return { code: 700024, description: `Client assertion audience claim does not match Realm issuer. Actual: '${String(payload['aud'])}'.` };
    }
    const now = Math.floor(this.clock() / 1000);
    const exp = Number(payload['exp']);
    const nbf = payload['nbf'] === undefined ? now : Number(payload['nbf']);
    if (!Number.isFinite(exp) || exp + 300 < now || nbf - 300 > now) {
      return { code: 700024, description: 'Client assertion is not within its valid time range.' };
    }
    return undefined;
  }

  sign(claims: Omit<AccessTokenClaims, 'roles'> & { roles?: string[] }): string {
    const header = b64json({ typ: 'JWT', alg: 'RS256', kid: this.kid, x5t: this.kid });
    const body = b64json(claims);
    const sig = sign('sha256', Buffer.from(`${header}.${body}`), this.privateKey).toString('base64url');
    return `${header}.${body}.${sig}`;
  }

  /** Graph-side validation of `Authorization: Bearer …`; throws 401 InvalidAuthenticationToken. */
  verifyBearer(authorization: string | undefined, acceptedAudiences: string[]): AccessTokenClaims {
    const unauthorized = (message: string): GraphError =>
      new GraphError(401, 'InvalidAuthenticationToken', message, undefined, {
        'www-authenticate': `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="${GRAPH_APP_ID}"`,
      });
    const m = /^Bearer\s+(\S+)$/i.exec(authorization ?? '');
    if (!m) throw unauthorized('Access token is empty.');
    const parts = (m[1] as string).split('.');
    if (parts.length !== 3) throw unauthorized('IDX14100: JWT is not well formed, there are no dots (.).');
    const [h, p, s] = parts as [string, string, string];
    const header = decodeJwtPart(h);
    const claims = decodeJwtPart(p) as AccessTokenClaims | undefined;
    if (!header || !claims) throw unauthorized('Access token validation failure. Invalid token.');
    const key = header['kid'] === this.kid ? this.publicKey : undefined;
    if (header['alg'] !== 'RS256' || !key || !verify('sha256', Buffer.from(`${h}.${p}`), key, Buffer.from(s, 'base64url'))) {
      throw unauthorized('Access token validation failure. Invalid signature.');
    }
    if (!acceptedAudiences.some((a) => a.toLowerCase() === String(claims.aud).toLowerCase())) {
      throw unauthorized('Access token validation failure. Invalid audience.');
    }
    if (claims.tid !== this.tenantId || claims.iss !== this.issuer()) throw unauthorized('Access token validation failure. Invalid issuer.');
    const now = Math.floor(this.clock() / 1000);
    if (claims.exp <= now) throw unauthorized('Lifetime validation failed, the token is expired.');
    if (claims.nbf > now + 300) throw unauthorized('Lifetime validation failed, the token is not yet valid.');
    return { ...claims, roles: Array.isArray(claims.roles) ? claims.roles : [] };
  }
}
