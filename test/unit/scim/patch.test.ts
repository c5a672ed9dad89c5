// RFC 7644 §3.5.2 PATCH: the table in test/fixtures/scim/patch.json run through parsePatchRequest +
// applyPatch against the shipped schemas, plus envelope errors and the quirk functions on their own.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ScimError } from '../../../src/scim/errors.js';
import { loadRegistry } from '../../../src/scim/load-schemas.js';
import { applyPatch, MAX_PATCH_OPERATIONS, parsePatchRequest, PATCH_OP_URN } from '../../../src/scim/patch.js';
import {
  coerceBooleanString,
  discardPassword,
  expandPathlessValue,
  normalizeOp,
  normalizeSingleComplexValue,
} from '../../../src/scim/quirks.js';
import type { AttributeDefinition } from '../../../src/scim/schema-types.js';

type Json = Record<string, unknown>;
type Spec = string | Json;

interface Case {
  name: string;
  resourceType: string;
  before: Spec;
  operations?: unknown[];
  body?: unknown;
  after?: Spec;
  changed?: boolean;
  error?: { status: number; scimType: string; detail?: string };
}

const fixture = JSON.parse(
  readFileSync(new URL('../../fixtures/scim/patch.json', import.meta.url), 'utf8'),
) as { bases: Record<string, Json>; cases: Case[] };

/** A base name, or {$base, ...top-level overrides, $delete: [keys]}; always a fresh copy. */
function build(spec: Spec): Json {
  if (typeof spec === 'string') {
    const base = fixture.bases[spec];
    if (!base) throw new Error(`unknown base ${spec}`);
    return build(base);
  }
  const { $base, $delete, ...rest } = spec;
  const out: Json = typeof $base === 'string' ? { ...build($base), ...structuredClone(rest) } : structuredClone(rest);
  for (const key of ($delete as string[] | undefined) ?? []) delete out[key];
  return out;
}

function deepFreeze<T>(v: T): T {
  if (typeof v === 'object' && v !== null) {
    for (const child of Object.values(v)) deepFreeze(child);
    Object.freeze(v);
  }
  return v;
}

function caught(fn: () => unknown): ScimError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ScimError) return e;
    throw e;
  }
  throw new Error('expected a ScimError');
}

const registry = loadRegistry();

describe('applyPatch (test/fixtures/scim/patch.json)', () => {
  it.each(fixture.cases.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const rt = registry.resourceType(c.resourceType);
    if (!rt) throw new Error(`unknown resource type ${c.resourceType}`);
    // frozen: any mutation of the input throws (ESM is strict mode)
    const before = deepFreeze(build(c.before));
    const snapshot = JSON.stringify(before);
    const body = c.body ?? { schemas: [PATCH_OP_URN], Operations: c.operations };
    const run = () => applyPatch(registry, rt, before, parsePatchRequest(body));

    if (c.error) {
      const err = caught(run);
      expect({ status: err.status, scimType: err.scimType }).toEqual({ status: c.error.status, scimType: c.error.scimType });
      if (c.error.detail) expect(err.message).toContain(c.error.detail);
    } else {
      const result = run();
      if (c.after !== undefined) {
        expect(result.resource).toEqual(build(c.after));
        expect(result.changed).toBe(c.changed ?? true);
      } else {
        expect(result.resource).toEqual(build(c.before));
        expect(result.changed).toBe(false);
      }
      expect(result.resource).not.toBe(before);
    }
    expect(JSON.stringify(before)).toBe(snapshot);
  });

  it('covers every resource type the fixture names', () => {
    for (const c of fixture.cases) expect(registry.resourceType(c.resourceType), c.name).toBeDefined();
  });

  it('does not mutate an unfrozen input either', () => {
    const rt = registry.resourceType('Group')!;
    const before = build('group');
    const copy = structuredClone(before);
    const ops = parsePatchRequest({
      Operations: [
        { op: 'add', path: 'members', value: [{ value: 'u3' }] },
        { op: 'remove', path: 'members[value eq "u1"]' },
        { op: 'replace', path: 'displayName', value: 'Ops' },
      ],
    });
    const { resource, changed } = applyPatch(registry, rt, before, ops);
    expect(before).toEqual(copy);
    expect(changed).toBe(true);
    expect(resource.members).toEqual([{ value: 'u2', type: 'User' }, { value: 'u3' }]);
  });
});

