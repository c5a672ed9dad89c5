// RFC 7644 filter AST -> SQL WHERE / ORDER BY, for the generic `resources` table. Semantics mirror
// src/scim/filter/evaluate.ts exactly (the tests compare the two on generated data):
// - a comparison on a missing attribute is false; `ne` is NOT(eq), so a missing attribute matches `ne`;
// - multi-valued attributes match when ANY value matches; complex without a sub-attribute means `.value`;
// - caseExact=false compares case-folded text (scim_fold on SQLite, the same as JS toLowerCase).
// Positive comparisons are left bare so that expression indexes apply; NOT wraps its operand in
// coalesce(…, 0) to turn SQL's NULL into false first.

import { normalizeDateTime } from '../scim/datetime.js';
import { invalidFilter } from '../scim/errors.js';
import type { AttrPath, CompareOp, Filter, FilterValue } from '../scim/filter/ast.js';
import type { ResourceTypeInfo, SchemaRegistry } from '../scim/registry.js';
import type { AttributeDefinition } from '../scim/schema-types.js';
import { MULTI_VALUED_INDEXES, pathKey } from './indexes.js';
import type { SortSpec } from './types.js';

export interface SqlFragment {
  sql: string;
  params: unknown[];
}

/** JSON path literal for SQLite: $.attr.sub or $."urn:…".attr.sub */
export function jsonPath(segments: string[]): string {
  return (
    '$' +
    segments.map((s) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(s) ? `.${s}` : `."${s}"`)).join('')
  );
}

/** The SQL text of a single-valued attribute inside the row's JSON; shared with the index DDL. */
export function valueExpr(column: string, segments: string[], fold: boolean): string {
  const e = `json_extract(${column}, '${jsonPath(segments)}')`;
  return fold ? `scim_fold(${e})` : e;
}

const GLOB_SPECIAL = /[*?[\]]/g;
function globEscape(s: string): string {
  return s.replace(GLOB_SPECIAL, (c) => `[${c}]`);
}

interface Target {
  def: AttributeDefinition; // the attribute whose values are compared (sub-attribute if any)
  segments: string[]; // JSON path from the row (or element) root
  multi: boolean; // values come from a multi-valued parent
  arraySegments?: string[]; // path to the array when multi
  elementSub?: string; // sub-attribute inside each array element
  mvKey?: string; // resource_values.attr when indexed
  column?: string; // a real column (id, created, last_modified)
}

export class SqliteFilterTranslator {
  readonly #registry: SchemaRegistry;
  readonly #rt: ResourceTypeInfo;
  readonly #typeLiteral: string;
  readonly #mvIndexed: Set<string>;

