// npm run bench [-- --sizes 10k,100k,1m --stores sqlite,postgres --seconds 4 --concurrency 8]
//
// Seeds N agents, then measures create, GET by id, filtered GETs, list pages (index and cursor),
// PATCH and DELETE against a real `agentroster serve` process, for each store; and in the same run a
// bare express route returning a fixed small JSON. Every figure is printed also as a ratio to that
// baseline (the machine is noisy: compare ratios and medians). Writes a JSON file too.
// One phase measures isolation (issue 10, finding 2): the p99 of one client's GET by id alone, then
// while 4 clients send the most expensive filters the cost limit accepts (target: ≤ 3× unloaded).
// The server runs from dist/ when dist is newer than src/ (npm run build), else from src/ with tsx.

import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { createToken } from '../src/http/tokens.js';
import { loadRegistry } from '../src/scim/load-schemas.js';
import { encodeCursor } from '../src/store/cursor.js';
import { GOVERNANCE_URN } from '../src/store/indexes.js';
import { openStore } from '../src/store/open-store.js';
import type { Store, Write } from '../src/store/types.js';
import { percentile, runLoad, type LoadSpec } from './load.js';
import { cpuMs, peakRssMiB } from './proc.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const AGENT_URN = 'urn:ietf:params:scim:schemas:core:2.0:Agent';
const ENT_URN = 'urn:ietf:params:scim:schemas:core:2.0:Entitlement';
const PATCH_URN = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const ENTITLEMENTS = 50;

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1]! : def;
}
const parseSize = (s: string) => Number(s.toLowerCase().replace(/k$/, '000').replace(/m$/, '000000'));
const sizes = arg('sizes', '10k').split(',').map(parseSize);
const storesWanted = arg('stores', 'sqlite,postgres').split(',');
const seconds = Number(arg('seconds', '4'));
const concurrency = Number(arg('concurrency', '8'));
const httpCreates = Number(arg('creates', '3000'));
const syncTargets = arg('sync-targets', 'entra');
const cpuProf = process.argv.includes('--cpu-prof');
/** run only phases whose name contains this text (profiling one path) */
const only = arg('only', '');
const pgUrl = process.env.AGENTROSTER_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

interface Phase {
  store: string;
  n: number;
  name: string;
  count: number;
  errors: number;
  reqPerSec: number;
  p50: number;
  p99: number;
  cpuMsPerReq: number;
}

/** The newest modification time under a directory, to tell a stale build from a fresh one. */
function newestMtime(dir: string): number {
  let max = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    max = Math.max(max, e.isDirectory() ? newestMtime(p) : statSync(p).mtimeMs);
  }
  return max;
}

/** dist only when it was built after the last change to src (a stale build measures old code). */
function serverEntry(): string[] {
  const dist = join(ROOT, 'dist/src/cli/main.js');
  if (existsSync(dist) && statSync(dist).mtimeMs >= newestMtime(join(ROOT, 'src'))) return [dist];
  return ['--import', 'tsx', 'src/cli/main.ts'];
}

/**
 * The most expensive filters the default cost limit (100) accepts: every one makes the database read
 * and fold every agent's JSON and pattern-match it up to ten times. Random patterns match nothing, so
 * the cost is the scan, not the rendering of results.
 */
const EXPENSIVE_FILTERS = '4 clients send expensive filters';
const PROSE_BODY = 'POST /Agents, 1 MB prose description ending in a secret';
const ADVERSARIAL_BODY = 'POST /Agents, 1 MB adversarial description ending in a secret';
const PROSE = 'The agent reconciles invoices against purchase orders and flags mismatches for review. ';

/** An agent whose description is ~1 MB of prose or of "eyJ" (the start of a JWT), ending in an API key. */
function bigAgent(sponsor: string, kind: 'prose' | 'adversarial'): string {
  const body = agentData(0, sponsor);
  const filler = kind === 'prose' ? PROSE.repeat(Math.floor(990_000 / PROSE.length)) : 'eyJ'.repeat(330_000);
  return JSON.stringify({ ...body, agentUserName: `big-${Math.random().toString(36).slice(2, 10)}`, description: `${filler} sk-${'Ab3'.repeat(12)}` });
}

