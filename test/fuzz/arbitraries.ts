// fast-check generators for the fuzz suite: filters from the grammar over the registered
// attributes and operators (plus mutations), hostile values, bodies and query parameters.
// Everything here is pure: what depends on the seeded data (ids, literal pools) comes in as data.

import fc from 'fast-check';
import type { ResourceTypeInfo } from '../../src/scim/registry.js';
import type { AttributeDefinition } from '../../src/scim/schema-types.js';

// ── attribute paths of a resource type ─────────────────────────────────────────────────────────

export interface PathInfo {
  /** as a client writes it: `emails.value`, `urn:…:Agent:sponsor.value` */
  text: string;
  /** the attribute named last (the sub-attribute when there is one) */
  def: AttributeDefinition;
  /** the top-level attribute */
  top: AttributeDefinition;
  /** the extension URN, when the attribute lives in one */
  uri?: string;
  /**
   * Strings the seeded data holds at this very path (harness.ts sets them for multi-valued
   * sub-attributes, whose few values are lost among the pool of every string of the type).
   */
  values?: string[];
}

/**
 * Every attribute and sub-attribute path of a type: common, core and extension attributes. A
 * multi-valued sub-attribute (`def.multiValued`, `def !== top`) is an array in each complex value.
 */
export function pathsOf(rt: ResourceTypeInfo): PathInfo[] {
  const out: PathInfo[] = [];
  const add = (prefix: string, attrs: readonly AttributeDefinition[], uri?: string) => {
    for (const a of attrs) {
      out.push({ text: prefix + a.name, def: a, top: a, ...(uri ? { uri } : {}) });
      for (const s of a.subAttributes ?? []) out.push({ text: `${prefix}${a.name}.${s.name}`, def: s, top: a, ...(uri ? { uri } : {}) });
    }
  };
  add('', rt.attributes);
  for (const e of rt.extensions) add(`${e.schema.id}:`, e.schema.attributes, e.schema.id);
  return out;
}

/** Same name in another case: resolution is case-insensitive (RFC 7643 §2.1). */
function recase(text: string, mode: number): string {
  if (mode === 1) return text.toUpperCase();
  if (mode === 2) return text.toLowerCase();
  if (mode === 3) return text.replace(/[a-z]/g, (c, i: number) => (i % 2 ? c.toUpperCase() : c));
  return text;
}

// ── literals ───────────────────────────────────────────────────────────────────────────────────

/** Strings that break naive folding, LIKE patterns, escaping or storage. */
export const NASTY_STRINGS = [
  '',
  ' ',
  'İstanbul',
  'i̇stanbul',
  'istanbul',
  'ISTANBUL',
  'ß',
  'SS',
  'ẞ',
  '\u212a', // KELVIN SIGN, lower-cases to "k"
  'k',
  'Σ',
  'ς',
  'ǅ',
  'ﬃ',
  '%',
  '_',
  'a%',
  '_b',
  '\\',
  '\\%',
  "'",
  "''; --",
  '"',
  '*',
  'a\u0000b',
  '\u0000',
  '\ud800',
  'x\udfffy',
  '\ud83d\ude00',
  'Ä',
  'ä',
  'a\u0308',
  '\u200b',
  '\t\n',
];

export const ODD_DATES = [
  '2026-01-01T00:00:00Z',
  '2026-01-01T00:00:00.000Z',
  '2026-01-01T01:00:00+01:00',
  '2026-01-01T00:00:30.5Z',
  '2026-01-01',
  '2026-01-01T00:00:00',
  '2026-13-01T00:00:00Z',
  '2026-02-30T00:00:00Z',
  '2026-01-01T24:00:00Z',
  '2026-01-01T00:00:60Z',
  '2026-01-01T00:00:00+25:00',
  '1970-01-01T00:00:00Z',
  '0000-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999Z',
  '+275760-09-13T00:00:00Z',
  '-000001-01-01T00:00:00Z',
  '2026-01-01T00:00:00.123456789Z',
  '2026-W01',
  'yesterday',
  '',
];

export const ODD_NUMBERS_TEXT = [
  '0',
  '-0',
  '1.5',
  '-1',
  '1e21',
  '1e400',
  '-1e400',
  '1e-400',
  '9007199254740993',
  '123456789012345678901234567890',
  '0x10',
  '1_000',
  'NaN',
  'Infinity',
  '.5',
  '5.',
  '01',
  '1e',
  '--1',
];

