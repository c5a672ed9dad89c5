// The Okta connector's reads and its less common writes, against the in-process Okta emulator:
// which events lead to which fresh reads (observeEvents), the System Log cursor (delta), the full
// compare (inventory, memberships all or nothing), sponsor lookups, a create whose answer was lost,
// and the refusals that need a human (login taken, unknown group).

import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OktaConnector, type LogEventLike } from '../../../src/connectors/okta/connector.js';
import type { OktaSettings } from '../../../src/connectors/okta/settings.js';
import type { ApplyContext, ConnectorLink, DesiredAgent, SponsorRef } from '../../../src/sync/connector.js';
import { type OktaEmulator, startOktaEmulator } from '../../emulators/okta/index.js';

const DOMAIN = 'agents.example.com';
const GOV = 'urn:agentroster:scim:schemas:extension:agent-governance:1.0:Agent';

let emu: OktaEmulator;
let c: OktaConnector;
let adaId: string;
let groups: string[];
let seq = 0;
const ctx: ApplyContext = { checkpoint: async () => {}, now: () => new Date(), logger: pino({ level: 'silent' }), signal: new AbortController().signal };
const ADA: SponsorRef = { kind: 'user', id: 'u-ada', primary: true, userName: 'ada@example.com', displayName: 'Ada', emails: ['ada@example.com'] };

function settings(): OktaSettings {
  return {
    orgUrl: emu.orgUrl,
    auth: { mode: 'SSWS', token: emu.apiToken },
    loginDomain: DOMAIN,
    userTypeName: 'aiAgent',
    userTypeDisplayName: 'AI Agent',
    userTypeMarker: 'AIAgent',
    aiAgents: false,
    maxConcurrentRequests: 4,
    maxRetries: 1,
    requestTimeoutMs: 10_000,
    operationTimeoutMs: 1000,
    operationPollMs: 10,
    searchLagGuardMs: 60_000,
    sponsorCacheMs: 60_000,
  };
}

function agent(o: Partial<DesiredAgent> = {}): DesiredAgent {
  seq += 1;
  return {
    id: `obs-agent-${seq}`,
    version: 1,
    presence: 'present',
    enabled: true,
    lifecycleState: 'active',
    displayName: `Bot ${seq}`,
    agentUserName: `obs-bot-${seq}`,
    sponsors: [ADA],
    entitlements: [{ value: 'read', mappings: [{ kind: 'group', remoteId: groups[0]! }] }],
    resource: { [GOV]: { environment: 'test' } },
    ...o,
  };
}

