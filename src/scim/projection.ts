// Response shaping: `attributes` / `excludedAttributes` (RFC 7644 §3.4.2.5) combined with each
// attribute's `returned` characteristic (RFC 7643 §2.2). Unknown names in either list are ignored,
// as a tolerant reader: IGA tools send fixed lists that may name attributes we do not serve. A
// value-filtered name stands for its whole attribute.

import { parseAttrPath } from './filter/parse.js';
import type { ResourceTypeInfo, SchemaRegistry } from './registry.js';
import type { AttributeDefinition } from './schema-types.js';
import { isObject, type Resource } from './validate.js';

/** Selected paths as "<schema urn lowercased>|attr[.sub]" keys, plus whole extensions. */
export interface Projection {
  include?: Set<string>;
  exclude?: Set<string>;
}

/** Splits on commas outside value filters and quoted strings (`emails[type eq "a,b"]`). */
function splitList(text: string | undefined): string[] {
  if (text === undefined) return [];
  const out: string[] = [];
  let depth = 0;
  let quoted = false;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '[') depth++;
    else if (c === ']') depth = Math.max(0, depth - 1);
    else if (c === ',' && depth === 0) {
      out.push(text.slice(start, i));
      start = i + 1;
    }
  }
  out.push(text.slice(start));
  return out.map((s) => s.trim()).filter((s) => s.length > 0);
}

/**
 * `emails[type eq "work"]` (and `emails[…].value`) names the attribute `emails` (`emails.value`):
 * projection selects attributes, not values, so the filter widens to the whole attribute rather
 * than silently selecting nothing (docs/schemas.md). Returns the text unchanged without a filter.
 */
function withoutValueFilter(text: string): string {
  const open = text.indexOf('[');
  if (open < 0) return text;
  let quoted = false;
  for (let i = open + 1; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === ']') return text.slice(0, open) + text.slice(i + 1);
  }
  return text; // unterminated: not a path, ignored like an unknown name
}

export function parseProjection(
  registry: SchemaRegistry,
  rts: ResourceTypeInfo[],
  attributes: string | undefined,
  excludedAttributes: string | undefined,
): Projection {
  const resolveAll = (list: string[]): Set<string> => {
    const keys = new Set<string>();
    for (const text of list) {
      for (const rt of rts) {
        const ext = registry.extension(rt, text);
        if (ext) {
          keys.add(`${ext.id.toLowerCase()}|*`);
          continue;
        }
        let path;
        try {
          path = parseAttrPath(withoutValueFilter(text));
        } catch {
          continue; // not a path at all: ignored like an unknown name
        }
        const resolved = registry.resolve(rt, path);
        if (!resolved) continue;
        const base = `${resolved.schema.toLowerCase()}|${resolved.attribute.name.toLowerCase()}`;
        keys.add(resolved.subAttribute ? `${base}.${resolved.subAttribute.name.toLowerCase()}` : base);
      }
    }
    return keys;
  };
  const projection: Projection = {};
  const inc = splitList(attributes);
  const exc = splitList(excludedAttributes);
  if (inc.length > 0) projection.include = resolveAll(inc);
  if (exc.length > 0) projection.exclude = resolveAll(exc);
  return projection;
}

export function projectResource(rt: ResourceTypeInfo, resource: Resource, projection: Projection): Resource {
  const out: Resource = {};
  for (const [key, value] of Object.entries(resource)) {
    if (key === 'schemas') {
      out.schemas = value;
      continue;
    }
    const ext = rt.extensions.find((e) => e.schema.id === key);
    if (ext) {
      if (!isObject(value)) continue;
      const urn = ext.schema.id.toLowerCase();
      const whole = projection.include?.has(`${urn}|*`) ?? false;
      if (projection.exclude?.has(`${urn}|*`)) continue;
      const shaped = shapeLevel(ext.schema.attributes, value, urn, projection, whole);
      if (Object.keys(shaped).length > 0) out[key] = shaped;
      continue;
    }
    const one = shapeLevel(rt.attributes, { [key]: value }, rt.core.id.toLowerCase(), projection, false);
    Object.assign(out, one);
  }
  return out;
}

function shapeLevel(
  attrs: readonly AttributeDefinition[],
  obj: Resource,
  urn: string,
  projection: Projection,
  wholeExtension: boolean,
): Resource {
  const out: Resource = {};
  for (const [key, value] of Object.entries(obj)) {
    const def = attrs.find((a) => a.name === key);
    if (!def) continue;
    const name = def.name.toLowerCase();
    const k = `${urn}|${name}`;
    const decision = decide(def, k, projection, wholeExtension);
    if (decision === 'drop') continue;
    if (def.type !== 'complex' || !def.subAttributes) {
      out[key] = value;
      continue;
    }
    const subs = def.subAttributes;
    const shapeOne = (v: unknown): unknown => {
      if (!isObject(v)) return v;
      const o: Resource = {};
      for (const [sk, sv] of Object.entries(v)) {
        const sdef = subs.find((s) => s.name === sk);
        if (!sdef) continue;
        const sd = decide(sdef, `${k}.${sdef.name.toLowerCase()}`, projection, wholeExtension, decision === 'all');
        if (sd !== 'drop') o[sk] = sv;
      }
      return o;
    };
    const shaped = Array.isArray(value) ? value.map(shapeOne) : shapeOne(value);
    if (Array.isArray(shaped) ? shaped.length > 0 : isObject(shaped) && Object.keys(shaped).length > 0) {
      out[key] = shaped;
    }
  }
  return out;
}

/**
 * 'all': the attribute was named as a whole (or nothing narrows it): keep default sub-attributes.
 * 'some': only sub-attributes named in `attributes` (or not excluded) survive.
 */
function decide(
  def: AttributeDefinition,
  key: string,
  p: Projection,
  wholeExtension: boolean,
  parentWhole = false,
): 'all' | 'some' | 'drop' {
  if (def.returned === 'never') return 'drop';
  if (def.returned === 'always') return 'all';
  if (p.exclude?.has(key)) return 'drop';
  const named = p.include?.has(key) ?? false;
  const subNamed = [...(p.include ?? [])].some((k) => k.startsWith(`${key}.`));
  if (def.returned === 'request') {
    // RFC 7643 §2.2: returned only when requested; naming one of its sub-attributes requests it too
    // (`attributes=…:attestation.kid`), as for any other complex attribute.
    if (named) return 'all';
    return subNamed ? 'some' : 'drop';
  }
  if (!p.include || wholeExtension || parentWhole || named) return 'all';
  return subNamed ? 'some' : 'drop';
}
