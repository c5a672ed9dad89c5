// Oracle test: our RFC 7643 schemas (User, Group, EnterpriseUser) must agree with scimmy 1.3.5's
// definitions attribute by attribute, except for the differences listed in ALLOWED_DIFFERENCES.
// The comparison is exact both ways: a new difference fails, and so does a listed difference that
// no longer exists (scimmy was upgraded or our file changed). docs/schemas.md mirrors the list.
//
// How scimmy exposes its definitions: SCIMMY.Schemas.{User,Group,EnterpriseUser}.definition is a
// SCIMMY.Types.SchemaDefinition; its describe() returns the /Schemas representation, whose
// attributes are SCIMMY.Types.Attribute instances serialised by Attribute#toJSON(). The common
// attributes (schemas, id, externalId, meta) are "shadow" attributes there and are left out, as in
// our files. toJSON() omits caseExact for non-string types (unless true) and uniqueness for
// booleans (and where the config says uniqueness:false); an omitted characteristic means the
// RFC 7643 §7 default (caseExact false, uniqueness "none"), so that is what we compare against.

import { readFileSync } from 'node:fs';
import SCIMMY from 'scimmy';
import { describe, expect, it } from 'vitest';

interface Attr {
  name: string;
  type?: string;
  multiValued?: boolean;
  required?: boolean;
  caseExact?: boolean;
  mutability?: string;
  returned?: string;
  uniqueness?: string;
  canonicalValues?: string[];
  referenceTypes?: string[];
  subAttributes?: Attr[];
}
interface SchemaJson {
  id: string;
  name: string;
  description?: string;
  attributes: Attr[];
}

const CHARACTERISTICS = [
  'type', 'multiValued', 'required', 'caseExact', 'mutability', 'returned', 'uniqueness',
  'canonicalValues', 'referenceTypes',
] as const;
type Characteristic = (typeof CHARACTERISTICS)[number] | 'presence';

interface Difference {
  /** "<schema name>:<attribute>[.<sub-attribute>]" */
  path: string;
  characteristic: Characteristic;
  ours: unknown;
  scimmy: unknown;
  reason: string;
}

/** Every known difference, with its argued reason. Keep in sync with docs/schemas.md. */
const ALLOWED_DIFFERENCES: Difference[] = [
  {
    path: 'Group:members.$ref',
    characteristic: 'referenceTypes',
    ours: ['User', 'Group', 'Agent'],
    scimmy: ['User', 'Group'],
    reason:
      'Agents are group members in agentroster (Agent.groups); RFC 7643 §4.2 says "a SCIM resource such as a User, or a Group", so Agent is allowed.',
  },
  {
    path: 'Group:members.type',
    characteristic: 'canonicalValues',
    ours: ['User', 'Group', 'Agent'],
    scimmy: ['User', 'Group'],
    reason: 'Same as members.$ref: a member can be an Agent, and its type is the resource type name "Agent".',
  },
];

const ours = (file: string): SchemaJson =>
  JSON.parse(readFileSync(new URL(`../../../schemas/${file}`, import.meta.url), 'utf8')) as SchemaJson;
/** describe() holds Attribute instances; JSON round-trip applies their toJSON(). */
const theirs = (definition: { describe(): unknown }): SchemaJson =>
  JSON.parse(JSON.stringify(definition.describe())) as SchemaJson;

const PAIRS = [
  { file: 'user.json', scimmy: theirs(SCIMMY.Schemas.User.definition) },
  { file: 'group.json', scimmy: theirs(SCIMMY.Schemas.Group.definition) },
  { file: 'enterprise-user.json', scimmy: theirs(SCIMMY.Schemas.EnterpriseUser.definition) },
];

/** RFC 7643 §7 defaults for characteristics scimmy leaves out. */
function normalise(a: Attr, c: (typeof CHARACTERISTICS)[number], side: 'ours' | 'scimmy'): unknown {
  const v = a[c];
  if (side === 'scimmy' && v === undefined) {
    if (c === 'caseExact') return false;
    if (c === 'uniqueness') return 'none';
  }
  // order carries no meaning in these lists
  return Array.isArray(v) ? [...v].sort() : v;
}

