// Microsoft Graph OData errors and what they mean for sync (learn.microsoft.com/graph/errors):
// branch on status, error.code and error.details[].code — never on the message, with one
// documented exception: Agent ID's replication race is a plain 400 "Object with id {id} not found"
// (Agent ID FAQ), distinguishable from other 400s only by its text.

import { PermanentError, RetryableError, type SyncError } from '../../sync/errors.js';

export class GraphApiError extends Error {
  override name = 'GraphApiError';
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly detailCodes: string[] = [],
    readonly requestId?: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
  }

  /** duplicate value of a unique property (users' UPN, applications' uniqueName): 400, not 409 */
  get objectConflict(): boolean {
    return this.detailCodes.includes('ObjectConflict') || this.code === 'ObjectConflict';
  }

  /** Agent ID FAQ: a reference to an object created a moment ago, not yet replicated */
  get replicationRace(): boolean {
    return this.status === 400 && /^Object with id \S+ not found/i.test(this.message);
  }

  get alreadyExists(): boolean {
    return this.status === 400 && /already exist/i.test(this.message);
  }

  get doesNotExist(): boolean {
    return (this.status === 400 && /do(es)? not exist/i.test(this.message)) || this.status === 404;
  }

  get deltaExpired(): boolean {
    return (this.status === 400 && ['syncStateNotFound', 'resyncRequired', 'syncStateInvalid'].includes(this.code)) || this.status === 410;
  }

  get transient(): boolean {
    return this.status === 429 || this.status === 500 || this.status === 502 || this.status === 503 || this.status === 504;
  }

  describe(): string {
    const details = this.detailCodes.length ? ` [${this.detailCodes.join(', ')}]` : '';
    const rid = this.requestId ? ` (request-id ${this.requestId})` : '';
    return `${this.status} ${this.code}${details}: ${this.message}${rid}`;
  }
}

/** The request may or may not have been carried out (connection lost, timeout, 5xx on a create). */
export class OutcomeUnknownError extends Error {
  override name = 'OutcomeUnknownError';
}

export function parseGraphError(status: number, body: unknown, headers: Record<string, string>, retryAfterMs?: number): GraphApiError {
  const err = (body as { error?: { code?: unknown; message?: unknown; details?: unknown; innerError?: Record<string, unknown> } } | undefined)?.error;
  const code = typeof err?.code === 'string' ? err.code : `HTTP${status}`;
  const message = typeof err?.message === 'string' ? err.message : typeof body === 'string' ? body.slice(0, 300) : 'no error message';
  const details = Array.isArray(err?.details)
    ? (err.details as unknown[]).flatMap((d) => (d && typeof d === 'object' && typeof (d as { code?: unknown }).code === 'string' ? [(d as { code: string }).code] : []))
    : [];
  const rid = headers['request-id'] ?? (typeof err?.innerError?.['request-id'] === 'string' ? (err.innerError['request-id'] as string) : undefined);
  return new GraphApiError(status, code, message, details, rid, retryAfterMs);
}

/** Which Graph application permission an operation needs (reference/entra.md §1.3), for 403 messages. */
export const PERMISSION_HINTS: Record<string, string> = {
  createAgent: 'AgentIdentity.Create.All (or AgentIdentity.CreateAsManager when authenticating as the blueprint)',
  updateAgent: 'AgentIdentity.ReadWrite.All (enable/disable alone: AgentIdentity.EnableDisable.All)',
  deleteAgent: 'AgentIdentity.DeleteRestore.All',
  readAgent: 'AgentIdentity.Read.All or AgentIdentity.ReadWrite.All',
  sponsors: 'AgentIdentity.ReadWrite.All',
  delta: 'Application.Read.All or Directory.Read.All',
  users: 'User.Read.All (lookups) / User.ReadWrite.All (the user mapping)',
  groups: 'GroupMember.ReadWrite.All',
  appRoles: 'AppRoleAssignment.ReadWrite.All together with Application.Read.All',
  applications: 'Application.ReadWrite.All (or Application.ReadWrite.OwnedBy)',
  restore: 'AgentIdentity.DeleteRestore.All',
};

/** A Graph error as a SyncError for the engine: retryable or not, with an actionable message. */
export function toSyncError(e: GraphApiError, what: string, permission?: keyof typeof PERMISSION_HINTS): SyncError {
  const msg = `${what}: ${e.describe()}`;
  if (e.transient) return new RetryableError(msg, e.code, e.retryAfterMs, { cause: e, throttled: e.status === 429 });
  if (e.replicationRace) return new RetryableError(`${msg} (replication delay after a create; retried)`, 'replicationLag', undefined, { cause: e });
  if (e.status === 401) return new RetryableError(`${msg} (the access token was rejected; check the tenant id and the app's credential)`, e.code, undefined, { cause: e });
  if (e.status === 403) {
    const hint = permission ? PERMISSION_HINTS[permission] : undefined;
    return new PermanentError(
      `${msg}. The app registration lacks a Graph application permission${hint ? `: ${hint}` : ''}. Grant it with admin consent, then run "agentroster sync retry".`,
      e.code,
      { cause: e },
    );
  }
  return new PermanentError(msg, e.code, { cause: e });
}
