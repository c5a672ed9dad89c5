// Limits and derived write facts as tables: seat limits per owner team, assignment limits per
// entitlement (totalAssignmentsPermitted), who is recorded as granter and approver, and how a
// written `active` turns into lifecycle intent.

import { afterEach, describe, expect, it } from 'vitest';
import { allAudit } from '../../helpers/test-app.js';
import { buildGov, type Gov, GOV_URN, type Json, setState } from './helpers.js';

const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';

async function team(g: Gov, displayName: string): Promise<{ value: string }> {
  const res = await g.t.http.post('/Groups', { schemas: [GROUP], displayName });
  expect(res.status).toBe(201);
  return { value: res.body.id as string };
}

describe('seat limits per owner team', () => {
  let g: Gov;
  afterEach(() => g.close());

  interface Row {
    label: string;
    limits: string;
    /** the steps, in order: create (in a team or none), move, edit, retire; each expects a status */
    steps: ({ do: 'create'; team?: 'pay' | 'ops'; expect: number } | { do: 'move' | 'edit' | 'retire' | 'retireInto'; agent: number; team?: 'pay' | 'ops'; expect: number })[];
    message?: RegExp;
  }
  const rows: Row[] = [
    {
      label: 'a named team (matched case-insensitively by display name): the seat after the last is refused',
      limits: 'payments team=2,*=3',
      steps: [{ do: 'create', team: 'pay', expect: 201 }, { do: 'create', team: 'pay', expect: 201 }, { do: 'create', team: 'pay', expect: 409 }],
      message: /^owner team "Payments Team" has used all of its 2 agent seats; retire an agent or raise the limit$/,
    },
    {
      label: 'any other team gets the "*" default',
      limits: 'payments team=2,*=3',
      steps: [{ do: 'create', team: 'ops', expect: 201 }, { do: 'create', team: 'ops', expect: 201 }, { do: 'create', team: 'ops', expect: 201 }, { do: 'create', team: 'ops', expect: 409 }],
      message: /"Ops" has used all of its 3 agent seats/,
    },
    {
      label: 'without a "*" default other teams are unlimited',
      limits: 'payments team=1',
      steps: [{ do: 'create', team: 'ops', expect: 201 }, { do: 'create', team: 'ops', expect: 201 }, { do: 'create', team: 'pay', expect: 201 }, { do: 'create', team: 'pay', expect: 409 }],
    },
    {
      label: 'agents without an owner team take no seat',
      limits: '*=1',
      steps: [{ do: 'create', expect: 201 }, { do: 'create', expect: 201 }, { do: 'create', team: 'ops', expect: 201 }, { do: 'create', team: 'ops', expect: 409 }],
    },
    {
      label: 'an agent in a full team can still be edited; moving another one in is refused',
      limits: 'payments team=1',
      steps: [{ do: 'create', team: 'pay', expect: 201 }, { do: 'create', team: 'ops', expect: 201 }, { do: 'edit', agent: 0, expect: 200 }, { do: 'move', agent: 1, team: 'pay', expect: 409 }],
    },
    {
      label: 'a retired agent frees its seat',
      limits: 'payments team=1',
      steps: [{ do: 'create', team: 'pay', expect: 201 }, { do: 'retire', agent: 0, expect: 200 }, { do: 'create', team: 'pay', expect: 201 }, { do: 'create', team: 'pay', expect: 409 }],
    },
    {
      label: 'moved into a full team while retiring: a retired agent takes no seat',
      limits: 'payments team=1',
      steps: [{ do: 'create', team: 'pay', expect: 201 }, { do: 'create', team: 'ops', expect: 201 }, { do: 'retireInto', agent: 1, team: 'pay', expect: 200 }],
    },
  ];

  it.each(rows)('$label', async (row) => {
    g = await buildGov({ env: { AGENTROSTER_SEAT_LIMITS: row.limits } });
    const teams = { pay: await team(g, 'Payments Team'), ops: await team(g, 'Ops') };
    const sponsor = await g.user('seat-sponsor');
    const agents: string[] = [];
    let last: { status: number; body: Json } | undefined;
    for (const [i, step] of row.steps.entries()) {
      let res;
      if (step.do === 'create') {
        res = await g.t.http.post('/Agents', g.agentBody(`seat-${i}`, sponsor, {}, { lifecycleState: 'active', ...(step.team ? { ownerTeam: teams[step.team] } : {}) }));
        if (res.status === 201) agents.push(res.body.id as string);
      } else {
        const id = agents[step.agent]!;
        const ops =
          step.do === 'edit'
            ? [{ op: 'replace', path: 'description', value: `edit ${i}` }]
            : step.do === 'move'
              ? [{ op: 'replace', path: `${GOV_URN}:ownerTeam`, value: teams[step.team!] }]
              : step.do === 'retire'
                ? setState('retired')
                : [...setState('retired'), { op: 'replace', path: `${GOV_URN}:ownerTeam`, value: teams[step.team!] }];
        res = await g.patch(`/Agents/${id}`, ops);
      }
      expect(res.status, `step ${i} (${step.do}): ${JSON.stringify(res.body)}`).toBe(step.expect);
      last = { status: res.status, body: res.body as Json };
    }
    if (row.message) expect(last!.body.detail).toMatch(row.message);
  });
});

