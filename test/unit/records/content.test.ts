// The signed record content at its edges: what is left out (empty or value-less items), how
// duplicates and equal values sort, and the exact rule for which changes revoke older records
// (a relying party holding an old record must not be told more than is still true).

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { actionPolicyDigest, GOVERNANCE_URN as GOV, recordContent, recordHash, revokesOlderRecords, sha256Digest } from '../../../src/agents/records/claims.js';
import type { RecordContent } from '../../../src/agents/records/format.js';
import { canonicalJson } from '../../../src/store/canonical-json.js';

describe('recordContent: what is signed', () => {
  it('empty strings and value-less items are left out', () => {
    const c = recordContent({
      agentUserName: '',
      owners: [{ value: '' }, { type: 'User' }, 'x', { value: 'u-1', type: '', display: '' }],
      entitlements: [{ value: '' }, { expiresAt: '2026-01-01T00:00:00Z' }, { value: 'e', expiresAt: '' }, null],
      [GOV]: { sponsor: { value: 'u-9', display: '', email: '' }, lifecycleState: '', autonomyLevel: '' },
    });
    expect(c).toEqual({
      agentUserName: '',
      sponsor: { value: 'u-9' },
      owners: [{ value: 'u-1' }],
      lifecycleState: 'pending',
      entitlements: [{ value: 'e' }],
      actionPolicyDigest: actionPolicyDigest([]),
    });
  });

  it('a sponsor without a value, or not an object, is no sponsor', () => {
    expect(recordContent({ [GOV]: { sponsor: { display: 'Ada' } } })).not.toHaveProperty('sponsor');
    expect(recordContent({ [GOV]: { sponsor: { value: '' } } })).not.toHaveProperty('sponsor');
    expect(recordContent({ [GOV]: { sponsor: 'u-1' } })).not.toHaveProperty('sponsor');
    expect(recordContent({ [GOV]: ['x'] })).toMatchObject({ lifecycleState: 'pending' });
    expect(recordContent({ owners: 'x', entitlements: { value: 'e' } })).toMatchObject({ owners: [], entitlements: [] });
  });

  it('duplicates are one; items sort by value, then by their JSON text', () => {
    const c = recordContent({
      owners: [
        { value: 'b', type: 'User' },
        { value: 'a', type: 'User', display: 'Z' },
        { value: 'b', type: 'User' },
        { value: 'a', type: 'Group' },
        { value: 'a', type: 'User', display: 'A' },
      ],
      entitlements: [{ value: 'y' }, { value: 'x', expiresAt: '2026-02-01T00:00:00Z' }, { value: 'x' }, { value: 'y' }],
    });
    // JCS text of the three "a" owners: {"display":"A",…} < {"display":"Z",…} < {"type":"Group",…}
    expect(c.owners).toEqual([
      { value: 'a', type: 'User', display: 'A' },
      { value: 'a', type: 'User', display: 'Z' },
      { value: 'a', type: 'Group' },
      { value: 'b', type: 'User' },
    ]);
    expect(c.entitlements).toEqual([{ value: 'x', expiresAt: '2026-02-01T00:00:00Z' }, { value: 'x' }, { value: 'y' }]);
  });

  it('actionPolicyDigest ignores non-objects and duplicates; sorts by JSON text', () => {
    const p = [{ action: 'b' }, { action: 'a' }];
    expect(actionPolicyDigest([...p, 'x', null, { action: 'a' }])).toBe(actionPolicyDigest(p));
    expect(actionPolicyDigest(p)).toBe(actionPolicyDigest([...p].reverse()));
    expect(actionPolicyDigest('x')).toBe(actionPolicyDigest([]));
    expect(sha256Digest('abc')).toBe(`sha-256:${createHash('sha256').update('abc').digest('base64url')}`);
  });

  it('recordHash is the digest of the canonical content', () => {
    const c = recordContent({ agentUserName: 'x' });
    expect(recordHash(c)).toBe(sha256Digest(canonicalJson(c)));
  });
});

describe('revokesOlderRecords: the rule', () => {
  const base: RecordContent = {
    agentUserName: 'bot',
    sponsor: { value: 'u-1', display: 'Ada' },
    owners: [{ value: 'o-1' }],
    lifecycleState: 'active',
    entitlements: [{ value: 'e1', expiresAt: '2026-06-01T00:00:00.000Z' }, { value: 'e2' }],
    autonomyLevel: 'advisory',
    actionPolicyDigest: 'sha-256:a',
  };
  const next = (o: Partial<RecordContent>): RecordContent => ({ ...base, ...o });
  it.each([
    ['nothing changed', {}, false],
    ['renamed', { agentUserName: 'bot2' }, true],
    ['another sponsor', { sponsor: { value: 'u-2' } }, true],
    ['the sponsor\'s display changed (signed)', { sponsor: { value: 'u-1', display: 'Ada L.' } }, true],
    ['no sponsor any more', { sponsor: undefined }, true],
    ['suspended', { lifecycleState: 'suspended' }, true],
    ['autonomy changed', { autonomyLevel: 'autonomous' }, true],
    ['autonomy dropped', { autonomyLevel: undefined }, true],
    ['policies changed', { actionPolicyDigest: 'sha-256:b' }, true],
    ['an owner added', { owners: [{ value: 'o-1' }, { value: 'o-2' }] }, false],
    ['an owner replaced', { owners: [{ value: 'o-2' }] }, true],
    ['an owner\'s type changed', { owners: [{ value: 'o-1', type: 'User' }] }, true],
    ['an entitlement added', { entitlements: [...base.entitlements, { value: 'e3' }] }, false],
    ['an entitlement removed', { entitlements: [{ value: 'e2' }] }, true],
    ['an expiry extended', { entitlements: [{ value: 'e1', expiresAt: '2026-07-01T00:00:00.000Z' }, { value: 'e2' }] }, false],
    ['the same expiry, written differently', { entitlements: [{ value: 'e1', expiresAt: '2026-06-01T02:00:00+02:00' }, { value: 'e2' }] }, false],
    ['an expiry removed', { entitlements: [{ value: 'e1' }, { value: 'e2' }] }, false],
    ['an expiry shortened', { entitlements: [{ value: 'e1', expiresAt: '2026-05-31T23:59:59.999Z' }, { value: 'e2' }] }, true],
    ['an expiry added', { entitlements: [{ value: 'e1', expiresAt: '2026-06-01T00:00:00.000Z' }, { value: 'e2', expiresAt: '2030-01-01T00:00:00.000Z' }] }, true],
    ['the entitlement held twice, once shorter', { entitlements: [{ value: 'e1', expiresAt: '2026-05-01T00:00:00.000Z' }, { value: 'e1' }, { value: 'e2' }] }, false],
  ] as const)('%s → revokes: %s', (_label, o, want) => {
    expect(revokesOlderRecords(base, next(o as Partial<RecordContent>))).toBe(want);
  });

  it('a sponsor gained where there was none revokes (the old record said "no sponsor")', () => {
    const { sponsor: _s, ...none } = base;
    expect(revokesOlderRecords(none, base)).toBe(true);
    expect(revokesOlderRecords(none, { ...none })).toBe(false);
  });
});