function expensiveFilter(i: number): string {
  const r = () => Math.random().toString(36).slice(2, 8);
  const G = GOVERNANCE_URN;
  switch (i % 3) {
    case 0: // 10 × co on a folded attribute: 10 × 10
      return Array.from({ length: 10 }, () => `displayName co "${r()}"`).join(' or ');
    case 1: // not () of 5 × co: 5 × 10 × 2
      return `not (${Array.from({ length: 5 }, (_, k) => `${k % 2 ? 'description' : 'agentUserName'} co "${r()}"`).join(' or ')})`;
    default: // 20 comparisons on unindexed attributes: 20 × 5
      return Array.from({ length: 20 }, (_, k) => `${G}:${k % 2 ? 'purpose' : 'department'} eq "${r()}"`).join(' or ');
  }
}

async function startChild(args: string[], env: Record<string, string>, ready: RegExp): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, args, { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const port = await new Promise<number>((resolve, reject) => {
    const onData = (b: Buffer) => {
      out += b.toString();
      const m = ready.exec(out);
      if (m?.[1]) resolve(Number(m[1]));
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
    child.on('exit', (c) => reject(new Error(`child exited ${c}: ${out}`)));
  });
  child.stdout!.resume();
  return { child, port };
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGINT');
  });
}

async function measure(
  pid: number,
  store: string,
  n: number,
  name: string,
  spec: Omit<LoadSpec, 'url' | 'durationMs' | 'concurrency'> & { concurrency?: number },
  url: URL,
): Promise<Phase> {
  process.stderr.write(`  ${store} ${n}: ${name} …\n`);
  const cpu0 = cpuMs(pid);
  const r = await runLoad({ url, durationMs: seconds * 1000, concurrency: spec.concurrency ?? concurrency, ...spec });
  const cpu = cpuMs(pid) - cpu0;
  if (r.errors > 0) console.error(`  ${name}: ${r.errors} errors, first: ${r.firstError}`);
  const sorted = r.latencies.sort((a, b) => a - b);
  return {
    store,
    n,
    name,
    count: r.count,
    errors: r.errors,
    reqPerSec: (r.count / r.elapsedMs) * 1000,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    cpuMsPerReq: cpu / Math.max(1, r.count),
  };
}

function agentData(i: number, sponsor: string): Record<string, unknown> {
  return {
    schemas: [AGENT_URN, GOVERNANCE_URN],
    agentUserName: `agent-${i}`,
    displayName: `Agent ${i}`,
    externalId: `ext-${i}`,
    entitlements: [{ value: `ent-${i % ENTITLEMENTS}` }],
    [GOVERNANCE_URN]: { sponsor: { value: sponsor }, purpose: 'benchmark', environment: 'production', autonomyLevel: 'advisory', lifecycleState: 'active' },
    active: true,
  };
}

/** Bulk path for large N: rows written straight through the store, 1000 per transaction. */
async function bulkSeed(store: Store, from: number, to: number, sponsor: string, ids: string[]): Promise<void> {
  const base = Date.UTC(2025, 0, 1);
  for (let i = from; i < to; i += 1000) {
    const writes: Write[] = [];
    for (let k = i; k < Math.min(to, i + 1000); k++) {
      const id = randomUUID();
      if (ids.length < 20_000) ids.push(id);
      writes.push({ kind: 'insert', type: 'Agent', id, data: agentData(k, sponsor), at: new Date(base + k).toISOString() });
    }
    await store.commit({ writes, audit: [], outbox: [] });
    if ((i / 1000) % 100 === 0 && to - from > 100_000) process.stderr.write(`  seeded ${i - from}/${to - from}\r`);
  }
}