describe('assignment limits per entitlement (limitedAssignmentsPermitted)', () => {
  let g: Gov;
  afterEach(() => g.close());

  const limited = { limitedAssignmentsPermitted: true, totalAssignmentsPermitted: 2 };
  const rows: { label: string; extra: Json; steps: ('grant' | 'edit-holder' | 'retire-holder')[]; expect: number[] }[] = [
    { label: 'the holder after the last is refused', extra: limited, steps: ['grant', 'grant', 'grant'], expect: [200, 200, 409] },
    { label: 'a holder keeps its grant through other edits', extra: limited, steps: ['grant', 'grant', 'edit-holder'], expect: [200, 200, 200] },
    { label: 'a retired holder frees its assignment', extra: limited, steps: ['grant', 'grant', 'retire-holder', 'grant'], expect: [200, 200, 200, 200] },
    { label: 'no limit without limitedAssignmentsPermitted', extra: { limitedAssignmentsPermitted: false, totalAssignmentsPermitted: 1 }, steps: ['grant', 'grant', 'grant'], expect: [200, 200, 200] },
    { label: 'no limit at all', extra: {}, steps: ['grant', 'grant', 'grant'], expect: [200, 200, 200] },
  ];

  it.each(rows)('$label', async (row) => {
    g = await buildGov();
    await g.entitlement('license.seat', undefined, row.extra);
    const holders: string[] = [];
    for (const [i, step] of row.steps.entries()) {
      let res;
      if (step === 'grant') {
        const id = (await g.agent(`holder-${i}`)).id as string;
        res = await g.patch(`/Agents/${id}`, [{ op: 'add', path: 'entitlements', value: [{ value: 'license.seat' }] }]);
        if (res.status === 200) holders.push(id);
      } else if (step === 'edit-holder') {
        res = await g.patch(`/Agents/${holders[0]!}`, [{ op: 'replace', path: 'description', value: 'still holding' }]);
        expect(res.body.entitlements).toMatchObject([{ value: 'license.seat' }]);
      } else {
        res = await g.patch(`/Agents/${holders.shift()!}`, setState('retired'));
      }
      expect(res.status, `step ${i} (${step}): ${JSON.stringify(res.body)}`).toBe(row.expect[i]);
      if (res.status === 409) expect(res.body.detail).toBe('entitlements: "license.seat" may be held by at most 2 agents (totalAssignmentsPermitted)');
    }
  });
});

