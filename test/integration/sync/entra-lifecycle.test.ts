// Agents reaching Entra: initial sync of many agents (blueprint quotas, paging), every lifecycle
// transition, sponsor and entitlement changes, plan, retire grace and deletion — with the real
// msal-node against the Graph emulator over HTTPS.

import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { pathTemplate } from '../../emulators/graph/faults.js';
import { ctx, GOV_URN, GROUP_URN, type Harness, startHarness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const DAY = 86_400_000;

describe('initial sync', () => {
  it('creates exactly one agent identity per agent, fills blueprints in order, and a second pass writes nothing', async () => {
    // 150 agents: enough to fill a blueprint's quota and to need two pages (100 each) in the full
    // compare. The write quota is raised tenfold on both sides only to keep this at ~2 s instead of
    // ~13 s; pacing under Graph's real 20/s is proven by entra-faults "stays under the quota".
    h = await startHarness({
      blueprints: 2,
      emulatorConfig: { agentIdentitiesPerBlueprint: 110, writeRateLimit: { limit: 200, windowMs: 1000 } },
      env: { AGENTROSTER_ENTRA_WRITES_PER_SECOND: '200' },
    });
    const sponsors = [await h.sponsor('ada'), await h.sponsor('grace'), await h.sponsor('linus')];
    const ids: string[] = [];
    for (let i = 0; i < 150; i++) ids.push(await h.agent(`fleet-${i}`, sponsors[i % 3]!.id));
    const r = await h.sync();
    expect(r.succeeded).toBe(150);

    const remote = h.emu.state.agentIdentities();
    expect(remote).toHaveLength(150);
    for (const [i, id] of ids.entries()) {
      const mine = h.remotesOf(id);
      expect(mine, id).toHaveLength(1);
      const obj = mine[0]!;
      expect(obj).toMatchObject({ displayName: `fleet-${i}`, accountEnabled: false, tags: [`agentroster:${id}`] });
      expect(h.emu.state.sponsorIds(String(obj.id))).toEqual([sponsors[i % 3]!.entraId]);
      const link = await h.ar.store.sync.getLink('entra', id);
      expect(link?.remoteId).toBe(obj.id);
    }
    // the first blueprint took what its quota allowed (AgentIdentity_LimitExceeded moved us on)
    const perBlueprint = h.blueprints.map((b) => remote.filter((x) => x.agentIdentityBlueprintId === b).length);
    expect(perBlueprint).toEqual([110, 40]);

    // the agent shows where it lives
    const agent = await h.ar.service.get('Agent', ids[0]!, ctx());
    expect((agent.resource[GOV_URN] as Record<string, unknown>).externalIdentities).toEqual([
      expect.objectContaining({ system: 'entra', objectType: 'agentIdentity', objectId: h.remote(ids[0]!)?.id, syncState: 'synced' }),
    ]);

    // in sync: nothing planned, and a change Entra does not carry costs no Graph write
    expect(await h.entra.sync.plan()).toEqual([]);
    const writes = h.emu.counters.writes;
    await h.patch(ids[1]!, { op: 'replace', path: 'description', value: 'not mapped to Entra' });
    await h.sync();
    expect(h.emu.counters.writes).toBe(writes);

    // the full compare pages through both blueprints (100 per page) and finds no drift
    const fc = await h.entra.sync.fullCompare(new AbortController().signal);
    expect(fc).toMatchObject({ observed: 150, actions: 0, enqueued: 0, duplicates: 0 });
    expect(h.emu.counters.requests['GET /servicePrincipals/microsoft.graph.agentIdentity']).toBeGreaterThanOrEqual(3);
  });
});

describe('lifecycle', () => {
  it('pending → active → suspended → active → retired → deleted after the grace period; an agent removed from the store takes its object with it', async () => {
    h = await startHarness();
    const s = await h.sponsor('ada');
    const id = await h.agent('invoice-bot', s.id);
    expect((await h.entra.sync.plan()).map((p) => p.change.kind)).toEqual(['create']);
    await h.sync();
    const remoteId = String(h.remote(id)?.id);
    const enabled = () => h!.emu.state.live(remoteId)?.data.accountEnabled;
    expect(enabled()).toBe(false); // pending: exists for governance to see, cannot sign in

    // PATCHes Graph accepted. The emulator is realistic: a PATCH that reaches Graph within ~20 ms
    // of the create gets the young object's 404, or a write can be throttled (429); the connector
    // retries both, so on some runs one enable takes two requests. Count the accepted ones, allow no
    // other refusal, and no retry that came before its Retry-After.
    const agentPatches = () =>
      h!.emu.log.filter((e) => e.method === 'PATCH' && pathTemplate(e.path) === '/servicePrincipals/{id}/microsoft.graph.agentIdentity');
    const patches = () => {
      const all = agentPatches();
      expect(all.filter((e) => (e.status ?? 0) >= 300 && e.status !== 404 && e.status !== 429)).toEqual([]);
      expect(h!.emu.counters.earlyRetries).toBe(0);
      return all.filter((e) => (e.status ?? 0) < 300).length;
    };
    await h.setState(id, 'active');
    expect((await h.entra.sync.plan()).map((p) => p.change)).toEqual([{ kind: 'enable', details: ['enable (accountEnabled: true)'] }]);
    await h.sync();
    expect(enabled()).toBe(true);
    expect(patches()).toBe(1);

    await h.setState(id, 'suspended');
    await h.sync();
    expect(enabled()).toBe(false);
    await h.setState(id, 'active');
    await h.sync();
    expect(enabled()).toBe(true);

    await h.setState(id, 'retired');
    await h.sync();
    expect(enabled()).toBe(false);
    expect(h.emu.state.live(remoteId)).toBeDefined(); // kept, disabled, during the grace period
    expect(patches()).toBe(4);

    h.clock.skewMs = 31 * DAY;
    const fc = await h.entra.sync.fullCompare(new AbortController().signal);
    expect(fc.enqueued).toBe(1);
    await h.sync();
    expect(h.emu.state.live(remoteId)).toBeUndefined();
    expect(h.emu.state.deletedObjects().map((o) => o.id)).toContain(remoteId); // soft-deleted: restorable 30 days
    const link = await h.ar.store.sync.getLink('entra', id);
    expect(link?.remoteId).toBeUndefined();
    await h.sync();
    expect(h.remotesOf(id)).toEqual([]); // not re-created

    const other = await h.agent('short-lived', s.id);
    await h.sync();
    const otherRemote = String(h.remote(other)?.id);
    // the API never deletes an agent (R14: a retired agent is a tombstone); a row removed from the
    // store by other means still takes its remote object with it, grace or not
    const row = await h.ar.store.get('Agent', other);
    await h.ar.store.commit({
      writes: [{ kind: 'delete', type: 'Agent', id: other, expectedVersion: row!.version }],
      audit: [],
      outbox: [{ target: 'entra', resourceType: 'Agent', resourceId: other, action: 'delete', version: row!.version }],
    });
    await h.sync();
    expect(h.emu.state.live(otherRemote)).toBeUndefined();
    expect(await h.ar.store.sync.getLink('entra', other)).toBeUndefined();
  });

  it('renames reach Entra', async () => {
    h = await startHarness();
    const s = await h.sponsor('ada');
    const id = await h.agent('bot', s.id);
    await h.sync();
    await h.patch(id, { op: 'replace', path: 'displayName', value: 'Invoice Matcher' });
    await h.sync();
    expect(h.remote(id)?.displayName).toBe('Invoice Matcher');
  });
});

describe('sponsors', () => {
  it('a new sponsor is added before the old one is removed; co-sponsors (users, Microsoft 365 groups) follow', async () => {
    h = await startHarness();
    const ada = await h.sponsor('ada');
    const grace = await h.sponsor('grace');
    const linus = await h.sponsor('linus');
    const m365 = h.emu.state.seedGroup({ id: randomUUID(), displayName: 'Agent Owners', groupTypes: ['Unified'] });
    const security = h.emu.state.seedGroup({ id: randomUUID(), displayName: 'Plain Security' });
    const g1 = await h.ar.service.create('Group', { schemas: [GROUP_URN], displayName: 'Agent Owners', externalId: m365.id }, ctx());
    const g2 = await h.ar.service.create('Group', { schemas: [GROUP_URN], displayName: 'Plain Security', externalId: security.id }, ctx());
    const id = await h.agent('bot', ada.id);
    await h.sync();
    const remoteId = String(h.remote(id)?.id);
    expect(h.emu.state.sponsorIds(remoteId)).toEqual([ada.entraId]);

    await h.patch(id, { op: 'replace', path: `${GOV_URN}:sponsor`, value: { value: grace.id } });
    await h.sync();
    expect(h.emu.state.sponsorIds(remoteId)).toEqual([grace.entraId]);

    await h.patch(id, {
      op: 'add',
      path: `${GOV_URN}:coSponsors`,
      value: [
        { value: linus.id, type: 'user' },
        { value: g1.resource.id, type: 'group' },
        { value: g2.resource.id, type: 'group' },
      ],
    });
    await h.sync();
    // a security group cannot sponsor an agent identity: skipped, the others applied
    expect(new Set(h.emu.state.sponsorIds(remoteId))).toEqual(new Set([grace.entraId, linus.entraId, m365.id]));

    await h.patch(id, { op: 'remove', path: `${GOV_URN}:coSponsors[value eq "${linus.id}"]` });
    await h.sync();
    expect(new Set(h.emu.state.sponsorIds(remoteId))).toEqual(new Set([grace.entraId, m365.id]));
  });

  it('a sponsor without an Entra account parks the agent with an actionable error; fixed, it syncs on retry', async () => {
    h = await startHarness();
    const ghost = await h.sponsor('ghost', { inEntra: false });
    const id = await h.agent('orphaned-bot', ghost.id);
    const r = await h.sync({ allowFailures: true });
    expect(r.parked).toBe(1);
    const [row] = await h.ar.store.outbox.list({ target: 'entra', status: 'parked' });
    expect(row?.lastError).toMatch(/sponsorNotFound: .*ghost@contoso\.com.*no account in Entra/);
    const agent = await h.ar.service.get('Agent', id, ctx());
    expect((agent.resource[GOV_URN] as Record<string, unknown>).externalIdentities).toEqual([expect.objectContaining({ syncState: 'error' })]);

    h.emu.state.seedUser({ displayName: 'ghost', userPrincipalName: 'ghost@contoso.com' });
    // the lookup cache keeps misses for a minute
    (h.entra.sync.connector as unknown as { directory: { clear(): void } }).directory.clear();
    expect(await h.ar.store.outbox.requeue(row!.seq)).toBe(true);
    await h.sync();
    expect(h.remotesOf(id)).toHaveLength(1);
  });
});

describe('entitlements', () => {
  it('grants become group memberships and app role assignments; revocations remove them', async () => {
    h = await startHarness();
    const s = await h.sponsor('ada');
    const readers = h.emu.state.seedGroup({ id: randomUUID(), displayName: 'Finance Readers' });
    const api = h.emu.state.seedServicePrincipal({ displayName: 'Ledger API', appRoles: [{ id: randomUUID(), value: 'Ledger.Write', allowedMemberTypes: ['Application'] }] });
    const roleId = (api.data.appRoles as { id: string }[])[0]!.id;
    await h.entitlement('finance.read', [{ target: 'entra', kind: 'group', remoteId: readers.id }]);
    await h.entitlement('ledger.write', [{ target: 'entra', kind: 'appRole', appId: String(api.data.appId), remoteId: 'Ledger.Write' }]);
    await h.entitlement('okta.only', [{ target: 'okta', kind: 'group', remoteId: '00g1' }]);
    const id = await h.agent('bot', s.id, {}, { entitlements: [{ value: 'finance.read' }, { value: 'ledger.write' }, { value: 'okta.only' }] });
    await h.sync();
    const remoteId = String(h.remote(id)?.id);
    expect(h.emu.state.memberIds(readers.id)).toEqual([remoteId]);
    expect(h.emu.state.assignmentsFor(remoteId)).toEqual([expect.objectContaining({ resourceId: api.id, appRoleId: roleId.toLowerCase() })]);

    await h.patch(id, { op: 'remove', path: 'entitlements[value eq "finance.read"]' });
    expect((await h.entra.sync.plan())[0]?.change).toEqual({ kind: 'update', details: [`groups: -${readers.id}`] });
    await h.sync();
    expect(h.emu.state.memberIds(readers.id)).toEqual([]);
    expect(h.emu.state.assignmentsFor(remoteId)).toHaveLength(1);

    await h.patch(id, { op: 'remove', path: 'entitlements[value eq "ledger.write"]' });
    await h.sync();
    expect(h.emu.state.assignmentsFor(remoteId)).toEqual([]);

    await h.patch(id, { op: 'add', path: 'entitlements', value: [{ value: 'finance.read' }] });
    await h.sync();
    expect(h.emu.state.memberIds(readers.id)).toEqual([remoteId]);
  });

  it('an entitlement mapped to a group that does not exist parks with the catalogue named', async () => {
    h = await startHarness();
    const s = await h.sponsor('ada');
    await h.entitlement('broken', [{ target: 'entra', kind: 'group', remoteId: randomUUID() }]);
    await h.agent('bot', s.id, {}, { entitlements: [{ value: 'broken' }] });
    const r = await h.sync({ allowFailures: true });
    expect(r.parked).toBe(1);
    const [row] = await h.ar.store.outbox.list({ target: 'entra', status: 'parked' });
    expect(row?.lastError).toMatch(/does not exist in the tenant \(check the entitlement's mapping in the catalogue\)/);
  });
});
