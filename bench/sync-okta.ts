// npx tsx bench/sync-okta.ts [--agents 10000] [--writes-per-minute 600] [--groups 20] [--latency-ms 0]
//
// Syncs N active agents (each with one entitlement mapped to an Okta group, so one create carries the
// membership) to the Okta emulator, whose management writes share ONE quota of W per minute
// (writeLimitedBuckets), with the production code path: `agentroster sync apply --target okta --once`
// as a child process against a SQLite file. Reports:
// - the fraction of the write quota achieved: the writes of the full quota windows (the emulator's own
//   windows, reconstructed from its request log) over what W per minute allows in the time those
//   windows took, gaps between windows included; and the windows used against the minimum;
// - 429s, requests that arrived before an announced reset (earlyAfter429), duplicates (agents with
//   more than one Okta user), agents missing;
// - the sync process's peak RSS (VmHWM) and CPU time.
// Writes bench/results/sync-okta-<time>.json.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { buildAgentroster } from '../src/app.js';
import { loadConfig } from '../src/config/config.js';
import type { RequestContext } from '../src/resources/context.js';
import { startOktaEmulator, writeLimitedBuckets } from '../test/emulators/okta/index.js';
import { cpuMs, peakRssMiB, rssMiB } from './proc.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const AGENT_URN = 'urn:ietf:params:scim:schemas:core:2.0:Agent';
const GOV_URN = 'urn:agentroster:scim:schemas:extension:agent-governance:1.0:Agent';
const ENT_URN = 'urn:ietf:params:scim:schemas:core:2.0:Entitlement';
const ENT_GOV_URN = 'urn:agentroster:scim:schemas:extension:entitlement:1.0:Entitlement';
const USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}
const N = Number(arg('agents', '10000'));
const WPM = Number(arg('writes-per-minute', '600'));
const GROUPS = Number(arg('groups', '20'));
const SPONSORS = Number(arg('sponsors', '50'));
const LATENCY = Number(arg('latency-ms', '0'));

const ctx = (): RequestContext => ({
  actor: { client: 'bench', tokenId: 'bench' },
  scopes: new Set(['scim.read', 'scim.write', 'scim.revoke', 'agents.approve', 'admin']),
  requestId: `bench-${Math.random()}`,
  baseUrl: 'http://bench/scim/v2',
});

const log = (s: string) => process.stderr.write(`${new Date().toISOString()} ${s}\n`);

