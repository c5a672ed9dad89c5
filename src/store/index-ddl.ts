// DDL for the attribute indexes of store/indexes.ts, in either dialect, built with the same
// valueExpr() the filter translator emits so the planner can match them.

import type { SchemaRegistry } from '../scim/registry.js';
import { valueExpr } from './filter-sql.js';
import { indexName, MULTI_VALUED_INDEXES, pathKey, SINGLE_VALUED_INDEXES } from './indexes.js';
import { pgPath, type SqlDialect, sqliteJsonPath } from './sql-dialect.js';

export function attributeIndexDdl(registry: SchemaRegistry, d: SqlDialect, version = 1): string[] {
  const out: string[] = [];
  for (const ia of SINGLE_VALUED_INDEXES) {
    if ((ia.since ?? 1) !== version) continue;
    const rt = registry.resourceType(ia.type);
    if (!rt) continue;
    const r = registry.resolve(rt, ia.path);
    if (!r) throw new Error(`index on unknown attribute ${ia.type}.${ia.path.attr}`);
    const def = r.subAttribute ?? r.attribute;
    const segments = r.extension ? [r.schema, r.attribute.name] : [r.attribute.name];
    if (r.subAttribute) segments.push(r.subAttribute.name);
    const expr = valueExpr(d, 'data', segments, def);
    const kind = ia.unique ? 'UNIQUE INDEX' : 'INDEX';
    const cols = `(${expr})${ia.unique ? '' : ', seq'}`;
    out.push(`CREATE ${kind} ${indexName(ia.unique ? 'ux' : 'ix', ia)} ON resources (${cols}) WHERE type = '${ia.type}'`);
  }
  return out;
}

/**
 * Migration 5: the unique index over credential ids and thumbprints, then the values of the
 * multi-valued attributes indexed since then, read out of the stored documents.
 */
export function multiValueBackfillDdl(registry: SchemaRegistry, d: SqlDialect, version: number): string[] {
  const out: string[] = [];
  const unique = MULTI_VALUED_INDEXES.filter((i) => i.unique && (i.since ?? 1) === version).map((i) => `'${pathKey(i.path)}'`);
  if (unique.length > 0) {
    out.push(`CREATE UNIQUE INDEX ux_resource_values_unique_v${version} ON resource_values (type, attr, value) WHERE attr IN (${unique.join(', ')})`);
  }
  for (const ia of MULTI_VALUED_INDEXES) {
    if ((ia.since ?? 1) !== version || !ia.path.sub) continue;
    const rt = registry.resourceType(ia.type);
    const r = rt && registry.resolve(rt, ia.path);
    if (!r?.subAttribute) continue;
    const arr = r.extension ? [r.schema, r.attribute.name] : [r.attribute.name];
    const sub = r.subAttribute.name;
    const fold = !r.subAttribute.caseExact;
    const key = pathKey(ia.path);
    if (d.name === 'sqlite') {
      const v = `json_extract(je.value, '$.${sub}')`;
      out.push(
        `INSERT OR IGNORE INTO resource_values (type, id, attr, value) SELECT DISTINCT r.type, r.id, '${key}', ${fold ? `scim_fold(${v})` : v} FROM resources r, json_each(r.data, '${sqliteJsonPath(arr)}') je WHERE r.type = '${ia.type}' AND json_type(je.value, '$.${sub}') = 'text'`,
      );
    } else {
      const v = `(je.value ->> '${sub}')`;
      out.push(
        `INSERT INTO resource_values (type, id, attr, value) SELECT DISTINCT r.type, r.id, '${key}', ${fold ? `lower(${v})` : v} FROM resources r, jsonb_array_elements(r.data #> ${pgPath(arr)}) AS je(value) WHERE r.type = '${ia.type}' AND jsonb_typeof(je.value -> '${sub}') = 'string' ON CONFLICT DO NOTHING`,
      );
    }
  }
  return out;
}
