// Everything the engine does for ONE target: converge an agent (worker), reconcile an observation
// (reconciler), plan, enqueue, full compare, delta. Per-agent work runs under a keyed mutex, so the
// worker and the reconciler of this process never touch the same agent at the same time.

import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock, RequestContext } from '../resources/context.js';
import type { ResourceService } from '../resources/service.js';
import type { SchemaRegistry } from '../scim/registry.js';
import type { AuditEventInput, OutboxInput, Store, StoredResource, SyncLink } from '../store/types.js';
import type { Connector, ConnectorLink, DesiredAgent, PlannedChange, RemoteObservation } from './connector.js';
import { CatalogueCache, DesiredStateBuilder, GOVERNANCE_URN, lifecycleOf, type PeopleCache } from './desired.js';
import { describeError, RemoteGoneError } from './errors.js';
import { KeyedMutex } from './keyed-mutex.js';
import { readLink, type SyncFlag, writeState } from './link-state.js';
import { TargetMetrics } from './metrics.js';

const PATCH_URN = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

export interface SyncTunables {
  /** agents converged at the same time by the worker */
  concurrency: number;
  /** outbox rows claimed per round trip */
  batchSize: number;
  leaseMs: number;
  /** attempts before a row is parked */
  maxAttempts: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** how often an idle worker looks for new rows */
  pollMs: number;
  /** how often the delta reconciliation runs (0: never) */
  deltaIntervalMs: number;
  /** how often the full compare runs (0: never) */
  fullCompareIntervalMs: number;
  /** run the reconciler at all (only one instance should, when several share a database) */
  reconcile: boolean;
  /** a retired agent is disabled remotely at once and deleted after this long */
  retiredDeleteAfterMs: number;
  /** objects younger than this may be missing from remote lists (index lag): not "deleted" */
  createConfirmMs: number;
  catalogueTtlMs: number;
}

export const DEFAULT_TUNABLES: SyncTunables = {
  concurrency: 40,
  batchSize: 100,
  leaseMs: 120_000,
  maxAttempts: 8,
  backoffBaseMs: 2_000,
  backoffMaxMs: 300_000,
  pollMs: 1_000,
  deltaIntervalMs: 60_000,
  fullCompareIntervalMs: 6 * 3_600_000,
  reconcile: true,
  retiredDeleteAfterMs: 30 * 86_400_000,
  createConfirmMs: 60_000,
  catalogueTtlMs: 30_000,
};

export interface TargetSyncOptions {
  connector: Connector;
  store: Store;
  registry: SchemaRegistry;
  /** domain changes flowing back (suspensions, revocations); absent in read-only tools */
  service?: ResourceService;
  logger: Logger;
  clock: Clock;
  tunables: SyncTunables;
}

export interface ConvergeOutcome {
  change: PlannedChange;
  noop: boolean;
  /** the previous attempt had failed (parked rows of this agent are now obsolete) */
  recovered?: boolean;
}

export interface PlanEntry {
  agentId: string;
  displayName: string;
  remoteId?: string;
  change: PlannedChange;
}

export interface ReconcileOutcome {
  actions: string[];
}

export class TargetSync {
  readonly target: string;
  readonly connector: Connector;
  readonly metrics: TargetMetrics;
  readonly mutex = new KeyedMutex();
  readonly catalogue: CatalogueCache;
  readonly builder: DesiredStateBuilder;
  readonly tunables: SyncTunables;
  readonly #store: Store;
  readonly #registry: SchemaRegistry;
  readonly #service: ResourceService | undefined;
  readonly #log: Logger;
  readonly #clock: Clock;
  /** remote id → agent id, for observations that carry no tag (deletions) */
  readonly #byRemote = new Map<string, string>();
  #indexLoaded = false;

