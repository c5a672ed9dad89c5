// RFC 7644 §3.4.2.2 filter rules, table-driven: filter × resource → match (the in-memory evaluator),
// every comparison operator at, below and above its boundary for each attribute type, and the
// lexer/parser's reading of literals, escapes, whitespace and keywords. Complements filter.test.ts
// (the fixture tables); each row here pins one rule a wrong implementation would break.

import { describe, expect, it } from 'vitest';
import type { Filter } from '../../../src/scim/filter/ast.js';
import type { AttributeDefinition } from '../../../src/scim/schema-types.js';
import { ScimError } from '../../../src/scim/errors.js';
import { FILTER_LIMITS, parseAttrPath, parseFilter, parsePatchPath } from '../../../src/scim/filter/parse.js';
import { compileFilter, matchesFilter, type AttributeScope } from '../../../src/scim/filter/evaluate.js';

const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENT = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

const attr = (name: string, type: AttributeDefinition['type'], extra: Partial<AttributeDefinition> = {}): AttributeDefinition => ({
  name,
  type,
  multiValued: false,
  required: false,
  caseExact: false,
  mutability: 'readWrite',
  returned: 'default',
  uniqueness: 'none',
  ...extra,
});

const scope: AttributeScope = {
  coreSchema: CORE,
  attributes: [
    attr('id', 'string', { caseExact: true }),
    attr('userName', 'string'),
    attr('nickName', 'string'),
    attr('active', 'boolean'),
    attr('loginCount', 'integer'),
    attr('score', 'decimal'),
    attr('profileUrl', 'reference'),
    attr('photo', 'reference', { caseExact: true }),
    attr('cert', 'binary'),
    attr('lastSeen', 'dateTime'),
    attr('tags', 'string', { multiValued: true }),
    attr('name', 'complex', { subAttributes: [attr('givenName', 'string'), attr('familyName', 'string')] }),
    attr('emails', 'complex', {
      multiValued: true,
      subAttributes: [attr('value', 'string'), attr('type', 'string'), attr('primary', 'boolean')],
    }),
    attr('flags', 'complex'), // complex without sub-attribute definitions
  ],
  extensions: {
    [ENT]: [attr('employeeNumber', 'string'), attr('manager', 'complex', { subAttributes: [attr('value', 'string')] })],
  },
};

const alice = {
  id: 'ID-1',
  userName: 'mmMM',
  active: true,
  loginCount: 10,
  score: 2.5,
  profileUrl: 'https://Example.com/Alice',
  photo: 'https://example.com/Photo.png',
  cert: 'QUJD',
  lastSeen: '2020-06-15T12:00:00Z',
  tags: ['Red', null, 'green'],
  name: { givenName: 'Alice', familyName: 'Smith' },
  emails: [
    { value: 'a@work.example', type: 'work', primary: true },
    { value: 'a@home.example', type: 'home' },
  ],
  [ENT]: { employeeNumber: '7', manager: { value: 'boss' } },
};

const match = (filter: string, target: unknown = alice) => matchesFilter(parseFilter(filter), target, scope);

function scimErrorOf(fn: () => unknown): ScimError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ScimError) return e;
    throw e;
  }
  throw new Error('expected a ScimError');
}

