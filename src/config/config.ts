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
  // HTTP edge limits (issue 10: hostile input and slow clients).
  maxJsonDepth: z.coerce.number().int().min(8).max(1000).default(64).describe('deepest nesting of objects and arrays accepted in a JSON request body (400 above)'),
  httpRequestTimeoutSeconds: z.coerce.number().min(1).max(3600).default(30).describe('a request (headers and body) must arrive within this; slower clients get 408 and are disconnected'),
  httpHeadersTimeoutSeconds: z.coerce.number().min(1).max(3600).default(20).describe('request headers must arrive within this (at most httpRequestTimeoutSeconds)'),
  httpKeepAliveTimeoutSeconds: z.coerce.number().min(0).max(3600).default(5).describe('an idle keep-alive connection is closed after this (behind a load balancer: longer than its idle timeout)'),
  httpMaxConnections: z.coerce.number().int().min(1).max(1_000_000).default(1000).describe('most open client connections; further ones are closed at once'),
  sqliteSynchronous: z.enum(['FULL', 'NORMAL']).default('FULL').describe('SQLite PRAGMA synchronous (FULL: durable on power loss)'),
  sqliteGroupCommitMs: z.coerce
    .number()
    .min(0)
    .max(50)
    .default(0)
    .describe('SQLite group commit window (ms): 0 (default) groups the writes of one event-loop turn; a longer wait measured slower here'),
  // Expensive list queries (docs/security.md): a static budget per filter, a time limit per query.
  maxFilterCost: z.coerce.number().int().min(1).max(100_000).default(100).describe('highest cost of one filter (an indexed eq costs 1, co/sw/ew 10, an unindexed comparison 5; not ×2); 400 invalidFilter "filter too expensive" above'),
  maxFilterComparisons: z.coerce.number().int().min(1).max(500).default(100).describe('most comparisons in one filter'),
  queryTimeoutMs: z.coerce.number().int().min(10).max(600_000).default(5000).describe('time limit of a list query that may scan (SQLite read worker, PostgreSQL statement_timeout); 400 invalidFilter "filter too expensive" past it'),
  queryWorkers: z.coerce.number().int().min(0).max(64).optional().describe('list queries that may scan run at most this many at a time, the rest wait (503 after queryTimeoutMs): SQLite read worker threads (0: on the main thread, without time limit), PostgreSQL connections (0: no cap); default one per spare core, 1–4'),
  syncTargets: z
    .preprocess(
      (v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '' && s !== 'none') : v),
      z.array(z.enum(['entra', 'okta'])),
    )
    .default([])
    .describe(
      'sync targets (comma-separated: entra, okta, or none); default: every target whose settings are complete. An explicit value overrides that (none: no sync)',
    ),
  syncWorker: z
    .preprocess((v) => (typeof v === 'string' ? !['false', '0', 'no', 'off'].includes(v.toLowerCase()) : v), z.boolean())
    .default(true)
    .describe('run the sync workers and reconcilers in this server process; false on API-only instances (changes are still queued; run `agentroster sync apply` elsewhere)'),
  // Sync engine (docs/entra.md "Operations").
  syncConcurrency: z.coerce.number().int().min(1).max(500).default(40).describe('agents a sync worker converges at the same time (the target\'s rate limit paces them)'),
  syncBatchSize: z.coerce.number().int().min(1).max(1000).default(100).describe('outbox rows a sync worker claims per round trip'),
  syncLeaseSeconds: z.coerce.number().positive().max(3600).default(120).describe('lease on claimed outbox rows; a crashed worker\'s rows are taken over after it'),
  syncMaxAttempts: z.coerce.number().int().min(1).max(100).default(8).describe('attempts before an outbox row is parked (agentroster sync parked / sync retry)'),
  syncBackoffBaseSeconds: z.coerce.number().positive().max(3600).default(2).describe('first retry delay; doubles per attempt, with jitter (never shorter than a Retry-After)'),
  syncBackoffMaxSeconds: z.coerce.number().positive().max(86_400).default(300).describe('longest retry delay'),
  syncPollIntervalMs: z.coerce.number().int().min(10).max(60_000).default(1000).describe('how often an idle sync worker looks for new outbox rows'),
  syncReconcile: z
    .preprocess((v) => (typeof v === 'string' ? !['false', '0', 'no', 'off'].includes(v.trim().toLowerCase()) : v), z.boolean())
    .default(true)
    .describe('run the reconciler (remote changes flow back); with several instances on one database, enable it on one'),
  syncDeltaIntervalSeconds: z.coerce.number().min(0).max(86_400).default(60).describe('how often remote changes are read through delta (0: never)'),
  syncFullCompareIntervalMinutes: z.coerce.number().min(0).max(10_080).default(360).describe('how often every remote object is compared (memberships, sponsors, drift; 0: never)'),
  syncRetiredDeleteAfterDays: z.coerce.number().min(0).max(3650).default(30).describe('a retired agent is disabled remotely at once and deleted after this many days'),
  syncCreateConfirmSeconds: z.coerce.number().positive().max(3600).default(60).describe('a create whose answer was lost is looked up by its tag; re-sent only after this long unseen'),
  metricsPublic: z
    .preprocess((v) => (typeof v === 'string' ? ['true', '1', 'yes', 'on'].includes(v.trim().toLowerCase()) : v), z.boolean())
    .default(false)
    .describe('serve /metrics without a bearer token (default: a token with the admin scope is required)'),
  // Microsoft Entra ID target (docs/entra.md).
  entraTenantId: z.string().min(1).optional().describe('Entra tenant id (GUID) or verified domain'),
  entraClientId: z.string().min(1).optional().describe('application (client) id of agentroster\'s app registration'),
  entraClientSecret: z.string().min(1).optional().describe('secret: client secret of the app registration (or use entraCertificatePath); never logged'),
  entraClientSecretFile: z.string().min(1).optional().describe('file holding entraClientSecret, e.g. a mounted secret'),
  entraCertificatePath: z.string().min(1).optional().describe('PEM file with the app\'s certificate and private key (certificate credential, preferred)'),
  entraAuthorityHost: z
    .string()
    .url()
    .refine((v) => v.startsWith('https://'), 'must be an https URL')
    .default('https://login.microsoftonline.com')
    .describe('Entra login host (national clouds: https://login.microsoftonline.us, https://login.chinacloudapi.cn)'),
  entraGraphUrl: z
    .string()
    .url()
    .refine((v) => v.startsWith('https://'), 'must be an https URL')
    .default('https://graph.microsoft.com')
    .describe('Microsoft Graph host (national clouds: https://graph.microsoft.us, https://dod-graph.microsoft.us, https://microsoftgraph.chinacloudapi.cn)'),
  entraGraphApiVersion: z.enum(['v1.0', 'beta']).default('v1.0').describe('Graph API version'),
  entraMapping: z
    .enum(['agentIdentity', 'servicePrincipal', 'user'])
    .default('agentIdentity')
    .describe('how agents appear in Entra: agentIdentity (Agent ID), or the fallbacks servicePrincipal (application + service principal) and user (employeeType)'),
  entraBlueprintId: z.string().min(1).optional().describe('appId of the agent identity blueprint (comma-separated: several, filled in order)'),
  entraAgentsPerBlueprint: z.coerce.number().int().min(1).max(100_000).default(250).describe('agent identities per blueprint (Agent ID quota for app-only callers)'),
  entraUserDomain: z.string().min(1).optional().describe('user mapping: verified domain of the agent accounts (agent-<id>@domain)'),
  entraEmployeeType: z.string().min(1).max(64).default('AIAgent').describe('user mapping: employeeType of agent accounts'),
  entraWritesPerSecond: z.coerce.number().int().min(1).max(1000).default(20).describe('Graph write quota per app and tenant; sync stays just under it'),
  entraWriteWindowMarginMs: z.coerce.number().int().min(0).max(1000).default(25).describe('safety margin added to each one-second write window (jitter between us and Graph)'),
  entraBatchSize: z.coerce.number().int().min(1).max(20).default(20).describe('requests per Graph $batch (1 disables batching)'),
  entraRequestTimeoutSeconds: z.coerce.number().positive().max(600).default(30).describe('timeout of one Graph request'),
  // Okta target (docs/okta.md).
  oktaOrgUrl: z.string().url().optional().describe('Okta org URL, e.g. https://example.okta.com'),
  oktaToken: z.string().min(1).optional().describe('secret: Okta API token (SSWS); or use the OAuth service app (oktaClientId + oktaPrivateKeyPath); never logged'),
  oktaTokenFile: z.string().min(1).optional().describe('file holding oktaToken, e.g. a mounted secret'),
  oktaClientId: z.string().min(1).optional().describe('client id of the OAuth service app (private_key_jwt), preferred over an API token'),
  oktaPrivateKeyPath: z.string().min(1).optional().describe('PEM or JWK file with the service app\'s private key'),
  oktaKeyId: z.string().min(1).optional().describe('kid of the service app\'s key (when the app has several)'),
  oktaScopes: z.string().min(1).optional().describe('OAuth scopes to request (space- or comma-separated); default: the ones docs/okta.md lists'),
  oktaLoginDomain: z
    .string()
    .regex(/^@?[A-Za-z0-9.-]+\.[A-Za-z]{2,}$/, 'a domain such as agents.example.com')
    .optional()
    .describe('agent logins are agentUserName@this domain when the agentUserName is not email-shaped'),
  oktaUserType: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9_]*$/, 'letters, digits and _; starts with a letter')
    .default('aiAgent')
    .describe('name of the custom Okta user type of agents (created on first use; read-only in Okta once created)'),
  oktaUserTypeDisplayName: z.string().min(1).default('AI Agent').describe('display name of that user type'),
  oktaAiAgents: z
    .preprocess((v) => (typeof v === 'string' ? ['true', '1', 'yes', 'on'].includes(v.trim().toLowerCase()) : v), z.boolean())
    .default(false)
    .describe('also register each agent with Okta for AI Agents (/workload-principals, Beta, needs the subscription)'),
  oktaEventHookSecret: z.string().min(16).optional().describe('secret: value Okta sends in the event hook\'s auth header (enables POST /hooks/okta); never logged'),
  oktaEventHookSecretFile: z.string().min(1).optional().describe('file holding oktaEventHookSecret'),
  oktaEventHookHeader: z.string().min(1).default('Authorization').describe('header that carries the event hook secret (Okta: authScheme key)'),
  oktaMaxConcurrentRequests: z.coerce.number().int().min(1).max(75).default(10).describe('Okta requests in flight at once (the org allows 75 for all clients together)'),
  oktaMaxRetries: z.coerce.number().int().min(0).max(10).default(4).describe('429 retries within one Okta call, each after X-Rate-Limit-Reset'),
  oktaRequestTimeoutSeconds: z.coerce.number().positive().max(600).default(30).describe('timeout of one Okta request'),
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
  // Agent governance (docs/governance.md).
  approvalRequiredEnvironments: z
    .preprocess(
      (v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter((s) => s !== '' && s !== 'none') : v),
      z.array(z.enum(['production', 'staging', 'development', 'test'])),
    )
    .default(['production', 'staging', 'development', 'test'])
    .describe('environments whose new agents wait (pending) for a token with agents.approve ("none": no approval anywhere); agents of the others start active'),
  seatLimits: z
    .preprocess(
      (v) =>
        typeof v === 'string'
          ? Object.fromEntries(
              v
                .split(',')
                .map((s) => s.trim())
                .filter(Boolean)
                .map((pair) => {
                  const i = pair.lastIndexOf('=');
                  return [pair.slice(0, i).trim(), Number(pair.slice(i + 1))];
                }),
            )
          : v,
      z.record(z.string().min(1), z.number().int().min(0)),
    )
    .default({})
    .describe('most non-retired agents per owner team: "teamGroupIdOrName=10,*=50" (* = every other team); none by default'),
  minSponsors: z.coerce.number().int().min(1).max(100).default(1).describe('sponsor plus co-sponsors an agent needs (R02); below it the agent is non-compliant, then suspended after minSponsorsGraceDays'),
  minSponsorsGraceDays: z.coerce.number().min(0).max(365).default(7).describe('days below minSponsors before suspension'),
  recommendedOwners: z.coerce.number().int().min(0).max(100).default(2).describe('technical owners recommended per agent (a compliance-report warning only)'),
  sponsorDeparturePolicy: z
    .preprocess(
      (v) => (typeof v === 'string' ? v.split(',').map((s) => s.trim()).filter((s) => s !== '' && s !== 'none') : v),
      z.array(z.enum(['promoteCoSponsor', 'transferToManager'])),
    )
    .default(['promoteCoSponsor', 'transferToManager'])
    .describe('when a sponsor leaves, tried in order: promoteCoSponsor, transferToManager (enterprise manager); "none": suspend after the grace period'),
  sponsorDepartureGraceDays: z.coerce.number().min(0).max(365).default(7).describe('days an agent without an accountable sponsor stays active before it is suspended (R03)'),
  reviewIntervalDays: z.coerce.number().int().min(30).max(730).default(90).describe('default reconfirmation interval of an agent (its reviewIntervalDays overrides it; R04)'),
  reviewGraceDays: z.coerce.number().min(0).max(365).default(14).describe('days after nextReviewDue before an unreviewed agent is suspended (reviewOverdue)'),
  inactivityDays: z.coerce.number().min(1).max(3650).default(90).describe('days without recorded activity before an active agent counts as inactive (R05)'),
  inactivityAction: z.enum(['flag', 'suspend', 'suspendThenRetire']).default('suspend').describe('what happens to an inactive agent'),
  inactivityRetireAfterDays: z.coerce.number().min(1).max(3650).default(30).describe('with suspendThenRetire: days suspended for inactivity before retirement'),
  privilegedMaxDays: z.coerce.number().int().min(1).max(3650).default(30).describe('longest grant of a privileged entitlement, in days (R06)'),
  maxCredentialAgeDays: z.coerce.number().int().min(1).max(3650).default(90).describe('a static credential not rotated for this many days is stale (R11)'),
  grantUnusedDays: z.coerce.number().int().min(1).max(3650).default(60).describe('a grant unused this many days is flagged recommendRevoke in the IGA view (R09)'),
  agentUserNameSuffix: z
    .string()
    .regex(/^[A-Za-z0-9.-]+$/, 'a domain such as agents.example.com')
    .optional()
    .describe('userName of agents in the User projection is agentUserName@suffix (for tools that need e-mail-like logins)'),
  oktaCatalogueUrns: z
    .preprocess((v) => (typeof v === 'string' ? ['true', '1', 'yes', 'on'].includes(v.trim().toLowerCase()) : v), z.boolean())
    .default(false)
    .describe('publish /Entitlements and /Roles of the agents-view under urn:okta:scim:schemas:core:1.0:Entitlement/Role (Okta Identity Governance discovery)'),
  agentsInMainUsers: z
    .preprocess((v) => (typeof v === 'string' ? !['false', '0', 'no', 'off'].includes(v.trim().toLowerCase()) : v), z.boolean())
    .default(true)
    .describe('list agents (userType "Agent") on the main /Users too; false: only at /scim/v2/agents-view/Users (e.g. when an IdP imports /Users)'),
  governanceIntervalMinutes: z.coerce.number().positive().max(1440).default(5).describe('how often the time-based governance rules run (grace periods, expiries, reviews, inactivity)'),
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
  AGENTROSTER_MAX_JSON_DEPTH: 'maxJsonDepth',
  AGENTROSTER_HTTP_REQUEST_TIMEOUT_SECONDS: 'httpRequestTimeoutSeconds',
  AGENTROSTER_HTTP_HEADERS_TIMEOUT_SECONDS: 'httpHeadersTimeoutSeconds',
  AGENTROSTER_HTTP_KEEP_ALIVE_TIMEOUT_SECONDS: 'httpKeepAliveTimeoutSeconds',
  AGENTROSTER_HTTP_MAX_CONNECTIONS: 'httpMaxConnections',
  AGENTROSTER_SQLITE_SYNCHRONOUS: 'sqliteSynchronous',
  AGENTROSTER_SQLITE_GROUP_COMMIT_MS: 'sqliteGroupCommitMs',
  AGENTROSTER_MAX_FILTER_COST: 'maxFilterCost',
  AGENTROSTER_MAX_FILTER_COMPARISONS: 'maxFilterComparisons',
  AGENTROSTER_QUERY_TIMEOUT_MS: 'queryTimeoutMs',
  AGENTROSTER_QUERY_WORKERS: 'queryWorkers',
  AGENTROSTER_TRUST_PROXY: 'trustProxy',
  AGENTROSTER_SYNC_TARGETS: 'syncTargets',
  AGENTROSTER_SYNC_WORKER: 'syncWorker',
  AGENTROSTER_SYNC_CONCURRENCY: 'syncConcurrency',
  AGENTROSTER_SYNC_BATCH_SIZE: 'syncBatchSize',
  AGENTROSTER_SYNC_LEASE_SECONDS: 'syncLeaseSeconds',
  AGENTROSTER_SYNC_MAX_ATTEMPTS: 'syncMaxAttempts',
  AGENTROSTER_SYNC_BACKOFF_BASE_SECONDS: 'syncBackoffBaseSeconds',
  AGENTROSTER_SYNC_BACKOFF_MAX_SECONDS: 'syncBackoffMaxSeconds',
  AGENTROSTER_SYNC_POLL_INTERVAL_MS: 'syncPollIntervalMs',
  AGENTROSTER_SYNC_RECONCILE: 'syncReconcile',
  AGENTROSTER_SYNC_DELTA_INTERVAL_SECONDS: 'syncDeltaIntervalSeconds',
  AGENTROSTER_SYNC_FULL_COMPARE_INTERVAL_MINUTES: 'syncFullCompareIntervalMinutes',
  AGENTROSTER_SYNC_RETIRED_DELETE_AFTER_DAYS: 'syncRetiredDeleteAfterDays',
  AGENTROSTER_SYNC_CREATE_CONFIRM_SECONDS: 'syncCreateConfirmSeconds',
  AGENTROSTER_METRICS_PUBLIC: 'metricsPublic',
  AGENTROSTER_ENTRA_TENANT_ID: 'entraTenantId',
  AGENTROSTER_ENTRA_CLIENT_ID: 'entraClientId',
  AGENTROSTER_ENTRA_CLIENT_SECRET: 'entraClientSecret',
  AGENTROSTER_ENTRA_CLIENT_SECRET_FILE: 'entraClientSecretFile',
  AGENTROSTER_ENTRA_CERTIFICATE_PATH: 'entraCertificatePath',
  AGENTROSTER_ENTRA_AUTHORITY_HOST: 'entraAuthorityHost',
  AGENTROSTER_ENTRA_GRAPH_URL: 'entraGraphUrl',
  AGENTROSTER_ENTRA_GRAPH_API_VERSION: 'entraGraphApiVersion',
  AGENTROSTER_ENTRA_MAPPING: 'entraMapping',
  AGENTROSTER_ENTRA_BLUEPRINT_ID: 'entraBlueprintId',
  AGENTROSTER_ENTRA_AGENTS_PER_BLUEPRINT: 'entraAgentsPerBlueprint',
  AGENTROSTER_ENTRA_USER_DOMAIN: 'entraUserDomain',
  AGENTROSTER_ENTRA_EMPLOYEE_TYPE: 'entraEmployeeType',
  AGENTROSTER_ENTRA_WRITES_PER_SECOND: 'entraWritesPerSecond',
  AGENTROSTER_ENTRA_WRITE_WINDOW_MARGIN_MS: 'entraWriteWindowMarginMs',
  AGENTROSTER_ENTRA_BATCH_SIZE: 'entraBatchSize',
  AGENTROSTER_ENTRA_REQUEST_TIMEOUT_SECONDS: 'entraRequestTimeoutSeconds',
  AGENTROSTER_OKTA_ORG_URL: 'oktaOrgUrl',
  AGENTROSTER_OKTA_TOKEN: 'oktaToken',
  AGENTROSTER_OKTA_TOKEN_FILE: 'oktaTokenFile',
  AGENTROSTER_OKTA_CLIENT_ID: 'oktaClientId',
  AGENTROSTER_OKTA_PRIVATE_KEY_PATH: 'oktaPrivateKeyPath',
  AGENTROSTER_OKTA_KEY_ID: 'oktaKeyId',
  AGENTROSTER_OKTA_SCOPES: 'oktaScopes',
  AGENTROSTER_OKTA_LOGIN_DOMAIN: 'oktaLoginDomain',
  AGENTROSTER_OKTA_USER_TYPE: 'oktaUserType',
  AGENTROSTER_OKTA_USER_TYPE_DISPLAY_NAME: 'oktaUserTypeDisplayName',
  AGENTROSTER_OKTA_AI_AGENTS: 'oktaAiAgents',
  AGENTROSTER_OKTA_EVENT_HOOK_SECRET: 'oktaEventHookSecret',
  AGENTROSTER_OKTA_EVENT_HOOK_SECRET_FILE: 'oktaEventHookSecretFile',
  AGENTROSTER_OKTA_EVENT_HOOK_HEADER: 'oktaEventHookHeader',
  AGENTROSTER_OKTA_MAX_CONCURRENT_REQUESTS: 'oktaMaxConcurrentRequests',
  AGENTROSTER_OKTA_MAX_RETRIES: 'oktaMaxRetries',
  AGENTROSTER_OKTA_REQUEST_TIMEOUT_SECONDS: 'oktaRequestTimeoutSeconds',
  AGENTROSTER_MODE: 'mode',
  AGENTROSTER_RECORD_KEY: 'recordKey',
  AGENTROSTER_RECORD_KEY_FILE: 'recordKeyFile',
  AGENTROSTER_RECORD_ISSUER: 'recordIssuer',
  AGENTROSTER_RECORD_SIGNING_ALG: 'recordSigningAlg',
  AGENTROSTER_RECORD_VALIDITY_HOURS: 'recordValidityHours',
  AGENTROSTER_RECORD_STATUS_LIST_VALIDITY_MINUTES: 'recordStatusListValidityMinutes',
  AGENTROSTER_RECORD_RENEWAL_INTERVAL_MINUTES: 'recordRenewalIntervalMinutes',
  AGENTROSTER_APPROVAL_REQUIRED_ENVIRONMENTS: 'approvalRequiredEnvironments',
  AGENTROSTER_SEAT_LIMITS: 'seatLimits',
  AGENTROSTER_MIN_SPONSORS: 'minSponsors',
  AGENTROSTER_MIN_SPONSORS_GRACE_DAYS: 'minSponsorsGraceDays',
  AGENTROSTER_RECOMMENDED_OWNERS: 'recommendedOwners',
  AGENTROSTER_SPONSOR_DEPARTURE_POLICY: 'sponsorDeparturePolicy',
  AGENTROSTER_SPONSOR_DEPARTURE_GRACE_DAYS: 'sponsorDepartureGraceDays',
  AGENTROSTER_REVIEW_INTERVAL_DAYS: 'reviewIntervalDays',
  AGENTROSTER_REVIEW_GRACE_DAYS: 'reviewGraceDays',
  AGENTROSTER_INACTIVITY_DAYS: 'inactivityDays',
  AGENTROSTER_INACTIVITY_ACTION: 'inactivityAction',
  AGENTROSTER_INACTIVITY_RETIRE_AFTER_DAYS: 'inactivityRetireAfterDays',
  AGENTROSTER_PRIVILEGED_MAX_DAYS: 'privilegedMaxDays',
  AGENTROSTER_MAX_CREDENTIAL_AGE_DAYS: 'maxCredentialAgeDays',
  AGENTROSTER_GRANT_UNUSED_DAYS: 'grantUnusedDays',
  AGENTROSTER_AGENT_USERNAME_SUFFIX: 'agentUserNameSuffix',
  AGENTROSTER_OKTA_CATALOGUE_URNS: 'oktaCatalogueUrns',
  AGENTROSTER_AGENTS_IN_MAIN_USERS: 'agentsInMainUsers',
  AGENTROSTER_GOVERNANCE_INTERVAL_MINUTES: 'governanceIntervalMinutes',
};