export interface LiteralPools {
  /** strings seen in the seeded data of this type (values worth matching) */
  strings: string[];
  numbers: number[];
}

const stringLiteral = (pools: LiteralPools) =>
  fc.oneof(
    { weight: 5, arbitrary: pools.strings.length ? fc.constantFrom(...pools.strings) : fc.constant('x') },
    { weight: 2, arbitrary: fc.tuple(pools.strings.length ? fc.constantFrom(...pools.strings) : fc.constant('x'), fc.integer({ min: 0, max: 3 }), fc.nat()).map(([s, m, n]) => variant(s, m, n)) },
    { weight: 2, arbitrary: fc.constantFrom(...NASTY_STRINGS) },
    { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
    { weight: 1, arbitrary: fc.constantFrom(...ODD_DATES) },
  );

/** A piece of a known value in another case: what co/sw/ew and case folding are for. */
function variant(s: string, mode: number, n: number): string {
  const cut = s.length ? n % (s.length + 1) : 0;
  if (mode === 0) return s.slice(0, cut).toUpperCase();
  if (mode === 1) return s.slice(cut).toLowerCase();
  if (mode === 2) return s.slice(Math.floor(cut / 2), cut);
  return s.toUpperCase();
}

/** Literal text for a comparison with `def`: usually of the right type, sometimes not. */
export function literalText(def: AttributeDefinition, pools: LiteralPools, own?: string[]): fc.Arbitrary<string> {
  const any = stringLiteral(pools).map((s) => JSON.stringify(s));
  // the values at this path, as they are and in other cases or pieces (folding, co/sw/ew, order)
  const str = own?.length
    ? fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom(...own).map((s) => JSON.stringify(s)) },
        { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...own), fc.integer({ min: 0, max: 3 }), fc.nat()).map(([s, m, n]) => JSON.stringify(variant(s, m, n))) },
        { weight: 2, arbitrary: any },
      )
    : any;
  const num = fc.oneof(
    pools.numbers.length ? fc.constantFrom(...pools.numbers).map(String) : fc.constant('1'),
    fc.integer({ min: -5, max: 400 }).map(String),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => JSON.stringify(d)),
  );
  const bool = fc.constantFrom('true', 'false');
  const date = fc.constantFrom(...ODD_DATES).map((d) => JSON.stringify(d));
  const wrong = fc.constantFrom('null', 'true', 'false', '42', '"text"', '"True"', 'null');
  const right: fc.Arbitrary<string> =
    def.type === 'boolean' ? bool : def.type === 'integer' || def.type === 'decimal' ? num : def.type === 'dateTime' ? fc.oneof(date, str) : str;
  return fc.oneof({ weight: 8, arbitrary: right }, { weight: 1, arbitrary: wrong }, { weight: 1, arbitrary: fc.constant('null') });
}

const OPS = ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le'] as const;

function opsFor(def: AttributeDefinition): readonly string[] {
  switch (def.type) {
    case 'boolean':
      return ['eq', 'ne', 'eq', 'ne', 'gt'];
    case 'integer':
    case 'decimal':
      return ['eq', 'ne', 'gt', 'ge', 'lt', 'le', 'co'];
    case 'dateTime':
      return ['eq', 'ne', 'gt', 'ge', 'lt', 'le', 'sw'];
    default:
      return OPS;
  }
}

// ── filters ────────────────────────────────────────────────────────────────────────────────────

/** A comparison or presence test over one of `paths`. */
function attrExpr(paths: PathInfo[], pools: LiteralPools): fc.Arbitrary<string> {
  return fc
    .record({ p: fc.constantFrom(...paths), mode: fc.integer({ min: 0, max: 6 }), opCase: fc.integer({ min: 0, max: 9 }) })
    .chain(({ p, mode, opCase }) => {
      const name = recase(p.text, mode);
      return fc.oneof(
        { weight: 1, arbitrary: fc.constant(`${name} pr`) },
        {
          weight: 6,
          arbitrary: fc
            .tuple(fc.constantFrom(...opsFor(p.def)), literalText(p.def, pools, p.values))
            .map(([op, lit]) => `${name} ${opCase === 0 ? op.toUpperCase() : op} ${lit}`),
        },
      );
    });
}

