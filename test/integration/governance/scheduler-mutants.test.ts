// Scheduler behaviour that the mutation run of scheduler.ts found unchecked (see the triage in the
// commit): (1) every action re-checks its condition on the agent as it is when written, so a client
// write or another instance acting between the scan and the write neither makes it act on stale data
// nor counts an action it did not take; (2) data that reached the database without the API (a
// sponsorStatus "missing", an agent without a sponsor, an issue recorded under an older policy);
// (3) a retired agent is never handed over; (4) a failing timer run is logged.

import { afterEach, describe, expect, it } from 'vitest';
import { GovernanceScheduler, type SchedulerReport } from '../../../src/resources/governance/scheduler.js';
import type { Json as StoreJson } from '../../../src/store/types.js';
import { allAudit } from '../../helpers/test-app.js';
import { buildGov, DAY, type Gov, GOV_URN, type Json, patchOps, setState } from './helpers.js';

const START = Date.parse('2026-04-01T09:00:00.000Z');
const iso = (offsetMs: number) => new Date(START + offsetMs).toISOString();
const GOVERNANCE = 'agentroster-governance';

async function run(g: Gov, offsetMs: number, o?: { sweep?: boolean }): Promise<SchedulerReport> {
  g.t.clock.set(iso(offsetMs));
  return g.t.governance.scheduler.runOnce(o);
}

async function eventsFor(g: Gov, id: string, action: string) {
  return (await allAudit(g.t)).filter((e) => e.resourceId === id && e.action === action);
}

/** Changes a row behind the server's back (no hooks, no audit): an import, an older version, a crash. */
async function tamper(g: Gov, type: 'User' | 'Agent', id: string, change: (d: StoreJson) => StoreJson | undefined): Promise<void> {
  const row = (await g.t.store.get(type, id))!;
  const data = change(structuredClone(row.data));
  await g.t.store.commit({
    writes: [data === undefined ? { kind: 'delete', type, id, expectedVersion: row.version } : { kind: 'update', type, id, data, at: g.t.clock.iso(), expectedVersion: row.version }],
    audit: [],
    outbox: [],
  });
}

const govOf = (d: StoreJson) => d[GOV_URN] as StoreJson;

/**
 * Runs `change` once, at the moment the scheduler is about to write agent `id` (after its scan
 * picked the agent): the scheduler reads the agent right before it writes it.
 */
function between(g: Gov, id: string, change: () => Promise<unknown>): void {
  const store = g.t.governance.deps.store;
  const original = store.get;
  store.get = (async (type: string, rid: string) => {
    if (type === 'Agent' && rid === id) {
      store.get = original;
      await change();
    }
    return original.call(store, type, rid);
  }) as typeof store.get;
}

/** A second scheduler on the same database: another instance of the server. */
function otherInstance(g: Gov): GovernanceScheduler {
  return new GovernanceScheduler({
    deps: g.t.governance.deps,
    service: () => g.t.service,
    repairProjection: (row) => g.t.governance.repairProjection(row),
    intervalMs: 60_000,
  });
}

