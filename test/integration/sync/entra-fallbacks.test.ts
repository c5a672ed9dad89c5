// Tenants without Agent ID: the fallback mappings chosen by AGENTROSTER_ENTRA_MAPPING — an
// application + service principal, or a user with employeeType — with the same guarantees: one
// object per agent (natural keys: uniqueName, appId, UPN), lifecycle, sponsors, entitlements,
// reconciliation.

import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { ctx, GOV_URN, type Harness, startHarness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const DAY = 86_400_000;

describe('application + service principal', () => {
  it('creates one app and one service principal per agent (even when responses are lost), follows the lifecycle, deletes both', async () => {
    h = await startHarness({ env: { AGENTROSTER_ENTRA_MAPPING: 'servicePrincipal' } });
    const s = await h.sponsor('ada');
    const readers = h.emu.state.seedGroup({ id: randomUUID(), displayName: 'Readers' });
    await h.entitlement('read', [{ target: 'entra', kind: 'group', remoteId: readers.id }]);
    const ids = [await h.agent('sp-bot-1', s.id, {}, { entitlements: [{ value: 'read' }] }), await h.agent('sp-bot-2', s.id)];
    h.emu.faults.dropResponseAfterCommit({ method: 'POST', path: '/servicePrincipals' }, { times: 1 });
    h.emu.faults.dropResponseAfterCommit({ method: 'PATCH', path: /^\/applications\(uniqueName=/ }, { times: 1 });
    await h.sync();
    const apps = h.emu.state.liveOfKinds(['application']);
    expect(apps.map((a) => a.data.uniqueName).sort()).toEqual(ids.map((id) => `agentroster-${id}`).sort());
    for (const id of ids) {
      const sps = h.remotesOf(id);
      expect(sps).toHaveLength(1);
      expect(sps[0]).toMatchObject({ accountEnabled: false, tags: [`agentroster:${id}`], notes: expect.stringContaining('Sponsor: ada@contoso.com') });
    }
    // the lost service principal create was sent again: 409, then found by its appId
    expect(h.emu.log.some((e) => e.method === 'POST' && e.path === '/servicePrincipals' && e.status === 409)).toBe(true);
    const sp1 = String(h.remote(ids[0]!)?.id);
    expect(h.emu.state.memberIds(readers.id)).toEqual([sp1]);
    const agent = await h.ar.service.get('Agent', ids[0]!, ctx());
    expect((agent.resource[GOV_URN] as Record<string, unknown>).externalIdentities).toEqual([expect.objectContaining({ objectType: 'servicePrincipal', objectId: sp1 })]);

    await h.setState(ids[0]!, 'active');
    await h.sync();
    expect(h.emu.state.live(sp1)?.data.accountEnabled).toBe(true);

    // disabled in Entra: found by delta (service principals have one), suspended here
    await h.entra.sync.runDelta(new AbortController().signal);
    h.emu.state.adminUpdate(sp1, { accountEnabled: false });
    await h.settle(); // the change feed trails the change by the index lag
    await h.entra.sync.runDelta(new AbortController().signal);
    expect(((await h.ar.service.get('Agent', ids[0]!, ctx())).resource[GOV_URN] as Record<string, unknown>).lifecycleState).toBe('suspended');

    await h.setState(ids[0]!, 'retired');
    await h.sync();
    h.clock.skewMs = 31 * DAY;
    await h.entra.sync.fullCompare(new AbortController().signal);
    await h.sync();
    expect(h.emu.state.live(sp1)).toBeUndefined();
    expect(h.emu.state.liveOfKinds(['application'])).toHaveLength(1);
  });
});

describe('user with employeeType', () => {
  it('creates one user per agent (a lost create meets ObjectConflict and is adopted), the sponsor as manager', async () => {
    h = await startHarness({ env: { AGENTROSTER_ENTRA_MAPPING: 'user', AGENTROSTER_ENTRA_USER_DOMAIN: 'contoso.com' } });
    const ada = await h.sponsor('ada');
    const grace = await h.sponsor('grace');
    const id = await h.agent('user-bot', ada.id);
    h.emu.faults.dropResponseAfterCommit({ method: 'POST', path: '/users' }, { times: 1 });
    await h.sync();
    const users = h.remotesOf(id);
    expect(users).toHaveLength(1);
    const u = users[0]!;
    expect(u).toMatchObject({ userPrincipalName: `agent-${id}@contoso.com`, employeeType: 'AIAgent', accountEnabled: false, displayName: 'user-bot' });
    expect(h.emu.state.managers.get(String(u.id))).toBe(ada.entraId);
    expect(h.emu.log.some((e) => e.method === 'POST' && e.path === '/users' && e.status === 400)).toBe(true); // the ObjectConflict

    await h.setState(id, 'active');
    await h.patch(id, { op: 'replace', path: `${GOV_URN}:sponsor`, value: { value: grace.id } });
    await h.sync();
    expect(h.emu.state.live(String(u.id))?.data.accountEnabled).toBe(true);
    expect(h.emu.state.managers.get(String(u.id))).toBe(grace.entraId);

    // users have no servicePrincipals delta: the full compare sees the disable
    h.emu.state.adminUpdate(String(u.id), { accountEnabled: false });
    await h.entra.sync.fullCompare(new AbortController().signal);
    expect(((await h.ar.service.get('Agent', id, ctx())).resource[GOV_URN] as Record<string, unknown>).lifecycleState).toBe('suspended');
  });

  it('refuses to start without the domain for agent UPNs', async () => {
    const { startGraphEmulator } = await import('../../emulators/graph/index.js');
    const emu = await startGraphEmulator();
    try {
      await expect(startHarness({ emulator: emu, env: { AGENTROSTER_ENTRA_MAPPING: 'user' } })).rejects.toThrow(/AGENTROSTER_ENTRA_USER_DOMAIN/);
    } finally {
      await emu.close();
    }
  });
});
