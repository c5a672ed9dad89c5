// Governance on the command line:
//   agentroster audit verify [--json]          checks the audit hash chain (R18); exit 1 naming the
//                                              first broken record (seq and why)
//   agentroster audit export [--out FILE] [--after SEQ] [--resource ID]
//                                              the audit log as JSON lines (stdout by default)
//   agentroster agents list [--state S] [--sponsor USER_ID] [--sponsor-status S] [--environment E]
//                           [--issue TYPE] [--review-overdue] [--filter SCIM] [--limit N] [--json]
//                                              agents with their governance state

import { createWriteStream } from 'node:fs';
import { type Command, Option } from 'commander';
import { loadConfig } from '../config/config.js';
import { verifyAuditChain } from '../resources/governance/audit-verify.js';
import { loadRegistry } from '../scim/load-schemas.js';
import type { SchemaRegistry } from '../scim/registry.js';
import { invalidValue } from '../scim/errors.js';
import { parseFilter } from '../scim/filter/parse.js';
import { openStore } from '../store/open-store.js';
import type { Json, Store } from '../store/types.js';

const GOV = 'urn:agentroster:scim:schemas:extension:agent-governance:1.0:Agent';

export interface GovernanceIo {
  out(text: string): void;
  err(text: string): void;
}

const stdio: GovernanceIo = { out: (s) => process.stdout.write(s), err: (s) => process.stderr.write(s) };

export async function runAuditVerify(store: Store, o: { json?: boolean }, io: GovernanceIo = stdio): Promise<number> {
  const v = await verifyAuditChain(store);
  if (o.json) io.out(`${JSON.stringify(v)}\n`);
  if (v.ok) {
    io.err(`audit log OK: ${v.count} records, chain intact up to seq ${v.lastSeq} (head ${v.headHash})\n`);
    return 0;
  }
  io.err(`audit log BROKEN at seq ${v.seq}: ${v.reason} (${v.count} records before it verify)\n`);
  return 1;
}

export async function runAuditExport(
  store: Store,
  o: { after?: number; resource?: string; write: (line: string) => void },
): Promise<number> {
  let after = o.after ?? 0;
  let n = 0;
  for (;;) {
    const page = await store.auditEvents(after, 1000);
    for (const e of page) {
      if (o.resource !== undefined && e.resourceId !== o.resource) continue;
      o.write(`${JSON.stringify(e)}\n`);
      n++;
    }
    if (page.length < 1000) return n;
    after = page[page.length - 1]!.seq;
  }
}

export interface AgentsListOptions {
  state?: string;
  sponsor?: string;
  sponsorStatus?: string;
  environment?: string;
  issue?: string;
  reviewOverdue?: boolean;
  filter?: string;
  limit?: number;
  json?: boolean;
  now?: Date;
}

/** The SCIM filter of `agents list` (the same syntax as GET /Agents?filter=). */
export function agentsListFilter(o: AgentsListOptions): string | undefined {
  const q = (s: string) => JSON.stringify(s);
  const parts: string[] = [];
  if (o.state) parts.push(`${GOV}:lifecycleState eq ${q(o.state)}`);
  if (o.sponsor) parts.push(`${GOV}:sponsor.value eq ${q(o.sponsor)}`);
  if (o.sponsorStatus) parts.push(`${GOV}:sponsorStatus eq ${q(o.sponsorStatus)}`);
  if (o.environment) parts.push(`${GOV}:environment eq ${q(o.environment)}`);
  if (o.issue) parts.push(`${GOV}:complianceIssues[type eq ${q(o.issue)}]`);
  if (o.reviewOverdue) parts.push(`${GOV}:nextReviewDue lt ${q((o.now ?? new Date()).toISOString())} and not (${GOV}:lifecycleState eq "retired")`);
  if (o.filter) parts.push(`(${o.filter})`);
  return parts.length > 0 ? parts.join(' and ') : undefined;
}

