// What an identity admin operates: GET /admin/sync (health per target), /metrics (Prometheus),
// parked rows over HTTP, and the CLI: sync plan / apply --once (progress bar or lines, exit status) /
// status / parked / retry.

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import supertest from 'supertest';
import { afterEach, describe, expect, it } from 'vitest';
import { registerSyncCommands, type SyncCliIo } from '../../../src/cli/sync-commands.js';
import { createToken } from '../../../src/http/tokens.js';
import { type Harness, startHarness } from './harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function cli(hh: Harness, args: string[], io: Partial<SyncCliIo> = {}): Promise<{ out: string; err: string; exit: number }> {
  let out = '';
  let err = '';
  let exit = 0;
  const program = new Command().exitOverride();
  registerSyncCommands(program, {
    out: (t) => void (out += t),
    err: (t) => void (err += t),
    isTTY: false,
    exit: (c) => void (exit = c),
    // the harness's application (its emulator-bound connector), left open for the test
    build: async () => ({ ...hh.ar, close: async () => undefined }),
    ...io,
  });
  await program.parseAsync(['node', 'agentroster', ...args]);
  return { out, err, exit };
}

describe('HTTP', () => {
  it('GET /admin/sync: health per target, admin scope, no secrets', async () => {
    h = await startHarness();
    const s = await h.sponsor('ada');
    await h.agent('bot', s.id);
    const ghost = await h.sponsor('ghost', { inEntra: false });
    await h.agent('stuck', ghost.id);
    await h.sync({ allowFailures: true });
    const http = supertest(h.ar.app);
    expect((await http.get('/admin/sync')).status).toBe(401);
    const reader = await createToken(h.ar.store, 'reader', ['scim.read']);
    expect((await http.get('/admin/sync').set('Authorization', `Bearer ${reader.token}`)).status).toBe(403);
    const admin = await createToken(h.ar.store, 'ops', ['admin']);
    const res = await http.get('/admin/sync').set('Authorization', `Bearer ${admin.token}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      status: 'failing',
      targets: [
        {
          target: 'entra',
          status: 'failing',
          reasons: expect.arrayContaining([expect.stringMatching(/1 parked row/)]),
          queue: { pending: 0, parked: 1 },
          counters: { successes: 1, parked: 1 },
          settings: { mapping: 'agentIdentity', credential: 'client secret', graphUrl: h.emu.url, authorityHost: h.emu.authorityHost },
        },
      ],
    });
    expect(JSON.stringify(res.body)).not.toContain(h.emu.defaultClient.clientSecret);

    const parked = await http.get('/admin/sync/entra/parked').set('Authorization', `Bearer ${admin.token}`);
    expect(parked.body.parked).toEqual([expect.objectContaining({ status: 'parked', lastError: expect.stringMatching(/sponsorNotFound/) })]);
    const seq = parked.body.parked[0].seq as number;
    expect((await http.post(`/admin/sync/entra/parked/${seq}/retry`).set('Authorization', `Bearer ${admin.token}`)).body).toEqual({ requeued: [seq] });
    expect((await http.post('/admin/sync/nope/retry-parked').set('Authorization', `Bearer ${admin.token}`)).status).toBe(404);
  });

  it('/metrics: Prometheus text with queue depth, oldest pending age, successes, failures, throttles', async () => {
    h = await startHarness({ emulatorConfig: { writeRateLimit: { limit: 2, windowMs: 1000 } }, env: { AGENTROSTER_ENTRA_WRITES_PER_SECOND: '50' } });
    const s = await h.sponsor('ada');
    for (let i = 0; i < 4; i++) await h.agent(`m-${i}`, s.id);
    const http = supertest(h.ar.app);
    expect((await http.get('/metrics')).status).toBe(401);
    const admin = await createToken(h.ar.store, 'prom', ['admin']);
    const before = (await http.get('/metrics').set('Authorization', `Bearer ${admin.token}`)).text;
    expect(before).toMatch(/^agentroster_sync_queue_depth\{target="entra"\} 4$/m);
    expect(before).toMatch(/^agentroster_sync_oldest_pending_age_seconds\{target="entra"\} \d/m);
    await h.sync();
    const res = await http.get('/metrics').set('Authorization', `Bearer ${admin.token}`);
    expect(res.headers['content-type']).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(res.text).toMatch(/^# TYPE agentroster_sync_successes_total counter$/m);
    expect(res.text).toMatch(/^agentroster_sync_successes_total\{target="entra"\} 4$/m);
    expect(res.text).toMatch(/^agentroster_sync_queue_depth\{target="entra"\} 0$/m);
    expect(res.text).toMatch(/^agentroster_sync_failures_total\{target="entra",kind="parked"\} 0$/m);
    expect(res.text).toMatch(/^agentroster_sync_throttles_total\{target="entra"\} [1-9]/m);
    expect(res.text.match(/^# HELP agentroster_sync_failures_total/gm)).toHaveLength(1);
  });

  it('AGENTROSTER_METRICS_PUBLIC serves /metrics without a token', async () => {
    h = await startHarness({ env: { AGENTROSTER_METRICS_PUBLIC: 'true' } });
    expect((await supertest(h.ar.app).get('/metrics')).status).toBe(200);
  });
});

describe('CLI', () => {
  it('plan, apply --once (progress lines; exit 1 when something is parked), status, parked, retry', async () => {
    const db = `sqlite:${join(mkdtempSync(join(tmpdir(), 'agentroster-cli-')), 'a.db')}`;
    h = await startHarness({ databaseUrl: db, env: { AGENTROSTER_SQLITE_SYNCHRONOUS: 'NORMAL' } });
    const s = await h.sponsor('ada');
    const ghost = await h.sponsor('ghost', { inEntra: false });
    const ok = await h.agent('planned-bot', s.id);
    await h.agent('stuck-bot', ghost.id);

    const plan = await cli(h, ['sync', 'plan', '--target', 'entra']);
    expect(plan.out).toMatch(/^entra: 2 to create$/m);
    expect(plan.out).toContain(`create  planned-bot (${ok})`);
    expect(plan.out).toMatch(/sponsors: ada@contoso\.com/);

    const apply = await cli(h, ['sync', 'apply', '--target', 'entra', '--once', '--max-retry-wait', '5']);
    expect(apply.exit).toBe(1);
    expect(apply.err).toMatch(/sync entra: \d+ agent\(s\) differ from the target/);
    expect(apply.err).toMatch(/sync entra: \d+\/\d+ rows \(\d+%\)/);
    expect(apply.err).toMatch(/parked: sponsorNotFound/);
    expect(apply.err).toMatch(/done in .* 1 agent\(s\) synced \(1 changed\), 1 parked/);
    expect(h.remotesOf(ok)).toHaveLength(1);

    const status = await cli(h, ['sync', 'status', '--target', 'entra', '--database-url', db]);
    expect(status.out).toMatch(/^entra: 0 pending .*1 parked · links: 1 synced, 0 pending, 1 error/m);
    const parked = await cli(h, ['sync', 'parked', '--database-url', db]);
    const seq = /^(\d+)\tentra\tAgent /m.exec(parked.out)?.[1];
    expect(seq).toBeDefined();
    expect(parked.out).toContain('no account in Entra');

    h.emu.state.seedUser({ displayName: 'ghost', userPrincipalName: 'ghost@contoso.com' });
    (h.entra.sync.connector as unknown as { directory: { clear(): void } }).directory.clear();
    expect((await cli(h, ['sync', 'retry', seq!, '--database-url', db])).out).toBe('1 row(s) requeued\n');
    expect((await cli(h, ['sync', 'retry', '999999', '--database-url', db])).exit).toBe(1);

    // a terminal gets a progress bar
    const again = await cli(h, ['sync', 'apply', '--target', 'entra', '--once'], { isTTY: true });
    expect(again.exit).toBe(0);
    expect(again.err).toMatch(/\rentra \[[█░]{30}\] 100% /);
    expect((await cli(h, ['sync', 'plan', '--target', 'entra'])).out).toMatch(/^entra: in sync, nothing to do$/m);
  });
});
