// R15 ("permission to disable MUST NOT imply permission to enable"): what a write does to an agent,
// classified the way the permission rules read it. A restrictive entry lets a scim.revoke token
// through; an expansive one needs scim.write; activation needs agents.approve. So every row here is
// a permission decision: a widening classified as restrictive would let a revoke-only token widen.

import { describe, expect, it } from 'vitest';
import { type AgentChange, classifyChange } from '../../../src/agents/changes.js';
import { GOVERNANCE_URN as G, type Json } from '../../../src/agents/util.js';

const T1 = '2026-06-01T00:00:00.000Z';
const T0 = '2026-05-01T00:00:00.000Z';
const T2 = '2026-07-01T00:00:00.000Z';

/** An agent with core attributes and governance attributes. */
const agent = (gov: Json = {}, core: Json = {}): Json => ({
  id: 'a1',
  agentUserName: 'bot',
  ...core,
  [G]: { lifecycleState: 'active', ...gov },
});

type Expect = Pick<AgentChange, 'restrictive' | 'expansive' | 'activation'>;
const only = (c: AgentChange): Expect => ({ restrictive: c.restrictive, expansive: c.expansive, activation: c.activation });
const R = (...restrictive: string[]): Expect => ({ restrictive, expansive: [], activation: false });
const E = (...expansive: string[]): Expect => ({ restrictive: [], expansive, activation: false });
const NONE: Expect = { restrictive: [], expansive: [], activation: false };
const ACTIVATE: Expect = { restrictive: [], expansive: [], activation: true };

describe('classifyChange: lifecycle transitions', () => {
  it.each([
    ['active', 'suspended', R('suspend')],
    ['active', 'retired', R('retire')],
    ['suspended', 'retired', R('retire')],
    ['pending', 'retired', R('retire')],
    ['pending', 'active', ACTIVATE],
    ['suspended', 'active', ACTIVATE],
    ['active', 'pending', E('set lifecycleState pending')],
    ['suspended', 'pending', E('set lifecycleState pending')],
    ['active', 'active', NONE],
    ['suspended', 'suspended', NONE],
  ] as const)('%s → %s', (from, to, want) => {
    const c = classifyChange(agent({ lifecycleState: from }), agent({ lifecycleState: to }));
    expect(only(c)).toEqual(want);
    expect(c.from).toBe(from);
    expect(c.to).toBe(to);
  });

  it('an unknown state on either side is no state: nothing to classify for it', () => {
    const c = classifyChange(agent({ lifecycleState: 'bogus' }), agent({ lifecycleState: 'active' }));
    expect(c.from).toBeUndefined();
    expect(c.to).toBe('active');
    expect(c.activation).toBe(true);
    const d = classifyChange(agent({ lifecycleState: 'active' }), agent({ lifecycleState: 'bogus' }));
    expect(d.to).toBeUndefined();
    expect(only(d)).toEqual(NONE);
  });

  it('a stateReason that comes with a suspension, retirement or activation is part of it; alone it is an edit', () => {
    const reason = (from: string, to: string) =>
      only(classifyChange(agent({ lifecycleState: from, stateReason: 'manual' }), agent({ lifecycleState: to, stateReason: 'inactivity' })));
    expect(reason('active', 'suspended')).toEqual(R('suspend'));
    expect(reason('active', 'retired')).toEqual(R('retire'));
    expect(reason('suspended', 'active')).toEqual(ACTIVATE);
    expect(reason('active', 'active')).toEqual(E('change stateReason'));
    expect(reason('active', 'pending')).toEqual(E('set lifecycleState pending', 'change stateReason'));
  });
});

describe('classifyChange: creation', () => {
  it.each([
    ['active', { restrictive: [], expansive: ['create'], activation: true }],
    ['pending', { restrictive: [], expansive: ['create'], activation: false }],
    ['suspended', { restrictive: [], expansive: ['create'], activation: false }],
  ] as const)('created %s', (state, want) => {
    const c = classifyChange(undefined, agent({ lifecycleState: state, credentials: [{ credentialId: 'c', status: 'revoked' }] }, { entitlements: [{ value: 'x' }] }));
    expect(only(c)).toEqual(want);
    expect(c.from).toBeUndefined();
    expect(c.to).toBe(state);
  });
});

