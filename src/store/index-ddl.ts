// DDL for the attribute indexes of store/indexes.ts, in either dialect, built with the same
// valueExpr() the filter translator emits so the planner can match them.

import { foldTranslation } from '../lib/case-fold.js';
import type { SchemaRegistry } from '../scim/registry.js';
import { foldable, valueExpr } from './filter-sql.js';
import { indexName, MULTI_VALUED_INDEXES, pathKey, SINGLE_VALUED_INDEXES } from './indexes.js';
import { pgPath, type SqlDialect, sqliteJsonPath } from './sql-dialect.js';

/**
 * PostgreSQL's scim_fold(text): foldCase() of src/lib/case-fold.ts in SQL, from the same frozen
 * table. ASCII text (octet length = character length) folds with a 26-letter translate() (inlined,
 * a few µs); other text with translate() over blocks of 128 mappings, each only when the text holds a
 * character of its range (translate's cost grows with its table; PostgreSQL caches 32 regexes, so the
 * block count stays well below that). SQLite registers foldCase() itself as scim_fold on each
 * connection, so this is empty there. Both are created before any index uses them (CREATE OR
 * REPLACE: every migration that builds fold expressions emits it).
 */
export function foldFunctionDdl(d: SqlDialect): string[] {
  if (d.name !== 'postgres') return [];
  const { from, to } = foldTranslation();
  const f = [...from];
  const t = [...to];
  const ascii = f.map((_, i) => i).filter((i) => f[i]!.codePointAt(0)! < 0x80);
  const other = f.map((_, i) => i).filter((i) => f[i]!.codePointAt(0)! >= 0x80);
  const steps: string[] = [];
  for (let k = 0; k < other.length; k += 128) {
    const chunk = other.slice(k, k + 128);
    const lo = f[chunk[0]!]!;
    const hi = f[chunk[chunk.length - 1]!]!;
    steps.push(
      `  IF s ~ '[${lo}-${hi}]' THEN s := translate(s, '${chunk.map((i) => f[i]).join('')}', '${chunk.map((i) => t[i]).join('')}'); END IF;`,
    );
  }
  const asciiFrom = ascii.map((i) => f[i]).join('');
  const asciiTo = ascii.map((i) => t[i]).join('');
  return [
    `CREATE OR REPLACE FUNCTION scim_fold_unicode(s text) RETURNS text LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $fold$
BEGIN
  s := translate(s, '${asciiFrom}', '${asciiTo}');
${steps.join('\n')}
  RETURN s;
END
$fold$`,
    `CREATE OR REPLACE FUNCTION scim_fold(s text) RETURNS text LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $fold$
SELECT CASE WHEN octet_length(s) = char_length(s) THEN translate(s, '${asciiFrom}', '${asciiTo}') ELSE scim_fold_unicode(s) END
$fold$`,
  ];
}

export function attributeIndexDdl(registry: SchemaRegistry, d: SqlDialect, version = 1): string[] {
  const out: string[] = [...foldFunctionDdl(d)];
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
  const out: string[] = [...foldFunctionDdl(d)];
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
    out.push(valuesInsertDdl(d, ia.type, pathKey(ia.path), arr, sub, foldable(r.subAttribute)));
  }
  return out;
}

/** INSERT … SELECT of the resource_values rows of one multi-valued sub-attribute, from the documents. */
function valuesInsertDdl(d: SqlDialect, type: string, key: string, arr: string[], sub: string, fold: boolean): string {
  if (d.name === 'sqlite') {
    const v = `json_extract(je.value, '$.${sub}')`;
    return `INSERT OR IGNORE INTO resource_values (type, id, attr, value) SELECT DISTINCT r.type, r.id, '${key}', ${fold ? d.fold(v) : v} FROM resources r, json_each(r.data, '${sqliteJsonPath(arr)}') je WHERE r.type = '${type}' AND json_type(je.value, '$.${sub}') = 'text'`;
  }
  const v = `(je.value ->> '${sub}')`;
  return `INSERT INTO resource_values (type, id, attr, value) SELECT DISTINCT r.type, r.id, '${key}', ${fold ? d.fold(v) : v} FROM resources r, jsonb_array_elements(r.data #> ${pgPath(arr)}) AS je(value) WHERE r.type = '${type}' AND jsonb_typeof(je.value -> '${sub}') = 'string' ON CONFLICT DO NOTHING`;
}

/**
 * Migration 6: one case fold everywhere (src/lib/case-fold.ts). Before it, PostgreSQL folded with
 * lower() and SQLite and the evaluator with toLowerCase(), which disagree (İ, ς, ẞ …). Re-creates the
 * fold function, rebuilds every expression index over a folded attribute (SQLite: REINDEX, the
 * function behind scim_fold changed; PostgreSQL: DROP and CREATE with scim_fold instead of lower) and
 * rebuilds resource_values from the documents (folded where the attribute is not caseExact).
 */
export function refoldDdl(registry: SchemaRegistry, d: SqlDialect): string[] {
  const out: string[] = [...foldFunctionDdl(d)];
  for (const ia of SINGLE_VALUED_INDEXES) {
    const rt = registry.resourceType(ia.type);
    const r = rt && registry.resolve(rt, ia.path);
    if (!r || !foldable(r.subAttribute ?? r.attribute)) continue;
    const name = indexName(ia.unique ? 'ux' : 'ix', ia);
    if (d.name === 'sqlite') {
      out.push(`REINDEX ${name}`);
    } else {
      out.push(`DROP INDEX IF EXISTS ${name}`);
      out.push(...attributeIndexDdl(registry, d, ia.since ?? 1).filter((x) => x.includes(` ${name} `)));
    }
  }
  for (const ia of MULTI_VALUED_INDEXES) {
    const rt = registry.resourceType(ia.type);
    const r = rt && registry.resolve(rt, ia.path);
    if (!r?.subAttribute) continue;
    const key = pathKey(ia.path);
    const arr = r.extension ? [r.schema, r.attribute.name] : [r.attribute.name];
    out.push(`DELETE FROM resource_values WHERE type = '${ia.type}' AND attr = '${key}'`);
    out.push(valuesInsertDdl(d, ia.type, key, arr, r.subAttribute.name, foldable(r.subAttribute)));
  }
  return out;
}
