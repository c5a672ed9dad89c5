// Decisions made in Okta flow back, most restrictive wins, audited with Okta as the actor: the System
// Log poll (delta; its cursor persisted), the event hook (verification, shared secret, at-least-once
// delivery deduplicated by event id), and the full compare.
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SEEN_CURSOR } from '../../../src/connectors/okta/hooks.js';
import { startOktaEmulator } from '../../emulators/okta/index.js';
import { gov, type Harness, HOOK_SECRET, startHarness, waitFor } from './harness.js';

let h: Harness;
let server: Server;
let hookUrl: string;
const signal = new AbortController().signal;

beforeAll(async () => {
  const emu = await startOktaEmulator({ searchLagMs: 200, eventHooks: { allowHttp: true, batchMs: 20 } });
  h = await startHarness({ emulator: emu });
  server = h.ar.app.listen(0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', () => r()));
  hookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks/okta`;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  await h?.close();
  await h?.emu.close();
});

async function syncedAgent(name: string, entitlements: string[] = []): Promise<{ id: string; userId: string }> {
  const s = await h.sponsor(`${name}-sponsor`);
  const id = await h.agent(name, s.id);
  await h.setState(id, 'active');
  if (entitlements.length) await h.grant(id, ...entitlements);
  await h.sync();
  return { id, userId: h.remote(id)!.id };
}

const oktaAudit = async (id: string) => (await h.audit(id)).filter((e) => e.actor.client === 'okta');

describe('System Log polling', () => {
  it('starts with a full compare and a persisted cursor; then turns an Okta suspension and a membership removal into a suspension and a revocation here', async () => {
    const g = h.emu.admin.createGroup('agents:payments');
    await h.entitlement('payments', [{ target: 'okta', kind: 'group', remoteId: g.id }]);
    const a = await syncedAgent('log-bot-a', ['payments']);
    const b = await syncedAgent('log-bot-b', ['payments']);
    const first = await h.okta.sync.runDelta(signal);
    expect(first.resync).toBe(true); // no cursor yet: full compare
    const cursor = await h.ar.store.sync.getCursor('okta.delta');
    expect(cursor).toMatch(new RegExp(`^${h.emu.orgUrl}/api/v1/logs\\?`));

    h.emu.admin.suspend(a.userId, { alternateId: 'reviewer@example.com', displayName: 'An Admin' });
    h.emu.admin.removeMember(g.id, b.userId);
    const r = await h.okta.sync.runDelta(signal);
    expect(r.actions).toBeGreaterThanOrEqual(2);
    expect(gov(await h.agentData(a.id))).toMatchObject({ lifecycleState: 'suspended', stateReason: 'externalDisable' });
    expect(((await h.agentData(b.id)).entitlements as unknown[] | undefined) ?? []).toEqual([]);
    expect(gov(await h.agentData(b.id)).lifecycleState).toBe('active');
    const auditA = await oktaAudit(a.id);
    expect(auditA.length).toBeGreaterThanOrEqual(1);
    expect(auditA[0]).toMatchObject({ actor: { client: 'okta' } });
    expect(JSON.stringify(auditA[0]?.changes)).toContain('suspended');
    const auditB = await oktaAudit(b.id);
    expect(JSON.stringify(auditB.map((e) => e.changes))).toContain('payments');
    // the cursor moved on: the same events are not read again
    expect(await h.ar.store.sync.getCursor('okta.delta')).not.toBe(cursor);
    const again = await h.okta.sync.runDelta(signal);
    expect(again.actions).toBe(0);
    // the next apply does not re-add the membership (the baseline moved only after the revocation)
    await h.sync();
    expect(h.groupsOf(b.id)).toEqual([]);
    expect(h.remote(a.id)?.status).toBe('SUSPENDED');
  });

  it('does not read back what agentroster itself changed (events whose transaction is one of our requests)', async () => {
    await h.okta.sync.runDelta(signal);
    const g = h.emu.admin.createGroup('agents:own-writes');
    await h.entitlement('own-writes', [{ target: 'okta', kind: 'group', remoteId: g.id }]);
    const x = await syncedAgent('own-bot', ['own-writes']);
    await h.setState(x.id, 'suspended');
    await h.sync();
    const before = h.emu.requestLog.length;
    await h.okta.sync.runDelta(signal);
    // (the sponsor the test made as an Okta admin is read once, found not to be an agent, and remembered)
    const reads = h.emu.requestLog.slice(before).filter((r) => r.method === 'GET' && r.path.startsWith(`/api/v1/users/${x.userId}`));
    expect(reads).toEqual([]);
    // an admin's change to the same user is read
    h.emu.admin.unsuspend(x.userId);
    const before2 = h.emu.requestLog.length;
    await h.okta.sync.runDelta(signal);
    expect(h.emu.requestLog.slice(before2).some((r) => r.path === `/api/v1/users/${x.userId}`)).toBe(true);
  });

  it('a deactivation and a deletion in Okta suspend the agent; a re-activation in Okta is flagged, not applied, and undone', async () => {
    const c = await syncedAgent('log-bot-c');
    const d = await syncedAgent('log-bot-d');
    const e = await syncedAgent('log-bot-e');
    await h.okta.sync.runDelta(signal);
    h.emu.admin.deactivate(c.userId);
    h.emu.admin.deactivate(d.userId);
    h.emu.admin.deleteUser(d.userId);
    await h.okta.sync.runDelta(signal);
    expect(gov(await h.agentData(c.id)).lifecycleState).toBe('suspended');
    expect(gov(await h.agentData(d.id)).lifecycleState).toBe('suspended');

    // suspended here; someone unsuspends the user in Okta: flagged, and the next push suspends it again
    await h.setState(e.id, 'suspended');
    await h.sync();
    h.emu.admin.unsuspend(e.userId);
    const r = await h.okta.sync.runDelta(signal);
    expect(r.actions).toBeGreaterThanOrEqual(1);
    expect(gov(await h.agentData(e.id)).lifecycleState).toBe('suspended');
    const link = await h.ar.store.sync.getLink('okta', e.id);
    expect(JSON.stringify(link?.remoteState)).toContain('remoteReenable');
    expect((await oktaAudit(e.id)).some((x) => x.action === 'sync.flag')).toBe(true);
    await h.sync();
    expect(h.remote(e.id)?.status).toBe('SUSPENDED');
  });
});

describe('event hooks', () => {
  const raw = (path: string, init: RequestInit = {}) =>
    fetch(`${h.emu.orgUrl}${path}`, {
      ...init,
      headers: { Authorization: `SSWS ${h.emu.apiToken}`, Accept: 'application/json', 'Content-Type': 'application/json' },
    });

  it('verifies the one-time challenge with the shared secret, and refuses a wrong secret', async () => {
    const bad = await fetch(hookUrl, { headers: { Authorization: 'wrong', 'x-okta-verification-challenge': 'abc' } });
    expect(bad.status).toBe(401);
    const none = await fetch(hookUrl, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    expect(none.status).toBe(401);
    const created = await raw('/api/v1/eventHooks', {
      method: 'POST',
      body: JSON.stringify({
        name: 'agentroster',
        events: { type: 'EVENT_TYPE', items: ['user.lifecycle.suspend', 'user.lifecycle.deactivate', 'group.user_membership.remove'] },
        channel: { type: 'HTTP', version: '1.0.0', config: { uri: hookUrl, authScheme: { type: 'HEADER', key: 'Authorization', value: HOOK_SECRET } } },
      }),
    });
    expect(created.status).toBe(200);
    const hook = (await created.json()) as { id: string };
    const verified = await raw(`/api/v1/eventHooks/${hook.id}/lifecycle/verify`, { method: 'POST' });
    expect(verified.status).toBe(200);
    expect(((await verified.json()) as { verificationStatus: string }).verificationStatus).toBe('VERIFIED');
  });

  it('applies a suspension delivered by the hook (no polling), once, although delivered twice', async () => {
    const a = await syncedAgent('hook-bot-a');
    h.emu.eventHooks.mode = { duplicate: true };
    const deliveriesBefore = h.emu.eventHooks.deliveries.length;
    h.emu.admin.suspend(a.userId);
    await h.emu.eventHooks.idle();
    await waitFor(async () => gov(await h.agentData(a.id)).lifecycleState === 'suspended' || undefined, 5000, 'the hook to suspend the agent');
    const sent = h.emu.eventHooks.deliveries.slice(deliveriesBefore);
    expect(sent.length).toBe(2);
    expect(new Set(sent.map((d) => d.eventId)).size).toBe(1);
    expect(sent.every((d) => d.status === 200)).toBe(true);
    // one suspension audit, by okta
    const audits = (await oktaAudit(a.id)).filter((e) => JSON.stringify(e.changes).includes('suspended'));
    expect(audits).toHaveLength(1);
    const seen = JSON.parse((await h.ar.store.sync.getCursor(SEEN_CURSOR)) ?? '[]') as string[];
    expect(seen.some((x) => x === `d:${sent[0]!.eventId}`)).toBe(true);
    h.emu.eventHooks.mode = {};
  });

  it('revokes an entitlement whose group membership an access review removed, with events out of order', async () => {
    const g = h.emu.admin.createGroup('agents:hr-read');
    await h.entitlement('hr-read', [{ target: 'okta', kind: 'group', remoteId: g.id }]);
    const a = await syncedAgent('hook-bot-b', ['hr-read']);
    const b = await syncedAgent('hook-bot-c', ['hr-read']);
    h.emu.eventHooks.mode = { outOfOrder: true };
    h.emu.admin.removeMember(g.id, a.userId, { alternateId: 'campaign@okta', displayName: 'Access certification' });
    h.emu.admin.deactivate(b.userId);
    await h.emu.eventHooks.idle();
    await waitFor(async () => ((((await h.agentData(a.id)).entitlements as unknown[]) ?? []).length === 0 ? true : undefined), 5000, 'the revocation');
    await waitFor(async () => (gov(await h.agentData(b.id)).lifecycleState === 'suspended' ? true : undefined), 5000, 'the suspension');
    const audit = await oktaAudit(a.id);
    expect(JSON.stringify(audit.map((e) => e.changes))).toContain('hr-read');
    h.emu.eventHooks.mode = {};
    // the System Log poll sees the same events afterwards: nothing more happens
    const before = (await h.audit()).length;
    await h.okta.sync.runDelta(signal);
    expect((await h.audit()).length).toBe(before);
  });
});

describe('full compare', () => {
  it('catches what no event reported: a membership removed and a suspension while nothing listened', async () => {
    const g = h.emu.admin.createGroup('agents:silent');
    await h.entitlement('silent', [{ target: 'okta', kind: 'group', remoteId: g.id }]);
    const a = await syncedAgent('compare-bot', ['silent']);
    // changes straight in the emulator state: no System Log event, no hook
    h.emu.state.groups.get(g.id)!.members.delete(a.userId);
    h.emu.admin.forceStatus(a.userId, 'SUSPENDED');
    h.emu.admin.flushSearchIndex();
    const r = await h.okta.sync.fullCompare(signal);
    expect(r.actions).toBeGreaterThanOrEqual(2);
    expect(gov(await h.agentData(a.id)).lifecycleState).toBe('suspended');
    expect(((await h.agentData(a.id)).entitlements as unknown[] | undefined) ?? []).toEqual([]);
  });
});
