// The worker killed with SIGKILL at random points of a large sync and restarted: the production
// entry point (`agentroster sync apply --once`) as a child process on a SQLite file, trusting the
// emulator's CA through NODE_EXTRA_CA_CERTS only. Between crashes agents keep changing. At the end
// every agent has exactly one remote object and every change is applied. Every random choice (kill
// moments, the changes between crashes) comes from one seed, printed when the test fails; rerun a
// failure with AGENTROSTER_TEST_SEED=<seed>. The emulator is at its defaults (20 writes/s, lag).

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { randomInt as cryptoRandomInt, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, it, onTestFailed } from 'vitest';
import { startGraphEmulator, type GraphEmulator } from '../../emulators/graph/index.js';
import { GOV_URN, type Harness, startHarness } from './harness.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const AGENTS = 60;
const SEED = Number(process.env['AGENTROSTER_TEST_SEED'] ?? cryptoRandomInt(2 ** 31));

/** mulberry32: a small seeded PRNG; randomInt(a, b) is in [a, b), randomInt(n) in [0, n) */
function seeded(seed: number): (a: number, b?: number) => number {
  let t = seed >>> 0;
  const next = (): number => {
    t = (t + 0x6d2b79f5) >>> 0;
    let r = Math.imul(t ^ (t >>> 15), 1 | t);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
  return (a, b) => (b === undefined ? Math.floor(next() * a) : a + Math.floor(next() * (b - a)));
}
const randomInt = seeded(SEED);

let emu: GraphEmulator;
let h: Harness;
let dbUrl: string;

beforeAll(async () => {
  emu = await startGraphEmulator();
  dbUrl = `sqlite:${join(mkdtempSync(join(tmpdir(), 'agentroster-crash-')), 'agentroster.db')}`;
  // NORMAL: WAL commits survive a process crash (SIGKILL); only power loss could lose the last ones
  h = await startHarness({ emulator: emu, databaseUrl: dbUrl, env: { AGENTROSTER_SQLITE_SYNCHRONOUS: 'NORMAL' } });
});
afterAll(async () => {
  await h?.close();
  await emu?.close();
});

interface Run {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function syncProcess(): Run {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'sync', 'apply', '--target', 'entra', '--once', '--max-retry-wait', '30'], {
    cwd: ROOT,
    // production trust path: the emulator CA through NODE_EXTRA_CA_CERTS (set by the vitest globalSetup)
    env: { ...process.env, ...h.env, AGENTROSTER_DATABASE_URL: dbUrl, AGENTROSTER_LOG_LEVEL: 'warn', AGENTROSTER_SYNC_LEASE_SECONDS: '1.5' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

/** waits for an observable condition (bounded only by the test's timeout) */
async function waitFor(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 10));
}

it(`SIGKILLed at random points of a ${AGENTS}-agent sync and restarted: one object per agent, every change applied`, async () => {
  onTestFailed(() => {
    console.error(`entra-crash: AGENTROSTER_TEST_SEED=${SEED} reproduces the kill moments and changes of this run`);
  });
  const sponsors = [await h.sponsor('ada'), await h.sponsor('grace'), await h.sponsor('linus')];
  const readers = emu.state.seedGroup({ id: randomUUID(), displayName: 'Readers' });
  await h.entitlement('read', [{ target: 'entra', kind: 'group', remoteId: readers.id }]);
  const ids: string[] = [];
  for (let i = 0; i < AGENTS; i++) ids.push(await h.agent(`crash-${i}`, sponsors[i % 3]!.id));

  const expected = new Map<string, { active: boolean; sponsor: string; reader: boolean }>(ids.map((id, i) => [id, { active: false, sponsor: sponsors[i % 3]!.entraId, reader: false }]));
  const kills: number[] = [];
  for (let round = 0; round < 3; round++) {
    const run = syncProcess();
    const before = emu.counters.writes;
    // kill somewhere in the middle of the work: after it started writing, at a random moment
    await waitFor(() => emu.counters.writes > before || run.child.exitCode !== null);
    await new Promise((r) => setTimeout(r, randomInt(50, 900)));
    const killedAt = emu.counters.writes;
    run.child.kill('SIGKILL');
    await run.exited;
    kills.push(killedAt - before);
    // meanwhile agents keep changing (only while no worker runs: one SQLite writer process at a time)
    for (let k = 0; k < 12; k++) {
      const i = randomInt(AGENTS);
      const id = ids[i]!;
      const e = expected.get(id)!;
      const what = randomInt(3);
      if (what === 0 && !e.active) {
        await h.setState(id, 'active');
        e.active = true;
      } else if (what === 1) {
        const s = sponsors[randomInt(3)]!;
        await h.patch(id, { op: 'replace', path: `${GOV_URN}:sponsor`, value: { value: s.id } });
        e.sponsor = s.entraId;
      } else if (!e.reader) {
        await h.patch(id, { op: 'add', path: 'entitlements', value: [{ value: 'read' }] });
        e.reader = true;
      }
    }
  }
  const final = syncProcess();
  const code = await final.exited;
  expect(code, `seed ${SEED}: ${final.output()}`).toBe(0);

  // exactly one remote object per agent, and every change applied
  expect(emu.state.agentIdentities()).toHaveLength(AGENTS);
  const members = new Set(emu.state.memberIds(readers.id));
  for (const id of ids) {
    const mine = h.remotesOf(id);
    expect(mine, id).toHaveLength(1);
    const obj = mine[0]!;
    const e = expected.get(id)!;
    expect(obj.accountEnabled, id).toBe(e.active);
    expect(emu.state.sponsorIds(String(obj.id)), id).toEqual([e.sponsor]);
    expect(members.has(String(obj.id)), id).toBe(e.reader);
  }
  expect(await h.ar.store.outbox.stats('entra')).toMatchObject({ pending: 0, parked: 0 });
  expect(kills.some((n) => n > 0), `seed ${SEED}`).toBe(true); // the kills did land mid-sync
}, 90_000);
