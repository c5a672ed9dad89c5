// The scheduler's time-based rules as tables: rule → condition → what a user sees (agent state and
// stateReason, the audit event with its reason, the IGA view, the run report). Each row is checked
// one second before its condition holds (nothing happens), at the instant it holds (the action, once)
// and a day later (nothing more: the rules are idempotent). Non-default policy values are used so
// that a rule reading the wrong setting is caught.

import { afterEach, describe, expect, it } from 'vitest';
import type { StateReason } from '../../../src/agents/lifecycle.js';
import type { SchedulerReport } from '../../../src/resources/governance/scheduler.js';
import { allAudit } from '../../helpers/test-app.js';
import { AGENT_USER_URN, buildGov, DAY, ENTERPRISE_URN, type Gov, GOV_URN, type Json, patchOps, setState } from './helpers.js';

const START = Date.parse('2026-04-01T09:00:00.000Z');
const iso = (offsetMs: number) => new Date(START + offsetMs).toISOString();
const GOVERNANCE = 'agentroster-governance';

async function run(g: Gov, offsetMs: number): Promise<SchedulerReport> {
  g.t.clock.set(iso(offsetMs));
  return g.t.governance.scheduler.runOnce();
}

async function eventsFor(g: Gov, id: string, action: string) {
  return (await allAudit(g.t)).filter((e) => e.resourceId === id && e.action === action);
}

async function igaAccount(g: Gov, id: string): Promise<{ status: number; body: Json }> {
  const res = await g.t.http.get(`/Users/${id}`);
  return { status: res.status, body: res.body as Json };
}

