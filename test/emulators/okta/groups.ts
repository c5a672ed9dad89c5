// Groups and memberships: /api/v1/groups, /api/v1/groups/{gid}/users[/{uid}], /api/v1/users/{id}/groups.
//
// Sources: management.yaml (addGroup creates OKTA_GROUP and answers 200; group body with objectClass
// ["okta:user_group"], `lastMembershipUpdated`, `_links.logo/users/apps`; only OKTA_GROUP memberships can
// be modified; `search` is eventually consistent, `filter` supports id, type, lastUpdated,
// lastMembershipUpdated; `q` matches the name prefix and can't be paged; member listing default limit
// 1000, recommended 200); recorded responses (terraform-provider-okta fixtures: PUT/DELETE membership
// → 204 with an empty body, member lists carry `_links.self` only and a Link header); the terraform
// provider's note that "Okta API enforces unique names on all groups"; every org has the built-in
// "Everyone" group, of which every user is a member.
import express from 'express';
import {
  bodyObject,
  invalidSearch,
  isRecord,
  limitParam,
  notFound,
  oktaId,
  param,
  queryOf,
  reply,
  route,
  validationError,
} from './http.js';
import { comparisons, evaluate, pageBySeq, parseExpression, setLinkHeaders, usesNot } from './query.js';
import type { LogTarget } from './logs.js';
import type { GroupRecord, OktaState, OpContext, UserRecord } from './state.js';
import type { Users } from './users.js';

const GROUP_FILTER_ATTRS = new Set(['id', 'type', 'lastUpdated', 'lastMembershipUpdated']);

export class Groups {
  constructor(
    private readonly state: OktaState,
    private readonly users: Users,
  ) {}

  get(groupId: string): GroupRecord {
    const g = this.state.groups.get(groupId);
    if (!g) throw notFound(groupId, 'UserGroup');
    return g;
  }

  private commit(g: GroupRecord): void {
    g.lastUpdated = this.state.clock.iso();
    this.state.groupIndex.record(g.id, g);
  }

  create(body: Record<string, unknown>, ctx: OpContext): GroupRecord {
    const profile = isRecord(body['profile']) ? body['profile'] : {};
    const name = profile['name'];
    if (typeof name !== 'string' || name.trim() === '') throw validationError('name', ['name: The field cannot be left blank']);
    this.assertNameFree(name);
    const now = this.state.clock.iso();
    const g: GroupRecord = {
      id: oktaId('00g'),
      seq: this.state.nextSeq(),
      created: now,
      lastUpdated: now,
      lastMembershipUpdated: now,
      type: 'OKTA_GROUP',
      profile: { ...profile, name, description: typeof profile['description'] === 'string' ? profile['description'] : null },
      members: new Map(),
    };
    this.state.groups.set(g.id, g);
    this.state.groupSeqById.set(g.id, g.seq);
    this.commit(g);
    this.state.log.emit({ eventType: 'group.lifecycle.create', target: [this.target(g)], ...ctx });
    return g;
  }

  replace(groupId: string, body: Record<string, unknown>, ctx: OpContext): GroupRecord {
    const g = this.get(groupId);
    if (g.type !== 'OKTA_GROUP') throw validationError('group', ['Only groups of the OKTA_GROUP type can be modified']);
    const profile = isRecord(body['profile']) ? body['profile'] : {};
    const name = profile['name'];
    if (typeof name !== 'string' || name.trim() === '') throw validationError('name', ['name: The field cannot be left blank']);
    this.assertNameFree(name, g.id);
    g.profile = { ...profile, name, description: typeof profile['description'] === 'string' ? profile['description'] : null };
    this.commit(g);
    this.state.log.emit({ eventType: 'group.profile.update', target: [this.target(g)], ...ctx });
    return g;
  }

  delete(groupId: string, ctx: OpContext): void {
    const g = this.get(groupId);
    if (g.type !== 'OKTA_GROUP') throw validationError('group', ['Only groups of the OKTA_GROUP type can be deleted']);
    this.state.groups.delete(g.id);
    this.state.groupIndex.record(g.id, null);
    this.state.log.emit({ eventType: 'group.lifecycle.delete', target: [this.target(g)], ...ctx });
  }

