/**
 * In-memory directory: users, groups, applications (+ agent identity blueprints), service principals
 * (+ agent identities and blueprint principals), their relationships, the change log that feeds
 * `servicePrincipals/delta`, and soft-deleted items.
 *
 * Everything here is synchronous: a route handler's mutation is one "commit".
 * `seed*` and `admin*` methods are the test-facing API; they bypass throttling, permissions and
 * replication lag (seeds are "old" objects), and `admin*` changes appear in delta like any other change.
 */
import { randomBytes, randomUUID } from 'node:crypto';

export type ObjectKind =
  | 'user'
  | 'agentUser'
  | 'group'
  | 'application'
  | 'agentIdentityBlueprint'
  | 'servicePrincipal'
  | 'agentIdentity'
  | 'agentIdentityBlueprintPrincipal';

export const ODATA_TYPE: Record<ObjectKind, string> = {
  user: '#microsoft.graph.user',
  agentUser: '#microsoft.graph.agentUser',
  group: '#microsoft.graph.group',
  application: '#microsoft.graph.application',
  agentIdentityBlueprint: '#microsoft.graph.agentIdentityBlueprint',
  servicePrincipal: '#microsoft.graph.servicePrincipal',
  agentIdentity: '#microsoft.graph.agentIdentity',
  agentIdentityBlueprintPrincipal: '#microsoft.graph.agentIdentityBlueprintPrincipal',
};

/** Kinds that are subtypes: their @odata.type is always emitted, even in a base-type collection. */
const SUBTYPES = new Set<ObjectKind>(['agentUser', 'agentIdentityBlueprint', 'agentIdentity', 'agentIdentityBlueprintPrincipal']);

export const SP_KINDS: readonly ObjectKind[] = ['servicePrincipal', 'agentIdentity', 'agentIdentityBlueprintPrincipal'];
export const APP_KINDS: readonly ObjectKind[] = ['application', 'agentIdentityBlueprint'];
export const USER_KINDS: readonly ObjectKind[] = ['user', 'agentUser'];

export interface DirectoryObject {
  id: string;
  kind: ObjectKind;
  /** Graph properties other than id / @odata.type / deletedDateTime */
  data: Record<string, unknown>;
  /** clock value at creation; seeds use -Infinity so they are never subject to replication lag */
  createdAtMs: number;
  deletedDateTime: string | null;
}

export interface AppRole {
  id: string;
  value: string;
  displayName: string;
  description?: string;
  allowedMemberTypes: Array<'User' | 'Application'>;
  isEnabled: boolean;
}

export interface AppRoleAssignment {
  id: string;
  appRoleId: string;
  principalId: string;
  resourceId: string;
  createdDateTime: string;
}

export interface EmulatorConfig {
  /** A GET/PATCH/DELETE on an object younger than this returns 404; a reference to it in another write 400. */
  replicationLagMs: number;
  /** Lists, filters and delta don't see objects (or changes) younger than this. */
  indexLagMs: number;
  /** Per app writes allowed per window (Graph issue default: 20 writes/s); null disables the limit. */
  writeRateLimit: { limit: number; windowMs: number } | null;
  /**
   * Per app resource units (RU) allowed per window (throttling-limits, identity: per app + tenant
   * 3,500 / 5,000 / 8,000 RU per 10 s for S / M / L tenants; default S); null disables the quota.
   */
  resourceUnitQuota: { limit: number; windowMs: number } | null;
  /** Agent ID FAQ: app-only, non-Microsoft platforms get 250 agent identities per blueprint (incl. soft-deleted). */
  agentIdentitiesPerBlueprint: number;
  /** Delta links for directory objects live 7 days. */
  deltaTokenTtlMs: number;
  deltaPageSize: number;
  /** Shuffle $batch responses (the doc: "Responses can come back in any order"). */
  shuffleBatchResponses: boolean;
  /** Verified domains for userPrincipalName. */
  verifiedDomains: string[];
}

/**
 * Realistic by default: a new object is briefly invisible (replication) and lists, filters and delta
 * trail writes (index), as the Agent ID FAQ and learn.microsoft.com/graph/aad-advanced-queries
 * describe; writes are limited to Graph's 20 per second per app, and every operation draws on the
 * app's resource-unit quota (3,500 RU per 10 s). The lags are tens of milliseconds
 * (real ones are seconds) so that suites stay fast while every code path that must cope with them
 * runs. A test that turns one off says why in a comment.
 */