const created: OktaConnector[] = [];
beforeAll(async () => {
  emu = await startOktaEmulator({ searchLagMs: 0 });
  c = new OktaConnector(settings());
  created.push(c);
  adaId = emu.admin.createUser({ profile: { login: 'ada@example.com', email: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace' } }, { activate: true }).id;
  groups = Array.from({ length: 22 }, (_, i) => emu.admin.createGroup(`G${String(i).padStart(2, '0')}`).id);
});
afterAll(async () => {
  for (const x of created) await x.close();
  await emu?.close();
});

const lastSeq = () => emu.requestLog.at(-1)?.seq ?? 0;
const since = (from: number) => emu.requestLog.filter((r) => r.seq > from).map((r) => `${r.method} ${r.path}`);
const ev = (eventType: string, id: string, o: Partial<LogEventLike> = {}): LogEventLike => ({ eventType, target: [{ id, type: 'User' }], ...o });

describe('observeEvents: events say whom to read; the state is read fresh', () => {
  it('reads each agent user named by a watched event once; memberships only after a membership event', async () => {
    const a = (await c.apply(agent(), undefined, ctx)).link!.remoteId!;
    const b = (await c.apply(agent(), undefined, ctx)).link!.remoteId!;
    emu.admin.suspend(a);
    const from = lastSeq();
    const obs = await c.observeEvents([
      ev('user.lifecycle.suspend', a),
      ev('user.lifecycle.suspend', a), // a duplicate delivery
      ev('group.user_membership.remove', b),
      ev('user.session.start', b), // not watched
      { eventType: 'user.lifecycle.suspend', target: [{ id: 'x', type: 'AppInstance' }, { type: 'User' }] }, // no user id
      { target: [{ id: a, type: 'User' }] }, // no type
    ]);
    expect(obs.map((o) => [o.remoteId, o.exists, o.enabled, o.groups])).toEqual([
      [a, true, false, undefined],
      [b, true, true, [groups[0]]],
    ]);
    expect(obs.every((o) => typeof o.observedAt === 'number')).toBe(true);
    expect(since(from).filter((r) => r.startsWith('GET /api/v1/users/'))).toEqual([`GET /api/v1/users/${a}`, `GET /api/v1/users/${b}`, `GET /api/v1/users/${b}/groups`]);
  });

  it('users that are not agents are remembered and not read again; deleted users are reported as gone', async () => {
    const human = emu.admin.createUser({ profile: { login: 'human@example.com', email: 'human@example.com', firstName: 'H', lastName: 'Uman' } }, { activate: true }).id;
    const gone = (await c.apply(agent(), undefined, ctx)).link!.remoteId!;
    emu.admin.deactivate(gone);
    emu.admin.deleteUser(gone);
    const from = lastSeq();
    const obs = await c.observeEvents([ev('user.account.update_profile', human), ev('user.lifecycle.delete.completed', gone)]);
    expect(obs).toEqual([{ remoteId: gone, exists: false, observedAt: expect.any(Number) }]);
    const again = lastSeq();
    expect(await c.observeEvents([ev('user.account.update_profile', human)])).toEqual([]);
    expect(since(again)).toEqual([]);
    expect(since(from).filter((r) => r.includes(human))).toHaveLength(1);
  });

  it("our own writes coming back in the log are not news (by transaction id or the debug context's request id)", async () => {
    const { link } = await c.apply(agent(), undefined, ctx);
    const id = link!.remoteId!;
    // the write's request id, as Okta puts it into its events
    const own = emu.requestLog.filter((r) => r.method === 'POST' && r.path === '/api/v1/users').at(-1)!.requestId;
    const from = lastSeq();
    expect(await c.observeEvents([ev('user.lifecycle.activate', id, { transaction: { id: own } })])).toEqual([]);
    expect(await c.observeEvents([ev('user.lifecycle.activate', id, { debugContext: { debugData: { requestId: own } } })])).toEqual([]);
    expect(since(from)).toEqual([]);
    expect(await c.observeEvents([ev('user.lifecycle.activate', id, { transaction: { id: 'someone-else' } })])).toHaveLength(1);
  });
});

describe('delta: the System Log as a change feed', () => {
  it('a first start (or a foreign cursor) starts from now; then the events since the cursor are observed; a rejected cursor asks for a full compare', async () => {
    const fresh = new OktaConnector(settings());
    created.push(fresh);
    await fresh.schema.ensure();
    const first = await fresh.delta(undefined);
    expect(first).toMatchObject({ observations: [], resync: false });
    expect(first.cursor.startsWith(`${emu.orgUrl}/api/v1/logs?`)).toBe(true);
    expect((await fresh.delta('https://elsewhere.example/api/v1/logs?x=1')).resync).toBe(false);

    const { link } = await c.apply(agent(), undefined, ctx);
    emu.admin.suspend(link!.remoteId!);
    const next = await fresh.delta(first.cursor);
    expect(next.resync).toBe(false);
    expect(next.observations.map((o) => [o.remoteId, o.enabled])).toContainEqual([link!.remoteId!, false]);
    expect(next.cursor.startsWith(`${emu.orgUrl}/api/v1/logs?`)).toBe(true);

    const bad = await fresh.delta(`${emu.orgUrl}/api/v1/logs?after=not-a-cursor&since=garbage`);
    expect(bad).toMatchObject({ observations: [], resync: true });
  });
});

describe('inventory: every agent user, memberships all or nothing', () => {
  it('lists the agent users (not humans) with their catalogue memberships; a deleted group means no memberships there', async () => {
    const inv = new OktaConnector(settings());
    created.push(inv);
    const { link } = await c.apply(agent({ entitlements: [{ value: 'a', mappings: [{ kind: 'group', remoteId: groups[1]! }] }] }), undefined, ctx);
    const id = link!.remoteId!;
    const all = await inv.inventory({ mappings: [{ kind: 'group', remoteId: groups[1]! }, { kind: 'group', remoteId: '00gdoesnotexist00000' }, { kind: 'appRole', remoteId: 'r' }] });
    expect(all.find((o) => o.remoteId === adaId)).toBeUndefined();
    const mine = all.find((o) => o.remoteId === id)!;
    expect(mine).toMatchObject({ exists: true, enabled: true, agentId: link && expect.stringMatching(/^obs-agent-/), groups: [groups[1]], sponsors: [adaId] });
    expect(all.every((o) => Array.isArray(o.groups))).toBe(true);
    expect(inv.health()).toMatchObject({ settings: { orgUrl: emu.orgUrl, userType: 'aiAgent', loginDomain: DOMAIN, userTypeId: expect.any(String) }, requests: { batches: 0 } });
    expect(inv.health().requests.reads).toBeGreaterThan(0);

    // one membership read failing: no memberships at all (a partial view would look like removals)
    emu.faults.failNext(1, 500, { match: { method: 'GET', path: `/api/v1/groups/${groups[1]!}/users` } });
    const partial = await inv.inventory({ mappings: [{ kind: 'group', remoteId: groups[1]! }] });
    expect(partial.find((o) => o.remoteId === id)).not.toHaveProperty('groups');
    emu.faults.clear();
  });
});

describe('sponsors, creates and refusals', () => {
  it.each<[string, (okta: { adaId: string }) => SponsorRef, (m: { adaId: string }) => unknown]>([
    ['by externalId when it is an Okta user id', (o) => ({ kind: 'user', id: 'u-x', primary: true, externalId: o.adaId, userName: 'unknown@example.com', emails: [] }), (o) => o.adaId],
    ['by e-mail when the userName is not a login', () => ({ kind: 'user', id: 'u-y', primary: true, userName: 'not-a-login', emails: ['ada@example.com'] }), (o) => o.adaId],
    ['a group sponsor: no manager', () => ({ kind: 'group', id: 'g-team', primary: true, displayName: 'Finance Team', emails: [] }), () => undefined],
  ])('the manager %s', async (_name, ref, manager) => {
    const { link } = await c.apply(agent({ sponsors: [ref({ adaId })] }), undefined, ctx);
    const u = emu.admin.getUser(link!.remoteId!)!;
    expect(u.profile.managerId).toBe(manager({ adaId }));
    if (ref({ adaId }).kind === 'group') expect(u.profile.manager).toBe('Finance Team');
  });

  it('a create whose answer was lost is found by its login and adopted, never created twice', async () => {
    const d = agent();
    emu.faults.dropResponseAfterCommit({ method: 'POST', path: '/api/v1/users' });
    const r = await c.apply(d, undefined, ctx);
    emu.faults.clear();
    expect(r.change.kind).toBe('adopt');
    expect(r.change.details[0]).toMatch(/^adopted user 00u\w+ obs-bot-\d+@agents\.example\.com/);
    expect([...emu.state.users.values()].filter((u) => u.profile.agentrosterId === d.id)).toHaveLength(1);
    expect(r.link!.state).toMatchObject({ login: `${d.agentUserName}@${DOMAIN}`, status: 'ACTIVE', groups: [groups[0]] });
  });

  it('a login that belongs to another user → loginTaken, nothing created', async () => {
    emu.admin.createUser({ profile: { login: `taken-bot@${DOMAIN}`, email: `taken-bot@${DOMAIN}`, firstName: 'T', lastName: 'B' } }, { activate: true });
    const d = agent({ agentUserName: 'taken-bot' });
    await expect(c.apply(d, undefined, ctx)).rejects.toMatchObject({ code: 'loginTaken', message: expect.stringContaining('not an agentroster agent') });
    expect([...emu.state.users.values()].filter((u) => u.profile.agentrosterId === d.id)).toHaveLength(0);
  });

  it('renaming onto a taken login → loginTaken on the update', async () => {
    const d = agent();
    const { link } = await c.apply(d, undefined, ctx);
    emu.admin.createUser({ profile: { login: `other-${seq}@${DOMAIN}`, email: `x${seq}@example.com`, firstName: 'O', lastName: 'T' } }, { activate: true });
    await expect(c.apply({ ...d, agentUserName: `other-${seq}` }, link!, ctx)).rejects.toMatchObject({ code: 'loginTaken' });
  });

  it('more than 20 groups: created without them, then added one by one', async () => {
    const d = agent({ entitlements: groups.map((g, i) => ({ value: `e${i}`, mappings: [{ kind: 'group' as const, remoteId: g }] })) });
    const r = await c.apply(d, undefined, ctx);
    expect(emu.admin.groupsOf(r.link!.remoteId!).map((g) => g.id).filter((g) => groups.includes(g)).sort()).toEqual([...groups].sort());
    expect(r.change.details.filter((x) => x.startsWith('group +'))).toHaveLength(22);
    expect(r.change.details[0]).not.toContain('group(s)');
  });

  it('a catalogue group Okta does not know → PermanentError naming the mapping', async () => {
    const d = agent();
    const { link } = await c.apply(d, undefined, ctx);
    const missing = '00gmissing0000000000';
    await expect(c.apply({ ...d, entitlements: [...d.entitlements, { value: 'ghost', mappings: [{ kind: 'group', remoteId: missing }] }] }, link as ConnectorLink, ctx)).rejects.toMatchObject({
      retryable: false,
      message: expect.stringContaining(`group ${missing} does not exist in Okta`),
    });
    // at create time, in the same write
    await expect(c.apply(agent({ entitlements: [{ value: 'ghost', mappings: [{ kind: 'group', remoteId: missing }] }] }), undefined, ctx)).rejects.toMatchObject({
      message: expect.stringContaining('does not exist in Okta'),
    });
  });

  it('a user deleted in Okta behind the link → RemoteGone on the next apply', async () => {
    const d = agent();
    const { link } = await c.apply(d, undefined, ctx);
    emu.admin.deactivate(link!.remoteId!);
    emu.admin.deleteUser(link!.remoteId!);
    await expect(c.apply({ ...d, displayName: 'changed' }, { ...link!, state: { ...(link!.state as object), groups: undefined } as never }, ctx)).rejects.toMatchObject({ code: 'remoteGone' });
  });
});
