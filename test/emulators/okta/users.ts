// Users: create, read (by id, login or login short name), partial and full update, list/search/filter.
//
// Sources: management.yaml (createUser answers 200; STAGED with activate=false; PROVISIONED without
// credentials or ACTIVE with a password or a FEDERATION/SOCIAL provider when activated; `search` is
// eventually consistent and includes DEPROVISIONED, `filter` supports only status, lastUpdated, id,
// profile.login/email/firstName/lastName with `eq` (lastUpdated also gt/ge/lt/le) and and/or, `q` is a
// startsWith on firstName/lastName/email that omits DEPROVISIONED, a plain list omits DEPROVISIONED;
// `limit` defaults to 200; the type may only change through PUT; `getUser` takes an id, a login or a
// login short name); recorded responses (terraform-provider-okta VCR fixtures: body shape, `mobilePhone`
// and `secondEmail` rendered as null, collection items carry only `_links.self`, `after` is the last id,
// Link header order `after`, `limit`, then the other parameters); okta-sdk-java#721 (updating a
// DEPROVISIONED user answers 404 E0000007 "Not found: Resource not found: {id} (User)").
import express from 'express';
import {
  OktaError,
  bodyObject,
  oktaId,
  boolParam,
  invalidSearch,
  isRecord,
  limitParam,
  notFound,
  param,
  queryOf,
  reply,
  route,
  validationError,
} from './http.js';
import { comparisons, evaluate, pageBySeq, parseExpression, setLinkHeaders, usesNot, type Expr } from './query.js';
import type { LogTarget } from './logs.js';
import type { OktaState, OpContext, UserRecord, UserStatus } from './state.js';
import type { UserTypes } from './user-types.js';

const FILTER_ATTRS = new Set(['status', 'lastUpdated', 'id', 'profile.login', 'profile.email', 'profile.firstName', 'profile.lastName']);
const SEARCH_CO_ATTRS = new Set(['profile.firstName', 'profile.lastName', 'profile.email', 'profile.login']);

export class Users {
  constructor(
    private readonly state: OktaState,
    private readonly types: UserTypes,
  ) {}

  /** Find by id, by login (case-insensitive), or by an unambiguous login short name. */
  find(idOrLogin: string): UserRecord | undefined {
    const byId = this.state.users.get(idOrLogin);
    if (byId) return byId;
    const needle = idOrLogin.toLowerCase();
    const byLogin = this.state.loginIndex.get(needle);
    if (byLogin) return this.state.users.get(byLogin);
    if (!needle.includes('@')) {
      const short = [...this.state.users.values()].filter((u) => String(u.profile['login']).toLowerCase().split('@')[0] === needle);
      if (short.length === 1) return short[0];
    }
    return undefined;
  }

  get(idOrLogin: string): UserRecord {
    const u = this.find(idOrLogin);
    if (!u) throw notFound(idOrLogin, 'User');
    return u;
  }

  /** Persist a change: bump lastUpdated and feed the (lagged) search index. */
  commit(u: UserRecord, touch = true): void {
    if (touch) u.lastUpdated = this.state.clock.iso();
    this.state.userIndex.record(u.id, u);
  }

  private assertLoginFree(login: unknown, selfId?: string): void {
    if (typeof login !== 'string') return;
    const holder = this.state.loginIndex.get(login.toLowerCase());
    if (holder !== undefined && holder !== selfId) {
      throw validationError('login', ['login: An object with this field already exists in the current organization']);
    }
  }

  private indexLogin(u: UserRecord, previousLogin?: unknown): void {
    if (typeof previousLogin === 'string') this.state.loginIndex.delete(previousLogin.toLowerCase());
    this.state.loginIndex.set(String(u.profile['login']).toLowerCase(), u.id);
  }

