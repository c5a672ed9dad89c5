// The signed revocation list published at /.well-known/agentroster/status-list. It names, for each
// agent whose records were revoked during the last record-validity window, the lowest record
// version still current: a relying party holding a list younger than its `exp` rejects a
// suspended, retired, deleted or restricted agent's older, still unexpired records.
//
// Sources, both written in the same transaction as the change that caused them:
// - the agent's attestation.minValidVersion / revokedAt (set by the record hooks);
// - `delete` events of Agents in the audit log (a deleted agent has no row left to carry a marker).
// A new audit event that revokes (an Agent delete, or a write that advanced minValidVersion), from
// any instance on the same database, rebuilds the list at once; otherwise it is rebuilt when it is
// a minute old (or half its validity), so a missed signal costs at most that delay.

import type { Logger } from 'pino';
import { GOVERNANCE_URN } from '../agents/records/claims.js';
import type { RevocationEntry, StatusListClaims } from '../agents/records/format.js';
import type { Clock } from '../resources/context.js';
import type { Filter } from '../scim/filter/ast.js';
import type { ResourceTypeInfo } from '../scim/registry.js';
import type { Json, Store } from '../store/types.js';
import type { RecordIssuer } from './issuer.js';

export interface PublishedStatusList {
  jwt: string;
  claims: StatusListClaims;
}

export interface StatusListOptions {
  store: Store;
  agentType: ResourceTypeInfo;
  issuer: RecordIssuer;
  clock: Clock;
  /** how long a revocation stays listed: the longest record validity (+ margin) */
  windowMs: number;
  logger?: Logger;
}

/** Extra time a revocation stays listed beyond the record validity (verifier clock skew). */
const WINDOW_MARGIN_MS = 10 * 60_000;
/** `at` of audit events is not strictly monotonic across instances: scan this much further back. */
const AUDIT_SCAN_MARGIN_MS = 60 * 60_000;
const PAGE = 500;
/** Rebuild at least this often even without a revocation signal. */
const REBUILD_MS = 60_000;
const ATTESTATION_KEY = `${GOVERNANCE_URN}:attestation`;

/** Whether an audit event's change record shows the revocation marker advancing. */
function advancesMarker(changes: Json | undefined): boolean {
  const c = changes?.[ATTESTATION_KEY] as { before?: Json | null; after?: Json | null } | undefined;
  return c !== undefined && (c.after?.minValidVersion ?? null) !== (c.before?.minValidVersion ?? null);
}

const seconds = (iso: string) => Math.floor(Date.parse(iso) / 1000);

export class StatusListPublisher {
  readonly #o: StatusListOptions;
  #cache: PublishedStatusList | undefined;
  #dirty = true;
  #auditSeq: number | undefined;
  readonly #deleted = new Map<string, RevocationEntry>();
  #building: Promise<PublishedStatusList> | undefined;

  constructor(o: StatusListOptions) {
    this.#o = o;
  }

  /** Seconds until `list` expires (by this publisher's clock). */
  secondsLeft(list: PublishedStatusList): number {
    return Math.max(0, list.claims.exp - Math.floor(this.#o.clock.now().getTime() / 1000));
  }

  /** Something was revoked in this process: the next request rebuilds the list. */
  invalidate(): void {
    this.#dirty = true;
  }

  get windowMs(): number {
    return this.#o.windowMs + WINDOW_MARGIN_MS;
  }

  /** The current signed list (rebuilt after a revocation, and at least every minute). */
  async current(): Promise<PublishedStatusList> {
    this.#building ??= this.#current().finally(() => {
      this.#building = undefined;
    });
    return this.#building;
  }

