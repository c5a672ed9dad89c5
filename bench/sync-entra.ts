// npx tsx bench/sync-entra.ts [--agents 10000] [--writes-per-second 20] [--sqlite-synchronous FULL|NORMAL] [--batch-size 20]
//
// Initial sync of N agents to the Graph emulator throttled at W writes per second per app (its
// default: 20, a sliding one-second window, 429 + Retry-After beyond it). The sync worker runs as
// the production CLI (`agentroster sync apply --once`) in a child process, trusting the emulator's
// CA through NODE_EXTRA_CA_CERTS only. Agent identities go into 250-identity blueprints (the Agent
// ID quota), 40 of them for 10,000 agents.
//
// Reports: achieved write rate as a fraction of the quota (steady state: from the first write to
// one window after the last; and end to end: child process start to exit, startup included), duplicates (remote objects per agent beyond one), 429s,
// early retries, the worker's peak RSS. Writes bench/results/sync-entra-<time>.json.

import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { buildAgentroster } from '../src/app.js';
import { loadConfig } from '../src/config/config.js';
import { caBundleFor } from '../test/emulators/graph/certs.js';
import { startGraphEmulator } from '../test/emulators/graph/index.js';
import { peakRssMiB } from './proc.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const GOV = 'urn:agentroster:scim:schemas:extension:agent-governance:1.0:Agent';
const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
};
const AGENTS = Number(arg('agents', '10000'));
const WPS = Number(arg('writes-per-second', '20'));
const SYNCHRONOUS = arg('sqlite-synchronous', 'FULL');
const BATCH = arg('batch-size', '20');
const PER_BLUEPRINT = 250;
const SPONSORS = 50;