describe('ordering operators at their boundaries (RFC 7644 §3.4.2.2 gt/ge/lt/le)', () => {
  // [filter, match] against alice; each operator below, at and above the stored value
  it.each<[string, boolean]>([
    // integer: 10
    ['loginCount gt 9', true],
    ['loginCount gt 10', false],
    ['loginCount gt 11', false],
    ['loginCount ge 9', true],
    ['loginCount ge 10', true],
    ['loginCount ge 11', false],
    ['loginCount lt 9', false],
    ['loginCount lt 10', false],
    ['loginCount lt 11', true],
    ['loginCount le 9', false],
    ['loginCount le 10', true],
    ['loginCount le 11', true],
    ['loginCount eq 10', true],
    ['loginCount eq 11', false],
    ['loginCount ne 10', false],
    ['loginCount ne 11', true],
    // decimal: 2.5
    ['score gt 2.4', true],
    ['score gt 2.5', false],
    ['score ge 2.5', true],
    ['score ge 2.6', false],
    ['score lt 2.5', false],
    ['score lt 2.6', true],
    ['score le 2.5', true],
    ['score le 2.4', false],
    // string, caseExact:false: "mmMM" folds to "mmmm"; the literal is folded too
    ['userName gt "MMML"', true],
    ['userName gt "mmmm"', false],
    ['userName gt "MMMN"', false],
    ['userName ge "mmml"', true],
    ['userName ge "MMMM"', true],
    ['userName ge "mmmn"', false],
    ['userName lt "mmml"', false],
    ['userName lt "MMMM"', false],
    ['userName lt "mmmn"', true],
    ['userName le "MMML"', false],
    ['userName le "mmmm"', true],
    ['userName le "mmmn"', true],
    // string, caseExact:true: "ID-1" vs "id-1" by code point ("I" < "i")
    ['id gt "ID-0"', true],
    ['id gt "ID-1"', false],
    ['id ge "ID-1"', true],
    ['id ge "id-1"', false],
    ['id lt "id-1"', true],
    ['id lt "ID-1"', false],
    ['id le "ID-1"', true],
    ['id le "ID-0"', false],
    // dateTime: instants, whatever the offset
    ['lastSeen gt "2020-06-15T11:59:59Z"', true],
    ['lastSeen gt "2020-06-15T14:00:00+02:00"', false],
    ['lastSeen ge "2020-06-15T14:00:00+02:00"', true],
    ['lastSeen ge "2020-06-15T12:00:00.001Z"', false],
    ['lastSeen lt "2020-06-15T12:00:00.001Z"', true],
    ['lastSeen lt "2020-06-15T12:00:00Z"', false],
    ['lastSeen le "2020-06-15T07:00:00-05:00"', true],
    ['lastSeen le "2020-06-15T11:59:59.999Z"', false],
    ['lastSeen eq "2020-06-15T12:00:00.000Z"', true],
    ['lastSeen eq "2020-06-15T12:00:01Z"', false],
    ['lastSeen ne "2020-06-15T12:00:00Z"', false],
    // multi-valued: ANY value; the null inside tags contributes nothing
    ['tags gt "red"', false],
    ['tags ge "red"', true],
    ['tags lt "green"', false],
    ['tags le "green"', true],
    ['tags lt "h"', true],
  ])('%s → %s', (filter, expected) => {
    expect(match(filter)).toBe(expected);
  });

  it('orders text by code point, not by UTF-16 code unit (astral characters sort after U+FFFF)', () => {
    const astral = { userName: '\u{1F600}' }; // code units D83D DE00, code point 1F600
    expect(match('userName gt "\uffff"', astral)).toBe(true);
    expect(match('userName lt "\uffff"', astral)).toBe(false);
    expect(match('userName ge "\\uffff"', astral)).toBe(true);
    expect(match('userName le "\\uffff"', astral)).toBe(false);
  });

  it('a missing, null or wrongly typed value matches no ordering operator', () => {
    for (const op of ['gt', 'ge', 'lt', 'le']) {
      expect(match(`loginCount ${op} 10`, {})).toBe(false);
      expect(match(`loginCount ${op} 10`, { loginCount: null })).toBe(false);
      expect(match(`loginCount ${op} 10`, { loginCount: '10' })).toBe(false);
      expect(match(`userName ${op} "mmmm"`, { userName: 10 })).toBe(false);
      expect(match(`lastSeen ${op} "2020-06-15T12:00:00Z"`, { lastSeen: 'yesterday' })).toBe(false);
      expect(match(`lastSeen ${op} "2020-06-15T12:00:00Z"`, { lastSeen: new Date(Number.NaN) })).toBe(false);
      expect(match(`lastSeen ${op} "2020-06-15T12:00:00Z"`, { lastSeen: 1592222400000 })).toBe(false);
    }
  });

  it('compares a stored Date as an instant', () => {
    const user = { lastSeen: new Date('2020-06-15T12:00:00Z') };
    expect(match('lastSeen ge "2020-06-15T12:00:00Z"', user)).toBe(true);
    expect(match('lastSeen gt "2020-06-15T12:00:00Z"', user)).toBe(false);
  });
});

describe('equality and substring operators by attribute type', () => {
  it.each<[string, boolean]>([
    // string caseExact:false folds both sides; caseExact:true does not
    ['userName eq "MMMM"', true],
    ['userName co "mM"', true],
    ['userName sw "MMm"', true],
    ['userName ew "Mmm"', true],
    ['userName co "x"', false],
    ['userName sw "mmmmm"', false],
    ['userName ew "n"', false],
    ['id eq "id-1"', false],
    ['id co "d"', false],
    ['id sw "id"', false],
    ['id ew "-1"', true],
    // reference: caseExact as declared
    ['profileUrl eq "https://example.com/alice"', true],
    ['profileUrl sw "HTTPS://EXAMPLE"', true],
    ['photo eq "https://example.com/photo.png"', false],
    ['photo ew "Photo.png"', true],
    ['photo ew "photo.png"', false],
    // binary: always exact (RFC 7643 §2.3.6), eq / co / sw / ew only
    ['cert eq "QUJD"', true],
    ['cert eq "qujd"', false],
    ['cert co "UJ"', true],
    ['cert co "uj"', false],
    ['cert sw "QU"', true],
    ['cert ew "JD"', true],
    ['cert ne "QUJD"', false],
    // dateTime co/sw/ew: the stored text as is
    ['lastSeen sw "2020-06"', true],
    ['lastSeen co "t12"', false],
    ['lastSeen ew "00Z"', true],
    // boolean: eq / ne only
    ['active eq true', true],
    ['active eq false', false],
    ['active ne true', false],
    ['active ne false', true],
    // complex compared without a sub-attribute compares its `value`
    [`${ENT}:manager eq "BOSS"`, true],
    [`${ENT}:manager co "x"`, false],
    ['emails ew "@home.example"', true],
    ['emails eq "work"', false],
    // extension attributes need their URN; the core URN is optional
    [`${ENT}:employeeNumber eq "7"`, true],
    [`${ENT.toLowerCase()}:EmployeeNumber eq "7"`, true],
    [`${CORE}:userName eq "mmmm"`, true],
    [`${CORE.toUpperCase()}:userName eq "mmmm"`, true],
  ])('%s → %s', (filter, expected) => {
    expect(match(filter)).toBe(expected);
  });
});