describe('classifyChange: entitlement and role grants', () => {
  const withGrants = (attr: 'entitlements' | 'roles', grants: Json[]) => agent({}, { [attr]: grants });
  const rows: [string, Json[], Json[], Expect][] = [
    ['revoke a grant', [{ value: 'x' }, { value: 'y' }], [{ value: 'y' }], R('revoke KIND x')],
    ['grant a new one', [{ value: 'y' }], [{ value: 'y' }, { value: 'z' }], E('grant KIND z')],
    ['shorten an expiry', [{ value: 'x', expiresAt: T1 }], [{ value: 'x', expiresAt: T0 }], R('shorten KIND x')],
    ['add an expiry where there was none', [{ value: 'x' }], [{ value: 'x', expiresAt: T1 }], R('shorten KIND x')],
    ['extend an expiry', [{ value: 'x', expiresAt: T1 }], [{ value: 'x', expiresAt: T2 }], E('extend KIND x')],
    ['remove an expiry', [{ value: 'x', expiresAt: T1 }], [{ value: 'x' }], E('extend KIND x')],
    ['the same expiry written differently', [{ value: 'x', expiresAt: T1 }], [{ value: 'x', expiresAt: '2026-06-01T02:00:00+02:00' }], NONE],
    ['server sub-attributes only', [{ value: 'x', grantId: 'g1', display: 'X', grantedAt: T0 }], [{ value: 'x', grantId: 'g2', display: 'Y', grantedAt: T1 }], NONE],
    ['a client sub-attribute', [{ value: 'x', justification: 'a' }], [{ value: 'x', justification: 'b' }], E('change KIND x')],
    ['a client sub-attribute and a shorter expiry', [{ value: 'x', expiresAt: T1, justification: 'a' }], [{ value: 'x', expiresAt: T0, justification: 'b' }], { restrictive: ['shorten KIND x'], expansive: ['change KIND x'], activation: false }],
    ['swap one grant for another', [{ value: 'x' }], [{ value: 'z' }], { restrictive: ['revoke KIND x'], expansive: ['grant KIND z'], activation: false }],
    ['nothing', [{ value: 'x', expiresAt: T1 }], [{ value: 'x', expiresAt: T1 }], NONE],
    ['items without a value are not grants', [{ display: 'no value' }], [{ display: 'other' }], NONE],
  ];
  for (const kind of ['entitlement', 'role'] as const) {
    const attr = kind === 'entitlement' ? 'entitlements' : 'roles';
    it.each(rows)(`${kind}: %s`, (_label, before, after, want) => {
      const sub = (xs: string[]) => xs.map((s) => s.replace('KIND', kind));
      const c = classifyChange(withGrants(attr, before), withGrants(attr, after));
      expect(only(c)).toEqual({ restrictive: sub(want.restrictive), expansive: sub(want.expansive), activation: want.activation });
    });
  }

  it('removing every grant revokes each; the attribute itself is not an edit', () => {
    const c = classifyChange(agent({}, { entitlements: [{ value: 'x' }], roles: [{ value: 'r' }] }), agent());
    expect(only(c)).toEqual(R('revoke entitlement x', 'revoke role r'));
  });
});

describe('classifyChange: credentials', () => {
  const withCreds = (creds: Json[]) => agent({ credentials: creds });
  const cred = (o: Json = {}): Json => ({ credentialId: 'c1', type: 'jwk', keyThumbprint: 'tp1', ...o });
  it.each([
    ['revoke', [cred({ status: 'active' })], [cred({ status: 'revoked' })], R('revoke credential c1')],
    ['mark expired', [cred({ status: 'active' })], [cred({ status: 'expired' })], R('revoke credential c1')],
    ['mark stale', [cred({ status: 'active' })], [cred({ status: 'stale' })], R('revoke credential c1')],
    ['revoke one with no status', [cred()], [cred({ status: 'revoked' })], R('revoke credential c1')],
    ['reinstate a revoked one', [cred({ status: 'revoked' })], [cred({ status: 'active' })], E('reinstate credential c1')],
    ['reinstate an expired one', [cred({ status: 'expired' })], [cred({ status: 'active' })], E('reinstate credential c1')],
    ['reinstate by dropping the status', [cred({ status: 'revoked' })], [cred()], E('reinstate credential c1')],
    ['from stale to revoked', [cred({ status: 'stale' })], [cred({ status: 'revoked' })], R('revoke credential c1')],
    ['from revoked to expired', [cred({ status: 'revoked' })], [cred({ status: 'expired' })], R('revoke credential c1')],
    ['from revoked to stale (usable again)', [cred({ status: 'revoked' })], [cred({ status: 'stale' })], E('reinstate credential c1')],
    ['from expired to stale (usable again)', [cred({ status: 'expired' })], [cred({ status: 'stale' })], E('reinstate credential c1')],
    ['from stale to active', [cred({ status: 'stale' })], [cred({ status: 'active' })], E('reinstate credential c1')],
    ['from no status to active', [cred()], [cred({ status: 'active' })], E('reinstate credential c1')],
    ['from stale to an unknown status', [cred({ status: 'stale' })], [cred({ status: 'paused' })], E('reinstate credential c1')],
    ['remove', [cred(), cred({ credentialId: 'c2', keyThumbprint: 'tp2' })], [cred()], R('remove credential c2')],
    ['add', [cred()], [cred(), cred({ credentialId: 'c2', keyThumbprint: 'tp2' })], E('add credential c2')],
    ['change its key', [cred()], [cred({ keyThumbprint: 'tp9' })], E('change credential c1')],
    ['revoke and change its key', [cred()], [cred({ status: 'revoked', keyThumbprint: 'tp9' })], { restrictive: ['revoke credential c1'], expansive: ['change credential c1'], activation: false }],
    ['lastUsedAt only', [cred({ lastUsedAt: T0 })], [cred({ lastUsedAt: T1 })], NONE],
    ['nothing', [cred({ status: 'active' })], [cred({ status: 'active' })], NONE],
  ] as const)('%s', (_label, before, after, want) => {
    expect(only(classifyChange(withCreds([...before]), withCreds([...after])))).toEqual(want);
  });

  it('credentials are matched by credentialId, not by position or value', () => {
    const a = cred({ credentialId: 'a', keyThumbprint: 'ta', value: 'x' });
    const b = cred({ credentialId: 'b', keyThumbprint: 'tb', value: 'x' });
    expect(only(classifyChange(withCreds([a, b]), withCreds([b, a])))).toEqual(NONE);
  });
});

