// The canonical record content of an agent (R19) and which changes revoke older records.

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  actionPolicyDigest,
  GOVERNANCE_URN,
  recordContent,
  recordHash,
  revokesOlderRecords,
} from '../../../src/agents/records/claims.js';
import { canonicalJson } from '../../../src/store/canonical-json.js';

const GOV = GOVERNANCE_URN;

function agent(gov: Record<string, unknown> = {}, core: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:Agent', GOV],
    id: 'a-1',
    agentUserName: 'procurement-bot',
    displayName: 'not signed',
    owners: [
      { value: 'u-2', type: 'User', display: 'Two' },
      { value: 'g-1', type: 'Group' },
    ],
    entitlements: [
      { value: 'erp.write', expiresAt: '2026-06-01T00:00:00.000Z', grantId: 'x', justification: 'not signed' },
      { value: 'crm.read' },
    ],
    ...core,
    [GOV]: {
      sponsor: { value: 'u-1', display: 'Ada', email: 'ada@example.com', employeeNumber: 'not signed' },
      purpose: 'not signed',
      environment: 'production',
      lifecycleState: 'active',
      autonomyLevel: 'humanOnTheLoop',
      actionPolicies: [
        { action: 'erp.po.create', mode: 'requireApproval', approvers: ['u-9'], limitAmount: 100.5, limitCurrency: 'EUR' },
        { action: 'mail.send.external', mode: 'deny' },
      ],
      ...gov,
    },
  };
}

describe('recordContent', () => {
  it('keeps exactly the signed subset, multi-values sorted', () => {
    expect(recordContent(agent())).toEqual({
      agentUserName: 'procurement-bot',
      sponsor: { value: 'u-1', display: 'Ada', email: 'ada@example.com' },
      owners: [
        { value: 'g-1', type: 'Group' },
        { value: 'u-2', type: 'User', display: 'Two' },
      ],
      lifecycleState: 'active',
      entitlements: [{ value: 'crm.read' }, { value: 'erp.write', expiresAt: '2026-06-01T00:00:00.000Z' }],
      autonomyLevel: 'humanOnTheLoop',
      actionPolicyDigest: expect.stringMatching(/^sha-256:[A-Za-z0-9_-]{43}$/),
    });
  });

  it('does not depend on the order of multi-values or of keys', () => {
    const a = agent();
    const b = agent(
      {
        actionPolicies: [
          { mode: 'deny', action: 'mail.send.external' },
          { limitCurrency: 'EUR', limitAmount: 100.5, approvers: ['u-9'], mode: 'requireApproval', action: 'erp.po.create' },
        ],
      },
      {
        owners: [...(a.owners as unknown[])].reverse(),
        entitlements: [...(a.entitlements as unknown[])].reverse(),
      },
    );
    expect(canonicalJson(recordContent(b))).toBe(canonicalJson(recordContent(a)));
    expect(recordHash(recordContent(b))).toBe(recordHash(recordContent(a)));
  });

  it('a missing lifecycle state is pending; missing lists are empty', () => {
    const c = recordContent({ agentUserName: 'x', [GOV]: { sponsor: { value: 'u' } } });
    expect(c).toEqual({
      agentUserName: 'x',
      sponsor: { value: 'u' },
      owners: [],
      lifecycleState: 'pending',
      entitlements: [],
      actionPolicyDigest: actionPolicyDigest(undefined),
    });
  });
});

describe('actionPolicyDigest', () => {
  it('is SHA-256 over the JCS of the sorted policies, recomputable by anyone', () => {
    const policies = [
      { action: 'b', mode: 'deny' },
      { action: 'a', mode: 'allow' },
    ];
    const sorted = [policies[1], policies[0]];
    const expected = `sha-256:${createHash('sha256').update(canonicalJson(sorted)).digest('base64url')}`;
    expect(actionPolicyDigest(policies)).toBe(expected);
    expect(actionPolicyDigest([])).toBe(`sha-256:${createHash('sha256').update('[]').digest('base64url')}`);
    expect(actionPolicyDigest(undefined)).toBe(actionPolicyDigest([]));
  });

  it('changes when any policy detail changes', () => {
    const base = [{ action: 'a', mode: 'allow', limitAmount: 10 }];
    expect(actionPolicyDigest([{ ...base[0], limitAmount: 11 }])).not.toBe(actionPolicyDigest(base));
  });
});

describe('revokesOlderRecords', () => {
  const before = recordContent(agent());
  const after = (gov: Record<string, unknown> = {}, core: Record<string, unknown> = {}) => recordContent(agent(gov, core));

  it('no change, or only additions: older records stay valid', () => {
    expect(revokesOlderRecords(before, after())).toBe(false);
    expect(revokesOlderRecords(before, after({}, { entitlements: [...(agent().entitlements as unknown[]), { value: 'new' }] }))).toBe(false);
    expect(revokesOlderRecords(before, after({}, { owners: [...(agent().owners as unknown[]), { value: 'u-3' }] }))).toBe(false);
    // a later expiry, or none, widens
    expect(
      revokesOlderRecords(before, after({}, { entitlements: [{ value: 'erp.write', expiresAt: '2027-01-01T00:00:00.000Z' }, { value: 'crm.read' }] })),
    ).toBe(false);
    expect(revokesOlderRecords(before, after({}, { entitlements: [{ value: 'erp.write' }, { value: 'crm.read' }] }))).toBe(false);
  });

  it('state, sponsor, autonomy, policies, identity: revoke', () => {
    expect(revokesOlderRecords(before, after({ lifecycleState: 'suspended' }))).toBe(true);
    expect(revokesOlderRecords(before, after({ sponsor: { value: 'u-7' } }))).toBe(true);
    expect(revokesOlderRecords(before, after({ autonomyLevel: 'autonomous' }))).toBe(true);
    expect(revokesOlderRecords(before, after({ actionPolicies: [] }))).toBe(true);
    expect(revokesOlderRecords(before, after({}, { agentUserName: 'renamed' }))).toBe(true);
  });

  it('removing an entitlement or owner, or shortening an expiry: revoke', () => {
    expect(revokesOlderRecords(before, after({}, { entitlements: [{ value: 'crm.read' }] }))).toBe(true);
    expect(revokesOlderRecords(before, after({}, { owners: [{ value: 'g-1', type: 'Group' }] }))).toBe(true);
    expect(
      revokesOlderRecords(before, after({}, { entitlements: [{ value: 'erp.write', expiresAt: '2026-05-01T00:00:00.000Z' }, { value: 'crm.read' }] })),
    ).toBe(true);
    expect(
      revokesOlderRecords(after({}, { entitlements: [{ value: 'crm.read' }] }), after({}, { entitlements: [{ value: 'crm.read', expiresAt: '2030-01-01T00:00:00.000Z' }] })),
    ).toBe(true);
  });
});