function compare(schema: string, ourAttrs: Attr[], theirAttrs: Attr[], prefix: string, out: Omit<Difference, 'reason'>[]): void {
  const find = (list: Attr[], name: string) => list.find((x) => x.name.toLowerCase() === name.toLowerCase());
  const names = [...new Set([...ourAttrs, ...theirAttrs].map((x) => x.name))];
  for (const name of names) {
    const path = `${schema}:${prefix}${name}`;
    const o = find(ourAttrs, name);
    const t = find(theirAttrs, name);
    if (!o || !t) {
      out.push({ path, characteristic: 'presence', ours: o ? 'present' : 'absent', scimmy: t ? 'present' : 'absent' });
      continue;
    }
    for (const c of CHARACTERISTICS) {
      const ov = normalise(o, c, 'ours');
      const tv = normalise(t, c, 'scimmy');
      if (JSON.stringify(ov) !== JSON.stringify(tv)) out.push({ path, characteristic: c, ours: o[c], scimmy: t[c] });
    }
    if (o.subAttributes || t.subAttributes) compare(schema, o.subAttributes ?? [], t.subAttributes ?? [], `${prefix}${name}.`, out);
  }
}

function differences(): Omit<Difference, 'reason'>[] {
  const out: Omit<Difference, 'reason'>[] = [];
  for (const { file, scimmy } of PAIRS) compare(ours(file).name, ours(file).attributes, scimmy.attributes, '', out);
  return out;
}

const key = (d: Omit<Difference, 'reason'>) => `${d.path} ${d.characteristic}`;

describe('our RFC 7643 schemas vs scimmy 1.3.5', () => {
  it('runs against scimmy 1.3.5 exactly (the allow-list was written for it)', () => {
    const pkg = JSON.parse(
      readFileSync(new URL('../../../node_modules/scimmy/package.json', import.meta.url), 'utf8'),
    ) as { version: string };
    expect(pkg.version).toBe('1.3.5');
  });

  it.each(PAIRS.map((p) => [p.file, p] as const))('%s has the same id and name as scimmy', (file, { scimmy }) => {
    const o = ours(file);
    expect({ id: o.id, name: o.name }).toEqual({ id: scimmy.id, name: scimmy.name });
  });

  it('scimmy exposes the definitions we expect (sanity check of the oracle)', () => {
    const [user] = PAIRS;
    expect(user?.scimmy.attributes.map((a) => a.name)).toContain('userName');
    expect(user?.scimmy.attributes.map((a) => a.name)).not.toContain('id');
  });

  it('differs only where ALLOWED_DIFFERENCES says, with the recorded values on both sides', () => {
    const found = differences();
    const allowed = ALLOWED_DIFFERENCES.map(({ reason: _reason, ...d }) => d);
    const sortByKey = <T extends Omit<Difference, 'reason'>>(list: T[]) => [...list].sort((x, y) => key(x).localeCompare(key(y)));
    expect(sortByKey(found)).toEqual(sortByKey(allowed));
  });

  it('the comparison itself notices a changed characteristic and a missing sub-attribute', () => {
    const [user] = PAIRS;
    if (!user) throw new Error('no User pair');
    const mutated = structuredClone(ours('user.json').attributes);
    const emails = mutated.find((a) => a.name === 'emails');
    if (!emails?.subAttributes) throw new Error('no emails');
    emails.subAttributes = emails.subAttributes.filter((s) => s.name !== 'display');
    const userName = mutated.find((a) => a.name === 'userName');
    if (!userName) throw new Error('no userName');
    userName.caseExact = true;
    const out: Omit<Difference, 'reason'>[] = [];
    compare('User', mutated, user.scimmy.attributes, '', out);
    expect(out.map(key).sort()).toEqual(['User:emails.display presence', 'User:userName caseExact']);
  });

  it('every allowed difference has a one-line reason and is listed in docs/schemas.md', () => {
    const docs = readFileSync(new URL('../../../docs/schemas.md', import.meta.url), 'utf8');
    for (const d of ALLOWED_DIFFERENCES) {
      expect(d.reason.trim().length, key(d)).toBeGreaterThan(20);
      expect(d.reason, key(d)).not.toContain('\n');
      const row = docs.split('\n').find((l) => l.startsWith('|') && l.includes(`\`${d.path}\``) && l.includes(`\`${d.characteristic}\``));
      expect(row, `docs/schemas.md has no table row for ${key(d)}`).toBeDefined();
    }
  });
});
