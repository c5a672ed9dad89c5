// RFC 7644 filter AST -> SQL WHERE / ORDER BY over the generic `resources` table, for SQLite and
// PostgreSQL (sql-dialect.ts). Semantics mirror src/scim/filter/evaluate.ts (the tests compare
// the two on generated data):
// - a comparison on a missing attribute is false; `ne` is NOT(eq), so a missing attribute matches `ne`;
// - multi-valued attributes match when ANY value matches; complex without a sub-attribute means `.value`;
// - caseExact=false compares case-folded text: foldCase() (src/lib/case-fold.ts) on the literal, and
//   the same table in SQL (scim_fold: a JS function on SQLite, a translate() function on PostgreSQL);
// - gt/ge/lt/le and sorting on text compare code points (PostgreSQL: COLLATE "C").
// Positive comparisons are left bare so that expression indexes apply; NOT wraps its operand in
// coalesce(…, false) to turn SQL's NULL into false first. Placeholders are `?`; the PostgreSQL
// store numbers them.

import { foldCase } from '../lib/case-fold.js';
import { normalizeDateTime } from '../scim/datetime.js';
import { invalidFilter, invalidValue } from '../scim/errors.js';
import type { AttrPath, CompareOp, Filter, FilterValue } from '../scim/filter/ast.js';
import { isComputed, type ResolvedPath, type ResourceTypeInfo, type SchemaRegistry } from '../scim/registry.js';
import type { AttributeDefinition } from '../scim/schema-types.js';
import { MULTI_VALUED_INDEXES, pathKey } from './indexes.js';
import type { SqlDialect } from './sql-dialect.js';
import type { CursorPosition, SortKeyKind } from './cursor.js';
import type { SortSpec } from './types.js';

export interface SqlFragment {
  sql: string;
  params: unknown[];
}

const ROW = 'r.data';

export function foldable(def: AttributeDefinition): boolean {
  return !def.caseExact && (def.type === 'string' || def.type === 'reference');
}

/** The SQL of a single-valued attribute of a row; shared by queries and index DDL. */
export function valueExpr(d: SqlDialect, column: string, segments: string[], def: AttributeDefinition): string {
  const e = d.scalar(column, segments, def);
  return foldable(def) ? d.fold(e) : e;
}

/** A `computed` attribute (isComputed(): the schema keyword, or a server-written `$ref`) is not stored. */
function notStored(name: string, def: AttributeDefinition): never {
  const hint = def.name === '$ref' ? '; use its "value" instead' : '';
  throw invalidFilter(`"${name}" is computed when the resource is read and cannot be used in a filter${hint}`);
}

/**
 * The values of one attribute path, as SQL: either one expression of the row (`from` undefined), or
 * one row per value of a FROM source (`from`), for multi-valued attributes and for multi-valued
 * sub-attributes (`memoryPolicy.retains`: the elements of one array; `actionPolicies.approvers`: the
 * elements of an array in each element of another). `scalar` is typed (and folded when the attribute
 * folds), `text` the raw text for presence. evaluate.ts valuesOf() lists the same values.
 */
interface Values {
  from?: string;
  scalar: string;
  text: string;
}

/** The values of a multi-valued simple attribute or sub-attribute at `segments` of `column` (alias `alias`). */
function arrayValues(d: SqlDialect, column: string, segments: string[], def: AttributeDefinition, alias: string): Values {
  const e = d.elementScalar(undefined, def, alias);
  return { from: d.elements(column, segments, alias), scalar: foldable(def) ? d.fold(e) : e, text: d.elementText(undefined, alias) };
}

/** SQL of "this raw text is a present value" (evaluate.ts isPresent() for a simple value). */
function presentText(t: string): string {
  return `(${t} IS NOT NULL AND ${t} <> '')`;
}

/** `meta[a eq 1 and b pr]` is `meta.a eq 1 and meta.b pr`: meta lives in columns, not in the JSON. */
function qualifyMeta(f: Filter): Filter {
  const sub = (p: AttrPath): AttrPath => {
    if (p.uri !== undefined || p.sub !== undefined) throw invalidFilter(`"${pathKey(p)}" is not a sub-attribute path`);
    return { attr: 'meta', sub: p.attr };
  };
  switch (f.kind) {
    case 'and':
    case 'or':
      return { ...f, filters: f.filters.map(qualifyMeta) };
    case 'not':
      return { ...f, filter: qualifyMeta(f.filter) };
    case 'present':
    case 'compare':
      return { ...f, path: sub(f.path) };
    case 'valuePath':
      throw invalidFilter('a value filter cannot be nested inside meta[…]');
  }
}