async function benchStore(kind: string, n: number, bare: Phase): Promise<Phase[]> {
  const phases: Phase[] = [];
  const registry = loadRegistry();
  let url: string;
  let schema: string | undefined;
  if (kind === 'sqlite') {
    url = `sqlite:${join(mkdtempSync(join(tmpdir(), 'ar-bench-')), 'bench.db')}`;
  } else {
    schema = `ar_bench_${Date.now()}`;
    url = pgUrl;
  }
  const store = await openStore(registry, url, schema ? { pgSchema: schema } : {});
  const token = (await createToken(store, 'bench', ['admin'])).token;
  const auth = { authorization: `Bearer ${token}` };

  const entry = serverEntry();
  const { child, port } = await startChild(
    [...(cpuProf ? ['--cpu-prof', '--cpu-prof-dir', join(ROOT, 'bench/results/profiles')] : []), ...entry, 'serve', '--port', '0'],
    {
      AGENTROSTER_DATABASE_URL: url,
      ...(schema ? { AGENTROSTER_DATABASE_SCHEMA: schema } : {}),
      AGENTROSTER_LOG_LEVEL: 'info',
      // outbox rows are written for these targets (the create target counts them); no worker runs
      AGENTROSTER_SYNC_TARGETS: syncTargets,
      // outbox rows are queued for the target; no worker runs in the measured server
      AGENTROSTER_SYNC_WORKER: 'false',
      AGENTROSTER_ENTRA_TENANT_ID: '00000000-0000-0000-0000-000000000001',
      AGENTROSTER_ENTRA_CLIENT_ID: '00000000-0000-0000-0000-000000000002',
      AGENTROSTER_ENTRA_CLIENT_SECRET: 'bench-not-a-secret',
      AGENTROSTER_ENTRA_BLUEPRINT_ID: '00000000-0000-0000-0000-000000000003',
      ...(process.env.BENCH_SQLITE_SYNC ? { AGENTROSTER_SQLITE_SYNCHRONOUS: process.env.BENCH_SQLITE_SYNC } : {}),
      AGENTROSTER_HOST: '127.0.0.1',
      AGENTROSTER_RECORD_KEY: Buffer.alloc(32, 7).toString('base64'),
    },
    /"port":(\d+)/,
  );
  const base = new URL(`http://127.0.0.1:${port}`);
  const pid = child.pid!;
  const P = '/scim/v2';
  try {
    // catalogue entries and a sponsor
    for (let e = 0; e < ENTITLEMENTS; e++) {
      await runLoad({ url: base, concurrency: 1, requests: 1, durationMs: 10_000, request: () => ({ method: 'POST', path: `${P}/Entitlements`, headers: auth, body: JSON.stringify({ schemas: [ENT_URN], value: `ent-${e}` }) }) });
    }
    // the sponsor: an active human User (R01)
    const sponsorRes = await fetch(`${base.origin}${P}/Users`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/scim+json' },
      body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'sponsor@example.com', active: true }),
    });
    if (sponsorRes.status !== 201) throw new Error(`sponsor create failed: ${sponsorRes.status} ${await sponsorRes.text()}`);
    const sponsor = ((await sponsorRes.json()) as { id: string }).id;
    const ids: string[] = [];
    const seedStart = new Date().toISOString();

    process.stderr.write('  seeding …\n');
    // bulk path for all but the last `httpCreates` agents
    const viaHttp = Math.min(n, httpCreates);
    await bulkSeed(store, 0, n - viaHttp, sponsor, ids);
    // as after any bulk import: refresh the planner's statistics (the server also does it hourly)
    await store.optimize();

    process.stderr.write('  create …\n');
    // create through the API: durable commit with audit event and outbox row
    const created: string[] = [];
    let next = n - viaHttp;
    const cpu0 = cpuMs(pid);
    const createRun = await runLoad({
      url: base,
      concurrency,
      requests: viaHttp,
      durationMs: 600_000,
      request: () => ({ method: 'POST', path: `${P}/Agents`, headers: auth, body: JSON.stringify(agentData(next++, sponsor)) }),
      ok: (s) => s === 201,
    });
    const sortedCreate = createRun.latencies.sort((a, b) => a - b);
    phases.push({
      store: kind,
      n,
      name: 'create (POST /Agents)',
      count: createRun.count,
      errors: createRun.errors,
      reqPerSec: (createRun.count / createRun.elapsedMs) * 1000,
      p50: percentile(sortedCreate, 50),
      p99: percentile(sortedCreate, 99),
      cpuMsPerReq: (cpuMs(pid) - cpu0) / Math.max(1, createRun.count),
    });
    if (createRun.errors) console.error(`  create: ${createRun.errors} errors: ${createRun.firstError}`);
    // find the API-created ids for DELETE later
    const page = await fetch(`${base.origin}${P}/Agents?filter=${encodeURIComponent(`meta.created ge "${seedStart}"`)}&count=1000&attributes=id`, { headers: auth });
    for (const r of ((await page.json()) as { Resources?: { id: string }[] }).Resources ?? []) created.push(r.id);
    if (ids.length === 0) ids.push(...created);

    const pick = <T>(a: T[]) => a[Math.floor(Math.random() * a.length)]!;
    const rnd = (k: number) => Math.floor(Math.random() * k);
    const q = (f: string, extra = '') => `${P}/Agents?filter=${encodeURIComponent(f)}${extra}`;
    const m = async (name: string, spec: Omit<LoadSpec, 'url' | 'durationMs' | 'concurrency'> & { concurrency?: number }) => {
      if (only && !name.includes(only)) return;
      phases.push(await measure(pid, kind, n, name, spec, base));
    };

    await m('GET /Agents/{id}', { requests: 1e9, request: () => ({ method: 'GET', path: `${P}/Agents/${pick(ids)}`, headers: auth }) });
    // Isolation: one client's GET by id, alone and then beside hostile clients; the p99 ratio of the
    // two is the target (issue 10: a heavy request must not stall everyone else).
    const getById = { concurrency: 1, requests: 1e9, request: () => ({ method: 'GET', path: `${P}/Agents/${pick(ids)}`, headers: auth }) };
    let unloadedMeasured = false;
    const isolation = async (tag: string, heavyName: string, clients: number, heavyRequest: LoadSpec['request'], ok: (s: number) => boolean) => {
      if (only && !new RegExp(`${tag}|isolation`).test(only)) return;
      if (!unloadedMeasured) {
        phases.push(await measure(pid, kind, n, 'GET by id, 1 client, unloaded', getById, base));
        unloadedMeasured = true;
      }
      const warmMs = 500;
      const heavyCpu0 = cpuMs(pid);
      const heavy = runLoad({ url: base, concurrency: clients, requests: 1e9, durationMs: seconds * 1000 + warmMs, request: heavyRequest, ok });
      await new Promise((r) => setTimeout(r, warmMs));
      phases.push(await measure(pid, kind, n, `GET by id, 1 client, while ${heavyName}`, getById, base));
      const h = await heavy;
      const sorted = h.latencies.sort((a, b) => a - b);
      phases.push({
        store: kind,
        n,
        name: heavyName,
        count: h.count,
        errors: h.errors,
        reqPerSec: (h.count / h.elapsedMs) * 1000,
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
        cpuMsPerReq: (cpuMs(pid) - heavyCpu0) / Math.max(1, h.count),
      });
      if (h.errors) console.error(`  ${heavyName}: ${h.errors} errors, first: ${h.firstError}`);
    };
    // past the statement time limit (large N) the answer is 400 "filter too expensive": still an answer
    await isolation('expensive', EXPENSIVE_FILTERS, 4, (i) => ({ method: 'GET', path: q(expensiveFilter(i)), headers: auth }), (s) => s === 200 || s === 400);
    // The secret scanner is linear: ~1 MB of text built to make a backtracking pattern quadratic
    // ("eyJ" repeated) costs about what ~1 MB of prose costs. Both end in an API key, so every
    // request is scanned to its end and refused (400): nothing is stored.
    await m(PROSE_BODY, { concurrency: 1, requests: 1e9, request: () => ({ method: 'POST', path: `${P}/Agents`, headers: auth, body: bigAgent(sponsor, 'prose') }), ok: (st) => st === 400 });
    await m(ADVERSARIAL_BODY, { concurrency: 1, requests: 1e9, request: () => ({ method: 'POST', path: `${P}/Agents`, headers: auth, body: bigAgent(sponsor, 'adversarial') }), ok: (st) => st === 400 });
    await m('filter agentUserName eq', { requests: 1e9, request: () => ({ method: 'GET', path: q(`agentUserName eq "agent-${rnd(n)}"`), headers: auth }) });
    await m('filter entitlements[value eq] (100)', {
      requests: 1e9,
      request: () => ({ method: 'GET', path: q(`entitlements[value eq "ent-${rnd(ENTITLEMENTS)}"]`, '&count=100'), headers: auth }),
    });
    await m('filter meta.lastModified gt (100)', {
      requests: 1e9,
      request: () => ({ method: 'GET', path: q(`meta.lastModified gt "${seedStart}"`, '&count=100'), headers: auth }),
    });
    // list pages, unloaded (one request at a time)
    await m('list page 100, index (random depth)', {
      concurrency: 1,
      requests: 200,
      request: () => ({ method: 'GET', path: `${P}/Agents?startIndex=${1 + rnd(Math.max(1, n - 100))}&count=100`, headers: auth }),
    });
    await m('list page 100, cursor (random depth)', {
      concurrency: 1,
      requests: 400,
      request: () => ({ method: 'GET', path: `${P}/Agents?count=100&cursor=${encodeCursor({ seq: ENTITLEMENTS + 1 + rnd(Math.max(1, n - 100)) }, { type: 'Agent' })}`, headers: auth }),
    });
    await m('PATCH replace description', {
      requests: 1e9,
      request: (i) => ({
        method: 'PATCH',
        path: `${P}/Agents/${pick(ids)}`,
        headers: auth,
        body: JSON.stringify({ schemas: [PATCH_URN], Operations: [{ op: 'replace', path: 'description', value: `d${i}` }] }),
      }),
    });
    await m('PATCH add/remove entitlement', {
      requests: 1e9,
      request: (i) => ({
        method: 'PATCH',
        path: `${P}/Agents/${ids[Math.floor(i / 2) % ids.length]}`,
        headers: auth,
        body: JSON.stringify({
          schemas: [PATCH_URN],
          Operations: [i % 2 === 0 ? { op: 'add', path: 'entitlements', value: [{ value: 'ent-49' }] } : { op: 'remove', path: 'entitlements[value eq "ent-49"]' }],
        }),
      }),
    });
    // Governance (R14): an agent is taken away by retiring it; DELETE of a non-retired agent is
    // refused, and DELETE of a retired one keeps the tombstone. Retirement is the removal cost.
    await m('retire (PATCH lifecycleState retired)', {
      requests: created.length,
      request: (i) => ({
        method: 'PATCH',
        path: `${P}/Agents/${created[i]}`,
        headers: auth,
        body: JSON.stringify({ schemas: [PATCH_URN], Operations: [{ op: 'replace', path: `${GOVERNANCE_URN}:lifecycleState`, value: 'retired' }] }),
      }),
    });
    await m('DELETE /Agents/{id} (retired: tombstone)', {
      requests: created.length,
      request: (i) => ({ method: 'DELETE', path: `${P}/Agents/${created[i]}`, headers: auth }),
    });
    const rss = peakRssMiB(pid);
    phases.push({ store: kind, n, name: 'peak RSS (MiB)', count: 0, errors: 0, reqPerSec: NaN, p50: rss, p99: NaN, cpuMsPerReq: NaN });
  } finally {
    await stop(child);
    await store.close();
    if (schema) {
      const c = new pg.Client({ connectionString: pgUrl });
      await c.connect();
      await c.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
      await c.end();
    }
  }
  void bare;
  return phases;
}

