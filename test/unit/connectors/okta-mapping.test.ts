// The Okta mapping, table-driven: logins, fingerprints, the status matrix (lifecycle state × the
// status the user has → the status it must get, most restrictive wins), plan lines, drift (compare)
// and adoption through the connector's public methods; then what Okta receives (apply against the
// in-process Okta emulator): the profile with its enums clipped to the schema, and the lifecycle call
// each row of the status matrix makes.

import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEnabledStatus, isWatchedEvent, OktaConnector, WATCHED_EVENTS } from '../../../src/connectors/okta/connector.js';
import type { UserStatus } from '../../../src/connectors/okta/api.js';
import type { OktaSettings } from '../../../src/connectors/okta/settings.js';
import type { ApplyContext, ConnectorLink, DesiredAgent, RemoteObservation } from '../../../src/sync/connector.js';
import { PermanentError } from '../../../src/sync/errors.js';
import type { Json } from '../../../src/store/types.js';
import { type OktaEmulator, startOktaEmulator } from '../../emulators/okta/index.js';

const GOV = 'urn:agentroster:scim:schemas:extension:agent-governance:1.0:Agent';
const DOMAIN = 'agents.example.com';
const G1 = '00g1111111111111111a';
const G2 = '00g2222222222222222a';
const G3 = '00g3333333333333333a';
const G4 = '00g4444444444444444a';

function settings(o: Partial<OktaSettings> = {}): OktaSettings {
  return {
    orgUrl: 'https://unit.okta.invalid',
    auth: { mode: 'SSWS', token: 'unit-test-token' },
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
    ...o,
  };
}

const ADA = { kind: 'user' as const, id: 'u-ada', primary: true, userName: 'ada@example.com', displayName: 'Ada Lovelace', emails: ['ada@example.com'] };

function desired(o: Partial<DesiredAgent> = {}, gov: Json = {}): DesiredAgent {
  return {
    id: 'agent-1',
    version: 3,
    presence: 'present',
    enabled: true,
    lifecycleState: 'active',
    displayName: 'Invoice Bot',
    agentUserName: 'invoice-bot',
    sponsors: [ADA],
    entitlements: [
      { value: 'read', mappings: [{ kind: 'group', remoteId: G1 }] },
      { value: 'write', mappings: [{ kind: 'group', remoteId: G2 }] },
    ],
    resource: { [GOV]: { purpose: 'pays invoices', environment: 'production', riskTier: 'high', autonomyLevel: 'humanOnTheLoop', ...gov } },
    ...o,
  };
}

const connectors: OktaConnector[] = [];
function connector(o: Partial<OktaSettings> = {}): OktaConnector {
  const c = new OktaConnector(settings(o));
  connectors.push(c);
  return c;
}
afterAll(async () => {
  for (const c of connectors) await c.close();
});

const okta = connector();

function permanent(fn: () => unknown): PermanentError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(PermanentError);
    return e as PermanentError;
  }
  throw new Error('expected a PermanentError');
}

// ───────────────────────────────────────────────────────────────────── statuses

const ALL_STATUSES: UserStatus[] = ['STAGED', 'PROVISIONED', 'ACTIVE', 'RECOVERY', 'PASSWORD_EXPIRED', 'LOCKED_OUT', 'SUSPENDED', 'DEPROVISIONED'];

describe('isEnabledStatus: the statuses in which a user can work', () => {
  it.each([
    ['ACTIVE', true],
    ['RECOVERY', true],
    ['PASSWORD_EXPIRED', true],
    ['LOCKED_OUT', true],
    ['STAGED', false],
    ['PROVISIONED', false],
    ['SUSPENDED', false],
    ['DEPROVISIONED', false],
    ['active', false],
    ['', false],
    [undefined, false],
  ])('%s → %s', (status, enabled) => {
    expect(isEnabledStatus(status)).toBe(enabled);
  });
});

describe('the System Log events watched', () => {
  it.each<[string, boolean]>([
    ...WATCHED_EVENTS.map((e): [string, boolean] => [e, true]),
    ['user.session.start', false],
    ['user.lifecycle.create', false],
    ['group.lifecycle.create', false],
    ['', false],
  ])('%s → %s', (eventType, watched) => {
    expect(isWatchedEvent(eventType)).toBe(watched);
  });
});

// ───────────────────────────────────────────────────────────────────── logins

describe('loginOf: a deterministic, email-shaped login of at most 100 characters', () => {
  it.each([
    ['invoice-bot', `invoice-bot@${DOMAIN}`],
    ['Invoice-Bot', `invoice-bot@${DOMAIN}`],
    ['  padded  ', `padded@${DOMAIN}`],
    ['Ada.Bot@Example.COM', 'ada.bot@example.com'],
    [' bot@corp.example.org ', 'bot@corp.example.org'],
    ['b'.repeat(100 - DOMAIN.length - 1), `${'b'.repeat(100 - DOMAIN.length - 1)}@${DOMAIN}`],
  ])('%j → %s', (agentUserName, login) => {
    expect(okta.loginOf(desired({ agentUserName }))).toBe(login);
  });

  it.each([
    ['a space inside', 'invoice bot'],
    ['no dot in the domain', 'bot@localhost'],
    ['nothing before the @', '@example.com'],
    ['two @', 'a@b@example.com'],
    ['101 characters', 'b'.repeat(100 - DOMAIN.length)],
    ['a tab', 'bot\t1'],
  ])('%s (%j) → PermanentError invalidLogin naming the login and what to do', (_name, agentUserName) => {
    const e = permanent(() => okta.loginOf(desired({ agentUserName })));
    expect(e.code).toBe('invalidLogin');
    expect(e.message).toContain('agent agent-1');
    expect(e.message).toContain('not a valid Okta login');
    expect(e.message).toContain("rename the agent's agentUserName");
  });

  it('a name that is not email-shaped, and no login domain configured → loginDomainMissing naming the setting', () => {
    const bare = connector({ loginDomain: undefined });
    const e = permanent(() => bare.loginOf(desired({ agentUserName: 'Invoice-Bot' })));
    expect(e.code).toBe('loginDomainMissing');
    expect(e.message).toContain('"Invoice-Bot" is not email-shaped');
    expect(e.message).toContain('AGENTROSTER_OKTA_LOGIN_DOMAIN');
    expect(e.message).toContain('invoice-bot@<domain>');
    // an email-shaped name needs no domain
    expect(bare.loginOf(desired({ agentUserName: 'Bot@Corp.Example' }))).toBe('bot@corp.example');
  });
});

