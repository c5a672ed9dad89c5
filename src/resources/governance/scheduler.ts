// The time-based governance rules, run every few minutes on the injected clock (tests call
// runOnce() after advancing it): expired grants removed (R06), sponsor departure grace and
// successor retries (R03), review overdue + grace (R04), inactivity (R05), validity windows,
// minimum sponsors (R02), credential staleness (R11), and a sweep that repairs anything a crash or
// a very large cascade left undone (sponsor integrity, User projections). Each change is an
// ordinary audited write of the agent (actor "agentroster-governance", with the reason) and so is
// queued for sync through the outbox. Every action re-checks its condition on the agent as it is
// when written, so concurrent instances and client writes cannot make it act on stale data.

import type { Logger } from 'pino';
import { chooseSuccessor, afterDeparture, successorCandidates } from '../../agents/sponsor.js';
import { expiredGrants } from '../../agents/grants.js';
import { activityReference, issueOf, lastedDays } from '../../agents/reviews.js';
import { addDays, gov, isObj, type Json, ms, objects, str } from '../../agents/util.js';
import type { StateReason } from '../../agents/lifecycle.js';
import type { Filter } from '../../scim/filter/ast.js';
import { ScimError } from '../../scim/errors.js';
import type { StoredResource } from '../../store/types.js';
import type { ResourceService } from '../service.js';
import type { GovernanceDeps } from './agent-hooks.js';
import { allOf, anyOf, eq, GOV, governanceContext, isAgentProjection, resolvePeople, scan } from './common.js';

export interface SchedulerReport {
  at: string;
  grantsExpired: number;
  suspended: Partial<Record<StateReason, number>>;
  retired: number;
  sponsorsTransferred: number;
  sponsorsDeparted: number;
  refreshed: number;
  projectionsRepaired: number;
  errors: number;
}

const cmp = (op: 'lt' | 'le' | 'gt' | 'ge', attr: string, value: string, sub?: string): Filter => ({
  kind: 'compare',
  op,
  path: { uri: GOV, attr, ...(sub ? { sub } : {}) },
  value,
});
const state = (s: string) => eq('lifecycleState', s, GOV);
const not = (f: Filter): Filter => ({ kind: 'not', filter: f });

export interface SchedulerOptions {
  deps: GovernanceDeps;
  service: () => ResourceService;
  repairProjection: (row: StoredResource) => Promise<boolean>;
  intervalMs: number;
  /** the integrity sweep (every agent) runs at most this often */
  sweepIntervalMs?: number;
  logger?: Logger;
}

export class GovernanceScheduler {
  readonly #o: SchedulerOptions;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<SchedulerReport> | undefined;
  #lastSweep = Number.NEGATIVE_INFINITY;
  #sweepRequested = false;

  constructor(o: SchedulerOptions) {
    this.#o = o;
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      this.runOnce().catch((e: unknown) => this.#o.logger?.error({ err: e }, 'governance run failed'));
    }, this.#o.intervalMs);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#running?.catch(() => undefined);
  }

  /** The next run includes the integrity sweep (a sponsor cascade left agents for it). */
  requestSweep(): void {
    this.#sweepRequested = true;
  }

