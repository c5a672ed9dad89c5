// `agentroster sync …`: plan and apply (push agents to a target), status, parked rows, retry.
//
//   sync plan   [--target T] [--json]            what apply would create, change, disable, delete
//   sync apply  [--target T] [--once] [--max-retry-wait S]
//                                                push; --once: one pass, exit 1 if anything failed
//   sync status [--target T] [--json]            queue, parked rows, link states (no remote calls)
//   sync parked [--target T] [--limit N]         parked rows and their errors
//   sync retry  <seq…> | --all [--target T]     requeue parked rows
//
// Progress: a bar on a terminal, a line every few seconds otherwise (logs, CI).

import { type Command, Option } from 'commander';
import { type Agentroster, buildAgentroster } from '../app.js';
import { type Config, ConfigError, loadConfig, SYNC_TARGET_NAMES, type SyncTargetName, syncSettingsProblems } from '../config/config.js';
import type { Store } from '../store/types.js';
import { cliLogger, withCliStore } from './cli-support.js';
import { readLink } from '../sync/link-state.js';
import type { ProgressEvent, TargetRuntime } from '../sync/index.js';

export interface SyncCliIo {
  out(text: string): void;
  err(text: string): void;
  /** progress bar (true) or progress lines (false); default: stderr is a TTY */
  isTTY?: boolean;
  /** builds the application (tests inject connectors); default buildAgentroster */
  build?: (config: Config) => Promise<Agentroster>;
  /** what a failed pass sets as exit status (default: process.exitCode = code) */
  exit?: (code: number) => void;
  /** progress line interval for non-TTY output (default 5000 ms) */
  progressEveryMs?: number;
}

const defaultIo: SyncCliIo = {
  out: (t) => process.stdout.write(t),
  err: (t) => process.stderr.write(t),
};

interface Common {
  target?: string;
  databaseUrl?: string;
}

/**
 * The configuration of a sync command: the configured targets (complete settings, or
 * AGENTROSTER_SYNC_TARGETS), plus `--target X` whenever it is named, so that X works whenever its
 * settings are complete (and fails naming what X is missing when they are not).
 */
function configOf(o: Common): Config {
  const flags: Partial<Record<keyof Config, unknown>> = o.databaseUrl !== undefined ? { databaseUrl: o.databaseUrl } : {};
  const base = loadConfig(process.env, flags);
  if (o.target === undefined || base.syncTargets.includes(o.target as SyncTargetName)) return base;
  return loadConfig(process.env, { ...flags, syncTargets: [...base.syncTargets, o.target] });
}

/** Why no sync target is configured: what each target still needs. */
function noTargetMessage(config: Config): string {
  const problems = syncSettingsProblems(config);
  const overridden = problems.length < SYNC_TARGET_NAMES.length;
  return (
    'no sync target is configured: ' +
    (overridden
      ? 'AGENTROSTER_SYNC_TARGETS excludes every target whose settings are complete (use --target, or change AGENTROSTER_SYNC_TARGETS)'
      : `${problems.join('; ')} (docs/entra.md, docs/okta.md)`)
  );
}

function targetsOf(ar: Agentroster, wanted: string | undefined): TargetRuntime[] {
  if (!ar.sync) throw new ConfigError(noTargetMessage(ar.config));
  if (wanted) return [ar.sync.target(wanted)];
  return [...ar.sync.targets.values()];
}

async function withApp<T>(o: Common, io: SyncCliIo, fn: (ar: Agentroster) => Promise<T>): Promise<T> {
  const config = configOf(o);
  // Nothing to sync: say what is missing before opening anything (tests inject their own build).
  if (!io.build && config.syncTargets.length === 0) throw new ConfigError(noTargetMessage(config));
  const ar = await (
    io.build ?? ((c) => buildAgentroster(c, { startJobs: false, sync: { start: false }, logger: cliLogger(c), createDatabase: false }))
  )(config);
  try {
    return await fn(ar);
  } finally {
    await ar.close();
  }
}