// ───────────────────────────────────────────────────────────────────── fingerprints

describe('fingerprint: changes exactly when what Okta would receive changes', () => {
  const base = okta.fingerprint(desired());

  it('is stable, and a string', () => {
    expect(base).toMatch(/^[A-Za-z0-9_-]{24}$/);
    expect(okta.fingerprint(desired())).toBe(base);
  });

  it.each<[string, DesiredAgent]>([
    ['the version', desired({ version: 99 })],
    ['the description (not mapped)', desired({ description: 'not mapped' })],
    ['`enabled` alone (the lifecycle state decides)', desired({ enabled: false })],
    ['a co-sponsor', desired({ sponsors: [ADA, { kind: 'user', id: 'u-bob', primary: false, userName: 'bob@example.com', emails: [] }] })],
    ['the order of the entitlements', desired({ entitlements: [...desired().entitlements].reverse() })],
    ['an entitlement mapped twice onto the same group', desired({ entitlements: [...desired().entitlements, { value: 'again', mappings: [{ kind: 'group', remoteId: G1 }] }] })],
    ['an app-role mapping (not an Okta group)', desired({ entitlements: [...desired().entitlements, { value: 'role', mappings: [{ kind: 'appRole', remoteId: 'r1' }] }] })],
    ['a group mapping without a group id', desired({ entitlements: [...desired().entitlements, { value: 'x', mappings: [{ kind: 'group' }] }] })],
    ['an unmapped governance attribute', desired({}, { businessOwner: 'finance' })],
  ])('ignores %s', (_name, d) => {
    expect(okta.fingerprint(d)).toBe(base);
  });

  it.each<[string, DesiredAgent]>([
    ['presence', desired({ presence: 'absent' })],
    ['lifecycle state', desired({ lifecycleState: 'suspended' })],
    ['displayName', desired({ displayName: 'Invoice Bot 2' })],
    ['agentUserName', desired({ agentUserName: 'invoice-bot-2' })],
    ['agentUserName case (the nickName keeps it)', desired({ agentUserName: 'Invoice-Bot' })],
    ['purpose', desired({}, { purpose: 'pays bills' })],
    ['environment', desired({}, { environment: 'staging' })],
    ['risk tier', desired({}, { riskTier: 'low' })],
    ['autonomy level', desired({}, { autonomyLevel: 'advisory' })],
    ['purpose removed', desired({}, { purpose: undefined })],
    ['primary sponsor id', desired({ sponsors: [{ ...ADA, id: 'u-other' }] })],
    ['primary sponsor kind', desired({ sponsors: [{ ...ADA, kind: 'group' }] })],
    ['primary sponsor externalId', desired({ sponsors: [{ ...ADA, externalId: '00uaaaaaaaaaaaaaaaaa' }] })],
    ['primary sponsor userName', desired({ sponsors: [{ ...ADA, userName: 'ada2@example.com' }] })],
    ['primary sponsor e-mail', desired({ sponsors: [{ ...ADA, emails: ['other@example.com'] }] })],
    ['primary sponsor displayName', desired({ sponsors: [{ ...ADA, displayName: 'Ada L.' }] })],
    ['no primary sponsor', desired({ sponsors: [{ ...ADA, primary: false }] })],
    ['a group removed', desired({ entitlements: desired().entitlements.slice(0, 1) })],
    ['a group added', desired({ entitlements: [...desired().entitlements, { value: 'admin', mappings: [{ kind: 'group', remoteId: G3 }] }] })],
  ])('changes with %s', (_name, d) => {
    expect(okta.fingerprint(d)).not.toBe(base);
  });

  it('a non-string governance value counts as absent; an invalid login does not throw and is its own fingerprint', () => {
    expect(okta.fingerprint(desired({}, { purpose: 42 }))).toBe(okta.fingerprint(desired({}, { purpose: undefined })));
    expect(okta.fingerprint(desired({}, { purpose: 42 }))).not.toBe(base);
    const bad = okta.fingerprint(desired({ agentUserName: 'has space' }));
    expect(bad).not.toBe(okta.fingerprint(desired({ agentUserName: 'has  space' })));
    // absent agents have no login: the same with and without a login domain
    const bare = connector({ loginDomain: undefined });
    expect(bare.fingerprint(desired({ presence: 'absent' }))).toBe(okta.fingerprint(desired({ presence: 'absent' })));
    expect(bare.fingerprint(desired())).not.toBe(base);
  });

  it('the projection to Okta for AI Agents is part of it', () => {
    expect(connector({ aiAgents: true }).fingerprint(desired())).not.toBe(base);
  });
});

// ───────────────────────────────────────────────────────────────────── the status matrix

type Lifecycle = DesiredAgent['lifecycleState'];
const LIFECYCLES: Lifecycle[] = ['active', 'pending', 'suspended', 'retired', 'deleted'];