  create(body: Record<string, unknown>, opts: { activate: boolean; provider: boolean }, ctx: OpContext): UserRecord {
    const profile = isRecord(body['profile']) ? body['profile'] : {};
    const typeRef = body['type'];
    let typeId = this.state.defaultTypeId;
    if (typeRef !== undefined && typeRef !== null) {
      if (!isRecord(typeRef) || typeof typeRef['id'] !== 'string') throw validationError('type', ['type: Invalid user type']);
      typeId = this.types.get(typeRef['id']).id;
    }
    this.types.validateProfile(typeId, profile, 'newUser');
    this.assertLoginFree(profile['login']);

    const creds = isRecord(body['credentials']) ? body['credentials'] : {};
    const password = isRecord(creds['password']) ? creds['password'] : undefined;
    const hasPassword = !!password && (typeof password['value'] === 'string' || isRecord(password['hash']));
    const providerIn = isRecord(creds['provider']) ? creds['provider'] : undefined;
    const providerType = typeof providerIn?.['type'] === 'string' ? String(providerIn['type']) : 'OKTA';
    const federated = providerType === 'FEDERATION' || providerType === 'SOCIAL';
    if (federated && !opts.provider) {
      throw validationError('provider', ['provider: The provider query parameter must be true to create a user with a FEDERATION or SOCIAL provider']);
    }

    const groupIds = Array.isArray(body['groupIds']) ? body['groupIds'] : [];
    if (groupIds.length > 20) {
      throw new OktaError(400, 'E0000093', 'Target count limit exceeded', [{ errorSummary: 'The number of group targets is too large' }]);
    }
    const groups = groupIds.map((gid) => {
      const g = typeof gid === 'string' ? this.state.groups.get(gid) : undefined;
      if (!g) throw notFound(String(gid), 'UserGroup');
      return g;
    });

    const now = this.state.clock.iso();
    const status: UserStatus = !opts.activate ? 'STAGED' : hasPassword || federated ? 'ACTIVE' : 'PROVISIONED';
    const u: UserRecord = {
      id: oktaId('00u'),
      seq: this.state.nextSeq(),
      status,
      transitioningToStatus: null,
      created: now,
      activated: opts.activate ? now : null,
      statusChanged: opts.activate ? now : null,
      lastLogin: null,
      lastUpdated: now,
      passwordChanged: hasPassword ? now : null,
      typeId,
      profile: structuredClone(profile),
      credentials: { hasPassword, provider: { type: providerType, name: providerType === 'OKTA' ? 'OKTA' : providerType } },
    };
    this.state.users.set(u.id, u);
    this.state.userSeqById.set(u.id, u.seq);
    this.indexLogin(u);
    this.commit(u, false);
    this.state.log.emit({ eventType: 'user.lifecycle.create', target: [this.target(u)], ...ctx });
    if (opts.activate) this.state.log.emit({ eventType: 'user.lifecycle.activate', target: [this.target(u)], ...ctx });
    for (const g of groups) {
      g.members.set(u.id, this.state.nextSeq());
      this.state.log.emit({
        eventType: 'group.user_membership.add',
        target: [this.target(u), { id: g.id, type: 'UserGroup', alternateId: 'unknown', displayName: g.profile.name, detailEntry: null }],
        ...ctx,
      });
    }
    return u;
  }

  /** POST (partial, profile merge) or PUT (full replacement) of /api/v1/users/{id}. */
  update(idOrLogin: string, body: Record<string, unknown>, replace: boolean, ctx: OpContext): UserRecord {
    const u = this.get(idOrLogin);
    // A DEPROVISIONED user's profile is not updatable (unless an org setting allows it): Okta answers 404.
    if (u.status === 'DEPROVISIONED') throw notFound(u.id, 'User');
    let typeId = u.typeId;
    const typeRef = body['type'];
    if (isRecord(typeRef) && typeof typeRef['id'] === 'string' && typeRef['id'] !== u.typeId) {
      if (!replace) {
        throw validationError('type', ['type: The user type can only be changed with a full replacement (PUT) operation']);
      }
      typeId = this.types.get(typeRef['id']).id;
    }
    const incoming = body['profile'];
    if (incoming !== undefined && !isRecord(incoming)) throw validationError('profile', ['profile: Invalid profile']);
    let next: Record<string, unknown>;
    if (replace) {
      next = structuredClone(incoming ?? {});
    } else {
      next = { ...u.profile, ...(incoming ?? {}) };
    }
    // Partial updates report unknown properties like creates do; the errorSummary suffix is [unverified].
    this.types.validateProfile(typeId, next, 'user', u.id);
    this.assertLoginFree(next['login'], u.id);
    const creds = isRecord(body['credentials']) ? body['credentials'] : undefined;
    if (creds && isRecord(creds['password']) && typeof creds['password']['value'] === 'string') {
      u.credentials.hasPassword = true;
      u.passwordChanged = this.state.clock.iso();
    }
    const changed = JSON.stringify(next) !== JSON.stringify(u.profile) || typeId !== u.typeId;
    const previousLogin = u.profile['login'];
    u.profile = next;
    this.indexLogin(u, previousLogin);
    u.typeId = typeId;
    this.commit(u);
    if (changed) this.state.log.emit({ eventType: 'user.account.update_profile', target: [this.target(u)], ...ctx });
    return u;
  }

