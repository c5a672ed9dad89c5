// User types (/api/v1/meta/types/user) and user profile schemas (/api/v1/meta/schemas/user/{schemaId}),
// plus profile validation against a type's schema.
//
// Sources: management.yaml (UserType: `name` matches ^[A-Za-z][A-Za-z0-9_]*$, read-only after creation,
// "You may add up to nine additional user types", can't delete the default type or a type assigned to
// users; schema GET example; "Unique Attributes": `unique: true` → "UNIQUE_VALIDATED", at most five
// unique properties per type, one namespace across types, null values don't count); recorded Okta
// responses (terraform-provider-okta VCR fixtures: `oty…` and `osc…` ids share their suffix, `_links`
// with rel/href/method, the schema `id` is `{org}/meta/schemas/user/{schemaId}`); okta.md §1.3.
// Unknown profile properties: 400 E0000001 "Api validation failed: newUser" with the cause
// "Property name 'x' is not defined in profile" (recorded in the same fixtures and in pulumi-okta#388).
import express from 'express';
import {
  bodyObject,
  isRecord,
  notFound,
  param,
  randomAlnum,
  reply,
  route,
  validationError,
} from './http.js';
import type { OktaState, SchemaProperty, UserTypeRecord } from './state.js';

/** Base profile attributes of every Okta user type (Universal Directory base schema). */
export const BASE_PROPERTIES: Record<string, SchemaProperty> = {
  login: { title: 'Username', type: 'string', required: true, minLength: 5, maxLength: 100 },
  firstName: { title: 'First name', type: 'string', required: true, minLength: 1, maxLength: 50 },
  lastName: { title: 'Last name', type: 'string', required: true, minLength: 1, maxLength: 50 },
  middleName: { title: 'Middle name', type: 'string' },
  honorificPrefix: { title: 'Honorific prefix', type: 'string' },
  honorificSuffix: { title: 'Honorific suffix', type: 'string' },
  email: { title: 'Primary email', type: 'string', required: true, format: 'email' },
  title: { title: 'Title', type: 'string' },
  displayName: { title: 'Display name', type: 'string' },
  nickName: { title: 'Nickname', type: 'string' },
  profileUrl: { title: 'Profile Url', type: 'string' },
  secondEmail: { title: 'Secondary email', type: 'string', format: 'email' },
  mobilePhone: { title: 'Mobile phone', type: 'string', maxLength: 100 },
  primaryPhone: { title: 'Primary phone', type: 'string', maxLength: 100 },
  streetAddress: { title: 'Street address', type: 'string' },
  city: { title: 'City', type: 'string' },
  state: { title: 'State', type: 'string' },
  zipCode: { title: 'Zip code', type: 'string' },
  countryCode: { title: 'Country code', type: 'string' },
  postalAddress: { title: 'Postal Address', type: 'string' },
  preferredLanguage: { title: 'Preferred language', type: 'string' },
  locale: { title: 'Locale', type: 'string' },
  timezone: { title: 'Time zone', type: 'string' },
  userType: { title: 'User type', type: 'string' },
  employeeNumber: { title: 'Employee number', type: 'string' },
  costCenter: { title: 'Cost center', type: 'string' },
  organization: { title: 'Organization', type: 'string' },
  division: { title: 'Division', type: 'string' },
  department: { title: 'Department', type: 'string' },
  managerId: { title: 'ManagerId', type: 'string' },
  manager: { title: 'Manager', type: 'string' },
};

const BASE_REQUIRED = ['login', 'firstName', 'lastName', 'email'];
const TYPE_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;
const PROPERTY_TYPES = new Set(['string', 'boolean', 'number', 'integer', 'array']);
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const MAX_CUSTOM_TYPES = 9;
const MAX_UNIQUE_PER_TYPE = 5;

export class UserTypes {
  constructor(private readonly state: OktaState) {}

  list(): UserTypeRecord[] {
    return [...this.state.types.values()];
  }

  get(typeId: string): UserTypeRecord {
    if (typeId === 'default') return this.defaultType();
    const t = this.state.types.get(typeId);
    if (!t) throw notFound(typeId, 'UserType');
    return t;
  }

  defaultType(): UserTypeRecord {
    const t = this.state.types.get(this.state.defaultTypeId);
    if (!t) throw new Error('default type missing');
    return t;
  }

  bySchemaId(schemaId: string): UserTypeRecord {
    if (schemaId === 'default') return this.defaultType();
    for (const t of this.state.types.values()) if (t.schemaId === schemaId) return t;
    throw notFound(schemaId, 'UserSchema');
  }

