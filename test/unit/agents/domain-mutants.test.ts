// Rules of the agent domain pinned where mutation testing found them loose: value equality and
// canonical key order, how a write is classified, action-policy
// coverage, profile consistency, the oldest credential, sponsor succession, the signed content.

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { canonical, deepEqual } from '../../../src/agents/canonical.js';
import { classifyChange } from '../../../src/agents/changes.js';
import { policyCovers } from '../../../src/agents/grants.js';
import { DEFAULT_POLICY } from '../../../src/agents/policy.js';
import { profileViolations } from '../../../src/agents/profile.js';
import { actionPolicyDigest, recordContent } from '../../../src/agents/records/claims.js';
import { credentialFacts } from '../../../src/agents/reviews.js';
import { afterReturn, chooseSuccessor, type Person } from '../../../src/agents/sponsor.js';
import { GOVERNANCE_URN as GOV, type Json } from '../../../src/agents/util.js';
import { canonicalJson } from '../../../src/store/canonical-json.js';

describe('deepEqual: null, primitives and objects are never equal to one another', () => {
  it.each([
    [null, {}],
    [{}, null],
    [1, {}],
    [{}, 1],
    ['a', {}],
    [{}, 'a'],
    [1, 2],
    [{ a: null }, { a: {} }],
    [{ a: {} }, { a: null }],
    [[{}], [null]],
  ])('%j ≠ %j', (a, b) => {
    expect(deepEqual(a, b)).toBe(false);
  });
});

describe('canonical: keys in UTF-16 code-unit order (RFC 8785 §3.2.3), however many', () => {
  it('sorts a large object whatever its insertion order', () => {
    // enough keys for the engine's merge sort (not only insertion sort) to run
    const keys = Array.from({ length: 300 }, (_, i) => `k${String((i * 7919) % 1000).padStart(3, '0')}`);
    keys.push('\u{1F600}', '\uFFFD', 'Z', 'a', 'é', '');
    const obj = Object.fromEntries(keys.map((k, i) => [k, i]));
    const sorted = [...keys].sort(); // Array.prototype.sort: UTF-16 code units
    expect(sorted.indexOf('\u{1F600}')).toBeLessThan(sorted.indexOf('\uFFFD')); // surrogates before U+FFFD
    const expected = `{${sorted.map((k) => `${JSON.stringify(k)}:${obj[k]}`).join(',')}}`;
    expect(canonical(obj)).toBe(expected);
    expect(canonical(obj)).toBe(canonicalJson(obj));
  });
});

describe('classifyChange', () => {
  const agent = (g: Json, extra: Json = {}): Json => ({ agentUserName: 'bot', ...extra, [GOV]: g });

  it('entitlements without a value are no grant and no revocation', () => {
    const withJunk = agent({ lifecycleState: 'active' }, { entitlements: [{ display: 'no value' }] });
    const without = agent({ lifecycleState: 'active' }, { entitlements: [] });
    expect(classifyChange(without, withJunk)).toMatchObject({ restrictive: [], expansive: [] });
    expect(classifyChange(withJunk, without)).toMatchObject({ restrictive: [], expansive: [] });
  });

  it('a stateReason change rides along with a suspension, not with any other restrictive change', () => {
    const prev = agent({ lifecycleState: 'active', stateReason: 'manual' }, { entitlements: [{ value: 'read' }] });
    const next = agent({ lifecycleState: 'active', stateReason: 'policyViolation' }, { entitlements: [] });
    const c = classifyChange(prev, next);
    expect(c.restrictive).toEqual(['revoke entitlement read']);
    expect(c.expansive).toEqual(['change stateReason']);
  });

  it('an activation covers its stateReason, not other edits made with it', () => {
    const prev = agent({ lifecycleState: 'suspended', stateReason: 'manual', purpose: 'old' });
    const next = agent({ lifecycleState: 'active', stateReason: 'approvalPending', purpose: 'new' });
    const c = classifyChange(prev, next);
    expect(c.activation).toBe(true);
    expect(c.expansive).toEqual(['change purpose']);
  });
});

describe('policyCovers', () => {
  it.each([
    ['*', 'admin', true],
    ['admin', 'admin', true],
    ['adm*', 'admin', true],
    ['', 'admin', false],
    ['admin.*', 'admin', false],
  ])('%j covers %j: %s', (action, value, covers) => {
    expect(policyCovers(action, value)).toBe(covers);
  });
});