export async function runAgentsList(store: Store, registry: SchemaRegistry, o: AgentsListOptions, io: GovernanceIo = stdio): Promise<number> {
  const rt = registry.resourceType('Agent')!;
  const text = agentsListFilter(o);
  const filter = text === undefined ? undefined : parseFilter(text);
  const limit = o.limit ?? 1000;
  if (!Number.isInteger(limit) || limit < 1) throw invalidValue('--limit must be a positive integer');
  let cursor = '';
  let shown = 0;
  if (!o.json) io.out(`${['ID', 'NAME', 'STATE', 'REASON', 'SPONSOR', 'SPONSOR STATUS', 'NEXT REVIEW', 'ISSUES'].join('\t')}\n`);
  while (shown < limit) {
    const page = await store.list(rt, { ...(filter ? { filter } : {}), startIndex: 1, count: Math.min(200, limit - shown), cursor, withoutTotal: true });
    for (const r of page.resources) {
      const g = (r.data[GOV] ?? {}) as Json;
      const sponsor = (g.sponsor ?? {}) as Json;
      const issues = Array.isArray(g.complianceIssues) ? (g.complianceIssues as Json[]).map((i) => String(i.type)) : [];
      if (o.json) {
        io.out(`${JSON.stringify({ id: r.id, ...r.data, meta: { version: r.version, created: r.created, lastModified: r.lastModified } })}\n`);
      } else {
        io.out(
          `${[
            r.id,
            String(r.data.agentUserName),
            String(g.lifecycleState ?? ''),
            String(g.stateReason ?? ''),
            String(sponsor.display ?? sponsor.value ?? ''),
            String(g.sponsorStatus ?? ''),
            String(g.nextReviewDue ?? ''),
            issues.join(','),
          ].join('\t')}\n`,
        );
      }
      shown++;
    }
    if (!page.nextCursor || page.resources.length === 0) break;
    cursor = page.nextCursor;
  }
  io.err(`${shown} agent(s)${text ? ` matching ${text}` : ''}\n`);
  return 0;
}

async function withStore<T>(opts: { databaseUrl?: string }, fn: (store: Store, registry: SchemaRegistry) => Promise<T>): Promise<T> {
  const config = loadConfig(process.env, opts.databaseUrl !== undefined ? { databaseUrl: opts.databaseUrl } : {});
  const registry = loadRegistry();
  const store = await openStore(registry, config.databaseUrl, {
    sqliteSynchronous: config.sqliteSynchronous,
    ...(config.databaseSchema ? { pgSchema: config.databaseSchema } : {}),
    create: false, // a missing database is an error, never a new empty one ("audit log OK: 0 records")
  });
  try {
    return await fn(store, registry);
  } finally {
    await store.close();
  }
}

const dbOption = () => new Option('--database-url <url>', 'sqlite:PATH or postgres://… (env AGENTROSTER_DATABASE_URL)');

export function registerGovernanceCommands(program: Command): void {
  const audit = program.command('audit').description('the append-only, hash-chained audit log');
  audit
    .command('verify')
    .description('check the hash chain; exit 1 naming the first broken record (seq and why)')
    .option('--json', 'print the verdict as JSON on stdout')
    .addOption(dbOption())
    .action(async (opts: { json?: boolean; databaseUrl?: string }) => {
      process.exitCode = await withStore(opts, (store) => runAuditVerify(store, opts));
    });
  audit
    .command('export')
    .description('write the audit log as JSON lines (one event per line, with seq, prevHash and hash)')
    .option('--out <file>', 'write to this file instead of stdout')
    .option('--after <seq>', 'only events after this seq (incremental exports)')
    .option('--resource <id>', 'only events of this resource (e.g. one agent)')
    .addOption(dbOption())
    .action(async (opts: { out?: string; after?: string; resource?: string; databaseUrl?: string }) => {
      const after = opts.after === undefined ? undefined : Number(opts.after);
      if (after !== undefined && (!Number.isInteger(after) || after < 0)) throw invalidValue('--after must be a seq number');
      const file = opts.out ? createWriteStream(opts.out) : undefined;
      const write = file ? (l: string) => void file.write(l) : (l: string) => void process.stdout.write(l);
      const n = await withStore(opts, (store) =>
        runAuditExport(store, { ...(after !== undefined ? { after } : {}), ...(opts.resource ? { resource: opts.resource } : {}), write }),
      );
      if (file) await new Promise<void>((resolve, reject) => file.end((e?: Error | null) => (e ? reject(e) : resolve())));
      process.stderr.write(`${n} audit event(s) exported${opts.out ? ` to ${opts.out}` : ''}\n`);
    });

  const agents = program.command('agents').description('agents of record');
  agents
    .command('list')
    .description('list agents with their lifecycle, sponsor and review state')
    .option('--state <state>', 'pending | active | suspended | retired')
    .option('--sponsor <userId>', 'agents sponsored by this User')
    .option('--sponsor-status <status>', 'ok | departed | transferPending | missing')
    .option('--environment <env>', 'production | staging | development | test')
    .option('--issue <type>', 'a compliance issue, e.g. reviewOverdue, sponsorDeparted, credentialStale')
    .option('--review-overdue', 'nextReviewDue has passed')
    .option('--filter <scim>', 'any SCIM filter over /Agents attributes')
    .option('--limit <n>', 'at most this many', (v) => Number(v))
    .option('--json', 'one JSON object per line')
    .addOption(dbOption())
    .action(async (opts: AgentsListOptions & { databaseUrl?: string }) => {
      process.exitCode = await withStore(opts, (store, registry) => runAgentsList(store, registry, opts));
    });
}
