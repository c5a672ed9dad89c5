// The grant step of an agent write as tables: a grant past its expiry drops on the next write even
// before the scheduler runs (unless the write extends it), which grants are re-judged (new or
// changed ones; every one when the environment moves, R13, or the agent is autonomous, R08), and
// roles from the role catalogue.

import { afterEach, describe, expect, it } from 'vitest';
import { buildGov, DAY, type Gov, GOV_URN, type Json } from './helpers.js';

const START = Date.parse('2026-04-01T09:00:00.000Z');
const iso = (offsetMs: number) => new Date(START + offsetMs).toISOString();
const ROLE_URN = 'urn:ietf:params:scim:schemas:core:2.0:Role';
const ENTITLEMENT_EXT = 'urn:agentroster:scim:schemas:extension:entitlement:1.0:Entitlement';
const values = (list: unknown) => ((list ?? []) as Json[]).map((e) => e.value);

describe('a grant past its expiry drops on the next write', () => {
  let g: Gov;
  afterEach(() => g.close());

  const rows: { label: string; at: number; ops: (now: number) => unknown[]; left: string[]; expiry?: string }[] = [
    { label: 'an unrelated edit one second before the expiry keeps it', at: DAY - 1000, ops: () => [{ op: 'replace', path: 'description', value: 'x' }], left: ['a.read', 'b.read'] },
    { label: 'an unrelated edit at the expiry drops it', at: DAY, ops: () => [{ op: 'replace', path: 'description', value: 'x' }], left: ['b.read'] },
    {
      label: 'a write that extends it keeps it, with the new expiry',
      at: DAY,
      ops: () => [{ op: 'replace', path: 'entitlements[value eq "a.read"].expiresAt', value: iso(5 * DAY) }],
      left: ['a.read', 'b.read'],
      expiry: iso(5 * DAY),
    },
  ];

  it.each(rows)('$label', async (row) => {
    g = await buildGov();
    await g.entitlement('a.read');
    await g.entitlement('b.read');
    const id = (await g.agent('expiring-bot', { gov: { lifecycleState: 'active' }, extra: { entitlements: [{ value: 'a.read', expiresAt: iso(DAY) }, { value: 'b.read' }] } })).id as string;
    g.t.clock.set(iso(row.at));
    const res = await g.patch(`/Agents/${id}`, row.ops(row.at));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(values(res.body.entitlements)).toEqual(row.left);
    if (row.expiry) expect((res.body.entitlements as Json[])[0]!.expiresAt).toBe(row.expiry);
    expect(values((await g.t.http.get(`/Users/${id}`)).body.entitlements)).toEqual(row.left);
  });

  it('when the last grant drops, the attribute goes', async () => {
    g = await buildGov();
    await g.entitlement('a.read');
    const id = (await g.agent('last-bot', { gov: { lifecycleState: 'active' }, extra: { entitlements: [{ value: 'a.read', expiresAt: iso(DAY) }] } })).id as string;
    g.t.clock.set(iso(DAY));
    const res = await g.patch(`/Agents/${id}`, [{ op: 'replace', path: 'description', value: 'x' }]);
    expect(res.status).toBe(200);
    expect('entitlements' in res.body).toBe(false);
  });
});

