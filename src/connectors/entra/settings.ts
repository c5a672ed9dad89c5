// Entra connector settings, from the validated configuration (config/config.ts owns the env names).

import { readFileSync } from 'node:fs';
import type { INetworkModule } from '@azure/msal-node';
import { type Config, ConfigError, missingSyncSettings } from '../../config/config.js';
import type { FetchLike } from './graph.js';

export type EntraMapping = 'agentIdentity' | 'servicePrincipal' | 'user';

export interface EntraSettings {
  tenantId: string;
  clientId: string;
  clientSecret?: string;
  certificatePath?: string;
  authorityHost: string;
  graphUrl: string;
  apiVersion: string;
  mapping: EntraMapping;
  /** agent identity blueprints (appIds), filled in order */
  blueprintIds: string[];
  /** Agent ID quota per blueprint for app-only callers (FAQ: 250, soft-deleted included) */
  agentsPerBlueprint: number;
  /** user mapping: the verified domain of agent UPNs (agent-<id>@domain) */
  userDomain?: string;
  /** user mapping: employeeType marking agent accounts */
  employeeType: string;
  writesPerSecond: number;
  writeWindowMarginMs: number;
  batchMax: number;
  batchLingerMs: number;
  requestTimeoutMs: number;
  /** a create whose outcome is unknown is re-sent only after this long without its tag showing up */
  createConfirmMs: number;
  replicationRetries: number;
  replicationDelayMs: number;
  /** tests: transport seams (production: global fetch, MSAL's default client) */
  fetch?: FetchLike;
  msalNetworkClient?: INetworkModule;
}

export const TAG_PREFIX = 'agentroster:';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The settings for the Entra target; ConfigError naming every missing variable. */
export function entraSettingsFromConfig(c: Config): EntraSettings {
  const missing = missingSyncSettings(c, 'entra');
  if (missing.length) throw new ConfigError(`the Entra sync target needs: ${missing.join(', ')}`);
  const blueprints = (c.entraBlueprintId ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (c.entraTenantId && ['common', 'organizations', 'consumers'].includes(c.entraTenantId.toLowerCase())) {
    throw new ConfigError('AGENTROSTER_ENTRA_TENANT_ID must be the tenant id (a GUID) or its verified domain, not "common"');
  }
  for (const b of blueprints) {
    if (!GUID.test(b)) throw new ConfigError(`AGENTROSTER_ENTRA_BLUEPRINT_ID: "${b}" is not an appId (a GUID)`);
  }
  const s: EntraSettings = {
    tenantId: c.entraTenantId!,
    clientId: c.entraClientId!,
    authorityHost: c.entraAuthorityHost.replace(/\/+$/, ''),
    graphUrl: c.entraGraphUrl.replace(/\/+$/, ''),
    apiVersion: c.entraGraphApiVersion,
    mapping: c.entraMapping,
    blueprintIds: blueprints.map((b) => b.toLowerCase()),
    agentsPerBlueprint: c.entraAgentsPerBlueprint,
    employeeType: c.entraEmployeeType,
    writesPerSecond: c.entraWritesPerSecond,
    writeWindowMarginMs: c.entraWriteWindowMarginMs,
    batchMax: c.entraBatchSize,
    batchLingerMs: 10,
    requestTimeoutMs: c.entraRequestTimeoutSeconds * 1000,
    createConfirmMs: c.syncCreateConfirmSeconds * 1000,
    replicationRetries: 6,
    replicationDelayMs: 500,
  };
  const secret = c.entraClientSecret ?? (c.entraClientSecretFile ? readSecretFile(c.entraClientSecretFile) : undefined);
  if (c.entraCertificatePath) s.certificatePath = c.entraCertificatePath;
  else if (secret) s.clientSecret = secret;
  if (c.entraUserDomain) s.userDomain = c.entraUserDomain;
  return s;
}

function readSecretFile(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch (e) {
    throw new ConfigError(`cannot read AGENTROSTER_ENTRA_CLIENT_SECRET_FILE (${path}): ${(e as Error).message}`);
  }
}
