// Time-based governance facts (R02, R04, R05, R11, R25): review intervals and due dates, credential
// age, inactivity, and the compliance issues the scheduler acts on.

import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY, type GovernancePolicy } from '../../../src/agents/policy.js';
import {
  activityReference,
  complianceIssues,
  credentialFacts,
  ISSUE_TYPES,
  issueOf,
  lastedDays,
  nextReviewDue,
  reviewInterval,
  reviewIntervalViolation,
} from '../../../src/agents/reviews.js';
import { GOVERNANCE_URN as G, type Json } from '../../../src/agents/util.js';

const NOW = '2026-06-01T00:00:00.000Z';
const day = (n: number, from = NOW) => new Date(Date.parse(from) + n * 86_400_000).toISOString();

describe('R04: review interval and due date', () => {
  it.each([
    [undefined, true],
    [30, true],
    [90, true],
    [730, true],
    [29, false],
    [731, false],
    [45.5, false],
    ['90', false],
    [null, false],
  ])('reviewIntervalDays %s valid: %s', (v, ok) => {
    const violation = reviewIntervalViolation(v === undefined ? {} : { reviewIntervalDays: v });
    if (ok) expect(violation).toBeUndefined();
    else expect(violation).toEqual({ status: 400, scimType: 'invalidValue', message: 'reviewIntervalDays must be an integer from 30 to 730 (R04)' });
  });

  it('the agent\'s own interval, else the policy\'s', () => {
    expect(reviewInterval({ reviewIntervalDays: 45 }, DEFAULT_POLICY)).toBe(45);
    expect(reviewInterval({}, DEFAULT_POLICY)).toBe(90);
    expect(reviewInterval({}, { ...DEFAULT_POLICY, reviewIntervalDays: 60 })).toBe(60);
  });

  it.each([
    ['last review + interval', { lastReviewedAt: '2026-01-01T00:00:00.000Z', approvedAt: '2025-12-01T00:00:00.000Z', reviewIntervalDays: 30 }, '2026-01-31T00:00:00.000Z'],
    ['approval counts as a review', { approvedAt: '2026-01-01T00:00:00.000Z' }, '2026-04-01T00:00:00.000Z'],
    ['else creation', {}, '2025-04-01T00:00:00.000Z'],
    ['an empty date is no date', { lastReviewedAt: '', approvedAt: '' }, '2025-04-01T00:00:00.000Z'],
  ])('%s', (_label, g, want) => {
    expect(nextReviewDue(g, '2025-01-01T00:00:00.000Z', DEFAULT_POLICY)).toBe(want);
  });
});

