// The scheduler's integrity sweep: how often it runs (hourly, on request, forced), what it repairs
// (sponsors who left without a cascade, User projections out of line, projections whose agent is
// gone or retired) and what it must leave alone; plus the run itself (one pass at a time, the timer).
// Damage is done directly in the database, as a crash or a manual change would.

import { afterEach, describe, expect, it } from 'vitest';
import type { SchedulerReport } from '../../../src/resources/governance/scheduler.js';
import type { Json as StoreJson } from '../../../src/store/types.js';
import { allAudit } from '../../helpers/test-app.js';
import { AGENT_USER_URN, buildGov, DAY, type Gov, GOV_URN, type Json, setState } from './helpers.js';

const START = Date.parse('2026-04-01T09:00:00.000Z');
const MIN = 60_000;
const iso = (offsetMs: number) => new Date(START + offsetMs).toISOString();

async function run(g: Gov, offsetMs: number, o?: { sweep?: boolean }): Promise<SchedulerReport> {
  g.t.clock.set(iso(offsetMs));
  return g.t.governance.scheduler.runOnce(o);
}

/** Changes a row behind the server's back (no hooks, no audit). */
async function tamper(g: Gov, type: 'User' | 'Agent', id: string, change: (d: StoreJson) => StoreJson | undefined): Promise<void> {
  const row = (await g.t.store.get(type, id))!;
  const data = change(structuredClone(row.data));
  await g.t.store.commit({
    writes: [data === undefined ? { kind: 'delete', type, id, expectedVersion: row.version } : { kind: 'update', type, id, data, at: g.t.clock.iso(), expectedVersion: row.version }],
    audit: [],
    outbox: [],
  });
}

describe('scheduler: when the integrity sweep runs', () => {
  let g: Gov;
  afterEach(() => g.close());

  // A timeline: before each step the projection is damaged; the step's run repairs it only if it sweeps.
  const steps: { label: string; at: number; request?: boolean; force?: boolean; sweeps: boolean }[] = [
    { label: 'the first run', at: 0, sweeps: true },
    { label: '30 minutes later', at: 30 * MIN, sweeps: false },
    { label: 'one second short of an hour after the last sweep', at: 60 * MIN - 1000, sweeps: false },
    { label: 'an hour after the last sweep', at: 60 * MIN, sweeps: true },
    { label: 'a minute later, a sweep requested (a large cascade)', at: 61 * MIN, request: true, sweeps: true },
    { label: 'a minute later again: the request was consumed', at: 62 * MIN, sweeps: false },
    { label: 'forced with { sweep: true }', at: 63 * MIN, force: true, sweeps: true },
    { label: 'the hour counts from the forced sweep', at: 121 * MIN, sweeps: false },
    { label: 'an hour after the forced sweep', at: 123 * MIN, sweeps: true },
  ];

  it('hourly, on request and when forced; a projection damaged in between is repaired by the sweep only', async () => {
    g = await buildGov();
    const id = (await g.agent('tidy-bot', { extra: { displayName: 'Tidy Bot' }, gov: { lifecycleState: 'active' } })).id as string;
    for (const [i, step] of steps.entries()) {
      await tamper(g, 'User', id, (d) => ({ ...d, displayName: `damaged ${i}` }));
      if (step.request) g.t.governance.scheduler.requestSweep();
      const report = await run(g, step.at, step.force ? { sweep: true } : {});
      expect(report.projectionsRepaired, step.label).toBe(step.sweeps ? 1 : 0);
      const shown = (await g.t.http.get(`/Users/${id}`)).body.displayName;
      expect(shown, step.label).toBe(step.sweeps ? 'Tidy Bot' : `damaged ${i}`);
      if (!step.sweeps) await tamper(g, 'User', id, (d) => ({ ...d, displayName: 'Tidy Bot' }));
    }
  });

  it('a cascade too large for one commit asks for a sweep through requestSweep (the wiring the cascade uses)', async () => {
    g = await buildGov();
    const id = (await g.agent('wired-bot', { extra: { displayName: 'Wired Bot' }, gov: { lifecycleState: 'active' } })).id as string;
    await run(g, 0);
    await tamper(g, 'User', id, (d) => ({ ...d, displayName: 'damaged' }));
    g.t.governance.deps.requestSweep!();
    expect((await run(g, MIN)).projectionsRepaired).toBe(1);
  });
});