describe('scheduler: suspension rules (rule → condition → suspended with reason, audited)', () => {
  let g: Gov;
  afterEach(() => g.close());

  interface Row {
    rule: string;
    env?: Record<string, string>;
    /** creates the agent (the clock may move); returns its id */
    setup(g: Gov): Promise<string>;
    /** ms after START at which the condition first holds */
    dueAt: number;
    reason: StateReason;
    /** the audit reason, given the agent's sponsor id */
    audit: (ctx: { sponsor: string }) => RegExp;
  }

  const rows: Row[] = [
    {
      rule: 'validUntil: the operational validity window ends',
      setup: async (g) => (await g.agent('window-bot', { gov: { lifecycleState: 'active', validUntil: iso(5 * DAY) } })).id as string,
      dueAt: 5 * DAY,
      reason: 'validityExpired',
      audit: () => /^validUntil 2026-04-06T09:00:00(\.000)?Z passed$/,
    },
    {
      rule: 'R04: the review is overdue by more than the grace period',
      env: { AGENTROSTER_REVIEW_GRACE_DAYS: '9' },
      setup: async (g) => (await g.agent('review-bot', { gov: { lifecycleState: 'active', reviewIntervalDays: 30 } })).id as string,
      dueAt: 39 * DAY,
      reason: 'reviewOverdue',
      audit: () => /^review overdue since 2026-05-01T09:00:00\.000Z \(\+9 days grace\) \(R04\)$/,
    },
    {
      rule: 'R05: no activity for inactivityDays (never seen: counted from approval)',
      env: { AGENTROSTER_INACTIVITY_DAYS: '11' },
      setup: async (g) => (await g.agent('idle-bot', { gov: { lifecycleState: 'active' } })).id as string,
      dueAt: 11 * DAY,
      reason: 'inactivity',
      audit: () => /^no activity for 11 days \(R05\)$/,
    },
    {
      rule: 'R05: no activity for inactivityDays (counted from the last activity)',
      env: { AGENTROSTER_INACTIVITY_DAYS: '11' },
      setup: async (g) => {
        const id = (await g.agent('seen-bot', { gov: { lifecycleState: 'active' } })).id as string;
        g.t.clock.set(iso(3 * DAY));
        const seen = await g.t.http.post(`/Agents/${id}/activity`, { kind: 'apiCall' });
        expect(seen.status, JSON.stringify(seen.body)).toBeLessThan(300);
        return id;
      },
      dueAt: 14 * DAY,
      reason: 'inactivity',
      audit: () => /^no activity for 11 days \(R05\)$/,
    },
    {
      rule: 'R05: no activity since a reactivation (the approver restarts the clock)',
      env: { AGENTROSTER_INACTIVITY_DAYS: '11' },
      setup: async (g) => {
        const id = (await g.agent('restarted-bot', { gov: { lifecycleState: 'active' } })).id as string;
        g.t.clock.set(iso(2 * DAY));
        expect((await g.patch(`/Agents/${id}`, setState('suspended', 'manual'))).status).toBe(200);
        g.t.clock.set(iso(4 * DAY));
        expect((await g.patch(`/Agents/${id}`, setState('active'))).status).toBe(200);
        return id;
      },
      dueAt: 15 * DAY,
      reason: 'inactivity',
      audit: () => /^no activity for 11 days \(R05\)$/,
    },
    {
      rule: 'R03: the sponsor left, no successor within the grace period',
      env: { AGENTROSTER_SPONSOR_DEPARTURE_GRACE_DAYS: '4' },
      setup: async (g) => {
        const sponsor = await g.user('leaving-sponsor');
        const id = (await g.agent('orphan-bot', { sponsor, gov: { lifecycleState: 'active' } })).id as string;
        g.t.clock.set(iso(DAY));
        expect((await g.t.http.patch(`/Users/${sponsor}`, patchOps({ op: 'replace', path: 'active', value: false }))).status).toBe(200);
        expect(await g.gov(id)).toMatchObject({ sponsorStatus: 'departed', sponsorDepartedAt: iso(DAY) });
        return id;
      },
      dueAt: 5 * DAY,
      reason: 'sponsorDeparted',
      audit: ({ sponsor }) => new RegExp(`^sponsor ${sponsor} departed ${iso(DAY).replaceAll('.', '\\.')}; no successor within 4 days \\(R03\\)$`),
    },
    {
      rule: 'R02: fewer sponsors than minSponsors for longer than the grace period',
      env: { AGENTROSTER_MIN_SPONSORS: '2', AGENTROSTER_MIN_SPONSORS_GRACE_DAYS: '3' },
      setup: async (g) => (await g.agent('lone-bot', { gov: { lifecycleState: 'active' } })).id as string,
      dueAt: 3 * DAY,
      reason: 'policyViolation',
      audit: () => /^fewer than 2 sponsors for 3 days \(R02\)$/,
    },
  ];

  it.each(rows)('$rule → suspended ($reason)', async (row) => {
    g = await buildGov(row.env ? { env: row.env } : {});
    const id = await row.setup(g);
    const sponsor = ((await g.gov(id)).sponsor as Json).value as string;
    expect((await g.gov(id)).lifecycleState).toBe('active');

    // one second before: nothing
    const early = await run(g, row.dueAt - 1000);
    expect(early.suspended).toEqual({});
    expect(early.errors).toBe(0);
    expect((await g.gov(id)).lifecycleState).toBe('active');
    expect(await eventsFor(g, id, 'governance.suspend')).toEqual([]);

    // at the instant the condition holds: suspended, with the reason, audited, in the IGA view
    const now = iso(row.dueAt);
    const report = await run(g, row.dueAt);
    expect(report).toMatchObject({ at: now, suspended: { [row.reason]: 1 }, errors: 0 });
    expect(Object.keys(report.suspended)).toEqual([row.reason]);
    const agent = await g.get(id);
    expect(agent.active).toBe(false);
    expect(agent[GOV_URN]).toMatchObject({ lifecycleState: 'suspended', stateReason: row.reason, stateChangedAt: now, authorizationNotBefore: now });
    const [event, ...more] = await eventsFor(g, id, 'governance.suspend');
    expect(more).toEqual([]);
    expect(event).toMatchObject({ actor: { client: GOVERNANCE }, requestId: `governance-${now}`, resourceType: 'Agent' });
    expect(event!.reason).toMatch(row.audit({ sponsor }));
    const iga = await igaAccount(g, id);
    expect(iga.status).toBe(200);
    expect(iga.body.active).toBe(false);
    expect(iga.body[AGENT_USER_URN]).toMatchObject({ lifecycleState: 'suspended', stateReason: row.reason });

    // a day later: nothing more
    const later = await run(g, row.dueAt + DAY);
    expect(later.suspended).toEqual({});
    expect(later.retired).toBe(0);
    expect(await eventsFor(g, id, 'governance.suspend')).toHaveLength(1);
    expect(await g.gov(id)).toMatchObject({ lifecycleState: 'suspended', stateReason: row.reason, stateChangedAt: now });
  });

  it('only active agents are suspended: a pending or already suspended agent keeps its state and reason', async () => {
    g = await buildGov({ env: { AGENTROSTER_INACTIVITY_DAYS: '11', AGENTROSTER_REVIEW_GRACE_DAYS: '9' } });
    const pending = (await g.agent('waiting-bot', { gov: { validUntil: iso(5 * DAY), reviewIntervalDays: 30 } })).id as string;
    const paused = (await g.agent('paused-bot', { gov: { lifecycleState: 'active', validUntil: iso(5 * DAY), reviewIntervalDays: 30 } })).id as string;
    expect((await g.patch(`/Agents/${paused}`, setState('suspended', 'budgetExceeded'))).status).toBe(200);
    for (const offset of [5 * DAY, 11 * DAY, 39 * DAY]) {
      const report = await run(g, offset);
      expect(report.suspended, `at +${offset / DAY} days`).toEqual({});
    }
    expect(await g.gov(pending)).toMatchObject({ lifecycleState: 'pending', stateReason: 'approvalPending', stateChangedAt: iso(0) });
    expect(await g.gov(paused)).toMatchObject({ lifecycleState: 'suspended', stateReason: 'budgetExceeded', stateChangedAt: iso(0) });
    expect((await allAudit(g.t)).filter((e) => e.action === 'governance.suspend')).toEqual([]);
  });

  it('several rules at once: each agent is suspended by the first rule that holds, counted per reason', async () => {
    g = await buildGov({ env: { AGENTROSTER_INACTIVITY_DAYS: '10', AGENTROSTER_REVIEW_GRACE_DAYS: '1' } });
    const a = (await g.agent('a-bot', { gov: { lifecycleState: 'active', validUntil: iso(5 * DAY) } })).id as string;
    const b = (await g.agent('b-bot', { gov: { lifecycleState: 'active', validUntil: iso(6 * DAY) } })).id as string;
    const c = (await g.agent('c-bot', { gov: { lifecycleState: 'active' } })).id as string;
    const report = await run(g, 10 * DAY);
    expect(report.suspended).toEqual({ validityExpired: 2, inactivity: 1 });
    expect((await g.gov(a)).stateReason).toBe('validityExpired');
    expect((await g.gov(b)).stateReason).toBe('validityExpired');
    expect((await g.gov(c)).stateReason).toBe('inactivity');
  });
});

