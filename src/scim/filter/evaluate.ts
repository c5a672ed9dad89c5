// In-memory evaluation of an RFC 7644 §3.4.2.2 filter AST against a JSON resource (or one value of
// a complex attribute), for PATCH value paths and tests. Pure; no I/O.
//
// Semantics. The store's SQL translator mirrors these exactly:
// - Resolution. Attribute, sub-attribute and schema-URN names match case-insensitively; the target
//   uses canonical (schema) names. A path whose uri equals `coreSchema` resolves among `attributes`;
//   another uri must be a key of `extensions`, and its values live under target[<that key>]. A path
//   without uri resolves among `attributes` only (never in extensions). Unknown names → invalidFilter.
//   The whole filter is resolved and type-checked before any value is looked at, so an error never
//   depends on the data or on and/or short-circuiting.
// - Values. A multi-valued attribute contributes each element; `emails.type` contributes the `type`
//   of every email. null/undefined contribute nothing. A comparison matches if ANY value matches;
//   with no values it is false.
// - `ne` is NOT(`eq`): true when the attribute is missing, and for a multi-valued attribute true only
//   if NO value equals the literal (`emails.type ne "work"` = no email has type "work").
// - `x eq null` ≡ not (x pr); `x ne null` ≡ x pr. Any other operator with null → invalidFilter.
// - `pr`: some value is present, where present = not null/undefined, not "", not an empty array, and
//   for an object at least one present member (recursively). false and 0 are present.
// - A complex attribute compared without a sub-attribute compares its `value` sub-attribute
//   (`emails co "example.com"`, RFC 7644 §3.4.2.2); without a `value` sub-attribute → invalidFilter.
//   `pr` and `eq null` on a complex attribute test the attribute itself, not `value`.
// - string / reference / binary: the literal must be a string. string and reference with
//   caseExact:false fold both sides with foldCase() (src/lib/case-fold.ts: the one fold the stores
//   use too); everything else compares as is (binary is always case exact, RFC 7643 §2.3.6). eq co
//   sw ew, and gt ge lt le by code point after folding (as SQLite's BINARY and PostgreSQL's "C"). binary rejects gt ge lt le (RFC 7644 §3.4.2.2).
// - boolean: the literal must be true/false (not "True"); only eq / ne.
// - integer / decimal: the literal must be a number; eq ne gt ge lt le; co sw ew → invalidFilter.
// - dateTime: eq ne gt ge lt le need a literal that normalizeDateTime() (../datetime.ts, also used on
//   write and by the SQL translator) accepts, and compare instants to millisecond precision; co sw ew
//   compare the stored text exactly (never folded), and their literal may be any string.
// - A stored value of the wrong JSON type (bad data) never matches; it does not throw.
// - valuePath `a[f]`: `a` must be complex; true if at least one value of `a` (the single value, for a
//   single-valued attribute) is an object that matches `f`, evaluated with `a`'s sub-attributes as
//   the scope.
// - `not` negates; `and` / `or` short-circuit.

import type { AttrPath, CompareOp, Filter, FilterValue } from './ast.js';
import type { AttributeDefinition } from '../schema-types.js';
import { invalidFilter } from '../errors.js';
import { normalizeDateTime } from '../datetime.js';
import { compareCodePoints, foldCase } from '../../lib/case-fold.js';

export interface AttributeScope {
  /** attributes of the object being matched: a resource's core attributes (incl. id, externalId, meta) or the sub-attributes of one complex value */
  attributes: AttributeDefinition[];
  /** extension schema URN → its attributes; the values live under target[URN] */
  extensions?: Record<string, AttributeDefinition[]>;
  /** the core schema URN; a path with this uri resolves among `attributes` */
  coreSchema?: string;
}

/** A filter resolved against a scope, ready to test many targets. */
export type FilterPredicate = (target: unknown) => boolean;

/**
 * Whether `target` matches `filter`. Throws ScimError 400 `invalidFilter` for an unknown attribute
 * or an operator/literal that does not fit the attribute's type, whatever the data.
 * @example matchesFilter(parseFilter('userName eq "BJensen"'), { userName: 'bjensen' }, userScope) // true
 */
export function matchesFilter(filter: Filter, target: unknown, scope: AttributeScope): boolean {
  return compileFilter(filter, scope)(target);
}

