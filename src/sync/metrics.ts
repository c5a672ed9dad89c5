// Sync counters per target, and their Prometheus text exposition (format 0.0.4).

export type FailureKind = 'retry' | 'parked';
export type ReconcileAction = 'suspend' | 'revoke' | 'flag' | 'push' | 'adopt' | 'duplicateDeleted' | 'orphan' | 'remoteDeleted';

export class TargetMetrics {
  /** agents converged (rows completed in groups) */
  successes = 0;
  /** of which: nothing to do remotely */
  noops = 0;
  rowsCompleted = 0;
  failures: Record<FailureKind, number> = { retry: 0, parked: 0 };
  reconcile: Partial<Record<ReconcileAction, number>> = {};
  lastSuccessAt?: number;
  lastFailureAt?: number;
  lastError?: string;
  deltaRuns = 0;
  lastDeltaAt?: number;
  lastDeltaError?: string;
  fullCompares = 0;
  lastFullCompareAt?: number;
  lastFullCompareError?: string;
  orphans: string[] = [];

  constructor(readonly target: string) {}

  success(noop: boolean, rows: number, at = Date.now()): void {
    this.successes++;
    if (noop) this.noops++;
    this.rowsCompleted += rows;
    this.lastSuccessAt = at;
  }

  failure(kind: FailureKind, error: string, at = Date.now()): void {
    this.failures[kind]++;
    this.lastFailureAt = at;
    this.lastError = error;
  }

  action(a: ReconcileAction, n = 1): void {
    this.reconcile[a] = (this.reconcile[a] ?? 0) + n;
  }
}

export interface TargetSnapshot {
  target: string;
  running: boolean;
  queue: { pending: number; parked: number; oldestPendingAt?: string };
  metrics: TargetMetrics;
  requests: { reads: number; writes: number; batches: number; throttled: number };
  now: number;
}

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

/** Renders every target's figures; HELP/TYPE once per metric family. */
export function renderPrometheus(targets: TargetSnapshot[]): string {
  const families = new Map<string, { help: string; type: 'gauge' | 'counter'; lines: string[] }>();
  const add = (name: string, type: 'gauge' | 'counter', help: string, labels: Record<string, string>, value: number) => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { help, type, lines: [] }));
    const l = Object.entries(labels)
      .map(([k, v]) => `${k}="${esc(v)}"`)
      .join(',');
    f.lines.push(`${name}{${l}} ${Number.isFinite(value) ? value : 0}`);
  };
  for (const t of targets) {
    const target = { target: t.target };
    const m = t.metrics;
    add('agentroster_sync_up', 'gauge', 'Whether the sync worker of the target is running (1) or not (0).', target, t.running ? 1 : 0);
    add('agentroster_sync_queue_depth', 'gauge', 'Outbox rows waiting to be synced (pending, including rows waiting for a retry).', target, t.queue.pending);
    add('agentroster_sync_parked_rows', 'gauge', 'Outbox rows parked after too many attempts or a permanent error; they wait for `agentroster sync retry`.', target, t.queue.parked);
    const oldest = t.queue.oldestPendingAt ? Math.max(0, (t.now - Date.parse(t.queue.oldestPendingAt)) / 1000) : 0;
    add('agentroster_sync_oldest_pending_age_seconds', 'gauge', 'Age of the oldest pending outbox row (0 when the queue is empty).', target, Math.round(oldest * 1000) / 1000);
    add('agentroster_sync_successes_total', 'counter', 'Agents converged on the target (one per group of coalesced outbox rows).', target, m.successes);
    add('agentroster_sync_noops_total', 'counter', 'Agents found already in sync (no remote call needed).', target, m.noops);
    add('agentroster_sync_rows_completed_total', 'counter', 'Outbox rows completed.', target, m.rowsCompleted);
    for (const kind of ['retry', 'parked'] as const) {
      add('agentroster_sync_failures_total', 'counter', 'Failed sync attempts, by outcome: retry (scheduled again) or parked.', { ...target, kind }, m.failures[kind]);
    }
    add('agentroster_sync_throttles_total', 'counter', 'Responses from the target asking us to slow down (429, or 503 with Retry-After).', target, t.requests.throttled);
    for (const kind of ['reads', 'writes', 'batches'] as const) {
      add('agentroster_sync_remote_requests_total', 'counter', 'Requests sent to the target ($batch items counted individually; batches = envelopes).', { ...target, kind }, t.requests[kind]);
    }
    for (const [action, n] of Object.entries(m.reconcile)) {
      add('agentroster_sync_reconcile_actions_total', 'counter', 'Reconciliation outcomes: suspend, revoke, flag (remote re-enable held for approval), push (drift corrected), adopt, duplicateDeleted, remoteDeleted, orphan.', { ...target, action }, n ?? 0);
    }
    add('agentroster_sync_orphans', 'gauge', 'Remote objects tagged by agentroster that match no agent here (reported, never deleted automatically).', target, m.orphans.length);
    if (m.lastSuccessAt) add('agentroster_sync_last_success_timestamp_seconds', 'gauge', 'When an agent was last converged.', target, m.lastSuccessAt / 1000);
    if (m.lastDeltaAt) add('agentroster_sync_delta_last_run_timestamp_seconds', 'gauge', 'When the delta reconciliation last completed.', target, m.lastDeltaAt / 1000);
    if (m.lastFullCompareAt) add('agentroster_sync_full_compare_last_run_timestamp_seconds', 'gauge', 'When the full compare last completed.', target, m.lastFullCompareAt / 1000);
  }
  const out: string[] = [];
  for (const [name, f] of families) {
    out.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`, ...f.lines);
  }
  return `${out.join('\n')}\n`;
}