/** The target status for (lifecycle, current status): the rule written out as a table. */
const TARGET: Record<Lifecycle, Record<UserStatus | 'none', UserStatus>> = {
  active: { none: 'ACTIVE', STAGED: 'ACTIVE', PROVISIONED: 'ACTIVE', ACTIVE: 'ACTIVE', RECOVERY: 'ACTIVE', PASSWORD_EXPIRED: 'ACTIVE', LOCKED_OUT: 'ACTIVE', SUSPENDED: 'ACTIVE', DEPROVISIONED: 'ACTIVE' },
  // pending: STAGED when new; once it was enabled, SUSPENDED; anything more restrictive stays
  pending: { none: 'STAGED', STAGED: 'STAGED', PROVISIONED: 'PROVISIONED', ACTIVE: 'SUSPENDED', RECOVERY: 'SUSPENDED', PASSWORD_EXPIRED: 'SUSPENDED', LOCKED_OUT: 'SUSPENDED', SUSPENDED: 'SUSPENDED', DEPROVISIONED: 'DEPROVISIONED' },
  // suspended: SUSPENDED, unless it is more restrictive already (STAGED, PROVISIONED, DEPROVISIONED)
  suspended: { none: 'SUSPENDED', STAGED: 'STAGED', PROVISIONED: 'PROVISIONED', ACTIVE: 'SUSPENDED', RECOVERY: 'SUSPENDED', PASSWORD_EXPIRED: 'SUSPENDED', LOCKED_OUT: 'SUSPENDED', SUSPENDED: 'SUSPENDED', DEPROVISIONED: 'DEPROVISIONED' },
  retired: { none: 'DEPROVISIONED', STAGED: 'DEPROVISIONED', PROVISIONED: 'DEPROVISIONED', ACTIVE: 'DEPROVISIONED', RECOVERY: 'DEPROVISIONED', PASSWORD_EXPIRED: 'DEPROVISIONED', LOCKED_OUT: 'DEPROVISIONED', SUSPENDED: 'DEPROVISIONED', DEPROVISIONED: 'DEPROVISIONED' },
  deleted: { none: 'DEPROVISIONED', STAGED: 'DEPROVISIONED', PROVISIONED: 'DEPROVISIONED', ACTIVE: 'DEPROVISIONED', RECOVERY: 'DEPROVISIONED', PASSWORD_EXPIRED: 'DEPROVISIONED', LOCKED_OUT: 'DEPROVISIONED', SUSPENDED: 'DEPROVISIONED', DEPROVISIONED: 'DEPROVISIONED' },
};
const matrix = LIFECYCLES.flatMap((lc) => (['none', ...ALL_STATUSES] as const).map((cur) => [lc, cur, TARGET[lc][cur]] as const));

// ───────────────────────────────────────────────────────────────────── plan

describe('plan without a link: create, in the status the lifecycle starts in', () => {
  it.each(LIFECYCLES.map((lc) => [lc, TARGET[lc].none] as const))('%s → create … (%s)', (lifecycleState, status) => {
    expect(okta.plan(desired({ lifecycleState }), undefined)).toEqual({
      kind: 'create',
      details: [`create user invoice-bot@${DOMAIN} of type aiAgent (${status})`, 'manager (sponsor): ada@example.com', `groups: +${G1}, +${G2}`],
    });
  });

  it.each<[string, DesiredAgent, string]>([
    ['no sponsor', desired({ sponsors: [] }), 'NONE'],
    ['a sponsor without userName', desired({ sponsors: [{ kind: 'user', id: 'u-x', primary: true, displayName: 'X Person', emails: [] }] }), 'X Person'],
    ['a sponsor with only an id', desired({ sponsors: [{ kind: 'user', id: 'u-x', primary: true, emails: [] }] }), 'u-x'],
    ['a co-sponsor only (the first sponsor stands in)', desired({ sponsors: [{ ...ADA, primary: false, userName: 'co@example.com' }] }), 'co@example.com'],
  ])('the manager line with %s', (_name, d, manager) => {
    expect(okta.plan(d, undefined).details[1]).toBe(`manager (sponsor): ${manager}`);
  });

  it('no groups line without groups; the AI Agents registration when that projection is on', () => {
    expect(okta.plan(desired({ entitlements: [] }), undefined).details).toEqual([`create user invoice-bot@${DOMAIN} of type aiAgent (ACTIVE)`, 'manager (sponsor): ada@example.com']);
    expect(connector({ aiAgents: true }).plan(desired({ entitlements: [] }), undefined).details.at(-1)).toBe('register with Okta for AI Agents');
  });

  it('an invalid login is planned as an update that will fail, with the reason', () => {
    expect(okta.plan(desired({ agentUserName: 'has space' }), undefined)).toEqual({ kind: 'update', details: [expect.stringMatching(/^will fail: agent agent-1: "has space@agents\.example\.com" is not a valid Okta login/)] });
  });
});

describe('plan when the agent must not exist', () => {
  it.each<[string, Partial<DesiredAgent>, string]>([
    ['deleted here', { presence: 'absent', lifecycleState: 'deleted' }, 'agent deleted'],
    ['retired beyond the grace period', { presence: 'absent', lifecycleState: 'retired' }, 'retired beyond the grace period'],
    ['deleted in Okta', { presence: 'remoteDeleted', lifecycleState: 'retired' }, 'deleted in Okta'],
  ])('%s → delete naming why', (_name, o, why) => {
    expect(okta.plan(desired(o), { remoteId: '00uremote', state: {} })).toEqual({ kind: 'delete', details: [`delete user 00uremote (${why})`] });
  });

  it.each<Partial<DesiredAgent>>([{ presence: 'absent', lifecycleState: 'deleted' }, { presence: 'remoteDeleted' }])('nothing to delete without a remote id (%j) → noop', (o) => {
    expect(okta.plan(desired(o), undefined)).toEqual({ kind: 'noop', details: [] });
    expect(okta.plan(desired(o), { state: {} })).toEqual({ kind: 'noop', details: [] });
  });
});

