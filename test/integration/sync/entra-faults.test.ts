// Graph behaving like Graph on a bad day: throttling (top level and inside $batch), lost create
// responses, replication lag, 5xx, a throttled token endpoint, missing permissions — and the
// certificate credential. The emulator counts what the client did; these tests hold it to account.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_CLIENT_ROLES, generateClientCertificate } from '../../emulators/graph/index.js';
import { type Harness, startHarness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const CREATE = { method: 'POST', path: '/servicePrincipals/microsoft.graph.agentIdentity' } as const;

async function fleet(hh: Harness, n: number, prefix = 'bot'): Promise<string[]> {
  const s = await hh.sponsor(`sponsor-${prefix}`);
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push(await hh.agent(`${prefix}-${i}`, s.id));
  return ids;
}

function expectOneEach(hh: Harness, ids: string[]): void {
  for (const id of ids) expect(hh.remotesOf(id), id).toHaveLength(1);
  expect(hh.emu.state.agentIdentities()).toHaveLength(ids.length);
}

describe('throttling', () => {
  it('stays under the quota it is given: no 429 at 20 writes/s', async () => {
    // A wider safety margin than the production default: on a loaded CI machine a request can
    // leave the event loop tens of milliseconds after its token was taken.
    h = await startHarness({
      emulatorConfig: { writeRateLimit: { limit: 20, windowMs: 1000 } },
      env: { AGENTROSTER_ENTRA_WRITES_PER_SECOND: '20', AGENTROSTER_ENTRA_WRITE_WINDOW_MARGIN_MS: '250' },
    });
    const ids = await fleet(h, 45);
    const t0 = Date.now();
    await h.sync();
    expectOneEach(h, ids);
    expect(h.emu.counters.throttled).toBe(0);
    // 45 writes at ≤ 20 per ~1 s window: at least two full windows
    expect(Date.now() - t0).toBeGreaterThanOrEqual(2000);
  });

  it('over a quota it was not told about: 429s are honoured — no request is retried before Retry-After', async () => {
    h = await startHarness({ emulatorConfig: { writeRateLimit: { limit: 8, windowMs: 1000 } }, env: { AGENTROSTER_ENTRA_WRITES_PER_SECOND: '100' } });
    const ids = await fleet(h, 24);
    await h.sync();
    expectOneEach(h, ids);
    expect(h.emu.counters.throttled).toBeGreaterThan(0);
    expect(h.emu.counters.earlyRetries).toBe(0);
    expect(h.entra.sync.connector.health().requests.throttled).toBeGreaterThan(0);
  });

  it('throttleFor: nothing at all is sent while Retry-After runs', async () => {
    h = await startHarness();
    const ids = await fleet(h, 10);
    h.emu.faults.throttleFor(1.2);
    const t0 = Date.now();
    await h.sync();
    expectOneEach(h, ids);
    expect(h.emu.counters.throttled).toBeGreaterThan(0);
    expect(h.emu.counters.earlyRetries).toBe(0);
    expect(h.emu.counters.earlyRequests).toBe(0);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1200);
  });

  it('a 429 inside a $batch is retried on its own, after its Retry-After', async () => {
    h = await startHarness();
    const ids = await fleet(h, 12);
    h.emu.faults.failNext(3, 429, { match: { inBatch: true, method: 'POST' }, retryAfter: 1 });
    await h.sync();
    expectOneEach(h, ids);
    expect(h.emu.counters.injectedFailures).toBe(3);
    expect(h.emu.counters.batches).toBeGreaterThan(0);
    expect(h.emu.counters.earlyRetries).toBe(0);
    // the items that got 429 were sent again, once
    expect(h.emu.counters.requests['POST /servicePrincipals/microsoft.graph.agentIdentity']).toBe(12 + 3);
  });

  it('a throttled token endpoint delays, then succeeds', async () => {
    h = await startHarness();
    const ids = await fleet(h, 3);
    h.emu.faults.failNext(1, 429, { match: { target: 'token' }, retryAfter: 1 });
    await h.sync();
    expectOneEach(h, ids);
  });
});