describe('profileViolations', () => {
  const r11 = (g: Json) => profileViolations({}, g, 'a1').filter((v) => v.message.includes('(R11)'));

  it.each([
    ['a live apiKey among other credentials', [{ type: 'apiKey' }, { type: 'x509' }], 1],
    ['only a revoked apiKey', [{ type: 'apiKey', status: 'revoked' }], 0],
    ['no credentials', [], 0],
    ['only certificates', [{ type: 'x509' }], 0],
  ])('high-risk agent with %s: %i R11 violation(s)', (_name, credentials, n) => {
    expect(r11({ riskTier: 'high', credentials })).toHaveLength(n);
  });

  it('a parent without a value is not "its own parent" of an agent being created', () => {
    expect(profileViolations({ parent: { display: 'p' } }, {}, undefined)).toEqual([]);
  });

  it('a budget without an amount is valid', () => {
    expect(profileViolations({}, { budget: { currency: 'EUR', limitType: 'cost' } }, 'a1')).toEqual([]);
    expect(profileViolations({}, { budget: { amount: -1 } }, 'a1').map((v) => v.message)).toEqual(['budget.amount cannot be negative']);
  });
});

describe('credentialFacts', () => {
  it('oldestRotationAt is the oldest of all live credentials, not the first listed', () => {
    const f = credentialFacts(
      {
        credentials: [
          { type: 'x509', createdAt: '2026-02-01T00:00:00.000Z' },
          { type: 'x509', lastRotatedAt: '2026-01-01T00:00:00.000Z' },
          { type: 'x509', createdAt: '2026-03-01T00:00:00.000Z' },
        ],
      },
      '2026-03-02T00:00:00.000Z',
      DEFAULT_POLICY,
    );
    expect(f.oldestRotationAt).toBe('2026-01-01T00:00:00.000Z');
  });
});

describe('sponsors', () => {
  const departed: Person = { id: 'u-gone', kind: 'human', active: false };

  it('only an active human co-sponsor is promoted: a Group or an agent is skipped', () => {
    const people = new Map<string, Person>([
      ['g1', { id: 'g1', kind: 'group', active: true }],
      ['a2', { id: 'a2', kind: 'agent', active: true }],
      ['u2', { id: 'u2', kind: 'human', active: true }],
    ]);
    const agent = { id: 'a1', [GOV]: { coSponsors: [{ value: 'g1' }, { value: 'a2' }, { value: 'u2' }] } };
    expect(chooseSuccessor(agent, departed, people, DEFAULT_POLICY)?.person.id).toBe('u2');
    const onlyGroup = { id: 'a1', [GOV]: { coSponsors: [{ value: 'g1' }] } };
    expect(chooseSuccessor(onlyGroup, departed, people, DEFAULT_POLICY)).toBeUndefined();
  });

  it('afterReturn keeps the rest of the governance extension', () => {
    const agent = { id: 'a1', [GOV]: { lifecycleState: 'active', purpose: 'p', sponsorStatus: 'departed', sponsorDepartedAt: 'x' } };
    const back = afterReturn(agent, { id: 'u1', kind: 'human', active: true, display: 'U' });
    expect(back[GOV]).toEqual({ lifecycleState: 'active', purpose: 'p', sponsorStatus: 'ok', sponsor: { value: 'u1', display: 'U', status: 'active' } });
  });
});

describe('record content', () => {
  it('empty strings count as absent', () => {
    const c = recordContent({
      agentUserName: 'bot',
      owners: [{ value: '' }, { value: 'o1', type: '', display: '' }],
      entitlements: [{ value: '' }, { value: 'read', expiresAt: '' }],
      [GOV]: { sponsor: { value: 'u1', display: '', email: '' }, lifecycleState: 'active' },
    });
    expect(c.owners).toStrictEqual([{ value: 'o1' }]);
    expect(c.entitlements).toStrictEqual([{ value: 'read' }]);
    expect(c.sponsor).toStrictEqual({ value: 'u1' });
    expect(recordContent({ [GOV]: { sponsor: { value: '' } } }).sponsor).toBeUndefined();
  });

  it('owners that are not objects are ignored', () => {
    expect(recordContent({ agentUserName: 'bot', owners: [null, 'o2', 5, { value: 'o1' }] }).owners).toEqual([{ value: 'o1' }]);
  });

  it('actionPolicyDigest sorts by JCS text only, as documented, even when a policy has a "value" member', () => {
    const z = { action: 'z' };
    const a = { action: 'a', value: 'x' };
    const expected = `sha-256:${createHash('sha256').update(canonicalJson([a, z])).digest('base64url')}`;
    expect(actionPolicyDigest([z, a])).toBe(expected);
    expect(actionPolicyDigest([a, z, a])).toBe(expected);
  });
});
