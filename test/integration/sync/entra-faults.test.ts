// Graph behaving like Graph on a bad day: throttling (top level and inside $batch), lost create
// responses, replication lag, 5xx, a throttled token endpoint, missing permissions — and the
// certificate credential. The emulator counts what the client did; these tests hold it to account.

import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_CLIENT_ROLES, generateClientCertificate, type LogEntry } from '../../emulators/graph/index.js';
import { DEFAULT_INDEX_LAG_MS } from '../../emulators/graph/store.js';
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

/** tag lookups ($filter=tags/any(…)) for one agent, in order, from the emulator's request log */
function tagLookups(hh: Harness, agentId: string): LogEntry[] {
  return hh.emu.log.filter((e) => e.method === 'GET' && decodeURIComponent(e.query).includes(`t eq 'agentroster:${agentId}'`));
}

/** creates of agent identities, in order, from the emulator's request log */
const creates = (hh: Harness): LogEntry[] => hh.emu.log.filter((e) => e.method === 'POST' && e.path.toLowerCase() === CREATE.path.toLowerCase());

/** waits for a condition the test can observe (no time bound but the test's own timeout) */
async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
}

function expectOneEach(hh: Harness, ids: string[]): void {
  for (const id of ids) expect(hh.remotesOf(id), id).toHaveLength(1);
  expect(hh.emu.state.agentIdentities()).toHaveLength(ids.length);
}

describe('throttling', () => {
  it('stays under the quota it is given: no 429 at 20 writes/s', async () => {
    // A wider safety margin than the production default: on a loaded CI machine a request can
    // leave the event loop tens of milliseconds after its token was taken.
    // (Graph's 20 writes/s is the harness default on both sides)
    h = await startHarness({ env: { AGENTROSTER_ENTRA_WRITE_WINDOW_MARGIN_MS: '250' } });
    expect(h.emu.state.config.writeRateLimit).toEqual({ limit: 20, windowMs: 1000 });
    const ids = await fleet(h, 30);
    const t0 = Date.now();
    await h.sync();
    expectOneEach(h, ids);
    expect(h.emu.counters.throttled).toBe(0);
    // 30 writes at ≤ 20 per ~1 s window: at least one full window (a lower bound: the pacing happened)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
  });

  it('over a quota it was not told about: 429s are honoured — no request is retried before Retry-After', async () => {
    // the client believes in 100/s (a misconfiguration) while Graph allows 8/s: only the 429s can save it
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
    // the token request itself (not MSAL's metadata discovery, which comes first)
    h.emu.faults.failNext(1, 429, { match: { target: 'token', method: 'POST' }, retryAfter: 1 });
    const t0 = Date.now();
    await h.sync();
    expectOneEach(h, ids);
    // the fault fired: the first token request got the injected 429 with Retry-After: 1 …
    expect(h.emu.counters.injectedFailures).toBe(1);
    const tokenPosts = h.emu.log.filter((e) => e.target === 'token' && e.method === 'POST');
    expect(tokenPosts[0]).toMatchObject({ status: 429, retryAfter: 1 });
    // … and the next one waited it out, then succeeded; no Graph request went out without a token
    expect(tokenPosts[1]?.status).toBe(200);
    expect(tokenPosts[1]!.atMs - tokenPosts[0]!.atMs).toBeGreaterThanOrEqual(1000);
    expect(h.emu.counters.earlyRetries).toBe(0);
    const firstGraph = h.emu.log.find((e) => e.target === 'graph');
    expect(firstGraph!.seq).toBeGreaterThan(tokenPosts[1]!.seq);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1000);
  });

  it('a 429 without Retry-After: exponential backoff, never an immediate retry, then success', async () => {
    h = await startHarness({ env: { AGENTROSTER_ENTRA_BATCH_SIZE: '1' } });
    const ids = await fleet(h, 2);
    h.emu.faults.failNext(2, 429, { match: { ...CREATE, inBatch: false }, retryAfter: null });
    await h.sync();
    expectOneEach(h, ids);
    const posts = creates(h);
    const throttled = posts.filter((e) => e.status === 429);
    // the fault fired, twice, and neither answer carried a Retry-After
    expect(throttled).toHaveLength(2);
    expect(throttled.every((e) => e.retryAfter === undefined)).toBe(true);
    // no retry came before the first backoff step (1 s base, at least half of it with jitter) …
    for (const t of throttled) {
      const retry = posts.find((e) => e.seq > t.seq && e.retryKey === t.retryKey);
      expect(retry, 'the throttled create sent again').toBeDefined();
      expect(retry!.atMs - t.atMs).toBeGreaterThanOrEqual(500);
    }
    // … and nothing at all went out meanwhile (requests in flight with the last 429 aside)
    const last = throttled.at(-1)!;
    const after = h.emu.log.find((e) => e.seq > last.seq && e.target === 'graph');
    expect(after!.atMs - last.atMs).toBeGreaterThanOrEqual(500);
    expect(posts.filter((e) => e.status === 201)).toHaveLength(2);
    expect(h.entra.sync.connector.health().requests.throttled).toBe(2);
  });
});