  create(body: Record<string, unknown>, actorId: string): UserTypeRecord {
    const name = body['name'];
    const displayName = body['displayName'];
    const causes: string[] = [];
    if (typeof name !== 'string' || name === '') causes.push('name: The field cannot be left blank');
    else if (!TYPE_NAME.test(name))
      causes.push('name: The name must start with A-Z or a-z and contain only A-Z, a-z, 0-9, or underscore (_) characters');
    if (typeof displayName !== 'string' || displayName === '') causes.push('displayName: The field cannot be left blank');
    if (causes.length) throw validationError(causes[0]?.split(':')[0] ?? 'UserType', causes);
    if ([...this.state.types.values()].some((t) => t.name.toLowerCase() === String(name).toLowerCase())) {
      // [unverified wording] The duplicate-name error is not documented; it follows the documented
      // pattern of the duplicate-login error.
      throw validationError('name', ['name: An object with this field already exists in the current organization']);
    }
    if ([...this.state.types.values()].filter((t) => !t.isDefault).length >= MAX_CUSTOM_TYPES) {
      throw validationError('UserType', ['You may add up to nine additional user types']);
    }
    const suffix = randomAlnum(17);
    const now = this.state.clock.iso();
    const t: UserTypeRecord = {
      id: `oty${suffix}`,
      schemaId: `osc${suffix}`,
      name: String(name),
      displayName: String(displayName),
      description: typeof body['description'] === 'string' ? body['description'] : null,
      isDefault: false,
      created: now,
      lastUpdated: now,
      createdBy: actorId,
      lastUpdatedBy: actorId,
      // "New user types are based on the current default schema template."
      custom: structuredClone(this.defaultType().custom),
      schemaCreated: now,
      schemaLastUpdated: now,
    };
    this.state.types.set(t.id, t);
    return t;
  }

  update(typeId: string, body: Record<string, unknown>, actorId: string, replace: boolean): UserTypeRecord {
    const t = this.get(typeId);
    if (body['name'] !== undefined && body['name'] !== t.name) {
      throw validationError('name', ['name: The name of an existing user type can not be changed']);
    }
    if (replace && (typeof body['displayName'] !== 'string' || body['name'] === undefined)) {
      throw validationError('UserType', ['displayName: The field cannot be left blank']);
    }
    if (typeof body['displayName'] === 'string') t.displayName = body['displayName'];
    if (typeof body['description'] === 'string' || (replace && body['description'] === undefined)) {
      t.description = typeof body['description'] === 'string' ? body['description'] : null;
    }
    t.lastUpdated = this.state.clock.iso();
    t.lastUpdatedBy = actorId;
    return t;
  }

  delete(typeId: string): void {
    const t = this.get(typeId);
    if (t.isDefault) throw validationError('UserType', ['The default user type can not be deleted']);
    if ([...this.state.users.values()].some((u) => u.typeId === t.id)) {
      throw validationError('UserType', ['A user type that is assigned to users can not be deleted']);
    }
    this.state.types.delete(t.id);
  }

  /** POST /api/v1/meta/schemas/user/{schemaId}: partial update of custom properties (null removes). */
  updateSchema(schemaId: string, body: Record<string, unknown>): UserTypeRecord {
    const t = this.bySchemaId(schemaId);
    const defs = body['definitions'];
    const customDefs = isRecord(defs) ? defs['custom'] : undefined;
    const props = isRecord(customDefs) ? customDefs['properties'] : undefined;
    if (props !== undefined && !isRecord(props)) throw validationError('definitions', ['custom.properties must be an object']);
    const next = structuredClone(t.custom);
    for (const [name, def] of Object.entries(props ?? {})) {
      if (def === null) {
        delete next[name];
        continue;
      }
      if (name in BASE_PROPERTIES) {
        throw validationError('definitions', [`${name}: A custom property can not have the name of a base property`]);
      }
      if (!isRecord(def)) throw validationError('definitions', [`${name}: Invalid property definition`]);
      const merged: SchemaProperty = { ...(next[name] ?? {}), ...(def as Partial<SchemaProperty>) } as SchemaProperty;
      if (typeof merged.type !== 'string' || !PROPERTY_TYPES.has(merged.type)) {
        throw validationError('definitions', [`${name}: type must be one of string, boolean, number, integer, array`]);
      }
      if (typeof merged.title !== 'string' || merged.title === '') {
        throw validationError('definitions', [`${name}: title: The field cannot be left blank`]);
      }
      if (merged.enum !== undefined) {
        const itemType = merged.type === 'array' ? (merged.items?.type ?? 'string') : merged.type;
        if (!Array.isArray(merged.enum) || !merged.enum.every((v) => matchesType(v, { type: itemType }))) {
          // [unverified wording] JSON Schema enum values must be valid values of the property.
          throw validationError('definitions', [`${name}: The enum values must match the type of the property`]);
        }
      }
      const uniqueRequested = (def as Record<string, unknown>)['unique'];
      if (uniqueRequested === true || uniqueRequested === 'UNIQUE_VALIDATED') {
        merged.unique = this.hasDuplicateValues(t, name) ? undefined : 'UNIQUE_VALIDATED';
        if (merged.unique === undefined) delete merged.unique;
      } else if (uniqueRequested === false || uniqueRequested === 'NOT_UNIQUE') {
        delete merged.unique;
      }
      merged.mutability ??= 'READ_WRITE';
      merged.scope ??= 'NONE';
      merged.permissions ??= [{ principal: 'SELF', action: 'READ_WRITE' }];
      next[name] = merged;
    }
    if (Object.values(next).filter((p) => p.unique === 'UNIQUE_VALIDATED').length > MAX_UNIQUE_PER_TYPE) {
      throw validationError('definitions', ['You can declare a maximum of five unique properties for each user type']);
    }
    t.custom = next;
    t.schemaLastUpdated = this.state.clock.iso();
    return t;
  }

