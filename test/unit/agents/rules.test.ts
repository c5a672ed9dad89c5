// The pure governance rules: lifecycle transitions, change classification (R15), grants (R06–R08,
// R13), sponsors (R01, R03), reviews and compliance issues (R02, R04, R05, R11).

import { describe, expect, it } from 'vitest';
import { classifyChange } from '../../../src/agents/changes.js';
import { autonomyViolation, type CatalogueEntry, finalizeGrants, policyCovers, recommendRevoke } from '../../../src/agents/grants.js';
import { activationBlockers, defaultReason, transitionViolation } from '../../../src/agents/lifecycle.js';
import { DEFAULT_POLICY, seatLimitOf } from '../../../src/agents/policy.js';
import { activityReference, complianceIssues, credentialFacts, nextReviewDue, reviewIntervalViolation } from '../../../src/agents/reviews.js';
import { afterDeparture, chooseSuccessor, type Person, sponsorViolation } from '../../../src/agents/sponsor.js';
import { GOVERNANCE_URN as G, type Json } from '../../../src/agents/util.js';

const agent = (gov: Json, core: Json = {}): Json => ({ id: 'a1', agentUserName: 'bot', ...core, [G]: { lifecycleState: 'active', ...gov } });
const person = (id: string, o: Partial<Person> = {}): Person => ({ id, kind: 'human', active: true, ...o });

describe('lifecycle', () => {
  it.each([
    [undefined, 'pending', true],
    [undefined, 'retired', false],
    ['pending', 'active', true],
    ['pending', 'retired', true],
    ['pending', 'suspended', false],
    ['active', 'suspended', true],
    ['suspended', 'active', true],
    ['suspended', 'retired', true],
    ['active', 'pending', false],
    ['retired', 'active', false],
    ['retired', 'suspended', false],
  ] as const)('%s → %s allowed: %s', (from, to, ok) => {
    expect(transitionViolation(from, to) === undefined).toBe(ok);
  });
  it('default reasons depend on who acts', () => {
    expect(defaultReason('suspended', 'connector')).toBe('externalDisable');
    expect(defaultReason('suspended', 'iga')).toBe('certificationRevoked');
    expect(defaultReason('suspended', 'client')).toBe('manual');
    expect(defaultReason('retired', 'client')).toBe('decommissioned');
    expect(defaultReason('pending', 'client')).toBe('approvalPending');
  });
  it('activation is blocked by a departed sponsor, an overdue review, a validity window', () => {
    const now = '2026-05-01T00:00:00.000Z';
    expect(activationBlockers({ sponsorStatus: 'ok', nextReviewDue: '2026-06-01T00:00:00Z' }, now)).toEqual([]);
    expect(activationBlockers({ sponsorStatus: 'departed', nextReviewDue: '2026-04-01T00:00:00Z', validFrom: '2026-06-01T00:00:00Z', validUntil: '2026-04-30T00:00:00Z' }, now)).toHaveLength(4);
  });
});

