// The Store interface: everything the resource layer needs from a database. Implemented by
// sqlite/ (embedded default) and, later, postgres/. One commit = one transaction holding the
// resource writes, their audit events and their outbox rows (design.md, "The flow of one write").

import type { Filter } from '../scim/filter/ast.js';
import type { ResourceTypeInfo } from '../scim/registry.js';

export type Json = Record<string, unknown>;

export interface StoredResource {
  type: string;
  id: string;
  /** canonical SCIM JSON without meta (meta is rebuilt from the columns below) */
  data: Json;
  version: number;
  created: string;
  lastModified: string;
}

export interface Actor {
  /** token name, or "system" / a connector name for automatic changes */
  client: string;
  tokenId?: string;
  /** the human User the token is bound to, when known */
  userId?: string;
}

export interface AuditEventInput {
  action: string; // create | replace | patch | delete | …
  resourceType: string;
  resourceId: string;
  actor: Actor;
  requestId?: string;
  reason?: string;
  /** attribute-level change: { attr: { before, after } } */
  changes?: Json;
  version?: number;
  at: string;
}

export interface AuditEvent extends AuditEventInput {
  seq: number;
  id: string;
  prevHash: string;
  hash: string;
}

export interface OutboxInput {
  target: string;
  resourceType: string;
  resourceId: string;
  action: string;
  version: number;
}

export type Write =
  | { kind: 'insert'; type: string; id: string; data: Json; at: string }
  | {
      kind: 'update';
      type: string;
      id: string;
      data: Json;
      at: string;
      expectedVersion: number;
      before?: Json;
      /**
       * Keep version and lastModified: for server-side refreshes that are not changes of the
       * resource (a signed record renewed before it expires), so clients' delta reads and ETags
       * do not churn.
       */
      keepMeta?: boolean;
    }
  | { kind: 'delete'; type: string; id: string; expectedVersion?: number };

/**
 * A limit the database enforces: after the commit's writes, inside its transaction, the resources
 * of `type` matching `filter` must number at most `max`; otherwise the whole commit rolls back with
 * LimitExceeded(`message`). Commits carrying a guard with the same `key` serialise on it (SQLite: the
 * single writer; PostgreSQL: a transaction advisory lock on a 64-bit hash of the key, taken in key
 * order), so each one counts the others' committed writes: check and write are one step.
 */
export interface CommitGuard {
  /** names the limit, e.g. `entitlement-limit:<value>`, `seat-limit:<team id>` */
  key: string;
  type: string;
  filter: Filter;
  max: number;
  /** the error's message when the limit would be exceeded */
  message: string;
}

export interface Commit {
  writes: Write[];
  audit: AuditEventInput[];
  outbox: OutboxInput[];
  /** limits checked after the writes, in the same transaction (see CommitGuard) */
  guards?: CommitGuard[];
}

export interface SortSpec {
  path: import('../scim/filter/ast.js').AttrPath;
  descending: boolean;
}

export interface ListQuery {
  filter?: Filter;
  sort?: SortSpec;
  /** 1-based, RFC 7644 §3.4.2.4 */
  startIndex: number;
  count: number;
  /** RFC 9865 keyset cursor (opaque to clients); when set, startIndex is ignored */
  cursor?: string;
  /** skip COUNT(*) (cursor pages may omit totalResults) */
  withoutTotal?: boolean;
}

export interface ListResult {
  total: number | undefined;
  resources: StoredResource[];
  nextCursor?: string;
}

export interface TokenRecord {
  id: string;
  name: string;
  hash: string;
  scopes: string[];
  userId?: string;
  created: string;
  /** when the token stops working (ISO 8601); absent: never (`--ttl never`, or made before expiry existed) */
  expiresAt?: string;
  lastUsed?: string;
  revoked: boolean;
  /** when the refusal of this token as expired was written to the audit log (once per token) */
  expiryRecordedAt?: string;
}

/** What TokenStore.create stores: the rest is state the store keeps. */
export type NewTokenRecord = Omit<TokenRecord, 'revoked' | 'lastUsed' | 'expiryRecordedAt'>;

/** Thrown by commit() when an update's expectedVersion is stale. */
export class VersionConflict extends Error {
  constructor(
    readonly type: string,
    readonly id: string,
  ) {
    super(`version conflict on ${type} ${id}`);
    this.name = 'VersionConflict';
  }
}

