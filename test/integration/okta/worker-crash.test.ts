// A sync worker killed with SIGKILL in the middle of a sync (the real CLI, `agentroster sync apply
// --target okta --once`, as a child process), then started again: every agent ends up with exactly
// one Okta user. Creates whose answers died with the process are found by login and adopted; rows the
// dead worker had leased are taken over when the lease expires.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildAgentroster } from '../../../src/app.js';
import { loadConfig } from '../../../src/config/config.js';
import { startOktaEmulator, type OktaEmulator } from '../../emulators/okta/index.js';
import { AGENT_URN, ctx, GOV_URN, oktaEnv, USER_URN } from './harness.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const N = 60;
let emu: OktaEmulator;
let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  emu = await startOktaEmulator({ searchLagMs: 200, latencyMs: 60 });
  dir = mkdtempSync(join(tmpdir(), 'agentroster-okta-crash-'));
  env = {
    ...oktaEnv(emu),
    AGENTROSTER_DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}`,
    AGENTROSTER_LOG_LEVEL: 'warn',
    AGENTROSTER_SYNC_LEASE_SECONDS: '2',
    AGENTROSTER_OKTA_MAX_CONCURRENT_REQUESTS: '4',
    AGENTROSTER_SYNC_CONCURRENCY: '8',
  };
  const ar = await buildAgentroster(loadConfig(env), { logger: pino({ level: 'silent' }), startJobs: false, sync: { start: false } });
  try {
    emu.admin.createUser({ profile: { login: 'crash@example.com', email: 'crash@example.com', firstName: 'Crash', lastName: 'Sponsor' } });
    const s = await ar.service.create('User', { schemas: [USER_URN], userName: 'crash@example.com', active: true, emails: [{ value: 'crash@example.com' }] }, ctx());
    for (let i = 0; i < N; i++) {
      const a = await ar.service.create(
        'Agent',
        {
          schemas: [AGENT_URN, GOV_URN],
          agentUserName: `crash-${i}`,
          displayName: `Crash ${i}`,
          [GOV_URN]: { sponsor: { value: s.resource.id }, purpose: 'crash test', environment: 'test', autonomyLevel: 'advisory' },
        },
        ctx(),
      );
      await ar.service.patch('Agent', a.resource.id as string, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: `${GOV_URN}:lifecycleState`, value: 'active' }] }, ctx());
    }
  } finally {
    await ar.close();
  }
});
afterAll(async () => {
  await emu?.close();
  rmSync(dir, { recursive: true, force: true });
});

function cli(): { child: ChildProcess; done: Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'sync', 'apply', '--target', 'okta', '--once', '--max-retry-wait', '30'], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, out })),
  );
  return { child, done };
}

const agentUsers = () => [...emu.state.users.values()].filter((u) => typeof u.profile['agentrosterId'] === 'string');

it('SIGKILLed mid-sync and restarted: every agent exactly once in Okta, nothing parked', async () => {
  const first = cli();
  // kill it once a few users exist and creates are in flight: an observable condition, however long
  // the child takes to start on a loaded machine (the test's timeout is the only bound). The
  // emulator runs in this process, so no create can land between the check and the kill.
  let exited: { code: number | null; out: string } | undefined;
  void first.done.then((r) => (exited = r));
  while (agentUsers().length < 12 && !exited) await new Promise((r) => setTimeout(r, 5));
  const createdWhenKilled = agentUsers().length;
  expect(exited, `the first worker exited before the kill: ${JSON.stringify(exited)}`).toBeUndefined();
  expect(createdWhenKilled).toBeGreaterThanOrEqual(12);
  expect(createdWhenKilled).toBeLessThan(N);
  first.child.kill('SIGKILL');
  const r1 = await first.done;
  expect(r1.signal).toBe('SIGKILL');
  // requests the dead process had in flight are still committed by Okta (their answers are lost)
  await new Promise((r) => setTimeout(r, 200));

  const second = cli();
  const r2 = await second.done;
  expect(r2.code, r2.out).toBe(0);

  const users = agentUsers();
  const byAgent = new Map<string, number>();
  for (const u of users) byAgent.set(String(u.profile['agentrosterId']), (byAgent.get(String(u.profile['agentrosterId'])) ?? 0) + 1);
  expect(byAgent.size).toBe(N);
  expect([...byAgent.values()].every((n) => n === 1)).toBe(true);
  expect(users.every((u) => u.status === 'ACTIVE')).toBe(true);

  const ar = await buildAgentroster(loadConfig(env), { logger: pino({ level: 'silent' }), startJobs: false, sync: { start: false } });
  try {
    const links = await ar.store.sync.links('okta', '', 1000);
    expect(links).toHaveLength(N);
    expect(links.every((l) => l.remoteId && !l.lastError)).toBe(true);
    const ids = new Set(users.map((u) => u.id));
    expect(links.every((l) => ids.has(l.remoteId!))).toBe(true);
    expect(await ar.store.outbox.stats('okta')).toMatchObject({ pending: 0, parked: 0 });
  } finally {
    await ar.close();
  }
}, 120_000);