describe('scheduler: R05 inactivity modes (flag / suspend / suspendThenRetire)', () => {
  let g: Gov;
  afterEach(() => g.close());

  interface Mode {
    action: 'flag' | 'suspend' | 'suspendThenRetire';
    /** state after inactivityDays (10), after inactivityRetireAfterDays more (5) */
    atInactive: { lifecycleState: string; stateReason?: string };
    atRetire: { lifecycleState: string; stateReason?: string };
    /** the audit action of the first step, and its reason */
    firstEvent: [string, RegExp];
    report: Partial<SchedulerReport>;
    igaGoneAtRetire: boolean;
  }
  const modes: Mode[] = [
    {
      action: 'flag',
      atInactive: { lifecycleState: 'active' },
      atRetire: { lifecycleState: 'active' },
      firstEvent: ['governance.refresh', /^inactive \(R05\)$/],
      report: { suspended: {}, refreshed: 1, retired: 0 },
      igaGoneAtRetire: false,
    },
    {
      action: 'suspend',
      atInactive: { lifecycleState: 'suspended', stateReason: 'inactivity' },
      atRetire: { lifecycleState: 'suspended', stateReason: 'inactivity' },
      firstEvent: ['governance.suspend', /^no activity for 10 days \(R05\)$/],
      report: { suspended: { inactivity: 1 }, refreshed: 0, retired: 0 },
      igaGoneAtRetire: false,
    },
    {
      action: 'suspendThenRetire',
      atInactive: { lifecycleState: 'suspended', stateReason: 'inactivity' },
      atRetire: { lifecycleState: 'retired', stateReason: 'inactivity' },
      firstEvent: ['governance.suspend', /^no activity for 10 days \(R05\)$/],
      report: { suspended: { inactivity: 1 }, refreshed: 0, retired: 0 },
      igaGoneAtRetire: true,
    },
  ];

  it.each(modes)('inactivityAction $action', async (m) => {
    g = await buildGov({
      env: { AGENTROSTER_INACTIVITY_DAYS: '10', AGENTROSTER_INACTIVITY_ACTION: m.action, AGENTROSTER_INACTIVITY_RETIRE_AFTER_DAYS: '5' },
    });
    const id = (await g.agent('fading-bot', { gov: { lifecycleState: 'active' } })).id as string;
    const busy = (await g.agent('busy-bot', { gov: { lifecycleState: 'active' } })).id as string;

    const early = await run(g, 10 * DAY - 1000);
    expect(early).toMatchObject({ suspended: {}, refreshed: 0, retired: 0 });
    expect((await g.gov(id)).complianceIssues).toBeUndefined();
    // the busy one is seen just before the cutoff
    expect((await g.t.http.post(`/Agents/${busy}/activity`, { kind: 'apiCall' })).status).toBeLessThan(300);

    const report = await run(g, 10 * DAY);
    expect(report).toMatchObject({ ...m.report, errors: 0 });
    const gov = await g.gov(id);
    expect(gov).toMatchObject(m.atInactive);
    if (m.atInactive.stateReason === undefined) expect(gov.stateReason).toBeUndefined();
    // flagged or not, the compliance issue says since when it is inactive (only while active)
    if (m.action === 'flag') expect(gov.complianceIssues).toEqual([{ type: 'inactive', since: iso(10 * DAY) }]);
    else expect(gov.complianceIssues).toBeUndefined();
    // the compliance report's "inactive" finding lists exactly the flagged agent (its filter, on /Agents)
    const listed = await g.t.http.get(`/Agents?filter=${encodeURIComponent(`${GOV_URN}:complianceIssues[type eq "inactive"]`)}`);
    expect((listed.body.Resources ?? []).map((r: Json) => r.id)).toEqual(m.action === 'flag' ? [id] : []);
    const [action, reason] = m.firstEvent;
    const events = await eventsFor(g, id, action);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actor: { client: GOVERNANCE }, reason: expect.stringMatching(reason) });
    expect(await g.gov(busy)).toMatchObject({ lifecycleState: 'active' });
    expect((await g.gov(busy)).complianceIssues).toBeUndefined();
    expect((await igaAccount(g, id)).body.active).toBe(m.atInactive.lifecycleState === 'active');

    // flagging again changes nothing (no new event, not counted)
    const again = await run(g, 10 * DAY + 60_000);
    expect(again).toMatchObject({ suspended: {}, refreshed: 0, retired: 0 });
    expect(await eventsFor(g, id, action)).toHaveLength(1);

    // inactivityRetireAfterDays (5) after the suspension
    const beforeRetire = await run(g, 15 * DAY - 1000);
    expect(beforeRetire.retired).toBe(0);
    expect((await g.gov(id)).lifecycleState).toBe(m.atInactive.lifecycleState);
    const retire = await run(g, 15 * DAY);
    expect(retire.retired).toBe(m.atRetire.lifecycleState === 'retired' ? 1 : 0);
    expect(await g.gov(id)).toMatchObject(m.atRetire);
    const retirements = await eventsFor(g, id, 'governance.retire');
    if (m.igaGoneAtRetire) {
      expect(retirements).toHaveLength(1);
      expect(retirements[0]).toMatchObject({ actor: { client: GOVERNANCE }, reason: 'suspended for inactivity for 5 days (R05)' });
      expect((await igaAccount(g, id)).status).toBe(404);
      expect((await g.gov(id)).stateChangedAt).toBe(iso(15 * DAY));
    } else {
      expect(retirements).toEqual([]);
      expect((await igaAccount(g, id)).status).toBe(200);
    }
    expect((await run(g, 40 * DAY)).retired).toBe(0);
  });

  it('suspendThenRetire retires only agents suspended for inactivity, counted from the suspension', async () => {
    g = await buildGov({
      env: { AGENTROSTER_INACTIVITY_DAYS: '10', AGENTROSTER_INACTIVITY_ACTION: 'suspendThenRetire', AGENTROSTER_INACTIVITY_RETIRE_AFTER_DAYS: '5' },
    });
    const manual = (await g.agent('manual-bot', { gov: { lifecycleState: 'active' } })).id as string;
    const idle = (await g.agent('idle-bot', { gov: { lifecycleState: 'active' } })).id as string;
    expect((await g.patch(`/Agents/${manual}`, setState('suspended', 'credentialCompromise'))).status).toBe(200);
    expect((await run(g, 10 * DAY)).suspended).toEqual({ inactivity: 1 });
    // reactivated by an approver at +12 days: the retirement clock no longer applies
    g.t.clock.set(iso(12 * DAY));
    expect((await g.patch(`/Agents/${idle}`, setState('active'))).status).toBe(200);
    const report = await run(g, 40 * DAY);
    expect(report.retired).toBe(0);
    expect(await g.gov(manual)).toMatchObject({ lifecycleState: 'suspended', stateReason: 'credentialCompromise' });
    // idle again from +12: suspended at +22, retired at +27 — not before
    expect(await g.gov(idle)).toMatchObject({ lifecycleState: 'suspended', stateReason: 'inactivity', stateChangedAt: iso(40 * DAY) });
    expect((await run(g, 45 * DAY - 1000)).retired).toBe(0);
    expect((await run(g, 45 * DAY)).retired).toBe(1);
    expect(await g.gov(idle)).toMatchObject({ lifecycleState: 'retired', stateReason: 'inactivity' });
  });

  it('a retirement the rules refuse (live credentials, R14) is counted as an error and logged; the agent stays suspended', async () => {
    g = await buildGov({
      env: { AGENTROSTER_INACTIVITY_DAYS: '10', AGENTROSTER_INACTIVITY_ACTION: 'suspendThenRetire', AGENTROSTER_INACTIVITY_RETIRE_AFTER_DAYS: '5' },
    });
    const keyed = (await g.agent('keyed-bot', { gov: { lifecycleState: 'active', credentials: [{ credentialId: 'cred-keyed-1', type: 'federatedIdentity', status: 'active' }] } })).id as string;
    const plain = (await g.agent('plain-bot', { gov: { lifecycleState: 'active' } })).id as string;
    expect((await run(g, 10 * DAY)).suspended).toEqual({ inactivity: 2 });
    const report = await run(g, 15 * DAY);
    expect(report).toMatchObject({ retired: 1, errors: 1 });
    expect(await g.gov(keyed)).toMatchObject({ lifecycleState: 'suspended', stateReason: 'inactivity' });
    expect((await g.gov(plain)).lifecycleState).toBe('retired');
    const warn = g.t.logs().find((l) => l.msg === 'governance action failed');
    expect(warn).toMatchObject({ agentId: keyed, err: expect.stringMatching(/cred-keyed-1/) });
    expect(g.t.logs().find((l) => l.msg === 'governance run' && (l.report as SchedulerReport).errors === 1)).toBeDefined();
    expect(await eventsFor(g, keyed, 'governance.retire')).toEqual([]);
  });
});