export const DEFAULT_REPLICATION_LAG_MS = 20;
export const DEFAULT_INDEX_LAG_MS = 50;
/** Resource units per app per 10 s for an "S" tenant (< 50 users), learn.microsoft.com/graph/throttling-limits. */
export const DEFAULT_RESOURCE_UNIT_QUOTA = 3_500;

export function defaultConfig(): EmulatorConfig {
  return {
    replicationLagMs: DEFAULT_REPLICATION_LAG_MS,
    indexLagMs: DEFAULT_INDEX_LAG_MS,
    writeRateLimit: { limit: 20, windowMs: 1000 },
    resourceUnitQuota: { limit: DEFAULT_RESOURCE_UNIT_QUOTA, windowMs: 10_000 },
    agentIdentitiesPerBlueprint: 250,
    deltaTokenTtlMs: 7 * 86_400_000,
    deltaPageSize: 100,
    shuffleBatchResponses: true,
    verifiedDomains: ['contoso.com', 'contoso.onmicrosoft.com'],
  };
}

export interface Change {
  seq: number;
  id: string;
  atMs: number;
}

export interface SeedUser {
  id?: string;
  displayName: string;
  userPrincipalName: string;
  mail?: string | null;
  mailNickname?: string;
  givenName?: string | null;
  surname?: string | null;
  jobTitle?: string | null;
  employeeId?: string | null;
  employeeType?: string | null;
  accountEnabled?: boolean;
  /** seed an agent user (a user subtype; cannot be a sponsor) */
  agentUser?: boolean;
  identityParentId?: string;
}

export interface SeedGroup {
  id?: string;
  displayName: string;
  mailNickname?: string;
  description?: string | null;
  /** [] = security group; ['Unified'] = Microsoft 365; 'DynamicMembership' = dynamic */
  groupTypes?: string[];
  securityEnabled?: boolean;
  mailEnabled?: boolean;
  isAssignableToRole?: boolean;
  membershipRule?: string | null;
  members?: string[];
}

export interface SeedServicePrincipal {
  id?: string;
  appId?: string;
  displayName: string;
  appRoles?: Array<Partial<AppRole> & { value: string }>;
  tags?: string[];
  accountEnabled?: boolean;
}

export interface SeedBlueprint {
  appId?: string;
  displayName: string;
  tags?: string[];
  /** create the blueprint principal too (default true); without it agent identity creation fails */
  withPrincipal?: boolean;
}

export interface SeedAgentIdentity {
  id?: string;
  displayName: string;
  blueprintAppId: string;
  sponsorIds: string[];
  tags?: string[];
  accountEnabled?: boolean;
  createdByAppId?: string;
}

export const nowIso = (ms: number): string => new Date(ms).toISOString();

export class DirectoryStore {
  readonly objects = new Map<string, DirectoryObject>();
  /** agent identity id -> sponsor object ids, in insertion order */
  readonly sponsors = new Map<string, string[]>();
  /** group id -> member ids */
  readonly members = new Map<string, Set<string>>();
  /** application / service principal id -> owner ids */
  readonly owners = new Map<string, Set<string>>();
  /** user id -> manager id */
  readonly managers = new Map<string, string>();
  readonly assignments = new Map<string, AppRoleAssignment>();
  readonly changes: Change[] = [];
  /** hard-deleted service principal ids, for delta's `@removed: {reason: "deleted"}` */
  readonly purged = new Set<string>();
  seq = 0;
  /** bumping this invalidates every delta token issued before */
  deltaGeneration = 1;
  /** how a token of an older generation is refused: 400 syncStateNotFound (default) or 410 Gone resyncRequired */
  deltaInvalidStatus: 400 | 410 = 400;

  constructor(
    readonly tenantId: string,
    readonly config: EmulatorConfig,
    readonly clock: () => number = Date.now,
  ) {}

  // ---------------------------------------------------------------- core