/**
 * `attr[ … ]` over a complex attribute, its sub-attributes as the scope. With `nestedOnly`, only
 * complex attributes with a multi-valued sub-attribute, and the inner filter mostly about those.
 */
function valuePathExpr(paths: PathInfo[], pools: LiteralPools, nestedOnly = false): fc.Arbitrary<string> | undefined {
  const complex = paths.filter(
    (p) =>
      p.def === p.top &&
      p.def.type === 'complex' &&
      (p.def.subAttributes?.length ?? 0) > 0 &&
      (!nestedOnly || (p.def.subAttributes ?? []).some((s) => s.multiValued)),
  );
  if (complex.length === 0) return undefined;
  return fc.constantFrom(...complex).chain((p) => {
    const all = p.def.subAttributes ?? [];
    const favoured = nestedOnly ? [...all, ...[1, 2, 3].flatMap(() => all.filter((s) => s.multiValued))] : all;
    const valuesOf = (s: AttributeDefinition) => paths.find((x) => x.top === p.def && x.def === s)?.values;
    const subs: PathInfo[] = favoured.map((s) => {
      const values = valuesOf(s);
      return { text: s.name, def: s, top: s, ...(values ? { values } : {}) };
    });
    const inner = fc.letrec<{ f: string }>((tie) => ({
      f: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        attrExpr(subs, pools),
        fc.tuple(tie('f'), fc.constantFrom('and', 'or'), tie('f')).map(([a, op, b]) => `${a} ${op} ${b}`),
        tie('f').map((a) => `not (${a})`),
      ),
    })).f;
    const tail = fc.option(fc.constantFrom(...subs).map((s) => s.text), { freq: 4 });
    return fc.tuple(inner, tail, literalText(p.def, pools)).map(([f, sub, lit]) =>
      sub === null ? `${p.text}[${f}]` : `${p.text}[${f}].${sub} eq ${lit}`,
    );
  });
}

/** A filter in the RFC 7644 §3.4.2.2 grammar over this type's attributes. */
export function validFilter(paths: PathInfo[], pools: LiteralPools): fc.Arbitrary<string> {
  const leafs: fc.WeightedArbitrary<string>[] = [{ weight: 6, arbitrary: attrExpr(paths, pools) }];
  const vp = valuePathExpr(paths, pools);
  if (vp) leafs.push({ weight: 3, arbitrary: vp });
  // multi-valued sub-attributes of complex attributes (`memoryPolicy.retains`,
  // `actionPolicies.approvers`: arrays in a value, or in each element) are few among many paths:
  // reach them on purpose, as `a.b op v` and inside `a[…]`
  const nested = paths.filter((p) => p.def !== p.top && p.def.multiValued);
  if (nested.length) leafs.push({ weight: 1, arbitrary: attrExpr(nested, pools) });
  const nestedVp = valuePathExpr(paths, pools, true);
  if (nestedVp) leafs.push({ weight: 1, arbitrary: nestedVp });
  return fc.letrec<{ f: string }>((tie) => ({
    f: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.oneof(...leafs),
      fc.tuple(tie('f'), fc.constantFrom('and', 'or', 'AND', 'Or'), tie('f')).map(([a, op, b]) => `${a} ${op} ${b}`),
      tie('f').map((a) => `(${a})`),
      tie('f').map((a) => `not (${a})`),
    ),
  })).f;
}

export type FilterMutation =
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'nulInString' }
  | { kind: 'surrogateInString'; unit: string }
  | { kind: 'deepParens'; depth: number; not: boolean }
  | { kind: 'hugeNumber'; text: string }
  | { kind: 'oddDate'; text: string }
  | { kind: 'repeat'; times: number; op: string }
  | { kind: 'escape'; text: string };

