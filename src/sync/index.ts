// The sync engine's public surface.

import type { Config } from '../config/config.js';
import type { SyncTunables } from './target-sync.js';

export type { Connector, DesiredAgent, ConnectorLink, ApplyContext, ApplyResult, DriftReport, RemoteObservation, PlannedChange } from './connector.js';
export { SyncEngine, type SyncEngineOptions, type TargetHealth, type TargetRuntime } from './engine.js';
export { DEFAULT_TUNABLES, type SyncTunables, type PlanEntry } from './target-sync.js';
export { PermanentError, RetryableError, RemoteGoneError, SyncError } from './errors.js';
export type { PassResult, ProgressEvent } from './worker.js';

/** Engine tunables from the configuration (seconds → ms). */
export function tunablesFromConfig(c: Config): SyncTunables {
  return {
    concurrency: c.syncConcurrency,
    batchSize: c.syncBatchSize,
    leaseMs: Math.round(c.syncLeaseSeconds * 1000),
    maxAttempts: c.syncMaxAttempts,
    backoffBaseMs: Math.round(c.syncBackoffBaseSeconds * 1000),
    backoffMaxMs: Math.round(c.syncBackoffMaxSeconds * 1000),
    pollMs: c.syncPollIntervalMs,
    deltaIntervalMs: Math.round(c.syncDeltaIntervalSeconds * 1000),
    fullCompareIntervalMs: Math.round(c.syncFullCompareIntervalMinutes * 60_000),
    reconcile: c.syncReconcile,
    retiredDeleteAfterMs: Math.round(c.syncRetiredDeleteAfterDays * 86_400_000),
    createConfirmMs: Math.round(c.syncCreateConfirmSeconds * 1000),
    catalogueTtlMs: 30_000,
  };
}