describe('parsePatchRequest', () => {
  const ok = (Operations: unknown[]) => ({ schemas: [PATCH_OP_URN], Operations });

  it('returns the operations with op lower-cased', () => {
    expect(
      parsePatchRequest(ok([{ op: 'Add', path: 'members', value: [{ value: 'u1' }] }, { op: 'REMOVE', path: 'title' }])),
    ).toEqual([
      { op: 'add', path: 'members', value: [{ value: 'u1' }] },
      { op: 'remove', path: 'title' },
    ]);
  });

  it('keeps a null value (Entra: unassign) and a value on remove', () => {
    expect(parsePatchRequest(ok([{ op: 'replace', path: 'manager', value: null }]))).toEqual([
      { op: 'replace', path: 'manager', value: null },
    ]);
    expect(parsePatchRequest(ok([{ op: 'remove', path: 'members', value: [{ value: 'x' }] }]))[0]?.value).toEqual([
      { value: 'x' },
    ]);
  });

  it('tolerates a missing schemas array and matches member names case-insensitively', () => {
    expect(parsePatchRequest({ operations: [{ OP: 'replace', Path: 'active', VALUE: false }] })).toEqual([
      { op: 'replace', path: 'active', value: false },
    ]);
  });

  const removeX = [{ op: 'remove', path: 'x' }];
  it.each([
    ['a non-object body', [], 'JSON object'],
    ['a wrong schemas URN', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], Operations: removeX }, 'schemas'],
    ['schemas not an array', { schemas: PATCH_OP_URN, Operations: removeX }, 'schemas'],
    ['missing Operations', { schemas: [PATCH_OP_URN] }, 'Operations'],
    ['Operations not an array', ok({} as unknown as unknown[]), 'Operations'],
    ['empty Operations', ok([]), 'must not be empty'],
    ['an operation that is not an object', ok([{ op: 'remove', path: 'a' }, 'remove']), 'Operations[1] must be an object'],
    ['an unknown op', ok([{ op: 'move', path: 'a' }]), 'Operations[0].op: unknown PATCH op "move"'],
    ['a missing op', ok([{ path: 'a' }]), 'Operations[0].op'],
    [
      'a non-string path',
      ok([{ op: 'remove', path: 'a' }, { op: 'remove', path: 'b' }, { op: 'remove', path: 7 }]),
      'Operations[2].path must be a string',
    ],
    ['add without value', ok([{ op: 'add', path: 'title' }]), 'Operations[0].value is required for "add"'],
    ['replace without value', ok([{ op: 'Replace', path: 'title' }]), 'Operations[0].value is required for "replace"'],
  ])('rejects %s with 400 invalidSyntax', (_name, body, detail) => {
    const err = caught(() => parsePatchRequest(body));
    expect([err.status, err.scimType]).toEqual([400, 'invalidSyntax']);
    expect(err.message).toContain(detail);
  });

  it(`rejects more than ${MAX_PATCH_OPERATIONS} operations with 400 tooMany`, () => {
    const ops = Array.from({ length: MAX_PATCH_OPERATIONS + 1 }, () => ({ op: 'remove', path: 'title' }));
    const err = caught(() => parsePatchRequest(ok(ops)));
    expect([err.status, err.scimType]).toEqual([400, 'tooMany']);
    expect(parsePatchRequest(ok(ops.slice(1)))).toHaveLength(MAX_PATCH_OPERATIONS);
  });
});

describe('quirks', () => {
  it('normalizeOp accepts any case and nothing else', () => {
    expect(['add', 'Add', 'REPLACE', 'Remove'].map((o) => normalizeOp(o))).toEqual(['add', 'add', 'replace', 'remove']);
    expect(caught(() => normalizeOp(3)).scimType).toBe('invalidSyntax');
  });

  it('coerceBooleanString turns "True"/"false" into booleans and leaves the rest', () => {
    const input = ['True', 'FALSE', 'false', true, 'yes', 1, null];
    expect(input.map(coerceBooleanString)).toEqual([true, false, false, true, 'yes', 1, null]);
  });

  it('discardPassword drops password in any case and copies', () => {
    const input = { userName: 'a', password: 'x', PassWord: 'y' };
    expect(discardPassword(input)).toEqual({ userName: 'a' });
    expect(input.password).toBe('x');
  });

  it('expandPathlessValue splits keys and ignores unknown URNs', () => {
    const ent = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
    expect(
      expandPathlessValue(
        {
          active: false,
          'name.givenName': 'B',
          [`${ent}:employeeNumber`]: '1',
          [ent.toUpperCase()]: { department: 'x' },
          'urn:other:x': 1,
        },
        ['urn:ietf:params:scim:schemas:core:2.0:User', ent],
      ),
    ).toEqual([
      { path: 'active', value: false },
      { path: 'name.givenName', value: 'B' },
      { path: `${ent}:employeeNumber`, value: '1' },
      { path: ent, value: { department: 'x' } },
    ]);
  });

  it('normalizeSingleComplexValue handles the manager forms', () => {
    const manager = registry.schema('urn:ietf:params:scim:schemas:extension:enterprise:2.0:User')?.attributes.find(
      (a) => a.name === 'manager',
    ) as AttributeDefinition;
    expect(normalizeSingleComplexValue(manager, 'm1')).toEqual({ value: 'm1' });
    expect(normalizeSingleComplexValue(manager, [{ value: 'm1' }])).toEqual({ value: 'm1' });
    expect(normalizeSingleComplexValue(manager, [])).toBeNull();
    expect(normalizeSingleComplexValue(manager, { value: 'm1' })).toEqual({ value: 'm1' });
  });
});
