// RFC 7644 §3.4.2.2 filters and §3.5.2 PATCH paths: parser tables (test/fixtures/scim/filters.json),
// hostile-input limits, and the in-memory evaluator against a User-like scope.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AttrPath, Filter, PatchPath } from '../../../src/scim/filter/ast.js';
import type { AttributeDefinition } from '../../../src/scim/schema-types.js';
import { ScimError } from '../../../src/scim/errors.js';
import { FILTER_LIMITS, parseAttrPath, parseFilter, parsePatchPath } from '../../../src/scim/filter/parse.js';
import { compileFilter, matchesFilter, type AttributeScope } from '../../../src/scim/filter/evaluate.js';

interface Valid<T> {
  note?: string;
  source: string;
  ast?: T;
  result?: T;
}
interface Invalid {
  note?: string;
  source: string;
  message: string;
}
interface Table<T> {
  valid: Valid<T>[];
  invalid: Invalid[];
}
interface Fixture {
  filters: Table<Filter>;
  patchPaths: Table<PatchPath>;
  attrPaths: Table<AttrPath>;
}

const fixture = JSON.parse(
  readFileSync(new URL('../../fixtures/scim/filters.json', import.meta.url), 'utf8'),
) as Fixture;

/** Run `fn`, expect a ScimError 400 with `scimType`, and return its message. */
function errorOf(fn: () => unknown, scimType: 'invalidFilter' | 'invalidPath'): string {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  expect(caught).toBeInstanceOf(ScimError);
  const error = caught as ScimError;
  expect({ status: error.status, scimType: error.scimType }).toEqual({ status: 400, scimType });
  return error.message;
}

describe('parseFilter', () => {
  it.each(fixture.filters.valid)('parses $source', ({ source, ast }) => {
    expect(parseFilter(source)).toStrictEqual(ast);
  });

  it.each(fixture.filters.invalid)('rejects $source as invalidFilter', ({ source, message }) => {
    expect(errorOf(() => parseFilter(source), 'invalidFilter')).toContain(message);
  });

  it('parses every RFC 7644 §3.4.2.2 example filter', () => {
    const examples = fixture.filters.valid.filter((c) => c.note?.startsWith('RFC 7644'));
    expect(examples).toHaveLength(17);
  });
});

describe('parseFilter limits on hostile input', () => {
  const nested = (depth: number) => `${'('.repeat(depth)}title pr${')'.repeat(depth)}`;

  it(`accepts ${FILTER_LIMITS.maxDepth} nested parentheses`, () => {
    expect(parseFilter(nested(FILTER_LIMITS.maxDepth))).toEqual({ kind: 'present', path: { attr: 'title' } });
  });

  it('rejects 60 nested parentheses', () => {
    expect(errorOf(() => parseFilter(nested(60)), 'invalidFilter')).toContain('nests deeper than 50 levels');
  });

  it('rejects 60 nested not ( … )', () => {
    const source = `${'not ('.repeat(60)}title pr${')'.repeat(60)}`;
    expect(errorOf(() => parseFilter(source), 'invalidFilter')).toContain('nests deeper than 50 levels');
  });

  it('rejects 5,000 unclosed parentheses without overflowing the stack', () => {
    expect(errorOf(() => parseFilter('('.repeat(5000)), 'invalidFilter')).toContain('nests deeper');
  });

  it('rejects a filter longer than 10,000 characters', () => {
    const source = `userName eq "${'a'.repeat(10_000)}"`;
    expect(errorOf(() => parseFilter(source), 'invalidFilter')).toContain('too long');
  });

  it('accepts 500 comparisons and rejects 501', () => {
    const chain = (n: number) => Array.from({ length: n }, () => 'a pr').join(' or ');
    const ok = parseFilter(chain(500));
    expect(ok.kind === 'or' && ok.filters.length).toBe(500);
    expect(errorOf(() => parseFilter(chain(501)), 'invalidFilter')).toContain('more than 500 comparisons');
  });

  it('rejects 10,000 open parentheses (the longest allowed input) without overflowing the stack', () => {
    expect(errorOf(() => parseFilter('('.repeat(10_000)), 'invalidFilter')).toContain('nests deeper');
  });

  it('throws only ScimErrors on random token soup', () => {
    const pieces = ['a', 'emails', '.value', 'eq', 'pr', 'and', 'or', 'not', '(', ')', '[', ']', '"x"', '"\\u00e9"',
      '"\\', '1', '-', 'true', ' ', ' ', '\t', 'urn:x:y:', ':', '.', '$ref', "'", 'e5'];
    let seed = 42;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    for (let k = 0; k < 5000; k++) {
      let source = '';
      for (let j = random(16); j > 0; j--) source += pieces[random(pieces.length)];
      for (const parse of [parseFilter, parsePatchPath, parseAttrPath]) {
        try {
          parse(source);
        } catch (e) {
          if (!(e instanceof ScimError)) throw new Error(`${parse.name}(${JSON.stringify(source)}) threw ${String(e)}`);
        }
      }
    }
  });

  it('parses a long flat filter into every one of its clauses', () => {
    // (no wall-clock bound here: parse speed belongs in the benchmark, npm run bench)
    const source = Array.from({ length: 300 }, (_, i) => `emails[type eq "t${i}"]`).join(' and ');
    const parsed = parseFilter(source);
    const text = JSON.stringify(parsed);
    for (const i of [0, 1, 150, 298, 299]) expect(text).toContain(`"t${i}"`);
    expect(text.match(/"t\d+"/g)).toHaveLength(300);
  });

  it('refuses long runs that could make a regex backtrack, with the reason (their speed is not timed here)', () => {
    expect(errorOf(() => parseFilter(`userName eq "${'\\"'.repeat(4_990)}`), 'invalidFilter')).toMatch(/\S/);
    expect(errorOf(() => parseFilter(`${'a'.repeat(9_000)}:`), 'invalidFilter')).toMatch(/\S/);
  });
});