describe('classifyChange (R15)', () => {
  const base = agent({ purpose: 'p' }, { entitlements: [{ value: 'x', expiresAt: '2026-06-01T00:00:00Z', grantId: 'g1' }, { value: 'y' }] });
  const withGov = (gov: Json, core: Json = {}) => ({ ...base, ...core, [G]: { ...(base[G] as Json), ...gov } });
  it.each([
    ['suspend', withGov({ lifecycleState: 'suspended', stateReason: 'manual' }), ['suspend'], [], false],
    ['retire', withGov({ lifecycleState: 'retired' }), ['retire'], [], false],
    ['revoke a grant', { ...base, entitlements: [{ value: 'y' }] }, ['revoke entitlement x'], [], false],
    ['shorten an expiry', { ...base, entitlements: [{ value: 'x', expiresAt: '2026-05-01T00:00:00Z' }, { value: 'y' }] }, ['shorten entitlement x'], [], false],
    ['extend an expiry', { ...base, entitlements: [{ value: 'x', expiresAt: '2026-07-01T00:00:00Z' }, { value: 'y' }] }, [], ['extend entitlement x'], false],
    ['drop an expiry', { ...base, entitlements: [{ value: 'x' }, { value: 'y' }] }, [], ['extend entitlement x'], false],
    ['grant', { ...base, entitlements: [...(base.entitlements as Json[]), { value: 'z' }] }, [], ['grant entitlement z'], false],
    ['edit', withGov({ purpose: 'q' }), [], ['change purpose'], false],
    ['server metadata only', withGov({ nextReviewDue: 'x', complianceIssues: [], sponsorStatus: 'departed' }), [], [], false],
  ] as const)('%s', (_label, next, restrictive, expansive, activation) => {
    const c = classifyChange(withGov({ lifecycleState: 'active' }), next as Json);
    expect(c.restrictive).toEqual(restrictive);
    expect(c.expansive).toEqual(expansive);
    expect(c.activation).toBe(activation);
  });
  it('activation is its own permission; a credential revoked is restrictive, added is not', () => {
    const suspended = withGov({ lifecycleState: 'suspended', credentials: [{ credentialId: 'c1', type: 'jwk', status: 'active' }] });
    expect(classifyChange(suspended, withGov({ lifecycleState: 'active', credentials: [{ credentialId: 'c1', type: 'jwk', status: 'active' }] })).activation).toBe(true);
    expect(classifyChange(suspended, withGov({ lifecycleState: 'suspended', credentials: [{ credentialId: 'c1', type: 'jwk', status: 'revoked' }] })).restrictive).toEqual(['revoke credential c1']);
    expect(classifyChange(suspended, withGov({ lifecycleState: 'suspended', credentials: [{ credentialId: 'c1', type: 'jwk', status: 'active' }, { credentialId: 'c2', type: 'jwk' }] })).expansive).toEqual(['add credential c2']);
  });
});

