// The sync engine: one TargetSync + worker + reconciler per configured target, their lifecycle,
// health and metrics. app.ts starts it when a target is configured; the CLI drives it directly.

import type { Logger } from 'pino';
import type { Clock } from '../resources/context.js';
import { systemClock } from '../resources/context.js';
import type { ResourceHooks } from '../resources/hooks.js';
import type { ResourceService } from '../resources/service.js';
import type { SchemaRegistry } from '../scim/registry.js';
import type { Store } from '../store/types.js';
import type { Connector } from './connector.js';
import { externalIdentitiesHook } from './external-identities.js';
import { renderPrometheus, type TargetSnapshot } from './metrics.js';
import { Reconciler } from './reconciler.js';
import { DEFAULT_TUNABLES, type SyncTunables, TargetSync } from './target-sync.js';
import { SyncWorker } from './worker.js';

export interface SyncEngineOptions {
  store: Store;
  registry: SchemaRegistry;
  /** needed for changes flowing back (reconciliation); plan/apply work without it */
  service?: ResourceService;
  logger: Logger;
  clock?: Clock;
  connectors: Connector[];
  tunables?: Partial<SyncTunables>;
}

export interface TargetRuntime {
  sync: TargetSync;
  worker: SyncWorker;
  reconciler: Reconciler;
}

export interface TargetHealth {
  target: string;
  status: 'ok' | 'degraded' | 'failing';
  reasons: string[];
  worker: { running: boolean; id: string };
  queue: { pending: number; parked: number; oldestPendingAt?: string; oldestPendingAgeSeconds: number };
  counters: {
    successes: number;
    noops: number;
    rowsCompleted: number;
    retries: number;
    parked: number;
    throttled: number;
    requests: { reads: number; writes: number; batches: number };
    reconcile: Record<string, number>;
  };
  lastSuccessAt?: string;
  lastFailureAt?: string;
  lastError?: string;
  throttledUntil?: string;
  reconciliation: {
    enabled: boolean;
    deltaRuns: number;
    lastDeltaAt?: string;
    lastDeltaError?: string;
    fullCompares: number;
    lastFullCompareAt?: string;
    lastFullCompareError?: string;
    orphans: string[];
  };
  settings: Record<string, string | number | boolean>;
}

const iso = (ms: number | undefined) => (ms ? new Date(ms).toISOString() : undefined);

export class SyncEngine {
  readonly targets = new Map<string, TargetRuntime>();
  readonly tunables: SyncTunables;
  readonly #store: Store;
  readonly #log: Logger;
  #reconciling = false;

  constructor(o: SyncEngineOptions) {
    this.#store = o.store;
    this.#log = o.logger.child({ component: 'sync' });
    this.tunables = { ...DEFAULT_TUNABLES, ...o.tunables };
    for (const connector of o.connectors) {
      const sync = new TargetSync({
        connector,
        store: o.store,
        registry: o.registry,
        ...(o.service ? { service: o.service } : {}),
        logger: this.#log,
        clock: o.clock ?? systemClock,
        tunables: this.tunables,
      });
      this.targets.set(connector.target, {
        sync,
        worker: new SyncWorker({ sync, store: o.store, logger: sync.logger }),
        reconciler: new Reconciler(sync, sync.logger),
      });
    }
  }

  target(name: string): TargetRuntime {
    const t = this.targets.get(name);
    if (!t) throw new Error(`sync target "${name}" is not configured (configured: ${[...this.targets.keys()].join(', ') || 'none'})`);
    return t;
  }