describe('parsePatchPath', () => {
  it.each(fixture.patchPaths.valid)('parses $source', ({ source, result }) => {
    expect(parsePatchPath(source)).toStrictEqual(result);
  });

  it.each(fixture.patchPaths.invalid)('rejects $source as invalidPath', ({ source, message }) => {
    expect(errorOf(() => parsePatchPath(source), 'invalidPath')).toContain(message);
  });
});

describe('parseAttrPath', () => {
  it.each(fixture.attrPaths.valid)('parses $source', ({ source, result }) => {
    expect(parseAttrPath(source)).toStrictEqual(result);
  });

  it.each(fixture.attrPaths.invalid)('rejects $source as invalidPath', ({ source, message }) => {
    expect(errorOf(() => parseAttrPath(source), 'invalidPath')).toContain(message);
  });
});

// ── evaluator ─────────────────────────────────────────────────────────────────────────────────

const CORE = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

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

const userScope: AttributeScope = {
  coreSchema: CORE,
  attributes: [
    attr('id', 'string', { caseExact: true, mutability: 'readOnly' }),
    attr('externalId', 'string', { caseExact: true }),
    attr('userName', 'string', { uniqueness: 'server' }),
    attr('displayName', 'string'),
    attr('nickName', 'string'),
    attr('title', 'string'),
    attr('userType', 'string'),
    attr('active', 'boolean'),
    attr('loginCount', 'integer'),
    attr('score', 'decimal'),
    attr('tags', 'string', { multiValued: true }),
    attr('name', 'complex', { subAttributes: [attr('givenName', 'string'), attr('familyName', 'string')] }),
    attr('emails', 'complex', {
      multiValued: true,
      subAttributes: [attr('value', 'string'), attr('type', 'string'), attr('primary', 'boolean')],
    }),
    attr('groups', 'complex', {
      multiValued: true,
      subAttributes: [attr('value', 'string'), attr('$ref', 'reference', { caseExact: true }), attr('display', 'string')],
    }),
    attr('x509Certificates', 'complex', { multiValued: true, subAttributes: [attr('value', 'binary')] }), // caseExact:false, yet binary is exact
    attr('meta', 'complex', {
      subAttributes: [
        attr('created', 'dateTime'),
        attr('lastModified', 'dateTime'),
        attr('resourceType', 'string', { caseExact: true }),
        attr('version', 'string', { caseExact: true }),
      ],
    }),
  ],
  extensions: {
    [ENTERPRISE]: [
      attr('employeeNumber', 'string'),
      attr('manager', 'complex', {
        subAttributes: [attr('value', 'string'), attr('$ref', 'reference', { caseExact: true }), attr('displayName', 'string')],
      }),
    ],
  },
};

