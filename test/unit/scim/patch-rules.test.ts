// RFC 7644 §3.5.2 PATCH rules, table-driven: op(s) × resource → the resulting resource and whether it
// changed, or the error (status, scimType, detail). Run through parsePatchRequest + applyPatch with the
// shipped schemas. Complements patch.test.ts (the fixture): each row pins one rule a wrong engine would
// break, above all that a remove names exactly what it removes.

import { describe, expect, it } from 'vitest';
import { ScimError } from '../../../src/scim/errors.js';
import { loadRegistry } from '../../../src/scim/load-schemas.js';
import { applyPatch, parsePatchRequest, PATCH_OP_URN } from '../../../src/scim/patch.js';

type Json = Record<string, unknown>;

const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';

const work = { value: 'b@work.example', type: 'work', primary: true };
const home = { value: 'b@home.example', type: 'home' };

const USER: Json = {
  schemas: [CORE],
  id: 'u1',
  externalId: 'ext-1',
  userName: 'bjensen',
  title: 'Dr',
  active: true,
  name: { givenName: 'Barbara', familyName: 'Jensen' },
  emails: [work, home],
};
const USER_ENT: Json = {
  ...USER,
  schemas: [CORE, ENT],
  [ENT]: { employeeNumber: '42', manager: { value: 'm1', displayName: 'Mona' } },
};
const GROUP_G: Json = {
  schemas: [GROUP],
  id: 'g1',
  displayName: 'Admins',
  members: [
    { value: 'u1', type: 'User', display: 'Babs' },
    { value: 'u2', type: 'User' },
  ],
};

const BASES = { user: USER, userEnt: USER_ENT, group: GROUP_G } as const;
type Base = keyof typeof BASES;
const RT: Record<Base, string> = { user: 'User', userEnt: 'User', group: 'Group' };

const registry = loadRegistry();

type Expect = { after: Json; changed?: boolean } | { unchanged: true } | { error: [status: number, scimType: string, detail: string] };
type Row = [name: string, base: Base, ops: unknown[], expected: Expect];

/** `base` with top-level overrides; an override of undefined deletes the key. */
const withOut = (base: Json, overrides: Json): Json => {
  const out: Json = { ...structuredClone(base) };
  for (const [k, v] of Object.entries(overrides)) {
    if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
};
const user = (o: Json) => withOut(USER, o);
const userEnt = (o: Json) => withOut(USER_ENT, o);
const group = (o: Json) => withOut(GROUP_G, o);

function run(base: Base | Json, ops: unknown[], rt = 'User') {
  const before = typeof base === 'string' ? structuredClone(BASES[base]) : base;
  const type = registry.resourceType(typeof base === 'string' ? RT[base] : rt);
  if (!type) throw new Error('no resource type');
  return applyPatch(registry, type, before, parsePatchRequest({ schemas: [PATCH_OP_URN], Operations: ops }));
}

function scimErrorOf(fn: () => unknown): ScimError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ScimError) return e;
    throw e;
  }
  throw new Error('expected a ScimError');
}

function check(base: Base, ops: unknown[], expected: Expect): void {
  if ('error' in expected) {
    const err = scimErrorOf(() => run(base, ops));
    const [status, scimType, detail] = expected.error;
    expect({ status: err.status, scimType: err.scimType }).toEqual({ status, scimType });
    expect(err.message).toContain(detail);
    return;
  }
  const result = run(base, ops);
  if ('unchanged' in expected) {
    expect(result.resource).toStrictEqual(BASES[base]);
    expect(result.changed).toBe(false);
  } else {
    expect(result.resource).toStrictEqual(expected.after);
    expect(result.changed).toBe(expected.changed ?? true);
  }
}

const remove = (path: string, value?: unknown) => (value === undefined ? { op: 'remove', path } : { op: 'remove', path, value });
const replace = (path: string, value: unknown) => ({ op: 'replace', path, value });
const add = (path: string, value: unknown) => ({ op: 'add', path, value });