const log = (s: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${s}\n`);

const emu = await startGraphEmulator({ config: { writeRateLimit: { limit: WPS, windowMs: 1000 }, agentIdentitiesPerBlueprint: PER_BLUEPRINT } });
const blueprints = Array.from({ length: Math.ceil(AGENTS / PER_BLUEPRINT) }, (_, i) => {
  const appId = randomUUID();
  emu.state.seedBlueprint({ displayName: `bench blueprint ${i + 1}`, appId });
  return appId;
});
const dir = mkdtempSync(join(tmpdir(), 'agentroster-bench-sync-'));
const env: Record<string, string> = {
  AGENTROSTER_DATABASE_URL: `sqlite:${join(dir, 'agentroster.db')}`,
  AGENTROSTER_SQLITE_SYNCHRONOUS: SYNCHRONOUS,
  AGENTROSTER_LOG_LEVEL: 'warn',
  AGENTROSTER_SYNC_TARGETS: 'entra',
  AGENTROSTER_ENTRA_TENANT_ID: emu.tenantId,
  AGENTROSTER_ENTRA_CLIENT_ID: emu.defaultClient.clientId,
  AGENTROSTER_ENTRA_CLIENT_SECRET: emu.defaultClient.clientSecret,
  AGENTROSTER_ENTRA_AUTHORITY_HOST: emu.authorityHost,
  AGENTROSTER_ENTRA_GRAPH_URL: emu.url,
  AGENTROSTER_ENTRA_BLUEPRINT_ID: blueprints.join(','),
  AGENTROSTER_ENTRA_WRITES_PER_SECOND: String(WPS),
  AGENTROSTER_ENTRA_BATCH_SIZE: BATCH,
};

// ── seed: sponsors in Entra and here, agents here (every create writes its outbox row) ──────────
log(`seeding ${AGENTS} agents, ${SPONSORS} sponsors, ${blueprints.length} blueprints`);
const ar = await buildAgentroster(loadConfig({ ...env, AGENTROSTER_SQLITE_SYNCHRONOUS: 'NORMAL' }), { logger: pino({ level: 'silent' }), startJobs: false, sync: { start: false } });
const ctx = { actor: { client: 'bench', tokenId: 'bench' }, scopes: new Set(['scim.read', 'scim.write', 'scim.revoke', 'agents.approve', 'admin'] as const), requestId: 'bench', baseUrl: 'http://bench/scim/v2' };
const sponsorIds: string[] = [];
for (let i = 0; i < SPONSORS; i++) {
  const upn = `sponsor${i}@contoso.com`;
  emu.state.seedUser({ displayName: `Sponsor ${i}`, userPrincipalName: upn });
  const r = await ar.service.create('User', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: upn, displayName: `Sponsor ${i}` }, ctx);
  sponsorIds.push(r.resource.id as string);
}
const t0 = Date.now();
for (let i = 0; i < AGENTS; i += 100) {
  await Promise.all(
    Array.from({ length: Math.min(100, AGENTS - i) }, (_, k) =>
      ar.service.create(
        'Agent',
        {
          schemas: ['urn:ietf:params:scim:schemas:core:2.0:Agent', GOV],
          agentUserName: `bench-${i + k}`,
          displayName: `Bench agent ${i + k}`,
          [GOV]: { sponsor: { value: sponsorIds[(i + k) % SPONSORS] }, purpose: 'benchmark', environment: 'test', autonomyLevel: 'advisory', lifecycleState: 'pending' },
        },
        ctx,
      ),
    ),
  );
}
log(`seeded in ${((Date.now() - t0) / 1000).toFixed(1)} s; ${(await ar.store.outbox.stats('entra')).pending} outbox rows`);
await ar.close();

// ── sync: the production CLI in a child process ─────────────────────────────────────────────────
emu.faults.resetCounters();
const started = Date.now();
const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'sync', 'apply', '--target', 'entra', '--once'], {
  cwd: ROOT,
  env: { ...process.env, ...env, NODE_EXTRA_CA_CERTS: await caBundleFor(process.env.NODE_EXTRA_CA_CERTS) },
  stdio: ['ignore', 'inherit', 'inherit'],
});
let peak = 0;
const poll = setInterval(() => {
  try {
    peak = Math.max(peak, peakRssMiB(child.pid!));
  } catch {
    /* exited */
  }
}, 250);
const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
clearInterval(poll);
const elapsed = (Date.now() - started) / 1000;

// ── figures ─────────────────────────────────────────────────────────────────────────────────────
const writes = emu.log.filter((e) => e.write && e.status !== undefined && e.status >= 200 && e.status < 300);
const first = writes[0]?.atMs ?? 0;
const last = writes.at(-1)?.atMs ?? 0;
// from the first write to the end of the window of the last one (a window is 1 s at the quota)
const steadySeconds = (last - first) / 1000 + 1;
const perAgent = new Map<string, number>();
for (const a of emu.state.agentIdentities()) {
  const tag = ((a.tags as string[]) ?? []).find((t) => t.startsWith('agentroster:'));
  if (tag) perAgent.set(tag, (perAgent.get(tag) ?? 0) + 1);
}
const duplicates = [...perAgent.values()].reduce((n, c) => n + Math.max(0, c - 1), 0);
// where the time goes: gaps between consecutive write batches as Graph saw them
const starts: number[] = [];
let lastEnvelope = -1;
for (const w of writes) {
  const key = w.envelopeSeq ?? w.seq;
  if (key !== lastEnvelope) starts.push(w.atMs);
  lastEnvelope = key;
}
const gaps = starts.slice(1).map((t, i) => t - starts[i]!).sort((a, b) => a - b);
const pct = (p: number) => gaps[Math.min(gaps.length - 1, Math.floor((p / 100) * gaps.length))] ?? 0;
const c = emu.counters;
const result = {
  agents: AGENTS,
  quotaWritesPerSecond: WPS,
  sqliteSynchronous: SYNCHRONOUS,
  batchSize: Number(BATCH),
  exitCode: code,
  remoteObjects: emu.state.agentIdentities().length,
  agentsSynced: perAgent.size,
  duplicates,
  writes: c.writes,
  writeAttempts: c.writeAttempts,
  throttled429: c.throttled,
  earlyRetries: c.earlyRetries,
  batches: c.batches,
  graphOperations: c.graphOperations,
  steadyStateSeconds: Number(steadySeconds.toFixed(1)),
  steadyStateWritesPerSecond: Number((writes.length / steadySeconds).toFixed(2)),
  steadyStateFractionOfQuota: Number((writes.length / steadySeconds / WPS).toFixed(4)),
  endToEndSeconds: Number(elapsed.toFixed(1)),
  endToEndFractionOfQuota: Number((c.writes / elapsed / WPS).toFixed(4)),
  workerPeakRssMiB: Number(peak.toFixed(1)),
  writeBatchGapsMs: { p50: pct(50), p90: pct(90), p99: pct(99), max: gaps.at(-1) ?? 0, over1100: gaps.filter((g) => g > 1100).length, count: gaps.length },
  at: new Date().toISOString(),
};
console.log(JSON.stringify(result, null, 2));
mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
writeFileSync(join(ROOT, `bench/results/sync-entra-${result.at.replace(/[:.]/g, '-')}.json`), JSON.stringify(result, null, 2));
await emu.close();
process.exit(code === 0 && duplicates === 0 ? 0 : 1);
