// Validates and canonicalises a whole resource (POST, PUT, and the result of a PATCH) against its
// resource type: attribute names to their schema spelling, types checked and coerced, mutability
// (RFC 7643 §2.2) and `required` enforced. Pure; uniqueness is the store's job.

import { normalizeDateTime } from './datetime.js';
import { invalidValue, mutability } from './errors.js';
import { coerceBooleanString, discardPassword, qualifyExtensionAttribute } from './quirks.js';
import { findAttribute, type ResourceTypeInfo, type SchemaRegistry } from './registry.js';
import type { AttributeDefinition, SchemaDefinition } from './schema-types.js';
import { stringRuleOf, stringRuleViolation } from './string-pattern.js';

export type Resource = Record<string, unknown>;

export type ValidationMode =
  /** POST: readOnly input is ignored. */
  | 'create'
  /** PUT: readOnly input ignored, readOnly and immutable values carried over from `existing`. */
  | 'replace'
  /** the result of applying PATCH to `existing`: readOnly values are the existing ones. */
  | 'patch';

export interface ValidateOptions {
  mode: ValidationMode;
  existing?: Resource;
}

/** Schemas not defined by RFC 7643: their canonicalValues are a closed list, enforced on input. */
const OPEN_CANONICAL_SCHEMAS = new Set([
  'urn:ietf:params:scim:schemas:core:2.0:user',
  'urn:ietf:params:scim:schemas:core:2.0:group',
  'urn:ietf:params:scim:schemas:extension:enterprise:2.0:user',
]);

const MAX_MULTI_VALUES = 100_000;

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function validateResource(
  registry: SchemaRegistry,
  rt: ResourceTypeInfo,
  input: unknown,
  opts: ValidateOptions,
): Resource {
  if (!isObject(input)) throw invalidValue('the request body must be a JSON object');
  const existing = opts.existing;
  const body = liftUnqualifiedExtensionAttributes(rt, discardPassword(input));
  checkSchemasList(rt, body);

  const out: Resource = {};
  const seenExtensions = new Set<string>();

  for (const [key, value] of Object.entries(body)) {
    const lower = key.toLowerCase();
    if (lower === 'schemas' || lower === 'id' || lower === 'meta') continue;
    const ext = registry.extension(rt, key);
    if (ext) {
      if (value === null || value === undefined) continue;
      if (!isObject(value)) throw invalidValue(`"${ext.id}" must be an object of extension attributes`);
      const prior = existing?.[ext.id];
      const validated = validateObject(ext, ext.attributes, value, isObject(prior) ? prior : undefined, opts, ext.id);
      if (Object.keys(validated).length > 0) out[ext.id] = validated;
      seenExtensions.add(ext.id);
      continue;
    }
    // Entra sends unknown or malformed schema URNs as keys (e.g. "…enterprise:2.0User",
    // entra.md §4.2); a key that is a URN we do not serve is ignored, not rejected.
    if (lower.startsWith('urn:')) continue;
    const def = findAttribute(rt.attributes, key);
    if (!def) throw invalidValue(`unknown attribute "${key}" for resource type ${rt.type.name}`);
    if (def.name === 'id' || def.name === 'meta') continue;
    setChecked(out, def, value, existing?.[def.name], opts, rt.core, def.name);
  }

  // readOnly and untouched immutable values survive PUT / PATCH; a required extension must exist.
  if (existing) {
    carryOver(rt.core.attributes, existing, out, opts);
    for (const { schema } of rt.extensions) {
      const prior = existing[schema.id];
      if (!isObject(prior) || seenExtensions.has(schema.id)) continue;
      const kept: Resource = {};
      carryOver(schema.attributes, prior, kept, opts);
      if (Object.keys(kept).length > 0) out[schema.id] = kept;
    }
  }

  checkRequired(rt.core.attributes, out, rt.core.name);
  for (const { schema, required } of rt.extensions) {
    const ext = out[schema.id];
    if (ext === undefined) {
      if (required) throw invalidValue(`extension "${schema.id}" is required for ${rt.type.name}`);
      continue;
    }
    checkRequired(schema.attributes, ext as Resource, schema.id);
  }

  out.schemas = [rt.core.id, ...rt.extensions.map((e) => e.schema.id).filter((id) => out[id] !== undefined)];
  return reorder(out);
}

/**
 * Entra names the enterprise `manager` without its URN, on create as well as in PATCH paths (entra.md
 * §4.2: `"manager": null` next to `"addresses": null`). A top-level key that is no core attribute
 * but an attribute of exactly one extension (quirks.qualifyExtensionAttribute, the rule PATCH uses)
 * is moved into that extension's object, unless that object already sets it. Anything else is left
 * for the unknown-attribute check.
 */