describe('scheduler: R06 expired grants (removed, audited, gone from the IGA view)', () => {
  let g: Gov;
  afterEach(() => g.close());

  interface Row {
    label: string;
    grants: { value: string; expiresInDays?: number }[];
    /** the run at +5 days */
    left: string[];
    gone: string[];
  }
  const rows: Row[] = [
    { label: 'one of two grants expires', grants: [{ value: 'a.read', expiresInDays: 5 }, { value: 'b.read' }], left: ['b.read'], gone: ['a.read'] },
    { label: 'every grant expires at once', grants: [{ value: 'a.read', expiresInDays: 5 }, { value: 'c.read', expiresInDays: 5 }], left: [], gone: ['a.read', 'c.read'] },
    { label: 'a later expiry stays', grants: [{ value: 'a.read', expiresInDays: 5 }, { value: 'c.read', expiresInDays: 6 }], left: ['c.read'], gone: ['a.read'] },
    { label: 'nothing expires yet', grants: [{ value: 'c.read', expiresInDays: 6 }, { value: 'b.read' }], left: ['c.read', 'b.read'], gone: [] },
  ];

  it.each(rows)('$label', async (row) => {
    g = await buildGov();
    for (const v of ['a.read', 'b.read', 'c.read']) await g.entitlement(v);
    const entitlements = row.grants.map((x) => ({ value: x.value, ...(x.expiresInDays ? { expiresAt: iso(x.expiresInDays * DAY) } : {}) }));
    const id = (await g.agent('granted-bot', { gov: { lifecycleState: 'active' }, extra: { entitlements } })).id as string;
    const all = row.grants.map((x) => x.value);

    const early = await run(g, 5 * DAY - 1000);
    expect(early.grantsExpired).toBe(0);
    expect(((await g.get(id)).entitlements as Json[]).map((e) => e.value)).toEqual(all);

    const now = iso(5 * DAY);
    const report = await run(g, 5 * DAY);
    expect(report.grantsExpired).toBe(row.gone.length);
    const agent = await g.get(id);
    expect(((agent.entitlements ?? []) as Json[]).map((e) => e.value)).toEqual(row.left);
    if (row.left.length === 0) expect('entitlements' in agent).toBe(false);
    expect(agent[GOV_URN]).toMatchObject({ lifecycleState: 'active' });
    const events = await eventsFor(g, id, 'grant.expired');
    if (row.gone.length === 0) expect(events).toEqual([]);
    else {
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ actor: { client: GOVERNANCE }, requestId: `governance-${now}`, reason: `grant expired: ${row.gone.join(', ')} (R06)` });
    }
    const iga = await igaAccount(g, id);
    expect(((iga.body.entitlements ?? []) as Json[]).map((e) => e.value)).toEqual(row.left);
    expect(((((iga.body[AGENT_USER_URN] as Json).entitlementGrants ?? []) as Json[])).map((e) => e.value)).toEqual(row.left);

    // nothing more to remove
    expect((await run(g, 5 * DAY + 60_000)).grantsExpired).toBe(0);
    expect(await eventsFor(g, id, 'grant.expired')).toHaveLength(row.gone.length === 0 ? 0 : 1);
  });

  it('a suspended agent loses its expired grants too', async () => {
    g = await buildGov();
    await g.entitlement('a.read');
    const id = (await g.agent('paused-bot', { gov: { lifecycleState: 'active' }, extra: { entitlements: [{ value: 'a.read', expiresAt: iso(5 * DAY) }] } })).id as string;
    expect((await g.patch(`/Agents/${id}`, setState('suspended', 'manual'))).status).toBe(200);
    expect((await run(g, 5 * DAY)).grantsExpired).toBe(1);
    expect((await g.get(id)).entitlements).toBeUndefined();
  });
});