describe('who is recorded as granter and approver', () => {
  let g: Gov;
  afterEach(() => g.close());

  const rows: { label: string; bound: 'active' | 'none'; grantedBy: 'user' | 'client'; display: string; approvedBy: (user: string) => Json }[] = [
    { label: 'a token bound to an active human', bound: 'active', grantedBy: 'user', display: 'Gina Granter', approvedBy: (u) => ({ value: u, display: 'Gina Granter' }) },
    { label: 'a token bound to nobody', bound: 'none', grantedBy: 'client', display: 'access-requests', approvedBy: () => ({ display: 'access-requests' }) },
  ];

  it.each(rows)('$label', async (row) => {
    g = await buildGov();
    await g.entitlement('crm.read');
    const gina = await g.user('gina', { displayName: 'Gina Granter' });
    const token = await g.t.tokenWith(['scim.write', 'agents.approve'], 'access-requests', row.bound === 'none' ? undefined : gina);
    const id = (await g.agent('granted-bot')).id as string;
    const approved = await g.patch(`/Agents/${id}`, setState('active'), token);
    expect(approved.status, JSON.stringify(approved.body)).toBe(200);
    const approvedBy = (approved.body[GOV_URN] as Json).approvedBy as Json;
    expect({ ...approvedBy, $ref: undefined }).toEqual({ ...row.approvedBy(gina), $ref: undefined });
    const res = await g.patch(`/Agents/${id}`, [{ op: 'add', path: 'entitlements', value: [{ value: 'crm.read' }] }], token);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect((res.body.entitlements as Json[])[0]).toMatchObject({
      grantedBy: row.grantedBy === 'user' ? gina : 'access-requests',
      grantedByDisplay: row.display,
      grantedBySystem: 'agentroster',
    });
  });
});

describe('a written `active` is lifecycle intent (activeIntent)', () => {
  let g: Gov;
  afterEach(() => g.close());

  type State = 'pending' | 'active' | 'suspended' | 'retired';
  const rows: { from: State; ops: unknown[]; label: string; to: State; reason?: string; changed: boolean }[] = [
    { from: 'active', label: 'active false', ops: [{ op: 'replace', path: 'active', value: false }], to: 'suspended', reason: 'manual', changed: true },
    { from: 'active', label: 'active true', ops: [{ op: 'replace', path: 'active', value: true }], to: 'active', changed: false },
    { from: 'pending', label: 'active true', ops: [{ op: 'replace', path: 'active', value: true }], to: 'active', changed: true },
    { from: 'pending', label: 'active false', ops: [{ op: 'replace', path: 'active', value: false }], to: 'pending', reason: 'approvalPending', changed: false },
    { from: 'suspended', label: 'active true', ops: [{ op: 'replace', path: 'active', value: true }], to: 'active', changed: true },
    { from: 'suspended', label: 'active false', ops: [{ op: 'replace', path: 'active', value: false }], to: 'suspended', reason: 'budgetExceeded', changed: false },
    { from: 'retired', label: 'active true', ops: [{ op: 'replace', path: 'active', value: true }], to: 'retired', reason: 'decommissioned', changed: false },
    {
      from: 'active',
      label: 'active true with an explicit suspension in the same write (the explicit state wins)',
      ops: [{ op: 'replace', path: 'active', value: true }, ...setState('suspended', 'credentialCompromise')],
      to: 'suspended',
      reason: 'credentialCompromise',
      changed: true,
    },
    {
      from: 'suspended',
      label: 'active false with an explicit reactivation in the same write',
      ops: [{ op: 'replace', path: 'active', value: false }, ...setState('active')],
      to: 'active',
      changed: true,
    },
  ];

  it.each(rows)('$from + $label → $to', async (row) => {
    g = await buildGov();
    const id = (await g.agent(`intent-bot`, { gov: row.from === 'pending' ? {} : { lifecycleState: 'active' } })).id as string;
    if (row.from === 'suspended') expect((await g.patch(`/Agents/${id}`, setState('suspended', 'budgetExceeded'))).status).toBe(200);
    if (row.from === 'retired') expect((await g.patch(`/Agents/${id}`, setState('retired'))).status).toBe(200);
    g.t.clock.advance(60_000);
    const before = (await g.gov(id)).version as number;
    const n = (await allAudit(g.t)).length;
    const res = await g.patch(`/Agents/${id}`, row.ops);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const gov = res.body[GOV_URN] as Json;
    expect(gov.lifecycleState).toBe(row.to);
    expect(gov.stateReason).toBe(row.reason);
    expect(res.body.active).toBe(row.to === 'active');
    expect(gov.version).toBe(row.changed ? before + 1 : before);
    if (row.changed) expect(gov.stateChangedAt).toBe(g.t.clock.iso());
    expect((await allAudit(g.t)).length).toBe(row.changed ? n + 1 : n);
  });
});