  async #current(): Promise<PublishedStatusList> {
    const now = this.#o.clock.now();
    const changed = await this.#scanAudit(now);
    const c = this.#cache;
    const validity = this.#o.issuer.settings.statusListValidityMs;
    const age = now.getTime() / 1000 - (c?.claims.iat ?? 0);
    const stale = !c || age >= Math.min(validity / 2, REBUILD_MS) / 1000 || age < 0;
    if (c && !changed && !this.#dirty && !stale) return c;
    this.#dirty = false;
    const revoked = await this.entries(now);
    this.#cache = await this.#o.issuer.signStatusList(revoked, now);
    return this.#cache;
  }

  /** The revocations still relevant at `now`, sorted by agent id. */
  async entries(now: Date): Promise<RevocationEntry[]> {
    const since = new Date(now.getTime() - this.windowMs);
    const out = new Map<string, RevocationEntry>();
    const filter: Filter = {
      kind: 'compare',
      op: 'ge',
      path: { uri: GOVERNANCE_URN, attr: 'attestation', sub: 'revokedAt' },
      value: since.toISOString(),
    };
    let cursor = '';
    for (;;) {
      const page = await this.#o.store.list(this.#o.agentType, { filter, startIndex: 1, count: PAGE, cursor, withoutTotal: true });
      for (const r of page.resources) {
        const gov = r.data[GOVERNANCE_URN] as Json | undefined;
        const att = gov?.attestation as Json | undefined;
        if (typeof att?.minValidVersion !== 'number' || typeof att.revokedAt !== 'string') continue;
        const e: RevocationEntry = { sub: r.id, ver: att.minValidVersion, at: seconds(att.revokedAt) };
        if (typeof gov?.lifecycleState === 'string') e.state = gov.lifecycleState;
        out.set(r.id, e);
      }
      if (page.nextCursor === undefined) break;
      cursor = page.nextCursor;
    }
    const sinceS = since.getTime() / 1000;
    for (const [id, d] of this.#deleted) {
      if (d.at < sinceS) this.#deleted.delete(id);
      else out.set(id, d);
    }
    return [...out.values()].sort((a, b) => (a.sub < b.sub ? -1 : a.sub > b.sub ? 1 : 0));
  }

  /** Reads audit events since the last scan; true when one of them revoked records. */
  async #scanAudit(now: Date): Promise<boolean> {
    const store = this.#o.store;
    if (this.#auditSeq === undefined) {
      this.#auditSeq = await this.#firstRelevantSeq(now.getTime() - this.windowMs - AUDIT_SCAN_MARGIN_MS);
    }
    let changed = false;
    for (;;) {
      const page = await store.auditEvents(this.#auditSeq, PAGE);
      for (const ev of page) {
        this.#auditSeq = ev.seq;
        if (ev.resourceType !== 'Agent') continue;
        if (advancesMarker(ev.changes)) changed = true;
        if (ev.action === 'delete') {
          changed = true;
          this.#deleted.set(ev.resourceId, {
            sub: ev.resourceId,
            ver: typeof ev.version === 'number' ? ev.version + 1 : Number.MAX_SAFE_INTEGER,
            at: seconds(ev.at),
            state: 'deleted',
          });
        }
      }
      if (page.length < PAGE) return changed;
    }
  }

  /** The audit seq to scan after: events up to it are older than `cutoffMs` (binary search). */
  async #firstRelevantSeq(cutoffMs: number): Promise<number> {
    const store = this.#o.store;
    const oldAfter = async (after: number) => {
      const [ev] = await store.auditEvents(after, 1);
      return ev !== undefined && Date.parse(ev.at) < cutoffMs;
    };
    if (!(await oldAfter(0))) return 0;
    let lo = 0;
    let hi = 1;
    while (await oldAfter(hi)) {
      lo = hi;
      hi *= 2;
    }
    // oldAfter(lo) is true, oldAfter(hi) is false: the first event after hi is recent (or none).
    while (hi - lo > 1) {
      const mid = Math.floor((lo + hi) / 2);
      if (await oldAfter(mid)) lo = mid;
      else hi = mid;
    }
    return hi;
  }
}