  create(kind: ObjectKind, data: Record<string, unknown>, opts: { seeded?: boolean; id?: string } = {}): DirectoryObject {
    const id = (opts.id ?? randomUUID()).toLowerCase();
    const now = this.clock();
    const obj: DirectoryObject = {
      id,
      kind,
      data: { createdDateTime: nowIso(now), ...data },
      createdAtMs: opts.seeded ? -Infinity : now,
      deletedDateTime: null,
    };
    this.objects.set(id, obj);
    // a seed is an old object: its creation is already behind the change feed's index lag
    this.recordChange(obj, opts.seeded ? -Infinity : undefined);
    return obj;
  }

  /** Live (not soft-deleted) object, regardless of replication lag. */
  live(id: string | undefined): DirectoryObject | undefined {
    if (!id) return undefined;
    const obj = this.objects.get(id.toLowerCase()) ?? this.objects.get(id);
    return obj && !obj.deletedDateTime ? obj : undefined;
  }

  deleted(id: string): DirectoryObject | undefined {
    const obj = this.objects.get(id.toLowerCase()) ?? this.objects.get(id);
    return obj && obj.deletedDateTime ? obj : undefined;
  }

  /** True while the object is still replicating (younger than replicationLagMs). */
  isLagging(obj: DirectoryObject): boolean {
    return this.clock() - obj.createdAtMs < this.config.replicationLagMs;
  }

  /** True once list/filter/delta indexes can see the object. */
  isIndexed(obj: DirectoryObject): boolean {
    return this.clock() - obj.createdAtMs >= this.config.indexLagMs;
  }

  liveOfKinds(kinds: readonly ObjectKind[]): DirectoryObject[] {
    const out: DirectoryObject[] = [];
    for (const obj of this.objects.values()) {
      if (!obj.deletedDateTime && kinds.includes(obj.kind)) out.push(obj);
    }
    return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  }

  update(obj: DirectoryObject, patch: Record<string, unknown>): void {
    for (const [k, v] of Object.entries(patch)) obj.data[k] = v;
    this.recordChange(obj);
  }

  softDelete(obj: DirectoryObject): void {
    obj.deletedDateTime = nowIso(this.clock());
    this.recordChange(obj);
  }

  restore(obj: DirectoryObject): void {
    obj.deletedDateTime = null;
    this.recordChange(obj);
  }

  hardDelete(obj: DirectoryObject): void {
    this.objects.delete(obj.id);
    this.sponsors.delete(obj.id);
    this.members.delete(obj.id);
    this.owners.delete(obj.id);
    this.managers.delete(obj.id);
    for (const list of this.sponsors.values()) {
      const i = list.indexOf(obj.id);
      if (i >= 0) list.splice(i, 1);
    }
    for (const set of [...this.members.values(), ...this.owners.values()]) set.delete(obj.id);
    for (const [uid, mid] of this.managers) if (mid === obj.id) this.managers.delete(uid);
    for (const [aid, a] of this.assignments) {
      if (a.principalId === obj.id || a.resourceId === obj.id) this.assignments.delete(aid);
    }
    if (SP_KINDS.includes(obj.kind)) {
      this.purged.add(obj.id);
      this.changes.push({ seq: ++this.seq, id: obj.id, atMs: this.clock() });
    }
  }

  /** Service principals feed servicePrincipals/delta. */
  private recordChange(obj: DirectoryObject, atMs: number = this.clock()): void {
    if (SP_KINDS.includes(obj.kind)) this.changes.push({ seq: ++this.seq, id: obj.id, atMs });
  }

  findUserByUpn(upn: string): DirectoryObject | undefined {
    const wanted = upn.toLowerCase();
    for (const obj of this.objects.values()) {
      if (!obj.deletedDateTime && USER_KINDS.includes(obj.kind) && String(obj.data['userPrincipalName']).toLowerCase() === wanted) {
        return obj;
      }
    }
    return undefined;
  }

  findByProperty(kinds: readonly ObjectKind[], prop: string, value: string, includeDeleted = false): DirectoryObject | undefined {
    const wanted = value.toLowerCase();
    for (const obj of this.objects.values()) {
      if (!includeDeleted && obj.deletedDateTime) continue;
      if (kinds.includes(obj.kind) && typeof obj.data[prop] === 'string' && (obj.data[prop] as string).toLowerCase() === wanted) {
        return obj;
      }
    }
    return undefined;
  }

  blueprintByAppId(appId: string): DirectoryObject | undefined {
    return this.findByProperty(['agentIdentityBlueprint'], 'appId', appId);
  }