describe('scheduler: R03 departed-sponsor handover (a successor appears later)', () => {
  let g: Gov;
  afterEach(() => g.close());

  interface Row {
    label: string;
    env?: Record<string, string>;
    /** makes a successor available after the departure; returns the successor id (undefined: none) */
    later(g: Gov, ctx: { agent: string; sponsor: string }): Promise<string | undefined>;
    how?: 'promoteCoSponsor' | 'transferToManager';
  }
  const rows: Row[] = [
    {
      label: 'a co-sponsor added after the departure is promoted',
      later: async (g, { agent }) => {
        const cora = await g.user('cora', { displayName: 'Cora' });
        expect((await g.patch(`/Agents/${agent}`, [{ op: 'add', path: `${GOV_URN}:coSponsors`, value: [{ value: cora }] }])).status).toBe(200);
        return cora;
      },
      how: 'promoteCoSponsor',
    },
    {
      label: "the departed sponsor's manager, recorded after the departure, takes over",
      later: async (g, { sponsor }) => {
        const boss = await g.user('boss', { displayName: 'The Boss' });
        const res = await g.t.http.patch(`/Users/${sponsor}`, patchOps({ op: 'add', path: `${ENTERPRISE_URN}:manager`, value: { value: boss } }));
        expect(res.status, JSON.stringify(res.body)).toBe(200);
        return boss;
      },
      how: 'transferToManager',
    },
    {
      label: 'an inactive co-sponsor is no successor',
      later: async (g, { agent }) => {
        const cora = await g.user('cora', { displayName: 'Cora' });
        expect((await g.patch(`/Agents/${agent}`, [{ op: 'add', path: `${GOV_URN}:coSponsors`, value: [{ value: cora }] }])).status).toBe(200);
        // deactivated directly in the database (no cascade drops her from the list)
        const row = (await g.t.store.get('User', cora))!;
        await g.t.store.commit({ writes: [{ kind: 'update', type: 'User', id: cora, data: { ...row.data, active: false }, at: g.t.clock.iso(), expectedVersion: row.version }], audit: [], outbox: [] });
        return undefined;
      },
    },
    {
      label: 'with the departure policy "none" nobody takes over',
      env: { AGENTROSTER_SPONSOR_DEPARTURE_POLICY: 'none' },
      later: async (g, { agent }) => {
        const cora = await g.user('cora', { displayName: 'Cora' });
        expect((await g.patch(`/Agents/${agent}`, [{ op: 'add', path: `${GOV_URN}:coSponsors`, value: [{ value: cora }] }])).status).toBe(200);
        return undefined;
      },
    },
  ];

  it.each(rows)('$label', async (row) => {
    g = await buildGov({ env: { AGENTROSTER_SPONSOR_DEPARTURE_GRACE_DAYS: '4', ...row.env } });
    const sponsor = await g.user('sam', { displayName: 'Sam' });
    const agent = (await g.agent('handover-bot', { sponsor, gov: { lifecycleState: 'active' } })).id as string;
    expect((await g.t.http.patch(`/Users/${sponsor}`, patchOps({ op: 'replace', path: 'active', value: false }))).status).toBe(200);
    expect(await g.gov(agent)).toMatchObject({ sponsorStatus: 'departed', sponsor: { value: sponsor, status: 'departed' } });
    // nobody yet: nothing happens before the grace period
    expect(await run(g, DAY)).toMatchObject({ sponsorsTransferred: 0, suspended: {} });
    expect((await g.gov(agent)).sponsorStatus).toBe('departed');

    g.t.clock.set(iso(2 * DAY));
    const successor = await row.later(g, { agent, sponsor });
    const report = await run(g, 2 * DAY + 1000);
    if (successor !== undefined) {
      expect(report.sponsorsTransferred).toBe(1);
      const gov = await g.gov(agent);
      expect(gov).toMatchObject({ lifecycleState: 'active', sponsorStatus: 'transferPending', sponsor: { value: successor, status: 'active' }, complianceIssues: [{ type: 'sponsorUnconfirmed', since: iso(2 * DAY + 1000) }] });
      expect(gov.sponsorDepartedAt).toBeUndefined();
      expect(gov.coSponsors).toBeUndefined();
      const events = await eventsFor(g, agent, 'sponsor.transfer');
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({ actor: { client: GOVERNANCE }, reason: `sponsor ${sponsor} departed: ${row.how!} ${successor} (R03)` });
      const iga = await igaAccount(g, agent);
      expect((iga.body[ENTERPRISE_URN] as Json).manager).toMatchObject({ value: successor });
      expect(iga.body[AGENT_USER_URN]).toMatchObject({ sponsorStatus: 'transferPending' });
      // past the grace period the agent stays active: somebody is accountable
      const after = await run(g, 10 * DAY);
      expect(after).toMatchObject({ suspended: {}, sponsorsTransferred: 0 });
      expect((await g.gov(agent)).lifecycleState).toBe('active');
    } else {
      expect(report.sponsorsTransferred).toBe(0);
      expect(await g.gov(agent)).toMatchObject({ sponsorStatus: 'departed', sponsor: { value: sponsor } });
      expect(await eventsFor(g, agent, 'sponsor.transfer')).toEqual([]);
      expect((await run(g, 4 * DAY)).suspended).toEqual({ sponsorDeparted: 1 });
      expect(await g.gov(agent)).toMatchObject({ lifecycleState: 'suspended', stateReason: 'sponsorDeparted' });
    }
  });

  it('a retired agent whose sponsor left is left alone', async () => {
    g = await buildGov({ env: { AGENTROSTER_SPONSOR_DEPARTURE_GRACE_DAYS: '4' } });
    const sponsor = await g.user('sam');
    const agent = (await g.agent('done-bot', { sponsor, gov: { lifecycleState: 'active' } })).id as string;
    expect((await g.t.http.patch(`/Users/${sponsor}`, patchOps({ op: 'replace', path: 'active', value: false }))).status).toBe(200);
    expect((await g.patch(`/Agents/${agent}`, setState('retired'))).status).toBe(200);
    const n = (await allAudit(g.t)).length;
    const report = await run(g, 10 * DAY);
    expect(report).toMatchObject({ suspended: {}, sponsorsTransferred: 0, sponsorsDeparted: 0, errors: 0 });
    expect((await allAudit(g.t)).slice(n).filter((e) => e.resourceId === agent)).toEqual([]);
  });
});