describe('lost responses and eventual consistency', () => {
  it('a create whose response is lost is found again by its tag: never a duplicate', async () => {
    h = await startHarness();
    const ids = await fleet(h, 15);
    h.emu.faults.dropResponseAfterCommit(CREATE, { times: 3 });
    await h.sync();
    // a dropped $batch loses the answers of every create in it
    expect(h.emu.counters.droppedResponses).toBeGreaterThanOrEqual(1);
    expectOneEach(h, ids);
    // every create was sent once: the lost ones were found by tag, not sent again
    expect(h.emu.counters.requests['POST /servicePrincipals/microsoft.graph.agentIdentity']).toBe(ids.length);
    for (const id of ids) expect((await h.ar.store.sync.getLink('entra', id))?.remoteId).toBe(h.remote(id)?.id);
  });

  it('a lone create (no $batch) whose response is lost: adopted', async () => {
    h = await startHarness({ env: { AGENTROSTER_ENTRA_BATCH_SIZE: '1' } });
    const ids = await fleet(h, 1);
    h.emu.faults.dropResponseAfterCommit({ ...CREATE, inBatch: false });
    await h.sync();
    expect(h.emu.counters.droppedResponses).toBe(1);
    expectOneEach(h, ids);
  });

  it('5xx on a create is an unknown outcome: looked up first, created once', async () => {
    h = await startHarness({ env: { AGENTROSTER_ENTRA_BATCH_SIZE: '1' } });
    const ids = await fleet(h, 2);
    h.emu.faults.failNext(2, 500, { match: CREATE });
    h.emu.faults.failNext(2, 503, { match: { method: 'GET' }, retryAfter: 0 });
    await h.sync();
    expectOneEach(h, ids);
  });

  it('replication lag right after a create ("Object with id … not found") is retried', async () => {
    h = await startHarness();
    h.emu.faults.setReplicationLag(400, 0);
    const readers = h.emu.state.seedGroup({ id: randomUUID(), displayName: 'Readers' });
    await h.entitlement('read', [{ target: 'entra', kind: 'group', remoteId: readers.id }]);
    const s = await h.sponsor('ada');
    const co = await h.sponsor('grace');
    const id = await h.agent('bot', s.id, { coSponsors: [{ value: co.id, type: 'user' }] }, { entitlements: [{ value: 'read' }] });
    await h.sync();
    const remoteId = String(h.remote(id)?.id);
    expect(h.emu.state.memberIds(readers.id)).toEqual([remoteId]);
    const raced = h.emu.log.filter((e) => e.status === 400 && e.method === 'POST' && /members/.test(e.path));
    expect(raced.length).toBeGreaterThan(0);
  });
});

