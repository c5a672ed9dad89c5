// Every non-RFC input agentroster accepts from real SCIM clients, one small pure function per quirk,
// each naming who sends it and where that is documented (docs/reference/entra.md §4, okta.md §4.1,
// standards.md §2.5, scimmy.md §4/§8). The PATCH engine (patch.ts, RFC 7644 §3.5.2) and the
// validator (validate.ts, RFC 7643) call these at the right moment; nothing else should need to
// know that a client deviates from the RFCs. No I/O.

import type { AttrPath, Filter } from './filter/ast.js';
import { invalidSyntax, invalidValue } from './errors.js';
import { findAttribute } from './registry.js';
import type { AttributeDefinition, SchemaDefinition } from './schema-types.js';

export type PatchOpName = 'add' | 'replace' | 'remove';

const CORE_USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * PATCH `op`, case-insensitively. RFC 7644 §3.5.2 spells them "add" / "remove" / "replace"; Entra
 * without the aadOptscim062020 flag sends "Add" / "Replace" / "Remove" and its docs ask servers not to
 * match case-sensitively (entra.md §4.2, §4.4). Anything else is a malformed PatchOp message:
 * 400 invalidSyntax (RFC 7644 §3.12), like every other envelope error.
 * @param where prefix for the error message, e.g. `Operations[2].op`
 */
export function normalizeOp(op: unknown, where = 'op'): PatchOpName {
  if (typeof op === 'string') {
    const lower = op.toLowerCase();
    if (lower === 'add' || lower === 'replace' || lower === 'remove') return lower;
  }
  const shown = typeof op === 'string' ? `"${op}"` : op === undefined ? 'missing' : JSON.stringify(op);
  throw invalidSyntax(`${where}: unknown PATCH op ${shown} (expected "add", "remove" or "replace")`);
}

/**
 * Entra sends booleans as strings: `{"op":"Replace","path":"active","value":"False"}` (entra.md §4.2;
 * standards.md §2.5 lists `"False"`/`"false"` among the disable forms IGA tools send). Returns a
 * boolean for "true"/"false" in any case, the value unchanged otherwise. Called by the validator for
 * boolean attributes; the PATCH engine stores values as sent and leaves coercion to the validator.
 */
export function coerceBooleanString(value: unknown): unknown {
  if (typeof value !== 'string') return value;
  const lower = value.toLowerCase();
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  return value;
}

/**
 * RFC 7643 §2.5: an unassigned attribute, null and an empty array are equivalent. Entra relies on it
 * and sends `"manager": null`, `"addresses": null` (entra.md §4.2) and `{"$ref": null, "value": …}`
 * member values; the engine treats add/replace with such a value as "remove the attribute" and drops
 * null sub-attributes from complex values.
 */
export function isUnassigned(value: unknown): boolean {
  return value === null || value === undefined || (Array.isArray(value) && value.length === 0);
}

/** One attribute assignment produced from a path-less add/replace: a PATCH path text and its value. */
export interface PathlessEntry {
  path: string;
  value: unknown;
}

/**
 * Path-less add/replace (RFC 7644 §3.5.2.1/§3.5.2.3: "the target location is assumed to be the
 * resource itself") split into one assignment per key, as sent by:
 * - Okta OIN apps: `{"op":"replace","value":{"active":false}}` (okta.md §4.1; standards.md §2.3);
 * - Entra with aadOptscim062020: `{"op":"replace","value":{"displayName":"…","name.givenName":"…",
 *   "urn:…:enterprise:2.0:User:employeeNumber":"…"}}` (entra.md §4.2): keys that are dotted
 *   (`attr.sub`) or URN-qualified (`urn:…:attr[.sub]`) are paths, not attribute names.
 * A key equal to an extension URN (or the core URN) holds an object of that schema's attributes and
 * is expanded into `<urn>:<attr>` paths; a null there removes the whole extension.
 * Keys starting with `urn:` that are not under one of `schemaUrns` are ignored: Entra's own create
 * example carries a malformed `…:extension:enterprise:2.0User` key (entra.md §4.2, "tolerate nulls and
 * unknown schema URNs"). Other keys go through as paths; unknown ones fail resolution (invalidPath).
 * @param schemaUrns the resource type's core schema URN first, then its extension URNs
 */
