// Entra-side decisions flowing back (most restrictive wins): a disable, a deletion, a removed group
// membership or app role assignment become a suspension or a revocation here, audited with Entra
// as the actor; a re-enable is never applied but flagged; other drift is corrected by pushing our
// record again. Delta links, syncStateNotFound, lost links, duplicates and orphans.

import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { AuditEvent } from '../../../src/store/types.js';
import { ctx, GOV_URN, type Harness, startHarness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const signal = () => new AbortController().signal;

async function audit(hh: Harness, resourceId: string): Promise<AuditEvent[]> {
  return (await hh.ar.store.auditEvents(0, 10_000)).filter((e) => e.resourceId === resourceId);
}

async function gov(hh: Harness, id: string): Promise<Record<string, unknown>> {
  return (await hh.ar.service.get('Agent', id, ctx())).resource[GOV_URN] as Record<string, unknown>;
}

/** an active, synced agent, and the delta cursor established */
async function activeAgent(hh: Harness, extra: Record<string, unknown> = {}): Promise<{ id: string; remoteId: string; sponsor: { id: string; entraId: string } }> {
  const sponsor = await hh.sponsor(`sponsor-${randomUUID().slice(0, 6)}`);
  const id = await hh.agent(`agent-${randomUUID().slice(0, 6)}`, sponsor.id, { lifecycleState: 'active' }, extra);
  await hh.sync();
  await hh.settle(); // Entra's lists show the new object only after its index lag
  await hh.entra.sync.runDelta(signal()); // first run: full compare + delta cursor from now
  return { id, remoteId: String(hh.remote(id)?.id), sponsor };
}

describe('Entra decisions flow back', () => {
  it('a disable in Entra (delta) suspends the agent here, audited with Entra as the actor', async () => {
    h = await startHarness();
    const { id, remoteId } = await activeAgent(h);
    h.emu.state.adminUpdate(remoteId, { accountEnabled: false });
    await h.settle(); // the change feed trails the change by the index lag
    const r = await h.entra.sync.runDelta(signal());
    expect(r.actions).toBe(1);
    const g = await gov(h, id);
    expect(g).toMatchObject({ lifecycleState: 'suspended', stateReason: 'externalDisable' });
    const ev = (await audit(h, id)).at(-1)!;
    expect(ev.actor).toEqual({ client: 'entra' });
    expect(ev.reason).toMatch(/disabled in entra/);
    expect(JSON.stringify(ev.changes)).toContain('suspended');
    // Entra is already where the agent is now: nothing to write
    const writes = h.emu.counters.writes;
    await h.sync();
    expect(h.emu.counters.writes).toBe(writes);
    expect(h.emu.state.live(remoteId)?.data.accountEnabled).toBe(false);
  });

  it('a removed group membership and a removed app role assignment (full compare) revoke the entitlements here', async () => {
    h = await startHarness();
    const readers = h.emu.state.seedGroup({ id: randomUUID(), displayName: 'Finance Readers' });
    const api = h.emu.state.seedServicePrincipal({ displayName: 'Ledger API', appRoles: [{ value: 'Ledger.Write', allowedMemberTypes: ['Application'] }] });
    await h.entitlement('finance.read', [{ target: 'entra', kind: 'group', remoteId: readers.id }]);
    await h.entitlement('ledger.write', [{ target: 'entra', kind: 'appRole', appId: String(api.data.appId), remoteId: 'Ledger.Write' }]);
    await h.entitlement('kept', [{ target: 'entra', kind: 'group', remoteId: h.emu.state.seedGroup({ id: randomUUID(), displayName: 'Kept' }).id }]);
    const { id, remoteId } = await activeAgent(h, { entitlements: [{ value: 'finance.read' }, { value: 'ledger.write' }, { value: 'kept' }] });
    expect(h.emu.state.memberIds(readers.id)).toEqual([remoteId]);

    // an access review in Entra removes the membership and the assignment
    h.emu.state.adminRemoveMember(readers.id, remoteId);
    h.emu.state.adminRemoveAssignment(h.emu.state.assignmentsFor(remoteId)[0]!.id);
    const fc = await h.entra.sync.fullCompare(signal());
    expect(fc.actions).toBe(2);
    const agent = (await h.ar.service.get('Agent', id, ctx())).resource;
    expect((agent.entitlements as { value: string }[]).map((e) => e.value)).toEqual(['kept']);
    const ev = (await audit(h, id)).at(-1)!;
    expect(ev.actor).toEqual({ client: 'entra' });
    expect(ev.reason).toMatch(/removed in entra: .*finance\.read/);
    expect(ev.reason).toMatch(/ledger\.write/);
    // nothing is re-added on the next push
    await h.sync();
    expect(h.emu.state.memberIds(readers.id)).toEqual([]);
    expect(h.emu.state.assignmentsFor(remoteId)).toEqual([]);
    expect((await gov(h, id)).lifecycleState).toBe('active');
  });

  it('a re-enable in Entra is not applied: flagged for approval, and the agent disabled again there', async () => {
    h = await startHarness();
    const { id, remoteId } = await activeAgent(h);
    await h.setState(id, 'suspended');
    await h.sync();
    await h.entra.sync.runDelta(signal());
    expect(h.emu.state.live(remoteId)?.data.accountEnabled).toBe(false);

    h.emu.state.adminUpdate(remoteId, { accountEnabled: true });
    await h.settle(); // the change feed trails the change by the index lag
    await h.entra.sync.runDelta(signal());
    expect((await gov(h, id)).lifecycleState).toBe('suspended');
    const flag = (await audit(h, id)).find((e) => e.action === 'sync.flag');
    expect(flag).toMatchObject({ actor: { client: 'entra' }, reason: expect.stringMatching(/enabled in entra .* not applied: the agent is suspended here/) });
    expect((await gov(h, id)).externalIdentities).toEqual([expect.objectContaining({ syncState: 'drifted', lastError: expect.stringMatching(/Activate it here to approve/) })]);
    await h.sync();
    expect(h.emu.state.live(remoteId)?.data.accountEnabled).toBe(false);
    const health = await h.ar.sync!.health();
    expect(health[0]?.counters.reconcile).toMatchObject({ flag: 1 });

    // approval here (activation) settles the flag and enables it in Entra
    await h.setState(id, 'active');
    await h.sync();
    expect(h.emu.state.live(remoteId)?.data.accountEnabled).toBe(true);
    expect((await gov(h, id)).externalIdentities).toEqual([expect.objectContaining({ syncState: 'synced' })]);
  });

  it('a deletion in Entra suspends the agent; it is not re-created while suspended, and restored on re-activation', async () => {
    h = await startHarness();
    const { id, remoteId } = await activeAgent(h);
    h.emu.state.adminDelete(remoteId);
    await h.settle(); // the change feed trails the change by the index lag
    await h.entra.sync.runDelta(signal());
    expect(await gov(h, id)).toMatchObject({ lifecycleState: 'suspended', stateReason: 'externalDisable' });
    expect((await audit(h, id)).at(-1)).toMatchObject({ actor: { client: 'entra' }, reason: expect.stringMatching(/deleted in entra/) });
    await h.sync();
    expect(h.remotesOf(id)).toEqual([]);
    expect(h.emu.counters.requests['POST /servicePrincipals/microsoft.graph.agentIdentity']).toBe(1);

    await h.setState(id, 'active');
    await h.sync();
    expect(h.remote(id)?.id).toBe(remoteId); // restored from deleted items, same object
    expect(h.emu.state.live(remoteId)?.data.accountEnabled).toBe(true);
  });

  it('a push corrects other drift: a rename, a replaced sponsor, a membership granted in Entra', async () => {
    h = await startHarness();
    const readers = h.emu.state.seedGroup({ id: randomUUID(), displayName: 'Finance Readers' });
    await h.entitlement('finance.read', [{ target: 'entra', kind: 'group', remoteId: readers.id }]);
    const { id, remoteId, sponsor } = await activeAgent(h);
    const stranger = h.emu.state.seedUser({ displayName: 'Stranger', userPrincipalName: 'stranger@contoso.com' });
    h.emu.state.adminUpdate(remoteId, { displayName: 'renamed in portal' });
    h.emu.state.sponsors.set(remoteId, [stranger.id]);
    h.emu.state.adminAddMember(readers.id, remoteId);
    const fc = await h.entra.sync.fullCompare(signal());
    expect(fc.actions).toBeGreaterThanOrEqual(1);
    expect((await h.ar.store.outbox.stats('entra')).pending).toBe(1); // one push for all three
    await h.sync();
    expect(h.remote(id)?.displayName).toBe((await h.ar.service.get('Agent', id, ctx())).resource.displayName);
    expect(h.emu.state.sponsorIds(remoteId)).toEqual([sponsor.entraId]);
    expect(h.emu.state.memberIds(readers.id)).toEqual([]);
    expect((await gov(h, id)).lifecycleState).toBe('active');
  });
});

describe('reconciliation mechanics', () => {
  it('an expired delta token (syncStateNotFound) triggers a full compare', async () => {
    h = await startHarness();
    const { id, remoteId } = await activeAgent(h);
    h.emu.faults.expireDeltaTokens();
    h.emu.state.adminUpdate(remoteId, { accountEnabled: false });
    const r = await h.entra.sync.runDelta(signal());
    expect(r.resync).toBe(true);
    expect((await gov(h, id)).lifecycleState).toBe('suspended');
    expect((await h.entra.sync.runDelta(signal())).resync).toBe(false);
  });

  it('a delta link answered with 410 Gone (resyncRequired) triggers a full compare, then a fresh link', async () => {
    h = await startHarness();
    const { id, remoteId } = await activeAgent(h);
    h.emu.faults.expireDeltaTokens({ status: 410 });
    h.emu.state.adminUpdate(remoteId, { accountEnabled: false });
    const r = await h.entra.sync.runDelta(signal());
    // the fault fired: the stored link was answered 410 …
    expect(h.emu.log.filter((e) => /\/servicePrincipals\/delta$/i.test(e.path) && e.status === 410)).toHaveLength(1);
    // … and the engine resynchronised: the full compare saw the disable
    expect(r.resync).toBe(true);
    expect((await gov(h, id)).lifecycleState).toBe('suspended');
    const next = await h.entra.sync.runDelta(signal());
    expect(next.resync).toBe(false);
    expect(h.emu.log.at(-1)).toMatchObject({ status: 200 });
  });

  it('a lost link is re-established from the tag; duplicates are deleted; orphans are reported, never deleted', async () => {
    h = await startHarness();
    const { id, remoteId } = await activeAgent(h);
    const other = await activeAgent(h);
    // a duplicate of `other` (an old lost create) and an object tagged for an agent we do not know
    const bp = h.blueprints[0]!;
    const dup = h.emu.state.seedAgentIdentity({ displayName: 'dup', blueprintAppId: bp, sponsorIds: [other.sponsor.entraId], tags: [`agentroster:${other.id}`] });
    const orphan = h.emu.state.seedAgentIdentity({ displayName: 'orphan', blueprintAppId: bp, sponsorIds: [other.sponsor.entraId], tags: [`agentroster:${randomUUID()}`] });
    h.emu.state.adminUpdate(dup.id, { createdDateTime: '2020-01-01T00:00:00Z' });
    await h.ar.store.sync.deleteLink('entra', id);

    const fc = await h.entra.sync.fullCompare(signal());
    expect(fc.duplicates).toBe(1);
    expect(h.emu.state.live(dup.id)).toBeUndefined();
    expect(h.emu.state.live(orphan.id)).toBeDefined();
    expect((await h.ar.sync!.health())[0]?.reconciliation.orphans).toEqual([orphan.id]);
    expect((await h.ar.store.sync.getLink('entra', id))?.remoteId).toBe(remoteId);
    await h.sync();
    expect(h.remotesOf(id)).toHaveLength(1);
    expect(h.remotesOf(other.id)).toHaveLength(1);
  });

  it('the server runs the reconciler on its own schedule', async () => {
    h = await startHarness({ env: { AGENTROSTER_SYNC_DELTA_INTERVAL_SECONDS: '0.1' } });
    const { id, remoteId } = await activeAgent(h);
    h.ar.sync!.start();
    h.emu.state.adminUpdate(remoteId, { accountEnabled: false });
    const until = Date.now() + 5000;
    while (Date.now() < until && (await gov(h, id)).lifecycleState !== 'suspended') await new Promise((r) => setTimeout(r, 50));
    expect((await gov(h, id)).lifecycleState).toBe('suspended');
  });
});
