// Grants (standards.md §4.4): the catalogue, metadata only the server sets, expiry rules (R06),
// separation of duties (R07), the autonomy guardrail (R08), unused grants (R09) and environment
// isolation (R13). Each row is a write a client could send and what it gets back.

import { describe, expect, it } from 'vitest';
import {
  autonomyViolation,
  type CatalogueEntry,
  expiredGrants,
  finalizeGrants,
  type GrantContext,
  maxGrantDays,
  policyCovers,
  recommendRevoke,
} from '../../../src/agents/grants.js';
import { DEFAULT_POLICY } from '../../../src/agents/policy.js';
import type { Json } from '../../../src/agents/util.js';

const AT = '2026-05-01T00:00:00.000Z';
const day = (n: number) => new Date(Date.parse(AT) + n * 86_400_000).toISOString();

const catalogue = new Map<string, CatalogueEntry>([
  ['read', { id: 'e1', value: 'read', privileged: false, display: 'Read', type: 'api' }],
  ['nodisplay', { id: 'e5', value: 'nodisplay', privileged: false }],
  ['admin', { id: 'e2', value: 'admin', privileged: true, maxGrantDays: 7, environment: 'production' }],
  ['root', { id: 'e3', value: 'root', privileged: true }],
  ['temp', { id: 'e4', value: 'temp', privileged: false, maxGrantDays: 10 }],
  ['zero', { id: 'e6', value: 'zero', privileged: false, maxGrantDays: 0 }],
  ['test-only', { id: 'e7', value: 'test-only', privileged: false, environment: 'test' }],
]);

const ctx = (o: Partial<GrantContext> = {}): GrantContext => ({
  kind: 'entitlement',
  at: AT,
  granter: { id: 'u-granter', userId: 'u-granter', display: 'Granter', system: 'agentroster' },
  sponsorId: 'u-sponsor',
  environment: 'production',
  environmentChanged: false,
  policy: DEFAULT_POLICY,
  catalogue,
  newGrantId: () => 'grant-new',
  ...o,
});

/** The violations of granting `next` over `prev`, as "status message". */
const violations = (prev: Json[], next: Json[], o: Partial<GrantContext> = {}) =>
  finalizeGrants(prev, next, ctx(o)).violations.map((v) => `${v.status} ${v.message}`);

describe('maxGrantDays', () => {
  it.each([
    [{ privileged: false }, DEFAULT_POLICY, undefined],
    [{ privileged: true }, DEFAULT_POLICY, 30],
    [{ privileged: true, maxGrantDays: 7 }, DEFAULT_POLICY, 7],
    [{ privileged: true, maxGrantDays: 60 }, DEFAULT_POLICY, 30],
    [{ privileged: false, maxGrantDays: 60 }, DEFAULT_POLICY, 60],
    [{ privileged: false, maxGrantDays: 0 }, DEFAULT_POLICY, undefined],
    [{ privileged: false, maxGrantDays: -1 }, DEFAULT_POLICY, undefined],
    [{ privileged: true, maxGrantDays: 0 }, DEFAULT_POLICY, 30],
    [{ privileged: true }, { ...DEFAULT_POLICY, privilegedMaxDays: 0 }, undefined],
  ] as const)('%o → %s', (e, policy, want) => {
    expect(maxGrantDays({ id: 'e', value: 'v', ...e }, policy)).toBe(want);
  });
});