/** Resolve and type-check `filter` once (throwing invalidFilter as matchesFilter does), then test targets with the result. */
export function compileFilter(filter: Filter, scope: AttributeScope): FilterPredicate {
  switch (filter.kind) {
    case 'and': {
      const parts = filter.filters.map((f) => compileFilter(f, scope));
      return (t) => parts.every((p) => p(t));
    }
    case 'or': {
      const parts = filter.filters.map((f) => compileFilter(f, scope));
      return (t) => parts.some((p) => p(t));
    }
    case 'not': {
      const inner = compileFilter(filter.filter, scope);
      return (t) => !inner(t);
    }
    case 'present': {
      const r = resolve(filter.path, scope);
      return (t) => valuesOf(r, t).some(isPresent);
    }
    case 'compare':
      return compileCompare(filter.op, filter.path, filter.value, scope);
    case 'valuePath': {
      const r = resolve(filter.path, scope);
      if (r.sub !== undefined || r.attr.type !== 'complex' || r.attr.subAttributes === undefined) {
        throw invalidFilter(`a value filter needs a complex attribute; "${r.label}" is not one`);
      }
      const inner = compileFilter(filter.filter, { attributes: r.attr.subAttributes });
      return (t) => valuesOf(r, t).some((v) => isRecord(v) && inner(v));
    }
  }
}

interface Resolved {
  /** the extension URN (a key of scope.extensions) whose object holds the attribute, if any */
  extension: string | undefined;
  attr: AttributeDefinition;
  sub: AttributeDefinition | undefined;
  /** the path as the client wrote it, for messages */
  label: string;
}

function resolve(path: AttrPath, scope: AttributeScope): Resolved {
  const label = `${path.uri !== undefined ? `${path.uri}:` : ''}${path.attr}${path.sub !== undefined ? `.${path.sub}` : ''}`;
  let attributes = scope.attributes;
  let extension: string | undefined;
  if (path.uri !== undefined) {
    const uri = path.uri.toLowerCase();
    if (scope.coreSchema === undefined || scope.coreSchema.toLowerCase() !== uri) {
      const entry = Object.entries(scope.extensions ?? {}).find(([urn]) => urn.toLowerCase() === uri);
      if (entry === undefined) throw invalidFilter(`unknown attribute "${label}": no schema "${path.uri}" here`);
      [extension, attributes] = entry;
    }
  }
  const attr = findAttribute(attributes, path.attr);
  if (attr === undefined) throw invalidFilter(`unknown attribute "${label}"`);
  if (path.sub === undefined) return { extension, attr, sub: undefined, label };
  const sub = attr.subAttributes && findAttribute(attr.subAttributes, path.sub);
  if (sub === undefined) throw invalidFilter(`unknown attribute "${label}"`);
  return { extension, attr, sub, label };
}

function findAttribute(attributes: AttributeDefinition[], name: string): AttributeDefinition | undefined {
  const lower = name.toLowerCase();
  return attributes.find((a) => a.name.toLowerCase() === lower);
}

function compileCompare(op: CompareOp, path: AttrPath, literal: FilterValue, scope: AttributeScope): FilterPredicate {
  let r = resolve(path, scope);
  if (literal === null) {
    if (op !== 'eq' && op !== 'ne') {
      throw invalidFilter(`"${op}" cannot compare "${r.label}" with null; use eq null, ne null or pr`);
    }
    const present = (t: unknown) => valuesOf(r, t).some(isPresent);
    return op === 'eq' ? (t) => !present(t) : present;
  }
  let leaf = r.sub ?? r.attr;
  if (leaf.type === 'complex') {
    const value = r.sub === undefined ? leaf.subAttributes && findAttribute(leaf.subAttributes, 'value') : undefined;
    if (value === undefined) {
      const example = leaf.subAttributes?.[0]?.name;
      const hint = example !== undefined ? `, e.g. "${r.label}.${example}"` : '';
      throw invalidFilter(`"${r.label}" is complex; compare one of its sub-attributes${hint}`);
    }
    r = { ...r, sub: value };
    leaf = value;
  }
  // ne is NOT(eq): build the eq test and negate the any-match.
  const test = valueTest(op === 'ne' ? 'eq' : op, op, literal, leaf, r.label);
  return op === 'ne' ? (t) => !valuesOf(r, t).some(test) : (t) => valuesOf(r, t).some(test);
}

type Relation<T> = (attributeValue: T, literal: T) => boolean;

const ORDER: Partial<Record<CompareOp, Relation<number | string>>> = {
  eq: (a, b) => a === b,
  gt: (a, b) => a > b,
  ge: (a, b) => a >= b,
  lt: (a, b) => a < b,
  le: (a, b) => a <= b,
};

/** Text order: code points, not UTF-16 code units (they differ for astral characters). */
const TEXT_ORDER: Partial<Record<CompareOp, Relation<string>>> = {
  eq: (a, b) => a === b,
  gt: (a, b) => compareCodePoints(a, b) > 0,
  ge: (a, b) => compareCodePoints(a, b) >= 0,
  lt: (a, b) => compareCodePoints(a, b) < 0,
  le: (a, b) => compareCodePoints(a, b) <= 0,
};

