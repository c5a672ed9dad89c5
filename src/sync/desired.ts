// The desired state of one agent for one target, read from the store: lifecycle, sponsors (with
// what identifies them remotely), entitlements with the catalogue's mappings for the target, and
// whether the remote object should exist at all (retire grace, remote deletions).

import type { SchemaRegistry } from '../scim/registry.js';
import type { Json, Store, StoredResource } from '../store/types.js';
import type { DesiredAgent, DesiredEntitlement, EntitlementMapping, LifecycleState, Presence, SponsorRef } from './connector.js';
import type { EngineMeta } from './link-state.js';

export const GOVERNANCE_URN = 'urn:agentroster:scim:schemas:extension:agent-governance:1.0:Agent';
export const ENTITLEMENT_GOVERNANCE_URN = 'urn:agentroster:scim:schemas:extension:entitlement:1.0:Entitlement';

const LIFECYCLE: readonly LifecycleState[] = ['pending', 'active', 'suspended', 'retired'];

const isJson = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);

export function governanceOf(agent: Json): Json {
  const g = agent[GOVERNANCE_URN];
  return isJson(g) ? g : {};
}

export function lifecycleOf(agent: Json): LifecycleState {
  const s = governanceOf(agent).lifecycleState;
  return LIFECYCLE.includes(s as LifecycleState) ? (s as LifecycleState) : 'pending';
}

/** Entitlement value → its mappings for one target, reloaded at most every `ttlMs`. */
export class CatalogueCache {
  #at = 0;
  #map = new Map<string, EntitlementMapping[]>();
  #loading: Promise<void> | undefined;

  constructor(
    private readonly store: Store,
    private readonly registry: SchemaRegistry,
    private readonly target: string,
    private readonly ttlMs = 30_000,
  ) {}

  invalidate(): void {
    this.#at = 0;
  }

  async mappings(): Promise<Map<string, EntitlementMapping[]>> {
    if (Date.now() - this.#at < this.ttlMs) return this.#map;
    this.#loading ??= this.#load().finally(() => (this.#loading = undefined));
    await this.#loading;
    return this.#map;
  }

  async #load(): Promise<void> {
    const rt = this.registry.resourceType('Entitlement');
    const map = new Map<string, EntitlementMapping[]>();
    if (rt) {
      let cursor = '';
      for (;;) {
        const page = await this.store.list(rt, { startIndex: 1, count: 500, cursor, withoutTotal: true });
        for (const r of page.resources) {
          const value = str(r.data.value);
          if (!value) continue;
          const ext = r.data[ENTITLEMENT_GOVERNANCE_URN];
          const rows = isJson(ext) && Array.isArray(ext.mappings) ? (ext.mappings as unknown[]) : [];
          const mine = rows.filter(isJson).filter((m) => String(m.target).toLowerCase() === this.target);
          map.set(
            value,
            mine.map((m) => {
              const kind = m.kind === 'appRole' ? 'appRole' : 'group';
              const out: EntitlementMapping = { kind };
              if (str(m.remoteId)) out.remoteId = str(m.remoteId)!;
              if (str(m.appId)) out.appId = str(m.appId)!;
              return out;
            }),
          );
        }
        if (!page.nextCursor) break;
        cursor = page.nextCursor;
      }
    }
    this.#map = map;
    this.#at = Date.now();
  }
}

/** Sponsors read during one pass over many agents (plan, full compare): id → row (null: none). */
export type PeopleCache = Map<string, { kind: 'user' | 'group'; row: StoredResource } | null>;

export interface DesiredOptions {
  store: Store;
  target: string;
  catalogue: CatalogueCache;
  /** how long a retired agent stays (disabled) remotely before it is deleted */
  retiredDeleteAfterMs: number;
  now: () => Date;
}

export class DesiredStateBuilder {
  constructor(private readonly o: DesiredOptions) {}