describe('scheduler: time-dependent derived state is refreshed (credentials R11, reviews R04)', () => {
  let g: Gov;
  afterEach(() => g.close());

  interface Row {
    label: string;
    gov: Json;
    /** ms after START at which it changes */
    dueAt: number;
    before: Json;
    after: Json;
    issue: string;
  }
  const rows: Row[] = [
    {
      label: 'a credential reaches its expiresAt',
      gov: { credentials: [{ credentialId: 'c-exp', type: 'federatedIdentity', status: 'active', expiresAt: iso(5 * DAY) }] },
      dueAt: 5 * DAY,
      before: { credentialStatus: 'ok' },
      after: { credentialStatus: 'expired' },
      issue: 'credentialExpired',
    },
    {
      label: 'a static credential was last rotated maxCredentialAgeDays ago',
      gov: { credentials: [{ credentialId: 'c-rot', type: 'apiKey', status: 'active', createdAt: iso(-100 * DAY), lastRotatedAt: iso(-3 * DAY) }] },
      dueAt: 17 * DAY,
      before: { credentialStatus: 'ok' },
      after: { credentialStatus: 'stale' },
      issue: 'credentialStale',
    },
    {
      label: 'a static credential never rotated was created maxCredentialAgeDays ago',
      gov: { credentials: [{ credentialId: 'c-new', type: 'oauthClient', status: 'active', createdAt: iso(-6 * DAY) }] },
      dueAt: 14 * DAY,
      before: { credentialStatus: 'ok' },
      after: { credentialStatus: 'stale' },
      issue: 'credentialStale',
    },
    {
      label: 'the review falls due (before its grace period)',
      gov: { reviewIntervalDays: 30 },
      dueAt: 30 * DAY,
      before: {},
      after: { lifecycleState: 'active' },
      issue: 'reviewOverdue',
    },
  ];

  it.each(rows)('$label → $issue', async (row) => {
    g = await buildGov({ env: { AGENTROSTER_MAX_CREDENTIAL_AGE_DAYS: '20' } });
    const id = (await g.agent('derived-bot', { gov: { lifecycleState: 'active', ...row.gov } })).id as string;
    expect(await g.gov(id)).toMatchObject(row.before);
    expect((await g.gov(id)).complianceIssues).toBeUndefined();

    const early = await run(g, row.dueAt - 1000);
    expect(early.refreshed).toBe(0);
    expect((await g.gov(id)).complianceIssues).toBeUndefined();

    const report = await run(g, row.dueAt);
    expect(report).toMatchObject({ refreshed: 1, suspended: {}, errors: 0 });
    const gov = await g.gov(id);
    expect(gov).toMatchObject({ ...row.after, complianceIssues: [expect.objectContaining({ type: row.issue })] });
    const events = await eventsFor(g, id, 'governance.refresh');
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ actor: { client: GOVERNANCE }, reason: 'time-based compliance state' });
    // once is enough
    expect((await run(g, row.dueAt + 60_000)).refreshed).toBe(0);
    expect(await eventsFor(g, id, 'governance.refresh')).toHaveLength(1);
  });

  it('a revoked credential is never refreshed', async () => {
    g = await buildGov({ env: { AGENTROSTER_MAX_CREDENTIAL_AGE_DAYS: '20' } });
    const id = (await g.agent('revoked-bot', { gov: { lifecycleState: 'active', credentials: [{ credentialId: 'c-old', type: 'apiKey', status: 'revoked', createdAt: iso(-60 * DAY) }] } })).id as string;
    expect((await run(g, 25 * DAY)).refreshed).toBe(0);
    expect((await g.gov(id)).credentialStatus).toBeUndefined();
  });
});