describe('lost responses and eventual consistency', () => {
  it('a create whose response is lost is found again by its tag: never a duplicate', async () => {
    h = await startHarness();
    expect(h.emu.state.config.indexLagMs).toBeGreaterThan(0); // a new object is missing from tag lookups at first
    const ids = await fleet(h, 15);
    h.emu.faults.dropResponseAfterCommit(CREATE, { times: 3 });
    await h.sync();
    // a dropped $batch loses the answers of every create in it
    expect(h.emu.counters.droppedResponses).toBeGreaterThanOrEqual(1);
    expectOneEach(h, ids);
    // every create was sent once: the lost ones were found by tag, not sent again
    expect(h.emu.counters.requests['POST /servicePrincipals/microsoft.graph.agentIdentity']).toBe(ids.length);
    for (const id of ids) expect((await h.ar.store.sync.getLink('entra', id))?.remoteId).toBe(h.remote(id)?.id);
    // each lost one was looked up by its tag, and that lookup found it
    const lost = ids.filter((id) => tagLookups(h!, id).length > 0);
    expect(lost.length).toBeGreaterThanOrEqual(1);
    for (const id of lost) expect(tagLookups(h, id).at(-1)?.items, id).toBe(1);
  });

  it('a lone create (no $batch) whose response is lost: adopted', async () => {
    h = await startHarness({ env: { AGENTROSTER_ENTRA_BATCH_SIZE: '1' } });
    const ids = await fleet(h, 1);
    h.emu.faults.dropResponseAfterCommit({ ...CREATE, inBatch: false });
    await h.sync();
    expect(h.emu.counters.droppedResponses).toBe(1);
    expectOneEach(h, ids);
    expect(creates(h)).toHaveLength(1);
    expect(tagLookups(h, ids[0]!).at(-1)?.items).toBe(1);
  });

  // The agent changes while the answer of its create is lost. The new change is worked on at once,
  // before the confirmation window ends and while the tag index does not show the object yet: the
  // engine must wait, not create a second object. The index is held until that empty lookup is
  // seen, then released — so the order is forced, not hoped for. The confirmation window is 1 s
  // (not the harness's 0.3 s) so that the release surely comes before it ends on a loaded machine.
  const CONFIRM = { AGENTROSTER_ENTRA_BATCH_SIZE: '1', AGENTROSTER_SYNC_CREATE_CONFIRM_SECONDS: '1' };

  async function loseCreateWhileIndexHeld(hh: Harness, agentId: string): Promise<void> {
    hh.emu.state.config.indexLagMs = 3_600_000; // held: released by releaseIndex()
    hh.emu.faults.dropResponseAfterCommit({ ...CREATE, inBatch: false });
    const first = await hh.entra.worker.runOnce({ maxRetryWaitMs: 0 });
    expect(hh.emu.counters.droppedResponses).toBe(1);
    expect(first.pendingLeft).toBe(1); // retried after the confirmation window
    expect(hh.emu.state.agentIdentities()).toHaveLength(1);
    expect(tagLookups(hh, agentId)).toEqual([]);
  }

  async function waitOutEmptyLookup(hh: Harness, agentId: string, run: Promise<unknown>): Promise<void> {
    await until(() => tagLookups(hh, agentId).some((e) => e.items === 0));
    hh.emu.state.config.indexLagMs = DEFAULT_INDEX_LAG_MS;
    await run;
    const lookups = tagLookups(hh, agentId);
    expect(lookups[0]?.items).toBe(0); // not visible yet …
    expect(lookups.at(-1)?.items).toBe(1); // … then found
  }

  it('a lost create not yet visible to the tag lookup: the engine waits and adopts it, never a second create', async () => {
    h = await startHarness({ env: CONFIRM });
    const [id] = await fleet(h, 1);
    await loseCreateWhileIndexHeld(h, id!);
    await h.patch(id!, { op: 'replace', path: 'displayName', value: 'renamed meanwhile' });
    await waitOutEmptyLookup(h, id!, h.sync());
    // the wait branch ran: the empty lookup was answered by waiting, not by creating again
    const errors = (await h.ar.store.outbox.list({ target: 'entra', status: 'done' })).filter((r) => r.resourceId === id).map((r) => r.lastError ?? '');
    expect(errors.some((e) => /not visible yet; waiting/.test(e)), errors.join('\n')).toBe(true);
    expect(creates(h)).toHaveLength(1);
    expectOneEach(h, [id!]);
    expect(h.remote(id!)?.displayName).toBe('renamed meanwhile');
    expect((await h.ar.store.sync.getLink('entra', id!))?.remoteId).toBe(h.remote(id!)?.id);
  });

  it('an agent deleted while its lost create is not yet visible: the object is found and deleted, not leaked', async () => {
    h = await startHarness({ env: CONFIRM });
    const [id] = await fleet(h, 1);
    await loseCreateWhileIndexHeld(h, id!);
    // the row leaves the store (the API keeps retired agents as tombstones; see entra-lifecycle)
    const row = await h.ar.store.get('Agent', id!);
    await h.ar.store.commit({
      writes: [{ kind: 'delete', type: 'Agent', id: id!, expectedVersion: row!.version }],
      audit: [],
      outbox: [{ target: 'entra', resourceType: 'Agent', resourceId: id!, action: 'delete', version: row!.version }],
    });
    await waitOutEmptyLookup(h, id!, h.sync());
    expect(creates(h)).toHaveLength(1);
    expect(h.remotesOf(id!)).toEqual([]);
    expect(h.emu.state.agentIdentities()).toEqual([]);
    expect(await h.ar.store.sync.getLink('entra', id!)).toBeFalsy();
  });

  it('5xx on a create is an unknown outcome: looked up first, created once', async () => {
    h = await startHarness({ env: { AGENTROSTER_ENTRA_BATCH_SIZE: '1' } });
    const ids = await fleet(h, 2);
    h.emu.faults.failNext(2, 500, { match: CREATE });
    h.emu.faults.failNext(2, 503, { match: { method: 'GET' }, retryAfter: 0 });
    await h.sync();
    expectOneEach(h, ids);
    // the faults fired: two creates answered 500 (nothing committed), two reads 503
    expect(h.emu.counters.injectedFailures).toBe(4);
    const posts = creates(h);
    expect(posts.filter((e) => e.status === 500)).toHaveLength(2);
    expect(posts.filter((e) => e.status === 201)).toHaveLength(2);
    expect(h.emu.log.filter((e) => e.method === 'GET' && e.status === 503)).toHaveLength(2);
    // each create that got a 500 was followed by a tag lookup before the same create was sent again
    const failed = posts.filter((e) => e.status === 500);
    for (const f of failed) {
      const next = posts.find((e) => e.seq > f.seq && e.retryKey === f.retryKey);
      expect(next?.status, 'the same create sent again').toBe(201);
      const looked = h.emu.log.filter((e) => e.seq > f.seq && e.seq < next!.seq && e.method === 'GET' && /tags\/any/.test(decodeURIComponent(e.query)) && e.status === 200);
      expect(looked.length, 'a successful tag lookup between the 500 and the new create').toBeGreaterThanOrEqual(1);
      expect(looked.at(-1)?.items).toBe(0); // it found nothing: a 500 commits nothing
    }
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
      await h.settle(); // the change feed trails the change by the index lag
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