describe('credentials and permissions', () => {
  it('authenticates with a certificate (MSAL client assertion) from AGENTROSTER_ENTRA_CERTIFICATE_PATH', async () => {
    const cert = await generateClientCertificate();
    const clientId = randomUUID();
    const dir = mkdtempSync(join(tmpdir(), 'agentroster-cert-'));
    const pem = join(dir, 'entra.pem');
    writeFileSync(pem, `${cert.certPem}\n${cert.keyPem}`, { mode: 0o600 });
    const { startGraphEmulator } = await import('../../emulators/graph/index.js');
    const emu = await startGraphEmulator({ config: { writeRateLimit: null } });
    emu.registerClient({ clientId, certificates: [cert.certPem], roles: [...DEFAULT_CLIENT_ROLES] });
    try {
      h = await startHarness({
        emulator: emu,
        env: { AGENTROSTER_ENTRA_CLIENT_ID: clientId, AGENTROSTER_ENTRA_CLIENT_SECRET: '', AGENTROSTER_ENTRA_CERTIFICATE_PATH: pem },
      });
      const ids = await fleet(h, 2);
      await h.sync();
      expectOneEach(h, ids);
      expect(h.emu.log.some((e) => e.target === 'token' && e.status === 200 && e.clientId === clientId)).toBe(true);
      expect(h.entra.sync.connector.health().settings.credential).toBe('certificate');
    } finally {
      await h?.close();
      h = undefined;
      await emu.close();
    }
  });

  it('a missing Graph permission parks the row with the permission named', async () => {
    const { startGraphEmulator } = await import('../../emulators/graph/index.js');
    const emu = await startGraphEmulator({ config: { writeRateLimit: null } });
    const clientId = randomUUID();
    emu.registerClient({ clientId, secrets: ['s3cret-value'], roles: DEFAULT_CLIENT_ROLES.filter((r) => !r.startsWith('AgentIdentity.Create')) });
    try {
      h = await startHarness({ emulator: emu, env: { AGENTROSTER_ENTRA_CLIENT_ID: clientId, AGENTROSTER_ENTRA_CLIENT_SECRET: 's3cret-value' } });
      await fleet(h, 1);
      const r = await h.sync({ allowFailures: true });
      expect(r.parked).toBe(1);
      const [row] = await h.ar.store.outbox.list({ target: 'entra', status: 'parked' });
      expect(row?.lastError).toMatch(/403 Authorization_RequestDenied.*AgentIdentity\.Create\.All/);
      expect(row?.lastError).not.toContain('s3cret-value');
      const health = await h.ar.sync!.health();
      expect(health[0]).toMatchObject({ status: 'failing', queue: { parked: 1 } });
    } finally {
      await h?.close();
      h = undefined;
      await emu.close();
    }
  });

  it('least privilege: the permission set docs/entra.md lists runs the whole lifecycle', async () => {
    const { startGraphEmulator } = await import('../../emulators/graph/index.js');
    const emu = await startGraphEmulator({ config: { writeRateLimit: null } });
    const clientId = randomUUID();
    emu.registerClient({
      clientId,
      secrets: ['least-privilege'],
      roles: [
        'AgentIdentity.Create.All',
        'AgentIdentity.ReadWrite.All',
        'AgentIdentity.DeleteRestore.All',
        'Application.Read.All',
        'AppRoleAssignment.ReadWrite.All',
        'GroupMember.ReadWrite.All',
        'GroupMember.Read.All',
        'User.Read.All',
      ],
    });
    try {
      h = await startHarness({ emulator: emu, env: { AGENTROSTER_ENTRA_CLIENT_ID: clientId, AGENTROSTER_ENTRA_CLIENT_SECRET: 'least-privilege' } });
      const readers = emu.state.seedGroup({ id: randomUUID(), displayName: 'Readers' });
      const owners = emu.state.seedGroup({ id: randomUUID(), displayName: 'Owners', groupTypes: ['Unified'] });
      const api = emu.state.seedServicePrincipal({ displayName: 'API', appRoles: [{ value: 'Data.Write', allowedMemberTypes: ['Application'] }] });
      await h.entitlement('read', [{ target: 'entra', kind: 'group', remoteId: readers.id }]);
      await h.entitlement('write', [{ target: 'entra', kind: 'appRole', appId: String(api.data.appId), remoteId: 'Data.Write' }]);
      const group = await h.ar.service.create('Group', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Owners' }, (await import('./harness.js')).ctx());
      const s = await h.sponsor('ada');
      const id = await h.agent('bot', s.id, { coSponsors: [{ value: group.resource.id, type: 'group' }] }, { entitlements: [{ value: 'read' }, { value: 'write' }] });
      await h.sync();
      const remoteId = String(h.remote(id)?.id);
      expect(new Set(emu.state.sponsorIds(remoteId))).toEqual(new Set([s.entraId, owners.id]));
      await h.setState(id, 'active');
      await h.sync();
      await h.entra.sync.runDelta(new AbortController().signal); // first run: full compare + cursor
      emu.state.adminDelete(remoteId);
      await h.entra.sync.runDelta(new AbortController().signal);
      await h.setState(id, 'active');
      await h.sync(); // restored
      expect(emu.state.live(remoteId)?.data.accountEnabled).toBe(true);
      await h.setState(id, 'retired');
      await h.sync();
      h.clock.skewMs = 31 * 86_400_000;
      await h.entra.sync.fullCompare(new AbortController().signal);
      await h.sync();
      expect(emu.state.live(remoteId)).toBeUndefined();
      expect(emu.log.filter((e) => e.status === 403)).toEqual([]);
    } finally {
      await h?.close();
      h = undefined;
      await emu.close();
    }
  });

  it('a wrong client secret is a permanent error that never shows the secret', async () => {
    h = await startHarness({ env: { AGENTROSTER_ENTRA_CLIENT_SECRET: 'definitely-wrong-secret' } });
    await fleet(h, 1);
    const r = await h.sync({ allowFailures: true });
    expect(r.parked).toBe(1);
    expect(r.errors[0]?.error).toMatch(/invalid_client/);
    expect(JSON.stringify(r)).not.toContain('definitely-wrong-secret');
  });
});