describe('presence, null and missing values', () => {
  it.each<[string, unknown, boolean]>([
    ['nickName pr', { nickName: 'x' }, true],
    ['nickName pr', { nickName: '' }, false],
    ['nickName pr', { nickName: null }, false],
    ['nickName pr', {}, false],
    ['nickName eq null', { nickName: '' }, true],
    ['nickName ne null', { nickName: '' }, false],
    ['nickName ne null', { nickName: 'x' }, true],
    ['nickName eq null', { nickName: 'x' }, false],
    ['active pr', { active: false }, true],
    ['loginCount pr', { loginCount: 0 }, true],
    ['tags pr', { tags: [null, ''] }, false],
    ['tags pr', { tags: [null, 'x'] }, true],
    ['name pr', { name: { givenName: '', familyName: null } }, false],
    ['name pr', { name: { givenName: '', familyName: 'x' } }, true],
    ['name pr', { name: { nested: [[], { deeper: '' }] } }, false],
    ['name pr', { name: { nested: [[], { deeper: 'y' }] } }, true],
    ['lastSeen pr', { lastSeen: new Date(0) }, true],
    ['emails pr', { emails: [{ primary: false }] }, true],
    ['emails pr', { emails: [{ value: '' }, {}] }, false],
    // a comparison on a missing attribute is false, so ne is true
    ['nickName eq "x"', {}, false],
    ['nickName ne "x"', {}, true],
    ['tags eq "x"', { tags: [] }, false],
    ['tags ne "x"', { tags: [] }, true],
    // a multi-valued ne holds only when NO value equals
    ['tags ne "RED"', alice, false],
    ['tags ne "blue"', alice, true],
    ['emails.type ne "home"', alice, false],
    ['emails.type eq "HOME"', alice, true],
    // sub-attributes of non-object elements contribute nothing
    ['emails.value eq "x"', { emails: ['x', null, 3] }, false],
    ['emails.value ne "x"', { emails: ['x'] }, true],
    ['name.givenName eq "x"', { name: 'x' }, false],
    // an extension stored as something other than an object holds nothing
    [`${ENT}:employeeNumber pr`, { [ENT]: ['7'] }, false],
    [`${ENT}:employeeNumber eq "7"`, { employeeNumber: '7' }, false],
    ['userName eq "mmmm"', { [ENT]: { userName: 'mmmm' } }, false],
  ])('%s on %j → %s', (filter, target, expected) => {
    expect(match(filter, target)).toBe(expected);
  });

  it('matches nothing but ne / eq null on a target that is not an object', () => {
    for (const target of [null, 'mmmm', 10, [alice]]) {
      expect(match('userName eq "mmmm"', target)).toBe(false);
      expect(match('userName pr', target)).toBe(false);
      expect(match('userName eq null', target)).toBe(true);
      expect(match(`${ENT}:employeeNumber ne "7"`, target)).toBe(true);
    }
  });
});

describe('value filters (valuePath): all conditions on the same value', () => {
  it.each<[string, unknown, boolean]>([
    ['emails[type eq "work" and primary eq true]', alice, true],
    ['emails[type eq "home" and primary eq true]', alice, false],
    ['emails[type eq "home" or primary eq true]', alice, true],
    ['emails[not (type eq "work")]', alice, true],
    ['emails[not (type pr)]', alice, false],
    ['emails[type ne "work"]', alice, true],
    ['emails[type ne "work"]', { emails: [{ type: 'work', value: 'a' }] }, false],
    // a value that is not an object never matches, even a negated condition
    ['emails[type ne "work"]', { emails: ['plain', 3, null] }, false],
    ['emails[not (value eq "x")]', { emails: ['plain'] }, false],
    ['emails[value pr]', { emails: [] }, false],
    ['emails[value pr]', {}, false],
    // a single-valued complex attribute is its one value
    ['name[givenName eq "ALICE"]', alice, true],
    ['name[givenName eq "Bob"]', alice, false],
    ['name[familyName ne "Smith"]', alice, false],
    ['name[familyName ne "Smith"]', { name: 'Smith' }, false],
    [`${ENT}:manager[value sw "bo"]`, alice, true],
    [`${ENT}:manager[value sw "x"]`, alice, false],
    // Entra's emails[type eq "work"].value eq "…": type and value of one email
    ['emails[type eq "work"].value eq "a@work.example"', alice, true],
    ['emails[type eq "work"].value eq "a@home.example"', alice, false],
  ])('%s on %j → %s', (filter, target, expected) => {
    expect(match(filter, target)).toBe(expected);
  });
});