describe('grants', () => {
  const catalogue = new Map<string, CatalogueEntry>([
    ['read', { id: 'e1', value: 'read', privileged: false }],
    ['admin', { id: 'e2', value: 'admin', privileged: true, maxGrantDays: 7, environment: 'production' }],
  ]);
  const ctx = (o: Json = {}) => ({
    kind: 'entitlement' as const,
    at: '2026-05-01T00:00:00.000Z',
    granter: { id: 'u-granter', userId: 'u-granter', display: 'Granter', system: 'agentroster' },
    sponsorId: 'u-sponsor',
    environment: 'production',
    environmentChanged: false,
    policy: DEFAULT_POLICY,
    catalogue,
    newGrantId: () => 'grant-1',
    ...o,
  });
  it('sets metadata on new grants and keeps it on kept ones', () => {
    const r = finalizeGrants([], [{ value: 'read', justification: 'j' }], ctx());
    expect(r.violations).toEqual([]);
    expect(r.grants).toEqual([{ value: 'read', justification: 'j', grantId: 'grant-1', grantedAt: '2026-05-01T00:00:00.000Z', grantedBy: 'u-granter', grantedByDisplay: 'Granter', grantedBySystem: 'agentroster', source: 'direct' }]);
    const kept = finalizeGrants(r.grants, [{ value: 'read', justification: 'j' }], ctx({ at: '2026-06-01T00:00:00.000Z', newGrantId: () => 'other' }));
    expect(kept.grants).toEqual(r.grants);
  });
  it('privileged: expiry required and bounded, a granter who is a human and not the sponsor (R06, R07), same environment (R13)', () => {
    const msg = (o: Json, g: Json) => finalizeGrants([], [g], ctx(o)).violations.map((v) => `${v.status} ${v.message}`).join(' | ');
    expect(msg({}, { value: 'admin' })).toMatch(/^400 .*expiresAt is required \(R06/);
    expect(msg({}, { value: 'admin', expiresAt: '2026-05-09T00:00:00Z' })).toMatch(/at most 7 days/);
    expect(msg({ granter: { id: 'u-sponsor', userId: 'u-sponsor', display: 'S', system: 'agentroster' } }, { value: 'admin', expiresAt: '2026-05-05T00:00:00Z' })).toMatch(/^403 .*R07/);
    expect(msg({ granter: { id: 'robot-token', display: 'robot-token', system: 'agentroster' } }, { value: 'admin', expiresAt: '2026-05-05T00:00:00Z' })).toMatch(/^403 .*bound to a human/);
    expect(msg({ environment: 'test' }, { value: 'admin', expiresAt: '2026-05-05T00:00:00Z' })).toMatch(/R13/);
    expect(msg({}, { value: 'nope' })).toMatch(/not in the catalogue/);
    const ok = finalizeGrants([], [{ value: 'admin', expiresAt: '2026-05-05T00:00:00Z' }], ctx());
    expect(ok.violations).toEqual([]);
    expect(ok.grants[0]!.approvedBy).toBe('u-granter');
  });
  it('R08 and policy matching', () => {
    expect(policyCovers('payments.*', 'payments.create')).toBe(true);
    expect(policyCovers('payments.create', 'payments.refund')).toBe(false);
    expect(policyCovers('*', 'anything')).toBe(true);
    const grants = [{ value: 'admin' }];
    expect(autonomyViolation({ autonomyLevel: 'autonomous' }, grants, catalogue)?.message).toMatch(/R08/);
    expect(autonomyViolation({ autonomyLevel: 'autonomous', actionPolicies: [{ action: 'adm*', mode: 'deny' }] }, grants, catalogue)).toBeUndefined();
    expect(autonomyViolation({ autonomyLevel: 'humanOnTheLoop' }, grants, catalogue)).toBeUndefined();
  });
  it('R09 recommendRevoke', () => {
    expect(recommendRevoke({ grantedAt: '2026-01-01T00:00:00Z' }, '2026-03-02T00:00:00Z', 60)).toBe(true);
    expect(recommendRevoke({ grantedAt: '2026-01-01T00:00:00Z', lastUsedAt: '2026-03-01T00:00:00Z' }, '2026-03-02T00:00:00Z', 60)).toBe(false);
  });
});

describe('sponsors', () => {
  it('R01', () => {
    expect(sponsorViolation(person('u1'), 'a1')).toBeUndefined();
    expect(sponsorViolation(person('a1'), 'a1')?.message).toMatch(/itself/);
    expect(sponsorViolation(person('x', { kind: 'agent' }), 'a1')?.message).toMatch(/agent/);
    expect(sponsorViolation(person('g', { kind: 'group' }), 'a1')?.message).toMatch(/Group/);
    expect(sponsorViolation(person('u', { active: false }), 'a1')?.message).toMatch(/not active/);
    expect(sponsorViolation(person('m', { kind: 'missing', active: false }), 'a1')?.message).toMatch(/no User/);
  });
  it('R03: successor in policy order: an active human co-sponsor, then the manager', () => {
    const a = agent({ sponsor: { value: 's' }, coSponsors: [{ value: 'g', type: 'group' }, { value: 'gone' }, { value: 'co' }] });
    const departed = person('s', { active: false, managerId: 'boss' });
    const people = new Map([
      ['g', person('g', { kind: 'group' })],
      ['gone', person('gone', { active: false })],
      ['co', person('co')],
      ['boss', person('boss')],
    ]);
    expect(chooseSuccessor(a, departed, people, DEFAULT_POLICY)).toMatchObject({ how: 'promoteCoSponsor', person: { id: 'co' } });
    expect(chooseSuccessor(a, departed, people, { ...DEFAULT_POLICY, sponsorDeparture: ['transferToManager'] })).toMatchObject({ how: 'transferToManager', person: { id: 'boss' } });
    expect(chooseSuccessor(a, departed, people, { ...DEFAULT_POLICY, sponsorDeparture: [] })).toBeUndefined();
    const after = afterDeparture(a, departed, undefined, '2026-05-01T00:00:00.000Z')[G] as Json;
    expect(after).toMatchObject({ sponsorStatus: 'departed', sponsorDepartedAt: '2026-05-01T00:00:00.000Z', sponsor: { value: 's', status: 'departed' } });
    const moved = afterDeparture(a, departed, { how: 'promoteCoSponsor', person: person('co', { display: 'Co' }) }, '2026-05-01T00:00:00.000Z')[G] as Json;
    expect(moved).toMatchObject({ sponsorStatus: 'transferPending', sponsor: { value: 'co', display: 'Co', status: 'active' } });
    expect((moved.coSponsors as Json[]).map((c) => c.value)).toEqual(['g', 'gone']);
  });
});

describe('reviews, activity, credentials, compliance', () => {
  it('R04', () => {
    expect(reviewIntervalViolation({ reviewIntervalDays: 29 })).toBeDefined();
    expect(reviewIntervalViolation({ reviewIntervalDays: 730 })).toBeUndefined();
    expect(nextReviewDue({ lastReviewedAt: '2026-01-01T00:00:00.000Z', reviewIntervalDays: 30 }, '2025-01-01T00:00:00Z', DEFAULT_POLICY)).toBe('2026-01-31T00:00:00.000Z');
    expect(nextReviewDue({ approvedAt: '2026-01-01T00:00:00.000Z' }, '2025-01-01T00:00:00Z', DEFAULT_POLICY)).toBe('2026-04-01T00:00:00.000Z');
  });
  it('R05: inactivity counts from the latest of activity, activation, approval', () => {
    expect(activityReference({ lifecycleState: 'active', stateChangedAt: '2026-03-01T00:00:00.000Z', lastActivityAt: '2026-02-01T00:00:00Z' }, '2026-01-01T00:00:00Z')).toBe('2026-03-01T00:00:00.000Z');
  });
  it('R11: expired beats stale; federated credentials do not age', () => {
    const now = '2026-06-01T00:00:00.000Z';
    expect(credentialFacts({ credentials: [{ credentialId: 'a', type: 'apiKey', createdAt: '2026-01-01T00:00:00Z' }] }, now, DEFAULT_POLICY).status).toBe('stale');
    expect(credentialFacts({ credentials: [{ credentialId: 'a', type: 'spiffe', createdAt: '2020-01-01T00:00:00Z' }] }, now, DEFAULT_POLICY).status).toBe('ok');
    expect(credentialFacts({ credentials: [{ credentialId: 'a', type: 'jwk', expiresAt: '2026-05-01T00:00:00Z' }, { credentialId: 'b', type: 'apiKey', createdAt: '2026-01-01T00:00:00Z' }] }, now, DEFAULT_POLICY)).toMatchObject({ status: 'expired', staleCount: 2 });
    expect(credentialFacts({ credentials: [{ credentialId: 'a', type: 'apiKey', status: 'revoked', createdAt: '2020-01-01T00:00:00Z' }] }, now, DEFAULT_POLICY).status).toBeUndefined();
  });
  it('compliance issues keep their "since"', () => {
    const a = agent({ sponsorStatus: 'departed', sponsorDepartedAt: '2026-05-01T00:00:00.000Z', nextReviewDue: '2026-05-15T00:00:00.000Z', stateChangedAt: '2026-05-01T00:00:00Z' });
    const issues = complianceIssues(a, '2026-01-01T00:00:00Z', '2026-06-01T00:00:00.000Z', { ...DEFAULT_POLICY, minSponsors: 2 });
    expect(issues).toEqual([
      { type: 'sponsorDeparted', since: '2026-05-01T00:00:00.000Z' },
      { type: 'minSponsors', since: '2026-06-01T00:00:00.000Z' },
      { type: 'reviewOverdue', since: '2026-05-15T00:00:00.000Z' },
    ]);
    const later = complianceIssues({ ...a, [G]: { ...(a[G] as Json), complianceIssues: issues } }, '2026-01-01T00:00:00Z', '2026-06-10T00:00:00.000Z', { ...DEFAULT_POLICY, minSponsors: 2 });
    expect(later.find((i) => i.type === 'minSponsors')!.since).toBe('2026-06-01T00:00:00.000Z');
    expect(complianceIssues(agent({ lifecycleState: 'retired', sponsorStatus: 'departed' }), '2026-01-01T00:00:00Z', '2026-06-01T00:00:00Z', DEFAULT_POLICY)).toEqual([]);
  });
  it('seat limits by team id or name, "*" for the rest', () => {
    const p = { ...DEFAULT_POLICY, seatLimits: { 'Payments Team': 2, '*': 5 } };
    expect(seatLimitOf(p, { value: 'g-1', display: 'payments team' })).toBe(2);
    expect(seatLimitOf(p, { value: 'g-2' })).toBe(5);
    expect(seatLimitOf(DEFAULT_POLICY, { value: 'g-2' })).toBeUndefined();
  });
});