describe('which grants are re-judged', () => {
  let g: Gov;
  afterEach(() => g.close());

  it('R13: a kept grant is not re-judged on an edit, but every grant is when the environment moves', async () => {
    g = await buildGov();
    const entry = await g.entitlement('stage.db', { environment: 'staging' });
    const id = (await g.agent('stage-bot', { gov: { environment: 'staging', lifecycleState: 'active' }, extra: { entitlements: [{ value: 'stage.db' }] } })).id as string;
    // the catalogue entry moves to production after the grant
    const moved = await g.t.http.patch(`/Entitlements/${entry}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: `${ENTITLEMENT_EXT}:environment`, value: 'production' }] });
    expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    const edit = await g.patch(`/Agents/${id}`, [{ op: 'replace', path: 'description', value: 'kept' }]);
    expect(edit.status, JSON.stringify(edit.body)).toBe(200);
    expect(values(edit.body.entitlements)).toEqual(['stage.db']);
    const env = await g.patch(`/Agents/${id}`, [{ op: 'replace', path: `${GOV_URN}:environment`, value: 'development' }]);
    expect(env.status).toBe(400);
    expect(env.body.detail).toMatch(/^entitlements: "stage\.db" belongs to the production environment; this agent is development \(R13\)$/);
  });

  const autonomy: { label: string; ops: unknown[]; status: number }[] = [
    { label: 'becoming autonomous with a bare privileged grant', ops: [{ op: 'replace', path: `${GOV_URN}:autonomyLevel`, value: 'autonomous' }], status: 400 },
    {
      label: 'becoming autonomous under a requireApproval policy',
      ops: [{ op: 'replace', path: `${GOV_URN}:autonomyLevel`, value: 'autonomous' }, { op: 'add', path: `${GOV_URN}:actionPolicies`, value: [{ action: 'funds.*', mode: 'requireApproval', approvers: ['treasury'] }] }],
      status: 200,
    },
    { label: 'staying humanInTheLoop', ops: [{ op: 'replace', path: 'description', value: 'x' }], status: 200 },
  ];

  it.each(autonomy)('R08: $label → $status', async (row) => {
    g = await buildGov();
    await g.entitlement('funds.transfer', { privileged: true });
    const granter = await g.t.tokenWith(['scim.write'], 'grants', await g.user('gus'));
    const id = (await g.agent('money-bot', { gov: { lifecycleState: 'active' } })).id as string;
    expect((await g.patch(`/Agents/${id}`, [{ op: 'add', path: 'entitlements', value: [{ value: 'funds.transfer', expiresAt: iso(5 * DAY) }] }], granter)).status).toBe(200);
    const res = await g.patch(`/Agents/${id}`, row.ops, granter);
    expect(res.status, JSON.stringify(res.body)).toBe(row.status);
    if (row.status === 400) expect(res.body.detail).toMatch(/autonomous agent cannot hold privileged entitlements \(funds\.transfer\)/);
  });

  it('R08: a restrictive change of an autonomous agent is never blocked by the autonomy rule', async () => {
    g = await buildGov();
    const entry = await g.entitlement('funds.view');
    const id = (await g.agent('auto-bot', { gov: { lifecycleState: 'active', autonomyLevel: 'autonomous' }, extra: { entitlements: [{ value: 'funds.view' }] } })).id as string;
    // the entry becomes privileged after the grant: the agent is out of line, but may still be suspended
    const priv = await g.t.http.patch(`/Entitlements/${entry}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'add', path: `${ENTITLEMENT_EXT}:privileged`, value: true }] });
    expect(priv.status, JSON.stringify(priv.body)).toBe(200);
    const edit = await g.patch(`/Agents/${id}`, [{ op: 'replace', path: 'description', value: 'x' }]);
    expect(edit.status).toBe(400);
    expect(edit.body.detail).toMatch(/autonomous agent cannot hold privileged entitlements \(funds\.view\)/);
    const suspend = await g.patch(`/Agents/${id}`, [{ op: 'replace', path: `${GOV_URN}:lifecycleState`, value: 'suspended' }]);
    expect(suspend.status, JSON.stringify(suspend.body)).toBe(200);
  });
});

describe('roles come from the role catalogue', () => {
  let g: Gov;
  afterEach(() => g.close());

  const rows: { label: string; roles: Json[]; status: number; stored?: Json[]; detail?: RegExp }[] = [
    { label: 'a catalogue role, its display from the catalogue', roles: [{ value: 'auditor', display: 'claimed' }], status: 201, stored: [{ value: 'auditor', display: 'Auditor' }] },
    { label: 'an unknown role', roles: [{ value: 'wizard' }], status: 400, detail: /^roles: "wizard" is not in the catalogue \(\/Roles\)$/ },
    { label: 'a role granted twice', roles: [{ value: 'auditor' }, { value: 'auditor' }], status: 400, detail: /roles: "auditor" is granted twice/ },
  ];

  it.each(rows)('$label → $status', async (row) => {
    g = await buildGov();
    expect((await g.t.http.post('/Roles', { schemas: [ROLE_URN], value: 'auditor', display: 'Auditor' })).status).toBe(201);
    const sponsor = await g.user('role-sponsor');
    const res = await g.t.http.post('/Agents', g.agentBody('role-bot', sponsor, { roles: row.roles }));
    expect(res.status, JSON.stringify(res.body)).toBe(row.status);
    if (row.detail) {
      expect(res.body.detail).toMatch(row.detail);
      return;
    }
    expect((res.body.roles as Json[]).map(({ $ref: _r, ...rest }) => rest)).toEqual(row.stored);
    // kept on an edit, and removable
    const id = res.body.id as string;
    const edit = await g.patch(`/Agents/${id}`, [{ op: 'replace', path: 'description', value: 'x' }]);
    expect(values(edit.body.roles)).toEqual(['auditor']);
    const removed = await g.patch(`/Agents/${id}`, [{ op: 'remove', path: 'roles' }]);
    expect(removed.status).toBe(200);
    expect(removed.body.roles).toBeUndefined();
  });
});