  /** Start the workers (and the reconcilers, unless disabled). */
  start(o: { reconcile?: boolean } = {}): void {
    this.#reconciling = o.reconcile ?? this.tunables.reconcile;
    for (const t of this.targets.values()) {
      t.worker.start();
      if (this.#reconciling) t.reconciler.start();
    }
    this.#log.info({ targets: [...this.targets.keys()], reconcile: this.#reconciling }, 'sync started');
  }

  async stop(): Promise<void> {
    await Promise.all([...this.targets.values()].map(async (t) => Promise.all([t.reconciler.stop(), t.worker.stop()])));
    await Promise.all([...this.targets.values()].map((t) => t.sync.connector.close()));
  }

  /** Agent hook: externalIdentities from the link table. */
  decorateHook(): ResourceHooks {
    return externalIdentitiesHook(
      this.#store,
      [...this.targets.values()].map((t) => ({ target: t.sync.target, objectType: t.sync.connector.objectType })),
    );
  }

  async snapshots(): Promise<TargetSnapshot[]> {
    const now = Date.now();
    return Promise.all(
      [...this.targets.values()].map(async (t) => ({
        target: t.sync.target,
        running: t.worker.running,
        queue: await t.sync.queue(),
        metrics: t.sync.metrics,
        requests: t.sync.connector.health().requests,
        now,
      })),
    );
  }

  async prometheus(): Promise<string> {
    return renderPrometheus(await this.snapshots());
  }

  async health(): Promise<TargetHealth[]> {
    const now = Date.now();
    return Promise.all(
      [...this.targets.values()].map(async (t): Promise<TargetHealth> => {
        const q = await t.sync.queue();
        const m = t.sync.metrics;
        const ch = t.sync.connector.health();
        const age = q.oldestPendingAt ? Math.max(0, Math.round((now - Date.parse(q.oldestPendingAt)) / 1000)) : 0;
        const reasons: string[] = [];
        let status: TargetHealth['status'] = 'ok';
        if (!t.worker.running) {
          status = 'failing';
          reasons.push('the sync worker is not running in this process');
        }
        if (q.parked > 0) {
          status = 'failing';
          reasons.push(`${q.parked} parked row(s): see agentroster sync parked`);
        }
        if (m.lastFailureAt && (!m.lastSuccessAt || m.lastFailureAt > m.lastSuccessAt)) {
          if (status === 'ok') status = 'degraded';
          reasons.push(`last attempt failed: ${m.lastError ?? 'unknown error'}`);
        }
        if (ch.throttledUntil && ch.throttledUntil > now) {
          if (status === 'ok') status = 'degraded';
          reasons.push(`throttled by the target until ${new Date(ch.throttledUntil).toISOString()}`);
        }
        if (age > 300) {
          if (status === 'ok') status = 'degraded';
          reasons.push(`oldest pending change is ${age} s old`);
        }
        if (m.lastDeltaError || m.lastFullCompareError) {
          if (status === 'ok') status = 'degraded';
          reasons.push(`reconciliation error: ${m.lastDeltaError ?? m.lastFullCompareError}`);
        }
        const h: TargetHealth = {
          target: t.sync.target,
          status,
          reasons,
          worker: { running: t.worker.running, id: t.worker.workerId },
          queue: { ...q, oldestPendingAgeSeconds: age },
          counters: {
            successes: m.successes,
            noops: m.noops,
            rowsCompleted: m.rowsCompleted,
            retries: m.failures.retry,
            parked: m.failures.parked,
            throttled: ch.requests.throttled,
            requests: { reads: ch.requests.reads, writes: ch.requests.writes, batches: ch.requests.batches },
            reconcile: Object.fromEntries(Object.entries(m.reconcile).map(([k, v]) => [k, v ?? 0])),
          },
          reconciliation: {
            enabled: this.#reconciling,
            deltaRuns: m.deltaRuns,
            fullCompares: m.fullCompares,
            orphans: [...m.orphans],
          },
          settings: ch.settings,
        };
        const set = (k: string, v: string | undefined) => {
          if (v !== undefined) (h as unknown as Record<string, unknown>)[k] = v;
        };
        set('lastSuccessAt', iso(m.lastSuccessAt));
        set('lastFailureAt', iso(m.lastFailureAt));
        set('lastError', m.lastError);
        set('throttledUntil', ch.throttledUntil && ch.throttledUntil > now ? iso(ch.throttledUntil) : undefined);
        if (m.lastDeltaAt) h.reconciliation.lastDeltaAt = iso(m.lastDeltaAt)!;
        if (m.lastDeltaError) h.reconciliation.lastDeltaError = m.lastDeltaError;
        if (m.lastFullCompareAt) h.reconciliation.lastFullCompareAt = iso(m.lastFullCompareAt)!;
        if (m.lastFullCompareError) h.reconciliation.lastFullCompareError = m.lastFullCompareError;
        return h;
      }),
    );
  }
}

export { DEFAULT_TUNABLES, type SyncTunables } from './target-sync.js';