  appByAppId(appId: string): DirectoryObject | undefined {
    return this.findByProperty(APP_KINDS, 'appId', appId);
  }

  // ---------------------------------------------------------------- rendering

  /**
   * The Graph representation. `withType` adds @odata.type for base types too (polymorphic
   * collections such as members or deletedItems); subtypes always carry it.
   * Properties returned only with $select (customSecurityAttributes) are included; the query layer strips them.
   */
  render(obj: DirectoryObject, withType = false): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    if (withType || SUBTYPES.has(obj.kind)) out['@odata.type'] = ODATA_TYPE[obj.kind];
    out['id'] = obj.id;
    out['deletedDateTime'] = obj.deletedDateTime;
    Object.assign(out, obj.data);
    if (obj.kind === 'agentIdentity') {
      // tags: "the union of this object's tags and the blueprint's tags"
      const bp = this.blueprintByAppId(String(obj.data['agentIdentityBlueprintId']));
      const own = (obj.data['tags'] as string[] | undefined) ?? [];
      const inherited = (bp?.data['tags'] as string[] | undefined) ?? [];
      out['tags'] = [...new Set([...own, ...inherited])];
    }
    return out;
  }

  // ---------------------------------------------------------------- seeds

  seedUser(u: SeedUser): DirectoryObject {
    const nick = u.mailNickname ?? u.userPrincipalName.split('@')[0] ?? u.displayName;
    const data: Record<string, unknown> = {
      accountEnabled: u.accountEnabled ?? true,
      businessPhones: [],
      displayName: u.displayName,
      givenName: u.givenName ?? null,
      jobTitle: u.jobTitle ?? null,
      mail: u.mail === undefined ? u.userPrincipalName : u.mail,
      mailNickname: nick,
      mobilePhone: null,
      officeLocation: null,
      preferredLanguage: null,
      surname: u.surname ?? null,
      userPrincipalName: u.userPrincipalName,
      employeeId: u.employeeId ?? null,
      employeeType: u.employeeType ?? null,
    };
    if (u.agentUser) data['identityParentId'] = u.identityParentId ?? null;
    return this.create(u.agentUser ? 'agentUser' : 'user', data, { seeded: true, id: u.id });
  }

  seedGroup(g: SeedGroup): DirectoryObject {
    const obj = this.create(
      'group',
      {
        displayName: g.displayName,
        description: g.description ?? null,
        mailNickname: g.mailNickname ?? g.displayName.replace(/\W+/g, '').toLowerCase(),
        groupTypes: g.groupTypes ?? [],
        securityEnabled: g.securityEnabled ?? true,
        mailEnabled: g.mailEnabled ?? (g.groupTypes ?? []).includes('Unified'),
        isAssignableToRole: g.isAssignableToRole ?? false,
        membershipRule: g.membershipRule ?? null,
        membershipRuleProcessingState: (g.groupTypes ?? []).includes('DynamicMembership') ? 'On' : null,
      },
      { seeded: true, id: g.id },
    );
    this.members.set(obj.id, new Set(g.members ?? []));
    return obj;
  }

  seedServicePrincipal(sp: SeedServicePrincipal): DirectoryObject {
    const appId = sp.appId ?? randomUUID();
    return this.create(
      'servicePrincipal',
      {
        accountEnabled: sp.accountEnabled ?? true,
        appDisplayName: sp.displayName,
        appId,
        appOwnerOrganizationId: this.tenantId,
        appRoleAssignmentRequired: false,
        appRoles: (sp.appRoles ?? []).map(normaliseAppRole),
        displayName: sp.displayName,
        servicePrincipalNames: [appId],
        servicePrincipalType: 'Application',
        tags: sp.tags ?? [],
      },
      { seeded: true, id: sp.id },
    );
  }

  seedBlueprint(b: SeedBlueprint): { blueprint: DirectoryObject; principal?: DirectoryObject } {
    const appId = b.appId ?? randomUUID();
    const blueprint = this.create('agentIdentityBlueprint', applicationData(appId, b.displayName, b.tags ?? []), { seeded: true });
    let principal: DirectoryObject | undefined;
    if (b.withPrincipal ?? true) {
      principal = this.create(
        'agentIdentityBlueprintPrincipal',
        {
          accountEnabled: true,
          appDisplayName: b.displayName,
          appId,
          appOwnerOrganizationId: this.tenantId,
          displayName: b.displayName,
          servicePrincipalNames: [appId],
          servicePrincipalType: 'Application',
          tags: [],
        },
        { seeded: true },
      );
    }
    return { blueprint, principal };
  }

  /** An existing agent identity (e.g. for paging, delta or reconciliation tests). No rules are checked. */
  seedAgentIdentity(a: SeedAgentIdentity): DirectoryObject {
    const obj = this.create(
      'agentIdentity',
      {
        displayName: a.displayName,
        accountEnabled: a.accountEnabled ?? true,
        agentIdentityBlueprintId: a.blueprintAppId.toLowerCase(),
        createdByAppId: a.createdByAppId ?? a.blueprintAppId.toLowerCase(),
        disabledByMicrosoftStatus: null,
        servicePrincipalType: 'ServiceIdentity',
        tags: a.tags ?? [],
      },
      { seeded: true, id: a.id },
    );
    this.sponsors.set(obj.id, a.sponsorIds.map((s) => s.toLowerCase()));
    return obj;
  }

  /** A plain (non-blueprint) application, e.g. to prove AgentIdentity_IncompatibleParentType. */
  seedApplication(displayName: string, appId: string = randomUUID()): DirectoryObject {
    return this.create('application', applicationData(appId, displayName, []), { seeded: true });
  }

  // ---------------------------------------------------------------- admin (out-of-band changes)

  private mustGet(id: string): DirectoryObject {
    const obj = this.live(id);
    if (!obj) throw new Error(`no live directory object ${id}`);
    return obj;
  }

  /** An Entra-side change (portal, access review, lifecycle workflow): appears in delta. */
  adminUpdate(id: string, patch: Record<string, unknown>): void {
    this.update(this.mustGet(id), patch);
  }

  adminDelete(id: string): void {
    this.softDelete(this.mustGet(id));
  }

  adminPurge(id: string): void {
    const obj = this.objects.get(id);
    if (!obj) throw new Error(`no directory object ${id}`);
    this.hardDelete(obj);
  }

  adminRemoveMember(groupId: string, memberId: string): void {
    if (!this.members.get(groupId)?.delete(memberId)) throw new Error(`${memberId} is not a member of ${groupId}`);
  }

  adminAddMember(groupId: string, memberId: string): void {
    const set = this.members.get(groupId) ?? new Set<string>();
    set.add(memberId);
    this.members.set(groupId, set);
  }

  adminRemoveAssignment(assignmentId: string): void {
    if (!this.assignments.delete(assignmentId)) throw new Error(`no app role assignment ${assignmentId}`);
  }

  // ---------------------------------------------------------------- views for tests

  agentIdentities(): Array<Record<string, unknown>> {
    return this.liveOfKinds(['agentIdentity']).map((o) => this.render(o));
  }

  sponsorIds(agentId: string): string[] {
    return [...(this.sponsors.get(agentId) ?? [])];
  }

  memberIds(groupId: string): string[] {
    return [...(this.members.get(groupId) ?? [])];
  }

  assignmentsFor(principalId: string): AppRoleAssignment[] {
    return [...this.assignments.values()].filter((a) => a.principalId === principalId);
  }

  deletedObjects(): DirectoryObject[] {
    return [...this.objects.values()].filter((o) => o.deletedDateTime);
  }
}

export function applicationData(appId: string, displayName: string, tags: string[]): Record<string, unknown> {
  return {
    appId,
    displayName,
    uniqueName: null,
    tags,
    appRoles: [],
    identifierUris: [],
    keyCredentials: [],
    passwordCredentials: [],
    publisherDomain: null,
    signInAudience: 'AzureADMyOrg',
    description: null,
    notes: null,
  };
}

export function normaliseAppRole(r: Partial<AppRole> & { value: string }): AppRole {
  return {
    id: r.id ?? randomUUID(),
    value: r.value,
    displayName: r.displayName ?? r.value,
    description: r.description ?? r.value,
    allowedMemberTypes: r.allowedMemberTypes ?? ['Application'],
    isEnabled: r.isEnabled ?? true,
  };
}

/** appRoleAssignment ids are opaque 43-character base64url strings in Graph. */
export function newAssignmentId(): string {
  return randomBytes(32).toString('base64url').slice(0, 43);
}
