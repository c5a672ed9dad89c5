// The contract between the sync engine and one target directory (Microsoft Entra ID, Okta, …).
//
// Division of labour:
// - The ENGINE owns what changed and when: the outbox (leases, batching, coalescing, retries with
//   backoff and jitter, parking), per-agent ordering, the link table (our id ↔ remote id and the
//   connector's baseline), the desired state of each agent (read from the store), the domain
//   consequences of remote drift (suspension, revocation, flags for approval, with audit events
//   naming the target as the actor), reconciliation scheduling, plan/apply, health and metrics.
// - A CONNECTOR owns how to talk to the remote system: authentication, its rate limits and
//   throttling (Retry-After), paging, error classification (SyncError), and the mapping of ONE
//   DesiredAgent onto remote objects, idempotently: calling apply() twice with the same input, or
//   again after a crash at any point, leaves exactly the same remote state and never a second object.
//
// Baseline semantics (important for "most restrictive wins"): `ConnectorLink.state` records what
// the connector last APPLIED remotely, not what it last saw. apply() pushes only the differences
// between the desired state and that baseline; it never reads the remote object to "fix" it. A
// removal made remotely (an access review removing a group membership) is therefore never undone
// by an unrelated push: compare() reports it as a revocation, the engine revokes the entitlement
// here, and only then does the baseline move. compare() moves the baseline for drift that must be
// corrected instead (a rename, a changed sponsor, a remote re-enable), so that the next apply()
// pushes our record again.
//
// Implementing a connector (the Okta one is next): implement the members below, throw SyncError
// subclasses (errors.ts) so the engine can tell "retry later" from "needs a human", persist the
// remote id through ctx.checkpoint() the moment a create returns, tag remote objects with our id so
// that a create whose response was lost is found again (and reported by inventory()), and keep
// every method free of domain decisions: report drift, let the engine decide.

import type { Logger } from 'pino';
import type { Json } from '../store/types.js';

export type LifecycleState = 'pending' | 'active' | 'suspended' | 'retired';

/** A sponsor or co-sponsor of an agent, with what a connector needs to find the person remotely. */
export interface SponsorRef {
  kind: 'user' | 'group';
  /** our User or Group id */
  id: string;
  /** the accountable sponsor (true) or a co-sponsor */
  primary: boolean;
  displayName?: string;
  /** User.userName (often the UPN) */
  userName?: string;
  /** User/Group externalId (often the remote object id when the IdP provisioned the person) */
  externalId?: string;
  /** emails, primary first */
  emails: string[];
}

/** One row of an Entitlement's governance `mappings`, already filtered to the connector's target. */
export interface EntitlementMapping {
  kind: 'group' | 'appRole';
  /** group: the group's object id. appRole: the app role id (or its value). */
  remoteId?: string;
  /** appRole: the resource application's appId (or its service principal object id) */
  appId?: string;
}

export interface DesiredEntitlement {
  /** the catalogue value, as on Agent.entitlements[].value */
  value: string;
  /** how this entitlement maps onto the target (empty: nothing to do there) */
  mappings: EntitlementMapping[];
}

/** Where an agent stands for a target, computed by the engine. */
export type Presence =
  /** the remote object must exist (enabled iff `enabled`) */
  | 'present'
  /** the remote object must not exist (agent deleted here, or retired beyond the grace period) */
  | 'absent'
  /** the object was deleted remotely and the agent is not active here: leave it deleted */
  | 'remoteDeleted';

/** The state one agent should have in the target, built by the engine from the store. */
export interface DesiredAgent {
  id: string;
  /** meta.version of the agent as read (0 when it no longer exists here) */
  version: number;
  presence: Presence;
  /** accountEnabled / active: true only for lifecycleState "active" */
  enabled: boolean;
  lifecycleState: LifecycleState | 'deleted';
  displayName: string;
  agentUserName: string;
  description?: string;
  /** primary sponsor first; empty if none resolves here */
  sponsors: SponsorRef[];
  entitlements: DesiredEntitlement[];
  /** the stored agent (SCIM JSON), for connectors that map more attributes */
  resource?: Json;
}

/** The connector's part of a link row: the remote id and the applied baseline (connector-owned JSON). */
export interface ConnectorLink {
  remoteId?: string;
  state: Json;
  /**
   * The object this agent had before it was deleted remotely. When the agent must exist again
   * (re-activated here), a connector may restore it instead of creating a new one.
   */
  previousRemoteId?: string;
}

export interface ApplyContext {
  /** Persist progress now. Call it the moment a create returns its id, before anything else. */
  checkpoint(link: ConnectorLink): Promise<void>;
  /** domain time (grace periods); queue mechanics use the wall clock */
  now(): Date;
  logger: Logger;
  signal: AbortSignal;
}