describe('remove names exactly what it removes (RFC 7644 §3.5.2.2; remove-with-value, standards.md §2.5)', () => {
  it.each<Row>([
    // single-valued simple attribute: a value that names something else removes nothing
    ['title with the other value', 'user', [remove('title', 'Mr')], { unchanged: true }],
    ['title with its value in another case (caseExact false)', 'user', [remove('title', 'dr')], { after: user({ title: undefined }) }],
    ['title with its value', 'user', [remove('title', 'Dr')], { after: user({ title: undefined }) }],
    ['externalId with its value in another case (caseExact)', 'user', [remove('externalId', 'EXT-1')], { unchanged: true }],
    ['externalId with its value', 'user', [remove('externalId', 'ext-1')], { after: user({ externalId: undefined }) }],
    ['active with the other boolean', 'user', [remove('active', false)], { unchanged: true }],
    ['active with its boolean', 'user', [remove('active', true)], { after: user({ active: undefined }) }],
    ['title with value null is a plain remove', 'user', [remove('title', null)], { after: user({ title: undefined }) }],
    ['title with value [] is a plain remove', 'user', [remove('title', [])], { after: user({ title: undefined }) }],
    ['an absent attribute with a value', 'user', [remove('nickName', 'x')], { unchanged: true }],
    // single-valued complex attribute
    ['name with a sub-attribute that differs', 'user', [remove('name', { givenName: 'Anna' })], { unchanged: true }],
    ['name with one sub-attribute that differs', 'user', [remove('name', { givenName: 'Barbara', familyName: 'X' })], { unchanged: true }],
    ['name with matching sub-attributes (case-insensitive, nulls ignored)', 'user', [remove('name', { givenName: 'BARBARA', middleName: null })], { after: user({ name: undefined }) }],
    ['manager naming someone else by id', 'userEnt', [remove(`${ENT}:manager`, 'm2')], { unchanged: true }],
    ['manager naming someone else as an object', 'userEnt', [remove(`${ENT}:manager`, { value: 'm2', displayName: 'Mona' })], { unchanged: true }],
    ['manager naming it (value compared case-insensitively)', 'userEnt', [remove(`${ENT}:manager`, { value: 'M1' })], { after: userEnt({ [ENT]: { employeeNumber: '42' } }) }],
    ['manager by bare id', 'userEnt', [remove(`${ENT}:manager`, 'm1')], { after: userEnt({ [ENT]: { employeeNumber: '42' } }) }],
    // multi-valued attribute: the listed values go, the others stay
    ['emails listing one by value', 'user', [remove('emails', [{ value: 'b@home.example' }])], { after: user({ emails: [work] }) }],
    ['emails listing one value as an object, not an array', 'user', [remove('emails', { value: 'B@HOME.EXAMPLE' })], { after: user({ emails: [work] }) }],
    ['emails listing value and a matching type', 'user', [remove('emails', [{ value: 'b@home.example', type: 'HOME' }])], { after: user({ emails: [work] }) }],
    ['emails listing value with another type', 'user', [remove('emails', [{ value: 'b@home.example', type: 'work' }])], { unchanged: true }],
    ['emails listing by type only', 'user', [remove('emails', [{ type: 'home' }])], { after: user({ emails: [work] }) }],
    ['emails listing by type and display (display absent)', 'user', [remove('emails', [{ type: 'home', display: 'H' }])], { unchanged: true }],
    ['emails listing a value nobody has', 'user', [remove('emails', [{ value: 'nobody@x' }])], { unchanged: true }],
    ['emails listing both', 'user', [remove('emails', [{ value: 'b@home.example' }, { value: 'b@work.example' }])], { after: user({ emails: undefined }) }],
    ['emails with value null removes all (no value listed)', 'user', [remove('emails', null)], { after: user({ emails: undefined }) }],
    ['members listing one by value (Entra)', 'group', [remove('members', [{ value: 'u2', $ref: null }])], { after: group({ members: [{ value: 'u1', type: 'User', display: 'Babs' }] }) }],
    ['members listing a string, not an object', 'group', [remove('members', ['u2'])], { unchanged: true }],
    // value filters
    ['emails[…] matching nothing', 'user', [remove('emails[type eq "other"]')], { unchanged: true }],
    ['emails[…] matching one', 'user', [remove('emails[type eq "home"]')], { after: user({ emails: [work] }) }],
    ['emails[…] matching all', 'user', [remove('emails[value ew ".example"]')], { after: user({ emails: undefined }) }],
    ['emails[…].display that is absent', 'user', [remove('emails[type eq "home"].display')], { unchanged: true }],
    ['emails[…].type of the match only', 'user', [remove('emails[type eq "home"].type')], { after: user({ emails: [work, { value: 'b@home.example' }] }) }],
    ['emails[…].value of a match that holds nothing else drops it', 'user', [remove('emails[type eq "home"].value'), remove('emails[value eq "b@home.example"].type')], { after: user({ emails: [work, { type: 'home' }] }) }],
    ['name[…] that matches', 'user', [remove('name[givenName eq "barbara"]')], { after: user({ name: undefined }) }],
    ['name[…] that does not match', 'user', [remove('name[givenName eq "Anna"]')], { unchanged: true }],
    ['name[…].familyName that matches', 'user', [remove('name[givenName eq "Barbara"].familyName')], { after: user({ name: { givenName: 'Barbara' } }) }],
    ['name[…].familyName that does not match', 'user', [remove('name[givenName eq "Anna"].familyName')], { unchanged: true }],
    // sub-attributes without a filter
    ['emails.type: from every value', 'user', [remove('emails.type')], { after: user({ emails: [{ value: 'b@work.example', primary: true }, { value: 'b@home.example' }] }) }],
    ['emails.value where a value holds nothing else', 'user', [remove('emails.type'), remove('emails.primary'), remove('emails.value')], { after: user({ emails: undefined }) }],
    ['emails.value with no emails', 'user', [remove('emails'), remove('emails.value')], { after: user({ emails: undefined }) }],
    ['name.givenName keeps familyName', 'user', [remove('name.givenName')], { after: user({ name: { familyName: 'Jensen' } }) }],
    ['name.givenName with no name', 'user', [remove('name'), remove('name.givenName')], { after: user({ name: undefined }) }],
    // extensions
    ['an extension attribute keeps the extension while it holds values', 'userEnt', [remove(`${ENT}:employeeNumber`)], { after: userEnt({ [ENT]: { manager: { value: 'm1', displayName: 'Mona' } } }) }],
    ['the last extension attribute drops the extension and its schemas entry', 'userEnt', [remove(`${ENT}:employeeNumber`), remove(`${ENT}:manager`)], { after: userEnt({ schemas: [CORE], [ENT]: undefined }) }],
    ['the extension by its URN', 'userEnt', [remove(ENT)], { after: userEnt({ schemas: [CORE], [ENT]: undefined }) }],
    ['an absent extension by its URN', 'user', [remove(ENT)], { unchanged: true }],
    ['inside an absent extension', 'user', [remove(`${ENT}:manager.value`)], { unchanged: true }],
  ])('remove %s', (_name, base, ops, expected) => check(base, ops, expected));
});

