// The emulated org's data. Route modules and the test-facing `admin` surface both mutate it through the
// service classes (users.ts, lifecycle.ts, groups.ts, …), so out-of-band changes ("an IGA reviewer revoked
// this in Okta") take exactly the same path, and emit the same System Log events, as API calls.
import { Clock, oktaId, randomAlnum } from './http.js';
import { LaggedIndex } from './query.js';
import { SystemLog, type LogActor } from './logs.js';

export type UserStatus =
  | 'STAGED'
  | 'PROVISIONED'
  | 'ACTIVE'
  | 'RECOVERY'
  | 'PASSWORD_EXPIRED'
  | 'LOCKED_OUT'
  | 'SUSPENDED'
  | 'DEPROVISIONED';

export interface UserRecord {
  id: string;
  seq: number;
  status: UserStatus;
  transitioningToStatus: UserStatus | null;
  created: string;
  activated: string | null;
  statusChanged: string | null;
  lastLogin: string | null;
  lastUpdated: string;
  passwordChanged: string | null;
  typeId: string;
  profile: Record<string, unknown>;
  credentials: { hasPassword: boolean; provider: { type: string; name: string } };
}

export interface SchemaProperty {
  title?: string;
  description?: string;
  type: string;
  items?: { type: string };
  required?: boolean;
  unique?: string;
  mutability?: string;
  scope?: string;
  minLength?: number;
  maxLength?: number;
  enum?: unknown[];
  permissions?: Array<{ principal: string; action: string }>;
  master?: { type: string };
  [k: string]: unknown;
}

export interface UserTypeRecord {
  id: string;
  schemaId: string;
  name: string;
  displayName: string;
  description: string | null;
  isDefault: boolean;
  created: string;
  lastUpdated: string;
  createdBy: string;
  lastUpdatedBy: string;
  custom: Record<string, SchemaProperty>;
  schemaCreated: string;
  schemaLastUpdated: string;
}

export interface GroupRecord {
  id: string;
  seq: number;
  created: string;
  lastUpdated: string;
  lastMembershipUpdated: string;
  type: 'OKTA_GROUP' | 'BUILT_IN';
  profile: { name: string; description: string | null; [k: string]: unknown };
  /** userId -> membership sequence number (stable cursor for member paging). */
  members: Map<string, number>;
}

/** Who performed an operation, and the request it came from; flows into System Log events. */
export interface OpContext {
  actor: LogActor;
  requestId?: string;
  requestUri?: string;
  ip?: string;
  userAgent?: string;
}

export interface StateOptions {
  clock: Clock;
  searchLagMs: number;
  logLagMs: number;
  orgUrl: () => string;
}

export class OktaState {
  readonly clock: Clock;
  readonly orgUrl: () => string;
  private seq = 0;

  readonly users = new Map<string, UserRecord>();
  /** Sequence numbers of every user ever created (including deleted), so stale `after` cursors still work. */
  readonly userSeqById = new Map<string, number>();
  readonly userIndex: LaggedIndex<UserRecord>;
  /** lower-cased login -> user id (logins are unique and case-insensitive). */
  readonly loginIndex = new Map<string, string>();

  readonly types = new Map<string, UserTypeRecord>();
  readonly groups = new Map<string, GroupRecord>();
  readonly groupSeqById = new Map<string, number>();
  readonly groupIndex: LaggedIndex<GroupRecord>;

  readonly log: SystemLog;

  /** The super admin that owns the SSWS API token: the actor of SSWS-authenticated changes. */
  readonly adminUser: { id: string; login: string; displayName: string };
  readonly defaultTypeId: string;

  constructor(opts: StateOptions) {
    this.clock = opts.clock;
    this.orgUrl = opts.orgUrl;
    const now = () => this.clock.now();
    this.userIndex = new LaggedIndex<UserRecord>(now, opts.searchLagMs);
    this.groupIndex = new LaggedIndex<GroupRecord>(now, opts.searchLagMs);
    this.log = new SystemLog(this.clock, opts.logLagMs);
    this.adminUser = { id: oktaId('00u'), login: 'admin@emulator.okta.test', displayName: 'Emulator Admin' };

    // Okta creates a `default` user type (name "user", display name "User") with every org.
    const suffix = randomAlnum(17);
    const t = this.clock.iso();
    this.defaultTypeId = `oty${suffix}`;
    this.types.set(this.defaultTypeId, {
      id: this.defaultTypeId,
      schemaId: `osc${suffix}`,
      name: 'user',
      displayName: 'User',
      description: 'Okta user profile template with default permission settings',
      isDefault: true,
      created: t,
      lastUpdated: t,
      createdBy: oktaId('spr'),
      lastUpdatedBy: this.adminUser.id,
      custom: {},
      schemaCreated: t,
      schemaLastUpdated: t,
    });

    // Every org has the built-in "Everyone" group.
    const everyone: GroupRecord = {
      id: oktaId('00g'),
      seq: this.nextSeq(),
      created: t,
      lastUpdated: t,
      lastMembershipUpdated: t,
      type: 'BUILT_IN',
      profile: { name: 'Everyone', description: 'All users in your organization' },
      members: new Map(),
    };
    this.groups.set(everyone.id, everyone);
    this.groupSeqById.set(everyone.id, everyone.seq);
    this.groupIndex.record(everyone.id, everyone);
    this.groupIndex.flush();
  }

  nextSeq(): number {
    this.seq += 1;
    return this.seq;
  }

  get searchLagMs(): number {
    return this.userIndex.lagMs;
  }

  set searchLagMs(ms: number) {
    this.userIndex.lagMs = ms;
    this.groupIndex.lagMs = ms;
  }

  /** Make every committed write visible to `search` right now. */
  flushSearchIndex(): void {
    this.userIndex.flush();
    this.groupIndex.flush();
  }

  everyoneGroup(): GroupRecord {
    for (const g of this.groups.values()) if (g.type === 'BUILT_IN') return g;
    throw new Error('no Everyone group');
  }

  /** The actor recorded for SSWS-authenticated requests. */
  adminActor(): LogActor {
    return {
      id: this.adminUser.id,
      type: 'User',
      alternateId: this.adminUser.login,
      displayName: this.adminUser.displayName,
      detailEntry: null,
    };
  }

  /** Context for changes made out of band by tests (e.g. an admin or IGA campaign acting in Okta). */
  systemContext(actor?: Partial<LogActor>): OpContext {
    return { actor: { ...this.adminActor(), ...actor } };
  }
}