/** Thrown by commit() when a write targets a row that does not exist (deleted meanwhile). */
export class RowMissing extends Error {
  constructor(
    readonly type: string,
    readonly id: string,
  ) {
    super(`${type} ${id} does not exist`);
    this.name = 'RowMissing';
  }
}

/** Thrown by commit() when a guard's count exceeds its maximum: nothing of the commit was written. */
export class LimitExceeded extends Error {
  constructor(
    readonly key: string,
    readonly count: number,
    readonly max: number,
    message: string,
  ) {
    super(message);
    this.name = 'LimitExceeded';
  }
}

/** Conditions on audit events that the database evaluates (all must hold). */
export interface AuditWhere {
  resourceId?: string;
  resourceType?: string;
  action?: string;
  actorClient?: string;
  actorUserId?: string;
  /** `at` bounds, as normalised ISO timestamps */
  atAfter?: { value: string; inclusive: boolean };
  atBefore?: { value: string; inclusive: boolean };
}

/** SQL conditions (with `?` placeholders) for an AuditWhere; shared by both stores. */
export function auditWhereSql(w: AuditWhere | undefined, actorText: (field: string) => string): { sql: string; params: unknown[] } {
  const parts: string[] = [];
  const params: unknown[] = [];
  if (!w) return { sql: '', params };
  const add = (sql: string, v: unknown) => {
    parts.push(sql);
    params.push(v);
  };
  if (w.resourceId !== undefined) add('resource_id = ?', w.resourceId);
  if (w.resourceType !== undefined) add('resource_type = ?', w.resourceType);
  if (w.action !== undefined) add('action = ?', w.action);
  if (w.actorClient !== undefined) add(`${actorText('client')} = ?`, w.actorClient);
  if (w.actorUserId !== undefined) add(`${actorText('userId')} = ?`, w.actorUserId);
  if (w.atAfter) add(`at ${w.atAfter.inclusive ? '>=' : '>'} ?`, w.atAfter.value);
  if (w.atBefore) add(`at ${w.atBefore.inclusive ? '<=' : '<'} ?`, w.atBefore.value);
  return { sql: parts.map((p) => ` AND ${p}`).join(''), params };
}

export interface OutboxRow {
  seq: number;
  target: string;
  resourceType: string;
  resourceId: string;
  action: string;
  version: number;
  created: string;
  availableAt: string;
  attempts: number;
  status: 'pending' | 'done' | 'parked';
  leaseOwner?: string;
  leaseUntil?: string;
  lastError?: string;
}

/**
 * The transactional outbox (design.md): rows are written in the same commit as the change, then
 * claimed by sync workers with a lease. Several workers never hold the same row; a worker that
 * dies loses its lease when it expires and another worker takes the row.
 */
export interface OutboxStore {
  /**
   * Lease up to `limit` due rows of a target to `worker` for `leaseMs` (oldest first). Rows of a
   * resource another worker holds a live lease on are left alone, so one resource is converged by
   * one worker at a time.
   */
  claim(target: string, worker: string, leaseMs: number, limit: number, now?: Date): Promise<OutboxRow[]>;
  /** Done: only the lease holder can complete (a worker whose lease expired gets false). */
  complete(seq: number, worker: string): Promise<boolean>;
  /** Failed: release the lease, count the attempt, make the row due again at `availableAt`. */
  retry(seq: number, worker: string, error: string, availableAt: Date): Promise<boolean>;
  /** Give up after too many attempts: parked rows wait for a human (`requeue`). */
  park(seq: number, worker: string, error: string): Promise<boolean>;
  requeue(seq: number): Promise<boolean>;
  list(filter: { target?: string; status?: OutboxRow['status']; limit?: number }): Promise<OutboxRow[]>;
  stats(target: string, now?: Date): Promise<{ pending: number; parked: number; oldestPendingAt?: string }>;
}

/** Per-target sync bookkeeping: our id ↔ remote object, and small named cursors (delta links). */
export interface SyncLink {
  target: string;
  resourceId: string;
  remoteId?: string;
  remoteState?: Json;
  lastSyncedAt?: string;
  lastError?: string;
  syncedVersion?: number;
}