describe('add and replace (RFC 7644 §3.5.2.1, §3.5.2.3)', () => {
  it.each<Row>([
    ['add an email already present (same value in another case) merges into it', 'user', [add('emails', [{ value: 'B@WORK.EXAMPLE', display: 'W' }])], { after: user({ emails: [{ ...work, value: 'B@WORK.EXAMPLE', display: 'W' }, home] }) }],
    ['add an email with the same value and another type appends it', 'user', [add('emails', [{ value: 'b@work.example', type: 'other' }])], { after: user({ emails: [work, home, { value: 'b@work.example', type: 'other' }] }) }],
    ['add an identical email changes nothing', 'user', [add('emails', [{ ...home }])], { unchanged: true }],
    ['add a null element adds nothing', 'user', [add('emails', [null])], { unchanged: true }],
    ['add a non-primary email keeps the primary', 'user', [add('emails', [{ value: 'n@x', type: 'other' }])], { after: user({ emails: [work, home, { value: 'n@x', type: 'other' }] }) }],
    ['add a primary email ("True" from Entra) takes primary from the old one', 'user', [add('emails', [{ value: 'n@x', primary: 'True' }])], { after: user({ emails: [{ value: 'b@work.example', type: 'work' }, home, { value: 'n@x', primary: 'True' }] }) }],
    ['replace emails with two primaries keeps the last', 'user', [replace('emails', [{ value: 'a@x', primary: true }, { value: 'b@x', primary: true }])], { after: user({ emails: [{ value: 'a@x' }, { value: 'b@x', primary: true }] }) }],
    ['replace emails with [] removes them', 'user', [replace('emails', [])], { after: user({ emails: undefined }) }],
    ['replace emails with an element that is not an object', 'user', [replace('emails', ['x'])], { error: [400, 'invalidValue', 'Operations[0]: each value of "emails" must be an object'] }],
    ['add emails.value with no emails creates one', 'user', [remove('emails'), add('emails.value', 'n@x')], { after: user({ emails: [{ value: 'n@x' }] }) }],
    ['replace emails.display sets it on every value', 'user', [replace('emails.display', 'D')], { after: user({ emails: [{ ...work, display: 'D' }, { ...home, display: 'D' }] }) }],
    ['replace emails[…].display sets it on the match only', 'user', [replace('emails[type eq "home"].display', 'H')], { after: user({ emails: [work, { ...home, display: 'H' }] }) }],
    ['replace emails[…].primary moves primary to the match', 'user', [replace('emails[type eq "home"].primary', true)], { after: user({ emails: [{ value: 'b@work.example', type: 'work' }, { ...home, primary: true }] }) }],
    ['add emails[…] merges the value into the match', 'user', [add('emails[type eq "work"]', { display: 'W' })], { after: user({ emails: [{ ...work, display: 'W' }, home] }) }],
    ['replace emails[…] with a string', 'user', [replace('emails[type eq "home"]', 'x')], { error: [400, 'invalidValue', 'Operations[0]: attribute "emails[…]" needs a complex value (an object)'] }],
    ['replace emails[…] matching nothing', 'user', [replace('emails[value eq "nobody"]', { display: 'x' })], { error: [400, 'noTarget', 'Operations[0]: no value of "emails" matches the filter'] }],
    ['replace emails[…].display matching nothing (filter not a single eq)', 'user', [replace('emails[type sw "x"].display', 'x')], { error: [400, 'noTarget', 'no value of "emails" matches the filter'] }],
    ['replace emails[…].value with null removes the sub-attribute of the match', 'user', [replace('emails[type eq "home"].value', null)], { after: user({ emails: [work, { type: 'home' }] }) }],
    ['replace name[…].familyName on a match', 'user', [replace('name[givenName eq "Barbara"].familyName', 'J2')], { after: user({ name: { givenName: 'Barbara', familyName: 'J2' } }) }],
    ['replace name[…].familyName on no match', 'user', [replace('name[givenName eq "Anna"].familyName', 'J2')], { error: [400, 'noTarget', 'no value of "name" matches the filter'] }],
    ['replace name[…] merges', 'user', [replace('name[givenName eq "Barbara"]', { middleName: 'M' })], { after: user({ name: { givenName: 'Barbara', familyName: 'Jensen', middleName: 'M' } }) }],
    ['replace name[…] with a string', 'user', [replace('name[givenName eq "Barbara"]', 'x')], { error: [400, 'invalidValue', 'needs a complex value (an object)'] }],
    ['replace name with a string', 'user', [replace('name', 'x')], { error: [400, 'invalidValue', 'attribute "name" needs a complex value (an object)'] }],
    ['add name.middleName merges', 'user', [add('name.middleName', 'M')], { after: user({ name: { givenName: 'Barbara', familyName: 'Jensen', middleName: 'M' } }) }],
    ['add name.givenName with no name creates it', 'user', [remove('name'), add('name.givenName', 'B')], { after: user({ name: { givenName: 'B' } }) }],
    ['replace name.givenName with null removes it', 'user', [replace('name.givenName', null)], { after: user({ name: { familyName: 'Jensen' } }) }],
    ['replace a value with itself', 'user', [replace('title', 'Dr'), replace('name', { givenName: 'Barbara' })], { unchanged: true }],
    ['replace title with null removes it', 'user', [replace('title', null)], { after: user({ title: undefined }) }],
    ['the core schema URN as the path applies the object', 'user', [replace(CORE, { title: 'Prof', nickName: 'B' })], { after: user({ title: 'Prof', nickName: 'B' }) }],
    ['add an extension attribute lists the extension in schemas', 'user', [add(`${ENT}:employeeNumber`, '7')], { after: user({ schemas: [CORE, ENT], [ENT]: { employeeNumber: '7' } }) }],
    ['add the extension object by its URN', 'user', [add(ENT, { employeeNumber: '7' })], { after: user({ schemas: [CORE, ENT], [ENT]: { employeeNumber: '7' } }) }],
    ['replace the extension by its URN with null removes it', 'userEnt', [replace(ENT, null)], { after: userEnt({ schemas: [CORE], [ENT]: undefined }) }],
    ['replace the extension by its URN with a string', 'user', [replace(ENT, 'x')], { error: [400, 'invalidValue', `the value for "${ENT}" must be an object of its attributes`] }],
    ['add an extension attribute with null into an absent extension changes nothing', 'user', [add(`${ENT}:employeeNumber`, null)], { unchanged: true }],
    ['replace manager.value with the same id in another case keeps the details', 'userEnt', [replace(`${ENT}:manager.value`, 'M1')], { after: userEnt({ [ENT]: { employeeNumber: '42', manager: { value: 'M1', displayName: 'Mona' } } }) }],
  ])('%s', (_name, base, ops, expected) => check(base, ops, expected));

  it('adds the extension URN to a resource that has no schemas array, and does not list it twice', () => {
    expect(run(user({ schemas: undefined }), [add(`${ENT}:employeeNumber`, '7')]).resource.schemas).toEqual([CORE, ENT]);
    const listed = user({ schemas: [CORE, ENT.toUpperCase()] });
    expect(run(listed, [add(`${ENT}:employeeNumber`, '7')]).resource.schemas).toEqual([CORE, ENT.toUpperCase()]);
  });

  it('removing the last extension attribute of an extension not listed in schemas leaves schemas alone', () => {
    const unlisted = user({ [ENT]: { employeeNumber: '42' } });
    const { resource } = run(unlisted, [remove(`${ENT}:employeeNumber`)]);
    expect(resource).toEqual(user({}));
  });
});