  target(u: UserRecord): LogTarget {
    const first = typeof u.profile['firstName'] === 'string' ? u.profile['firstName'] : '';
    const last = typeof u.profile['lastName'] === 'string' ? u.profile['lastName'] : '';
    return {
      id: u.id,
      type: 'User',
      alternateId: String(u.profile['login'] ?? 'unknown'),
      displayName: `${first} ${last}`.trim(),
      detailEntry: null,
    };
  }

  render(u: UserRecord, single: boolean): Record<string, unknown> {
    const org = this.state.orgUrl();
    const self = `${org}/api/v1/users/${u.id}`;
    const links: Record<string, unknown> = { self: { href: self } };
    if (single) {
      const action = (name: string, path: string) => {
        links[name] = { href: `${self}/${path}`, method: 'POST' };
      };
      const schemaId = this.state.types.get(u.typeId)?.schemaId ?? 'default';
      links['schema'] = { href: `${org}/api/v1/meta/schemas/user/${schemaId}` };
      links['type'] = { href: `${org}/api/v1/meta/types/user/${u.typeId}` };
      switch (u.status) {
        case 'STAGED':
          action('activate', 'lifecycle/activate');
          action('deactivate', 'lifecycle/deactivate');
          break;
        case 'PROVISIONED':
          action('reactivate', 'lifecycle/reactivate');
          action('resetPassword', 'lifecycle/reset_password');
          action('deactivate', 'lifecycle/deactivate');
          break;
        case 'ACTIVE':
          action('suspend', 'lifecycle/suspend');
          action('resetPassword', 'lifecycle/reset_password');
          action('expirePassword', 'lifecycle/expire_password');
          action('deactivate', 'lifecycle/deactivate');
          break;
        case 'SUSPENDED':
          action('unsuspend', 'lifecycle/unsuspend');
          action('deactivate', 'lifecycle/deactivate');
          break;
        case 'LOCKED_OUT':
          action('unlock', 'lifecycle/unlock');
          action('deactivate', 'lifecycle/deactivate');
          break;
        case 'DEPROVISIONED':
          action('activate', 'lifecycle/activate');
          links['delete'] = { href: self, method: 'DELETE' };
          break;
        default:
          action('deactivate', 'lifecycle/deactivate');
      }
    }
    const profile: Record<string, unknown> = { ...u.profile };
    // Okta renders these base attributes as null when unset (recorded responses).
    if (!('mobilePhone' in profile)) profile['mobilePhone'] = null;
    if (!('secondEmail' in profile)) profile['secondEmail'] = null;
    const out: Record<string, unknown> = {
      id: u.id,
      status: u.status,
      created: u.created,
      activated: u.activated,
      statusChanged: u.statusChanged,
      lastLogin: u.lastLogin,
      lastUpdated: u.lastUpdated,
      passwordChanged: u.passwordChanged,
      type: { id: u.typeId },
      profile,
      credentials: {
        ...(u.credentials.hasPassword ? { password: {} } : {}),
        provider: { ...u.credentials.provider },
      },
      _links: links,
    };
    if (u.transitioningToStatus) out['transitioningToStatus'] = u.transitioningToStatus;
    return out;
  }

  /** The fields a filter/search expression can address. */
  static searchable(u: UserRecord): Record<string, unknown> {
    return {
      id: u.id,
      status: u.status,
      created: u.created,
      activated: u.activated,
      statusChanged: u.statusChanged,
      lastUpdated: u.lastUpdated,
      type: { id: u.typeId },
      profile: u.profile,
    };
  }
}

function parseUserFilter(src: string): Expr {
  const e = parseExpression(src);
  if (usesNot(e)) throw invalidSearch();
  for (const { attr, op } of comparisons(e)) {
    if (!FILTER_ATTRS.has(attr)) throw invalidSearch();
    if (op !== 'eq' && !(attr === 'lastUpdated' && ['gt', 'ge', 'lt', 'le'].includes(op))) throw invalidSearch();
  }
  return e;
}

function parseUserSearch(src: string): Expr {
  const e = parseExpression(src);
  for (const { attr, op } of comparisons(e)) {
    if (op === 'ne') throw invalidSearch(); // "The ne (not equal) operator isn't supported"
    if (op === 'co' && !SEARCH_CO_ATTRS.has(attr)) throw invalidSearch();
  }
  return e;
}