describe('finalizeGrants: which writes are refused, and why', () => {
  const ok: [string, Json[], Json[], Partial<GrantContext>][] = [
    ['a plain grant', [], [{ value: 'read' }], {}],
    ['a privileged grant within its limit, by a human who is not the sponsor', [], [{ value: 'admin', expiresAt: day(7) }], {}],
    ['a privileged grant with the policy limit', [], [{ value: 'root', expiresAt: day(30) }], {}],
    ['a limited grant at its limit', [], [{ value: 'temp', expiresAt: day(10) }], {}],
    ['a kept privileged grant, even past the limit now (not widened)', [{ value: 'admin', expiresAt: day(5) }], [{ value: 'admin', expiresAt: day(5) }], { at: day(-30) }],
    ['a privileged grant shortened', [{ value: 'admin', expiresAt: day(5) }], [{ value: 'admin', expiresAt: day(3) }], { granter: { id: 'robot', display: 'robot', system: 'agentroster' } }],
    ['a privileged grant kept with the same expiry, by a robot', [{ value: 'admin', expiresAt: day(5) }], [{ value: 'admin', expiresAt: day(5) }], { granter: { id: 'robot', display: 'robot', system: 'agentroster' } }],
    ['a kept grant that left the catalogue', [{ value: 'gone', expiresAt: day(-1) }], [{ value: 'gone', expiresAt: day(-1) }], {}],
    ['an entitlement of another environment kept while the environment stays', [{ value: 'test-only' }], [{ value: 'test-only' }], {}],
    ['an entitlement for an agent with no environment', [], [{ value: 'test-only' }], { environment: undefined }],
    ['a role whose catalogue entry is in another environment (roles are not isolated)', [], [{ value: 'test-only' }], { kind: 'role' }],
    ['a limit of 0 days is no limit', [], [{ value: 'zero' }], {}],
    ['items without a value are ignored', [], [{ display: 'x' }, { value: '' }], {}],
  ];
  it.each(ok)('allowed: %s', (_label, prev, next, o) => {
    expect(violations(prev, next, o)).toEqual([]);
  });

  const refused: [string, Json[], Json[], Partial<GrantContext>, string[]][] = [
    ['not in the catalogue', [], [{ value: 'nope' }], {}, ['400 entitlements: "nope" is not in the catalogue (/Entitlements)']],
    ['a role not in the catalogue', [], [{ value: 'nope' }], { kind: 'role' }, ['400 roles: "nope" is not in the catalogue (/Roles)']],
    ['granted twice', [], [{ value: 'read' }, { value: 'read' }], {}, ['400 entitlements: "read" is granted twice']],
    ['privileged without an expiry', [], [{ value: 'admin' }], {}, ['400 entitlements: "admin" is privileged: expiresAt is required (R06, at most 7 days)']],
    ['privileged (policy limit) without an expiry', [], [{ value: 'root' }], {}, ['400 entitlements: "root" is privileged: expiresAt is required (R06, at most 30 days)']],
    ['privileged past its limit', [], [{ value: 'admin', expiresAt: day(7.5) }], {}, [`400 entitlements: "admin" may be granted for at most 7 days (expiresAt ≤ ${day(7)})`]],
    ['privileged past the policy limit', [], [{ value: 'root', expiresAt: day(31) }], {}, [`400 entitlements: "root" may be granted for at most 30 days (expiresAt ≤ ${day(30)})`]],
    ['limited without an expiry', [], [{ value: 'temp' }], {}, ['400 entitlements: "temp" may be granted for at most 10 days: expiresAt is required']],
    ['limited past its limit', [], [{ value: 'temp', expiresAt: day(11) }], {}, [`400 entitlements: "temp" may be granted for at most 10 days (expiresAt ≤ ${day(10)})`]],
    ['an expiry in the past', [], [{ value: 'read', expiresAt: day(-1) }], {}, ['400 entitlements: "read" expiresAt must be in the future']],
    ['an expiry right now', [], [{ value: 'read', expiresAt: AT }], {}, ['400 entitlements: "read" expiresAt must be in the future']],
    ['privileged, by a token with no human', [], [{ value: 'root', expiresAt: day(1) }], { granter: { id: 'robot', display: 'robot-token', system: 'agentroster' } }, ['403 entitlements: "root" is privileged: it must be granted with a token bound to a human User (token create --user), not by "robot-token" (R07)']],
    ['privileged, by the sponsor', [], [{ value: 'root', expiresAt: day(1) }], { granter: { id: 'u-sponsor', userId: 'u-sponsor', display: 'S', system: 'agentroster' } }, ['403 entitlements: "root" is privileged: the agent\'s sponsor cannot grant it (separation of duties, R07)']],
    ['privileged, extended by a robot', [{ value: 'admin', expiresAt: day(2) }], [{ value: 'admin', expiresAt: day(3) }], { granter: { id: 'robot', display: 'robot', system: 'agentroster' } }, ['403 entitlements: "admin" is privileged: it must be granted with a token bound to a human User (token create --user), not by "robot" (R07)']],
    ['privileged, expiry removed', [{ value: 'admin', expiresAt: day(2) }], [{ value: 'admin' }], {}, ['400 entitlements: "admin" is privileged: expiresAt is required (R06, at most 7 days)']],
    ['limited, expiry removed', [{ value: 'temp', expiresAt: day(2) }], [{ value: 'temp' }], {}, ['400 entitlements: "temp" may be granted for at most 10 days: expiresAt is required']],
    ['limited, extended past its limit', [{ value: 'temp', expiresAt: day(2) }], [{ value: 'temp', expiresAt: day(12) }], {}, [`400 entitlements: "temp" may be granted for at most 10 days (expiresAt ≤ ${day(10)})`]],
    ['another environment', [], [{ value: 'test-only' }], {}, ['400 entitlements: "test-only" belongs to the test environment; this agent is production (R13)']],
    ['another environment, kept while the agent moves', [{ value: 'test-only' }], [{ value: 'test-only' }], { environmentChanged: true }, ['400 entitlements: "test-only" belongs to the test environment; this agent is production (R13)']],
  ];
  it.each(refused)('refused: %s', (_label, prev, next, o, want) => {
    expect(violations(prev, next, o)).toEqual(want);
  });

  it('a privileged grant without a sponsor on record only needs a human granter', () => {
    expect(violations([], [{ value: 'root', expiresAt: day(1) }], { sponsorId: undefined })).toEqual([]);
  });
});