describe('logical operators', () => {
  it.each<[string, boolean]>([
    ['userName eq "mmmm" and active eq true', true],
    ['userName eq "mmmm" and active eq false', false],
    ['userName eq "x" and active eq true', false],
    ['userName eq "x" or active eq true', true],
    ['userName eq "mmmm" or active eq false', true],
    ['userName eq "x" or active eq false', false],
    ['not (userName eq "x")', true],
    ['not (userName eq "mmmm")', false],
    ['not (not (userName eq "mmmm"))', true],
    ['userName eq "x" or userName eq "y" or loginCount ge 10', true],
    ['userName eq "mmmm" and loginCount gt 1 and score lt 1', false],
    ['not (userName eq "x" or active eq false)', true],
    ['not (userName eq "mmmm" and active eq false)', true],
  ])('%s → %s', (filter, expected) => {
    expect(match(filter)).toBe(expected);
  });

  it('a compiled predicate can be reused; resolution errors come before any value is read', () => {
    const p = compileFilter(parseFilter('loginCount ge 5 and loginCount le 15'), scope);
    expect([0, 5, 10, 15, 20].map((n) => p({ loginCount: n }))).toEqual([false, true, true, true, false]);
    expect(() => compileFilter(parseFilter('loginCount ge 5 or bogus pr'), scope)).toThrow(ScimError);
  });
});

describe('evaluator errors: 400 invalidFilter naming the problem', () => {
  it.each<[string, string]>([
    ['bogus eq "x"', 'unknown attribute "bogus"'],
    ['name.bogus eq "x"', 'unknown attribute "name.bogus"'],
    ['userName.x eq "x"', 'unknown attribute "userName.x"'],
    ['urn:x:y:bogus eq "x"', 'unknown attribute "urn:x:y:bogus": no schema "urn:x:y" here'],
    ['employeeNumber eq "7"', 'unknown attribute "employeeNumber"'],
    ['loginCount gt null', '"gt" cannot compare "loginCount" with null; use eq null, ne null or pr'],
    ['userName sw null', '"sw" cannot compare "userName" with null'],
    ['name eq "x"', '"name" is complex; compare one of its sub-attributes, e.g. "name.givenName"'],
    ['flags eq "x"', '"flags" is complex; compare one of its sub-attributes'],
    ['active gt true', '"gt" is not defined for boolean attribute "active"'],
    ['active ne 1', 'cannot compare boolean attribute "active" with number 1'],
    ['loginCount sw 1', '"sw" is not defined for integer attribute "loginCount"'],
    ['score ew 1', '"ew" is not defined for decimal attribute "score"'],
    ['loginCount ne "10"', 'cannot compare integer attribute "loginCount" with string "10"'],
    ['userName eq 1', 'cannot compare string attribute "userName" with number 1'],
    ['profileUrl eq false', 'cannot compare reference attribute "profileUrl" with boolean false'],
    ['cert ge "a"', '"ge" is not defined for binary attribute "cert"'],
    ['cert lt "a"', '"lt" is not defined for binary attribute "cert"'],
    ['cert eq 1', 'cannot compare binary attribute "cert" with number 1'],
    ['lastSeen ge "2020-06-15"', '"2020-06-15" is not a dateTime such as "2011-05-13T04:42:34Z" (comparing "lastSeen")'],
    ['lastSeen ne "soon"', 'is not a dateTime'],
    ['lastSeen co 3', 'cannot compare dateTime attribute "lastSeen" with number 3'],
    ['userName[value eq "x"]', 'a value filter needs a complex attribute; "userName" is not one'],
    ['flags[value eq "x"]', 'a value filter needs a complex attribute; "flags" is not one'],
    ['emails[bogus eq "x"]', 'unknown attribute "bogus"'],
  ])('%s → %s', (filter, message) => {
    const err = scimErrorOf(() => match(filter));
    expect({ status: err.status, scimType: err.scimType }).toEqual({ status: 400, scimType: 'invalidFilter' });
    expect(err.message).toContain(message);
  });

  it('the type of a binary ordering is checked even when the literal type is right', () => {
    expect(match('cert eq "QUJD"')).toBe(true);
    expect(scimErrorOf(() => match('cert gt "QUJD"')).message).toContain('not defined for binary');
  });
});

