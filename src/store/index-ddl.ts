// DDL for the attribute indexes of store/indexes.ts, in either dialect, built with the same
// valueExpr() the filter translator emits so the planner can match them.

import type { SchemaRegistry } from '../scim/registry.js';
import { valueExpr } from './filter-sql.js';
import { indexName, SINGLE_VALUED_INDEXES } from './indexes.js';
import type { SqlDialect } from './sql-dialect.js';

export function attributeIndexDdl(registry: SchemaRegistry, d: SqlDialect): string[] {
  const out: string[] = [];
  for (const ia of SINGLE_VALUED_INDEXES) {
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