const bjensen = {
  id: '2819c223-7f76-453a-919d-413861904646',
  externalId: 'BJ-1',
  userName: 'bjensen',
  displayName: 'Babs Jensen',
  title: '',
  userType: 'Employee',
  active: true,
  loginCount: 42,
  score: 3.5,
  tags: ['alpha', 'Beta'],
  name: { givenName: 'Barbara', familyName: "O'Malley" },
  emails: [
    { value: 'bjensen@example.com', type: 'work', primary: true },
    { value: 'babs@jensen.org', type: 'home' },
  ],
  groups: [],
  x509Certificates: [{ value: 'TUlJRE1E' }],
  meta: { created: '2010-01-23T04:56:22Z', lastModified: '2011-05-13T04:42:34Z', resourceType: 'User', version: 'W/"a330bc54f0671c9"' },
  [ENTERPRISE]: { employeeNumber: '701984', manager: { value: '26118915-6090-4610-87e4-49d8ca9f808d', displayName: 'John Smith' } },
};

const matches = (filter: string, target: unknown = bjensen) => matchesFilter(parseFilter(filter), target, userScope);

describe('matchesFilter', () => {
  it.each([
    // caseExact:false folds case, caseExact:true does not; attribute names are case-insensitive
    ['userName eq "bjensen"', true],
    ['userName eq "BJensen"', true],
    ['USERNAME eq "bjensen"', true],
    ['userName ne "BJENSEN"', false],
    ['userName co "JEN"', true],
    ['userName sw "BJ"', true],
    ['userName ew "SEN"', true],
    ['userName sw "J"', false],
    ['userName gt "BA"', true],
    ['userName ge "BJENSEN"', true],
    ['userName le "bjensen"', true],
    ['userName lt "bjensen"', false],
    ['id eq "2819c223-7f76-453a-919d-413861904646"', true],
    ['id eq "2819C223-7F76-453A-919D-413861904646"', false],
    ['externalId eq "bj-1"', false],
    ['externalId eq "BJ-1"', true],
    ['meta.version eq "W/\\"a330bc54f0671c9\\""', true],
    ['name.familyName co "O\'Malley"', true],
    ['NAME.FAMILYNAME eq "o\'malley"', true],
    ['displayName co ""', true],
    // multi-valued: any value matches
    ['emails.value ew "@jensen.org"', true],
    ['emails.type eq "work"', true],
    ['emails.type eq "other"', false],
    ['emails co "example.com"', true],
    ['emails eq "BABS@jensen.org"', true],
    ['tags eq "beta"', true],
    ['tags sw "gam"', false],
    // ne is NOT(eq): for multi-valued, true only if no value equals
    ['emails.type ne "work"', false],
    ['emails.type ne "other"', true],
    ['tags ne "ALPHA"', false],
    // missing attributes: every comparison is false, so ne is true
    ['nickName eq "x"', false],
    ['nickName co ""', false],
    ['nickName gt ""', false],
    ['nickName ne "x"', true],
    ['nickName pr', false],
    ['nickName eq null', true],
    ['nickName ne null', false],
    ['userName eq null', false],
    ['userName ne null', true],
    ['groups.value ne "x"', true],
    // pr: "" and [] are not present
    ['title pr', false],
    ['title eq null', true],
    ['groups pr', false],
    ['emails pr', true],
    ['emails.primary pr', true],
    ['name pr', true],
    ['active pr', true],
    // booleans and numbers
    ['active eq true', true],
    ['active eq True', true],
    ['active ne false', true],
    ['active eq false', false],
    ['loginCount eq 42', true],
    ['loginCount gt 41', true],
    ['loginCount ge 42', true],
    ['loginCount lt 4.2e1', false],
    ['loginCount le 4.2e1', true],
    ['loginCount ne 42.0', false],
    ['score le 3.5', true],
    ['score gt -1', true],
    ['score lt 1e1', true],
    // dateTime: instants, whatever the offset or fraction; co/sw/ew on the stored text
    ['meta.lastModified eq "2011-05-13T04:42:34Z"', true],
    ['meta.lastModified eq "2011-05-13T06:42:34+02:00"', true],
    ['meta.lastModified eq "2011-05-12T23:42:34-05:00"', true],
    ['meta.lastModified eq "2011-05-13T04:42:34.000Z"', true],
    ['meta.lastModified ne "2011-05-13T04:42:34.001Z"', true],
    ['meta.lastModified gt "2011-05-13T04:42:33Z"', true],
    ['meta.lastModified gt "2011-05-13T04:42:34Z"', false],
    ['meta.lastModified ge "2011-05-13T06:42:34+02:00"', true],
    ['meta.lastModified lt "2011-05-13T04:42:34.001Z"', true],
    ['meta.lastModified le "2011-05-13T00:00:00-05:00"', true],
    ['meta.lastModified gt "2011-05-13T00:00:00-05:00"', false],
    ['meta.lastModified sw "2011-05"', true],
    ['meta.created co "T04:56"', true],
    ['meta.created co "t04:56"', false],
    ['x509Certificates.value eq "TUlJRE1E"', true],
    ['x509Certificates.value eq "tuljre1e"', false],
    ['meta.created ew "Z"', true],
    // extension and core URNs, case-insensitive
    [`${ENTERPRISE}:employeeNumber eq "701984"`, true],
    [`${ENTERPRISE.toUpperCase()}:EMPLOYEENUMBER eq "701984"`, true],
    [`${ENTERPRISE}:manager.value eq "26118915-6090-4610-87e4-49d8ca9f808d"`, true],
    [`${ENTERPRISE}:manager eq "26118915-6090-4610-87e4-49d8ca9f808d"`, true],
    [`${ENTERPRISE}:manager.$ref pr`, false],
    [`${CORE}:userName sw "b"`, true],
    [`${CORE}:name.givenName eq "barbara"`, true],
    // value paths: all conditions hold for the SAME value
    ['emails[type eq "work" and value co "@example.com"]', true],
    ['emails[type eq "home" and value co "@example.com"]', false],
    ['emails[type eq "work"].value eq "bjensen@example.com"', true],
    ['emails[type eq "home"].value eq "bjensen@example.com"', false],
    ['emails[type eq "home"].value pr', true],
    ['emails[not (type eq "work")]', true],
    ['emails[primary eq true]', true],
    ['emails[primary ne true]', true],
    ['emails[primary eq false]', false],
    ['EMAILS[TYPE EQ "WORK"]', true],
    [`${ENTERPRISE}:manager[displayName sw "john"]`, true],
    ['groups[value pr]', false],
    ['not (groups[value pr])', true],
    // logic, RFC 7644 §3.4.2.2 examples, and De Morgan (scimmy gets `not (a and b)` wrong)
    ['userType eq "Employee" and (emails co "example.com" or emails.value co "example.org")', true],
    ['userType ne "Employee" and not (emails co "example.com" or emails.value co "example.org")', false],
    ['userType eq "Employee" and (emails.type eq "work")', true],
    ['userType eq "Employee" and emails[type eq "work" and value co "@example.com"]', true],
    ['emails[type eq "work" and value co "@example.com"] or ims[type eq "xmpp"]', 'throws'],
    ['title pr and userType eq "Employee"', false],
    ['title pr or userType eq "Intern"', false],
    ['not (userName eq "bjensen" and title eq "x")', true],
    ['not (userName eq "bjensen" or title eq "x")', false],
    ['not (userName eq "nobody") and not (title eq "x")', true],
    ['userName eq "nobody" or active eq true and loginCount gt 40', true],
    ['(userName eq "nobody" or active eq true) and loginCount gt 50', false],
  ] as const)('%s → %s', (filter, expected) => {
    if (expected === 'throws') errorOf(() => matches(filter), 'invalidFilter');
    else expect(matches(filter)).toBe(expected);
  });

  it.each([
    ['foo eq "x"', 'unknown attribute "foo"'],
    ['name.foo eq "x"', 'unknown attribute "name.foo"'],
    ['userName.foo eq "x"', 'unknown attribute "userName.foo"'],
    ['urn:example:nope:foo eq "x"', 'unknown attribute "urn:example:nope:foo"'],
    [`${ENTERPRISE}:userName eq "x"`, 'unknown attribute'],
    [`${ENTERPRISE}:manager.foo eq "x"`, 'unknown attribute'],
    ['employeeNumber eq "701984"', 'unknown attribute "employeeNumber"'],
    ['emails[foo eq "x"]', 'unknown attribute "foo"'],
    ['active eq "True"', 'cannot compare boolean attribute "active" with string "True"'],
    ['active eq 1', 'cannot compare boolean'],
    ['active gt true', '"gt" is not defined for boolean attribute "active"'],
    ['active co "t"', '"co" is not defined for boolean'],
    ['loginCount eq "42"', 'cannot compare integer attribute "loginCount" with string "42"'],
    ['loginCount co 4', '"co" is not defined for integer'],
    ['score sw 1', '"sw" is not defined for decimal'],
    ['userName eq 1', 'cannot compare string attribute "userName" with number 1'],
    ['userName eq true', 'cannot compare string'],
    ['userName gt null', 'cannot compare "userName" with null'],
    ['userName co null', 'null'],
    ['meta.lastModified gt "yesterday"', 'is not a dateTime'],
    ['meta.lastModified eq "2011-05-13T04:42:34"', 'is not a dateTime'],
    ['meta.lastModified eq "2011-05-13 04:42:34Z"', 'is not a dateTime'],
    ['meta.lastModified eq 5', 'cannot compare dateTime'],
    ['meta.lastModified co 5', 'cannot compare dateTime'],
    ['x509Certificates.value gt "a"', '"gt" is not defined for binary'],
    ['name eq "x"', '"name" is complex'],
    ['meta co "x"', '"meta" is complex'],
    ['userName[value eq "x"]', 'a value filter needs a complex attribute'],
    // resolved and type-checked before evaluation, so short-circuiting cannot hide the error
    ['userName eq "bjensen" or active eq "yes"', 'cannot compare boolean'],
    ['userName eq "nobody" and bogus pr', 'unknown attribute "bogus"'],
  ])('rejects %s as invalidFilter', (filter, message) => {
    expect(errorOf(() => matches(filter), 'invalidFilter')).toContain(message);
  });

  it('pr is false for empty strings, arrays and objects, true for false and 0', () => {
    const user = {
      active: false,
      loginCount: 0,
      emails: [{}, { value: '' }],
      name: { givenName: '' },
      groups: [null],
      tags: [''],
    };
    expect(matches('active pr', user)).toBe(true);
    expect(matches('loginCount pr', user)).toBe(true);
    expect(matches('emails pr', user)).toBe(false);
    expect(matches('emails.value pr', user)).toBe(false);
    expect(matches('name pr', user)).toBe(false);
    expect(matches('groups pr', user)).toBe(false);
    expect(matches('tags pr', user)).toBe(false);
    expect(matches('emails eq null', user)).toBe(true);
  });

  it('treats a single complex attribute as one value in a value path', () => {
    expect(matches('name[givenName eq "barbara" and familyName sw "o\'"]')).toBe(true);
    expect(matches('name[givenName eq "x"]')).toBe(false);
  });

  it('never matches stored values of the wrong type, and never throws on them', () => {
    const odd = {
      userName: 42,
      active: 'true',
      loginCount: '42',
      emails: ['bjensen@example.com', { value: 7 }],
      meta: { lastModified: 'not a date' },
      [ENTERPRISE]: 'not an object',
    };
    expect(matches('userName eq "42"', odd)).toBe(false);
    expect(matches('active eq true', odd)).toBe(false);
    expect(matches('loginCount eq 42', odd)).toBe(false);
    expect(matches('emails co "example"', odd)).toBe(false);
    expect(matches('emails[value pr]', odd)).toBe(true);
    expect(matches('emails[type ne "work"]', odd)).toBe(true);
    expect(matches('meta.lastModified gt "2000-01-01T00:00:00Z"', odd)).toBe(false);
    expect(matches(`${ENTERPRISE}:employeeNumber pr`, odd)).toBe(false);
    for (const target of [null, undefined, 'x', 3, []]) expect(matches('userName ne "x"', target)).toBe(true);
  });

  it('reads own properties only', () => {
    const scope: AttributeScope = { attributes: [attr('constructor', 'string'), attr('toString', 'string')] };
    expect(matchesFilter(parseFilter('constructor pr or toString pr'), {}, scope)).toBe(false);
  });

  it('evaluates a value filter against the sub-attributes of one value', () => {
    const subScope: AttributeScope = { attributes: userScope.attributes.find((a) => a.name === 'emails')?.subAttributes ?? [] };
    const { valueFilter } = parsePatchPath('emails[type eq "WORK" and primary eq true]');
    expect(valueFilter && matchesFilter(valueFilter, bjensen.emails[0], subScope)).toBe(true);
    expect(valueFilter && matchesFilter(valueFilter, bjensen.emails[1], subScope)).toBe(false);
  });

  it('compiles once and tests many targets', () => {
    const test = compileFilter(parseFilter('emails[type eq "work"].value ew "@example.com"'), userScope);
    const users = Array.from({ length: 1000 }, (_, i) => ({
      emails: [{ type: i % 2 ? 'work' : 'home', value: `u${i}@example.com` }],
    }));
    expect(users.filter(test)).toHaveLength(500);
  });

  it('supports Date objects as stored dateTimes', () => {
    const user = { meta: { lastModified: new Date('2011-05-13T04:42:34Z') } };
    expect(matches('meta.lastModified eq "2011-05-13T06:42:34+02:00"', user)).toBe(true);
    expect(matches('meta.lastModified pr', user)).toBe(true);
  });
});
