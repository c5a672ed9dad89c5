// Okta event hooks: deliveries are POSTs of {eventType:"com.okta.event_hook", eventId,
// data:{events:[LogEvent…]}}, "delivered at least once … may arrive out of order", 3 s timeout and at
// most one retry (okta.md §1.4). The receiver:
// - deduplicates by the delivery's eventId and by each event's uuid, remembered in memory and in
//   the store (sync cursor "okta.hooks.seen", the latest ids), so a redelivery to a restarted (or
//   another) instance is recognised too;
// - answers at once and works afterwards, serially: the events name the users to look at; each is
//   read fresh by id (connector.observeEvents) and reconciled by the engine exactly like the System
//   Log's observations (most restrictive wins, audited with the actor "okta"). Out-of-order or
//   duplicated events therefore cannot undo anything: only the current state counts.
// An event marked seen whose processing then fails is not lost: the System Log poll (delta) and the
// periodic full compare read the same state again.

import type { Logger } from 'pino';
import type { RemoteObservation } from '../../sync/connector.js';
import type { SyncStateStore } from '../../store/types.js';
import { isWatchedEvent, type LogEventLike, type OktaConnector } from './connector.js';

export const SEEN_CURSOR = 'okta.hooks.seen';
const KEEP = 2000;

export interface ReconcileTarget {
  reconcile(obs: RemoteObservation): Promise<{ actions: string[] }>;
}

export interface HookDelivery {
  eventType?: string;
  eventId?: string;
  data?: { events?: LogEventLike[] };
}

export interface AcceptResult {
  /** events taken for processing */
  accepted: number;
  /** events (or a whole delivery) seen before */
  duplicates: number;
  /** events of types agentroster does not act on */
  ignored: number;
}

export class OktaHookReceiver {
  readonly #connector: OktaConnector;
  readonly #target: ReconcileTarget;
  readonly #store: SyncStateStore;
  readonly #log: Logger | undefined;
  #seen: string[] | undefined;
  #seenSet = new Set<string>();
  #loading: Promise<void> | undefined;
  #chain: Promise<void> = Promise.resolve();
  #persist: Promise<void> = Promise.resolve();
  readonly stats = { deliveries: 0, duplicates: 0, events: 0, actions: 0, failures: 0 };

  constructor(o: { connector: OktaConnector; target: ReconcileTarget; store: SyncStateStore; logger?: Logger }) {
    this.#connector = o.connector;
    this.#target = o.target;
    this.#store = o.store;
    this.#log = o.logger?.child({ component: 'okta-hooks' });
  }

  async #load(): Promise<void> {
    if (this.#seen) return;
    this.#loading ??= (async () => {
      let ids: string[] = [];
      try {
        const raw = await this.#store.getCursor(SEEN_CURSOR);
        const parsed: unknown = raw ? JSON.parse(raw) : [];
        if (Array.isArray(parsed)) ids = parsed.filter((x): x is string => typeof x === 'string');
      } catch {
        ids = [];
      }
      this.#seen = ids;
      this.#seenSet = new Set(ids);
    })();
    await this.#loading;
  }

  #remember(ids: string[]): void {
    const seen = this.#seen!;
    for (const id of ids) {
      if (this.#seenSet.has(id)) continue;
      seen.push(id);
      this.#seenSet.add(id);
    }
    while (seen.length > KEEP) this.#seenSet.delete(seen.shift()!);
    const snapshot = JSON.stringify(seen);
    this.#persist = this.#persist
      .then(() => this.#store.putCursor(SEEN_CURSOR, snapshot))
      .catch((e: unknown) => this.#log?.warn({ err: String(e) }, 'could not persist the event hook dedup ids'));
  }

  /** Take a delivery: deduplicate, remember, and schedule the work. Never throws for bad input. */
  async accept(body: unknown): Promise<AcceptResult> {
    await this.#load();
    const d = (typeof body === 'object' && body !== null ? body : {}) as HookDelivery;
    const events = Array.isArray(d.data?.events) ? d.data.events : [];
    this.stats.deliveries++;
    const result: AcceptResult = { accepted: 0, duplicates: 0, ignored: 0 };
    if (d.eventId && this.#seenSet.has(`d:${d.eventId}`)) {
      this.stats.duplicates += events.length || 1;
      return { ...result, duplicates: events.length || 1 };
    }
    const fresh: LogEventLike[] = [];
    const ids: string[] = d.eventId ? [`d:${d.eventId}`] : [];
    for (const e of events) {
      if (!e || typeof e !== 'object') continue;
      if (e.uuid && this.#seenSet.has(`e:${e.uuid}`)) {
        result.duplicates++;
        continue;
      }
      if (e.uuid) ids.push(`e:${e.uuid}`);
      fresh.push(e);
    }
    this.stats.duplicates += result.duplicates;
    this.#remember(ids);
    // "may arrive out of order": the order only matters for the log; the state is read fresh
    fresh.sort((a, b) => String(a.published ?? '').localeCompare(String(b.published ?? '')));
    const relevant = fresh.filter((e) => e.eventType !== undefined && isWatchedEvent(e.eventType));
    result.ignored = fresh.length - relevant.length;
    result.accepted = relevant.length;
    this.stats.events += relevant.length;
    if (relevant.length > 0) {
      this.#chain = this.#chain.then(() => this.#process(relevant));
    }
    return result;
  }

  async #process(events: LogEventLike[]): Promise<void> {
    try {
      const observations = await this.#connector.observeEvents(events);
      for (const o of observations) {
        try {
          const r = await this.#target.reconcile(o);
          this.stats.actions += r.actions.length;
          if (r.actions.length) this.#log?.info({ remoteId: o.remoteId, agentId: o.agentId, actions: r.actions }, 'Okta event hook: remote change applied');
        } catch (e) {
          this.stats.failures++;
          this.#log?.error({ remoteId: o.remoteId, err: e instanceof Error ? e.message : String(e) }, 'Okta event hook: reconciling failed; the System Log poll and the full compare retry it');
        }
      }
    } catch (e) {
      this.stats.failures++;
      this.#log?.error({ err: e instanceof Error ? e.message : String(e) }, 'Okta event hook: reading the users named by the events failed; the System Log poll and the full compare retry it');
    }
  }

  /** Resolves once every accepted delivery has been processed (tests, shutdown). */
  async idle(): Promise<void> {
    for (;;) {
      const c = this.#chain;
      await c;
      await this.#persist;
      if (c === this.#chain) return;
    }
  }
}
