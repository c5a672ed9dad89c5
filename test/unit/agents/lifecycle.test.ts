// The lifecycle (standards.md §4.3) as a table: every from → to pair, the reason a transition gets
// when the caller gives none, and what blocks an activation.

import { describe, expect, it } from 'vitest';
import { activationBlockers, defaultReason, isRestrictiveTransition, isState, type LifecycleState, STATES, transitionViolation } from '../../../src/agents/lifecycle.js';
import { DEFAULT_POLICY, seatLimitOf } from '../../../src/agents/policy.js';

const ALLOWED: Record<LifecycleState, LifecycleState[]> = {
  pending: ['pending', 'active', 'retired'],
  active: ['active', 'suspended', 'retired'],
  suspended: ['suspended', 'active', 'retired'],
  retired: ['retired'],
};

describe('transitionViolation: the whole matrix', () => {
  const pairs = STATES.flatMap((from) => STATES.map((to) => [from, to, ALLOWED[from].includes(to)] as const));
  it.each(pairs)('%s → %s allowed: %s', (from, to, ok) => {
    const v = transitionViolation(from, to);
    if (ok) expect(v).toBeUndefined();
    else expect(v).toMatchObject({ status: 400, scimType: 'invalidValue' });
  });

  it('the refusal says what is allowed instead', () => {
    expect(transitionViolation('pending', 'suspended')?.message).toBe('lifecycleState cannot change from pending to suspended (allowed: active, retired)');
    expect(transitionViolation('active', 'pending')?.message).toBe('lifecycleState cannot change from active to pending (allowed: suspended, retired)');
    expect(transitionViolation('retired', 'active')?.message).toBe('a retired agent is a tombstone: it cannot become active');
  });

  it.each([
    ['pending', true],
    ['active', true],
    ['suspended', true],
    ['retired', false],
  ] as const)('created %s allowed: %s', (to, ok) => {
    const v = transitionViolation(undefined, to);
    if (ok) expect(v).toBeUndefined();
    else expect(v?.message).toBe('an agent cannot be created retired');
  });
});

describe('isState and isRestrictiveTransition', () => {
  it.each([['pending'], ['active'], ['suspended'], ['retired']])('%s is a state', (s) => expect(isState(s)).toBe(true));
  it.each([['Active'], [''], ['deleted'], [1], [undefined], [null]])('%s is not a state', (s) => expect(isState(s)).toBe(false));

  it.each([
    [undefined, 'suspended', true],
    [undefined, 'retired', true],
    [undefined, 'active', false],
    ['active', 'suspended', true],
    ['active', 'retired', true],
    ['suspended', 'retired', true],
    ['pending', 'retired', true],
    ['suspended', 'suspended', false],
    ['retired', 'retired', false],
    ['suspended', 'active', false],
    ['active', 'pending', false],
  ] as const)('%s → %s restrictive: %s', (from, to, want) => {
    expect(isRestrictiveTransition(from, to)).toBe(want);
  });
});

describe('defaultReason: by target state and actor', () => {
  it.each([
    ['pending', 'client', 'approvalPending'],
    ['pending', 'iga', 'approvalPending'],
    ['active', 'client', undefined],
    ['active', 'iga', undefined],
    ['suspended', 'connector', 'externalDisable'],
    ['suspended', 'iga', 'certificationRevoked'],
    ['suspended', 'client', 'manual'],
    ['suspended', 'governance', 'manual'],
    ['retired', 'iga', 'certificationRevoked'],
    ['retired', 'client', 'decommissioned'],
    ['retired', 'connector', 'decommissioned'],
    ['retired', 'governance', 'decommissioned'],
  ] as const)('%s by %s → %s', (to, actor, want) => {
    expect(defaultReason(to, actor)).toBe(want);
  });
});

describe('activationBlockers', () => {
  const now = '2026-05-01T00:00:00.000Z';
  it.each([
    ['nothing', {}, []],
    ['sponsor ok', { sponsorStatus: 'ok' }, []],
    ['sponsor transferPending', { sponsorStatus: 'transferPending' }, []],
    ['sponsor departed', { sponsorStatus: 'departed' }, ['the sponsor is departed: assign an active sponsor first']],
    ['sponsor missing', { sponsorStatus: 'missing' }, ['the sponsor is missing: assign an active sponsor first']],
    ['review due later', { nextReviewDue: '2026-05-01T00:00:00.001Z' }, []],
    ['review due now', { nextReviewDue: now }, ['the review is overdue: certify the agent first (POST …/certifications)']],
    ['review overdue', { nextReviewDue: '2026-04-01T00:00:00Z' }, ['the review is overdue: certify the agent first (POST …/certifications)']],
    ['validFrom now', { validFrom: now }, []],
    ['validFrom in the past', { validFrom: '2026-04-01T00:00:00Z' }, []],
    ['validFrom in the future', { validFrom: '2026-05-01T00:00:00.001Z' }, ['validFrom 2026-05-01T00:00:00.001Z is in the future']],
    ['validUntil later', { validUntil: '2026-05-01T00:00:00.001Z' }, []],
    ['validUntil now', { validUntil: now }, [`validUntil ${now} has passed`]],
    ['validUntil passed', { validUntil: '2026-04-01T00:00:00Z' }, ['validUntil 2026-04-01T00:00:00Z has passed']],
    ['unparseable dates block nothing', { nextReviewDue: 'soon', validFrom: 'x', validUntil: 'y' }, []],
  ] as const)('%s', (_label, g, want) => {
    expect(activationBlockers({ ...g }, now)).toEqual(want);
  });
});

describe('seatLimitOf', () => {
  const p = { ...DEFAULT_POLICY, seatLimits: { 'Payments Team': 2, 'g-9': 4, '*': 5 } };
  it.each([
    [{ value: 'g-1', display: 'payments team' }, 2],
    [{ value: 'G-9' }, 4],
    [{ value: 'g-9', display: 'Payments Team' }, 4],
    [{ value: 'PAYMENTS TEAM' }, 2],
    [{ value: 'g-2', display: 'other' }, 5],
    [{ value: 'g-2' }, 5],
  ])('%o → %s', (team, want) => {
    expect(seatLimitOf(p, team)).toBe(want);
  });
  it('no limits, no "*": no limit', () => {
    expect(seatLimitOf({ ...DEFAULT_POLICY, seatLimits: { a: 1 } }, { value: 'b', display: 'c' })).toBeUndefined();
  });
  it('a limit of 0 is a limit', () => {
    expect(seatLimitOf({ ...DEFAULT_POLICY, seatLimits: { a: 0, '*': 3 } }, { value: 'a' })).toBe(0);
  });
});