export type ChangeKind = 'create' | 'update' | 'enable' | 'disable' | 'delete' | 'adopt' | 'noop';

export interface PlannedChange {
  kind: ChangeKind;
  /** human-readable lines, e.g. "sponsors: +ada@contoso.com", "groups: -Finance Readers" */
  details: string[];
}

export interface ApplyResult {
  /** the new link; null when the remote object is gone for good and the link can be forgotten */
  link: ConnectorLink | null;
  change: PlannedChange;
  /** kind of remote object, for externalIdentities.objectType (agentIdentity, servicePrincipal, user…) */
  objectType: string;
}

/** What reconciliation saw of one remote object. Fields absent were not observed. */
export interface RemoteObservation {
  remoteId: string;
  /** wall-clock ms when it was read (set by the engine; stale observations are skipped) */
  observedAt?: number;
  /** our agent id, from the tag on the remote object (absent for deletions) */
  agentId?: string;
  exists: boolean;
  enabled?: boolean;
  displayName?: string;
  /** remote ids of the sponsors (or manager) */
  sponsors?: string[];
  /** remote ids of the groups the object is a member of, among the groups the catalogue maps */
  groups?: string[];
  /** app role assignments among the ones the catalogue maps, as `${resourceId}/${appRoleId}` */
  appRoles?: string[];
  /** when the remote object was created (index lag: very new objects may be missing from lists) */
  createdAt?: string;
}

/** Differences between the applied baseline and what was observed; the engine decides what follows. */
export interface DriftReport {
  /** deleted remotely (by an admin, an access review, a lifecycle workflow) */
  deleted: boolean;
  /** disabled remotely while we keep it enabled */
  disabled: boolean;
  /** enabled remotely while we keep it disabled: never applied here, flagged for approval */
  reenabled: boolean;
  /** entitlement values whose remote grant was removed remotely */
  revoked: string[];
  /** other differences, corrected by pushing our record again (human-readable) */
  other: string[];
  /** the baseline to store from now on */
  state: Json;
  /** the remote id to store (undefined: none) */
  remoteId?: string;
}

export interface InventoryScope {
  mappings: EntitlementMapping[];
}

export interface DeltaResult {
  observations: RemoteObservation[];
  /** the cursor to store for the next call (e.g. a Graph deltaLink) */
  cursor: string;
  /** the old cursor had expired: the engine runs a full compare */
  resync: boolean;
}

export interface ConnectorHealth {
  /** wall-clock ms until which the target asked us to wait (Retry-After), if in the future */
  throttledUntil?: number;
  /** human-readable settings worth showing to an admin (never secrets) */
  settings: Record<string, string | number | boolean>;
  /** requests sent, by kind */
  requests: { reads: number; writes: number; batches: number; throttled: number };
}

/**
 * A sync target. One instance per target, shared by the worker, the reconciler and the CLI; it must
 * be safe for concurrent apply() calls on DIFFERENT agents (the engine never runs two for one agent).
 */
export interface Connector {
  /** the target name used in the outbox, links and metrics: "entra", "okta" */
  readonly target: string;
  /** what the remote object is called, for externalIdentities.objectType */
  readonly objectType: string;

  /**
   * A stable hash of everything in `desired` that apply() maps. When it equals the one stored with
   * the link after the last successful apply, the engine skips the agent without any remote call.
   */
  fingerprint(desired: DesiredAgent): string;

  /** What apply() would do, from the baseline alone (no remote calls). */
  plan(desired: DesiredAgent, link: ConnectorLink | undefined): PlannedChange;

  /** Converge the remote object(s) of one agent to `desired`. Idempotent; see the header. */
  apply(desired: DesiredAgent, link: ConnectorLink | undefined, ctx: ApplyContext): Promise<ApplyResult>;

  /** Compare the baseline with an observation (no remote calls). */
  compare(desired: DesiredAgent, link: ConnectorLink, observed: RemoteObservation): DriftReport;

  /**
   * Remote changes since `cursor` (undefined: start from now). Optional: targets without a change
   * feed are reconciled by inventory() alone.
   */
  delta?(cursor: string | undefined, signal: AbortSignal): Promise<DeltaResult>;

  /**
   * Every remote object this installation manages (tagged with our ids), fully observed: state,
   * sponsors, and the memberships / assignments among `scope.mappings` (every mapping the catalogue
   * has for this target).
   */
  inventory(scope: InventoryScope, signal: AbortSignal): Promise<RemoteObservation[]>;

  /** The link for an existing remote object found by its tag: its baseline is what was observed. */
  adopt(observed: RemoteObservation): ConnectorLink;

  /** Delete a remote object by id (a duplicate left by a lost create). Missing is not an error. */
  remove(remoteId: string, signal: AbortSignal): Promise<void>;

  health(): ConnectorHealth;
  close(): Promise<void>;
}
