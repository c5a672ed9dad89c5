// Wiring: the only module that knows which store and which resource types are in use.

import pino, { type Logger } from 'pino';
import type { Config } from './config/config.js';
import { createApp } from './http/app.js';
import { recordRouters } from './http/records-routes.js';
import { createRecords, type Records, resolveIssuer } from './records/index.js';
import { resolveRecordKek } from './records/kek.js';
import { composeHooks } from './resources/hooks.js';
import { type Clock, systemClock } from './resources/context.js';
import { ResourceService } from './resources/service.js';
import { agentHooks, groupHooks, userHooks } from './resources/type-hooks.js';
import { loadRegistry } from './scim/load-schemas.js';
import type { SchemaRegistry } from './scim/registry.js';
import { openStore } from './store/open-store.js';
import type { Store } from './store/types.js';

export interface Agentroster {
  config: Config;
  registry: SchemaRegistry;
  store: Store;
  service: ResourceService;
  app: ReturnType<typeof createApp>;
  logger: Logger;
  /** signed agent records: keys, status list, renewal job */
  records: Records;
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
}

export async function buildAgentroster(config: Config, o: BuildOptions = {}): Promise<Agentroster> {
  const logger = o.logger ?? pino({ level: config.logLevel, base: { service: 'agentroster' } });
  const registry = loadRegistry();
  const clock = o.clock ?? systemClock;
  // Missing record key or issuer in production: fail before the database is touched.
  const kek = resolveRecordKek(config, logger);
  const issuer = resolveIssuer(config, logger);
  const store = await openStore(registry, config.databaseUrl, {
    sqliteSynchronous: config.sqliteSynchronous,
    ...(config.databaseSchema ? { pgSchema: config.databaseSchema } : {}),
  });
  let records: Records;
  try {
    records = await createRecords({ config, store, registry, clock, logger, kek, issuer });
  } catch (e) {
    await store.close();
    throw e;
  }
  const service = new ResourceService({
    registry,
    store,
    clock,
    // Record signing stays last: it signs the agent exactly as it will be stored.
    hooks: { User: userHooks, Group: groupHooks, Agent: composeHooks(agentHooks, records.hooks) },
    outboxTargets: o.outboxTargets ?? config.syncTargets,
  });
  const app = createApp({
    service,
    store,
    logger,
    maxBodyBytes: config.maxBodyBytes,
    bulkMaxOperations: config.bulkMaxOperations,
    trustProxy: config.trustProxy,
    ...(config.baseUrl ? { baseUrl: config.baseUrl } : {}),
    records: recordRouters(records, store),
  });
  if (o.startJobs ?? o.clock === undefined) records.renewal.start();
  const close = async () => {
    await records.renewal.stop();
    await store.close();
  };
  return { config, registry, store, service, app, logger, records, close };
}