  private hasDuplicateValues(t: UserTypeRecord, name: string): boolean {
    const seen = new Set<string>();
    for (const u of this.state.users.values()) {
      if (u.typeId !== t.id) continue;
      const v = u.profile[name];
      if (v === undefined || v === null) continue;
      const key = JSON.stringify(v);
      if (seen.has(key)) return true;
      seen.add(key);
    }
    return false;
  }

  // ---- validation of user profiles ----

  /**
   * Validate a complete profile (after merging a partial update) against the user's type.
   * `what` is the errorSummary suffix ("newUser" on create).
   */
  validateProfile(typeId: string, profile: Record<string, unknown>, what: string, selfId?: string): void {
    const t = this.get(typeId);
    for (const key of Object.keys(profile)) {
      if (!(key in BASE_PROPERTIES) && !(key in t.custom)) {
        throw validationError(what, [`Property name '${key}' is not defined in profile`]);
      }
    }
    const causes: Array<[string, string]> = [];
    const blank = (v: unknown) => v === undefined || v === null || v === '';
    for (const key of BASE_REQUIRED) {
      if (blank(profile[key])) causes.push([key, `${key}: The field cannot be left blank`]);
    }
    for (const [key, def] of Object.entries(t.custom)) {
      if (def.required && blank(profile[key])) causes.push([key, `${key}: The field cannot be left blank`]);
    }
    const login = profile['login'];
    if (typeof login === 'string' && login !== '' && !EMAIL.test(login)) {
      causes.push(['login', 'login: Username must be in the form of an email address']);
    }
    for (const key of ['email', 'secondEmail']) {
      const v = profile[key];
      if (typeof v === 'string' && v !== '' && !EMAIL.test(v)) causes.push([key, `${key}: Does not match required pattern`]);
    }
    for (const [key, def] of Object.entries({ ...BASE_PROPERTIES, ...t.custom })) {
      const v = profile[key];
      if (v === undefined || v === null) continue;
      if (!matchesType(v, def)) {
        // [unverified wording]
        causes.push([key, `${key}: Does not match required type`]);
        continue;
      }
      if (typeof v === 'string') {
        if (def.maxLength !== undefined && v.length > def.maxLength) causes.push([key, `${key}: The field is too long`]);
        if (def.minLength !== undefined && v.length > 0 && v.length < def.minLength) {
          causes.push([key, `${key}: The field is too short`]);
        }
      }
      if (Array.isArray(def.enum) && !def.enum.some((e) => JSON.stringify(e) === JSON.stringify(v))) {
        causes.push([key, `${key}: Does not match allowed values`]);
      }
    }
    if (causes.length) {
      throw validationError((causes[0] as [string, string])[0], causes.map((c) => c[1]));
    }
    this.checkUnique(t, profile, selfId);
  }

  /** Unique custom properties share one namespace across every type that declares them unique. */
  private checkUnique(t: UserTypeRecord, profile: Record<string, unknown>, selfId?: string): void {
    for (const [key, def] of Object.entries(t.custom)) {
      if (def.unique !== 'UNIQUE_VALIDATED') continue;
      const v = profile[key];
      if (v === undefined || v === null) continue;
      const key2 = JSON.stringify(v);
      for (const u of this.state.users.values()) {
        if (u.id === selfId) continue;
        const ut = this.state.types.get(u.typeId);
        if (ut?.custom[key]?.unique !== 'UNIQUE_VALIDATED') continue;
        if (JSON.stringify(u.profile[key]) === key2) {
          throw validationError(key, [`${key}: An object with this field already exists in the current organization`]);
        }
      }
    }
  }