interface Target {
  def: AttributeDefinition; // the attribute whose values are compared (sub-attribute if any)
  segments: string[]; // JSON path from the row root (single-valued)
  multi: boolean;
  arraySegments?: string[]; // path to the array (multi-valued)
  elementSub?: string; // sub-attribute inside each element
  nestedSub?: string; // a multi-valued sub-attribute inside each element: its values are compared
  mvKey?: string; // resource_values.attr when indexed
  column?: string; // a real column (id, created, last_modified)
}

export class SqlFilterTranslator {
  readonly #registry: SchemaRegistry;
  readonly #rt: ResourceTypeInfo;
  readonly #d: SqlDialect;
  readonly #typeLiteral: string;
  readonly #mvIndexed: Set<string>;

  constructor(registry: SchemaRegistry, rt: ResourceTypeInfo, dialect: SqlDialect) {
    this.#registry = registry;
    this.#rt = rt;
    this.#d = dialect;
    this.#typeLiteral = `'${rt.type.name.replace(/'/g, "''")}'`;
    this.#mvIndexed = new Set(
      MULTI_VALUED_INDEXES.filter((i) => i.type === rt.type.name).map((i) => pathKey(i.path).toLowerCase()),
    );
  }

  where(filter: Filter): SqlFragment {
    const params: unknown[] = [];
    return { sql: this.#node(filter, params), params };
  }

  /**
   * The sort key expression of a sortBy attribute and the JS type of its values (for cursors).
   * RFC 7644 §3.4.2.3: a singular attribute sorts by its value, a multi-valued one by its primary
   * (else first) value, a complex one must name a sub-attribute (we read `value` when it has one).
   * A multi-valued sub-attribute sorts by its first value: `memoryPolicy.retains` by the first
   * element of the array, `actionPolicies.approvers` by the first approver of the primary (else
   * first) policy that has one.
   * Attributes that are not stored (computed `groups`, meta.resourceType, meta.location) or complex
   * without a `value` are not sortable: 400 invalidValue, on every store alike.
   */
  sortInfo(sort: SortSpec): { expr: string; kind: SortKeyKind } {
    const name = pathKey(sort.path);
    const unsortable = (why: string) => invalidValue(`cannot sort by "${name}": ${why}`);
    if (this.#isComputedGroups(sort.path)) throw unsortable('groups is computed from Group membership');
    const r = this.#resolve(sort.path, 'sort');
    if (!r.extension && r.attribute.name === 'meta') {
      const sub = r.subAttribute?.name;
      if (sub !== 'created' && sub !== 'lastModified' && sub !== 'version') {
        throw unsortable('sort by meta.created, meta.lastModified or meta.version');
      }
    }
    const leaf = r.subAttribute ?? r.attribute;
    if (isComputed(r.attribute) || isComputed(leaf)) {
      throw unsortable(`it is computed when the resource is read${leaf.name === '$ref' ? '; sort by its "value"' : ''}`);
    }
    if (leaf.type === 'complex' && !leaf.subAttributes?.some((s) => s.name === 'value')) {
      throw unsortable(`it is complex; name one of its sub-attributes (e.g. "${name}.${leaf.subAttributes?.[0]?.name ?? 'value'}")`);
    }
    const t = this.#target(sort.path, 'sort');
    const d = this.#d;
    const kind = sortKeyKind(t.def);
    let expr: string;
    if (t.column) expr = t.column;
    else if (!t.multi) expr = valueExpr(d, ROW, t.segments, t.def);
    else if (t.nestedSub !== undefined) expr = d.primaryOrFirst(ROW, t.arraySegments ?? [], t.nestedSub, t.def, foldable(t.def), true);
    else expr = d.primaryOrFirst(ROW, t.arraySegments ?? [], t.elementSub, t.def, foldable(t.def));
    // text sorts in code point order on every store (PostgreSQL would use the database collation)
    return { expr: kind === 'string' || kind === 'dateTime' ? d.binaryOrder(expr) : expr, kind };
  }

  /** The sort key expression of a sortBy attribute. */
  sortKey(sort: SortSpec): string {
    return this.sortInfo(sort).expr;
  }

  /** ORDER BY text; missing values sort last in both directions, seq makes the order total. */
  orderBy(sort: SortSpec | undefined): string {
    if (!sort) return 'r.seq ASC';
    const expr = this.sortKey(sort);
    const dir = sort.descending ? 'DESC' : 'ASC';
    return `(${expr}) IS NULL, (${expr}) ${dir}, r.seq ${dir}`;
  }

  /**
   * Keyset condition "after this row" in orderBy()'s order, for RFC 9865 cursors: rows with a key
   * come first (ordered by key, then seq), rows without a key last (by seq). The key was checked
   * against the sort's kind by decodeCursor().
   */
  after(sort: SortSpec | undefined, pos: CursorPosition, params: unknown[]): string {
    if (!sort) {
      params.push(pos.seq);
      return 'r.seq > ?';
    }
    const info = this.sortInfo(sort);
    const k = `(${info.expr})`;
    const cmp = sort.descending ? '<' : '>';
    if (pos.key === null || pos.key === undefined) {
      params.push(pos.seq);
      return `(${k} IS NULL AND r.seq ${cmp} ?)`;
    }
    const key = typeof pos.key === 'boolean' ? this.#d.bool(pos.key) : pos.key;
    params.push(key, key, pos.seq);
    return `((${k} IS NOT NULL AND (${k} ${cmp} ? OR (${k} = ? AND r.seq ${cmp} ?))) OR ${k} IS NULL)`;
  }

  #not(sql: string): string {
    return `(NOT coalesce(${sql}, ${this.#d.falseLiteral}))`;
  }

  #node(f: Filter, params: unknown[]): string {
    switch (f.kind) {
      case 'and':
        return `(${f.filters.map((x) => this.#node(x, params)).join(' AND ')})`;
      case 'or':
        return `(${f.filters.map((x) => this.#node(x, params)).join(' OR ')})`;
      case 'not':
        return this.#not(this.#node(f.filter, params));
      case 'present':
        return this.#presence(f.path, params);
      case 'compare': {
        if (f.value === null) {
          if (f.op === 'eq') return this.#not(this.#presence(f.path, params));
          if (f.op === 'ne') return this.#presence(f.path, params);
          throw invalidFilter(`operator "${f.op}" cannot compare with null`);
        }
        if (this.#isComputedGroups(f.path)) {
          // ne is NOT(eq) here too: no group matches (a resource in no group matches `ne`)
          const path = { attr: f.path.sub ?? 'value' };
          if (f.op === 'ne') return this.#not(this.#groups({ ...f, op: 'eq', path }, params));
          return this.#groups({ ...f, path }, params);
        }
        const t = this.#target(f.path, 'filter');
        if (f.op === 'ne') return this.#not(this.#compareTarget(t, 'eq', f.value, params));
        return this.#compareTarget(t, f.op, f.value, params);
      }
      case 'valuePath':
        if (this.#isComputedGroups(f.path)) return this.#groups(f.filter, params);
        return this.#valuePath(f.path, f.filter, params);
    }
  }

  /**
   * `x pr` (and `x ne null`; `x eq null` is its negation). A complex attribute is tested as a whole,
   * not through its `value` (RFC 7644 §3.4.2.2: "a non-empty node for complex attributes"), exactly
   * as isPresent() in evaluate.ts: a single-valued one is present when one of its sub-attributes is,
   * a multi-valued one when one of its elements is.
   */
  #presence(path: AttrPath, params: unknown[]): string {
    if (this.#isComputedGroups(path)) {
      // every group a resource is in has a value and type "direct"; display is its displayName
      const sub = path.sub?.toLowerCase();
      return this.#groups({ kind: 'present', path: { attr: sub === 'display' || sub === '$ref' ? sub : 'value' } }, params);
    }
    const r = this.#resolve(path, 'filter');
    const leaf = r.subAttribute ?? r.attribute;
    const isMeta = !r.extension && r.attribute.name === 'meta';
    if (leaf.type !== 'complex' || isMeta) return this.#present(this.#target(path, 'filter'));
    if (isComputed(leaf)) notStored(pathKey(path), leaf);
    return this.#complexPresent(r);
  }

  #complexPresent(r: ResolvedPath): string {
    const d = this.#d;
    const a = r.attribute;
    const base = r.extension ? [r.schema, a.name] : [a.name];
    const subs = a.subAttributes ?? [];
    if (subs.length === 0) return '(1 = 0)';
    if (!a.multiValued) {
      const conds = subs.map((s) => {
        if (!s.multiValued) return presentText(d.text(ROW, [...base, s.name]));
        return `EXISTS (SELECT 1 FROM ${d.elements(ROW, [...base, s.name], 'je')} WHERE ${presentText(d.elementText(undefined, 'je'))})`;
      });
      return `(${conds.join(' OR ')})`;
    }
    const conds = subs.map((s) => {
      if (!s.multiValued) return presentText(d.elementText(s.name));
      return `EXISTS (SELECT 1 FROM ${d.elements('je.value', [s.name], 'je2')} WHERE ${presentText(d.elementText(undefined, 'je2'))})`;
    });
    return `(EXISTS (SELECT 1 FROM ${d.elements(ROW, base)} WHERE ${conds.join(' OR ')}))`;
  }

  /** `groups` of Users and Agents is computed from Group members, not stored: it is never in the JSON. */
  #isComputedGroups(path: AttrPath): boolean {
    if (path.attr.toLowerCase() !== 'groups') return false;
    const r = this.#registry.resolve(this.#rt, path);
    return r !== undefined && !r.extension && r.attribute.mutability === 'readOnly' && this.#rt.type.name !== 'Group';
  }

  /**
   * A filter over the groups a resource belongs to, through the member index: `value` is the
   * group's id, `display` its displayName, `type` is always "direct".
   */
  #groups(inner: Filter, params: unknown[]): string {
    const d = this.#d;
    const r = this.#registry.resolve(this.#rt, { attr: 'groups' })!;
    const subs = r.attribute.subAttributes ?? [];
    const group = this.#registry.resourceType('Group');
    const displayDef = group?.attributes.find((a) => a.name === 'displayName');
    const member = `v.type = 'Group' AND v.attr = 'members.value'`;
    // the common case, an exact group id: an index lookup of the members
    if (inner.kind === 'compare' && inner.op === 'eq' && inner.path.attr.toLowerCase() === 'value' && typeof inner.value === 'string') {
      // User groups.value is caseExact false: fold the literal as #cmp() does (group ids are lower-case UUIDs)
      const valueDef = subs.find((s) => s.name === 'value');
      params.push(valueDef && foldable(valueDef) ? foldCase(inner.value) : inner.value);
      return `(${d.fold('r.id')} IN (SELECT v.value FROM resource_values v WHERE ${member} AND v.id = ?))`;
    }
    const cond = this.#inner(
      inner,
      subs,
      (sub) => {
        if (sub.name === 'value') return { scalar: 'v.id', text: 'v.id' };
        if (sub.name === 'display' && displayDef) {
          return { scalar: valueExpr(d, 'g.data', ['displayName'], { ...sub, caseExact: displayDef.caseExact }), text: d.text('g.data', ['displayName']) };
        }
        if (sub.name === 'type') return { scalar: `'direct'`, text: `'direct'` };
        throw invalidFilter(`groups.${sub.name} cannot be used in a filter`);
      },
      params,
    );
    return `(EXISTS (SELECT 1 FROM resource_values v JOIN resources g ON g.type = 'Group' AND g.id = v.id WHERE ${member} AND v.value = ${d.fold('r.id')} AND ${cond}))`;
  }

  #resolve(path: AttrPath, purpose: 'filter' | 'sort') {
    const r = this.#registry.resolve(this.#rt, path);
    if (!r) {
      const name = pathKey(path);
      throw invalidFilter(
        purpose === 'filter' ? `unknown attribute "${name}" for ${this.#rt.type.name}` : `cannot sort by unknown attribute "${name}"`,
      );
    }
    return r;
  }

  #target(path: AttrPath, purpose: 'filter' | 'sort'): Target {
    const r = this.#resolve(path, purpose);
    const base = r.extension ? [r.schema, r.attribute.name] : [r.attribute.name];
    if (!r.extension && r.attribute.name === 'id') return { def: r.attribute, segments: [], multi: false, column: 'r.id' };
    if (!r.extension && r.attribute.name === 'meta') {
      const sub = r.subAttribute;
      const col =
        sub?.name === 'created'
          ? 'r.created'
          : sub?.name === 'lastModified'
            ? 'r.last_modified'
            : sub?.name === 'resourceType'
              ? this.#typeLiteral
              : sub?.name === 'version'
                ? `('W/"' || r.version || '"')`
                : undefined;
      if (!sub || !col) throw invalidFilter(`"meta${sub ? '.' + sub.name : ''}" cannot be used in a filter or sort`);
      return { def: sub, segments: [], multi: false, column: col };
    }
    let def = r.subAttribute ?? r.attribute;
    if (isComputed(r.attribute)) notStored(pathKey(path), r.attribute);
    if (isComputed(def)) notStored(pathKey(path), def);
    let sub = r.subAttribute?.name;
    if (def.type === 'complex') {
      const value = def.subAttributes?.find((s) => s.name === 'value');
      if (!value) throw invalidFilter(`"${pathKey(path)}" is complex: name one of its sub-attributes`);
      def = value;
      sub = 'value';
    }
    if (r.attribute.multiValued && r.subAttribute?.multiValued && sub !== undefined) {
      // an array in each element (`actionPolicies.approvers`): ANY value of ANY element
      return { def, segments: [], multi: true, arraySegments: base, nestedSub: sub };
    }
    if (r.subAttribute?.multiValued && sub !== undefined) {
      // an array in the one value of a single-valued complex attribute (`memoryPolicy.retains`)
      return { def, segments: [], multi: true, arraySegments: [...base, sub] };
    }
    if (r.attribute.multiValued) {
      const key = (r.extension ? `${r.schema}:${r.attribute.name}` : r.attribute.name) + (sub ? `.${sub}` : '');
      const t: Target = { def, segments: [], multi: true, arraySegments: base };
      if (sub !== undefined) t.elementSub = sub;
      if (this.#mvIndexed.has(key.toLowerCase())) t.mvKey = key;
      return t;
    }
    return { def, segments: sub ? [...base, sub] : base, multi: false };
  }

  /** Type and operator checks shared by every comparison; returns the value to bind. */
  #literal(def: AttributeDefinition, op: CompareOp, value: FilterValue): unknown {
    const where = def.name;
    switch (def.type) {
      case 'boolean':
        if (op !== 'eq') throw invalidFilter(`operator "${op}" is not defined for boolean attribute "${where}"`);
        if (typeof value !== 'boolean') throw invalidFilter(`attribute "${where}" is boolean: compare it with true or false`);
        return this.#d.bool(value);
      case 'integer':
      case 'decimal':
        if (op === 'co' || op === 'sw' || op === 'ew') {
          throw invalidFilter(`operator "${op}" is not defined for numeric attribute "${where}"`);
        }
        if (typeof value !== 'number') throw invalidFilter(`attribute "${where}" is numeric: compare it with a number`);
        return value;
      case 'dateTime': {
        if (typeof value !== 'string') throw invalidFilter(`attribute "${where}" is a dateTime: compare it with a quoted date`);
        if (op === 'co' || op === 'sw' || op === 'ew') return value;
        const d = normalizeDateTime(value);
        if (d === undefined) throw invalidFilter(`"${value}" is not an xsd:dateTime (e.g. "2026-01-31T12:00:00Z")`);
        return d;
      }
      case 'complex':
        throw invalidFilter(`"${where}" is complex: name one of its sub-attributes`);
      case 'binary':
        if (op === 'gt' || op === 'ge' || op === 'lt' || op === 'le') {
          throw invalidFilter(`operator "${op}" is not defined for binary attribute "${where}"`);
        }
        if (typeof value !== 'string') throw invalidFilter(`attribute "${where}" is binary: compare it with a quoted string`);
        return value;
      default:
        if (typeof value !== 'string') throw invalidFilter(`attribute "${where}" is a string: compare it with a quoted string`);
        return foldable(def) ? foldCase(value) : value;
    }
  }

  #cmp(expr: string, def: AttributeDefinition, op: CompareOp, value: FilterValue, params: unknown[]): string {
    const v = this.#literal(def, op, value);
    if (op === 'co' || op === 'sw' || op === 'ew') {
      const p = this.#d.pattern(expr, op, String(v));
      params.push(p.param);
      return p.sql;
    }
    params.push(v);
    const sqlOp = { eq: '=', ne: '=', gt: '>', ge: '>=', lt: '<', le: '<=' }[op];
    // gt/ge/lt/le on text: code point order on every store, as the in-memory evaluator compares
    const ordered = op !== 'eq' && op !== 'ne' && typeof v === 'string';
    return `${ordered ? this.#d.binaryOrder(expr) : expr} ${sqlOp} ?`;
  }

  #compareTarget(t: Target, op: CompareOp, value: FilterValue, params: unknown[]): string {
    const d = this.#d;
    if (t.column) return `(${this.#cmp(t.column, t.def, op, value, params)})`;
    if (!t.multi) return `(${this.#cmp(valueExpr(d, ROW, t.segments, t.def), t.def, op, value, params)})`;
    if (t.mvKey) {
      const cond = this.#cmp('v.value', t.def, op, value, params);
      return `(r.id IN (SELECT v.id FROM resource_values v WHERE v.type = ${this.#typeLiteral} AND v.attr = '${t.mvKey}' AND ${cond}))`;
    }
    const v = this.#values(t);
    return `(EXISTS (SELECT 1 FROM ${v.from} WHERE ${this.#cmp(v.scalar, t.def, op, value, params)}))`;
  }

  /** The values of a multi-valued target: one row per element (per element of each element's array, for nestedSub). */
  #values(t: Target): Required<Values> {
    const d = this.#d;
    const outer = d.elements(ROW, t.arraySegments ?? []);
    if (t.nestedSub !== undefined) {
      const inner = arrayValues(d, 'je.value', [t.nestedSub], t.def, 'je2');
      return { from: `${outer}, ${inner.from ?? ''}`, scalar: inner.scalar, text: inner.text };
    }
    const e = d.elementScalar(t.elementSub, t.def);
    return { from: outer, scalar: foldable(t.def) ? d.fold(e) : e, text: d.elementText(t.elementSub) };
  }

  #present(t: Target): string {
    const d = this.#d;
    if (t.column) return '(1 = 1)';
    if (!t.multi) {
      const raw = d.text(ROW, t.segments);
      return `(${raw} IS NOT NULL AND ${raw} <> '' AND ${raw} <> '{}')`;
    }
    const v = this.#values(t);
    return `(EXISTS (SELECT 1 FROM ${v.from} WHERE ${presentText(v.text)}))`;
  }

  #valuePath(path: AttrPath, inner: Filter, params: unknown[]): string {
    const d = this.#d;
    const r = this.#resolve(path, 'filter');
    if (r.attribute.type !== 'complex' || path.sub !== undefined) {
      throw invalidFilter(`"${pathKey(path)}[…]" needs a complex attribute`);
    }
    if (!r.extension && r.attribute.name === 'meta') return this.#node(qualifyMeta(inner), params);
    const subs = r.attribute.subAttributes ?? [];
    const base = r.extension ? [r.schema, r.attribute.name] : [r.attribute.name];
    if (!r.attribute.multiValued) {
      // single complex: the inner paths are sub-attributes of the one value; no value, no match
      const cond = this.#inner(
        inner,
        subs,
        (sub) =>
          sub.multiValued
            ? arrayValues(d, ROW, [...base, sub.name], sub, 'je')
            : { scalar: valueExpr(d, ROW, [...base, sub.name], sub), text: d.text(ROW, [...base, sub.name]) },
        params,
      );
      return `(${d.isObject(ROW, base)} AND ${cond})`;
    }
    const key = r.extension ? `${r.schema}:${r.attribute.name}` : r.attribute.name;
    const existsParams: unknown[] = [];
    const cond = this.#inner(
      inner,
      subs,
      (sub) => {
        // a multi-valued sub-attribute (`actionPolicies[approvers eq "x"]`): the array in this element
        if (sub.multiValued) return arrayValues(d, 'je.value', [sub.name], sub, 'je2');
        const e = d.elementScalar(sub.name, sub);
        return { scalar: foldable(sub) ? d.fold(e) : e, text: d.elementText(sub.name) };
      },
      existsParams,
    );
    const exists = `EXISTS (SELECT 1 FROM ${d.elements(ROW, base)} WHERE ${cond})`;
    // An equality on an indexed sub-attribute narrows the rows by index before the JSON scan.
    const eq = indexableEquality(inner, subs);
    if (eq && this.#mvIndexed.has(`${key}.${eq.sub.name}`.toLowerCase())) {
      const pre: unknown[] = [];
      const eqSql = this.#cmp('v.value', eq.sub, 'eq', eq.value, pre);
      if (inner.kind === 'compare') {
        // the equality is the whole filter: the index answers it exactly, no JSON re-check needed
        params.push(...pre);
        return `(r.id IN (SELECT v.id FROM resource_values v WHERE v.type = ${this.#typeLiteral} AND v.attr = '${key}.${eq.sub.name}' AND ${eqSql}))`;
      }
      params.push(...pre, ...existsParams);
      return `(r.id IN (SELECT v.id FROM resource_values v WHERE v.type = ${this.#typeLiteral} AND v.attr = '${key}.${eq.sub.name}' AND ${eqSql}) AND ${exists})`;
    }
    params.push(...existsParams);
    return `(${exists})`;
  }

  #inner(
    f: Filter,
    subs: readonly AttributeDefinition[],
    valuesOf: (sub: AttributeDefinition) => Values,
    params: unknown[],
  ): string {
    const find = (p: AttrPath) => {
      if (p.uri !== undefined || p.sub !== undefined) throw invalidFilter(`"${pathKey(p)}" is not a sub-attribute path`);
      const s = subs.find((x) => x.name.toLowerCase() === p.attr.toLowerCase());
      if (!s) throw invalidFilter(`unknown sub-attribute "${p.attr}"`);
      if (isComputed(s)) notStored(p.attr, s);
      return s;
    };
    // a multi-valued sub-attribute matches when ANY of its values does (evaluate.ts valuesOf())
    const any = (v: Values, cond: string) => (v.from === undefined ? `(${cond})` : `(EXISTS (SELECT 1 FROM ${v.from} WHERE ${cond}))`);
    const present = (s: AttributeDefinition) => {
      const v = valuesOf(s);
      return any(v, presentText(v.text));
    };
    const compare = (s: AttributeDefinition, op: CompareOp, value: FilterValue) => {
      const v = valuesOf(s);
      return any(v, this.#cmp(v.scalar, s, op, value, params));
    };
    switch (f.kind) {
      case 'and':
        return `(${f.filters.map((x) => this.#inner(x, subs, valuesOf, params)).join(' AND ')})`;
      case 'or':
        return `(${f.filters.map((x) => this.#inner(x, subs, valuesOf, params)).join(' OR ')})`;
      case 'not':
        return this.#not(this.#inner(f.filter, subs, valuesOf, params));
      case 'present':
        return present(find(f.path));
      case 'compare': {
        const s = find(f.path);
        if (f.value === null) {
          if (f.op === 'eq') return this.#not(present(s));
          if (f.op === 'ne') return present(s);
          throw invalidFilter(`operator "${f.op}" cannot compare with null`);
        }
        if (f.op === 'ne') return this.#not(compare(s, 'eq', f.value));
        return compare(s, f.op, f.value);
      }
      case 'valuePath':
        throw invalidFilter('a value filter cannot be nested in another');
    }
  }
}

/** The JS type of a sort key read back from either store (see cursor.ts). */
export function sortKeyKind(def: AttributeDefinition): SortKeyKind {
  switch (def.type) {
    case 'integer':
    case 'decimal':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'dateTime':
      return 'dateTime';
    default:
      return 'string';
  }
}

/** `value eq "x"` alone, or as one operand of a top-level AND. */
function indexableEquality(
  f: Filter,
  subs: readonly AttributeDefinition[],
): { sub: AttributeDefinition; value: FilterValue } | undefined {
  const candidates = f.kind === 'and' ? f.filters : [f];
  for (const c of candidates) {
    if (c.kind !== 'compare' || c.op !== 'eq' || c.value === null || c.path.sub || c.path.uri) continue;
    const sub = subs.find((s) => s.name.toLowerCase() === c.path.attr.toLowerCase());
    if (sub && !sub.multiValued && (sub.type === 'string' || sub.type === 'reference')) return { sub, value: c.value };
  }
  return undefined;
}