describe('classifyChange: other attributes', () => {
  it.each([
    ['a core attribute', agent({}, { displayName: 'A' }), agent({}, { displayName: 'B' }), E('change displayName')],
    ['a core attribute added', agent(), agent({}, { description: 'd' }), E('change description')],
    ['a core attribute removed', agent({}, { description: 'd' }), agent(), E('change description')],
    ['owners: a new owner', agent({}, { owners: [{ value: 'u1' }] }), agent({}, { owners: [{ value: 'u1' }, { value: 'u2' }] }), E('change owners')],
    ['owners: only their display (read-only)', agent({}, { owners: [{ value: 'u1', display: 'A', $ref: 'x' }] }), agent({}, { owners: [{ value: 'u1', display: 'B', $ref: 'y' }] }), NONE],
    ['server core attributes', agent({}, { meta: { version: '1' }, active: true, groups: [{ value: 'g' }], schemas: ['a'] }), agent({}, { id: 'other', meta: { version: '2' }, active: false, groups: [], schemas: ['b'] }), NONE],
    ['another extension (not governed here)', agent({}, { 'urn:x:ext': { a: 1 } }), agent({}, { 'urn:x:ext': { a: 2 } }), NONE],
    ['a governance attribute', agent({ purpose: 'p' }), agent({ purpose: 'q' }), E('change purpose')],
    ['a governance attribute removed', agent({ purpose: 'p' }), agent(), E('change purpose')],
    ['the sponsor', agent({ sponsor: { value: 'u1' } }), agent({ sponsor: { value: 'u2' } }), E('change sponsor')],
    ['only the sponsor\'s read-only facts', agent({ sponsor: { value: 'u1', display: 'A', email: 'a@x', status: 'active' } }), agent({ sponsor: { value: 'u1', display: 'B', email: 'b@x', status: 'departed' } }), NONE],
    ['co-sponsors: only their display', agent({ coSponsors: [{ value: 'u1', display: 'A' }] }), agent({ coSponsors: [{ value: 'u1', display: 'B' }] }), NONE],
    ['co-sponsors: another one', agent({ coSponsors: [{ value: 'u1' }] }), agent({ coSponsors: [{ value: 'u3' }] }), E('change coSponsors')],
    ['co-sponsors: a status sub-attribute is not read-only there', agent({ coSponsors: [{ value: 'u1', status: 'a' }] }), agent({ coSponsors: [{ value: 'u1', status: 'b' }] }), E('change coSponsors')],
    ['server governance attributes', agent({ sponsorStatus: 'ok', version: 1, nextReviewDue: T0, credentialStatus: 'ok', complianceIssues: [] }), agent({ sponsorStatus: 'departed', version: 2, nextReviewDue: T1, credentialStatus: 'stale', complianceIssues: [{ type: 'inactive' }], lastActivityAt: T1, approvedBy: 'x' }), NONE],
  ] as const)('%s', (_label, before, after, want) => {
    expect(only(classifyChange(before as Json, after as Json))).toEqual(want);
  });

  it('everything at once: each change is listed once, in its list', () => {
    const before = agent({ purpose: 'p', credentials: [{ credentialId: 'c1', status: 'revoked' }] }, { entitlements: [{ value: 'x', expiresAt: T1 }], description: 'd' });
    const after = agent({ purpose: 'q', lifecycleState: 'suspended', credentials: [{ credentialId: 'c1', status: 'active' }] }, { entitlements: [{ value: 'x', expiresAt: T0 }], description: 'e' });
    const c = classifyChange(before, after);
    expect(c.restrictive).toEqual(['suspend', 'shorten entitlement x']);
    expect(c.expansive).toEqual(['reinstate credential c1', 'change description', 'change purpose']);
  });
});