async function pgReachable(): Promise<boolean> {
  const c = new pg.Client({ connectionString: pgUrl, connectionTimeoutMillis: 2000 });
  try {
    await c.connect();
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

const fmt = (v: number, d = 1) => (Number.isFinite(v) ? v.toFixed(d) : '—');

async function main(): Promise<void> {
  const bareProc = await startChild(['--import', 'tsx', 'bench/bare-server.ts'], {}, /"port":(\d+)/);
  const bare = await measure(bareProc.child.pid!, 'bare express', 0, 'GET fixed JSON', { requests: 1e9, request: () => ({ method: 'GET', path: '/bare' }) }, new URL(`http://127.0.0.1:${bareProc.port}`));
  await stop(bareProc.child);
  const all: Phase[] = [bare];
  const stores = [];
  for (const s of storesWanted) {
    if (s === 'postgres' && !(await pgReachable())) {
      console.error(`postgres: no server at ${pgUrl}; skipped (set AGENTROSTER_TEST_POSTGRES_URL)`);
      continue;
    }
    stores.push(s);
  }
  for (const n of sizes) for (const s of stores) {
    console.error(`${s}, ${n} agents …`);
    all.push(...(await benchStore(s, n, bare)));
  }

  const header = ['store', 'agents', 'phase', 'req/s', '× bare', 'p50 ms', 'p99 ms', 'CPU ms/req', '× bare', 'errors'];
  const rows = all.map((p) => [
    p.store,
    p.n ? String(p.n) : '',
    p.name,
    fmt(p.reqPerSec, 0),
    fmt(p.reqPerSec / bare.reqPerSec, 2),
    fmt(p.p50, 2),
    fmt(p.p99, 2),
    fmt(p.cpuMsPerReq, 3),
    fmt(p.cpuMsPerReq / bare.cpuMsPerReq, 1),
    String(p.errors),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => r.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));

  // targets (issue 3)
  console.log('\nTargets:');
  const get = (s: string, n: number, name: string) => all.find((p) => p.store === s && p.n === n && p.name === name);
  for (const s of stores) {
    for (const n of sizes) {
      const byId = get(s, n, 'GET /Agents/{id}');
      if (byId) console.log(`  ${s} ${n}: GET by id ${fmt(byId.reqPerSec / bare.reqPerSec, 2)}× bare req/s (target ≥ 0.6)`);
      const alone = get(s, n, 'GET by id, 1 client, unloaded');
      const loaded = get(s, n, `GET by id, 1 client, while ${EXPENSIVE_FILTERS}`);
      if (alone && loaded) {
        console.log(`  ${s} ${n}: GET by id p99 while ${EXPENSIVE_FILTERS} ${fmt(loaded.p99, 2)} ms ÷ unloaded ${fmt(alone.p99, 2)} ms = ${fmt(loaded.p99 / alone.p99, 2)} (target ≤ 3)`);
      }
      const prose = get(s, n, PROSE_BODY);
      const adversarial = get(s, n, ADVERSARIAL_BODY);
      if (prose && adversarial) {
        console.log(`  ${s} ${n}: 1 MB adversarial body p50 ${fmt(adversarial.p50, 2)} ms ÷ 1 MB prose body ${fmt(prose.p50, 2)} ms = ${fmt(adversarial.p50 / prose.p50, 2)} (target ≤ 2: the scan is linear)`);
      }
      const cur = get(s, n, 'list page 100, cursor (random depth)');
      if (cur) console.log(`  ${s} ${n}: cursor page of 100 p50 ${fmt(cur.p50, 2)} ms (target < 10)`);
      const rss = get(s, n, 'peak RSS (MiB)');
      if (rss) console.log(`  ${s} ${n}: peak RSS ${fmt(rss.p50, 0)} MiB (target < 250 at 1M)`);
      const create = get(s, n, 'create (POST /Agents)');
      if (create && s === 'sqlite') console.log(`  ${s} ${n}: create ${fmt(create.reqPerSec, 0)} agents/s (target ≥ 1500)`);
    }
    const small = get(s, Math.min(...sizes), 'filter agentUserName eq');
    const large = get(s, Math.max(...sizes), 'filter agentUserName eq');
    if (small && large && small !== large) {
      console.log(`  ${s}: filter agentUserName CPU/req at ${large.n} ÷ at ${small.n} = ${fmt(large.cpuMsPerReq / small.cpuMsPerReq, 2)} (target ≤ 1.3)`);
    }
  }

  const outDir = join(ROOT, 'bench/results');
  mkdirSync(outDir, { recursive: true });
  const out = arg('out', join(outDir, `bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`));
  writeFileSync(out, JSON.stringify({ at: new Date().toISOString(), node: process.version, seconds, concurrency, baseline: bare, phases: all }, null, 2));
  console.log(`\nresults: ${out}`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(1);
});