export class ConfigError extends Error {
  override name = 'ConfigError';
}

// ── Sync targets: a target whose settings are complete is configured ─────────────────────────────

export type SyncTargetName = 'entra' | 'okta';
export const SYNC_TARGET_NAMES: readonly SyncTargetName[] = ['entra', 'okta'];
export const SYNC_TARGET_LABEL: Readonly<Record<SyncTargetName, string>> = { entra: 'Entra', okta: 'Okta' };

type SyncSettingsView = Pick<
  Config,
  | 'entraTenantId'
  | 'entraClientId'
  | 'entraClientSecret'
  | 'entraClientSecretFile'
  | 'entraCertificatePath'
  | 'entraBlueprintId'
  | 'entraMapping'
  | 'entraUserDomain'
  | 'oktaOrgUrl'
  | 'oktaToken'
  | 'oktaTokenFile'
  | 'oktaClientId'
  | 'oktaPrivateKeyPath'
>;

/**
 * The settings (environment variable names) a sync target still needs; [] when its settings are
 * complete. The one rule behind both the automatic target selection and the connectors' errors.
 */
export function missingSyncSettings(c: SyncSettingsView, target: SyncTargetName): string[] {
  const missing: string[] = [];
  if (target === 'entra') {
    if (!c.entraTenantId) missing.push('AGENTROSTER_ENTRA_TENANT_ID');
    if (!c.entraClientId) missing.push('AGENTROSTER_ENTRA_CLIENT_ID');
    if (!c.entraClientSecret && !c.entraClientSecretFile && !c.entraCertificatePath) {
      missing.push('AGENTROSTER_ENTRA_CLIENT_SECRET (or _CLIENT_SECRET_FILE, or _CERTIFICATE_PATH)');
    }
    const blueprints = (c.entraBlueprintId ?? '').split(',').filter((b) => b.trim() !== '');
    if (c.entraMapping === 'agentIdentity' && blueprints.length === 0) missing.push('AGENTROSTER_ENTRA_BLUEPRINT_ID');
    if (c.entraMapping === 'user' && !c.entraUserDomain) missing.push('AGENTROSTER_ENTRA_USER_DOMAIN');
    return missing;
  }
  if (!c.oktaOrgUrl) missing.push('AGENTROSTER_OKTA_ORG_URL');
  if (!(c.oktaToken || c.oktaTokenFile) && !(c.oktaClientId && c.oktaPrivateKeyPath)) {
    missing.push('AGENTROSTER_OKTA_TOKEN (or _TOKEN_FILE), or AGENTROSTER_OKTA_CLIENT_ID + AGENTROSTER_OKTA_PRIVATE_KEY_PATH');
  }
  return missing;
}