  constructor(o: TargetSyncOptions) {
    this.connector = o.connector;
    this.target = o.connector.target;
    this.tunables = o.tunables;
    this.#store = o.store;
    this.#registry = o.registry;
    this.#service = o.service;
    this.#log = o.logger.child({ target: this.target });
    this.#clock = o.clock;
    this.metrics = new TargetMetrics(this.target);
    this.catalogue = new CatalogueCache(o.store, o.registry, this.target, o.tunables.catalogueTtlMs);
    this.builder = new DesiredStateBuilder({
      store: o.store,
      target: this.target,
      catalogue: this.catalogue,
      retiredDeleteAfterMs: o.tunables.retiredDeleteAfterMs,
      now: () => o.clock.now(),
    });
  }

  get logger(): Logger {
    return this.#log;
  }

  // ───────────────────────────────────────────────────────────── converge (the worker's unit)

  /** Bring the remote side of one agent in line with the store. Throws SyncError on failure. */
  converge(agentId: string, signal: AbortSignal): Promise<ConvergeOutcome> {
    return this.mutex.run(agentId, () => this.#converge(agentId, signal));
  }

  async #converge(agentId: string, signal: AbortSignal): Promise<ConvergeOutcome> {
    const link = await this.#store.sync.getLink(this.target, agentId);
    const { meta, state } = readLink(link);
    const row = (await this.#store.get('Agent', agentId)) ?? null;
    const nowIso = this.#clock.now().toISOString();
    if (row) {
      const lc = lifecycleOf(row.data);
      if (lc === 'retired') meta.retiredSeenAt ??= nowIso;
      else delete meta.retiredSeenAt;
      // an approval (activation here) settles any flag raised by a remote re-enable
      if (lc === 'active' && meta.flags?.length) delete meta.flags;
    }
    const desired = await this.builder.build(agentId, meta, row);
    const fp = this.connector.fingerprint(desired);
    if (!link && desired.presence !== 'present') return { change: { kind: 'noop', details: [] }, noop: true };
    const settled =
      link !== undefined &&
      meta.fp === fp &&
      link.lastError === undefined &&
      (desired.presence === 'present') === (link.remoteId !== undefined);
    if (settled) {
      if ((link.syncedVersion ?? 0) < desired.version) await this.#put(link, { syncedVersion: desired.version });
      return { change: { kind: 'noop', details: [] }, noop: true };
    }
    const cl: ConnectorLink = { state, ...(link?.remoteId ? { remoteId: link.remoteId } : {}) };
    if (!link?.remoteId && meta.remoteDeleted && desired.presence === 'present') cl.previousRemoteId = meta.remoteDeleted.remoteId;
    let current: SyncLink = link ?? { target: this.target, resourceId: agentId };
    const checkpoint = async (l: ConnectorLink): Promise<void> => {
      current = await this.#put(current, {
        remoteId: l.remoteId,
        remoteState: writeState(meta, l.state),
        lastSyncedAt: new Date().toISOString(),
      });
      if (l.remoteId) this.#byRemote.set(l.remoteId, agentId);
    };
    let result;
    try {
      result = await this.connector.apply(desired, cl, { checkpoint, now: () => this.#clock.now(), logger: this.#log, signal });
    } catch (e) {
      if (e instanceof RemoteGoneError) {
        // deleted remotely and not reconciled yet: most restrictive wins, exactly as the reconciler would
        await this.#reconcileLocked(agentId, { remoteId: e.remoteId, agentId, exists: false, observedAt: Date.now() }, row);
        return { change: { kind: 'noop', details: [`remote object ${e.remoteId} was deleted outside agentroster`] }, noop: false };
      }
      await this.#put(current, { lastError: describeError(e).slice(0, 2000) });
      throw e;
    }
    if (result.link === null) {
      if (row) {
        // retired beyond grace, or deleted remotely while inactive: keep the bookkeeping so the
        // object is not re-created (and a deleted one can be restored on re-activation)
        if (desired.presence === 'absent') delete meta.remoteDeleted;
        await this.#put(current, {
          remoteId: undefined,
          remoteState: writeState({ ...meta, fp, objectType: result.objectType }, {}),
          lastSyncedAt: new Date().toISOString(),
          lastError: undefined,
          syncedVersion: desired.version,
        });
      } else {
        await this.#store.sync.deleteLink(this.target, agentId);
      }
      if (cl.remoteId) this.#byRemote.delete(cl.remoteId);
    } else {
      if (result.link.remoteId) {
        delete meta.remoteDeleted;
        this.#byRemote.set(result.link.remoteId, agentId);
      }
      await this.#put(current, {
        remoteId: result.link.remoteId,
        remoteState: writeState({ ...meta, fp, objectType: result.objectType }, result.link.state),
        lastSyncedAt: new Date().toISOString(),
        lastError: undefined,
        syncedVersion: desired.version,
      });
    }
    return { change: result.change, noop: result.change.kind === 'noop', ...(link?.lastError ? { recovered: true } : {}) };
  }

  /** putLink with every column (the store replaces the row). */
  async #put(base: SyncLink, patch: Partial<Omit<SyncLink, 'target' | 'resourceId'>>): Promise<SyncLink> {
    const next: SyncLink = { ...base, ...patch, target: this.target, resourceId: base.resourceId };
    for (const k of Object.keys(next) as (keyof SyncLink)[]) if (next[k] === undefined) delete next[k];
    await this.#store.sync.putLink(next);
    return next;
  }

  // ───────────────────────────────────────────────────────────── reconcile (remote → here)

  /** Apply one remote observation: suspensions, revocations, flags, pushes. */
  async reconcile(obs: RemoteObservation): Promise<ReconcileOutcome> {
    await this.#ensureIndex();
    const agentId = obs.agentId ?? this.#byRemote.get(obs.remoteId);
    if (!agentId) return { actions: [] };
    return this.mutex.run(agentId, async () => this.#reconcileLocked(agentId, obs, undefined));
  }

  async #reconcileLocked(agentId: string, obs: RemoteObservation, rowIn: StoredResource | null | undefined): Promise<ReconcileOutcome> {
    const actions: string[] = [];
    const link = await this.#store.sync.getLink(this.target, agentId);
    const row = rowIn === undefined ? ((await this.#store.get('Agent', agentId)) ?? null) : rowIn;
    const { meta, state } = readLink(link);
    // an observation older than our last write to this agent is stale: the next one will tell
    if (link?.lastSyncedAt && obs.observedAt !== undefined && Date.parse(link.lastSyncedAt) > obs.observedAt) return { actions };
    const nowIso = new Date().toISOString();

    if (!link?.remoteId) {
      if (!obs.exists) return { actions };
      if (!row) {
        this.#orphan(obs.remoteId);
        return { actions: ['orphan'] };
      }
      // a lost create found by its tag, or an object restored remotely: adopt it
      const adopted = this.connector.adopt(obs);
      const desired = await this.builder.build(agentId, meta, row);
      const restored = meta.remoteDeleted !== undefined;
      delete meta.remoteDeleted;
      delete meta.fp;
      const flags: SyncFlag[] = [];
      if (restored && obs.enabled === true && !desired.enabled) {
        flags.push({ kind: 'remoteReenable', at: nowIso, detail: `restored and enabled in ${this.target} (object ${obs.remoteId}); not applied: the agent is ${desired.lifecycleState} here` });
      }
      if (flags.length) meta.flags = [...(meta.flags ?? []), ...flags];
      await this.#put(link ?? { target: this.target, resourceId: agentId }, {
        remoteId: adopted.remoteId ?? obs.remoteId,
        remoteState: writeState(meta, adopted.state),
        lastSyncedAt: nowIso,
      });
      this.#byRemote.set(obs.remoteId, agentId);
      this.metrics.action('adopt');
      actions.push('adopt');
      await this.#enqueue([agentId], 'reconcile', flags.map((f) => this.#flagAudit(agentId, row, f)));
      if (flags.length) {
        this.metrics.action('flag');
        actions.push('flag');
      }
      return { actions };
    }

    if (obs.remoteId !== link.remoteId) {
      if (obs.exists) actions.push('duplicate');
      return { actions }; // duplicates are handled by the full compare, which sees them all
    }

    const desired = await this.builder.build(agentId, meta, row);
    const drift = this.connector.compare(desired, { remoteId: link.remoteId, state }, obs);
    const lc = row ? lifecycleOf(row.data) : undefined;
    const audits: AuditEventInput[] = [];
    let push = drift.other.length > 0;

    if (drift.deleted) {
      meta.remoteDeleted = { at: nowIso, remoteId: link.remoteId };
      this.#byRemote.delete(link.remoteId);
      if (row && lc === 'active') {
        await this.#suspend(row, `deleted in ${this.target}`);
        this.metrics.action('suspend');
        actions.push('suspend');
      } else {
        this.metrics.action('remoteDeleted');
        actions.push('remoteDeleted');
      }
      delete meta.fp;
      await this.#put(link, { remoteId: undefined, remoteState: writeState(meta, {}), lastSyncedAt: nowIso });
      return { actions };
    }

    // most restrictive wins: first the domain changes; the baseline moves only once they are made
    if (drift.disabled && row && lc === 'active') {
      await this.#suspend(row, `disabled in ${this.target}`);
      this.metrics.action('suspend');
      actions.push('suspend');
    }
    const held = new Set(desired.entitlements.map((e) => e.value));
    const revoke = drift.revoked.filter((v) => held.has(v));
    if (revoke.length > 0 && row) {
      await this.#revoke(row, revoke);
      this.metrics.action('revoke', revoke.length);
      actions.push(...revoke.map((v) => `revoke ${v}`));
    }
    if (drift.reenabled && !desired.enabled && desired.presence === 'present') {
      const flag: SyncFlag = {
        kind: 'remoteReenable',
        at: nowIso,
        detail: `enabled in ${this.target} (object ${link.remoteId}); not applied: the agent is ${desired.lifecycleState} here. Activate it here to approve; until then it is disabled again.`,
      };
      meta.flags = [...(meta.flags ?? []).filter((f) => f.kind !== 'remoteReenable'), flag];
      if (row) audits.push(this.#flagAudit(agentId, row, flag));
      this.metrics.action('flag');
      actions.push('flag');
      push = true;
    }
    if (drift.other.length > 0) {
      meta.drift = drift.other;
      meta.driftAt = nowIso;
      this.metrics.action('push');
      actions.push('push');
    }
    if (push) delete meta.fp; // forces the next apply to compare with the moved baseline
    await this.#put(link, { remoteId: drift.remoteId ?? link.remoteId, remoteState: writeState(meta, drift.state) });
    if (push || audits.length > 0) await this.#enqueue([agentId], 'reconcile', audits);
    if (actions.length) this.#log.info({ agentId, remoteId: link.remoteId, actions, drift: drift.other }, 'reconciled remote changes');
    return { actions };
  }

  /** The context of changes flowing back: the target is the actor; it may revoke, never grant. */
  #context(reason: string): RequestContext {
    return {
      actor: { client: this.target },
      scopes: new Set(['scim.read', 'scim.revoke']),
      requestId: `sync-${this.target}-${randomUUID()}`,
      baseUrl: '',
      reason,
    };
  }

  async #suspend(row: StoredResource, why: string): Promise<void> {
    if (!this.#service) throw new Error('no resource service: cannot apply a remote suspension');
    this.#log.warn({ agentId: row.id, why }, 'suspending agent: most restrictive wins');
    await this.#service.patch(
      'Agent',
      row.id,
      {
        schemas: [PATCH_URN],
        Operations: [
          { op: 'replace', path: `${GOVERNANCE_URN}:lifecycleState`, value: 'suspended' },
          { op: 'replace', path: `${GOVERNANCE_URN}:stateReason`, value: 'externalDisable' },
        ],
      },
      this.#context(`${why} (most restrictive wins)`),
    );
  }

  async #revoke(row: StoredResource, values: string[]): Promise<void> {
    if (!this.#service) throw new Error('no resource service: cannot apply a remote revocation');
    this.#log.warn({ agentId: row.id, values }, 'revoking entitlements removed remotely');
    await this.#service.patch(
      'Agent',
      row.id,
      {
        schemas: [PATCH_URN],
        Operations: values.map((v) => ({ op: 'remove', path: `entitlements[value eq ${JSON.stringify(v)}]` })),
      },
      this.#context(`removed in ${this.target}: ${values.join(', ')} (most restrictive wins)`),
    );
  }

  #flagAudit(agentId: string, row: StoredResource, f: SyncFlag): AuditEventInput {
    return {
      action: 'sync.flag',
      resourceType: 'Agent',
      resourceId: agentId,
      actor: { client: this.target },
      requestId: `sync-${this.target}-${randomUUID()}`,
      reason: f.detail,
      changes: { flag: { before: null, after: f.kind } },
      version: row.version,
      at: f.at,
    };
  }

  #orphan(remoteId: string): void {
    if (!this.metrics.orphans.includes(remoteId)) {
      this.metrics.orphans.push(remoteId);
      if (this.metrics.orphans.length > 1000) this.metrics.orphans.shift();
      this.metrics.action('orphan');
      this.#log.warn({ remoteId }, 'remote object tagged by agentroster matches no agent here; left alone (delete it by hand if it is not another installation\'s)');
    }
  }

  // ───────────────────────────────────────────────────────────── queue

  /** Outbox rows for these agents (outside any resource change), with optional audit events. */
  async enqueue(agentIds: string[], action = 'resync'): Promise<number> {
    return this.#enqueue(agentIds, action, []);
  }

  async #enqueue(agentIds: string[], action: string, audit: AuditEventInput[]): Promise<number> {
    let n = 0;
    for (let i = 0; i < Math.max(agentIds.length, audit.length ? 1 : 0); i += 500) {
      const chunk = agentIds.slice(i, i + 500);
      const rows = await this.#store.getMany('Agent', chunk);
      const version = new Map(rows.map((r) => [r.id, r.version]));
      const outbox: OutboxInput[] = chunk.map((id) => ({
        target: this.target,
        resourceType: 'Agent',
        resourceId: id,
        action,
        version: version.get(id) ?? 0,
      }));
      await this.#store.commit({ writes: [], audit: i === 0 ? audit : [], outbox });
      n += outbox.length;
    }
    return n;
  }

  // ───────────────────────────────────────────────────────────── plan, full compare, delta

  /** Every agent whose remote side differs from the store, with what apply would do. */
  async plan(opts: { includeNoops?: boolean } = {}): Promise<PlanEntry[]> {
    const out: PlanEntry[] = [];
    await this.#eachDesired(async (desired, link) => {
      const { meta, state } = readLink(link);
      const fp = this.connector.fingerprint(desired);
      const cl: ConnectorLink = { state, ...(link?.remoteId ? { remoteId: link.remoteId } : {}) };
      if (!link?.remoteId && meta.remoteDeleted && desired.presence === 'present') cl.previousRemoteId = meta.remoteDeleted.remoteId;
      let change: PlannedChange;
      if (!link && desired.presence !== 'present') change = { kind: 'noop', details: [] };
      else if (link && meta.fp === fp && !link.lastError && (desired.presence === 'present') === (link.remoteId !== undefined)) {
        change = { kind: 'noop', details: [] };
      } else change = this.connector.plan(desired, cl);
      if (change.kind === 'noop' && !opts.includeNoops) return;
      out.push({ agentId: desired.id, displayName: desired.displayName, ...(link?.remoteId ? { remoteId: link.remoteId } : {}), change });
    });
    return out;
  }

  /**
   * Outbox rows for every agent whose remote side differs (the `apply` of `plan`), except agents
   * that already have a pending row (it will converge them) or a parked one (a human decides).
   */
  async enqueueDrifted(): Promise<number> {
    const queued = new Set<string>();
    for (const status of ['pending', 'parked'] as const) {
      for (const r of await this.#store.outbox.list({ target: this.target, status, limit: 1_000_000 })) queued.add(r.resourceId);
    }
    const ids = (await this.plan()).map((p) => p.agentId).filter((id) => !queued.has(id));
    return ids.length ? this.enqueue(ids, 'resync') : 0;
  }

  /** Calls fn for every agent here and every linked agent no longer here. */
  async #eachDesired(fn: (desired: DesiredAgent, link: SyncLink | undefined) => Promise<void>): Promise<void> {
    const links = new Map<string, SyncLink>();
    let after = '';
    for (;;) {
      const page = await this.#store.sync.links(this.target, after, 1000);
      for (const l of page) links.set(l.resourceId, l);
      if (page.length < 1000) break;
      after = page[page.length - 1]!.resourceId;
    }
    const agentRt = this.#registry.resourceType('Agent');
    if (!agentRt) throw new Error('the Agent resource type is not registered');
    const people: PeopleCache = new Map(); // sponsors are shared by many agents: read each once per pass
    let cursor = '';
    for (;;) {
      const page = await this.#store.list(agentRt, { startIndex: 1, count: 500, cursor, withoutTotal: true });
      for (const row of page.resources) {
        const link = links.get(row.id);
        links.delete(row.id);
        await fn(await this.builder.build(row.id, readLink(link).meta, row, people), link);
      }
      if (!page.nextCursor) break;
      cursor = page.nextCursor;
    }
    for (const [id, link] of links) await fn(await this.builder.build(id, readLink(link).meta, null, people), link);
  }

  async #ensureIndex(force = false): Promise<void> {
    if (this.#indexLoaded && !force) return;
    let after = '';
    const fresh = new Map<string, string>();
    for (;;) {
      const page = await this.#store.sync.links(this.target, after, 1000);
      for (const l of page) if (l.remoteId) fresh.set(l.remoteId, l.resourceId);
      if (page.length < 1000) break;
      after = page[page.length - 1]!.resourceId;
    }
    this.#byRemote.clear();
    for (const [k, v] of fresh) this.#byRemote.set(k, v);
    this.#indexLoaded = true;
  }

  /**
   * Full compare: every managed remote object against its link (drift, remote deletions, lost
   * creates, duplicates), then every agent's desired state against what was last applied (catalogue
   * changes, retire grace, missing rows). Enqueues the agents that need a push.
   */
  async fullCompare(signal: AbortSignal): Promise<{ observed: number; actions: number; enqueued: number; duplicates: number }> {
    const startedAt = Date.now();
    await this.#ensureIndex(true);
    this.catalogue.invalidate();
    const mappings = [...(await this.catalogue.mappings()).values()].flat();
    const inventory = await this.connector.inventory({ mappings }, signal);
    const byAgent = new Map<string, RemoteObservation[]>();
    for (const o of inventory) {
      o.observedAt = startedAt;
      const id = o.agentId ?? this.#byRemote.get(o.remoteId);
      if (!id) continue;
      const list = byAgent.get(id) ?? [];
      list.push(o);
      byAgent.set(id, list);
    }
    let actions = 0;
    let duplicates = 0;
    const seen = new Set<string>();
    let after = '';
    for (;;) {
      const page = await this.#store.sync.links(this.target, after, 1000);
      for (const link of page) {
        seen.add(link.resourceId);
        const found = byAgent.get(link.resourceId) ?? [];
        if (!link.remoteId) {
          const candidate = found[0];
          if (candidate) actions += (await this.#safeReconcile({ ...candidate, agentId: link.resourceId })).length;
          continue;
        }
        const primary = found.find((o) => o.remoteId === link.remoteId);
        if (primary) actions += (await this.#safeReconcile(primary)).length;
        else if (!this.#young(link)) {
          actions += (await this.#safeReconcile({ remoteId: link.remoteId, agentId: link.resourceId, exists: false, observedAt: startedAt })).length;
        }
        for (const dup of found) {
          if (dup.remoteId === link.remoteId) continue;
          const created = dup.createdAt ? Date.parse(dup.createdAt) : 0;
          if (Date.now() - created < this.tunables.createConfirmMs) continue;
          try {
            await this.mutex.run(link.resourceId, () => this.connector.remove(dup.remoteId, signal));
            duplicates++;
            this.metrics.action('duplicateDeleted');
            this.#log.warn({ agentId: link.resourceId, duplicate: dup.remoteId, kept: link.remoteId }, 'deleted a duplicate remote object');
          } catch (e) {
            this.#log.error({ err: describeError(e), duplicate: dup.remoteId }, 'could not delete a duplicate remote object');
          }
        }
      }
      if (page.length < 1000) break;
      after = page[page.length - 1]!.resourceId;
    }
    // tagged objects without any link: lost creates (adopted) or orphans
    for (const [agentId, list] of byAgent) {
      if (seen.has(agentId)) continue;
      const first = list[0];
      if (first) actions += (await this.#safeReconcile({ ...first, agentId })).length;
    }
    this.catalogue.invalidate();
    const enqueued = await this.enqueueDrifted();
    this.metrics.fullCompares++;
    this.metrics.lastFullCompareAt = Date.now();
    delete this.metrics.lastFullCompareError;
    this.#log.info({ observed: inventory.length, actions, enqueued, duplicates, ms: Date.now() - startedAt }, 'full compare done');
    return { observed: inventory.length, actions, enqueued, duplicates };
  }

  #young(link: SyncLink): boolean {
    const at = link.lastSyncedAt ? Date.parse(link.lastSyncedAt) : 0;
    return Date.now() - at < this.tunables.createConfirmMs;
  }

  async #safeReconcile(obs: RemoteObservation): Promise<string[]> {
    try {
      return (await this.reconcile(obs)).actions;
    } catch (e) {
      this.#log.error({ err: describeError(e), remoteId: obs.remoteId, agentId: obs.agentId }, 'reconciling an observation failed; it is retried on the next run');
      return [];
    }
  }

  /** One delta round: remote changes since the stored cursor. */
  async runDelta(signal: AbortSignal): Promise<{ observed: number; actions: number; resync: boolean }> {
    if (!this.connector.delta) return { observed: 0, actions: 0, resync: false };
    await this.#ensureIndex();
    const name = `${this.target}.delta`;
    const cursor = await this.#store.sync.getCursor(name);
    const startedAt = Date.now();
    const res = await this.connector.delta(cursor, signal);
    let actions = 0;
    if (res.resync || cursor === undefined) {
      // a first start has no baseline of remote changes; an expired token lost them
      if (res.resync) this.#log.warn('delta token expired (syncStateNotFound): running a full compare');
      await this.fullCompare(signal);
    } else {
      for (const o of res.observations) {
        o.observedAt = startedAt;
        if (!o.agentId && !this.#byRemote.has(o.remoteId)) continue;
        actions += (await this.#safeReconcile(o)).length;
      }
    }
    await this.#store.sync.putCursor(name, res.cursor);
    this.metrics.deltaRuns++;
    this.metrics.lastDeltaAt = Date.now();
    delete this.metrics.lastDeltaError;
    return { observed: res.observations.length, actions, resync: res.resync || cursor === undefined };
  }

  async queue(): Promise<{ pending: number; parked: number; oldestPendingAt?: string }> {
    return this.#store.outbox.stats(this.target);
  }

  /** Parked rows of an agent become pending again once the agent converged (they are obsolete). */
  async requeueParkedOf(agentId: string): Promise<void> {
    const parked = await this.#store.outbox.list({ target: this.target, status: 'parked', limit: 1000 });
    for (const r of parked) if (r.resourceId === agentId) await this.#store.outbox.requeue(r.seq);
  }
}