  private assertNameFree(name: string, selfId?: string): void {
    // [unverified wording] Okta enforces unique group names; the cause follows the duplicate-login pattern.
    for (const g of this.state.groups.values()) {
      if (g.id !== selfId && g.profile.name.toLowerCase() === name.toLowerCase()) {
        throw validationError('name', ['name: An object with this field already exists in the current organization']);
      }
    }
  }

  /** Members in membership order; the built-in Everyone group contains every user. */
  members(g: GroupRecord): Array<{ user: UserRecord; seq: number }> {
    if (g.type === 'BUILT_IN') return [...this.state.users.values()].map((u) => ({ user: u, seq: u.seq }));
    const out: Array<{ user: UserRecord; seq: number }> = [];
    for (const [uid, seq] of g.members) {
      const u = this.state.users.get(uid);
      if (u) out.push({ user: u, seq });
    }
    return out;
  }

  groupsOf(userIdOrLogin: string): GroupRecord[] {
    const u = this.users.get(userIdOrLogin);
    return [...this.state.groups.values()].filter((g) => g.type === 'BUILT_IN' || g.members.has(u.id));
  }

  addMember(groupId: string, userIdOrLogin: string, ctx: OpContext): void {
    const g = this.get(groupId);
    const u = this.users.get(userIdOrLogin);
    if (g.type !== 'OKTA_GROUP') {
      throw validationError('group', ['You only can modify memberships for groups of the OKTA_GROUP type']);
    }
    if (g.members.has(u.id)) return;
    g.members.set(u.id, this.state.nextSeq());
    g.lastMembershipUpdated = this.state.clock.iso();
    this.commit(g);
    this.state.log.emit({ eventType: 'group.user_membership.add', target: [this.users.target(u), this.target(g)], ...ctx });
  }

  removeMember(groupId: string, userIdOrLogin: string, ctx: OpContext): void {
    const g = this.get(groupId);
    const u = this.users.get(userIdOrLogin);
    if (g.type !== 'OKTA_GROUP') {
      throw validationError('group', ['You only can modify memberships for groups of the OKTA_GROUP type']);
    }
    if (!g.members.delete(u.id)) return;
    g.lastMembershipUpdated = this.state.clock.iso();
    this.commit(g);
    this.state.log.emit({ eventType: 'group.user_membership.remove', target: [this.users.target(u), this.target(g)], ...ctx });
  }

  target(g: GroupRecord): LogTarget {
    return { id: g.id, type: 'UserGroup', alternateId: 'unknown', displayName: g.profile.name, detailEntry: null };
  }

  render(g: GroupRecord): Record<string, unknown> {
    const org = this.state.orgUrl();
    return {
      id: g.id,
      created: g.created,
      lastUpdated: g.lastUpdated,
      lastMembershipUpdated: g.lastMembershipUpdated,
      objectClass: ['okta:user_group'],
      type: g.type,
      profile: g.profile,
      _links: {
        logo: [
          { name: 'medium', href: `${org}/img/logos/groups/okta-medium.png`, type: 'image/png' },
          { name: 'large', href: `${org}/img/logos/groups/okta-large.png`, type: 'image/png' },
        ],
        users: { href: `${org}/api/v1/groups/${g.id}/users` },
        apps: { href: `${org}/api/v1/groups/${g.id}/apps` },
      },
    };
  }

  static searchable(g: GroupRecord): Record<string, unknown> {
    return {
      id: g.id,
      created: g.created,
      lastUpdated: g.lastUpdated,
      lastMembershipUpdated: g.lastMembershipUpdated,
      type: g.type,
      profile: g.profile,
    };
  }
}