describe('finalizeGrants: metadata the server keeps', () => {
  it('a new grant gets its metadata; a source the client sent is kept', () => {
    const r = finalizeGrants([], [{ value: 'read', justification: 'j', grantedBy: 'forged' }, { value: 'temp', expiresAt: day(1), source: 'inherited' }], ctx());
    expect(r.grants).toEqual([
      { value: 'read', display: 'Read', type: 'api', justification: 'j', grantId: 'grant-new', grantedAt: AT, grantedBy: 'u-granter', grantedByDisplay: 'Granter', grantedBySystem: 'agentroster', source: 'direct' },
      { value: 'temp', expiresAt: day(1), grantId: 'grant-new', grantedAt: AT, grantedBy: 'u-granter', grantedByDisplay: 'Granter', grantedBySystem: 'agentroster', source: 'inherited' },
    ]);
  });

  it('a kept grant keeps its metadata whatever the client sends; display and type come from the catalogue', () => {
    const old: Json = { value: 'read', display: 'Read', type: 'api', grantId: 'g1', grantedAt: day(-5), grantedBy: 'u-1', grantedByDisplay: 'One', grantedBySystem: 'okta', source: 'direct', lastUsedAt: day(-1), lastCertifiedAt: day(-2), approvedBy: 'u-3' };
    const sent: Json = { value: 'read', display: 'Forged', type: 'other', grantId: 'forged', grantedAt: day(0), grantedBy: 'me', grantedByDisplay: 'Me', grantedBySystem: 'me', source: 'forged', lastUsedAt: day(0), lastCertifiedAt: day(0), approvedBy: 'me', justification: 'new' };
    const r = finalizeGrants([old], [sent], ctx({ newGrantId: () => 'never' }));
    expect(r.violations).toEqual([]);
    expect(r.grants).toEqual([{ ...old, justification: 'new' }]);
  });

  it('a client display is dropped when the catalogue has none; the client type stays then', () => {
    const r = finalizeGrants([], [{ value: 'nodisplay', display: 'Mine', type: 'mine' }], ctx());
    expect(r.grants[0]).not.toHaveProperty('display');
    expect(r.grants[0]!.type).toBe('mine');
  });

  it('a privileged grant records the approving human; a kept one keeps its approver', () => {
    const r = finalizeGrants([], [{ value: 'root', expiresAt: day(1) }], ctx());
    expect(r.grants[0]!.approvedBy).toBe('u-granter');
    const kept = finalizeGrants(r.grants, [{ value: 'root', expiresAt: day(1) }], ctx({ granter: { id: 'u-2', userId: 'u-2', display: 'Two', system: 'agentroster' } }));
    expect(kept.grants[0]!.approvedBy).toBe('u-granter');
    const extended = finalizeGrants(r.grants, [{ value: 'root', expiresAt: day(2) }], ctx({ granter: { id: 'u-2', userId: 'u-2', display: 'Two', system: 'agentroster' } }));
    expect(extended.violations).toEqual([]);
    expect(extended.grants[0]!.approvedBy).toBe('u-2');
  });

  it('a refused grant is not in the result; the others are', () => {
    const r = finalizeGrants([], [{ value: 'read' }, { value: 'nope' }, { value: 'read' }], ctx());
    expect(r.grants.map((g) => g.value)).toEqual(['read']);
  });

  it('a grant that left the catalogue is kept exactly as it was sent', () => {
    const r = finalizeGrants([{ value: 'gone', grantId: 'g1' }], [{ value: 'gone', grantId: 'g1', justification: 'x' }], ctx());
    expect(r.grants).toEqual([{ value: 'gone', grantId: 'g1', justification: 'x' }]);
  });

  it('roles carry the RFC 7643 sub-attributes only', () => {
    const r = finalizeGrants([], [{ value: 'read', expiresAt: day(1), justification: 'j', primary: true }], ctx({ kind: 'role' }));
    expect(r.grants).toEqual([{ value: 'read', display: 'Read', type: 'api', primary: true }]);
    const p = finalizeGrants([], [{ value: 'root', expiresAt: day(1) }], ctx({ kind: 'role' }));
    expect(p.grants).toEqual([{ value: 'root' }]);
  });
});