describe('evaluator edges: hand-built ASTs, scopes without a core URN, unusual schemas', () => {
  it('rejects a value filter on a sub-attribute even in an AST the parser would not produce', () => {
    const ast: Filter = {
      kind: 'valuePath',
      path: { attr: 'name', sub: 'givenName' },
      filter: { kind: 'present', path: { attr: 'givenName' } },
    };
    const err = scimErrorOf(() => matchesFilter(ast, alice, scope));
    expect({ status: err.status, scimType: err.scimType }).toEqual({ status: 400, scimType: 'invalidFilter' });
    expect(err.message).toContain('a value filter needs a complex attribute; "name.givenName" is not one');
  });

  it('resolves a URN-qualified path among the extensions when the scope names no core schema', () => {
    const noCore: AttributeScope = { attributes: scope.attributes, extensions: scope.extensions ?? {} };
    expect(matchesFilter(parseFilter(`${ENT}:employeeNumber eq "7"`), alice, noCore)).toBe(true);
    expect(scimErrorOf(() => matchesFilter(parseFilter(`${CORE}:userName pr`), alice, noCore)).message).toContain(
      `unknown attribute "${CORE}:userName": no schema "${CORE}" here`,
    );
  });

  it('names an example sub-attribute only when the complex attribute has one', () => {
    const odd: AttributeScope = { attributes: [attr('empty', 'complex', { subAttributes: [] }), attr('flags', 'complex')] };
    for (const name of ['empty', 'flags']) {
      const message = scimErrorOf(() => matchesFilter(parseFilter(`${name} eq "x"`), {}, odd)).message;
      expect(message).toMatch(new RegExp(`"${name}" is complex; compare one of its sub-attributes$`));
    }
  });

  it('rejects comparing a complex sub-attribute (not valid SCIM, RFC 7643 §2.3.8) instead of reading its value', () => {
    const nested: AttributeScope = {
      attributes: [attr('outer', 'complex', { subAttributes: [attr('inner', 'complex', { subAttributes: [attr('value', 'string')] })] })],
    };
    const err = scimErrorOf(() => matchesFilter(parseFilter('outer.inner eq "x"'), { outer: { inner: { value: 'x' } } }, nested));
    expect(err.scimType).toBe('invalidFilter');
    expect(err.message).toContain('"outer.inner" is complex; compare one of its sub-attributes');
  });

  it('reads a sub-attribute only from object values, whatever its name', () => {
    const lengths: AttributeScope = {
      attributes: [attr('items', 'complex', { multiValued: true, subAttributes: [attr('length', 'integer'), attr('value', 'string')] })],
    };
    expect(matchesFilter(parseFilter('items.length eq 3'), { items: ['abc', [1, 2, 3]] }, lengths)).toBe(false);
    expect(matchesFilter(parseFilter('items.length eq 3'), { items: [{ length: 3 }] }, lengths)).toBe(true);
  });

  it('treats undefined members of in-memory objects as absent, and an array member as present when any element is', () => {
    expect(match('name pr', { name: { givenName: undefined } })).toBe(false);
    expect(match('name pr', { name: { givenName: undefined, familyName: 'x' } })).toBe(true);
    expect(match('name pr', { name: { nested: ['', 'y'] } })).toBe(true);
    expect(match('name pr', { name: { nested: ['', null] } })).toBe(false);
  });
});

