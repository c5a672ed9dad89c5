// Signed agent records, wired together: KEK, keys, issuer, hooks, status list, renewal job.
// app.ts composes `hooks` last into the Agent hooks, mounts the routes and starts/stops the job.

import type { Logger } from 'pino';
import { type Config, ConfigError } from '../config/config.js';
import type { Clock } from '../resources/context.js';
import type { ResourceHooks } from '../resources/hooks.js';
import type { SchemaRegistry } from '../scim/registry.js';
import type { Actor, Store } from '../store/types.js';
import { createRecordHooks } from './hooks.js';
import { RecordIssuer } from './issuer.js';
import { type RecordKek, resolveRecordKek } from './kek.js';
import { RecordKeyManager } from './keys.js';
import { RecordRenewal } from './renewal.js';
import { StatusListPublisher } from './status-list.js';

export { RecordKeyError } from './kek.js';

export interface Records {
  issuer: RecordIssuer;
  keys: RecordKeyManager;
  statusList: StatusListPublisher;
  renewal: RecordRenewal;
  /** compose LAST into the Agent hooks */
  hooks: ResourceHooks;
}

/**
 * `iss` of the records: recordIssuer; else baseUrl without its /scim/v2 suffix; else, in
 * development only, http://localhost:PORT (production refuses to start: an issuer derived from
 * each request's Host header would not be stable, and records must verify offline against it).
 */
export function resolveIssuer(config: Config, logger?: Logger): string {
  if (config.recordIssuer) return config.recordIssuer.replace(/\/+$/, '');
  if (config.baseUrl) return config.baseUrl.replace(/\/+$/, '').replace(/\/scim\/v2$/i, '');
  if (config.mode === 'production') {
    throw new ConfigError(
      'production mode needs a stable issuer for signed agent records: set AGENTROSTER_BASE_URL (the public …/scim/v2 URL) ' +
        'or AGENTROSTER_RECORD_ISSUER (the public server URL)',
    );
  }
  const issuer = `http://localhost:${config.port}`;
  logger?.warn({ issuer }, 'signed agent records use a development issuer; set AGENTROSTER_BASE_URL or AGENTROSTER_RECORD_ISSUER');
  return issuer;
}

export interface RecordsOptions {
  config: Config;
  store: Store;
  registry: SchemaRegistry;
  clock: Clock;
  logger?: Logger;
  /** resolved beforehand (resolveRecordKek) so that a missing key fails before the store opens */
  kek?: RecordKek;
  issuer?: string;
}

export function recordKeyManager(o: {
  config: Config;
  store: Store;
  clock: Clock;
  kek: RecordKek;
  logger?: Logger;
  /** who creates and rotates keys (audit log); default { client: 'system' } */
  actor?: Actor;
}): RecordKeyManager {
  return new RecordKeyManager({
    store: o.store,
    kek: o.kek,
    alg: o.config.recordSigningAlg,
    clock: o.clock,
    maxRecordValidityMs: o.config.recordValidityHours * 3_600_000,
    ...(o.logger ? { logger: o.logger } : {}),
    ...(o.actor ? { actor: o.actor } : {}),
  });
}

export async function createRecords(o: RecordsOptions): Promise<Records> {
  const { config, store, clock, logger } = o;
  const kek = o.kek ?? resolveRecordKek(config, logger);
  const issuerUrl = o.issuer ?? resolveIssuer(config, logger);
  const keys = recordKeyManager({ config, store, clock, kek, ...(logger ? { logger } : {}) });
  const init = await keys.init();
  logger?.info({ kid: init.kid, alg: init.alg, issuer: issuerUrl, kek: kek.fingerprint }, 'record signing ready');
  const agentType = o.registry.resourceType('Agent');
  if (!agentType) throw new Error('the Agent resource type is not registered');
  const validityMs = config.recordValidityHours * 3_600_000;
  const statusListValidityMs = config.recordStatusListValidityMinutes * 60_000;
  let statusList: StatusListPublisher | undefined;
  const issuer = new RecordIssuer(
    keys,
    { issuer: issuerUrl, validityMs, inactiveValidityMs: Math.min(validityMs, statusListValidityMs), statusListValidityMs },
    () => statusList?.invalidate(),
  );
  statusList = new StatusListPublisher({ store, agentType, issuer, clock, windowMs: validityMs, ...(logger ? { logger } : {}) });
  const renewal = new RecordRenewal({
    store,
    agentType,
    issuer,
    clock,
    intervalMs: config.recordRenewalIntervalMinutes * 60_000,
    ...(logger ? { logger } : {}),
  });
  return { issuer, keys, statusList, renewal, hooks: createRecordHooks(issuer) };
}