describe('scheduler: a change between the scan and the write (client or another instance)', () => {
  let g: Gov;
  afterEach(() => g.close());

  interface Row {
    label: string;
    env?: Record<string, string>;
    /** creates the agent; may run the scheduler to get it into shape */
    setup(g: Gov): Promise<string>;
    /** the run in which the scheduler would act */
    at: number;
    sweep?: boolean;
    /** what happens between the scan and the write; returns the other instance's report, if any */
    race(g: Gov, id: string): Promise<SchedulerReport | undefined>;
    /** this instance's report */
    report: Partial<SchedulerReport>;
    /** the other instance's report */
    other?: Partial<SchedulerReport>;
    gov: Json;
    /** audit events of the scheduler's own action for the agent: [action, how many] */
    events: [string, number];
  }

  const rows: Row[] = [
    {
      label: 'validUntil: a client extends the window → stays active, nothing counted',
      setup: async (g) => (await g.agent('window-bot', { gov: { lifecycleState: 'active', validUntil: iso(5 * DAY) } })).id as string,
      at: 5 * DAY,
      race: async (g, id) => {
        const res = await g.patch(`/Agents/${id}`, [{ op: 'replace', path: `${GOV_URN}:validUntil`, value: iso(30 * DAY) }]);
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        return undefined;
      },
      report: { suspended: {}, errors: 0 },
      gov: { lifecycleState: 'active', validUntil: iso(30 * DAY) },
      events: ['governance.suspend', 0],
    },
    {
      label: 'validUntil: a client suspends it first (manual) → keeps its own reason',
      setup: async (g) => (await g.agent('window-bot', { gov: { lifecycleState: 'active', validUntil: iso(5 * DAY) } })).id as string,
      at: 5 * DAY,
      race: async (g, id) => {
        expect((await g.patch(`/Agents/${id}`, setState('suspended', 'manual'))).status).toBe(200);
        return undefined;
      },
      report: { suspended: {}, errors: 0 },
      gov: { lifecycleState: 'suspended', stateReason: 'manual' },
      events: ['governance.suspend', 0],
    },
    {
      label: 'R04: a longer review interval moves the review out of the overdue window → stays active',
      env: { AGENTROSTER_REVIEW_GRACE_DAYS: '9' },
      setup: async (g) => (await g.agent('review-bot', { gov: { lifecycleState: 'active', reviewIntervalDays: 30 } })).id as string,
      at: 39 * DAY,
      race: async (g, id) => {
        const res = await g.patch(`/Agents/${id}`, [{ op: 'replace', path: `${GOV_URN}:reviewIntervalDays`, value: 90 }]);
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        return undefined;
      },
      report: { suspended: {}, errors: 0 },
      gov: { lifecycleState: 'active', nextReviewDue: iso(90 * DAY) },
      events: ['governance.suspend', 0],
    },
    {
      label: 'R05: the agent is seen (activity) → stays active',
      env: { AGENTROSTER_INACTIVITY_DAYS: '11' },
      setup: async (g) => (await g.agent('idle-bot', { gov: { lifecycleState: 'active' } })).id as string,
      at: 11 * DAY,
      race: async (g, id) => {
        const res = await g.t.http.post(`/Agents/${id}/activity`, { kind: 'apiCall' });
        expect(res.status, JSON.stringify(res.body)).toBeLessThan(300);
        return undefined;
      },
      report: { suspended: {}, errors: 0 },
      gov: { lifecycleState: 'active' },
      events: ['governance.suspend', 0],
    },
    {
      label: 'R05 retire: an approver reactivates it → stays active, not counted',
      env: { AGENTROSTER_INACTIVITY_DAYS: '10', AGENTROSTER_INACTIVITY_ACTION: 'suspendThenRetire', AGENTROSTER_INACTIVITY_RETIRE_AFTER_DAYS: '5' },
      setup: async (g) => {
        const id = (await g.agent('fading-bot', { gov: { lifecycleState: 'active' } })).id as string;
        expect((await run(g, 10 * DAY)).suspended).toEqual({ inactivity: 1 });
        return id;
      },
      at: 15 * DAY,
      race: async (g, id) => {
        expect((await g.patch(`/Agents/${id}`, setState('active'))).status).toBe(200);
        return undefined;
      },
      report: { retired: 0, errors: 0 },
      gov: { lifecycleState: 'active' },
      events: ['governance.retire', 0],
    },
    {
      label: 'R05 retire: a client changes the suspension reason → stays suspended with it',
      env: { AGENTROSTER_INACTIVITY_DAYS: '10', AGENTROSTER_INACTIVITY_ACTION: 'suspendThenRetire', AGENTROSTER_INACTIVITY_RETIRE_AFTER_DAYS: '5' },
      setup: async (g) => {
        const id = (await g.agent('fading-bot', { gov: { lifecycleState: 'active' } })).id as string;
        expect((await run(g, 10 * DAY)).suspended).toEqual({ inactivity: 1 });
        return id;
      },
      at: 15 * DAY,
      race: async (g, id) => {
        const res = await g.patch(`/Agents/${id}`, [{ op: 'replace', path: `${GOV_URN}:stateReason`, value: 'credentialCompromise' }]);
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        expect((await g.gov(id)).stateReason).toBe('credentialCompromise');
        return undefined;
      },
      report: { retired: 0, errors: 0 },
      gov: { lifecycleState: 'suspended', stateReason: 'credentialCompromise' },
      events: ['governance.retire', 0],
    },
    {
      label: 'R05 retire: another instance retires it first → counted once, by that instance',
      env: { AGENTROSTER_INACTIVITY_DAYS: '10', AGENTROSTER_INACTIVITY_ACTION: 'suspendThenRetire', AGENTROSTER_INACTIVITY_RETIRE_AFTER_DAYS: '5' },
      setup: async (g) => {
        const id = (await g.agent('fading-bot', { gov: { lifecycleState: 'active' } })).id as string;
        expect((await run(g, 10 * DAY)).suspended).toEqual({ inactivity: 1 });
        return id;
      },
      at: 15 * DAY,
      race: (g) => otherInstance(g).runOnce(),
      report: { retired: 0, errors: 0 },
      other: { retired: 1, errors: 0 },
      gov: { lifecycleState: 'retired', stateReason: 'inactivity' },
      events: ['governance.retire', 1],
    },
    {
      label: 'R06: another instance removes the expired grant first → counted once, by that instance',
      setup: async (g) => {
        await g.entitlement('a.read');
        await g.entitlement('b.read');
        return (await g.agent('granted-bot', { gov: { lifecycleState: 'active' }, extra: { entitlements: [{ value: 'a.read', expiresAt: iso(5 * DAY) }, { value: 'b.read' }] } })).id as string;
      },
      at: 5 * DAY,
      race: (g) => otherInstance(g).runOnce(),
      report: { grantsExpired: 0, errors: 0 },
      other: { grantsExpired: 1, errors: 0 },
      gov: { lifecycleState: 'active' },
      events: ['grant.expired', 1],
    },
    {
      label: 'R03: another instance hands the agent over first → counted once, by that instance',
      env: { AGENTROSTER_SPONSOR_DEPARTURE_GRACE_DAYS: '4' },
      setup: async (g) => {
        const sponsor = await g.user('sam');
        const id = (await g.agent('handover-bot', { sponsor, gov: { lifecycleState: 'active' } })).id as string;
        expect((await g.t.http.patch(`/Users/${sponsor}`, patchOps({ op: 'replace', path: 'active', value: false }))).status).toBe(200);
        g.t.clock.set(iso(DAY));
        const cora = await g.user('cora');
        expect((await g.patch(`/Agents/${id}`, [{ op: 'add', path: `${GOV_URN}:coSponsors`, value: [{ value: cora }] }])).status).toBe(200);
        return id;
      },
      at: 2 * DAY,
      race: (g) => otherInstance(g).runOnce(),
      report: { sponsorsTransferred: 0, errors: 0 },
      other: { sponsorsTransferred: 1, errors: 0 },
      gov: { lifecycleState: 'active', sponsorStatus: 'transferPending' },
      events: ['sponsor.transfer', 1],
    },
    {
      label: 'sweep: another instance marks the sponsor departed first → counted once, by that instance',
      setup: async (g) => {
        const sponsor = await g.user('quiet-leaver');
        const id = (await g.agent('swept-bot', { sponsor, gov: { lifecycleState: 'active' } })).id as string;
        await run(g, 0);
        await tamper(g, 'User', sponsor, (d) => ({ ...d, active: false }));
        return id;
      },
      at: DAY,
      race: (g) => otherInstance(g).runOnce(),
      report: { sponsorsDeparted: 0, sponsorsTransferred: 0, errors: 0 },
      other: { sponsorsDeparted: 1, errors: 0 },
      gov: { lifecycleState: 'active', sponsorStatus: 'departed', sponsorDepartedAt: iso(DAY) },
      events: ['sponsor.departed', 1],
    },
  ];

  it.each(rows)('$label', async (row) => {
    g = await buildGov(row.env ? { env: row.env } : {});
    const id = await row.setup(g);
    const before = (await eventsFor(g, id, row.events[0])).length;
    let other: SchedulerReport | undefined;
    let raced = false;
    between(g, id, async () => {
      raced = true;
      other = await row.race(g, id);
    });
    const report = await run(g, row.at, row.sweep ? { sweep: true } : undefined);
    expect(raced).toBe(true);
    expect(report).toMatchObject(row.report);
    if (row.other) expect(other).toMatchObject(row.other);
    expect(await g.gov(id)).toMatchObject(row.gov);
    const events = (await eventsFor(g, id, row.events[0])).slice(before);
    expect(events).toHaveLength(row.events[1]);
  });
});