describe('lexer and parser: literals, escapes, whitespace, keywords', () => {
  const cmp = (attr: string, op: string, value: unknown): Filter => ({ kind: 'compare', op, path: { attr }, value }) as Filter;

  it.each<[string, Filter]>([
    // JSON string escapes (RFC 8259 §7)
    ['a eq "\\"\\\\\\/\\b\\f\\n\\r\\t"', cmp('a', 'eq', '"\\/\b\f\n\r\t')],
    ['a eq "\\u0041\\u00e9\\u00E9\\uAbCd"', cmp('a', 'eq', 'Aéé\uabcd')],
    ['a eq "\\u0030\\u0039\\u0046\\u0066"', cmp('a', 'eq', '09Ff')],
    ['a eq "\\u0aFa\\u09A9"', cmp('a', 'eq', '\u0afa\u09a9')],
    ['a eq "\\ud83d\\ude00"', cmp('a', 'eq', '\u{1F600}')],
    ['a eq "x\\u0041y"', cmp('a', 'eq', 'xAy')],
    ['a eq ""', cmp('a', 'eq', '')],
    ['a eq "\u007f"', cmp('a', 'eq', '\u007f')],
    ['a eq "é (not) [x]"', cmp('a', 'eq', 'é (not) [x]')],
    // numbers (RFC 8259 §6), true/false/null in any case
    ['a eq 0', cmp('a', 'eq', 0)],
    ['a eq -0', cmp('a', 'eq', 0)],
    ['a eq -12.50', cmp('a', 'eq', -12.5)],
    ['a eq 1e3', cmp('a', 'eq', 1000)],
    ['a eq 1E+2', cmp('a', 'eq', 100)],
    ['a eq 25e-1', cmp('a', 'eq', 2.5)],
    ['a eq 0.5', cmp('a', 'eq', 0.5)],
    ['a eq TRUE', cmp('a', 'eq', true)],
    ['a eq False', cmp('a', 'eq', false)],
    ['a eq NULL', cmp('a', 'eq', null)],
    // operators and keywords in any case; tabs, CR and LF separate tokens
    ['a GE 1', cmp('a', 'ge', 1)],
    ['a\teq\r\n1', cmp('a', 'eq', 1)],
    ['  a eq 1  ', cmp('a', 'eq', 1)],
    ['a Pr', { kind: 'present', path: { attr: 'a' } }],
    ['a pr AND b pr', { kind: 'and', filters: [{ kind: 'present', path: { attr: 'a' } }, { kind: 'present', path: { attr: 'b' } }] }],
    ['a pr Or b pr', { kind: 'or', filters: [{ kind: 'present', path: { attr: 'a' } }, { kind: 'present', path: { attr: 'b' } }] }],
    ['NOT (a pr)', { kind: 'not', filter: { kind: 'present', path: { attr: 'a' } } }],
    ['not(a pr)', { kind: 'not', filter: { kind: 'present', path: { attr: 'a' } } }],
    // attribute names that look like keywords are names where a name is expected
    ['pr pr', { kind: 'present', path: { attr: 'pr' } }],
    ['eq eq "x"', cmp('eq', 'eq', 'x')],
    ['orx pr or andy pr', { kind: 'or', filters: [{ kind: 'present', path: { attr: 'orx' } }, { kind: 'present', path: { attr: 'andy' } }] }],
    // names: ALPHA *(ALPHA / DIGIT / "-" / "_"), $ref, URIs up to the last ':'
    ['a-b_9Z pr', { kind: 'present', path: { attr: 'a-b_9Z' } }],
    ['x.$ref pr', { kind: 'present', path: { attr: 'x', sub: '$ref' } }],
    ['x.$REF pr', { kind: 'present', path: { attr: 'x', sub: '$REF' } }],
    ['urn:a+b.c-d:x:y.z pr', { kind: 'present', path: { uri: 'urn:a+b.c-d:x', attr: 'y', sub: 'z' } }],
    ['Z9:x:a pr', { kind: 'present', path: { uri: 'Z9:x', attr: 'a' } }],
    ['a:x:b pr', { kind: 'present', path: { uri: 'a:x', attr: 'b' } }],
    ['u+r-s.t:x:a pr', { kind: 'present', path: { uri: 'u+r-s.t:x', attr: 'a' } }],
    // precedence: and binds tighter than or; parentheses and flattening
    [
      'a pr or b pr and c pr',
      {
        kind: 'or',
        filters: [
          { kind: 'present', path: { attr: 'a' } },
          { kind: 'and', filters: [{ kind: 'present', path: { attr: 'b' } }, { kind: 'present', path: { attr: 'c' } }] },
        ],
      },
    ],
    [
      '(a pr or b pr) or (c pr and d pr)',
      {
        kind: 'or',
        filters: [
          { kind: 'present', path: { attr: 'a' } },
          { kind: 'present', path: { attr: 'b' } },
          { kind: 'and', filters: [{ kind: 'present', path: { attr: 'c' } }, { kind: 'present', path: { attr: 'd' } }] },
        ],
      },
    ],
    [
      '(a pr and b pr) or c pr',
      {
        kind: 'or',
        filters: [
          { kind: 'and', filters: [{ kind: 'present', path: { attr: 'a' } }, { kind: 'present', path: { attr: 'b' } }] },
          { kind: 'present', path: { attr: 'c' } },
        ],
      },
    ],
    [
      'e[t eq "w"].v sw "x"',
      {
        kind: 'valuePath',
        path: { attr: 'e' },
        filter: { kind: 'and', filters: [cmp('t', 'eq', 'w'), cmp('v', 'sw', 'x')] },
      },
    ],
    [
      'e[t eq "w" and u pr].v pr',
      {
        kind: 'valuePath',
        path: { attr: 'e' },
        filter: { kind: 'and', filters: [cmp('t', 'eq', 'w'), { kind: 'present', path: { attr: 'u' } }, { kind: 'present', path: { attr: 'v' } }] },
      },
    ],
  ])('%j parses', (source, ast) => {
    expect(parseFilter(source)).toStrictEqual(ast);
  });

  it.each<[string, string]>([
    ['', 'the filter is empty'],
    ['   ', 'the filter is empty'],
    ['a eq "x', 'unterminated string starting at position 5'],
    ['a eq "x\\', 'unterminated string starting at position 5'],
    ['a eq "\\q"', 'invalid escape "\\q" at position 6'],
    ['a eq "\\u00G1"', 'invalid \\u escape at position 6: expected 4 hex digits'],
    ['a eq "\\u00g1"', 'invalid \\u escape'],
    ['a eq "\\u00@1"', 'invalid \\u escape'],
    ['a eq "\\u00`1"', 'invalid \\u escape'],
    ['a eq "\\u00/1"', 'invalid \\u escape'],
    ['a eq "\\u00:1"', 'invalid \\u escape'],
    ['a eq "\\u12"', 'invalid \\u escape'],
    ['a eq "\\u0000"', 'the string at position 5 contains U+0000 (NUL), which cannot be stored or matched'],
    ['a eq "\\ud800"', 'contains a lone UTF-16 surrogate'],
    ['a eq "x\u0001"', 'control character U+0001 in the string at position 5 must be escaped (at position 7)'],
    ['a eq "\u001f"', 'control character U+001F'],
    ['a\u0001 pr', 'unexpected control character U+0001 at position 1'],
    ['a\u007f pr', 'unexpected control character U+007F at position 1'],
    ['a eq 01', 'invalid value "01" at position 5: expected a "string", a number, true, false or null'],
    ['a eq 1.', 'invalid value "1."'],
    ['a eq .5', 'invalid value ".5"'],
    ['a eq 1e', 'invalid value "1e"'],
    ['a eq 1e+', 'invalid value "1e+"'],
    ['a eq -', 'invalid value "-"'],
    ['a eq +1', 'invalid value "+1"'],
    ['a eq 1x', 'invalid value "1x"'],
    ["a eq 'x'", 'strings must be in double quotes'],
    ['a eq 1e999', 'number "1e999" at position 5 is out of range'],
    ['a eq', 'expected a value after "eq" at position 4, found the end of the filter'],
    ['a eq (', 'expected a value after "eq" at position 5, found "("'],
    ['a', 'expected a comparison operator after "a" at position 1, found the end of the filter'],
    ['a "x"', 'expected a comparison operator after "a" at position 2, found the string "x"'],
    ['a is "x"', 'unknown comparison operator "is" after "a" at position 2; expected eq, ne, co, sw, ew, gt, ge, lt, le or pr'],
    ['a pr b pr', 'unexpected "b" at position 5; expected "and", "or" or the end of the filter'],
    ['a pr)', 'unexpected ")" at position 4 (no matching "(")'],
    ['(a pr', 'expected ")" to close the "(" at position 0, found the end of the filter at position 5'],
    ['and a pr', 'expected an attribute path, "(" or "not" at position 0, found "and"'],
    ['a pr and or b pr', 'expected an attribute path, "(" or "not" after "and" at position 9, found "or"'],
    ['a pr or )', 'after "or" at position 8, found ")"'],
    ['not a pr', 'expected "(" after "not" at position 4, found "a"; write not ( … )'],
    ['e [t pr]', 'unexpected space before "[" at position 2; the value filter must follow "e" directly'],
    ['e[]', 'empty value filter at position 1'],
    ['e[t pr', 'expected "]" to close the "[" at position 1'],
    ['e[t[u pr]]', 'nested value filters are not allowed: "[" at position 3 inside "e[…]"'],
    ['e[x.y pr]', '"x.y" at position 2 is not a sub-attribute name: inside "e[…]" write sub-attributes of "e" without "." or a schema URI'],
    ['e[urn:a:b pr]', 'is not a sub-attribute name'],
    ['e.f[t pr]', 'a value filter must follow an attribute, not the sub-attribute "e.f" (position 3)'],
    ['e[t pr] .v pr', 'unexpected space before ".v" at position 8'],
    ['e[t pr].9 pr', 'invalid sub-attribute name "9" at position 8'],
    ['9a pr', 'invalid attribute name "9a" at position 0'],
    ['a.b.c pr', 'invalid sub-attribute name "b.c" at position 2'],
    ['a.-b pr', 'invalid sub-attribute name "-b"'],
    ['a$ pr', 'invalid attribute name "a$"'],
    ['urn:x: pr', 'expected an attribute name after "urn:x:" at position 6'],
    [':a pr', 'invalid attribute path ":a" at position 0'],
    ['9u:a pr', 'invalid attribute path'],
    ['u_r:a pr', 'invalid attribute path'],
    ['urn::a pr', 'invalid attribute path'],
    ['u_r:x:a pr', 'invalid attribute path "u_r:x:a" at position 0'],
    ['9u:x:a pr', 'invalid attribute path'],
    ['u r:x:a pr', 'unknown comparison operator "r:x:a"'],
    ['urn:x:y:9 pr', 'invalid attribute name "9" at position 8'],
    [`a eq "${'x'.repeat(60)}" b`, 'unexpected "b"'],
    ['a pr and', 'after "and" at position 8, found the end of the filter'],
    [`a eq "x" ${'y'.repeat(50)}`, `unexpected "${'y'.repeat(40)}…" at position 9`],
    [`a eq "x" "${'y'.repeat(50)}"`, `unexpected the string "${'y'.repeat(40)}…" at position 9`],
  ])('%j → invalidFilter: %s', (source, message) => {
    const err = scimErrorOf(() => parseFilter(source));
    expect({ status: err.status, scimType: err.scimType }).toEqual({ status: 400, scimType: 'invalidFilter' });
    expect(err.message).toContain(message);
  });

  it('rejects a non-string filter and a path over the length limit', () => {
    expect(scimErrorOf(() => parseFilter(3 as unknown as string)).message).toContain('the filter must be a string');
    expect(scimErrorOf(() => parseFilter(`a eq "${'x'.repeat(FILTER_LIMITS.maxLength)}"`)).message).toContain(
      `the filter is too long: ${FILTER_LIMITS.maxLength + 7} characters, the limit is ${FILTER_LIMITS.maxLength}`,
    );
    const exactly = `a eq "${'x'.repeat(FILTER_LIMITS.maxLength - 7)}"`;
    expect(exactly).toHaveLength(FILTER_LIMITS.maxLength);
    expect(parseFilter(exactly).kind).toBe('compare');
  });

  it('counts comparisons inside value filters and presence tests against the limit', () => {
    const n = FILTER_LIMITS.maxComparisons;
    const ok = Array.from({ length: n / 2 }, () => 'e[t eq 1 and u pr]').join(' or ');
    expect(parseFilter(ok).kind).toBe('or');
    expect(scimErrorOf(() => parseFilter(`${ok} or a pr`)).message).toContain(`more than ${n} comparisons (at position`);
  });

  it('limits the nesting of [ … ] as well', () => {
    const depth = FILTER_LIMITS.maxDepth;
    const inside = (d: number) => `e[${'('.repeat(d - 1)}t pr${')'.repeat(d - 1)}]`;
    expect(parseFilter(inside(depth)).kind).toBe('valuePath');
    expect(scimErrorOf(() => parseFilter(inside(depth + 1))).message).toContain(`nests deeper than ${depth} levels (at position`);
  });
});