// ───────────────────────────────────────────────────────────────────── compare

const linkOf = (state: Json): ConnectorLink => ({ remoteId: '00uremote', state });
const seen = (o: Partial<RemoteObservation> = {}): RemoteObservation => ({ remoteId: '00uremote', exists: true, ...o });

describe('compare: drift against the applied baseline (most restrictive wins)', () => {
  it('a deleted user is a deletion, nothing else looked at', () => {
    const r = okta.compare(desired(), linkOf({ status: 'ACTIVE', groups: [G1] }), { remoteId: '00uremote', exists: false, enabled: true, groups: [] });
    expect(r).toEqual({ deleted: true, disabled: false, reenabled: false, revoked: [], other: [], state: { status: 'ACTIVE', groups: [G1] }, remoteId: '00uremote' });
  });

  it.each<[string, UserStatus | undefined, boolean | undefined, { disabled: boolean; reenabled: boolean; status: UserStatus | undefined }]>([
    // baseline, seen enabled → flags and the baseline's new status
    ['ACTIVE disabled in Okta', 'ACTIVE', false, { disabled: true, reenabled: false, status: 'SUSPENDED' }],
    ['LOCKED_OUT disabled in Okta', 'LOCKED_OUT', false, { disabled: true, reenabled: false, status: 'SUSPENDED' }],
    ['SUSPENDED enabled in Okta', 'SUSPENDED', true, { disabled: false, reenabled: true, status: 'ACTIVE' }],
    ['DEPROVISIONED enabled in Okta', 'DEPROVISIONED', true, { disabled: false, reenabled: true, status: 'ACTIVE' }],
    ['STAGED activated in Okta', 'STAGED', true, { disabled: false, reenabled: true, status: 'ACTIVE' }],
    ['ACTIVE still enabled', 'ACTIVE', true, { disabled: false, reenabled: false, status: 'ACTIVE' }],
    ['RECOVERY seen enabled (kept: still enabled)', 'RECOVERY', true, { disabled: false, reenabled: false, status: 'ACTIVE' }],
    // a disabled user seen disabled keeps its (more precise) baseline status
    ['SUSPENDED still disabled', 'SUSPENDED', false, { disabled: false, reenabled: false, status: 'SUSPENDED' }],
    ['STAGED still disabled', 'STAGED', false, { disabled: false, reenabled: false, status: 'STAGED' }],
    ['DEPROVISIONED still disabled', 'DEPROVISIONED', false, { disabled: false, reenabled: false, status: 'DEPROVISIONED' }],
    // nothing to compare with
    ['no baseline status', undefined, false, { disabled: false, reenabled: false, status: undefined }],
    ['enabled not observed', 'ACTIVE', undefined, { disabled: false, reenabled: false, status: 'ACTIVE' }],
  ])('%s', (_name, status, enabled, want) => {
    const state: Json = status === undefined ? { groups: [] } : { status, groups: [] };
    const r = okta.compare(desired(), linkOf(state), seen(enabled === undefined ? {} : { enabled }));
    expect({ disabled: r.disabled, reenabled: r.reenabled, status: (r.state as { status?: UserStatus }).status }).toEqual(want);
    expect(r).toMatchObject({ deleted: false, revoked: [], other: [] });
  });

  it.each<[string, Json, Partial<RemoteObservation>, string[], Json]>([
    ['a rename in Okta', { profile: 'h1' }, { displayName: 'Renamed' }, ['displayName changed in Okta to "Renamed"'], { profile: undefined }],
    ['the same name', { profile: 'h1' }, { displayName: 'Invoice Bot' }, [], { profile: 'h1' }],
    ['a rename before any profile was applied', {}, { displayName: 'Renamed' }, [], {}],
    ['another manager', { profile: 'h1', managerId: '00umgr1' }, { sponsors: ['00umgr2'] }, ['manager changed in Okta (now 00umgr2)'], { profile: undefined, managerId: '00umgr2' }],
    ['the manager removed', { profile: 'h1', managerId: '00umgr1' }, { sponsors: [] }, ['manager changed in Okta (now none)'], { profile: undefined, managerId: '' }],
    ['the same manager', { profile: 'h1', managerId: '00umgr1' }, { sponsors: ['00umgr1'] }, [], { profile: 'h1', managerId: '00umgr1' }],
    ['a manager where none was applied', { profile: 'h1' }, { sponsors: ['00umgr2'] }, [], { profile: 'h1' }],
    ['a manager set where the baseline has none', { profile: 'h1', managerId: '' }, { sponsors: ['00umgr2'] }, ['manager changed in Okta (now 00umgr2)'], { profile: undefined, managerId: '00umgr2' }],
  ])('profile drift: %s', (_name, state, obs, other, next) => {
    const r = okta.compare(desired(), linkOf(state), seen(obs));
    expect(r.other).toEqual(other);
    expect(r.state).toEqual(next);
    expect(r).toMatchObject({ deleted: false, disabled: false, reenabled: false, revoked: [] });
  });

  it('memberships: a removal of a granted group revokes it; an unauthorized mapped group is drift to undo; unmapped groups are not ours', () => {
    const c = connector();
    c.fingerprint(desired({ entitlements: [{ value: 'admin', mappings: [{ kind: 'group', remoteId: G3 }] }] })); // G3 is a mapped group
    const d = desired({ entitlements: [{ value: 'read', mappings: [{ kind: 'group', remoteId: G1 }] }] });
    const link = linkOf({ status: 'ACTIVE', groups: [G1, G2] });
    const r = c.compare(d, link, seen({ groups: [G3, G4] }));
    // G1 removed in Okta and granted here: revoked; G2 applied, no longer wanted, gone: removed again
    // idempotently; G3 mapped by the catalogue and granted in Okta: removed; G4: not a catalogue group
    expect(r.revoked).toEqual(['read']);
    expect(r.other).toEqual([`member of group ${G3} in Okta without an entitlement here: removed`]);
    expect((r.state as { groups: string[] }).groups).toEqual([G2, G3].sort());
    expect(link.state).toEqual({ status: 'ACTIVE', groups: [G1, G2] }); // the link itself is not touched
  });

  it.each<[string, string[], string[] | undefined, string[], string[]]>([
    // baseline groups, seen groups → revoked, next baseline
    ['all still there', [G1, G2], [G1, G2], [], [G1, G2]],
    ['both removed', [G1, G2], [], ['read', 'write'], []],
    ['one added in Okta that we grant but had not applied', [G1], [G1, G2], [], [G1, G2]],
    ['a wanted group never applied and not seen', [G1], [G1], [], [G1]],
    ['not observed', [G1, G2], undefined, [], [G1, G2]],
  ])('memberships: %s', (_name, have, obs, revoked, next) => {
    const r = okta.compare(desired(), linkOf({ groups: have }), seen(obs === undefined ? {} : { groups: obs }));
    expect(r.revoked).toEqual(revoked);
    expect(r.other).toEqual([]);
    expect((r.state as { groups: string[] }).groups).toEqual(next);
  });

  it('memberships unknown in the baseline are not compared; an entitlement mapped to two removed groups is revoked once', () => {
    expect(okta.compare(desired(), linkOf({}), seen({ groups: [] }))).toMatchObject({ revoked: [], other: [], state: {} });
    const d = desired({ entitlements: [{ value: 'both', mappings: [{ kind: 'group', remoteId: G1 }, { kind: 'group', remoteId: G2 }] }] });
    expect(okta.compare(d, linkOf({ groups: [G1, G2] }), seen({ groups: [] })).revoked).toEqual(['both']);
  });
});