describe('policyCovers and the autonomy guardrail (R08)', () => {
  it.each([
    ['*', 'anything', true],
    ['payments.create', 'payments.create', true],
    ['payments.create', 'payments.refund', false],
    ['payments.*', 'payments.create', true],
    ['payments.*', 'payments', false],
    ['payments*', 'payments', true],
    ['pay', 'payments', false],
    ['payments.create', 'payments', false],
    ['*.create', 'payments.create', false],
  ] as const)('%s covers %s: %s', (action, value, want) => {
    expect(policyCovers(action, value)).toBe(want);
  });

  const grants = [{ value: 'admin' }, { value: 'root' }, { value: 'read' }, { value: 'unknown' }];
  it.each([
    ['not autonomous', { autonomyLevel: 'humanInTheLoop' }, undefined],
    ['no level', {}, undefined],
    ['autonomous, no policies', { autonomyLevel: 'autonomous' }, 'admin, root'],
    ['autonomous, allow policies do not count', { autonomyLevel: 'autonomous', actionPolicies: [{ action: '*', mode: 'allow' }] }, 'admin, root'],
    ['autonomous, one guarded', { autonomyLevel: 'autonomous', actionPolicies: [{ action: 'admin', mode: 'requireApproval' }] }, 'root'],
    ['autonomous, both guarded', { autonomyLevel: 'autonomous', actionPolicies: [{ action: 'admin', mode: 'requireApproval' }, { action: 'ro*', mode: 'deny' }] }, undefined],
    ['autonomous, a policy without an action', { autonomyLevel: 'autonomous', actionPolicies: [{ mode: 'deny' }] }, 'admin, root'],
  ] as const)('%s', (_label, g, bare) => {
    const v = autonomyViolation({ ...g }, grants, catalogue);
    if (bare === undefined) expect(v).toBeUndefined();
    else {
      expect(v).toMatchObject({ status: 400 });
      expect(v!.message).toBe(`an autonomous agent cannot hold privileged entitlements (${bare}) without an actionPolicies entry for them with mode requireApproval or deny (R08)`);
    }
  });
});

describe('expiry and unused grants (R09)', () => {
  it('expiredGrants: at or past expiresAt; none without one', () => {
    const gs = [{ value: 'a', expiresAt: day(-1) }, { value: 'b', expiresAt: AT }, { value: 'c', expiresAt: day(1) }, { value: 'd' }, { value: 'e', expiresAt: 'never' }];
    expect(expiredGrants(gs, AT).map((g) => g.value)).toEqual(['a', 'b']);
  });

  it.each([
    [{ grantedAt: day(-60) }, true],
    [{ grantedAt: day(-59) }, false],
    [{ grantedAt: day(-100), lastUsedAt: day(-59) }, false],
    [{ grantedAt: day(-100), lastUsedAt: day(-60) }, true],
    [{ grantedAt: day(-10), lastUsedAt: day(-61) }, true],
    [{}, false],
  ])('%o unused for 60 days: %s', (g, want) => {
    expect(recommendRevoke(g, AT, 60)).toBe(want);
  });
});
