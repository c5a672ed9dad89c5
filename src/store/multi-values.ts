// The rows of resource_values for one resource: the values of its indexed multi-valued
// sub-attributes, case-folded (foldCase, src/lib/case-fold.ts) where the attribute is not caseExact. Both stores write these
// as a diff against the previous values, so a one-member change to a large group is one row.

import { foldCase } from '../lib/case-fold.js';
import type { SchemaRegistry } from '../scim/registry.js';
import { foldable } from './filter-sql.js';
import { MULTI_VALUED_INDEXES, pathKey } from './indexes.js';
import type { Json } from './types.js';

export interface MultiValuedIndex {
  type: string;
  key: string;
  path: { uri?: string; attr: string; sub?: string };
  fold: boolean;
}

export function multiValuedIndexes(registry: SchemaRegistry): MultiValuedIndex[] {
  const out: MultiValuedIndex[] = [];
  for (const ia of MULTI_VALUED_INDEXES) {
    const rt = registry.resourceType(ia.type);
    if (!rt) continue;
    const r = registry.resolve(rt, ia.path);
    if (!r) continue;
    const def = r.subAttribute ?? r.attribute;
    const path = {
      attr: r.attribute.name,
      ...(r.extension ? { uri: r.schema } : {}),
      ...(r.subAttribute ? { sub: r.subAttribute.name } : {}),
    };
    out.push({ type: ia.type, key: pathKey(path), path, fold: foldable(def) });
  }
  return out;
}

export function multiValues(data: Json | undefined, m: MultiValuedIndex): Set<string> {
  const out = new Set<string>();
  if (!data) return out;
  const holder = m.path.uri ? (data[m.path.uri] as Json | undefined) : data;
  const arr = holder?.[m.path.attr];
  if (!Array.isArray(arr)) return out;
  for (const el of arr) {
    const v = m.path.sub ? (el as Json | null)?.[m.path.sub] : el;
    if (typeof v === 'string') out.add(m.fold ? foldCase(v) : v);
  }
  return out;
}

/** Rows to delete and insert to move the index of one resource from `before` to `after`. */
export function valueChanges(
  indexes: readonly MultiValuedIndex[],
  type: string,
  before: Json | undefined,
  after: Json | undefined,
): { removed: [string, string][]; added: [string, string][] } {
  const removed: [string, string][] = [];
  const added: [string, string][] = [];
  for (const m of indexes) {
    if (m.type !== type) continue;
    const prev = multiValues(before, m);
    const next = multiValues(after, m);
    for (const v of prev) if (!next.has(v)) removed.push([m.key, v]);
    for (const v of next) if (!prev.has(v)) added.push([m.key, v]);
  }
  return { removed, added };
}
