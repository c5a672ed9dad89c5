// The coworker profile's consistency rules (R11, R12 within one agent, R22, budgets, action
// policies, memory, skills): what a client may not write, with the message it gets.

import { describe, expect, it } from 'vitest';
import { profileViolations } from '../../../src/agents/profile.js';
import type { Json } from '../../../src/agents/util.js';

const messages = (g: Json, core: Json = {}, id: string | undefined = 'a1') => profileViolations(core, g, id).map((v) => v.message);

describe('profileViolations', () => {
  const thirdParty = { organization: 'Vendor', vendorReviewedAt: '2026-01-01T00:00:00Z', thirdParty: true };
  it.each([
    ['an empty profile', {}, []],
    ['a complete third-party agent', { provider: thirdParty, platform: 'p', riskTier: 'low' }, []],
    ['a first-party agent needs none of it', { provider: { thirdParty: false } }, []],
    ['a third-party agent missing everything', { provider: { thirdParty: true } }, ['a third-party agent (provider.thirdParty) needs provider.organization, platform, riskTier, provider.vendorReviewedAt (R22)']],
    ['a third-party agent missing its platform', { provider: thirdParty, riskTier: 'low' }, ['a third-party agent (provider.thirdParty) needs platform (R22)']],
    ['a third-party agent missing its risk tier', { provider: thirdParty, platform: 'p' }, ['a third-party agent (provider.thirdParty) needs riskTier (R22)']],
    ['a third-party agent with an empty organization', { provider: { ...thirdParty, organization: '' }, platform: 'p', riskTier: 'low' }, ['a third-party agent (provider.thirdParty) needs provider.organization (R22)']],
    ['a third-party agent never reviewed', { provider: { ...thirdParty, vendorReviewedAt: undefined }, platform: 'p', riskTier: 'low' }, ['a third-party agent (provider.thirdParty) needs provider.vendorReviewedAt (R22)']],

    ['a high-risk agent with an apiKey', { riskTier: 'high', credentials: [{ credentialId: 'c', type: 'apiKey' }] }, ['a high-risk agent cannot register an apiKey credential; use a federated or certificate credential (R11)']],
    ['a critical-risk agent with an active apiKey', { riskTier: 'critical', credentials: [{ credentialId: 'c', type: 'apiKey', status: 'active' }] }, ['a critical-risk agent cannot register an apiKey credential; use a federated or certificate credential (R11)']],
    ['a high-risk agent with a revoked apiKey', { riskTier: 'high', credentials: [{ credentialId: 'c', type: 'apiKey', status: 'revoked' }] }, []],
    ['a high-risk agent with a certificate', { riskTier: 'high', credentials: [{ credentialId: 'c', type: 'x509' }] }, []],
    ['a medium-risk agent with an apiKey', { riskTier: 'medium', credentials: [{ credentialId: 'c', type: 'apiKey' }] }, []],

    ['a credential id twice', { credentials: [{ credentialId: 'c' }, { credentialId: 'c' }] }, ['credentials: credentialId "c" is listed twice']],
    ['two credentials', { credentials: [{ credentialId: 'c' }, { credentialId: 'd' }] }, []],
    ['a thumbprint twice, in any case', { credentials: [{ credentialId: 'c', keyThumbprint: 'AbC' }, { credentialId: 'd', keyThumbprint: 'aBc' }] }, ['credentials: a keyThumbprint is listed twice']],
    ['two thumbprints', { credentials: [{ credentialId: 'c', keyThumbprint: 'abc' }, { credentialId: 'd', keyThumbprint: 'abd' }] }, []],
    ['empty ids and thumbprints are not compared', { credentials: [{ credentialId: '', keyThumbprint: '' }, { credentialId: '', keyThumbprint: '' }] }, []],
    ['a credential that expires before it was created', { credentials: [{ credentialId: 'c', createdAt: '2026-02-01T00:00:00Z', expiresAt: '2026-01-01T00:00:00Z' }] }, ['credentials: "c" expires before it was created']],
    ['a credential that expires as it is created', { credentials: [{ createdAt: '2026-02-01T00:00:00Z', expiresAt: '2026-02-01T00:00:00Z' }] }, ['credentials: "?" expires before it was created']],
    ['a credential that expires later', { credentials: [{ credentialId: 'c', createdAt: '2026-01-01T00:00:00Z', expiresAt: '2026-01-01T00:00:01Z' }] }, []],

    ['a validity window that ends before it starts', { validFrom: '2026-02-01T00:00:00Z', validUntil: '2026-01-01T00:00:00Z' }, ['validUntil must be after validFrom']],
    ['a validity window of no length', { validFrom: '2026-02-01T00:00:00Z', validUntil: '2026-02-01T00:00:00Z' }, ['validUntil must be after validFrom']],
    ['a validity window', { validFrom: '2026-02-01T00:00:00Z', validUntil: '2026-02-01T00:00:01Z' }, []],
    ['only an end', { validUntil: '2026-01-01T00:00:00Z' }, []],

    ['a negative limit', { actionPolicies: [{ action: 'a', limitAmount: -1 }] }, ['actionPolicies[0].limitAmount cannot be negative']],
    ['a zero limit', { actionPolicies: [{ action: 'a', limitAmount: 0 }] }, []],
    ['a currency that is not ISO 4217', { actionPolicies: [{ action: 'a', limitAmount: 5, limitCurrency: 'eur' }] }, ['actionPolicies[0].limitCurrency must be an ISO 4217 code such as "EUR"']],
    ['a currency with more', { actionPolicies: [{ action: 'a', limitAmount: 5, limitCurrency: 'EURO' }] }, ['actionPolicies[0].limitCurrency must be an ISO 4217 code such as "EUR"']],
    ['a currency without an amount', { actionPolicies: [{ action: 'a' }, { action: 'b', limitCurrency: 'EUR' }] }, ['actionPolicies[1]: limitCurrency needs limitAmount']],
    ['an amount and currency', { actionPolicies: [{ action: 'a', limitAmount: 5, limitCurrency: 'EUR' }] }, []],
    ['two policies for one action', { actionPolicies: [{ action: 'a', mode: 'allow' }, { action: 'b' }, { action: 'a', mode: 'deny' }] }, ['actionPolicies: action "a" has two policies']],

    ['a negative budget', { budget: { amount: -1 } }, ['budget.amount cannot be negative']],
    ['a budget that is not a number', { budget: { amount: '5' } }, ['budget.amount cannot be negative']],
    ['a zero budget', { budget: { amount: 0, currency: 'USD' } }, []],
    ['a budget currency that is not ISO 4217', { budget: { amount: 1, currency: 'dollars' } }, ['budget.currency must be an ISO 4217 code such as "EUR"']],
    ['a token budget with a currency', { budget: { amount: 1, limitType: 'tokens', currency: 'EUR' } }, ['budget: a tokens budget has no currency']],
    ['a request budget with a currency', { budget: { amount: 1, limitType: 'requests', currency: 'EUR' } }, ['budget: a requests budget has no currency']],
    ['a cost budget with a currency', { budget: { amount: 1, limitType: 'cost', currency: 'EUR' } }, []],
    ['a token budget', { budget: { amount: 1, limitType: 'tokens' } }, []],

    ['memory: none and something else', { memoryPolicy: { retains: ['none', 'conversations'] } }, ['memoryPolicy.retains: "none" excludes every other value']],
    ['memory: none', { memoryPolicy: { retains: ['none'] } }, []],
    ['memory: none, kept 0 days', { memoryPolicy: { retains: ['none'], retentionDays: 0 } }, []],
    ['memory: none, kept for days', { memoryPolicy: { retains: ['none'], retentionDays: 3 } }, ['memoryPolicy: an agent that retains nothing has no retentionDays']],
    ['memory: a negative retention', { memoryPolicy: { retains: ['conversations'], retentionDays: -1 } }, ['memoryPolicy.retentionDays cannot be negative']],
    ['memory: kept for days', { memoryPolicy: { retains: ['conversations'], retentionDays: 3 } }, []],
    ['memory: retains is not a list', { memoryPolicy: { retains: 'none', retentionDays: 3 } }, []],

    ['a skill twice, in any case', { skills: [{ type: 'tool', name: 'Search' }, { type: 'tool', name: 'search' }] }, ['skills: "search" is listed twice']],
    ['a skill name with a colon twice', { skills: [{ type: 'tool', name: 'a:b' }, { type: 'tool', name: 'A:B' }] }, ['skills: "a:b" is listed twice']],
    ['the same name as two kinds of skill', { skills: [{ type: 'tool', name: 'search' }, { type: 'mcp', name: 'search' }] }, []],
  ] as const)('%s', (_label, g, want) => {
    expect(messages(JSON.parse(JSON.stringify(g)) as Json)).toEqual(want);
  });

  it('every violation is a 400 invalidValue', () => {
    for (const v of profileViolations({}, { budget: { amount: -1 } }, 'a1')) expect(v).toMatchObject({ status: 400, scimType: 'invalidValue' });
  });

  it('an agent cannot be its own parent', () => {
    expect(messages({}, { parent: { value: 'a1' } })).toEqual(['parent: an agent cannot be its own parent']);
    expect(messages({}, { parent: { value: 'a2' } })).toEqual([]);
    expect(profileViolations({ parent: { value: 'a1' } }, {}, undefined)).toEqual([]);
  });

  it('several violations are all reported', () => {
    expect(messages({ budget: { amount: -1, currency: 'x' }, validFrom: '2026-02-01T00:00:00Z', validUntil: '2026-01-01T00:00:00Z' })).toEqual([
      'validUntil must be after validFrom',
      'budget.amount cannot be negative',
      'budget.currency must be an ISO 4217 code such as "EUR"',
    ]);
  });
});
