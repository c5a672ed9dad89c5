// Okta connector settings, from the validated configuration (config/config.ts owns the env names).
// Secrets (the API token, the private key) are read here and kept out of anything printable:
// describeSettings() is what health() and logs show.

import { readFileSync } from 'node:fs';
import { type Config, ConfigError, missingSyncSettings } from '../../config/config.js';

export type OktaAuth =
  | { mode: 'SSWS'; token: string }
  | { mode: 'PrivateKey'; clientId: string; privateKey: string; keyId?: string; scopes: string[] };

export interface OktaSettings {
  /** https://{yourOktaDomain}, without a trailing slash */
  orgUrl: string;
  auth: OktaAuth;
  /** suffix appended to agentUserNames that are not email-shaped: login = `${agentUserName}@${loginDomain}` */
  loginDomain?: string;
  /** name of the custom user type (read-only once created) and its display name */
  userTypeName: string;
  userTypeDisplayName: string;
  /** profile.userType of agent users, for OIG campaign scoping (`user.profile.userType=="AIAgent"`) */
  userTypeMarker: string;
  /** second projection to Okta for AI Agents (/workload-principals/api/v1/ai-agents) */
  aiAgents: boolean;
  /** requests in flight at once (Okta's org-wide ceiling is 75, shared with every other client) */
  maxConcurrentRequests: number;
  /** 429 retries inside one call (after that the engine retries the row with backoff) */
  maxRetries: number;
  requestTimeoutMs: number;
  /** how long an AI-agent operation is polled before the row is retried later */
  operationTimeoutMs: number;
  operationPollMs: number;
  /**
   * Users updated this recently are re-read with a consistent filter during a full compare, because
   * `search` (which enumerates the agent users) is eventually consistent.
   */
  searchLagGuardMs: number;
  /** sponsor lookups are cached this long */
  sponsorCacheMs: number;
}

/** The OAuth scopes the service app needs (docs/okta.md). */
export function requiredScopes(aiAgents: boolean): string[] {
  return [
    'okta.users.read',
    'okta.users.manage',
    'okta.groups.read',
    'okta.groups.manage',
    'okta.userTypes.read',
    'okta.userTypes.manage',
    'okta.schemas.read',
    'okta.schemas.manage',
    'okta.logs.read',
    ...(aiAgents ? ['okta.aiAgents.read', 'okta.aiAgents.manage'] : []),
  ];
}

function readFile(path: string, env: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (e) {
    throw new ConfigError(`cannot read ${env} (${path}): ${(e as Error).message}`);
  }
}

/** The settings for the Okta target; ConfigError naming every missing variable. */
export function oktaSettingsFromConfig(c: Config): OktaSettings {
  const hasToken = Boolean(c.oktaToken || c.oktaTokenFile);
  const hasKey = Boolean(c.oktaClientId && c.oktaPrivateKeyPath);
  const missing = missingSyncSettings(c, 'okta');
  if (missing.length) throw new ConfigError(`the Okta sync target needs: ${missing.join(', ')}`);
  if (c.oktaClientId && !c.oktaPrivateKeyPath && !hasToken) throw new ConfigError('AGENTROSTER_OKTA_CLIENT_ID needs AGENTROSTER_OKTA_PRIVATE_KEY_PATH');
  let auth: OktaAuth;
  if (hasKey) {
    const scopes = c.oktaScopes
      ? c.oktaScopes
          .split(/[\s,]+/)
          .map((s) => s.trim())
          .filter(Boolean)
      : requiredScopes(c.oktaAiAgents);
    auth = {
      mode: 'PrivateKey',
      clientId: c.oktaClientId!,
      privateKey: readFile(c.oktaPrivateKeyPath!, 'AGENTROSTER_OKTA_PRIVATE_KEY_PATH'),
      scopes,
      ...(c.oktaKeyId ? { keyId: c.oktaKeyId } : {}),
    };
  } else {
    const token = c.oktaToken ?? readFile(c.oktaTokenFile!, 'AGENTROSTER_OKTA_TOKEN_FILE');
    if (!token) throw new ConfigError('AGENTROSTER_OKTA_TOKEN is empty');
    auth = { mode: 'SSWS', token };
  }
  const s: OktaSettings = {
    orgUrl: c.oktaOrgUrl!.replace(/\/+$/, ''),
    auth,
    userTypeName: c.oktaUserType,
    userTypeDisplayName: c.oktaUserTypeDisplayName,
    userTypeMarker: 'AIAgent',
    aiAgents: c.oktaAiAgents,
    maxConcurrentRequests: c.oktaMaxConcurrentRequests,
    maxRetries: c.oktaMaxRetries,
    requestTimeoutMs: Math.round(c.oktaRequestTimeoutSeconds * 1000),
    operationTimeoutMs: 30_000,
    operationPollMs: 250,
    searchLagGuardMs: 15 * 60_000,
    sponsorCacheMs: 10 * 60_000,
  };
  if (c.oktaLoginDomain) s.loginDomain = c.oktaLoginDomain.replace(/^@/, '').toLowerCase();
  return s;
}

/** What an admin may see (health, logs): never the token or the key. */
export function describeSettings(s: OktaSettings): Record<string, string | number | boolean> {
  return {
    orgUrl: s.orgUrl,
    credential: s.auth.mode === 'SSWS' ? 'API token (SSWS)' : `OAuth service app ${s.auth.clientId} (private_key_jwt)`,
    ...(s.auth.mode === 'PrivateKey' ? { scopes: s.auth.scopes.join(' ') } : {}),
    userType: s.userTypeName,
    loginDomain: s.loginDomain ?? '(agentUserName as is)',
    aiAgents: s.aiAgents,
    maxConcurrentRequests: s.maxConcurrentRequests,
  };
}
