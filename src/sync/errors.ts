// Errors connectors throw so that the engine can tell "try again later" from "a human must act".
// Messages end up in the outbox row, the link, the admin endpoint and the CLI: they must say what
// went wrong and what to do, and must never contain secrets or tokens.

export abstract class SyncError extends Error {
  abstract readonly retryable: boolean;
  /** a short machine-readable code, e.g. "throttled", "Authorization_RequestDenied" */
  readonly code: string;
  constructor(message: string, code: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Transient: the engine retries with backoff (at least `retryAfterMs` when given). */
export class RetryableError extends SyncError {
  readonly retryable = true;
  override name = 'RetryableError';
  constructor(
    message: string,
    code: string,
    readonly retryAfterMs?: number,
    options?: { cause?: unknown; throttled?: boolean },
  ) {
    super(message, code, options);
    this.throttled = options?.throttled ?? false;
  }
  readonly throttled: boolean;
}

/** Permanent until something changes (permissions, configuration, data): the row is parked at once. */
export class PermanentError extends SyncError {
  readonly retryable = false;
  override name = 'PermanentError';
}

/**
 * The remote object the link points at no longer exists (deleted outside agentroster and not yet
 * reconciled). The engine treats it as a remote deletion: most restrictive wins.
 */
export class RemoteGoneError extends SyncError {
  readonly retryable = false;
  override name = 'RemoteGoneError';
  constructor(
    readonly remoteId: string,
    message = `remote object ${remoteId} no longer exists`,
  ) {
    super(message, 'remoteGone');
  }
}

export function isSyncError(e: unknown): e is SyncError {
  return e instanceof SyncError;
}

/** A one-line description of any error, safe to store and show. */
export function describeError(e: unknown): string {
  if (e instanceof SyncError) return `${e.code}: ${e.message}`;
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  return String(e);
}