  /**
   * `meta` is the engine's bookkeeping from the link (when the agent retired, whether the object
   * was deleted remotely). `row` may be passed when already read.
   */
  async build(agentId: string, meta: EngineMeta, row?: StoredResource | null, people?: PeopleCache): Promise<DesiredAgent> {
    const agent = row === undefined ? await this.o.store.get('Agent', agentId) : (row ?? undefined);
    if (!agent) {
      return {
        id: agentId,
        version: 0,
        presence: 'absent',
        enabled: false,
        lifecycleState: 'deleted',
        displayName: agentId,
        agentUserName: agentId,
        sponsors: [],
        entitlements: [],
      };
    }
    const data = agent.data;
    const gov = governanceOf(data);
    const lifecycle = lifecycleOf(data);
    const presence = this.presenceOf(lifecycle, gov, meta);
    const [sponsors, entitlements] = await Promise.all([this.#sponsors(gov, people), this.#entitlements(data)]);
    const out: DesiredAgent = {
      id: agent.id,
      version: agent.version,
      presence,
      enabled: lifecycle === 'active',
      lifecycleState: lifecycle,
      displayName: str(data.displayName) ?? str(data.agentUserName) ?? agent.id,
      agentUserName: str(data.agentUserName) ?? agent.id,
      sponsors,
      entitlements,
      resource: data,
    };
    if (str(data.description)) out.description = str(data.description)!;
    return out;
  }

  presenceOf(lifecycle: LifecycleState, gov: Json, meta: EngineMeta): Presence {
    if (lifecycle === 'retired') {
      const since = retiredSince(gov, meta);
      if (since !== undefined && this.o.now().getTime() - since >= this.o.retiredDeleteAfterMs) return 'absent';
    }
    if (meta.remoteDeleted && lifecycle !== 'active') return 'remoteDeleted';
    return 'present';
  }

  async #sponsors(gov: Json, people?: PeopleCache): Promise<SponsorRef[]> {
    const refs: { id: string; primary: boolean; type?: string }[] = [];
    const main = isJson(gov.sponsor) ? str(gov.sponsor.value) : undefined;
    if (main) refs.push({ id: main, primary: true });
    if (Array.isArray(gov.coSponsors)) {
      for (const c of gov.coSponsors as unknown[]) {
        if (!isJson(c) || !str(c.value)) continue;
        if (refs.some((r) => r.id === c.value)) continue;
        refs.push({ id: str(c.value)!, primary: false, ...(str(c.type) ? { type: str(c.type)! } : {}) });
      }
    }
    if (refs.length === 0) return [];
    const byId = new Map<string, { kind: 'user' | 'group'; row: StoredResource }>();
    const ids = refs.map((r) => r.id).filter((id) => {
      const hit = people?.get(id);
      if (hit) byId.set(id, hit);
      return hit === undefined && !people?.has(id);
    });
    if (ids.length) {
      const [users, groups] = await Promise.all([this.o.store.getMany('User', ids), this.o.store.getMany('Group', ids)]);
      for (const u of users) byId.set(u.id, { kind: 'user', row: u });
      for (const g of groups) if (!byId.has(g.id)) byId.set(g.id, { kind: 'group', row: g });
      for (const id of ids) people?.set(id, byId.get(id) ?? null);
    }
    const out: SponsorRef[] = [];
    for (const r of refs) {
      const hit = byId.get(r.id);
      if (!hit) continue; // a dangling reference: nothing to map (the domain rules report it)
      const d = hit.row.data;
      const ref: SponsorRef = { kind: hit.kind, id: r.id, primary: r.primary, emails: emailsOf(d) };
      const display = str(d.displayName);
      if (display) ref.displayName = display;
      if (str(d.userName)) ref.userName = str(d.userName)!;
      if (str(d.externalId)) ref.externalId = str(d.externalId)!;
      out.push(ref);
    }
    return out;
  }

  async #entitlements(data: Json): Promise<DesiredEntitlement[]> {
    if (!Array.isArray(data.entitlements)) return [];
    const catalogue = await this.o.catalogue.mappings();
    const seen = new Set<string>();
    const out: DesiredEntitlement[] = [];
    for (const e of data.entitlements as unknown[]) {
      const value = isJson(e) ? str(e.value) : undefined;
      if (!value || seen.has(value)) continue;
      seen.add(value);
      out.push({ value, mappings: catalogue.get(value) ?? [] });
    }
    return out.sort((a, b) => (a.value < b.value ? -1 : a.value > b.value ? 1 : 0));
  }
}

/** When the agent retired: the governance stateChangedAt, else when sync first saw it retired. */
export function retiredSince(gov: Json, meta: EngineMeta): number | undefined {
  const a = str(gov.stateChangedAt);
  const t = a ? Date.parse(a) : NaN;
  if (Number.isFinite(t)) return t;
  const b = meta.retiredSeenAt ? Date.parse(meta.retiredSeenAt) : NaN;
  return Number.isFinite(b) ? b : undefined;
}

function emailsOf(d: Json): string[] {
  if (!Array.isArray(d.emails)) return [];
  const items = (d.emails as unknown[]).filter(isJson).filter((e) => str(e.value));
  items.sort((a, b) => Number(b.primary === true) - Number(a.primary === true));
  return items.map((e) => str(e.value)!);
}