export interface SyncStateStore {
  getLink(target: string, resourceId: string): Promise<SyncLink | undefined>;
  /** The links of many resources at once (by resource id), for rendering a page of agents. */
  getLinks(target: string, resourceIds: string[]): Promise<Map<string, SyncLink>>;
  putLink(link: SyncLink): Promise<void>;
  links(target: string, afterResourceId?: string, limit?: number): Promise<SyncLink[]>;
  deleteLink(target: string, resourceId: string): Promise<void>;
  getCursor(name: string): Promise<string | undefined>;
  putCursor(name: string, value: string | undefined): Promise<void>;
}

/** A record-signing key (signed agent records, R19). The private key is stored encrypted. */
export interface SigningKeyRecord {
  kid: string;
  alg: string;
  publicJwk: Json;
  /** the private key, encrypted at rest by the caller (opaque to the store) */
  privateKeyEnc: string;
  createdAt: string;
  status: 'active' | 'retired';
  /** when it stopped signing (rotation) */
  retiredAt?: string;
  /** until when its signatures stay verifiable (published in the JWKS until then) */
  verifyUntil?: string;
}

export interface KeyStore {
  list(): Promise<SigningKeyRecord[]>;
  /**
   * Inserts an active key unless one is active already (two instances starting at once): false
   * then. The key and its audit event are written in one transaction; a key not inserted writes none.
   */
  insertActive(k: Omit<SigningKeyRecord, 'status'>, audit: AuditEventInput): Promise<boolean>;
  /**
   * Rotation in one transaction: the current active key retires, `next` becomes active, and the
   * audit event `audit(retired)` is appended (`retired`: the key that was active, read inside the
   * transaction; undefined when there was none). Returns the retired key's kid.
   */
  rotate(
    next: Omit<SigningKeyRecord, 'status'>,
    retiredAt: string,
    verifyUntil: string,
    audit: (retired: SigningKeyRecord | undefined) => AuditEventInput,
  ): Promise<{ retired?: string }>;
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  keys: KeyStore;
  outbox: OutboxStore;
  sync: SyncStateStore;
  /** Highest applied migration version. */
  schemaVersion(): Promise<number>;
  /**
   * Refreshes the query planner's statistics (SQLite PRAGMA optimize / PostgreSQL ANALYZE), so that
   * a selective filter drives the query from its index. Run after bulk loads; the server also runs it
   * at start and hourly.
   */
  optimize(): Promise<void>;
  get(type: string, id: string): Promise<StoredResource | undefined>;
  getMany(type: string, ids: string[]): Promise<StoredResource[]>;
  list(rt: ResourceTypeInfo, q: ListQuery): Promise<ListResult>;
  commit(c: Commit): Promise<void>;
  /** Groups whose members include each id: the readOnly `groups` attribute of Users and Agents. */
  groupsOf(memberIds: string[]): Promise<Map<string, { value: string; display?: string }[]>>;
  /** Query plan of a list query (EXPLAIN QUERY PLAN / EXPLAIN), for tests and the benchmark. */
  explain(rt: ResourceTypeInfo, q: ListQuery): Promise<string[]>;
  /** Audit events after `after` (seq) in log order, optionally narrowed in the database by `where`. */
  auditEvents(after?: number, limit?: number, where?: AuditWhere): Promise<AuditEvent[]>;
  tokens: TokenStore;
  close(): Promise<void>;
}

/**
 * Bearer tokens. Every change to a token (create, revoke, the first refusal as expired) is written
 * with its audit event in one transaction, through the same hash-chain append as resource commits.
 */
export interface TokenStore {
  /** Inserts the token and appends `audit` in one transaction (a name in use: 409, nothing written). */
  create(t: NewTokenRecord, audit: AuditEventInput): Promise<void>;
  findByHash(hash: string): Promise<TokenRecord | undefined>;
  list(): Promise<TokenRecord[]>;
  /**
   * Revokes the tokens whose id or name is `idOrName`, appending `audit(token)` for each one that
   * was not revoked yet, in one transaction. false: no such token (nothing written); a token revoked
   * before: true, and no second event.
   */
  revoke(idOrName: string, audit: (t: TokenRecord) => AuditEventInput): Promise<boolean>;
  /**
   * The first refusal of an expired token: marks the token (expiryRecordedAt = audit.at) and appends
   * `audit` in one transaction. false, and nothing written, when it was recorded before: one event
   * per token, however often it is presented.
   */
  recordExpiry(id: string, audit: AuditEventInput): Promise<boolean>;
  count(): Promise<number>;
  touch(id: string, at: string): Promise<void>;
}