export const filterMutation: fc.Arbitrary<FilterMutation> = fc.oneof(
  fc.nat().map((at) => ({ kind: 'truncate' as const, at })),
  fc
    .tuple(fc.nat(), fc.oneof(fc.string({ unit: 'binary', minLength: 1, maxLength: 3 }), fc.constantFrom('(', ')', '[', ']', '"', '\\', ' and ', ' or ', 'not', '.', ':', '\u0000', '\ud800', '\udc00')))
    .map(([at, text]) => ({ kind: 'insert' as const, at, text })),
  fc.constant({ kind: 'nulInString' as const }),
  fc.constantFrom('\ud800', '\udbff', '\udc00', '\udfff').map((unit) => ({ kind: 'surrogateInString' as const, unit })),
  fc.tuple(fc.oneof(fc.integer({ min: 40, max: 60 }), fc.integer({ min: 61, max: 5000 })), fc.boolean()).map(([depth, not]) => ({ kind: 'deepParens' as const, depth, not })),
  fc.constantFrom(...ODD_NUMBERS_TEXT).map((text) => ({ kind: 'hugeNumber' as const, text })),
  fc.constantFrom(...ODD_DATES).map((text) => ({ kind: 'oddDate' as const, text })),
  fc.tuple(fc.integer({ min: 2, max: 700 }), fc.constantFrom('or', 'and')).map(([times, op]) => ({ kind: 'repeat' as const, times, op })),
  fc.constantFrom('"\\u12"', '"\\x41"', '"\\ud800"', '"\\u0000"', '"abc', '"\\"', "'single'").map((text) => ({ kind: 'escape' as const, text })),
);

const LITERAL = /"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?/;

export function mutateFilter(text: string, m: FilterMutation): string {
  switch (m.kind) {
    case 'truncate':
      return text.slice(0, m.at % (text.length + 1));
    case 'insert': {
      const at = m.at % (text.length + 1);
      return text.slice(0, at) + m.text + text.slice(at);
    }
    case 'nulInString':
      return text.includes('"') ? text.replace(/"([^"]*)"/, '"$1\u0000"') : `${text} and userName eq "\u0000"`;
    case 'surrogateInString':
      return text.includes('"') ? text.replace(/"([^"]*)"/, `"$1${m.unit}"`) : `${text}${m.unit}`;
    case 'deepParens':
      return m.not ? `${'not ('.repeat(m.depth)}${text}${')'.repeat(m.depth)}` : `${'('.repeat(m.depth)}${text}${')'.repeat(m.depth)}`;
    case 'hugeNumber':
      return LITERAL.test(text) ? text.replace(LITERAL, m.text) : `${text} ${m.text}`;
    case 'oddDate':
      return LITERAL.test(text) ? text.replace(LITERAL, JSON.stringify(m.text)) : text;
    case 'repeat':
      return Array.from({ length: m.times }, () => `(${text})`).join(` ${m.op} `);
    case 'escape':
      return LITERAL.test(text) ? text.replace(LITERAL, m.text) : `${text} ${m.text}`;
  }
}

// ── hostile JSON values ────────────────────────────────────────────────────────────────────────

/**
 * `{"a":{"a":…}}` or `[[…]]` `depth` levels deep. Kept as a marker until serialisation (toJsonText):
 * a real value that deep would overflow the stack of JSON.stringify and of fast-check's printer.
 */
export class Deep {
  constructor(
    readonly depth: number,
    readonly array: boolean,
  ) {}
  toString(): string {
    return `Deep(${this.depth}, ${this.array ? 'array' : 'object'})`;
  }
}

export function deepValue(depth: number, array: boolean): Deep {
  return new Deep(depth, array);
}

/** JSON.stringify, with each Deep marker written out iteratively. */
export function toJsonText(v: unknown): string {
  const deeps: Deep[] = [];
  const text = JSON.stringify(v, (_k, x: unknown) => {
    if (x instanceof Deep) {
      deeps.push(x);
      return `\u0001DEEP${deeps.length - 1}\u0001`;
    }
    return x;
  });
  if (deeps.length === 0) return text;
  return text.replace(/"\\u0001DEEP(\d+)\\u0001"/g, (_m, i: string) => {
    const d = deeps[Number(i)]!;
    return d.array ? `${'['.repeat(d.depth)}"x"${']'.repeat(d.depth)}` : `${'{"a":'.repeat(d.depth)}"x"${'}'.repeat(d.depth)}`;
  });
}

export interface KnownIds {
  /** ids of seeded Users, Groups, Agents, catalogue entries (by name) */
  users: string[];
  groups: string[];
  agents: string[];
  entitlements: string[];
}