function liftUnqualifiedExtensionAttributes(rt: ResourceTypeInfo, body: Resource): Resource {
  let out: Resource | undefined;
  for (const [key, value] of Object.entries(body)) {
    if (key.toLowerCase().startsWith('urn:') || findAttribute(rt.attributes, key)) continue;
    const qualified = qualifyExtensionAttribute({ attr: key }, rt.extensions.map((e) => e.schema));
    if (!qualified?.uri) continue;
    out ??= { ...body };
    delete out[key];
    const extKey = Object.keys(out).find((k) => k.toLowerCase() === qualified.uri!.toLowerCase()) ?? qualified.uri;
    const ext = out[extKey];
    if (ext !== undefined && ext !== null && !isObject(ext)) continue; // reported by the extension check
    const inner: Resource = isObject(ext) ? { ...ext } : {};
    if (!Object.keys(inner).some((k) => k.toLowerCase() === key.toLowerCase())) inner[key] = value;
    out[extKey] = inner;
  }
  return out ?? body;
}

function checkSchemasList(rt: ResourceTypeInfo, body: Resource): void {
  // RFC 7643 §2.1: attribute names are case-insensitive, `schemas` included (the loop in
  // validateResource already skips it in any case; it must be found in any case here too).
  const key = Object.keys(body).find((k) => k.toLowerCase() === 'schemas');
  const schemas = key === undefined ? undefined : body[key];
  if (!Array.isArray(schemas) || schemas.some((s) => typeof s !== 'string')) {
    throw invalidValue(`"schemas" is required and must be an array of schema URNs including "${rt.core.id}"`);
  }
  const lowered = (schemas as string[]).map((s) => s.toLowerCase());
  if (!lowered.includes(rt.core.id.toLowerCase())) {
    throw invalidValue(`"schemas" must include "${rt.core.id}" for resource type ${rt.type.name}`);
  }
}

/** Keeps the attribute order stable: schemas, id, externalId, core attributes, extensions, meta. */
function reorder(r: Resource): Resource {
  const { schemas, ...rest } = r;
  return { schemas, ...rest };
}

function validateObject(
  schema: SchemaDefinition,
  attrs: readonly AttributeDefinition[],
  value: Resource,
  existing: Resource | undefined,
  opts: ValidateOptions,
  where: string,
): Resource {
  const out: Resource = {};
  for (const [key, v] of Object.entries(value)) {
    const def = findAttribute(attrs, key);
    if (!def) throw invalidValue(`unknown attribute "${key}" in "${where}"`);
    setChecked(out, def, v, existing?.[def.name], opts, schema, `${where}:${def.name}`);
  }
  if (existing) carryOver(attrs, existing, out, opts);
  return out;
}

function setChecked(
  out: Resource,
  def: AttributeDefinition,
  value: unknown,
  prior: unknown,
  opts: ValidateOptions,
  schema: SchemaDefinition,
  where: string,
): void {
  if (def.mutability === 'readOnly') return; // RFC 7643 §2.2: ignored on input, set by the server
  if (def.mutability === 'writeOnly' && def.returned === 'never') {
    // write-only secrets (password) are never stored; discardPassword already handled the known one
    return;
  }
  const checked = checkValue(def, value, schema, where, prior);
  if (checked === undefined) return;
  if (def.mutability === 'immutable' && prior !== undefined && opts.mode !== 'create') {
    if (JSON.stringify(prior) !== JSON.stringify(checked)) {
      throw mutability(`attribute "${where}" is immutable and cannot be changed`);
    }
  }
  out[def.name] = checked;
}

/** Null or empty multi-value means unassigned (RFC 7643 §2.5): returns undefined. */
function checkValue(
  def: AttributeDefinition,
  value: unknown,
  schema: SchemaDefinition,
  where: string,
  prior?: unknown,
): unknown {
  if (value === null || value === undefined) return undefined;
  if (def.multiValued) {
    if (!Array.isArray(value)) throw invalidValue(`attribute "${where}" is multi-valued and must be an array`);
    if (value.length > MAX_MULTI_VALUES) throw invalidValue(`attribute "${where}" has too many values`);
    const items = value
      .filter((v) => v !== null && v !== undefined)
      .map((v, i) => checkSingle(def, v, schema, `${where}[${i}]`))
      .filter((v) => v !== undefined);
    if (items.length === 0) return undefined;
    if (def.type === 'complex') {
      keepServerSetSubAttributes(def, items, prior);
      const primaries = items.filter((i) => isObject(i) && i.primary === true).length;
      if (primaries > 1) throw invalidValue(`attribute "${where}" has more than one primary value`);
    }
    return items;
  }
  if (Array.isArray(value)) throw invalidValue(`attribute "${where}" is single-valued and must not be an array`);
  return checkSingle(def, value, schema, where, prior);
}