export function groupRoutes(ctx: {
  state: OktaState;
  groups: Groups;
  users: Users;
  opContext: (req: express.Request, res: express.Response) => OpContext;
  groupScopes: { read: express.RequestHandler; manage: express.RequestHandler };
  userScopes: { read: express.RequestHandler };
}) {
  const { state, groups, users } = ctx;
  const r = express.Router();

  r.get('/api/v1/groups', ctx.groupScopes.read, route((req, res) => {
    const q = queryOf(req);
    const selfUrl = `${state.orgUrl()}${req.originalUrl}`;
    if (q['q'] !== undefined) {
      const needle = q['q'].toLowerCase();
      const limit = limitParam(q['limit'], 300, 10000);
      const hits = [...state.groups.values()].filter((g) => g.profile.name.toLowerCase().startsWith(needle)).slice(0, limit);
      setLinkHeaders(res, selfUrl, null);
      reply(res, 200, hits.map((g) => groups.render(g)));
      return;
    }
    const limit = limitParam(q['limit'], 10000, 10000);
    let list: GroupRecord[];
    if (q['search'] !== undefined) {
      const e = parseExpression(q['search']);
      for (const { attr, op } of comparisons(e)) {
        if (op === 'co' && attr !== 'profile.name' && attr !== 'profile.description') throw invalidSearch();
      }
      list = state.groupIndex.visible().filter((g) => evaluate(e, Groups.searchable(g), true));
    } else if (q['filter'] !== undefined) {
      const e = parseExpression(q['filter']);
      if (usesNot(e)) throw invalidSearch();
      for (const { attr } of comparisons(e)) if (!GROUP_FILTER_ATTRS.has(attr)) throw invalidSearch();
      list = [...state.groups.values()].filter((g) => evaluate(e, Groups.searchable(g), false));
    } else {
      list = [...state.groups.values()];
    }
    const afterSeq = q['after'] ? (state.groupSeqById.get(q['after']) ?? Number.MAX_SAFE_INTEGER) : undefined;
    const { page, more } = pageBySeq(list, afterSeq, limit);
    const last = page[page.length - 1];
    setLinkHeaders(res, selfUrl, more && last ? { after: last.id, limit } : null);
    reply(res, 200, page.map((g) => groups.render(g)));
  }));

  r.post('/api/v1/groups', ctx.groupScopes.manage, route((req, res) => {
    reply(res, 200, groups.render(groups.create(bodyObject(req), ctx.opContext(req, res))));
  }));
  r.get('/api/v1/groups/:groupId', ctx.groupScopes.read, route((req, res) => {
    reply(res, 200, groups.render(groups.get(param(req, 'groupId'))));
  }));
  r.put('/api/v1/groups/:groupId', ctx.groupScopes.manage, route((req, res) => {
    reply(res, 200, groups.render(groups.replace(param(req, 'groupId'), bodyObject(req), ctx.opContext(req, res))));
  }));
  r.delete('/api/v1/groups/:groupId', ctx.groupScopes.manage, route((req, res) => {
    groups.delete(param(req, 'groupId'), ctx.opContext(req, res));
    reply(res, 204);
  }));

  r.get('/api/v1/groups/:groupId/users', ctx.groupScopes.read, route((req, res) => {
    const q = queryOf(req);
    const g = groups.get(param(req, 'groupId'));
    const limit = limitParam(q['limit'], 1000, 10000);
    const members = groups.members(g).map((m) => ({ ...m, seq: m.seq }));
    let afterSeq: number | undefined;
    if (q['after']) {
      const hit = members.find((m) => m.user.id === q['after']);
      afterSeq = hit ? hit.seq : g.members.get(q['after']) ?? Number.MAX_SAFE_INTEGER;
    }
    const { page, more } = pageBySeq(members, afterSeq, limit);
    const last = page[page.length - 1];
    setLinkHeaders(res, `${state.orgUrl()}${req.originalUrl}`, more && last ? { after: last.user.id, limit } : null);
    reply(res, 200, page.map((m) => users.render(m.user, false)));
  }));
  r.put('/api/v1/groups/:groupId/users/:userId', ctx.groupScopes.manage, route((req, res) => {
    groups.addMember(param(req, 'groupId'), param(req, 'userId'), ctx.opContext(req, res));
    reply(res, 204);
  }));
  r.delete('/api/v1/groups/:groupId/users/:userId', ctx.groupScopes.manage, route((req, res) => {
    groups.removeMember(param(req, 'groupId'), param(req, 'userId'), ctx.opContext(req, res));
    reply(res, 204);
  }));

  r.get('/api/v1/users/:userId/groups', ctx.userScopes.read, route((req, res) => {
    reply(res, 200, groups.groupsOf(param(req, 'userId')).map((g) => groups.render(g)));
  }));
  return r;
}