  constructor(registry: SchemaRegistry, rt: ResourceTypeInfo) {
    this.#registry = registry;
    this.#rt = rt;
    this.#typeLiteral = `'${rt.type.name.replace(/'/g, "''")}'`;
    this.#mvIndexed = new Set(
      MULTI_VALUED_INDEXES.filter((i) => i.type === rt.type.name).map((i) => pathKey(i.path).toLowerCase()),
    );
  }

  where(filter: Filter): SqlFragment {
    const params: unknown[] = [];
    const sql = this.#node(filter, params, 'r.data');
    return { sql, params };
  }

  orderBy(sort: SortSpec | undefined): string {
    if (!sort) return 'r.seq ASC';
    const t = this.#target(sort.path, 'sort');
    let expr: string;
    if (t.column) expr = t.column;
    else if (!t.multi) expr = valueExpr('r.data', t.segments, foldable(t.def));
    else {
      // multi-valued: the primary value, else the first (RFC 7644 §3.4.2.3)
      const sub = t.elementSub ? `'${jsonPath([t.elementSub])}'` : `'$'`;
      const v = `json_extract(je.value, ${sub})`;
      expr = `(SELECT ${foldable(t.def) ? `scim_fold(${v})` : v} FROM json_each(r.data, '${jsonPath(t.arraySegments ?? [])}') je ORDER BY coalesce(json_extract(je.value, '$.primary'), 0) DESC, je.key LIMIT 1)`;
    }
    const dir = sort.descending ? 'DESC' : 'ASC';
    // missing values sort last in both directions; seq keeps the order total and stable
    return `(${expr}) IS NULL, (${expr}) ${dir}, r.seq ${dir}`;
  }

  #node(f: Filter, params: unknown[], root: string): string {
    switch (f.kind) {
      case 'and':
        return `(${f.filters.map((x) => this.#node(x, params, root)).join(' AND ')})`;
      case 'or':
        return `(${f.filters.map((x) => this.#node(x, params, root)).join(' OR ')})`;
      case 'not':
        return `(NOT coalesce(${this.#node(f.filter, params, root)}, 0))`;
      case 'present':
        return this.#present(this.#target(f.path, 'filter'), params);
      case 'compare':
        if (f.value === null) {
          if (f.op === 'eq') return `(NOT coalesce(${this.#present(this.#target(f.path, 'filter'), params)}, 0))`;
          if (f.op === 'ne') return this.#present(this.#target(f.path, 'filter'), params);
          throw invalidFilter(`operator "${f.op}" cannot compare with null`);
        }
        if (f.op === 'ne') {
          return `(NOT coalesce(${this.#compareTarget(this.#target(f.path, 'filter'), 'eq', f.value, params)}, 0))`;
        }
        return this.#compareTarget(this.#target(f.path, 'filter'), f.op, f.value, params);
      case 'valuePath':
        return this.#valuePath(f.path, f.filter, params);
    }
  }

  #resolve(path: AttrPath, purpose: 'filter' | 'sort') {
    const r = this.#registry.resolve(this.#rt, path);
    if (!r) {
      const name = pathKey(path);
      throw purpose === 'filter' ? invalidFilter(`unknown attribute "${name}" for ${this.#rt.type.name}`) : invalidFilter(`cannot sort by unknown attribute "${name}"`);
    }
    return r;
  }

  #target(path: AttrPath, purpose: 'filter' | 'sort'): Target {
    const r = this.#resolve(path, purpose);
    const base = r.extension ? [r.schema, r.attribute.name] : [r.attribute.name];
    if (!r.extension && r.attribute.name === 'id') return { def: r.attribute, segments: [], multi: false, column: 'r.id' };
    if (!r.extension && r.attribute.name === 'meta') {
      const sub = r.subAttribute?.name;
      if (sub === 'created') return { def: r.subAttribute!, segments: [], multi: false, column: 'r.created' };
      if (sub === 'lastModified') return { def: r.subAttribute!, segments: [], multi: false, column: 'r.last_modified' };
      if (sub === 'resourceType') return { def: r.subAttribute!, segments: [], multi: false, column: this.#typeLiteral };
      if (sub === 'version') return { def: r.subAttribute!, segments: [], multi: false, column: `('W/"' || r.version || '"')` };
      throw invalidFilter(`"meta${sub ? '.' + sub : ''}" cannot be used in a filter or sort`);
    }
    let def = r.subAttribute ?? r.attribute;
    let sub = r.subAttribute?.name;
    if (def.type === 'complex') {
      const value = def.subAttributes?.find((s) => s.name === 'value');
      if (!value) throw invalidFilter(`"${pathKey(path)}" is complex: name one of its sub-attributes`);
      def = value;
      sub = 'value';
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

  /** Literal + operator checks shared by every comparison, returning the bound value. */
  #literal(def: AttributeDefinition, op: CompareOp, value: FilterValue): unknown {
    const where = def.name;
    switch (def.type) {
      case 'boolean':
        if (op !== 'eq') throw invalidFilter(`operator "${op}" is not defined for boolean attribute "${where}"`);
        if (typeof value !== 'boolean') throw invalidFilter(`attribute "${where}" is boolean: compare it with true or false`);
        return value ? 1 : 0;
      case 'integer':
      case 'decimal':
        if (op === 'co' || op === 'sw' || op === 'ew') throw invalidFilter(`operator "${op}" is not defined for numeric attribute "${where}"`);
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
        return foldable(def) ? value.toLowerCase() : value;
    }
  }

  #cmp(expr: string, def: AttributeDefinition, op: CompareOp, value: FilterValue, params: unknown[]): string {
    const v = this.#literal(def, op, value);
    switch (op) {
      case 'eq':
      case 'ne':
        params.push(v);
        return `${expr} = ?`;
      case 'gt':
        params.push(v);
        return `${expr} > ?`;
      case 'ge':
        params.push(v);
        return `${expr} >= ?`;
      case 'lt':
        params.push(v);
        return `${expr} < ?`;
      case 'le':
        params.push(v);
        return `${expr} <= ?`;
      case 'co':
        params.push(`*${globEscape(String(v))}*`);
        return `${expr} GLOB ?`;
      case 'sw':
        params.push(`${globEscape(String(v))}*`);
        return `${expr} GLOB ?`;
      case 'ew':
        params.push(`*${globEscape(String(v))}`);
        return `${expr} GLOB ?`;
    }
  }

  #compareTarget(t: Target, op: CompareOp, value: FilterValue, params: unknown[]): string {
    const fold = foldable(t.def);
    if (t.column) return `(${this.#cmp(t.column, t.def, op, value, params)})`;
    if (!t.multi) return `(${this.#cmp(valueExpr('r.data', t.segments, fold), t.def, op, value, params)})`;
    if (t.mvKey) {
      const cond = this.#cmp('v.value', t.def, op, value, params);
      return `(r.id IN (SELECT v.id FROM resource_values v WHERE v.type = ${this.#typeLiteral} AND v.attr = '${t.mvKey}' AND ${cond}))`;
    }
    const elem = t.elementSub ? `json_extract(je.value, '${jsonPath([t.elementSub])}')` : 'je.value';
    const cond = this.#cmp(fold ? `scim_fold(${elem})` : elem, t.def, op, value, params);
    return `(EXISTS (SELECT 1 FROM json_each(r.data, '${jsonPath(t.arraySegments ?? [])}') je WHERE ${cond}))`;
  }

  #present(t: Target, _params: unknown[]): string {
    if (t.column) return '(1)';
    if (!t.multi) {
      const raw = `json_extract(r.data, '${jsonPath(t.segments)}')`;
      return `(${raw} IS NOT NULL AND ${raw} != '' AND ${raw} != '{}')`;
    }
    const arr = `json_each(r.data, '${jsonPath(t.arraySegments ?? [])}')`;
    if (!t.elementSub) return `(EXISTS (SELECT 1 FROM ${arr} je WHERE je.value IS NOT NULL AND je.value != ''))`;
    const e = `json_extract(je.value, '${jsonPath([t.elementSub])}')`;
    return `(EXISTS (SELECT 1 FROM ${arr} je WHERE ${e} IS NOT NULL AND ${e} != ''))`;
  }

  #valuePath(path: AttrPath, inner: Filter, params: unknown[]): string {
    const r = this.#resolve(path, 'filter');
    if (r.attribute.type !== 'complex' || path.sub !== undefined) {
      throw invalidFilter(`"${pathKey(path)}[…]" needs a complex attribute`);
    }
    const subs = r.attribute.subAttributes ?? [];
    const base = r.extension ? [r.schema, r.attribute.name] : [r.attribute.name];
    if (!r.attribute.multiValued) {
      // single complex: the inner paths are sub-attributes of the one value; no value, no match
      const cond = this.#inner(inner, subs, (sub) => valueExpr('r.data', [...base, sub.name], foldable(sub)), params);
      return `(json_type(r.data, '${jsonPath(base)}') = 'object' AND ${cond})`;
    }
    const key = r.extension ? `${r.schema}:${r.attribute.name}` : r.attribute.name;
    const existsParams: unknown[] = [];
    const cond = this.#inner(
      inner,
      subs,
      (sub) => {
        const e = `json_extract(je.value, '${jsonPath([sub.name])}')`;
        return foldable(sub) ? `scim_fold(${e})` : e;
      },
      existsParams,
    );
    const exists = `EXISTS (SELECT 1 FROM json_each(r.data, '${jsonPath(base)}') je WHERE ${cond})`;
    // An equality on an indexed sub-attribute narrows the rows by index before the JSON scan.
    const eq = indexableEquality(inner, subs);
    if (eq && this.#mvIndexed.has(`${key}.${eq.sub.name}`.toLowerCase())) {
      const pre: unknown[] = [];
      const eqSql = this.#cmp('v.value', eq.sub, 'eq', eq.value, pre);
      params.push(...pre, ...existsParams);
      return `(r.id IN (SELECT v.id FROM resource_values v WHERE v.type = ${this.#typeLiteral} AND v.attr = '${key}.${eq.sub.name}' AND ${eqSql}) AND ${exists})`;
    }
    params.push(...existsParams);
    return `(${exists})`;
  }

  #inner(
    f: Filter,
    subs: readonly AttributeDefinition[],
    exprOf: (sub: AttributeDefinition) => string,
    params: unknown[],
  ): string {
    const find = (p: AttrPath) => {
      if (p.uri !== undefined || p.sub !== undefined) throw invalidFilter(`"${pathKey(p)}" is not a sub-attribute path`);
      const s = subs.find((x) => x.name.toLowerCase() === p.attr.toLowerCase());
      if (!s) throw invalidFilter(`unknown sub-attribute "${p.attr}"`);
      return s;
    };
    switch (f.kind) {
      case 'and':
        return `(${f.filters.map((x) => this.#inner(x, subs, exprOf, params)).join(' AND ')})`;
      case 'or':
        return `(${f.filters.map((x) => this.#inner(x, subs, exprOf, params)).join(' OR ')})`;
      case 'not':
        return `(NOT coalesce(${this.#inner(f.filter, subs, exprOf, params)}, 0))`;
      case 'present': {
        const s = find(f.path);
        const e = exprOf(s);
        return `(${e} IS NOT NULL AND ${e} != '')`;
      }
      case 'compare': {
        const s = find(f.path);
        const e = exprOf(s);
        if (f.value === null) {
          if (f.op === 'eq') return `(NOT coalesce((${e} IS NOT NULL AND ${e} != ''), 0))`;
          if (f.op === 'ne') return `(${e} IS NOT NULL AND ${e} != '')`;
          throw invalidFilter(`operator "${f.op}" cannot compare with null`);
        }
        if (f.op === 'ne') return `(NOT coalesce((${this.#cmp(e, s, 'eq', f.value, params)}), 0))`;
        return `(${this.#cmp(e, s, f.op, f.value, params)})`;
      }
      case 'valuePath':
        throw invalidFilter('a value filter cannot be nested in another');
    }
  }
}

function foldable(def: AttributeDefinition): boolean {
  return !def.caseExact && (def.type === 'string' || def.type === 'reference');
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
    if (sub && sub.type !== 'boolean') return { sub, value: c.value };
  }
  return undefined;
}