async function withStore<T>(o: Common, fn: (store: Store, config: Config) => Promise<T>): Promise<T> {
  const config = configOf(o);
  return withCliStore(config, (store) => fn(store, config));
}

const fmtDuration = (s: number) => (s >= 3600 ? `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60)}m` : s >= 60 ? `${Math.floor(s / 60)}m${Math.round(s % 60)}s` : `${Math.round(s)}s`);

/** The progress display of one apply. */
class Progress {
  readonly #started = Date.now();
  #ok = 0;
  #rows = 0;
  #retrying = new Set<string>();
  #parked = 0;
  #lastLine = 0;
  #changed = 0;

  constructor(
    private readonly io: SyncCliIo,
    private readonly target: string,
    private total: number,
  ) {}

  event(e: ProgressEvent): void {
    if (e.kind === 'ok') {
      this.#ok++;
      this.#rows += e.rows;
      if (e.change && e.change !== 'noop') this.#changed++;
      this.#retrying.delete(e.agentId);
    } else if (e.kind === 'retry') this.#retrying.add(e.agentId);
    else {
      this.#parked++;
      this.#rows += e.rows;
      this.#retrying.delete(e.agentId);
      this.io.err(`${this.io.isTTY ? '\n' : ''}sync ${this.target}: agent ${e.agentId} parked: ${e.error ?? ''}\n`);
    }
    this.total = Math.max(this.total, this.#rows);
    this.render(false);
  }

  render(final: boolean): void {
    const now = Date.now();
    const secs = Math.max(0.001, (now - this.#started) / 1000);
    const rate = this.#ok / secs;
    const pct = this.total > 0 ? Math.min(100, Math.floor((this.#rows / this.total) * 100)) : 100;
    const left = this.total - this.#rows;
    const eta = rate > 0 && left > 0 ? ` · ETA ${fmtDuration(left / Math.max(rate, 0.001))}` : '';
    const tail = `${this.#ok} synced (${this.#changed} changed) · ${this.#retrying.size} retrying · ${this.#parked} parked · ${rate.toFixed(1)} agents/s`;
    if (this.io.isTTY) {
      if (!final && now - this.#lastLine < 100) return;
      this.#lastLine = now;
      const width = 30;
      const filled = Math.round((pct / 100) * width);
      this.io.err(`\r${this.target} [${'█'.repeat(filled)}${'░'.repeat(width - filled)}] ${String(pct).padStart(3)}% ${this.#rows}/${this.total} rows · ${tail}${eta}\x1b[K${final ? '\n' : ''}`);
    } else if (final || now - this.#lastLine >= (this.io.progressEveryMs ?? 5000)) {
      this.#lastLine = now;
      this.io.err(`sync ${this.target}: ${this.#rows}/${this.total} rows (${pct}%) · ${tail}${eta}\n`);
    }
  }

  get summary() {
    return { ok: this.#ok, parked: this.#parked, changed: this.#changed, seconds: (Date.now() - this.#started) / 1000 };
  }
}

export function registerSyncCommands(program: Command, ioIn: Partial<SyncCliIo> = {}): void {
  const io: SyncCliIo = { ...defaultIo, ...ioIn };
  io.isTTY ??= Boolean(process.stderr.isTTY);
  const setExit = io.exit ?? ((code: number) => (process.exitCode = code));
  const sync = program.command('sync').description('push agents to Entra / Okta and watch sync health (docs/entra.md)');
  const targetOpt = () =>
    new Option('--target <target>', 'sync target (entra, okta; works whenever its settings are complete); default: every configured target').choices([
      ...SYNC_TARGET_NAMES,
    ]);
  const dbOpt = () => new Option('--database-url <url>', 'sqlite:PATH or postgres://… (env AGENTROSTER_DATABASE_URL)');

  sync
    .command('plan')
    .description('list what apply would create, change, disable and delete (no remote calls)')
    .addOption(targetOpt())
    .addOption(dbOpt())
    .option('--json', 'machine-readable output')
    .action(async (o: Common & { json?: boolean }) => {
      await withApp(o, io, async (ar) => {
        const result: Record<string, unknown> = {};
        for (const t of targetsOf(ar, o.target)) {
          const plan = await t.sync.plan();
          result[t.sync.target] = plan;
          if (o.json) continue;
          const counts: Record<string, number> = {};
          for (const p of plan) counts[p.change.kind] = (counts[p.change.kind] ?? 0) + 1;
          io.out(`${t.sync.target}: ${plan.length === 0 ? 'in sync, nothing to do' : Object.entries(counts).map(([k, n]) => `${n} to ${k}`).join(', ')}\n`);
          for (const p of plan) {
            io.out(`  ${p.change.kind.padEnd(7)} ${p.displayName} (${p.agentId})${p.remoteId ? ` → ${p.remoteId}` : ''}\n`);
            for (const d of p.change.details) io.out(`            ${d}\n`);
          }
          const q = await t.sync.queue();
          if (q.pending || q.parked) io.out(`  queue: ${q.pending} pending, ${q.parked} parked (agentroster sync parked)\n`);
        }
        if (o.json) io.out(`${JSON.stringify(result, null, 2)}\n`);
      });
    });

  sync
    .command('apply')
    .description('push every pending change and every drifted agent; runs until stopped, or one pass with --once')
    .addOption(targetOpt())
    .addOption(dbOpt())
    .option('--once', 'one pass: exit when done, with status 1 if anything failed')
    .option('--max-retry-wait <seconds>', 'with --once: wait at most this long for retries of transient failures', '120')
    .action(async (o: Common & { once?: boolean; maxRetryWait: string }) => {
      await withApp(o, io, async (ar) => {
        let failed = false;
        const targets = targetsOf(ar, o.target);
        for (const t of targets) {
          const queued = await t.sync.enqueueDrifted();
          const q = await t.sync.queue();
          io.err(`sync ${t.sync.target}: ${queued} agent(s) differ from the target; ${q.pending} row(s) pending${q.parked ? `, ${q.parked} parked (not retried: agentroster sync retry)` : ''}\n`);
          const progress = new Progress(io, t.sync.target, q.pending);
          t.worker.onProgress = (e) => progress.event(e);
          if (o.once) {
            const r = await t.worker.runOnce({ maxRetryWaitMs: Math.max(0, Number(o.maxRetryWait) || 0) * 1000 });
            progress.render(true);
            const s = progress.summary;
            io.err(
              `sync ${t.sync.target}: done in ${s.seconds.toFixed(1)} s: ${r.succeeded} agent(s) synced (${s.changed} changed), ${r.parked} parked, ${r.pendingLeft} row(s) still pending\n`,
            );
            for (const e of r.errors.slice(0, 20)) io.err(`  ${e.agentId}: ${e.error}\n`);
            if (r.parked > 0 || r.pendingLeft > 0) failed = true;
          }
        }
        if (!o.once) {
          for (const t of targets) t.worker.start();
          io.err('syncing continuously; Ctrl-C to stop\n');
          await new Promise<void>((resolve) => {
            const stop = () => resolve();
            process.once('SIGINT', stop);
            process.once('SIGTERM', stop);
          });
          for (const t of targets) await t.worker.stop();
        }
        if (failed) setExit(1);
      });
    });

  sync
    .command('status')
    .description('queue depth, parked rows and link states per target (reads the database only)')
    .addOption(targetOpt())
    .addOption(dbOpt())
    .option('--json', 'machine-readable output')
    .action(async (o: Common & { json?: boolean }) => {
      await withStore(o, async (store, config) => {
        const targets = o.target ? [o.target] : config.syncTargets;
        if (targets.length === 0) io.err(`${noTargetMessage(config)}\n`);
        const out: Record<string, unknown>[] = [];
        for (const target of targets) {
          const q = await store.outbox.stats(target);
          const states = { synced: 0, pending: 0, error: 0, drifted: 0, deletedRemotely: 0 };
          const errors: { agentId: string; error: string }[] = [];
          const flags: { agentId: string; flag: string }[] = [];
          let after = '';
          for (;;) {
            const page = await store.sync.links(target, after, 1000);
            for (const l of page) {
              const { meta } = readLink(l);
              if (l.lastError) {
                states.error++;
                if (errors.length < 20) errors.push({ agentId: l.resourceId, error: l.lastError });
              } else if (meta.remoteDeleted) states.deletedRemotely++;
              else if (meta.flags?.length) states.drifted++;
              else if (meta.fp === undefined) states.pending++;
              else states.synced++;
              for (const f of meta.flags ?? []) if (flags.length < 20) flags.push({ agentId: l.resourceId, flag: f.detail });
            }
            if (page.length < 1000) break;
            after = page[page.length - 1]!.resourceId;
          }
          const age = q.oldestPendingAt ? Math.round((Date.now() - Date.parse(q.oldestPendingAt)) / 1000) : 0;
          const delta = await store.sync.getCursor(`${target}.delta`);
          out.push({ target, queue: { ...q, oldestPendingAgeSeconds: age }, links: states, deltaCursor: delta ? 'stored' : 'none', errors, flags });
          if (o.json) continue;
          io.out(
            `${target}: ${q.pending} pending (oldest ${fmtDuration(age)}), ${q.parked} parked · links: ${states.synced} synced, ${states.pending} pending, ${states.error} error, ${states.drifted} flagged, ${states.deletedRemotely} deleted remotely · delta cursor ${delta ? 'stored' : 'none'}\n`,
          );
          for (const e of errors) io.out(`  error   ${e.agentId}: ${e.error}\n`);
          for (const f of flags) io.out(`  flagged ${f.agentId}: ${f.flag}\n`);
        }
        if (o.json) io.out(`${JSON.stringify(out, null, 2)}\n`);
      });
    });

  sync
    .command('parked')
    .description('outbox rows parked after too many attempts or a permanent error')
    .addOption(targetOpt())
    .addOption(dbOpt())
    .option('--limit <n>', 'at most this many rows', '100')
    .option('--json', 'machine-readable output')
    .action(async (o: Common & { limit: string; json?: boolean }) => {
      await withStore(o, async (store) => {
        const rows = await store.outbox.list({ ...(o.target ? { target: o.target } : {}), status: 'parked', limit: Math.max(1, Number(o.limit) || 100) });
        if (o.json) {
          io.out(`${JSON.stringify(rows, null, 2)}\n`);
          return;
        }
        if (rows.length === 0) io.out('no parked rows\n');
        for (const r of rows) {
          io.out(`${r.seq}\t${r.target}\t${r.resourceType} ${r.resourceId}\t${r.action} v${r.version}\tattempts ${r.attempts}\tsince ${r.created}\n\t${r.lastError ?? ''}\n`);
        }
        if (rows.length) io.out('retry with: agentroster sync retry <seq> (or --all) once the cause is fixed\n');
      });
    });

  sync
    .command('retry [seq...]')
    .description('requeue parked rows (by sequence number, or --all)')
    .addOption(targetOpt())
    .addOption(dbOpt())
    .option('--all', 'every parked row (of --target, if given)')
    .action(async (seqs: string[], o: Common & { all?: boolean }) => {
      await withStore(o, async (store) => {
        let targetSeqs: number[];
        if (o.all) {
          targetSeqs = (await store.outbox.list({ ...(o.target ? { target: o.target } : {}), status: 'parked', limit: 100_000 })).map((r) => r.seq);
        } else {
          if (seqs.length === 0) throw new Error('give the sequence numbers to retry (agentroster sync parked lists them), or --all');
          targetSeqs = seqs.map((s) => {
            const n = Number(s);
            if (!Number.isSafeInteger(n)) throw new Error(`"${s}" is not a sequence number`);
            return n;
          });
        }
        let n = 0;
        const missing: number[] = [];
        for (const seq of targetSeqs) {
          if (await store.outbox.requeue(seq)) n++;
          else missing.push(seq);
        }
        io.out(`${n} row(s) requeued\n`);
        if (missing.length) {
          io.err(`not parked (or unknown): ${missing.join(', ')}\n`);
          setExit(1);
        }
      });
    });
}