describe('R11: credential facts', () => {
  const facts = (creds: Json[], policy: GovernancePolicy = DEFAULT_POLICY) => credentialFacts({ credentials: creds }, NOW, policy);
  it.each([
    ['no credentials', [], { status: undefined, count: 0, staleCount: 0 }],
    ['only revoked ones', [{ type: 'apiKey', status: 'revoked', createdAt: day(-400) }], { status: undefined, count: 1, staleCount: 0 }],
    ['a fresh key', [{ type: 'apiKey', createdAt: day(-89) }], { status: 'ok', count: 1, staleCount: 0, oldestRotationAt: day(-89) }],
    ['a key exactly at the maximum age', [{ type: 'apiKey', createdAt: day(-90) }], { status: 'stale', count: 1, staleCount: 1, oldestRotationAt: day(-90) }],
    ['a rotated key counts from its rotation', [{ type: 'x509', createdAt: day(-400), lastRotatedAt: day(-10) }], { status: 'ok', count: 1, staleCount: 0, oldestRotationAt: day(-10) }],
    ['oauthClient and jwk age too', [{ type: 'oauthClient', createdAt: day(-100) }, { type: 'jwk', createdAt: day(-100) }], { status: 'stale', count: 2, staleCount: 2, oldestRotationAt: day(-100) }],
    ['federated credentials do not age', [{ type: 'federated', createdAt: day(-1000) }], { status: 'ok', count: 1, staleCount: 0, oldestRotationAt: day(-1000) }],
    ['expired at expiresAt', [{ type: 'federated', expiresAt: NOW }], { status: 'expired', count: 1, staleCount: 1 }],
    ['not expired before', [{ type: 'federated', expiresAt: day(1) }], { status: 'ok', count: 1, staleCount: 0 }],
    ['expired beats stale', [{ type: 'apiKey', createdAt: day(-100) }, { type: 'jwk', expiresAt: day(-1), createdAt: day(-2) }], { status: 'expired', count: 2, staleCount: 2, oldestRotationAt: day(-100) }],
    ['an active status is live', [{ type: 'apiKey', status: 'active', createdAt: day(-100) }], { status: 'stale', count: 1, staleCount: 1, oldestRotationAt: day(-100) }],
    ['a stale status is not live', [{ type: 'apiKey', status: 'stale', createdAt: day(-100) }, { type: 'jwk', createdAt: day(-1) }], { status: 'ok', count: 2, staleCount: 0, oldestRotationAt: day(-1) }],
    ['no dates: not stale', [{ type: 'apiKey' }], { status: 'ok', count: 1, staleCount: 0 }],
  ] as const)('%s', (_label, creds, want) => {
    expect(facts(creds.map((c) => ({ ...c })))).toEqual(want);
  });

  it('the maximum age is the policy\'s', () => {
    expect(facts([{ type: 'apiKey', createdAt: day(-20) }], { ...DEFAULT_POLICY, maxCredentialAgeDays: 20 }).status).toBe('stale');
    expect(facts([{ type: 'apiKey', createdAt: day(-20) }], { ...DEFAULT_POLICY, maxCredentialAgeDays: 21 }).status).toBe('ok');
  });
});

describe('R05: activity reference', () => {
  it.each([
    ['the latest activity', { lifecycleState: 'active', lastActivityAt: day(-1), stateChangedAt: day(-5), approvedAt: day(-9) }, day(-1)],
    ['a later (re)activation', { lifecycleState: 'active', lastActivityAt: day(-10), stateChangedAt: day(-5), approvedAt: day(-9) }, day(-5)],
    ['a state change while not active does not restart the clock', { lifecycleState: 'suspended', lastActivityAt: day(-10), stateChangedAt: day(-5) }, day(-10)],
    ['a later approval', { lifecycleState: 'active', approvedAt: day(-3), lastActivityAt: day(-10) }, day(-3)],
    ['never seen: creation', {}, day(-100)],
  ])('%s', (_label, g, want) => {
    expect(activityReference(g, day(-100))).toBe(want);
  });
});