export function expandPathlessValue(value: unknown, schemaUrns: readonly string[]): PathlessEntry[] {
  if (!isPlainObject(value)) {
    throw invalidValue('a PATCH operation without "path" needs an object "value" of attributes');
  }
  const out: PathlessEntry[] = [];
  const urns = schemaUrns.map((u) => ({ urn: u, lower: u.toLowerCase() }));
  for (const [key, v] of Object.entries(value)) {
    const lower = key.toLowerCase();
    if (!lower.startsWith('urn:')) {
      out.push({ path: key, value: v });
      continue;
    }
    const whole = urns.find((u) => u.lower === lower);
    if (whole) {
      // the bare URN itself: a path the engine recognises as "this extension" (or the resource)
      out.push({ path: whole.urn, value: v });
      continue;
    }
    if (urns.some((u) => lower.startsWith(`${u.lower}:`))) out.push({ path: key, value: v });
    // else: an unknown schema URN — ignored on purpose (see above)
  }
  return out;
}

/**
 * Remove with a value array on a multi-valued attribute:
 * `{"op":"Remove","path":"members","value":[{"$ref":null,"value":"<id>"}]}` from Entra (entra.md §4.2),
 * and `{"op":"remove","path":"entitlements","value":[{"value":"x"}]}` from IGA tools (SailPoint's exact
 * body is unknown, so standards.md §2.5 requires this form too). RFC 7644 §3.5.2.2 defines remove by
 * path only; here the listed values select the elements to drop. Returns the remaining elements; a
 * listed value that matches nothing is simply not there (revokes are idempotent, standards.md §2.5).
 * @param listed the op's value: an array, or one value
 * @param matches whether a stored element is the one a listed value designates
 */
export function removeListedValues(
  current: readonly unknown[],
  listed: unknown,
  matches: (stored: unknown, listedValue: unknown) => boolean,
): unknown[] {
  const items = (Array.isArray(listed) ? listed : [listed]).filter((v) => !isUnassigned(v));
  return current.filter((stored) => !items.some((item) => matches(stored, item)));
}

/**
 * Entra's "create-on-absent" value paths: `{"op":"Add"|"Replace","path":"emails[type eq \"work\"].value",
 * "value":"…"}` when no email has type "work" (scimmy.md §4 shows scimmy failing this with noTarget;
 * entra.md §4.2 shows the path form). RFC 7644 §3.5.2.3 would say 400 noTarget; we create
 * `{type: "work", value: …}` instead, but only when the filter is one `eq` on a sub-attribute with a
 * non-null literal, where the element to create is unambiguous. Returns undefined otherwise (→ noTarget).
 * @param subAttributes the multi-valued attribute's sub-attributes (for canonical names)
 * @param subAttr the canonical name of the sub-attribute after the filter
 */
export function createOnAbsent(
  filter: Filter,
  subAttributes: readonly AttributeDefinition[],
  subAttr: string,
  value: unknown,
): Record<string, unknown> | undefined {
  if (filter.kind !== 'compare' || filter.op !== 'eq') return undefined;
  if (filter.path.uri !== undefined || filter.path.sub !== undefined) return undefined;
  if (filter.value === null || isUnassigned(value)) return undefined;
  const keyDef = findAttribute(subAttributes, filter.path.attr);
  if (!keyDef || keyDef.multiValued || keyDef.type === 'complex') return undefined;
  return { [keyDef.name]: filter.value, [subAttr]: value };
}