  /** One pass of every rule at the clock's now. `sweep` forces the integrity sweep. */
  runOnce(o: { sweep?: boolean } = {}): Promise<SchedulerReport> {
    if (this.#running) return this.#running;
    this.#running = this.#run(o).finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #run(o: { sweep?: boolean }): Promise<SchedulerReport> {
    const { deps } = this.#o;
    const { policy } = deps;
    const service = this.#o.service();
    const agentType = deps.registry.resourceType('Agent')!;
    const now = deps.clock.now().toISOString();
    const runId = `governance-${now}`;
    const r: SchedulerReport = {
      at: now,
      grantsExpired: 0,
      suspended: {},
      retired: 0,
      sponsorsTransferred: 0,
      sponsorsDeparted: 0,
      refreshed: 0,
      projectionsRepaired: 0,
      errors: 0,
    };
    // keyset paging by seq: an update keeps a row's seq, so acting while scanning is safe
    const each = async (filter: Filter, act: (row: StoredResource) => Promise<void>) => {
      for await (const row of scan(deps.store, agentType, filter)) {
        try {
          await act(row);
        } catch (e) {
          r.errors++;
          this.#o.logger?.warn({ agentId: row.id, err: e instanceof ScimError ? e.message : e }, 'governance action failed');
        }
      }
    };
    const modify = async (id: string, fn: (a: Json) => Json, action: string, reason: string) => {
      const before = await deps.store.get('Agent', id);
      const after = await service.modify('Agent', id, fn, governanceContext(runId, reason), { action, reason });
      return before !== undefined && after.etag !== `W/"${before.version}"`;
    };
    const suspend = async (id: string, reason: StateReason, why: string, when: (a: Json) => boolean) => {
      const done = await modify(
        id,
        (a) => (gov(a).lifecycleState === 'active' && when(a) ? { ...a, [GOV]: { ...gov(a), lifecycleState: 'suspended', stateReason: reason } } : a),
        'governance.suspend',
        why,
      );
      if (done) r.suspended[reason] = (r.suspended[reason] ?? 0) + 1;
    };

    // R06: expired grants are removed, audited and queued for sync.
    await each(
      allOf({ kind: 'valuePath', path: { attr: 'entitlements' }, filter: { kind: 'compare', op: 'le', path: { attr: 'expiresAt' }, value: now } }, not(state('retired')))!,
      async (row) => {
        const gone = expiredGrants(objects(row.data.entitlements), now).map((g) => String(g.value));
        if (gone.length === 0) return;
        const done = await modify(
          row.id,
          (a) => {
            const expired = new Set(expiredGrants(objects(a.entitlements), now).map((g) => String(g.value)));
            if (expired.size === 0) return a;
            const left = objects(a.entitlements).filter((g) => !expired.has(String(g.value)));
            const next = { ...a };
            if (left.length > 0) next.entitlements = left;
            else delete next.entitlements;
            return next;
          },
          'grant.expired',
          `grant expired: ${gone.join(', ')} (R06)`,
        );
        if (done) r.grantsExpired += gone.length;
      },
    );

    // R03: departed sponsors — a successor may exist by now; else suspend after the grace period.
    await each(allOf(anyOf([eq('sponsorStatus', 'departed', GOV), eq('sponsorStatus', 'missing', GOV)]), not(state('retired')))!, async (row) => {
      const g = gov(row.data);
      const sponsorId = str(isObj(g.sponsor) ? g.sponsor.value : undefined) ?? '';
      const departed = (await resolvePeople(deps.store, [sponsorId])).get(sponsorId)!;
      const people = await resolvePeople(deps.store, successorCandidates(row.data, departed));
      const successor = chooseSuccessor(row.data, departed, people, policy);
      if (successor) {
        const done = await modify(row.id, (a) => afterDeparture(a, departed, successor, now), 'sponsor.transfer', `sponsor ${sponsorId} departed: ${successor.how} ${successor.person.id} (R03)`);
        if (done) r.sponsorsTransferred++;
        return;
      }
      const since = str(g.sponsorDepartedAt);
      if (since !== undefined && Date.parse(addDays(since, policy.sponsorDepartureGraceDays)) <= Date.parse(now)) {
        await suspend(row.id, 'sponsorDeparted', `sponsor ${sponsorId} departed ${since}; no successor within ${policy.sponsorDepartureGraceDays} days (R03)`, (a) =>
          ['departed', 'missing'].includes(String(gov(a).sponsorStatus)),
        );
      }
    });

    // R04: overdue reviews, after the grace period.
    const reviewCutoff = addDays(now, -policy.reviewGraceDays);
    await each(allOf(state('active'), cmp('le', 'nextReviewDue', reviewCutoff))!, (row) =>
      suspend(row.id, 'reviewOverdue', `review overdue since ${String(gov(row.data).nextReviewDue)} (+${policy.reviewGraceDays} days grace) (R04)`, (a) => {
        const due = ms(gov(a).nextReviewDue);
        return due !== undefined && due <= Date.parse(reviewCutoff);
      }),
    );

    // Operational validity window (validUntil).
    await each(allOf(state('active'), cmp('le', 'validUntil', now))!, (row) =>
      suspend(row.id, 'validityExpired', `validUntil ${String(gov(row.data).validUntil)} passed`, (a) => {
        const u = ms(gov(a).validUntil);
        return u !== undefined && u <= Date.parse(now);
      }),
    );

    // R05: inactivity.
    const inactiveCutoff = addDays(now, -policy.inactivityDays);
    const isInactive = (a: Json) => Date.parse(activityReference(gov(a), String(gov(a).stateChangedAt ?? now))) <= Date.parse(inactiveCutoff);
    await each(
      allOf(state('active'), cmp('le', 'stateChangedAt', inactiveCutoff), anyOf([not({ kind: 'present', path: { uri: GOV, attr: 'lastActivityAt' } }), cmp('le', 'lastActivityAt', inactiveCutoff)]))!,
      async (row) => {
        if (policy.inactivityAction === 'flag') {
          if (await modify(row.id, (a) => ({ ...a }), 'governance.refresh', 'inactive (R05)')) r.refreshed++;
          return;
        }
        await suspend(row.id, 'inactivity', `no activity for ${policy.inactivityDays} days (R05)`, isInactive);
      },
    );
    if (policy.inactivityAction === 'suspendThenRetire') {
      const retireCutoff = addDays(now, -policy.inactivityRetireAfterDays);
      await each(allOf(state('suspended'), eq('stateReason', 'inactivity', GOV), cmp('le', 'stateChangedAt', retireCutoff))!, async (row) => {
        const done = await modify(
          row.id,
          (a) => (gov(a).lifecycleState === 'suspended' && gov(a).stateReason === 'inactivity' ? { ...a, [GOV]: { ...gov(a), lifecycleState: 'retired', stateReason: 'inactivity' } } : a),
          'governance.retire',
          `suspended for inactivity for ${policy.inactivityRetireAfterDays} days (R05)`,
        );
        if (done) r.retired++;
      });
    }

    // R02: below the minimum number of sponsors for longer than the grace period.
    if (policy.minSponsors > 1) {
      const cutoff = addDays(now, -policy.minSponsorsGraceDays);
      await each(
        allOf(state('active'), { kind: 'valuePath', path: { uri: GOV, attr: 'complianceIssues' }, filter: { kind: 'and', filters: [eq('type', 'minSponsors'), { kind: 'compare', op: 'le', path: { attr: 'since' }, value: cutoff }] } })!,
        (row) =>
          suspend(row.id, 'policyViolation', `fewer than ${policy.minSponsors} sponsors for ${policy.minSponsorsGraceDays} days (R02)`, (a) =>
            lastedDays(issueOf(a, 'minSponsors'), policy.minSponsorsGraceDays, now),
          ),
      );
    }

    // Derived, time-dependent state (compliance issues, credential status): refresh where it may have moved.
    const credCutoff = addDays(now, -policy.maxCredentialAgeDays);
    await each(
      allOf(
        not(state('retired')),
        anyOf([
          allOf(cmp('le', 'nextReviewDue', now), not({ kind: 'valuePath', path: { uri: GOV, attr: 'complianceIssues' }, filter: eq('type', 'reviewOverdue') }))!,
          allOf(
            not(eq('credentialStatus', 'expired', GOV)),
            {
              kind: 'valuePath',
              path: { uri: GOV, attr: 'credentials' },
              filter: {
                kind: 'or',
                filters: [
                  { kind: 'compare', op: 'le', path: { attr: 'expiresAt' }, value: now },
                  { kind: 'compare', op: 'le', path: { attr: 'lastRotatedAt' }, value: credCutoff },
                  { kind: 'compare', op: 'le', path: { attr: 'createdAt' }, value: credCutoff },
                ],
              },
            },
          )!,
        ]),
      )!,
      async (row) => {
        if (await modify(row.id, (a) => ({ ...a }), 'governance.refresh', 'time-based compliance state')) r.refreshed++;
      },
    );

    // The integrity sweep: sponsors that left without a cascade (a crash, a very large cascade, a
    // change made directly in the database) and projections out of line.
    const nowMs = Date.parse(now);
    if (o.sweep || this.#sweepRequested || nowMs - this.#lastSweep >= (this.#o.sweepIntervalMs ?? 3_600_000)) {
      this.#lastSweep = nowMs;
      this.#sweepRequested = false;
      await each(not(state('retired')), async (row) => {
        const g = gov(row.data);
        const sponsorId = str(isObj(g.sponsor) ? g.sponsor.value : undefined);
        if (sponsorId !== undefined && g.sponsorStatus !== 'departed' && g.sponsorStatus !== 'missing') {
          const p = (await resolvePeople(deps.store, [sponsorId])).get(sponsorId)!;
          if (p.kind !== 'human' || !p.active) {
            const people = await resolvePeople(deps.store, successorCandidates(row.data, p));
            const successor = chooseSuccessor(row.data, p, people, policy);
            const done = await modify(
              row.id,
              (a) => (gov(a).sponsorStatus === 'departed' ? a : afterDeparture(a, p, successor, now)),
              'sponsor.departed',
              `sweep: sponsor ${sponsorId} is ${p.kind === 'missing' ? 'deleted' : 'inactive'} (R03)`,
            );
            if (done) {
              if (successor) r.sponsorsTransferred++;
              else r.sponsorsDeparted++;
            }
          }
        }
        const fresh = await deps.store.get('Agent', row.id);
        if (fresh && (await this.#o.repairProjection(fresh))) r.projectionsRepaired++;
      });
      // projections whose agent is gone or retired
      for await (const u of scan(deps.store, deps.registry.resourceType('User')!, eq('userType', 'Agent'))) {
        if (!isAgentProjection(u.data)) continue;
        const agent = await deps.store.get('Agent', u.id);
        if (!agent || gov(agent.data).lifecycleState === 'retired') {
          await deps.store.commit({ writes: [{ kind: 'delete', type: 'User', id: u.id, expectedVersion: u.version }], audit: [], outbox: [] });
          r.projectionsRepaired++;
        }
      }
    }
    if (r.errors > 0 || Object.keys(r.suspended).length > 0 || r.grantsExpired > 0) {
      this.#o.logger?.info({ report: r }, 'governance run');
    }
    return r;
  }
}
