// The Entra connector's pure parts: drift classification against the applied baseline (most
// restrictive wins), plan lines, fingerprints; and the Prometheus rendering.

import { describe, expect, it } from 'vitest';
import { EntraConnector } from '../../../src/connectors/entra/connector.js';
import type { DesiredAgent } from '../../../src/sync/connector.js';
import { externalIdentity } from '../../../src/sync/external-identities.js';
import { renderPrometheus, TargetMetrics } from '../../../src/sync/metrics.js';

const connector = new EntraConnector({
  tenantId: '11111111-2222-4333-8444-555555555555',
  clientId: 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee',
  clientSecret: 'unit-test',
  authorityHost: 'https://login.microsoftonline.com',
  graphUrl: 'https://graph.microsoft.com',
  apiVersion: 'v1.0',
  mapping: 'agentIdentity',
  blueprintIds: ['b1b1b1b1-0000-4000-8000-000000000001'],
  agentsPerBlueprint: 250,
  employeeType: 'AIAgent',
  writesPerSecond: 20,
  writeWindowMarginMs: 25,
  batchMax: 20,
  batchLingerMs: 10,
  requestTimeoutMs: 1000,
  createConfirmMs: 1000,
  replicationRetries: 0,
  replicationDelayMs: 1,
});

const G1 = 'aaaaaaaa-0000-4000-8000-000000000001';
const G2 = 'aaaaaaaa-0000-4000-8000-000000000002';
const G3 = 'aaaaaaaa-0000-4000-8000-000000000003';

function desired(o: Partial<DesiredAgent> = {}): DesiredAgent {
  return {
    id: 'agent-1',
    version: 3,
    presence: 'present',
    enabled: true,
    lifecycleState: 'active',
    displayName: 'Bot',
    agentUserName: 'bot',
    sponsors: [{ kind: 'user', id: 'u1', primary: true, userName: 'ada@contoso.com', emails: [] }],
    entitlements: [
      { value: 'read', mappings: [{ kind: 'group', remoteId: G1 }] },
      { value: 'write', mappings: [{ kind: 'group', remoteId: G2 }] },
    ],
    ...o,
  };
}

const baseline = { mapping: 'agentIdentity', displayName: 'Bot', enabled: true, sponsors: [{ ref: 'u1', id: 's1' }], groups: [G1, G2], appRoles: [] };

describe('compare (most restrictive wins)', () => {
  it('a remote disable is a suspension; a remote enable of a disabled agent is a flag; the baseline follows what was seen', () => {
    const off = connector.compare(desired(), { remoteId: 'r', state: baseline }, { remoteId: 'r', exists: true, enabled: false });
    expect(off).toMatchObject({ disabled: true, reenabled: false, state: { enabled: false } });
    const on = connector.compare(desired({ enabled: false, lifecycleState: 'suspended' }), { remoteId: 'r', state: { ...baseline, enabled: false } }, { remoteId: 'r', exists: true, enabled: true });
    expect(on).toMatchObject({ disabled: false, reenabled: true, state: { enabled: true } });
    expect(connector.compare(desired(), { remoteId: 'r', state: baseline }, { remoteId: 'r', exists: false }).deleted).toBe(true);
  });

  it('a membership removed remotely revokes only what is still granted here; one granted remotely is drift to undo', () => {
    const r = connector.compare(desired({ entitlements: [{ value: 'read', mappings: [{ kind: 'group', remoteId: G1 }] }] }), { remoteId: 'r', state: baseline }, { remoteId: 'r', exists: true, groups: [G3] });
    // G1 removed remotely and still granted: revoked; G2 no longer wanted and gone: nothing; G3 granted in Entra: undone
    expect(r.revoked).toEqual(['read']);
    expect(r.other).toEqual([`member of group ${G3} in Entra without an entitlement here: removed`]);
    expect((r.state as { groups: string[] }).groups).toEqual([G2, G3].sort());
  });

  it('unobserved fields are not drift (delta carries no memberships)', () => {
    const r = connector.compare(desired(), { remoteId: 'r', state: baseline }, { remoteId: 'r', exists: true, enabled: true, displayName: 'Bot' });
    expect(r).toMatchObject({ deleted: false, disabled: false, reenabled: false, revoked: [], other: [] });
  });

  it('plans from the baseline alone, and fingerprints what it maps', () => {
    expect(connector.plan(desired({ enabled: false, displayName: 'Bot 2' }), { remoteId: 'r', state: baseline })).toEqual({
      kind: 'disable',
      details: ['disable (accountEnabled: false)', 'displayName "Bot 2"'],
    });
    expect(connector.plan(desired(), undefined).kind).toBe('create');
    expect(connector.plan(desired({ presence: 'absent' }), { remoteId: 'r', state: baseline }).kind).toBe('delete');
    expect(connector.fingerprint(desired())).toBe(connector.fingerprint(desired({ version: 9, description: 'not mapped' })));
    expect(connector.fingerprint(desired())).not.toBe(connector.fingerprint(desired({ enabled: false })));
  });
});

describe('reporting', () => {
  it('externalIdentities reflect the link', () => {
    expect(externalIdentity('entra', undefined, 1, 'agentIdentity')).toEqual({ system: 'entra', objectType: 'agentIdentity', syncState: 'pending' });
    const link = { target: 'entra', resourceId: 'a', remoteId: 'r', lastSyncedAt: '2026-01-01T00:00:00.000Z', syncedVersion: 2, remoteState: { meta: { fp: 'x' }, state: {} } };
    expect(externalIdentity('entra', link, 2, 'agentIdentity')).toMatchObject({ objectId: 'r', syncState: 'synced' });
    expect(externalIdentity('entra', link, 3, 'agentIdentity').syncState).toBe('pending');
    expect(externalIdentity('entra', { ...link, lastError: 'boom' }, 2, 'agentIdentity')).toMatchObject({ syncState: 'error', lastError: 'boom' });
  });

  it('renders Prometheus text: one HELP/TYPE per family, labels escaped', () => {
    const m = new TargetMetrics('en"tra');
    m.success(false, 2);
    m.failure('retry', 'x');
    m.action('suspend');
    const text = renderPrometheus([{ target: 'en"tra', running: true, queue: { pending: 3, parked: 1, oldestPendingAt: new Date(Date.now() - 5000).toISOString() }, metrics: m, requests: { reads: 1, writes: 2, batches: 0, throttled: 4 }, now: Date.now() }]);
    expect(text).toContain('agentroster_sync_queue_depth{target="en\\"tra"} 3');
    expect(text).toMatch(/agentroster_sync_oldest_pending_age_seconds\{target="en\\"tra"\} [45](\.\d+)?$/m);
    expect(text).toContain('agentroster_sync_throttles_total{target="en\\"tra"} 4');
    expect(text).toContain('agentroster_sync_reconcile_actions_total{target="en\\"tra",action="suspend"} 1');
    expect(text.match(/# TYPE agentroster_sync_failures_total counter/g)).toHaveLength(1);
  });
});
