/**
 * Local emulation of Microsoft Entra ID (token endpoint) and Microsoft Graph for agentroster's
 * Entra connector tests. See README.md in this folder for the API and the fidelity notes.
 */
export {
  startGraphEmulator,
  DEFAULT_CLIENT_ID,
  DEFAULT_CLIENT_SECRET,
  DEFAULT_TENANT_ID,
  type GraphEmulator,
  type GraphEmulatorOptions,
} from './server.js';
export { ensureCa, defaultCaDir, generateClientCertificate, type CaMaterial, type ClientCertificate } from './certs.js';
export { createMsalNetworkClient, createTrustingFetch, type FetchLike } from './client.js';
export type { ClientRegistration, ClientSpec, AccessTokenClaims } from './auth.js';
export type { Counters, FailNextOptions, LogEntry, MatchInfo, RequestMatcher, ThrottleForOptions, Faults } from './faults.js';
export type { DirectoryStore, DirectoryObject, EmulatorConfig, SeedAgentIdentity, SeedBlueprint, SeedGroup, SeedServicePrincipal, SeedUser, AppRole } from './store.js';
export { DEFAULT_CLIENT_ROLES, PERMISSIONS } from './permissions.js';
export { MAX_BATCH_REQUESTS } from './batch.js';