describe('scheduler: data that reached the database without the API', () => {
  let g: Gov;
  afterEach(() => g.close());

  /** an agent whose sponsor was deleted, recorded with sponsorStatus "missing" (an import) */
  async function missingSponsor(g: Gov, departedAt: string | undefined): Promise<{ id: string; sponsor: string }> {
    const sponsor = await g.user('vanished');
    const id = (await g.agent('import-bot', { sponsor, gov: { lifecycleState: 'active' } })).id as string;
    await tamper(g, 'Agent', id, (d) => {
      const gv: StoreJson = { ...govOf(d), sponsorStatus: 'missing', sponsor: { ...(govOf(d).sponsor as StoreJson), status: 'departed' } };
      if (departedAt) gv.sponsorDepartedAt = departedAt;
      return { ...d, [GOV_URN]: gv };
    });
    await tamper(g, 'User', sponsor, () => undefined);
    return { id, sponsor };
  }

  it('sponsorStatus "missing" is a departure: suspended after the grace period (R03), and the sweep leaves it to R03', async () => {
    g = await buildGov({ env: { AGENTROSTER_SPONSOR_DEPARTURE_GRACE_DAYS: '4' } });
    const { id, sponsor } = await missingSponsor(g, iso(0));
    const early = await run(g, 4 * DAY - 1000, { sweep: true });
    expect(early).toMatchObject({ suspended: {}, sponsorsDeparted: 0, sponsorsTransferred: 0, errors: 0 });
    expect(await eventsFor(g, id, 'sponsor.departed')).toEqual([]);
    expect(await g.gov(id)).toMatchObject({ lifecycleState: 'active', sponsorStatus: 'missing', sponsorDepartedAt: iso(0) });

    const report = await run(g, 4 * DAY, { sweep: true });
    expect(report).toMatchObject({ suspended: { sponsorDeparted: 1 }, sponsorsDeparted: 0, errors: 0 });
    expect(await g.gov(id)).toMatchObject({ lifecycleState: 'suspended', stateReason: 'sponsorDeparted', sponsorStatus: 'missing', sponsorDepartedAt: iso(0) });
    const [event, ...more] = await eventsFor(g, id, 'governance.suspend');
    expect(more).toEqual([]);
    expect(event).toMatchObject({ actor: { client: GOVERNANCE }, reason: `sponsor ${sponsor} departed ${iso(0)}; no successor within 4 days (R03)` });
    expect(await eventsFor(g, id, 'sponsor.departed')).toEqual([]);
  });

  it('sponsorStatus "missing" without a departure date: nothing to count the grace from, no error', async () => {
    g = await buildGov({ env: { AGENTROSTER_SPONSOR_DEPARTURE_GRACE_DAYS: '4' } });
    const { id } = await missingSponsor(g, undefined);
    const report = await run(g, 30 * DAY, { sweep: true });
    expect(report).toMatchObject({ suspended: {}, sponsorsDeparted: 0, errors: 0 });
    expect(g.t.logs().filter((l) => l.msg === 'governance action failed')).toEqual([]);
    expect(await g.gov(id)).toMatchObject({ lifecycleState: 'active', sponsorStatus: 'missing' });
  });

  it('an agent without a sponsor: the sweep repairs its projection and reports no error', async () => {
    g = await buildGov();
    const id = (await g.agent('unsponsored-bot', { extra: { displayName: 'Unsponsored' }, gov: { lifecycleState: 'active' } })).id as string;
    await run(g, 0);
    await tamper(g, 'Agent', id, (d) => {
      const gv = { ...govOf(d) };
      delete gv.sponsor;
      return { ...d, [GOV_URN]: gv };
    });
    await tamper(g, 'User', id, (d) => ({ ...d, displayName: 'damaged' }));
    const n = (await allAudit(g.t)).length;
    const report = await run(g, DAY, { sweep: true });
    expect(report).toMatchObject({ sponsorsDeparted: 0, sponsorsTransferred: 0, projectionsRepaired: 1, errors: 0 });
    expect((await g.t.http.get(`/Users/${id}`)).body.displayName).toBe('Unsponsored');
    expect((await allAudit(g.t)).length).toBe(n);
  });

  it('minSponsors 1: a minSponsors issue recorded under an older policy (2) does not suspend the agent', async () => {
    g = await buildGov({ env: { AGENTROSTER_MIN_SPONSORS: '1', AGENTROSTER_MIN_SPONSORS_GRACE_DAYS: '3' } });
    const id = (await g.agent('lone-bot', { gov: { lifecycleState: 'active' } })).id as string;
    await tamper(g, 'Agent', id, (d) => ({ ...d, [GOV_URN]: { ...govOf(d), complianceIssues: [{ type: 'minSponsors', since: iso(-30 * DAY) }] } }));
    const report = await run(g, DAY);
    expect(report).toMatchObject({ suspended: {}, errors: 0 });
    expect((await g.gov(id)).lifecycleState).toBe('active');
    expect(await eventsFor(g, id, 'governance.suspend')).toEqual([]);
  });
});

