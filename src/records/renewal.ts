// Renews the signed records of active agents before they expire (R20): every run re-signs the
// records of active agents whose validUntil falls within the renewal window (or that have none
// yet, e.g. agents created before records existed). A renewal is not a change of the agent: its
// version and lastModified stay (so IGA delta reads and ETags do not churn daily), the record keeps
// the same version claim, and an audit event "renew-record" notes the new expiry. The signed
// content is unchanged, so the previous record is not revoked (it simply expires later).
// Several instances may run it at once: a version conflict means another writer re-signed it.

import type { Logger } from 'pino';
import { GOVERNANCE_URN } from '../agents/records/claims.js';
import type { Clock } from '../resources/context.js';
import type { Filter } from '../scim/filter/ast.js';
import type { ResourceTypeInfo } from '../scim/registry.js';
import { RowMissing, type Store, VersionConflict } from '../store/types.js';
import { attestationOf, type RecordIssuer, withAttestation } from './issuer.js';

export interface RenewalOptions {
  store: Store;
  agentType: ResourceTypeInfo;
  issuer: RecordIssuer;
  clock: Clock;
  /** time between runs */
  intervalMs: number;
  logger?: Logger;
}

export interface RenewalResult {
  renewed: number;
  skipped: number;
  failed: number;
}

const PAGE = 200;

export class RecordRenewal {
  readonly #o: RenewalOptions;
  #timer: NodeJS.Timeout | undefined;
  #first: NodeJS.Timeout | undefined;
  #running: Promise<RenewalResult> | undefined;

  constructor(o: RenewalOptions) {
    this.#o = o;
  }

  /**
   * Records expiring within this window are renewed: a quarter of the validity, at least two runs
   * (so one failed run is survivable), at most half the validity.
   */
  get renewBeforeMs(): number {
    const validity = this.#o.issuer.settings.validityMs;
    return Math.min(validity / 2, Math.max(validity / 4, 2 * this.#o.intervalMs));
  }

  start(): void {
    if (this.#timer) return;
    const tick = () => {
      void this.runOnce().catch((e: unknown) => this.#o.logger?.error({ err: e }, 'record renewal failed'));
    };
    // First run soon after start (records may have expired while the server was down), then periodically.
    const first = setTimeout(tick, Math.min(30_000, this.#o.intervalMs));
    first.unref();
    this.#timer = setInterval(tick, this.#o.intervalMs);
    this.#timer.unref();
    this.#first = first;
  }

  async stop(): Promise<void> {
    if (this.#first) clearTimeout(this.#first);
    if (this.#timer) clearInterval(this.#timer);
    this.#first = undefined;
    this.#timer = undefined;
    await this.#running?.catch(() => undefined);
  }

  /** One pass over the active agents whose records need renewing. */
  runOnce(): Promise<RenewalResult> {
    this.#running ??= this.#run().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #run(): Promise<RenewalResult> {
    const { store, agentType, issuer, clock, logger } = this.#o;
    const now = clock.now();
    const threshold = new Date(now.getTime() + this.renewBeforeMs).toISOString();
    const validUntil = { uri: GOVERNANCE_URN, attr: 'attestation', sub: 'validUntil' };
    const filter: Filter = {
      kind: 'and',
      filters: [
        { kind: 'compare', op: 'eq', path: { uri: GOVERNANCE_URN, attr: 'lifecycleState' }, value: 'active' },
        {
          kind: 'or',
          filters: [
            { kind: 'not', filter: { kind: 'present', path: validUntil } },
            { kind: 'compare', op: 'lt', path: validUntil, value: threshold },
          ],
        },
      ],
    };
    const result: RenewalResult = { renewed: 0, skipped: 0, failed: 0 };
    let cursor = '';
    for (;;) {
      const page = await store.list(agentType, { filter, startIndex: 1, count: PAGE, cursor, withoutTotal: true });
      for (const row of page.resources) {
        const at = clock.now().toISOString();
        const version = row.version;
        try {
          const current = { ...row.data, id: row.id };
          const attestation = await issuer.attest(current, current, version, at);
          const before = attestationOf(current);
          if (before && Date.parse(attestation.validUntil) <= Date.parse(before.validUntil)) {
            result.skipped++; // capped by the agent's own validUntil: a new record would not last longer
            continue;
          }
          const { id: _id, ...data } = withAttestation(current, attestation);
          await store.commit({
            writes: [{ kind: 'update', type: 'Agent', id: row.id, data, at, expectedVersion: row.version, before: row.data, keepMeta: true }],
            audit: [
              {
                action: 'renew-record',
                resourceType: 'Agent',
                resourceId: row.id,
                actor: { client: 'system' },
                reason: 'signed record renewed before it expires',
                changes: { validUntil: { before: before?.validUntil ?? null, after: attestation.validUntil } },
                version,
                at,
              },
            ],
            outbox: [],
          });
          result.renewed++;
        } catch (e) {
          if (e instanceof VersionConflict || e instanceof RowMissing) {
            result.skipped++; // changed or deleted meanwhile: that write signed (or ended) it
            continue;
          }
          result.failed++;
          logger?.error({ err: e, agentId: row.id }, 'record renewal of an agent failed');
        }
      }
      if (page.nextCursor === undefined) break;
      cursor = page.nextCursor;
    }
    if (result.renewed + result.failed > 0) logger?.info({ ...result }, 'agent records renewed');
    return result;
  }
}