/** `prior`: the stored value of a single-valued attribute, which keeps its place even if a later rule rejects it. */
function checkSingle(def: AttributeDefinition, value: unknown, schema: SchemaDefinition, where: string, prior?: unknown): unknown {
  switch (def.type) {
    case 'string':
      if (typeof value !== 'string') throw invalidValue(`attribute "${where}" must be a string`);
      checkStringRule(def, value, where, prior);
      return checkCanonical(def, value, schema, where);
    case 'reference':
    case 'binary':
      if (typeof value !== 'string') throw invalidValue(`attribute "${where}" must be a string`);
      if (def.type === 'binary' && !/^[A-Za-z0-9+/_-]*={0,2}$/.test(value)) {
        throw invalidValue(`attribute "${where}" must be base64-encoded`);
      }
      checkStringRule(def, value, where, prior);
      return value;
    case 'boolean': {
      const b = coerceBooleanString(value);
      if (typeof b !== 'boolean') throw invalidValue(`attribute "${where}" must be a boolean`);
      return b;
    }
    case 'integer':
      if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
        throw invalidValue(`attribute "${where}" must be an integer`);
      }
      return value;
    case 'decimal':
      if (typeof value !== 'number' || !Number.isFinite(value)) {
        throw invalidValue(`attribute "${where}" must be a number`);
      }
      return value;
    case 'dateTime': {
      const d = typeof value === 'string' ? normalizeDateTime(value) : undefined;
      if (d === undefined) {
        throw invalidValue(`attribute "${where}" must be an xsd:dateTime such as "2026-01-31T12:00:00Z"`);
      }
      return d;
    }
    case 'complex': {
      if (!isObject(value)) throw invalidValue(`attribute "${where}" must be an object`);
      const out: Resource = {};
      for (const [k, v] of Object.entries(value)) {
        const sub = findAttribute(def.subAttributes ?? [], k);
        if (!sub) throw invalidValue(`unknown sub-attribute "${k}" in "${where}"`);
        if (sub.mutability === 'readOnly') continue;
        const checked = checkValue(sub, v, schema, `${where}.${sub.name}`);
        if (checked !== undefined) out[sub.name] = checked;
      }
      for (const sub of def.subAttributes ?? []) {
        if (sub.required && sub.mutability !== 'readOnly' && out[sub.name] === undefined) {
          throw invalidValue(`sub-attribute "${where}.${sub.name}" is required`);
        }
      }
      return Object.keys(out).length > 0 ? out : undefined;
    }
  }
}

/**
 * Per-value metadata the server sets (readOnly sub-attributes such as an entitlement's grantedAt or
 * a member's display) follows the value it belongs to, matched by `value`, across PUT and PATCH.
 */
function keepServerSetSubAttributes(def: AttributeDefinition, items: unknown[], prior: unknown): void {
  const readOnlySubs = (def.subAttributes ?? []).filter((s) => s.mutability === 'readOnly');
  if (readOnlySubs.length === 0 || !Array.isArray(prior)) return;
  const byValue = new Map<unknown, Resource>();
  for (const p of prior) if (isObject(p) && p.value !== undefined) byValue.set(p.value, p);
  for (const item of items) {
    if (!isObject(item)) continue;
    const old = byValue.get(item.value);
    if (!old) continue;
    for (const sub of readOnlySubs) if (old[sub.name] !== undefined) item[sub.name] = old[sub.name];
  }
}

/**
 * The schema's pattern/minLength/maxLength (string-pattern.ts). A value already stored is not
 * re-judged: a record written before a rule existed must stay suspendable and revocable.
 */
function checkStringRule(def: AttributeDefinition, value: string, where: string, prior: unknown): void {
  const rule = stringRuleOf(def);
  if (!rule || value === prior) return;
  const why = stringRuleViolation(rule, value);
  if (why !== undefined) throw invalidValue(`attribute "${where}" ${why}`);
}

function checkCanonical(def: AttributeDefinition, value: string, schema: SchemaDefinition, where: string): string {
  const canon = def.canonicalValues;
  if (!canon || canon.length === 0 || OPEN_CANONICAL_SCHEMAS.has(schema.id.toLowerCase())) return value;
  const match = def.caseExact ? canon.find((c) => c === value) : canon.find((c) => c.toLowerCase() === value.toLowerCase());
  if (match === undefined) {
    throw invalidValue(`attribute "${where}" must be one of: ${canon.join(', ')}`);
  }
  return match;
}

/** Copies readOnly values (and immutable or keepWhenOmitted ones a PUT left out) from the stored resource. */
function carryOver(attrs: readonly AttributeDefinition[], existing: Resource, out: Resource, opts: ValidateOptions): void {
  for (const def of attrs) {
    const prior = existing[def.name];
    if (prior === undefined) continue;
    if (def.mutability === 'readOnly') out[def.name] = prior;
    else if ((def.mutability === 'immutable' || def.keepWhenOmitted) && out[def.name] === undefined && opts.mode === 'replace') {
      out[def.name] = prior;
    }
    else if (def.type === 'complex' && !def.multiValued && isObject(prior) && def.subAttributes) {
      // readOnly sub-attributes (e.g. manager.displayName) are server-set: keep them.
      const cur = out[def.name];
      if (!isObject(cur)) continue;
      for (const sub of def.subAttributes) {
        if (sub.mutability === 'readOnly' && prior[sub.name] !== undefined) cur[sub.name] = prior[sub.name];
      }
    }
  }
}

function checkRequired(attrs: readonly AttributeDefinition[], obj: Resource, where: string): void {
  for (const def of attrs) {
    if (!def.required || def.mutability === 'readOnly') continue;
    const v = obj[def.name];
    if (v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0)) {
      throw invalidValue(`attribute "${def.name}" is required (${where})`);
    }
  }
}