describe('compliance issues', () => {
  const agent = (g: Json): Json => ({ id: 'a1', [G]: { lifecycleState: 'active', lastActivityAt: day(-1), ...g } });
  const issues = (g: Json, policy: GovernancePolicy = DEFAULT_POLICY) => complianceIssues(agent(g), day(-200), NOW, policy);

  it.each([
    ['none', {}, []],
    ['sponsor departed', { sponsorStatus: 'departed', sponsorDepartedAt: day(-3) }, [{ type: 'sponsorDeparted', since: day(-3) }]],
    ['sponsor missing (since now)', { sponsorStatus: 'missing' }, [{ type: 'sponsorDeparted', since: NOW }]],
    ['sponsor unconfirmed', { sponsorStatus: 'transferPending' }, [{ type: 'sponsorUnconfirmed', since: NOW }]],
    ['sponsor ok', { sponsorStatus: 'ok' }, []],
    ['review overdue', { nextReviewDue: day(-2) }, [{ type: 'reviewOverdue', since: day(-2) }]],
    ['review due right now', { nextReviewDue: NOW }, [{ type: 'reviewOverdue', since: NOW }]],
    ['review due later', { nextReviewDue: day(1) }, []],
    ['inactive', { lastActivityAt: day(-91) }, [{ type: 'inactive', since: day(-1) }]],
    ['inactive since exactly now', { lastActivityAt: day(-90) }, [{ type: 'inactive', since: NOW }]],
    ['not quite inactive', { lastActivityAt: day(-89) }, []],
    ['a suspended agent is never inactive', { lifecycleState: 'suspended', lastActivityAt: day(-150) }, []],
    ['a pending agent is never inactive', { lifecycleState: 'pending', lastActivityAt: day(-150) }, []],
    ['credential expired', { credentials: [{ type: 'jwk', expiresAt: day(-1) }] }, [{ type: 'credentialExpired', since: NOW }]],
    ['credential stale', { credentials: [{ type: 'apiKey', createdAt: day(-100) }] }, [{ type: 'credentialStale', since: NOW }]],
    ['credential ok', { credentials: [{ type: 'apiKey', createdAt: day(-10) }] }, []],
    ['validity expired', { validUntil: day(-4) }, [{ type: 'validityExpired', since: day(-4) }]],
    ['validity ends now', { validUntil: NOW }, [{ type: 'validityExpired', since: NOW }]],
    ['validity ends later', { validUntil: day(4) }, []],
  ])('%s', (_label, g, want) => {
    expect(issues(g)).toEqual(want);
  });

  it('minSponsors counts the sponsor and co-sponsors', () => {
    const p = { ...DEFAULT_POLICY, minSponsors: 3 };
    expect(issues({ coSponsors: [{ value: 'c1' }] }, p)).toEqual([{ type: 'minSponsors', since: NOW }]);
    expect(issues({ coSponsors: [{ value: 'c1' }, { value: 'c2' }] }, p)).toEqual([]);
    expect(issues({}, { ...DEFAULT_POLICY, minSponsors: 1 })).toEqual([]);
  });

  it('the inactivity period is the policy\'s', () => {
    expect(issues({ lastActivityAt: day(-10) }, { ...DEFAULT_POLICY, inactivityDays: 10 })).toEqual([{ type: 'inactive', since: NOW }]);
    expect(issues({ lastActivityAt: day(-10) }, { ...DEFAULT_POLICY, inactivityDays: 11 })).toEqual([]);
  });

  it('every issue at once, in ISSUE_TYPES order except the two sponsor states that exclude each other', () => {
    const all = issues(
      {
        sponsorStatus: 'departed',
        nextReviewDue: day(-1),
        lastActivityAt: day(-100),
        credentials: [{ type: 'jwk', expiresAt: day(-1) }],
        validUntil: day(-1),
      },
      { ...DEFAULT_POLICY, minSponsors: 2 },
    ).map((i) => i.type);
    expect(all).toEqual(['sponsorDeparted', 'minSponsors', 'reviewOverdue', 'inactive', 'credentialExpired', 'validityExpired']);
    expect(ISSUE_TYPES).toHaveLength(8);
  });

  it('a persisting issue keeps its since; a retired agent has none', () => {
    const first = issues({ sponsorStatus: 'missing', complianceIssues: [{ type: 'sponsorDeparted', since: day(-30) }, { type: 'inactive', since: day(-1) }] });
    expect(first).toEqual([{ type: 'sponsorDeparted', since: day(-30) }]);
    expect(issues({ lifecycleState: 'retired', sponsorStatus: 'departed', validUntil: day(-4) })).toEqual([]);
  });

  it('issueOf and lastedDays: the grace clocks', () => {
    const a = agent({ complianceIssues: [{ type: 'sponsorDeparted', since: day(-7) }, { type: 'inactive' }] });
    const i = issueOf(a, 'sponsorDeparted');
    expect(i).toEqual({ type: 'sponsorDeparted', since: day(-7) });
    expect(issueOf(a, 'inactive')).toBeUndefined();
    expect(issueOf(a, 'reviewOverdue')).toBeUndefined();
    expect(lastedDays(i, 7, NOW)).toBe(true);
    expect(lastedDays(i, 8, NOW)).toBe(false);
    expect(lastedDays(undefined, 0, NOW)).toBe(false);
  });
});