describe('scheduler sweep: User projections', () => {
  let g: Gov;
  afterEach(() => g.close());

  interface Row {
    label: string;
    /** damage done after the agent was created; returns what GET /Users/{id} should answer after the sweep */
    damage(g: Gov, id: string): Promise<number>;
    repaired: number;
  }
  const rows: Row[] = [
    {
      label: 'a projection deleted in the database is re-created',
      damage: async (g, id) => {
        await tamper(g, 'User', id, () => undefined);
        expect((await g.t.http.get(`/Users/${id}`)).status).toBe(404);
        return 200;
      },
      repaired: 1,
    },
    {
      label: 'a projection that disagrees with its agent is rewritten',
      damage: async (g, id) => {
        await tamper(g, 'User', id, (d) => ({ ...d, active: false, [AGENT_USER_URN]: { ...(d[AGENT_USER_URN] as Json), lifecycleState: 'suspended' } }));
        return 200;
      },
      repaired: 1,
    },
    {
      label: 'the projection of an agent deleted in the database is deleted',
      damage: async (g, id) => {
        await tamper(g, 'Agent', id, () => undefined);
        return 404;
      },
      repaired: 1,
    },
    {
      label: 'the projection of a retired agent, left behind, is deleted',
      damage: async (g, id) => {
        const projection = (await g.t.store.get('User', id))!;
        expect((await g.patch(`/Agents/${id}`, setState('retired'))).status).toBe(200);
        expect((await g.t.http.get(`/Users/${id}`)).status).toBe(404);
        await g.t.store.commit({ writes: [{ kind: 'insert', type: 'User', id, data: projection.data, at: g.t.clock.iso() }], audit: [], outbox: [] });
        expect((await g.t.http.get(`/Users/${id}`)).status).toBe(200);
        return 404;
      },
      repaired: 1,
    },
    {
      label: 'a projection in line is left alone',
      damage: async () => 200,
      repaired: 0,
    },
  ];

  it.each(rows)('$label', async (row) => {
    g = await buildGov();
    const a = await g.agent('projected-bot', { gov: { lifecycleState: 'active' } });
    const id = a.id as string;
    await run(g, 0); // the first sweep: nothing to repair
    const expected = await row.damage(g, id);
    const n = (await allAudit(g.t)).length;
    const report = await run(g, 60 * MIN);
    expect(report).toMatchObject({ projectionsRepaired: row.repaired, errors: 0 });
    const res = await g.t.http.get(`/Users/${id}`);
    expect(res.status).toBe(expected);
    if (expected === 200) {
      expect(res.body).toMatchObject({ active: true, userName: 'projected-bot', [AGENT_USER_URN]: { isAgent: true, lifecycleState: 'active' } });
    }
    // repairs are bookkeeping of the projection, not changes of the agent: nothing is audited
    expect((await allAudit(g.t)).length).toBe(n);
  });

  it('a human User with userType "Agent" is not a projection and is never deleted', async () => {
    g = await buildGov();
    const svc = await g.user('svc-account', { userType: 'Agent' });
    const report = await run(g, 0);
    expect(report.projectionsRepaired).toBe(0);
    expect((await g.t.http.get(`/Users/${svc}`)).status).toBe(200);
  });
});