// ───────────────────────────────────────────────────────────────────── adopt

describe('adopt: the link for a user found by its tag', () => {
  it.each<[string, RemoteObservation, ConnectorLink]>([
    ['an enabled user with groups, manager and creation time', seen({ remoteId: '00ua', enabled: true, groups: [G2, G1], sponsors: ['00umgr'], createdAt: '2026-01-01T00:00:00.000Z' }), { remoteId: '00ua', state: { status: 'ACTIVE', groups: [G2, G1], managerId: '00umgr', createdAt: '2026-01-01T00:00:00.000Z' } }],
    ['a disabled user without a manager', seen({ remoteId: '00ub', enabled: false, sponsors: [] }), { remoteId: '00ub', state: { status: 'SUSPENDED', groups: [], managerId: '' } }],
    ['nothing observed but its existence', seen({ remoteId: '00uc' }), { remoteId: '00uc', state: { status: 'ACTIVE', groups: [] } }],
  ])('%s', (_name, obs, link) => {
    const got = okta.adopt(obs);
    expect(got).toEqual(link);
    if (obs.groups) expect((got.state as { groups: string[] }).groups).not.toBe(obs.groups); // a copy
  });
});

// ───────────────────────────────────────────────────────────────────── against the emulator

describe('what Okta receives (apply against the Okta emulator)', () => {
  let emu: OktaEmulator;
  let c: OktaConnector;
  let sponsorId: string;
  let seq = 0;
  const checkpoints: ConnectorLink[] = [];
  const ctx: ApplyContext = {
    checkpoint: async (l) => void checkpoints.push(JSON.parse(JSON.stringify(l)) as ConnectorLink),
    now: () => new Date(),
    logger: pino({ level: 'silent' }),
    signal: new AbortController().signal,
  };
  let groups: { g1: string; g2: string; g3: string };

  beforeAll(async () => {
    emu = await startOktaEmulator({ searchLagMs: 0 });
    c = connector({ orgUrl: emu.orgUrl, auth: { mode: 'SSWS', token: emu.apiToken } });
    sponsorId = emu.admin.createUser({ profile: { login: 'ada@example.com', email: 'ada@example.com', firstName: 'Ada', lastName: 'Lovelace', displayName: 'Ada Lovelace' } }, { activate: true }).id;
    groups = { g1: emu.admin.createGroup('Readers').id, g2: emu.admin.createGroup('Writers').id, g3: emu.admin.createGroup('Admins').id };
  });
  afterAll(() => emu?.close());

  /** a fresh agent (own id and login) with the catalogue's real groups */
  function agent(o: Partial<DesiredAgent> = {}, gov: Json = {}): DesiredAgent {
    seq += 1;
    return desired(
      {
        id: `agent-${seq}`,
        agentUserName: `bot-${seq}`,
        entitlements: [
          { value: 'read', mappings: [{ kind: 'group', remoteId: groups.g1 }] },
          { value: 'write', mappings: [{ kind: 'group', remoteId: groups.g2 }] },
        ],
        ...o,
      },
      gov,
    );
  }
  const user = (link: ConnectorLink | null | undefined) => emu.admin.getUser(link!.remoteId!)!;
  const groupIdsOf = (id: string) => emu.admin.groupsOf(id).map((g) => g.id).filter((g) => Object.values(groups).includes(g)).sort();
  const lifecycleCalls = (id: string, from: number) =>
    emu.requestLog.filter((r) => r.seq > from && r.method === 'POST' && r.path.startsWith(`/api/v1/users/${id}/lifecycle/`)).map((r) => r.path.slice(r.path.lastIndexOf('/') + 1));
  const lastSeq = () => emu.requestLog.at(-1)?.seq ?? 0;

  it('creates a federated user with the profile, the enums canonical or left out, the sponsor as manager, the groups in the same write', async () => {
    const d = agent({ displayName: `${'Long name '.repeat(6)}end` }, { purpose: 'p'.repeat(1100), environment: 'Production', riskTier: 'HIGH', autonomyLevel: 'on the moon' });
    const r = await c.apply(d, undefined, ctx);
    expect(r.change.kind).toBe('create');
    expect(r.objectType).toBe('user');
    const u = user(r.link);
    expect(u.status).toBe('ACTIVE');
    expect(u.credentials.provider.type).toBe('FEDERATION');
    expect(u.profile).toMatchObject({
      login: `${d.agentUserName}@${DOMAIN}`,
      email: `${d.agentUserName}@${DOMAIN}`,
      firstName: d.displayName.slice(0, 50),
      lastName: 'AI agent',
      displayName: d.displayName,
      nickName: d.agentUserName,
      title: 'AI agent',
      userType: 'AIAgent',
      managerId: sponsorId,
      manager: 'Ada Lovelace',
      agentrosterId: d.id,
      agentPurpose: 'p'.repeat(1024),
      agentSponsorEmail: 'ada@example.com',
      agentSponsorName: 'Ada Lovelace',
      agentEnvironment: 'production',
      agentRiskTier: 'high',
    });
    expect(u.profile.agentAutonomyLevel ?? null).toBeNull(); // not one of the schema's values: left out
    expect(groupIdsOf(u.id)).toEqual([groups.g1, groups.g2].sort());
    // the remote id was checkpointed the moment the create returned
    expect(checkpoints.some((l) => l.remoteId === u.id)).toBe(true);
    expect(r.link!.state).toMatchObject({ login: `${d.agentUserName}@${DOMAIN}`, status: 'ACTIVE', managerId: sponsorId, sponsor: 'u-ada', groups: [groups.g1, groups.g2].sort() });

    // nothing changed: a second apply is a noop and writes nothing; plan agrees
    const before = lastSeq();
    expect(c.plan(d, r.link!)).toEqual({ kind: 'noop', details: [] });
    const again = await c.apply(d, r.link!, ctx);
    expect(again.change).toEqual({ kind: 'noop', details: [] });
    expect(emu.requestLog.filter((x) => x.seq > before && x.method !== 'GET')).toEqual([]);
  });

  it('an empty displayName falls back to the agentUserName as first name', async () => {
    const d = agent({ displayName: '' });
    const r = await c.apply(d, undefined, ctx);
    expect(user(r.link).profile.firstName).toBe(d.agentUserName);
  });

  it.each(['pending', 'suspended'] as const)('a new %s agent is created STAGED/SUSPENDED-safe: never ACTIVE', async (lifecycleState) => {
    const r = await c.apply(agent({ lifecycleState, enabled: false }), undefined, ctx);
    expect(user(r.link).status).toBe('STAGED');
    expect(isEnabledStatus(user(r.link).status)).toBe(false);
  });

  it('plan from an applied baseline: a rename, a sponsor change, a group change, a login change', async () => {
    const d = agent();
    const { link } = await c.apply(d, undefined, ctx);
    expect(c.plan({ ...d, displayName: 'New name' }, link!)).toEqual({ kind: 'update', details: ['profile (name, purpose, environment, risk tier or autonomy level)'] });
    expect(c.plan(agentLike(d, {}, { riskTier: 'low' }), link!).details).toEqual(['profile (name, purpose, environment, risk tier or autonomy level)']);
    expect(c.plan({ ...d, sponsors: [{ ...ADA, id: 'u-grace', userName: 'grace@example.com' }] }, link!)).toEqual({ kind: 'update', details: ['manager → sponsor grace@example.com'] });
    expect(c.plan({ ...d, entitlements: [d.entitlements[1]!, { value: 'admin', mappings: [{ kind: 'group', remoteId: groups.g3 }] }] }, link!)).toEqual({
      kind: 'update',
      details: [`groups: ${[`+${groups.g3}`, `-${groups.g1}`].join(', ')}`],
    });
    expect(c.plan({ ...d, agentUserName: `${d.agentUserName}-x` }, link!)).toEqual({
      kind: 'update',
      details: [`login ${d.agentUserName}@${DOMAIN} → ${d.agentUserName}-x@${DOMAIN}`, 'profile (name, purpose, environment, risk tier or autonomy level)'],
    });
    expect(c.plan(d, { ...link!, state: { ...(link!.state as object), profile: undefined } })).toEqual({ kind: 'update', details: ['profile (pushed again)'] });
  });

  function agentLike(d: DesiredAgent, o: Partial<DesiredAgent>, gov: Json): DesiredAgent {
    return { ...d, ...o, resource: { [GOV]: { ...((d.resource as Record<string, Json>)[GOV] as Json), ...gov } } };
  }

  describe('the status matrix in plan (baseline as applied, only the status differs)', () => {
    let d: DesiredAgent;
    let link: ConnectorLink;
    beforeAll(async () => {
      d = agent();
      link = (await c.apply(d, undefined, ctx)).link!;
    });

    it.each(matrix)('%s, user %s → %s', (lifecycleState, cur, target) => {
      const state = { ...(link.state as object), status: cur === 'none' ? undefined : cur } as Json;
      const p = c.plan({ ...d, lifecycleState, enabled: lifecycleState === 'active' }, { ...link, state });
      const from = cur === 'none' ? undefined : cur;
      if (target === from) {
        expect(p).toEqual({ kind: 'noop', details: [] });
      } else {
        expect(p).toEqual({ kind: isEnabledStatus(target) ? 'enable' : 'disable', details: [`status ${from ?? '?'} → ${target}`] });
      }
    });

    it('the status change outranks the other changes in the plan kind; a user to deprovision gets no profile push', () => {
      const state = { ...(link.state as object), status: 'ACTIVE', profile: undefined } as Json;
      expect(c.plan({ ...d, lifecycleState: 'suspended', displayName: 'Other' }, { ...link, state })).toEqual({
        kind: 'disable',
        details: ['status ACTIVE → SUSPENDED', 'profile (pushed again)'],
      });
      expect(c.plan({ ...d, lifecycleState: 'retired', displayName: 'Other', sponsors: [{ ...ADA, id: 'u-grace' }] }, { ...link, state })).toEqual({
        kind: 'disable',
        details: ['status ACTIVE → DEPROVISIONED'],
      });
      expect(c.plan({ ...d, lifecycleState: 'active' }, { ...link, state: { ...(link.state as object), status: 'SUSPENDED', login: 'old@x.example' } as Json })).toEqual({
        kind: 'enable',
        details: ['status SUSPENDED → ACTIVE', `login old@x.example → ${d.agentUserName}@${DOMAIN}`],
      });
    });
  });

  // lifecycle × the status the user has in Okta (and in the baseline) → the calls made, the status after
  const APPLY: [Lifecycle, UserStatus, string[], UserStatus][] = [
    ['active', 'STAGED', ['activate'], 'ACTIVE'],
    ['active', 'SUSPENDED', ['unsuspend'], 'ACTIVE'],
    ['active', 'DEPROVISIONED', ['activate'], 'ACTIVE'],
    ['active', 'ACTIVE', [], 'ACTIVE'],
    ['pending', 'ACTIVE', ['suspend'], 'SUSPENDED'],
    ['pending', 'STAGED', [], 'STAGED'],
    ['pending', 'SUSPENDED', [], 'SUSPENDED'],
    ['pending', 'DEPROVISIONED', [], 'DEPROVISIONED'],
    ['suspended', 'ACTIVE', ['suspend'], 'SUSPENDED'],
    ['suspended', 'STAGED', [], 'STAGED'],
    ['suspended', 'SUSPENDED', [], 'SUSPENDED'],
    ['suspended', 'DEPROVISIONED', [], 'DEPROVISIONED'],
    ['retired', 'ACTIVE', ['deactivate'], 'DEPROVISIONED'],
    ['retired', 'SUSPENDED', ['deactivate'], 'DEPROVISIONED'],
    ['retired', 'STAGED', ['deactivate'], 'DEPROVISIONED'],
    ['retired', 'DEPROVISIONED', [], 'DEPROVISIONED'],
  ];

  it.each(APPLY)('apply: %s agent, user %s → calls %j, user %s', async (lifecycleState, cur, calls, after) => {
    const d = agent();
    const created = (await c.apply(d, undefined, ctx)).link!;
    if (cur !== 'ACTIVE') emu.admin.forceStatus(created.remoteId!, cur);
    const link = { ...created, state: { ...(created.state as object), status: cur } as Json };
    const from = lastSeq();
    const r = await c.apply({ ...d, lifecycleState, enabled: lifecycleState === 'active' }, link, ctx);
    expect(lifecycleCalls(created.remoteId!, from)).toEqual(calls);
    expect(user(created).status).toBe(after);
    expect((r.link!.state as { status: UserStatus }).status).toBe(after);
    const kind = calls.length === 0 ? 'noop' : isEnabledStatus(after) ? 'enable' : 'disable';
    expect(r.change.kind).toBe(kind);
    // memberships are kept in every status
    expect(groupIdsOf(created.remoteId!)).toEqual([groups.g1, groups.g2].sort());
  });

  it('a refused transition (Okta changed the status meanwhile) is resolved by reading the status and making the right call', async () => {
    const d = agent();
    const created = (await c.apply(d, undefined, ctx)).link!;
    emu.admin.suspend(created.remoteId!); // suspended in Okta; the baseline still says ACTIVE
    const from = lastSeq();
    const r = await c.apply({ ...d, lifecycleState: 'retired', enabled: false }, created, ctx);
    expect(lifecycleCalls(created.remoteId!, from)).toEqual(['deactivate']);
    expect(user(created).status).toBe('DEPROVISIONED');
    expect(r.change.kind).toBe('disable');

    // re-enabled here while Okta suspended it: unsuspend after activate is refused
    const d2 = agent();
    const l2 = (await c.apply({ ...d2, lifecycleState: 'pending', enabled: false }, undefined, ctx)).link!; // STAGED
    emu.admin.activate(l2.remoteId!);
    emu.admin.suspend(l2.remoteId!);
    const from2 = lastSeq();
    await c.apply(d2, l2, ctx);
    // activate refused with 403 E0000038 (not allowed in the current status): read, then unsuspend
    expect(lifecycleCalls(l2.remoteId!, from2)).toEqual(['activate', 'unsuspend']);
    expect(user(l2).status).toBe('ACTIVE');
  });

  it('activated in Okta meanwhile: the 403 E0000016 "already active" is the status wanted, not a missing permission', async () => {
    const d = agent();
    const staged = (await c.apply({ ...d, lifecycleState: 'pending', enabled: false }, undefined, ctx)).link!;
    emu.admin.activate(staged.remoteId!);
    const from = lastSeq();
    const r = await c.apply(d, staged, ctx);
    expect(lifecycleCalls(staged.remoteId!, from)).toEqual(['activate']);
    expect(user(staged).status).toBe('ACTIVE');
    expect(r.link!.state).toMatchObject({ status: 'ACTIVE' });
    expect(r.change.kind).toBe('enable');
  });

  it('a 403 that is a missing permission stays one: PermanentError naming the permission, no second call', async () => {
    const d = agent();
    const created = (await c.apply(d, undefined, ctx)).link!;
    emu.faults.failNext(1, 403, { match: { method: 'POST', path: `/api/v1/users/${created.remoteId!}/lifecycle/suspend` }, errorCode: 'E0000006', errorSummary: 'You do not have permission to perform the requested action' });
    const from = lastSeq();
    await expect(c.apply({ ...d, lifecycleState: 'suspended', enabled: false }, created, ctx)).rejects.toMatchObject({ code: 'E0000006', retryable: false, message: expect.stringContaining('lacks a permission') });
    expect(lifecycleCalls(created.remoteId!, from)).toEqual(['suspend']);
    expect(user(created).status).toBe('ACTIVE');
    emu.faults.clear();
  });

  it('reactivating a DEPROVISIONED user pushes the profile it could not take while deactivated, and restores the groups', async () => {
    const d = agent();
    const created = (await c.apply(d, undefined, ctx)).link!;
    const retired = (await c.apply({ ...d, lifecycleState: 'retired', enabled: false, displayName: 'Renamed while retired' }, created, ctx)).link!;
    expect(user(retired).status).toBe('DEPROVISIONED');
    expect(user(retired).profile.displayName).toBe(d.displayName); // not pushed: Okta refuses updates
    expect((retired.state as { profile?: string }).profile).toBeUndefined();
    const back = await c.apply({ ...d, displayName: 'Renamed while retired' }, retired, ctx);
    expect(user(back.link).status).toBe('ACTIVE');
    expect(user(back.link).profile.displayName).toBe('Renamed while retired');
    expect(back.change.kind).toBe('enable');
    expect(back.change.details).toContain('profile updated');
  });

  it('group changes: removals before the status moves on, additions once active; both in the details', async () => {
    const d = agent();
    const { link } = await c.apply(d, undefined, ctx);
    const next = { ...d, entitlements: [d.entitlements[1]!, { value: 'admin', mappings: [{ kind: 'group' as const, remoteId: groups.g3 }] }] };
    const r = await c.apply(next, link!, ctx);
    expect(r.change).toEqual({ kind: 'update', details: [`group -${groups.g1}`, `group +${groups.g3}`] });
    expect(groupIdsOf(link!.remoteId!)).toEqual([groups.g2, groups.g3].sort());
    expect((r.link!.state as { groups: string[] }).groups).toEqual([groups.g2, groups.g3].sort());
  });

  it('the observed status feeds compare and adopt (a LOCKED_OUT user stays LOCKED_OUT in the baseline, not "ACTIVE")', async () => {
    const d = agent();
    const { link } = await c.apply(d, undefined, ctx);
    emu.admin.forceStatus(link!.remoteId!, 'LOCKED_OUT');
    const obs = (await c.inventory({ mappings: [] } as never)).find((o) => o.remoteId === link!.remoteId)!;
    expect(obs).toMatchObject({ exists: true, enabled: true, agentId: d.id, displayName: d.displayName, sponsors: [sponsorId] });
    const r = c.compare(d, link!, obs);
    expect(r).toMatchObject({ disabled: false, reenabled: false, state: { status: 'LOCKED_OUT' } });
    expect(c.adopt(obs).state).toMatchObject({ status: 'LOCKED_OUT' });
  });

  it('delete: DELETE twice (deactivate, then delete); the link is forgotten', async () => {
    const d = agent();
    const { link } = await c.apply(d, undefined, ctx);
    const from = lastSeq();
    const r = await c.apply({ ...d, presence: 'absent', lifecycleState: 'deleted', enabled: false }, link!, ctx);
    expect(r).toEqual({ link: null, change: { kind: 'delete', details: [`deleted user ${link!.remoteId}`] }, objectType: 'user' });
    expect(emu.requestLog.filter((x) => x.seq > from && x.method === 'DELETE').map((x) => x.path)).toEqual([`/api/v1/users/${link!.remoteId}`, `/api/v1/users/${link!.remoteId}`]);
    expect(emu.admin.getUser(link!.remoteId!)).toBeUndefined();
    expect((await c.apply({ ...d, presence: 'absent', lifecycleState: 'deleted' }, undefined, ctx)).change).toEqual({ kind: 'noop', details: [] });
  });

  it('a sponsor Okta does not know fails the create with what to do; an invalid login fails before any write', async () => {
    const before = lastSeq();
    await expect(c.apply(agent({ sponsors: [{ kind: 'user', id: 'u-ghost', primary: true, userName: 'ghost@example.com', emails: ['ghost@example.com'] }] }), undefined, ctx)).rejects.toMatchObject({
      code: 'sponsorNotFound',
      message: expect.stringContaining('provision the sponsor into Okta'),
    });
    await expect(c.apply(agent({ sponsors: [] }), undefined, ctx)).rejects.toMatchObject({ code: 'sponsorNotFound' });
    await expect(c.apply(agent({ agentUserName: 'has space' }), undefined, ctx)).rejects.toMatchObject({ code: 'invalidLogin' });
    expect(emu.requestLog.filter((x) => x.seq > before && x.method !== 'GET')).toEqual([]);
  });
});