/**
 * Entra's manager forms (entra.md §4.2; scimmy.md §4 shows both failing there):
 * `{"op":"Add","path":"manager","value":[{"$ref":"…/Users/<id>","value":"<id>"}]}` — an array for a
 * single-valued complex attribute — and `"value":"<id>"` — a bare string for a complex attribute
 * that has a `value` sub-attribute. Both become `{value: "<id>", …}`. An empty array is treated as
 * null (unassigned, RFC 7643 §2.5). Anything else is returned unchanged.
 * @param attribute a single-valued complex attribute (manager, sponsor, parent, ownerTeam, …)
 */
export function normalizeSingleComplexValue(attribute: AttributeDefinition, value: unknown): unknown {
  if (Array.isArray(value)) {
    if (value.length === 0) return null;
    if (value.length === 1) return value[0];
    return value;
  }
  if ((typeof value === 'string' || typeof value === 'number') && findAttribute(attribute.subAttributes ?? [], 'value')) {
    return { value };
  }
  return value;
}

/**
 * Entra names the enterprise manager without its schema URN: `{"op":"Add","path":"manager",…}`
 * (entra.md §4.2, next to the URN-qualified form; scimmy.md §4 shows scimmy answering invalidPath).
 * RFC 7644 resolves an unqualified name in the core schema only. When the core schema has no such
 * attribute and exactly one of the resource type's extensions has, the path is qualified with that
 * extension's URN; otherwise undefined (→ invalidPath as before, also when the name is ambiguous).
 */
export function qualifyExtensionAttribute(path: AttrPath, extensions: readonly SchemaDefinition[]): AttrPath | undefined {
  if (path.uri !== undefined) return undefined;
  const owners = extensions.filter((s) => findAttribute(s.attributes, path.attr));
  const owner = owners.length === 1 ? owners[0] : undefined;
  return owner ? { ...path, uri: owner.id } : undefined;
}

/**
 * Okta's group rename repeats the group's `id` in a path-less replace:
 * `{"op":"replace","value":{"id":"abf4…","displayName":"Test SCIMv2"}}`, sent "each time there is a
 * group membership update" (okta-developer-docs reference/scim/scim-20, "Update a specific Group
 * name"; the page okta.md §4.1 summarises). RFC 7643 §2.2 forbids modifying a readOnly attribute; an
 * op that leaves it as it is (the same value written back, or an absent one removed) modifies nothing,
 * so it is accepted as a no-op. Any other op on a readOnly attribute is still 400 mutability.
 * @param current the stored value; @param next the value the op would leave (undefined for remove)
 * @param same the engine's equality for this attribute (caseExact-aware, null ≡ absent ≡ [])
 */
export function isReadOnlyEcho(current: unknown, next: unknown, same: (a: unknown, b: unknown) => boolean): boolean {
  return same(current, next);
}

/**
 * Okta sends `password` on every create and PUT "even if password sync isn't enabled" (okta.md §4.1).
 * We never store passwords, so it is dropped before validation. Returns a shallow copy without any
 * top-level `password` key (attribute names are case-insensitive, RFC 7643 §2.1).
 */
export function discardPassword(resource: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(resource)) {
    if (k.toLowerCase() !== 'password') out[k] = v;
  }
  return out;
}

/**
 * The PATCH face of discardPassword: Okta's OIN password sync arrives as a PATCH (okta.md §4.1:
 * "activation, deactivation and password sync arrive as PATCH"), e.g. a path-less
 * `{"op":"replace","value":{"password":"…"}}`. An op on the core User `password` (written plain or
 * URN-qualified) is ignored: nothing changes, no error.
 * @param uri the path's schema URN, if any; @param attr its attribute name; @param coreUrn the resource type's core schema
 */
export function isIgnoredPasswordPath(uri: string | undefined, attr: string, coreUrn: string): boolean {
  if (coreUrn.toLowerCase() !== CORE_USER_URN.toLowerCase()) return false;
  if (attr.toLowerCase() !== 'password') return false;
  return uri === undefined || uri.toLowerCase() === CORE_USER_URN.toLowerCase();
}