function sortUsers(list: UserRecord[], sortBy: string | undefined, sortOrder: string | undefined): UserRecord[] {
  if (!sortBy) return list;
  const dir = (sortOrder ?? 'asc').toLowerCase().startsWith('desc') ? -1 : 1;
  const key = (u: UserRecord): string => {
    const parts = sortBy.split('.');
    let cur: unknown = Users.searchable(u);
    for (const p of parts) cur = isRecord(cur) ? cur[p] : undefined;
    return cur === undefined || cur === null ? '' : String(cur).toLowerCase();
  };
  return [...list].sort((a, b) => (key(a) < key(b) ? -dir : key(a) > key(b) ? dir : a.id < b.id ? -1 : 1));
}

export function userRoutes(ctx: {
  state: OktaState;
  users: Users;
  opContext: (req: express.Request, res: express.Response) => OpContext;
  scopes: { read: express.RequestHandler; manage: express.RequestHandler };
}) {
  const { state, users } = ctx;
  const r = express.Router();

  r.get('/api/v1/users', ctx.scopes.read, route((req, res) => {
    const q = queryOf(req);
    const selfUrl = `${state.orgUrl()}${req.originalUrl}`;
    if (q['q'] !== undefined) {
      // People-picker query: startsWith, no pagination, omits DEPROVISIONED, default limit 10.
      const needle = q['q'].toLowerCase();
      const limit = limitParam(q['limit'], 10, 200);
      const hits = [...state.users.values()]
        .filter((u) => u.status !== 'DEPROVISIONED')
        .filter((u) =>
          ['firstName', 'lastName', 'email'].some((k) => String(u.profile[k] ?? '').toLowerCase().startsWith(needle)),
        )
        .slice(0, limit);
      setLinkHeaders(res, selfUrl, null);
      reply(res, 200, hits.map((u) => users.render(u, false)));
      return;
    }
    const limit = limitParam(q['limit'], 200, 200);
    let list: UserRecord[];
    if (q['search'] !== undefined) {
      const e = parseUserSearch(q['search']);
      list = state.userIndex.visible().filter((u) => evaluate(e, Users.searchable(u), true));
      list = sortUsers(list, q['sortBy'], q['sortOrder']);
    } else if (q['filter'] !== undefined) {
      const e = parseUserFilter(q['filter']);
      list = [...state.users.values()].filter((u) => evaluate(e, Users.searchable(u), false));
    } else {
      list = [...state.users.values()].filter((u) => u.status !== 'DEPROVISIONED');
    }
    let afterSeq: number | undefined;
    if (q['after']) afterSeq = state.userSeqById.get(q['after']) ?? Number.MAX_SAFE_INTEGER;
    let page: UserRecord[];
    let more: boolean;
    if (q['sortBy'] && q['search'] !== undefined) {
      const idx = q['after'] ? list.findIndex((u) => u.id === q['after']) + 1 : 0;
      page = list.slice(idx, idx + limit);
      more = list.length > idx + limit;
    } else {
      ({ page, more } = pageBySeq(list, afterSeq, limit));
    }
    const last = page[page.length - 1];
    setLinkHeaders(res, selfUrl, more && last ? { after: last.id, limit } : null);
    reply(res, 200, page.map((u) => users.render(u, false)));
  }));

  r.post('/api/v1/users', ctx.scopes.manage, route((req, res) => {
    const q = queryOf(req);
    const u = users.create(
      bodyObject(req),
      { activate: boolParam(q['activate'], true), provider: boolParam(q['provider'], false) },
      ctx.opContext(req, res),
    );
    reply(res, 200, users.render(u, true));
  }));

  r.get('/api/v1/users/:userId', ctx.scopes.read, route((req, res) => {
    reply(res, 200, users.render(users.get(param(req, 'userId')), true));
  }));

  r.post('/api/v1/users/:userId', ctx.scopes.manage, route((req, res) => {
    const u = users.update(param(req, 'userId'), bodyObject(req), false, ctx.opContext(req, res));
    reply(res, 200, users.render(u, true));
  }));

  r.put('/api/v1/users/:userId', ctx.scopes.manage, route((req, res) => {
    const u = users.update(param(req, 'userId'), bodyObject(req), true, ctx.opContext(req, res));
    reply(res, 200, users.render(u, true));
  }));

  return r;
}