async function main(): Promise<void> {
  const emu = await startOktaEmulator({ buckets: writeLimitedBuckets(WPM), searchLagMs: 1500, latencyMs: LATENCY, requestLogLimit: 1_000_000 });
  const dir = mkdtempSync(join(tmpdir(), 'agentroster-bench-okta-'));
  const env: Record<string, string> = {
    AGENTROSTER_DATABASE_URL: `sqlite:${join(dir, 'bench.sqlite')}`,
    AGENTROSTER_LOG_LEVEL: 'warn',
    AGENTROSTER_SYNC_TARGETS: 'okta',
    AGENTROSTER_OKTA_ORG_URL: emu.orgUrl,
    AGENTROSTER_OKTA_TOKEN: emu.apiToken,
    AGENTROSTER_OKTA_LOGIN_DOMAIN: 'agents.bench.example',
  };
  try {
    // ── seed: sponsors in Okta and here, groups, the catalogue, N active agents
    const t0 = Date.now();
    const ar = await buildAgentroster(loadConfig(env), { logger: pino({ level: 'silent' }), startJobs: false, sync: { start: false } });
    const sponsors: string[] = [];
    for (let i = 0; i < SPONSORS; i++) {
      const login = `sponsor-${i}@bench.example`;
      emu.admin.createUser({ profile: { login, email: login, firstName: 'Sponsor', lastName: String(i) } });
      const r = await ar.service.create('User', { schemas: [USER_URN], userName: login, active: true, emails: [{ value: login, primary: true }] }, ctx());
      sponsors.push(r.resource.id as string);
    }
    for (let i = 0; i < GROUPS; i++) {
      const g = emu.admin.createGroup(`bench-group-${i}`);
      await ar.service.create('Entitlement', { schemas: [ENT_URN, ENT_GOV_URN], value: `bench-${i}`, display: `bench ${i}`, [ENT_GOV_URN]: { mappings: [{ target: 'okta', kind: 'group', remoteId: g.id }] } }, ctx());
    }
    for (let i = 0; i < N; i++) {
      await ar.service.create(
        'Agent',
        {
          schemas: [AGENT_URN, GOV_URN],
          agentUserName: `bench-agent-${i}`,
          displayName: `Bench Agent ${i}`,
          entitlements: [{ value: `bench-${i % GROUPS}` }],
          [GOV_URN]: {
            sponsor: { value: sponsors[i % SPONSORS] },
            purpose: 'benchmark',
            environment: 'test',
            autonomyLevel: 'advisory',
            riskTier: 'low',
            lifecycleState: 'active',
          },
        },
        ctx(),
      );
      if ((i + 1) % 2000 === 0) log(`seeded ${i + 1}/${N} agents`);
    }
    const pending = await ar.store.outbox.stats('okta');
    await ar.close();
    const seedSeconds = (Date.now() - t0) / 1000;
    log(`seeded ${N} agents in ${seedSeconds.toFixed(0)} s; ${pending.pending} outbox rows`);

    // ── sync: the CLI, one pass
    emu.resetCounters();
    const started = Date.now();
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'sync', 'apply', '--target', 'okta', '--once', '--max-retry-wait', '600'], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr!.on('data', (b: Buffer) => {
      const s = b.toString();
      out += s;
      for (const line of s.split('\n')) if (line.startsWith('sync okta:')) log(line);
    });
    let peak = 0;
    let maxRss = 0;
    let cpu = 0;
    const sampler = setInterval(() => {
      try {
        peak = Math.max(peak, peakRssMiB(child.pid!));
        maxRss = Math.max(maxRss, rssMiB(child.pid!));
        cpu = cpuMs(child.pid!);
      } catch {
        // exited
      }
    }, 200);
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    clearInterval(sampler);
    const wallSeconds = (Date.now() - started) / 1000;

    // ── figures
    const writes = emu.requestLog.filter((r) => r.bucket === 'writes');
    const accepted = writes.filter((r) => (r.status ?? 0) < 400 && !r.rejected).sort((a, b) => a.at - b.at);
    const windows: { start: number; end: number; writes: number }[] = [];
    // the emulator's windows: one opens at the first request after the previous one ended, and
    // ends 60 s later rounded up to a whole second
    for (const r of writes.sort((a, b) => a.at - b.at)) {
      const w = windows[windows.length - 1];
      if (!w || r.at >= w.end) windows.push({ start: r.at, end: Math.ceil((r.at + 60_000) / 1000) * 1000, writes: 0 });
      if ((r.status ?? 0) < 400 && !r.rejected) windows[windows.length - 1]!.writes++;
    }
    const full = windows.slice(0, -1);
    const first = accepted[0]?.at ?? started;
    const last = accepted[accepted.length - 1]?.at ?? started;
    const users = [...emu.state.users.values()].filter((u) => typeof u.profile['agentrosterId'] === 'string');
    const per = new Map<string, number>();
    for (const u of users) per.set(String(u.profile['agentrosterId']), (per.get(String(u.profile['agentrosterId'])) ?? 0) + 1);
    const duplicates = [...per.values()].reduce((s, n) => s + Math.max(0, n - 1), 0);
    const result = {
      at: new Date().toISOString(),
      agents: N,
      writesPerMinuteQuota: WPM,
      exitCode: code,
      seedSeconds,
      syncWallSeconds: wallSeconds,
      writesAccepted: accepted.length,
      writeSpanSeconds: (last - first) / 1000,
      quotaWindows: windows.map((w) => w.writes),
      // writes of the full windows over what the quota allowed in the time they took (gaps included)
      quotaFraction: full.length ? full.reduce((s, w) => s + w.writes, 0) / ((WPM * (windows[full.length]!.start - windows[0]!.start)) / 60_000) : null,
      fullWindowFraction: full.length ? full.reduce((s, w) => s + w.writes, 0) / (full.length * WPM) : null,
      windowsUsed: windows.length,
      windowsMinimum: Math.ceil(accepted.length / WPM),
      meanGapBetweenWindowsMs: windows.length > 1 ? Math.round(windows.slice(1).reduce((s, w, i) => s + (w.start - windows[i]!.end), 0) / (windows.length - 1)) : null,
      agentsPerMinute: N / (wallSeconds / 60),
      responses429: emu.counters.tooManyRequests,
      rateLimit429: emu.counters.rateLimit429,
      concurrency429: emu.counters.concurrency429,
      earlyAfter429: emu.counters.earlyAfter429,
      maxInFlight: emu.counters.maxInFlight,
      reads: emu.requestLog.filter((r) => r.bucket === 'reads').length,
      agentsInOkta: per.size,
      duplicates,
      missing: N - per.size,
      peakRssMiB: Math.round(Math.max(peak, maxRss)),
      cpuSeconds: cpu / 1000,
    };
    mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
    const file = join(ROOT, `bench/results/sync-okta-${result.at.replace(/[:.]/g, '-')}.json`);
    writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    log(`written ${file}`);
    if (code !== 0) process.stderr.write(out.slice(-4000));
  } finally {
    await emu.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