  // ---- rendering ----

  render(t: UserTypeRecord): Record<string, unknown> {
    const org = this.state.orgUrl();
    return {
      id: t.id,
      displayName: t.displayName,
      name: t.name,
      description: t.description,
      createdBy: t.createdBy,
      lastUpdatedBy: t.lastUpdatedBy,
      created: t.created,
      lastUpdated: t.lastUpdated,
      default: t.isDefault,
      _links: {
        schema: { rel: 'schema', href: `${org}/api/v1/meta/schemas/user/${t.schemaId}`, method: 'GET' },
        self: { rel: 'self', href: `${org}/api/v1/meta/types/user/${t.id}`, method: 'GET' },
      },
    };
  }

  renderSchema(t: UserTypeRecord): Record<string, unknown> {
    const org = this.state.orgUrl();
    const base: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(BASE_PROPERTIES)) {
      base[k] = { ...v, mutability: 'READ_WRITE', scope: 'NONE', permissions: [{ principal: 'SELF', action: 'READ_WRITE' }] };
    }
    return {
      id: `${org}/meta/schemas/user/${t.schemaId}`,
      $schema: 'http://json-schema.org/draft-04/schema#',
      name: 'user',
      title: t.displayName,
      description: t.description,
      lastUpdated: t.schemaLastUpdated,
      created: t.schemaCreated,
      definitions: {
        base: { id: '#base', type: 'object', properties: base, required: BASE_REQUIRED },
        custom: {
          id: '#custom',
          type: 'object',
          properties: t.custom,
          required: Object.entries(t.custom)
            .filter(([, p]) => p.required)
            .map(([k]) => k),
        },
      },
      type: 'object',
      properties: { profile: { allOf: [{ $ref: '#/definitions/base' }, { $ref: '#/definitions/custom' }] } },
    };
  }
}

function matchesType(v: unknown, def: SchemaProperty): boolean {
  switch (def.type) {
    case 'string':
      return typeof v === 'string';
    case 'boolean':
      return typeof v === 'boolean';
    case 'number':
      return typeof v === 'number' && Number.isFinite(v);
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'array': {
      if (!Array.isArray(v)) return false;
      const itemType = def.items?.type;
      return itemType ? v.every((x) => matchesType(x, { type: itemType })) : true;
    }
    default:
      return true;
  }
}

export function userTypeRoutes(ctx: {
  types: UserTypes;
  actorId: (res: express.Response) => string;
  scopes: (read: string, manage: string) => { read: express.RequestHandler; manage: express.RequestHandler };
}) {
  const r = express.Router();
  const typeScopes = ctx.scopes('okta.userTypes.read', 'okta.userTypes.manage');
  const schemaScopes = ctx.scopes('okta.schemas.read', 'okta.schemas.manage');

  r.get('/api/v1/meta/types/user', typeScopes.read, route((_req, res) => {
    reply(res, 200, ctx.types.list().map((t) => ctx.types.render(t)));
  }));
  r.post('/api/v1/meta/types/user', typeScopes.manage, route((req, res) => {
    reply(res, 200, ctx.types.render(ctx.types.create(bodyObject(req), ctx.actorId(res))));
  }));
  r.get('/api/v1/meta/types/user/:typeId', typeScopes.read, route((req, res) => {
    reply(res, 200, ctx.types.render(ctx.types.get(param(req, 'typeId'))));
  }));
  r.post('/api/v1/meta/types/user/:typeId', typeScopes.manage, route((req, res) => {
    reply(res, 200, ctx.types.render(ctx.types.update(param(req, 'typeId'), bodyObject(req), ctx.actorId(res), false)));
  }));
  r.put('/api/v1/meta/types/user/:typeId', typeScopes.manage, route((req, res) => {
    reply(res, 200, ctx.types.render(ctx.types.update(param(req, 'typeId'), bodyObject(req), ctx.actorId(res), true)));
  }));
  r.delete('/api/v1/meta/types/user/:typeId', typeScopes.manage, route((req, res) => {
    ctx.types.delete(param(req, 'typeId'));
    reply(res, 204);
  }));

  r.get('/api/v1/meta/schemas/user/:schemaId', schemaScopes.read, route((req, res) => {
    reply(res, 200, ctx.types.renderSchema(ctx.types.bySchemaId(param(req, 'schemaId'))));
  }));
  r.post('/api/v1/meta/schemas/user/:schemaId', schemaScopes.manage, route((req, res) => {
    reply(res, 200, ctx.types.renderSchema(ctx.types.updateSchema(param(req, 'schemaId'), bodyObject(req))));
  }));
  return r;
}

