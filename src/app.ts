// Wiring: the only module that knows which store and which resource types are in use.

import pino, { type Logger } from 'pino';
import { type Config, hasSyncSettings, missingSyncSettings, SYNC_TARGET_LABEL, SYNC_TARGET_NAMES } from './config/config.js';
import { createApp } from './http/app.js';
import { recordRouters } from './http/records-routes.js';
import { createRecords, type Records, resolveIssuer } from './records/index.js';
import { resolveRecordKek } from './records/kek.js';
import { composeHooks } from './resources/hooks.js';
import { type Clock, systemClock } from './resources/context.js';
import { ResourceService } from './resources/service.js';
import { Governance } from './resources/governance/index.js';
import { governancePolicy } from './resources/governance/policy-config.js';
import { governanceRouter } from './http/governance-routes.js';
import { loadRegistry } from './scim/load-schemas.js';
import type { SchemaRegistry } from './scim/registry.js';
import { openStore } from './store/open-store.js';
import type { Store } from './store/types.js';
import { createEntraConnector } from './connectors/entra/index.js';
import { oktaHookRouter } from './http/okta-hook-routes.js';
import { syncRouter } from './http/sync-routes.js';
import type { Connector } from './sync/connector.js';
import { SyncEngine, type SyncTunables, tunablesFromConfig } from './sync/index.js';
import { externalIdentitiesHook } from './sync/external-identities.js';

export interface Agentroster {
  config: Config;
  registry: SchemaRegistry;
  store: Store;
  service: ResourceService;
  app: ReturnType<typeof createApp>;
  logger: Logger;
  /** signed agent records: keys, status list, renewal job */
  records: Records;
  /** agent governance: rules, scheduler (governance.scheduler.runOnce() in tests) */
  governance: Governance;
  /** the sync engine, when a sync target with a connector is configured */
  sync: SyncEngine | undefined;
  close(): Promise<void>;
}

export interface BuildOptions {
  logger?: Logger;
  clock?: Clock;
  outboxTargets?: string[];
  /**
   * Start background jobs (record renewal) on real timers. Default: on, unless a clock is injected
   * (tests control time and run jobs themselves, e.g. records.renewal.runOnce()).
   */
  startJobs?: boolean;
  /**
   * Sync: false disables it; `connectors` replace the ones built from the configuration (tests);
   * `start` runs the workers and reconcilers (default: like startJobs).
   */
  sync?: false | { connectors?: Connector[]; tunables?: Partial<SyncTunables>; start?: boolean };
  /** false: refuse to create a missing database (CLI commands other than serve and migrate); default true */
  createDatabase?: boolean;
}

/** The Okta connector's module, loaded only when Okta is a target: its SDK alone costs ~95 MB of RSS. */
const loadOkta = () => import('./connectors/okta/index.js');

/**
 * The connectors of the configured sync targets (config.syncTargets: every target whose settings are
 * complete, or AGENTROSTER_SYNC_TARGETS). A target named explicitly but incompletely configured is a
 * ConfigError naming the missing settings; a half-configured target that is not named is a warning.
 */
async function syncConnectors(config: Config, logger: Logger): Promise<Connector[]> {
  for (const t of SYNC_TARGET_NAMES) {
    if (config.syncTargets.includes(t) || !hasSyncSettings(config, t)) continue;
    const missing = missingSyncSettings(config, t);
    if (missing.length) logger.warn({ target: t, missing }, `the ${SYNC_TARGET_LABEL[t]} sync target is not configured: its settings are incomplete`);
  }
  const out: Connector[] = [];
  if (config.syncTargets.includes('entra')) out.push(createEntraConnector(config, logger));
  if (config.syncTargets.includes('okta')) out.push((await loadOkta()).createOktaConnector(config, logger));
  return out;
}

export async function buildAgentroster(config: Config, o: BuildOptions = {}): Promise<Agentroster> {
  const logger = o.logger ?? pino({ level: config.logLevel, base: { service: 'agentroster' } });
  const registry = loadRegistry();
  const clock = o.clock ?? systemClock;
  // Missing record key or issuer in production: fail before the database is touched.
  const kek = resolveRecordKek(config, logger);
  const issuer = resolveIssuer(config, logger);
  const connectors = o.sync === false ? [] : (o.sync?.connectors ?? (await syncConnectors(config, logger)));
  const store = await openStore(registry, config.databaseUrl, {
    sqliteSynchronous: config.sqliteSynchronous,
    groupCommitMs: config.sqliteGroupCommitMs,
    queryTimeoutMs: config.queryTimeoutMs,
    ...(config.queryWorkers !== undefined ? { queryWorkers: config.queryWorkers } : {}),
    ...(config.databaseSchema ? { pgSchema: config.databaseSchema } : {}),
    ...(o.createDatabase === false ? { create: false } : {}),
  });
  let records: Records;
  try {
    records = await createRecords({ config, store, registry, clock, logger, kek, issuer });
  } catch (e) {
    await store.close();
    throw e;
  }
  const governance = new Governance({
    policy: governancePolicy(config),
    registry,
    store,
    clock,
    logger,
    intervalMs: config.governanceIntervalMinutes * 60_000,
    agentsInMainUsers: config.agentsInMainUsers,
  });
  const service = new ResourceService({
    registry,
    store,
    clock,
    // Record signing stays last: it signs the agent exactly as it will be stored.
    // Governance rules first, record signing last: it signs the agent exactly as it will be stored.
    hooks: governance.hooks(composeHooks(externalIdentitiesHook(store, connectors), records.hooks)),
    outboxTargets: o.outboxTargets ?? config.syncTargets,
    filterBudget: { maxCost: config.maxFilterCost, maxComparisons: config.maxFilterComparisons },
  });
  const sync = connectors.length
    ? new SyncEngine({ store, registry, service, logger, clock, connectors, tunables: { ...tunablesFromConfig(config), ...(o.sync ? o.sync.tunables : {}) } })
    : undefined;
  const oktaHooks = sync?.targets.has('okta') ? (await loadOkta()).oktaHookReceiverFor(sync, store, config, logger) : undefined;
  const app = createApp({
    service,
    store,
    logger,
    maxBodyBytes: config.maxBodyBytes,
    bulkMaxOperations: config.bulkMaxOperations,
    maxJsonDepth: config.maxJsonDepth,
    trustProxy: config.trustProxy,
    ...(config.baseUrl ? { baseUrl: config.baseUrl } : {}),
    records: recordRouters(records, store),
    governance: (contextOf) =>
      governanceRouter(
        { service, governance, oktaCatalogueUrns: config.oktaCatalogueUrns, maxOperations: config.bulkMaxOperations, maxPayloadSize: config.maxBodyBytes },
        contextOf,
      ),
    ...(sync ? { sync: syncRouter(sync, store, { metricsPublic: config.metricsPublic }) } : {}),
    ...(oktaHooks ? { oktaHooks: oktaHookRouter({ ...oktaHooks, logger, maxBodyBytes: config.maxBodyBytes }) } : {}),
  });
  governance.bind(service);
  if (o.startJobs ?? o.clock === undefined) records.renewal.start();
  if (o.startJobs ?? o.clock === undefined) governance.scheduler.start();
  if (sync && config.syncWorker && ((o.sync ? o.sync.start : undefined) ?? o.startJobs ?? o.clock === undefined)) sync.start();
  const close = async () => {
    await sync?.stop();
    await governance.scheduler.stop();
    await records.renewal.stop();
    await store.close();
  };
  return { config, registry, store, service, app, logger, records, governance, sync, close };
}
