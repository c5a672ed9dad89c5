// App-only access tokens for Microsoft Graph with @azure/msal-node (client credentials, with a
// client secret or a certificate). MSAL caches the token in memory and renews it 5 minutes before
// expiry. Facts (reference/entra.md §3): the authority must be https; a non-default authority host
// (national clouds, private test deployments) needs `knownAuthorities`, and is trusted through the
// system CAs plus NODE_EXTRA_CA_CERTS; MSAL does not retry the token endpoint, and it caches a
// 429/5xx as a throttle entry that fails the next identical call without a request.

import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { AuthError, ConfidentialClientApplication, type Configuration, type INetworkModule } from '@azure/msal-node';
import type { Logger } from 'pino';
import { PermanentError, RetryableError } from '../../sync/errors.js';

export const DEFAULT_AUTHORITY_HOST = 'https://login.microsoftonline.com';

export interface TokenSettings {
  tenantId: string;
  clientId: string;
  clientSecret?: string;
  /** PEM file holding the certificate and its private key */
  certificatePath?: string;
  authorityHost: string;
  /** `${graphUrl}/.default` */
  scope: string;
  /** tests: an MSAL network module (production uses MSAL's fetch-based default) */
  networkClient?: INetworkModule;
  logger?: Logger;
}

/** Certificate credential for MSAL from one PEM file (certificate + private key). */
export function loadCertificate(path: string): { thumbprintSha256: string; privateKey: string; x5c: string } {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (e) {
    throw new PermanentError(`cannot read AGENTROSTER_ENTRA_CERTIFICATE_PATH (${path}): ${(e as Error).message}`, 'certificate');
  }
  const certMatch = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem);
  const keyMatch = /-----BEGIN (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----[\s\S]+?-----END (?:RSA |EC |ENCRYPTED )?PRIVATE KEY-----/.exec(pem);
  if (!certMatch || !keyMatch) {
    throw new PermanentError(`${path} must hold a PEM certificate and its unencrypted PEM private key`, 'certificate');
  }
  const x509 = new X509Certificate(certMatch[0]);
  // normalise the key to PKCS#8 (MSAL signs with it)
  const privateKey = createPrivateKey(keyMatch[0]).export({ format: 'pem', type: 'pkcs8' }).toString();
  return { thumbprintSha256: createHash('sha256').update(x509.raw).digest('hex'), privateKey, x5c: certMatch[0] };
}

export class TokenProvider {
  readonly #cca: ConfidentialClientApplication;
  readonly #scope: string;
  requests = 0;

  constructor(s: TokenSettings) {
    const host = s.authorityHost.replace(/\/+$/, '');
    if (!/^https:\/\//i.test(host)) {
      throw new PermanentError(`AGENTROSTER_ENTRA_AUTHORITY_HOST must be an https URL (got ${host})`, 'config');
    }
    const knownHost = new URL(host).host;
    const auth: Configuration['auth'] = {
      clientId: s.clientId,
      authority: `${host}/${s.tenantId}`,
      // the default host uses MSAL's built-in cloud metadata; any other host (national clouds,
      // private deployments, the emulator) is declared known so MSAL skips AAD instance discovery
      ...(host.toLowerCase() === DEFAULT_AUTHORITY_HOST ? {} : { knownAuthorities: [knownHost] }),
    };
    if (s.certificatePath) auth.clientCertificate = loadCertificate(s.certificatePath);
    else if (s.clientSecret) auth.clientSecret = s.clientSecret;
    else throw new PermanentError('Entra needs AGENTROSTER_ENTRA_CLIENT_SECRET or AGENTROSTER_ENTRA_CERTIFICATE_PATH', 'config');
    const log = s.logger;
    this.#cca = new ConfidentialClientApplication({
      auth,
      system: {
        ...(s.networkClient ? { networkClient: s.networkClient } : {}),
        loggerOptions: {
          piiLoggingEnabled: false,
          logLevel: 1, // Warning
          loggerCallback: (_level, message) => log?.debug({ msal: message }, 'msal'),
        },
      },
    });
    this.#scope = s.scope;
  }

  /** A bearer token; `force` skips MSAL's cache (after a 401 from Graph). */
  async get(force = false): Promise<string> {
    this.requests++;
    try {
      const r = await this.#cca.acquireTokenByClientCredential({ scopes: [this.#scope], ...(force ? { skipCache: true } : {}) });
      if (!r?.accessToken) throw new RetryableError('the token endpoint returned no access token', 'token');
      return r.accessToken;
    } catch (e) {
      throw classifyTokenError(e);
    }
  }
}

/** MSAL errors → retryable or not. Messages carry AADSTS codes, never the credential. */
export function classifyTokenError(e: unknown): Error {
  if (e instanceof RetryableError || e instanceof PermanentError) return e;
  if (e instanceof AuthError) {
    const code = e.errorCode;
    const text = `token request failed: ${code}${e.errorMessage ? ` — ${e.errorMessage.split('\n')[0]?.slice(0, 400)}` : ''}`;
    const status = (e as { status?: number }).status;
    const permanentCodes = ['invalid_client', 'unauthorized_client', 'invalid_scope', 'invalid_request', 'invalid_tenant', 'missing_tenant_id_error', 'authority_uri_insecure', 'invalid_grant'];
    if (permanentCodes.includes(code) && status !== 429 && (status === undefined || status < 500)) {
      return new PermanentError(`${text}. Check AGENTROSTER_ENTRA_TENANT_ID, _CLIENT_ID and the secret or certificate.`, code, { cause: e });
    }
    // throttling, 5xx, network and discovery errors: MSAL's throttle cache keeps the Retry-After
    return new RetryableError(text, code, status === 429 ? 5_000 : undefined, { cause: e, throttled: status === 429 });
  }
  return new RetryableError(`token request failed: ${e instanceof Error ? e.message : String(e)}`, 'token', undefined, { cause: e });
}