describe('scheduler sweep: sponsors who left without a cascade', () => {
  let g: Gov;
  afterEach(() => g.close());

  interface Row {
    label: string;
    withCoSponsor: boolean;
    damage: 'deactivate' | 'delete' | 'none';
    expect: { sponsorsTransferred: number; sponsorsDeparted: number };
    reason?: (sponsor: string) => string;
  }
  const rows: Row[] = [
    { label: 'deactivated, a co-sponsor takes over', withCoSponsor: true, damage: 'deactivate', expect: { sponsorsTransferred: 1, sponsorsDeparted: 0 }, reason: (s) => `sweep: sponsor ${s} is inactive (R03)` },
    { label: 'deactivated, nobody takes over', withCoSponsor: false, damage: 'deactivate', expect: { sponsorsTransferred: 0, sponsorsDeparted: 1 }, reason: (s) => `sweep: sponsor ${s} is inactive (R03)` },
    { label: 'deleted, a co-sponsor takes over', withCoSponsor: true, damage: 'delete', expect: { sponsorsTransferred: 1, sponsorsDeparted: 0 }, reason: (s) => `sweep: sponsor ${s} is deleted (R03)` },
    { label: 'deleted, nobody takes over', withCoSponsor: false, damage: 'delete', expect: { sponsorsTransferred: 0, sponsorsDeparted: 1 }, reason: (s) => `sweep: sponsor ${s} is deleted (R03)` },
    { label: 'still active: nothing to do', withCoSponsor: true, damage: 'none', expect: { sponsorsTransferred: 0, sponsorsDeparted: 0 } },
  ];

  it.each(rows)('sponsor $label', async (row) => {
    g = await buildGov();
    const sponsor = await g.user('quiet-leaver', { displayName: 'Quiet Leaver' });
    const co = await g.user('co-sponsor', { displayName: 'Co Sponsor' });
    const id = (await g.agent('swept-bot', { sponsor, gov: { lifecycleState: 'active', ...(row.withCoSponsor ? { coSponsors: [{ value: co }] } : {}) } })).id as string;
    await run(g, 0);
    g.t.clock.set(iso(DAY));
    if (row.damage === 'deactivate') await tamper(g, 'User', sponsor, (d) => ({ ...d, active: false }));
    if (row.damage === 'delete') await tamper(g, 'User', sponsor, () => undefined);
    const report = await run(g, DAY + 60 * MIN);
    expect(report).toMatchObject({ ...row.expect, errors: 0 });
    const gov = await g.gov(id);
    const events = (await allAudit(g.t)).filter((e) => e.resourceId === id && e.action === 'sponsor.departed');
    if (row.damage === 'none') {
      expect(gov).toMatchObject({ sponsorStatus: 'ok', sponsor: { value: sponsor, status: 'active' } });
      expect(events).toEqual([]);
      return;
    }
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actor: { client: 'agentroster-governance' }, reason: row.reason!(sponsor) });
    if (row.withCoSponsor) {
      expect(gov).toMatchObject({ sponsorStatus: 'transferPending', sponsor: { value: co, status: 'active' }, lifecycleState: 'active' });
      expect(gov.coSponsors).toBeUndefined();
    } else {
      expect(gov).toMatchObject({ sponsorStatus: 'departed', sponsorDepartedAt: iso(DAY + 60 * MIN), sponsor: { value: sponsor, status: 'departed' } });
    }
    // the projection follows in the same run
    const iga = (await g.t.http.get(`/Users/${id}`)).body as Json;
    expect(iga[AGENT_USER_URN]).toMatchObject({ sponsorStatus: gov.sponsorStatus });
    // and the next sweep has nothing left to do
    expect(await run(g, DAY + 120 * MIN)).toMatchObject({ sponsorsTransferred: 0, sponsorsDeparted: 0, projectionsRepaired: 0 });
  });

  it('an agent already marked departed (by the cascade) is not handled again by the sweep', async () => {
    g = await buildGov({ env: { AGENTROSTER_SPONSOR_DEPARTURE_POLICY: 'none' } });
    const sponsor = await g.user('loud-leaver');
    const id = (await g.agent('known-bot', { sponsor, gov: { lifecycleState: 'active' } })).id as string;
    expect((await g.t.http.patch(`/Users/${sponsor}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'active', value: false }] })).status).toBe(200);
    const before = (await allAudit(g.t)).filter((e) => e.resourceId === id).length;
    const report = await run(g, 60 * MIN, { sweep: true });
    expect(report).toMatchObject({ sponsorsTransferred: 0, sponsorsDeparted: 0, errors: 0 });
    expect((await allAudit(g.t)).filter((e) => e.resourceId === id)).toHaveLength(before);
    expect(await g.gov(id)).toMatchObject({ sponsorStatus: 'departed', sponsorDepartedAt: iso(0) });
  });

  it('a retired agent is not swept, even when its sponsor is gone', async () => {
    g = await buildGov();
    const sponsor = await g.user('old-sponsor');
    const id = (await g.agent('retired-bot', { sponsor, gov: { lifecycleState: 'active' } })).id as string;
    expect((await g.patch(`/Agents/${id}`, setState('retired'))).status).toBe(200);
    await tamper(g, 'User', sponsor, () => undefined);
    const n = (await allAudit(g.t)).length;
    const report = await run(g, 0, { sweep: true });
    expect(report).toMatchObject({ sponsorsTransferred: 0, sponsorsDeparted: 0, projectionsRepaired: 0, errors: 0 });
    expect((await allAudit(g.t)).length).toBe(n);
    expect((await g.gov(id)).sponsor).toMatchObject({ value: sponsor, status: 'active' });
  });
});

describe('scheduler: one pass at a time, on a timer', () => {
  let g: Gov;
  afterEach(() => g.close());

  it('a second runOnce while a pass is running joins it; the next call starts a new pass', async () => {
    g = await buildGov();
    const id = (await g.agent('once-bot', { gov: { lifecycleState: 'active', validUntil: iso(DAY) } })).id as string;
    g.t.clock.set(iso(DAY));
    const first = g.t.governance.scheduler.runOnce();
    const second = g.t.governance.scheduler.runOnce();
    expect(second).toBe(first);
    const report = await first;
    expect(report.suspended).toEqual({ validityExpired: 1 });
    expect((await allAudit(g.t)).filter((e) => e.resourceId === id && e.action === 'governance.suspend')).toHaveLength(1);
    const third = g.t.governance.scheduler.runOnce();
    expect(third).not.toBe(first);
    expect((await third).suspended).toEqual({});
  });

  it('start() runs the rules every interval until stop()', async () => {
    g = await buildGov({ env: { AGENTROSTER_GOVERNANCE_INTERVAL_MINUTES: '0.0005' } }); // 30 ms
    const id = (await g.agent('timed-bot', { gov: { lifecycleState: 'active', validUntil: iso(DAY) } })).id as string;
    g.t.clock.set(iso(DAY));
    const scheduler = g.t.governance.scheduler;
    scheduler.start();
    scheduler.start(); // idempotent
    while ((await g.gov(id)).lifecycleState !== 'suspended') await new Promise((r) => setTimeout(r, 20));
    await scheduler.stop();
    // stopped: a new expiry is not acted on by the timer
    const other = (await g.agent('later-bot', { gov: { lifecycleState: 'active', validUntil: iso(2 * DAY) } })).id as string;
    g.t.clock.set(iso(2 * DAY));
    await new Promise((r) => setTimeout(r, 200));
    expect((await g.gov(other)).lifecycleState).toBe('active');
    expect(g.t.logs().some((l) => l.msg === 'governance run' && (l.report as SchedulerReport).suspended.validityExpired === 1)).toBe(true);
    await scheduler.stop(); // stopping twice is fine
    // and it can be started again
    scheduler.start();
    while ((await g.gov(other)).lifecycleState !== 'suspended') await new Promise((r) => setTimeout(r, 20));
    await scheduler.stop();
  });

  it('stop() waits for the pass under way', async () => {
    g = await buildGov();
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await g.agent(`stopped-bot-${i}`, { gov: { lifecycleState: 'active', validUntil: iso(DAY) } })).id as string);
    g.t.clock.set(iso(DAY));
    const pass = g.t.governance.scheduler.runOnce();
    await g.t.governance.scheduler.stop();
    for (const id of ids) expect((await g.gov(id)).lifecycleState).toBe('suspended');
    expect((await pass).suspended).toEqual({ validityExpired: 3 });
  });

  it('a quiet run is not logged; a run that acted is', async () => {
    g = await buildGov();
    await g.agent('quiet-bot', { gov: { lifecycleState: 'active', validUntil: iso(DAY) } });
    await run(g, 0);
    expect(g.t.logs().filter((l) => l.msg === 'governance run')).toEqual([]);
    await run(g, DAY);
    const logged = g.t.logs().filter((l) => l.msg === 'governance run');
    expect(logged).toHaveLength(1);
    expect(logged[0]!.report).toMatchObject({ at: iso(DAY), suspended: { validityExpired: 1 } });
  });

  it('a run that only removed grants is logged', async () => {
    g = await buildGov();
    await g.entitlement('a.read');
    await g.agent('grant-bot', { gov: { lifecycleState: 'active' }, extra: { entitlements: [{ value: 'a.read', expiresAt: iso(DAY) }] } });
    await run(g, DAY);
    expect(g.t.logs().filter((l) => l.msg === 'governance run').map((l) => (l.report as SchedulerReport).grantsExpired)).toEqual([1]);
  });
});

void GOV_URN;