describe('mutability, paths and errors', () => {
  it.each<Row>([
    ['remove without a path', 'user', [{ op: 'remove' }], { error: [400, 'noTarget', 'Operations[0]: "remove" requires a "path"'] }],
    ['remove the resource by its core URN', 'user', [remove(CORE)], { error: [400, 'invalidPath', `"${CORE}" is the resource itself; name an attribute to remove`] }],
    ['the second op failing names its index', 'user', [replace('title', 'Mr'), replace('bogus', 'x')], { error: [400, 'invalidPath', 'Operations[1]: unknown attribute "bogus"'] }],
    ['an unknown URN-qualified attribute', 'user', [replace(`${ENT}:bogus`, 'x')], { error: [400, 'invalidPath', `unknown attribute "${ENT}:bogus"`] }],
    ['an unknown sub-attribute', 'user', [replace('name.bogus', 'x')], { error: [400, 'invalidPath', 'unknown sub-attribute "name.bogus"'] }],
    ['a sub-attribute of a simple attribute', 'user', [replace('title.x', 'x')], { error: [400, 'invalidPath', 'attribute "title" has no sub-attributes (asked for "x")'] }],
    ['a value filter on a simple attribute', 'user', [replace('title[value eq "x"]', 'x')], { error: [400, 'invalidPath', 'a value filter needs a complex attribute; "title" is a string'] }],
    ['schemas', 'user', [replace('schemas', [CORE])], { error: [400, 'mutability', 'attribute "schemas" is maintained by the server'] }],
    ['schemas with the core URN', 'user', [remove(`${CORE}:schemas`)], { error: [400, 'mutability', 'maintained by the server'] }],
    ['id with another value', 'user', [replace('id', 'u2')], { error: [400, 'mutability', 'Operations[0]: attribute "id" is readOnly'] }],
    ['id with its value in another case (caseExact)', 'user', [replace('id', 'U1')], { error: [400, 'mutability', 'attribute "id" is readOnly'] }],
    ['id with its value', 'user', [replace('id', 'u1')], { unchanged: true }],
    ['remove groups the user does not have', 'user', [remove('groups')], { unchanged: true }],
    ['add groups', 'user', [add('groups', [{ value: 'g1' }])], { error: [400, 'mutability', 'attribute "groups" is readOnly'] }],
    ['a readOnly sub-attribute', 'userEnt', [replace(`${ENT}:manager.displayName`, 'X')], { error: [400, 'mutability', 'attribute "manager.displayName" is readOnly'] }],
    ['a readOnly sub-attribute behind a filter', 'userEnt', [replace(`${ENT}:manager[value eq "m1"].displayName`, 'X')], { error: [400, 'mutability', 'is readOnly'] }],
    ['an immutable member sub-attribute that is set', 'group', [replace('members[value eq "u1"].display', 'B')], { error: [400, 'mutability', 'Operations[0]: attribute "members[…].display" is immutable'] }],
    ['an immutable member sub-attribute that is unset may be set', 'group', [replace('members[value eq "u2"].display', 'Two')], { after: group({ members: [{ value: 'u1', type: 'User', display: 'Babs' }, { value: 'u2', type: 'User', display: 'Two' }] }) }],
    ['an immutable member sub-attribute set to its value', 'group', [replace('members[value eq "u1"].display', 'Babs')], { unchanged: true }],
    ['an immutable member sub-attribute merged with another value', 'group', [add('members', [{ value: 'u1', type: 'User', display: 'X' }])], { error: [400, 'mutability', 'attribute "members.display" is immutable'] }],
  ])('%s', (_name, base, ops, expected) => check(base, ops, expected));

  it('never changes the input, also when a later operation fails', () => {
    const before = structuredClone(USER);
    scimErrorOf(() => run(before, [replace('title', 'Mr'), remove('emails[type eq "home"]'), replace('id', 'x')]));
    expect(before).toEqual(USER);
  });
});