const SUBSTRING: Partial<Record<CompareOp, Relation<string>>> = {
  co: (a, b) => a.includes(b),
  sw: (a, b) => a.startsWith(b),
  ew: (a, b) => a.endsWith(b),
};

/** The test for one stored value. `op` is never 'ne' (the caller negates eq); `asWritten` is for messages. */
function valueTest(
  op: CompareOp,
  asWritten: CompareOp,
  literal: string | number | boolean,
  def: AttributeDefinition,
  label: string,
): (value: unknown) => boolean {
  const notFor = () => invalidFilter(`"${asWritten}" is not defined for ${def.type} attribute "${label}"`);
  const mismatch = () =>
    invalidFilter(`cannot compare ${def.type} attribute "${label}" with ${typeof literal} ${JSON.stringify(literal)}`);
  const orderRel = ORDER[op];
  const substringRel = SUBSTRING[op];
  switch (def.type) {
    case 'string':
    case 'reference':
    case 'binary':
    case 'dateTime': {
      if (typeof literal !== 'string') throw mismatch();
      if (def.type === 'binary' && op !== 'eq' && orderRel !== undefined) throw notFor();
      const folds = !def.caseExact && (def.type === 'string' || def.type === 'reference');
      const fold = folds ? foldCase : (s: string) => s;
      if (def.type === 'dateTime' && orderRel !== undefined) {
        const instant = parseInstant(literal);
        if (instant === undefined) {
          throw invalidFilter(
            `${JSON.stringify(literal)} is not a dateTime such as "2011-05-13T04:42:34Z" (comparing "${label}")`,
          );
        }
        return (v) => {
          const t = storedInstant(v);
          return t !== undefined && orderRel(t, instant);
        };
      }
      const rel = (TEXT_ORDER[op] ?? substringRel) as Relation<string>;
      const folded = fold(literal);
      return (v) => typeof v === 'string' && rel(fold(v), folded);
    }
    case 'boolean': {
      if (op !== 'eq') throw notFor();
      if (typeof literal !== 'boolean') throw mismatch();
      return (v) => v === literal;
    }
    case 'integer':
    case 'decimal': {
      if (orderRel === undefined) throw notFor();
      if (typeof literal !== 'number') throw mismatch();
      return (v) => typeof v === 'number' && orderRel(v, literal);
    }
    case 'complex':
      // compileCompare redirects a complex attribute to its `value`; a complex sub-attribute is not valid SCIM.
      throw invalidFilter(`"${label}" is complex; compare one of its sub-attributes`);
  }
}

function parseInstant(text: string): number | undefined {
  const iso = normalizeDateTime(text);
  return iso === undefined ? undefined : Date.parse(iso);
}

function storedInstant(v: unknown): number | undefined {
  if (typeof v === 'string') return parseInstant(v);
  if (v instanceof Date && !Number.isNaN(v.getTime())) return v.getTime();
  return undefined;
}

/** The values a path selects in `target`, flattened, without null/undefined. */
function valuesOf(r: Resolved, target: unknown): unknown[] {
  let holder = isRecord(target) ? target : undefined;
  if (r.extension !== undefined && holder !== undefined) {
    const ext = own(holder, r.extension);
    holder = isRecord(ext) ? ext : undefined;
  }
  const out: unknown[] = [];
  if (holder === undefined) return out;
  const value = own(holder, r.attr.name);
  if (r.sub === undefined) {
    pushFlat(out, value);
    return out;
  }
  const elements: unknown[] = [];
  pushFlat(elements, value);
  for (const element of elements) {
    if (isRecord(element)) pushFlat(out, own(element, r.sub.name));
  }
  return out;
}

function pushFlat(out: unknown[], value: unknown): void {
  if (Array.isArray(value)) {
    for (const v of value) if (v !== undefined && v !== null) out.push(v);
  } else if (value !== undefined && value !== null) {
    out.push(value);
  }
}

function isPresent(v: unknown): boolean {
  if (v === undefined || v === null) return false;
  if (typeof v === 'string') return v.length > 0;
  if (Array.isArray(v)) return v.some(isPresent);
  if (v instanceof Date) return true;
  if (typeof v === 'object') return Object.values(v).some(isPresent);
  return true;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// Own properties only, so a name like "constructor" never reaches Object.prototype.
const own = (record: Record<string, unknown>, key: string): unknown =>
  Object.hasOwn(record, key) ? record[key] : undefined;