export function weirdValue(ids: KnownIds): fc.Arbitrary<unknown> {
  const idOf = fc.constantFrom(...ids.users, ...ids.groups, ...ids.agents, '00000000-0000-0000-0000-000000000000', '');
  return fc.oneof(
    {
      weight: 6,
      arbitrary: fc.constantFrom<unknown>(
        null,
        '',
        'False',
        'True',
        'false',
        'true',
        0,
        -1,
        1.5,
        1e308,
        true,
        false,
        [],
        {},
        [null],
        [''],
        [{}],
        [{ value: '' }],
        { value: '' },
        { value: null },
        { value: 7 },
        [{ value: '', type: 'user' }],
        [{ value: '', type: 'group' }],
        'a\u0000b',
        '\ud800',
        'x\udfffy',
        'İstanbul',
        '2026-02-30T00:00:00Z',
        '9999-12-31T23:59:59Z',
        'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c',
        'AKIAIOSFODNN7EXAMPLE',
        '-----BEGIN PRIVATE KEY-----\nMIIE\n-----END PRIVATE KEY-----',
        'x'.repeat(5000),
        'eyJ'.repeat(700),
        JSON.parse('{"__proto__":{"polluted":true}}') as unknown,
        { constructor: { prototype: { polluted: true } } },
      ),
    },
    { weight: 2, arbitrary: fc.integer({ min: 2, max: 3000 }).chain((d) => fc.boolean().map((a) => deepValue(d, a))) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
    { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.double()) },
    { weight: 2, arbitrary: idOf.map((value) => ({ value })) },
    { weight: 2, arbitrary: fc.array(idOf.map((value) => ({ value })), { maxLength: 3 }) },
    { weight: 1, arbitrary: fc.constantFrom(...ids.entitlements).map((value) => [{ value }]) },
  );
}

// ── query parameters ───────────────────────────────────────────────────────────────────────────

export const COUNT_VALUES = ['', '0', '1', '-1', '5', '1000', '1001', '1e3', '1.5', 'abc', 'NaN', 'Infinity', '9007199254740993', '-9007199254740993', '99999999999999999999', ' 1', '0x10', '\u0000'];

/** base64url of any JSON: a cursor the server did not issue */
export const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

export const CURSOR_VALUES: string[] = [
  '',
  'bogus!',
  '====',
  b64([1]),
  b64([0]),
  b64([-1]),
  b64([2 ** 60]),
  b64(['1']),
  b64([1, 'a']),
  b64([1, 5]),
  b64([1, true]),
  b64([1, null]),
  b64([1, {}]),
  b64([1, []]),
  b64([1, [1, 2]]),
  b64([1, { a: 1 }]),
  b64([1, 1e308]),
  b64([1, -1e308]),
  b64([1, 'İstanbul']),
  b64([1, '\u0000']),
  b64([1, '\ud800']),
  b64([1, '2026-01-01T00:00:00Z']),
  b64([1, 'x', 'y']),
  b64([]),
  b64({}),
  b64('null'),
  b64('[1,'),
  b64([1.5]),
  b64([9007199254740993]),
  'x'.repeat(5000),
];

// ── valid writes ───────────────────────────────────────────────────────────────────────────────

/** A change that a valid write may make: `path` in the notation of BodyMutation/PATCH, with its op. */
export interface ValidEdit {
  op: 'add' | 'replace' | 'remove';
  path: string;
  value?: unknown;
}

export interface WriteUrns {
  gov: string;
  enterprise: string;
  /** seeded Users that are active humans (owners and sponsors must be, R01) */
  activeUsers: string[];
}

const WORDS = ['alpha', 'Beta', 'gamma', 'İstanbul', 'straße', 'Ops team', 'x_y', 'ﬃ', 'Ä', 'k', '50%', 'n°7'];
const safeText = fc.tuple(fc.constantFrom(...WORDS), fc.nat({ max: 999 })).map(([w, n]) => `${w} ${n}`);

/**
 * Edits that keep a resource valid under the schema and the governance rules (R01 sponsors, the
 * catalogue, lifecycle transitions), so that writes get past validation into the deeper paths:
 * the PATCH engine, the agent rules, the projection, the audit log. `ids` are the seeded ones;
 * ids.users[0] is the active human sponsor. Retirement is left out: a retired victim would turn
 * every later write into a 4xx.
 */