const GOV = 'urn:agentroster:scim:schemas:extension:agent-governance:1.0:Agent';
const x = { value: 'x', display: 'X', type: 'app', grantId: 'gr1', grantedAt: '2025-01-01T00:00:00Z' };
const y = { value: 'y', display: 'Y', type: 'app', grantId: 'gr2', grantedAt: '2025-01-02T00:00:00Z' };
const AGENT: Json = {
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:Agent', GOV],
  id: 'a1',
  agentUserName: 'bot',
  entitlements: [x, y],
  [GOV]: { purpose: 'billing', sponsorStatus: 'active' },
};
const ENTITLEMENT: Json = { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Entitlement'], id: 'e1', value: 'p.read', contains: ['a'] };

describe('rules pinned against specific mutants', () => {
  const same = (before: Json, ops: unknown[], rt = 'User') => {
    const r = run(before, ops, rt);
    expect(r.resource).toStrictEqual(before);
    expect(r.changed).toBe(false);
  };

  it('revoking by a readOnly grant attribute removes that grant only (remove with value, standards.md §2.5)', () => {
    expect(run(AGENT, [remove('entitlements', [{ grantId: 'gr1' }])], 'Agent').resource.entitlements).toStrictEqual([y]);
    expect(run(AGENT, [remove('entitlements', [{ grantId: 'nope' }])], 'Agent').resource.entitlements).toStrictEqual([x, y]);
  });

  it('a listed value with the identity finds the element whatever else it carries (Entra $ref)', () => {
    const r = run(structuredClone(GROUP_G), [remove('members', [{ value: 'u2', $ref: 'https://h/Groups/u2', type: 'User' }])], 'Group');
    expect(r.resource.members).toStrictEqual([{ value: 'u1', type: 'User', display: 'Babs' }]);
    expect(run(USER, [remove('emails', [{ VALUE: 'b@home.example' }])]).resource.emails).toStrictEqual([work]);
  });

  it('replace of a multi-valued attribute keeps readOnly grant metadata of surviving elements only, and nothing else', () => {
    const r = run(AGENT, [replace('entitlements', [{ value: 'x' }, { value: 'z', type: 'app' }])], 'Agent');
    expect(r.resource.entitlements).toStrictEqual([
      { value: 'x', display: 'X', grantId: 'gr1', grantedAt: '2025-01-01T00:00:00Z' },
      { value: 'z', type: 'app' },
    ]);
  });

  it('a simple multi-valued attribute de-duplicates on add and is not merged', () => {
    same(ENTITLEMENT, [add('contains', ['a'])], 'Entitlement');
    expect(run(ENTITLEMENT, [add('contains', 'b')], 'Entitlement').resource.contains).toStrictEqual(['a', 'b']);
  });

  it('adding an empty array or empty elements to a multi-valued attribute adds nothing', () => {
    same(USER, [add('emails', [])]);
    same(USER, [add('emails', [{}, { display: null }])]);
  });

  it('a bare string for a multi-valued complex attribute is not an element', () => {
    expect(scimErrorOf(() => run(USER, [add('emails', 'n@x')])).message).toContain('each value of "emails" must be an object');
  });

  it('keeps unknown sub-attributes as sent (the validator decides), in merges and new elements', () => {
    expect(run(USER, [replace('name', { givenName: 'B', nickname2: 'n' })]).resource.name).toStrictEqual({
      givenName: 'B',
      familyName: 'Jensen',
      nickname2: 'n',
    });
    expect(run(USER, [add('emails', [{ value: 'n@x', bogus: 1 }])]).resource.emails).toStrictEqual([work, home, { value: 'n@x', bogus: 1 }]);
  });

  it('remove never writes the value it was sent', () => {
    expect(run(USER, [remove('name.givenName', 'Barbara')]).resource.name).toStrictEqual({ familyName: 'Jensen' });
    same(USER, [remove('emails.display', 'D')]);
  });

  it('a remove that empties a filtered element drops it', () => {
    const r = run(USER, [remove('emails[type eq "home"].type'), remove('emails[value eq "b@home.example"].value')]);
    expect(r.resource.emails).toStrictEqual([work]);
  });

  it('Entra create-on-absent of a primary value takes primary from the others', () => {
    expect(run(USER, [replace('emails[type eq "other"].primary', true)]).resource.emails).toStrictEqual([
      { value: 'b@work.example', type: 'work' },
      home,
      { type: 'other', primary: true },
    ]);
  });

  it('a reference keeps its details when a sub-attribute other than value changes', () => {
    const ref = 'https://h/Users/m1';
    expect(run(USER_ENT, [replace(`${ENT}:manager.$ref`, ref)]).resource[ENT]).toStrictEqual({
      employeeNumber: '42',
      manager: { value: 'm1', displayName: 'Mona', $ref: ref },
    });
    expect(run(USER_ENT, [replace(`${ENT}:manager`, { $ref: ref })]).resource[ENT]).toStrictEqual({
      employeeNumber: '42',
      manager: { value: 'm1', displayName: 'Mona', $ref: ref },
    });
  });

  it('null and absent are the same for `changed` (RFC 7643 §2.5)', () => {
    const r = run(user({ nickName: null }), [remove('nickName')]);
    expect(r.changed).toBe(false);
  });

  it('readOnly: sub-attribute and filtered paths are refused even when nothing would change; remove with the value is refused', () => {
    for (const ops of [[remove('groups.value')], [remove('groups[value eq "g1"]')], [remove('id', 'u1')]]) {
      const err = scimErrorOf(() => run(USER, ops));
      expect({ status: err.status, scimType: err.scimType }).toEqual({ status: 400, scimType: 'mutability' });
    }
    // a readOnly simple attribute echoed in another case is the same value (caseExact false)
    same(AGENT, [replace(`${GOV}:sponsorStatus`, 'ACTIVE')], 'Agent');
  });

  it('paths: a padded extension URN, schemas of an extension, password sub-attributes', () => {
    expect(run(USER_ENT, [remove(`  ${ENT} `)]).resource).toStrictEqual(userEnt({ schemas: [CORE], [ENT]: undefined }));
    expect(scimErrorOf(() => run(USER, [replace(`${ENT}:schemas`, 'x')])).scimType).toBe('invalidPath');
    expect(scimErrorOf(() => run(USER, [replace('password.x', 'x')])).scimType).toBe('invalidPath');
    expect(scimErrorOf(() => run(USER, [replace('password[value eq "x"]', 'x')])).scimType).toBe('invalidPath');
  });

  it('removing an extension from a resource without a schemas array', () => {
    expect(run(userEnt({ schemas: undefined }), [remove(ENT)]).resource).toStrictEqual(user({ schemas: undefined }));
  });
});

describe('parsePatchRequest envelope', () => {
  it('accepts the PatchOp URN among others and in any case', () => {
    const ops = [{ op: 'remove', path: 'title' }];
    expect(parsePatchRequest({ schemas: ['urn:x', PATCH_OP_URN.toUpperCase()], Operations: ops })).toEqual(ops);
  });

  it.each<[string, unknown, string]>([
    ['schemas without the PatchOp URN', { schemas: [], Operations: [{ op: 'remove', path: 'a' }] }, `"schemas" must contain "${PATCH_OP_URN}"`],
    ['schemas with a non-string', { schemas: [7], Operations: [{ op: 'remove', path: 'a' }] }, '"schemas" must contain'],
    ['a null body', null, 'the PATCH body must be a JSON object'],
    ['an array operation', { Operations: [[]] }, 'Operations[0] must be an object'],
    ['a null operation', { Operations: [null] }, 'Operations[0] must be an object'],
    ['a null path', { Operations: [{ op: 'remove', path: null }] }, 'Operations[0].path must be a string'],
  ])('rejects %s with 400 invalidSyntax', (_name, body, detail) => {
    const err = scimErrorOf(() => parsePatchRequest(body));
    expect({ status: err.status, scimType: err.scimType }).toEqual({ status: 400, scimType: 'invalidSyntax' });
    expect(err.message).toContain(detail);
  });

  it('keeps a value sent with remove, and an explicit null value of add', () => {
    expect(parsePatchRequest({ Operations: [{ op: 'remove', path: 'a', value: 'x' }, { op: 'add', path: 'b', value: null }] })).toEqual([
      { op: 'remove', path: 'a', value: 'x' },
      { op: 'add', path: 'b', value: null },
    ]);
    expect(parsePatchRequest({ Operations: [{ op: 'remove', path: 'a' }] })[0]).not.toHaveProperty('value');
    expect(parsePatchRequest({ Operations: [{ op: 'replace', value: { a: 1 } }] })[0]).not.toHaveProperty('path');
  });

  it('prefers the exact member spelling when two spellings are sent', () => {
    expect(parsePatchRequest({ Operations: [{ op: 'add', path: 'a', VALUE: 1, value: 2 }] })[0]?.value).toBe(2);
  });

  it('names the count and the limit when there are too many operations', () => {
    const ops = Array.from({ length: 1001 }, () => ({ op: 'remove', path: 'a' }));
    expect(scimErrorOf(() => parsePatchRequest({ Operations: ops })).message).toContain('1001 operations in one PATCH; the limit is 1000');
  });
});
