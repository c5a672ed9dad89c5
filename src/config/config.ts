// All configuration in one zod schema: defaults < config file < environment < CLI flags.
// Only this module and cli/ read process.env. docs/configuration.md lists every key.

import { readFileSync } from 'node:fs';
import { z } from 'zod';

export const ConfigSchema = z.object({
  port: z.coerce.number().int().min(0).max(65535).default(8080).describe('TCP port of the HTTP server'),
  host: z.string().default('0.0.0.0').describe('interface to listen on'),
  databaseUrl: z
    .string()
    .default('sqlite:./data/agentroster.db')
    .describe('sqlite:PATH (embedded, default ./data/agentroster.db) or postgres://…'),
  databaseSchema: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'a lower-case SQL identifier')
    .optional()
    .describe('PostgreSQL schema (namespace) holding the tables; default: public'),
  baseUrl: z
    .string()
    .url()
    .optional()
    .describe('public URL of the SCIM API (…/scim/v2) used in meta.location; default: from the request'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('pino log level'),
  maxBodyBytes: z.coerce.number().int().min(1024).default(1_048_576).describe('largest accepted request body (413 above)'),
  bulkMaxOperations: z.coerce.number().int().min(1).max(10_000).default(1000).describe('most operations in one /Bulk request'),
  sqliteSynchronous: z.enum(['FULL', 'NORMAL']).default('FULL').describe('SQLite PRAGMA synchronous (FULL: durable on power loss)'),
  syncTargets: z
    .preprocess(
      (v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter(Boolean) : v),
      z.array(z.enum(['entra', 'okta'])),
    )
    .default([])
    .describe('sync targets that get an outbox row for every agent change (comma-separated: entra, okta)'),
  trustProxy: z.coerce.boolean().default(false).describe('trust X-Forwarded-* headers (behind a reverse proxy)'),
  // Signed agent records (docs/verifying-agent-records.md).
  mode: z
    .enum(['production', 'development'])
    .default('development')
    .describe('production: secrets and the record issuer must be configured; default development (production when NODE_ENV=production)'),
  recordKey: z
    .string()
    .refine((v) => decodesTo32Bytes(v), { message: 'must be the base64 encoding of exactly 32 bytes (e.g. `openssl rand -base64 32`)' })
    .optional()
    .describe('secret: AES-256-GCM key (base64, 32 bytes) that encrypts the record signing keys at rest'),
  recordKeyFile: z.string().min(1).optional().describe('file holding recordKey (base64), e.g. a mounted secret'),
  recordIssuer: z
    .string()
    .url()
    .optional()
    .describe('`iss` of signed agent records; default: baseUrl without /scim/v2 (required in production if baseUrl is unset)'),
  recordSigningAlg: z.enum(['ES256', 'EdDSA']).default('ES256').describe('algorithm of new record signing keys'),
  recordValidityHours: z.coerce.number().positive().max(720).default(24).describe('validity of an active agent\'s signed record'),
  recordStatusListValidityMinutes: z.coerce
    .number()
    .positive()
    .max(1440)
    .default(60)
    .describe('validity of the signed revocation list (and of the records of inactive agents)'),
  recordRenewalIntervalMinutes: z.coerce.number().positive().max(1440).default(15).describe('how often active agents\' records are renewed'),
});

function decodesTo32Bytes(v: string): boolean {
  const t = v.trim();
  return /^[A-Za-z0-9+/_-]+={0,2}$/.test(t) && Buffer.from(t, 'base64').length === 32;
}

export type Config = z.infer<typeof ConfigSchema>;

/** Environment variable → config key. Secrets for connectors join this table with their issues. */
export const ENV_TABLE: Readonly<Record<string, keyof Config>> = {
  AGENTROSTER_PORT: 'port',
  AGENTROSTER_HOST: 'host',
  AGENTROSTER_DATABASE_URL: 'databaseUrl',
  AGENTROSTER_DATABASE_SCHEMA: 'databaseSchema',
  AGENTROSTER_BASE_URL: 'baseUrl',
  AGENTROSTER_LOG_LEVEL: 'logLevel',
  AGENTROSTER_MAX_BODY_BYTES: 'maxBodyBytes',
  AGENTROSTER_BULK_MAX_OPERATIONS: 'bulkMaxOperations',
  AGENTROSTER_SQLITE_SYNCHRONOUS: 'sqliteSynchronous',
  AGENTROSTER_TRUST_PROXY: 'trustProxy',
  AGENTROSTER_SYNC_TARGETS: 'syncTargets',
  AGENTROSTER_MODE: 'mode',
  AGENTROSTER_RECORD_KEY: 'recordKey',
  AGENTROSTER_RECORD_KEY_FILE: 'recordKeyFile',
  AGENTROSTER_RECORD_ISSUER: 'recordIssuer',
  AGENTROSTER_RECORD_SIGNING_ALG: 'recordSigningAlg',
  AGENTROSTER_RECORD_VALIDITY_HOURS: 'recordValidityHours',
  AGENTROSTER_RECORD_STATUS_LIST_VALIDITY_MINUTES: 'recordStatusListValidityMinutes',
  AGENTROSTER_RECORD_RENEWAL_INTERVAL_MINUTES: 'recordRenewalIntervalMinutes',
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  flags: Partial<Record<keyof Config, unknown>> = {},
): Config {
  const merged: Record<string, unknown> = {};
  const origin: Record<string, string> = {};
  // NODE_ENV=production is the lowest-precedence way to ask for production mode.
  if (env.NODE_ENV === 'production') {
    merged.mode = 'production';
    origin.mode = 'NODE_ENV';
  }
  const file = env.AGENTROSTER_CONFIG;
  if (file) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8'));
    } catch (e) {
      throw new ConfigError(`cannot read config file ${file}: ${(e as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null) throw new ConfigError(`config file ${file} must hold a JSON object`);
    for (const [k, v] of Object.entries(parsed)) {
      merged[k] = v;
      origin[k] = `config file ${file}`;
    }
  }
  for (const [name, key] of Object.entries(ENV_TABLE)) {
    const v = env[name];
    if (v !== undefined && v !== '') {
      merged[key] = key === 'trustProxy' ? v === 'true' || v === '1' : v;
      origin[key] = name;
    }
  }
  for (const [k, v] of Object.entries(flags)) {
    if (v !== undefined) {
      merged[k] = v;
      origin[k] = `--${k}`;
    }
  }
  const res = ConfigSchema.strict().safeParse(merged);
  if (!res.success) {
    const lines = res.error.issues.map((i) => {
      const key = String(i.path[0] ?? '');
      return `${key || '(config)'}: ${i.message}${origin[key] ? ` (from ${origin[key]})` : ''}`;
    });
    throw new ConfigError(`invalid configuration:\n  ${lines.join('\n  ')}`);
  }
  return Object.freeze(res.data);
}
