// Wiring: the only module that knows which store and which resource types are in use.

import pino, { type Logger } from 'pino';
import type { Config } from './config/config.js';
import { createApp } from './http/app.js';
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
  close(): Promise<void>;
}

export interface BuildOptions {
  logger?: Logger;
  clock?: Clock;
  outboxTargets?: string[];
}

export async function buildAgentroster(config: Config, o: BuildOptions = {}): Promise<Agentroster> {
  const logger = o.logger ?? pino({ level: config.logLevel, base: { service: 'agentroster' } });
  const registry = loadRegistry();
  const store = await openStore(registry, config.databaseUrl, {
    sqliteSynchronous: config.sqliteSynchronous,
    ...(config.databaseSchema ? { pgSchema: config.databaseSchema } : {}),
  });
  const service = new ResourceService({
    registry,
    store,
    clock: o.clock ?? systemClock,
    hooks: { User: userHooks, Group: groupHooks, Agent: agentHooks },
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
  });
  return { config, registry, store, service, app, logger, close: () => store.close() };
}