describe('PATCH paths and attribute paths (RFC 7644 §3.5.2, §3.10)', () => {
  it.each<[string, unknown]>([
    ['members', { path: { attr: 'members' } }],
    [' name.familyName ', { path: { attr: 'name', sub: 'familyName' } }],
    ['members[value eq "x"]', { path: { attr: 'members' }, valueFilter: { kind: 'compare', op: 'eq', path: { attr: 'value' }, value: 'x' } }],
    [
      'emails[type eq "work"].value',
      { path: { attr: 'emails' }, valueFilter: { kind: 'compare', op: 'eq', path: { attr: 'type' }, value: 'work' }, subAttr: 'value' },
    ],
    [`${ENT}:manager.value`, { path: { uri: ENT, attr: 'manager', sub: 'value' } }],
  ])('parsePatchPath(%j)', (source, expected) => {
    expect(parsePatchPath(source)).toStrictEqual(expected);
  });

  it.each<[string, string]>([
    ['', 'the path is empty'],
    ['  ', 'the path is empty'],
    ['"x"', 'expected an attribute path at position 0, found the string "x"'],
    ['(a)', 'expected an attribute path at position 0, found "("'],
    ['members[value eq "x"] x', 'unexpected "x" at position 22 in the path'],
    ['members x', 'unexpected "x" at position 8 in the path'],
    ['members[value eq]', 'expected a value after "eq"'],
    ['members [value pr]', 'unexpected space before "["'],
  ])('parsePatchPath(%j) → invalidPath: %s', (source, message) => {
    const err = scimErrorOf(() => parsePatchPath(source));
    expect({ status: err.status, scimType: err.scimType }).toEqual({ status: 400, scimType: 'invalidPath' });
    expect(err.message).toContain(message);
  });

  it.each<[string, string]>([
    ['', 'the attribute path is empty'],
    ['a b', 'unexpected "b" at position 2 in the attribute path'],
    ['a[b pr]', 'unexpected "[" at position 1 in the attribute path'],
  ])('parseAttrPath(%j) → invalidPath: %s', (source, message) => {
    const err = scimErrorOf(() => parseAttrPath(source));
    expect({ status: err.status, scimType: err.scimType }).toEqual({ status: 400, scimType: 'invalidPath' });
    expect(err.message).toContain(message);
  });

  it('parses attribute paths with surrounding whitespace', () => {
    expect(parseAttrPath('\tname.givenName ')).toStrictEqual({ attr: 'name', sub: 'givenName' });
    expect(parseAttrPath(`${ENT}:employeeNumber`)).toStrictEqual({ uri: ENT, attr: 'employeeNumber' });
  });
});