export function validEdit(kind: 'User' | 'Group' | 'Agent', ids: KnownIds, urns: WriteUrns): fc.Arbitrary<ValidEdit> {
  const user = fc.constantFrom(...ids.users.slice(0, 12));
  const activeUser = fc.constantFrom(...urns.activeUsers);
  const ent = fc.constantFrom(...ids.entitlements);
  const gov = (a: string) => `${urns.gov}:${a}`;
  switch (kind) {
    case 'User':
      return fc.oneof(
        safeText.map((v) => ({ op: 'replace' as const, path: 'displayName', value: v })),
        safeText.map((v) => ({ op: 'replace' as const, path: 'title', value: v })),
        safeText.map((v) => ({ op: 'add' as const, path: 'nickName', value: v })),
        fc.constantFrom('title', 'nickName', 'phoneNumbers', 'name').map((p) => ({ op: 'remove' as const, path: p })),
        fc.boolean().map((v) => ({ op: 'replace' as const, path: 'active', value: v })),
        fc.tuple(fc.nat({ max: 99 }), fc.constantFrom('work', 'home', 'other')).map(([n, type]) => ({ op: 'add' as const, path: 'emails', value: [{ value: `v${n}@example.com`, type }] })),
        fc.nat({ max: 9999 }).map((n) => ({ op: 'add' as const, path: 'phoneNumbers', value: [{ value: `+1-555-${n}`, type: 'work' }] })),
        safeText.map((v) => ({ op: 'replace' as const, path: 'name.givenName', value: v })),
        safeText.map((v) => ({ op: 'replace' as const, path: `${urns.enterprise}:department`, value: v })),
        user.map((v) => ({ op: 'replace' as const, path: `${urns.enterprise}:manager`, value: { value: v } })),
        fc.constant({ op: 'remove' as const, path: 'emails[type eq "home"]' }),
      );
    case 'Group':
      return fc.oneof(
        safeText.map((v) => ({ op: 'replace' as const, path: 'displayName', value: `grp ${v}` })),
        user.map((v) => ({ op: 'add' as const, path: 'members', value: [{ value: v }] })),
        user.map((v) => ({ op: 'remove' as const, path: `members[value eq "${v}"]` })),
        fc.nat({ max: 99 }).map((n) => ({ op: 'replace' as const, path: 'externalId', value: `ext-${n}` })),
      );
    case 'Agent':
      return fc.oneof(
        safeText.map((v) => ({ op: 'replace' as const, path: 'displayName', value: v })),
        safeText.map((v) => ({ op: 'replace' as const, path: 'description', value: `does ${v}` })),
        fc.constantFrom('assistant', 'autonomous', 'copilot').map((v) => ({ op: 'replace' as const, path: 'agentType', value: v })),
        activeUser.map((v) => ({ op: 'add' as const, path: 'owners', value: [{ value: v, type: 'user' }] })),
        ent.map((v) => ({ op: 'add' as const, path: 'entitlements', value: [{ value: v }] })),
        ent.map((v) => ({ op: 'remove' as const, path: `entitlements[value eq "${v}"]` })),
        safeText.map((v) => ({ op: 'replace' as const, path: gov('purpose'), value: `purpose ${v}` })),
        fc.constantFrom('production', 'staging', 'development', 'test').map((v) => ({ op: 'replace' as const, path: gov('environment'), value: v })),
        fc.constantFrom('advisory', 'humanInTheLoop', 'humanOnTheLoop').map((v) => ({ op: 'replace' as const, path: gov('autonomyLevel'), value: v })),
        fc.constantFrom('low', 'medium', 'high').map((v) => ({ op: 'replace' as const, path: gov('riskTier'), value: v })),
        fc.integer({ min: 30, max: 730 }).map((v) => ({ op: 'replace' as const, path: gov('reviewIntervalDays'), value: v })),
        fc.constantFrom(...ids.groups).map((v) => ({ op: 'add' as const, path: gov('coSponsors'), value: [{ value: v, type: 'group' }] })),
        fc.constantFrom('suspended', 'active').map((v) => ({ op: 'replace' as const, path: gov('lifecycleState'), value: v })),
        fc.boolean().map((v) => ({ op: 'replace' as const, path: 'active', value: v })),
      );
  }
}