/** Whether any of a target's identifying settings is present (a half-configured target is worth a warning). */
export function hasSyncSettings(c: SyncSettingsView, target: SyncTargetName): boolean {
  if (target === 'entra') {
    return Boolean(c.entraTenantId || c.entraClientId || c.entraClientSecret || c.entraClientSecretFile || c.entraCertificatePath || c.entraBlueprintId);
  }
  return Boolean(c.oktaOrgUrl || c.oktaToken || c.oktaTokenFile || c.oktaClientId || c.oktaPrivateKeyPath);
}

/** "the Entra sync target needs: …" for each named target whose settings are incomplete. */
export function syncSettingsProblems(c: SyncSettingsView, targets: readonly SyncTargetName[] = SYNC_TARGET_NAMES): string[] {
  return targets.flatMap((t) => {
    const m = missingSyncSettings(c, t);
    return m.length ? [`the ${SYNC_TARGET_LABEL[t]} sync target needs: ${m.join(', ')}`] : [];
  });
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
  const data = res.data;
  // No explicit AGENTROSTER_SYNC_TARGETS (environment, file or flag): every complete target.
  if (origin.syncTargets === undefined) data.syncTargets = SYNC_TARGET_NAMES.filter((t) => missingSyncSettings(data, t).length === 0);
  return Object.freeze(data);
}