describe('scheduler: retired agents', () => {
  let g: Gov;
  afterEach(() => g.close());

  it("a retired agent is not handed over when the departed sponsor's manager is recorded later", async () => {
    g = await buildGov({ env: { AGENTROSTER_SPONSOR_DEPARTURE_GRACE_DAYS: '4' } });
    const sponsor = await g.user('sam');
    const id = (await g.agent('done-bot', { sponsor, gov: { lifecycleState: 'active' } })).id as string;
    expect((await g.t.http.patch(`/Users/${sponsor}`, patchOps({ op: 'replace', path: 'active', value: false }))).status).toBe(200);
    expect((await g.patch(`/Agents/${id}`, setState('retired'))).status).toBe(200);
    const boss = await g.user('boss');
    const res = await g.t.http.patch(`/Users/${sponsor}`, patchOps({ op: 'add', path: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager', value: { value: boss } }));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const n = (await allAudit(g.t)).filter((e) => e.resourceId === id).length;
    const report = await run(g, 10 * DAY);
    expect(report).toMatchObject({ sponsorsTransferred: 0, suspended: {}, errors: 0 });
    expect((await allAudit(g.t)).filter((e) => e.resourceId === id)).toHaveLength(n);
    expect(await g.gov(id)).toMatchObject({ lifecycleState: 'retired', sponsor: { value: sponsor } });
  });
});

describe('scheduler: the timer', () => {
  let g: Gov;
  afterEach(() => g.close());

  it('a run that fails as a whole is logged as an error with its cause; the timer goes on', async () => {
    g = await buildGov({ env: { AGENTROSTER_GOVERNANCE_INTERVAL_MINUTES: '0.0005' } }); // 30 ms
    const id = (await g.agent('timed-bot', { gov: { lifecycleState: 'active', validUntil: iso(DAY) } })).id as string;
    const clock = g.t.governance.deps.clock;
    const now = clock.now;
    let failed = false;
    clock.now = () => {
      clock.now = now;
      failed = true;
      throw new Error('clock broken');
    };
    g.t.clock.set(iso(DAY));
    const scheduler = g.t.governance.scheduler;
    scheduler.start();
    while (!failed || (await g.gov(id)).lifecycleState !== 'suspended') await new Promise((r) => setTimeout(r, 20));
    await scheduler.stop();
    const errors = g.t.logs().filter((l) => l.msg === 'governance run failed');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ level: 50, err: { message: 'clock broken' } });
  });
});
