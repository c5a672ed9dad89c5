// The RFC 7644 §3.5.2 PATCH engine: validates the PatchOp message (parsePatchRequest) and applies its
// operations to one resource in canonical form — schema spellings, extension values under their URN
// key — (applyPatch). Pure: no HTTP, no storage, no type coercion; the validator checks the result.
// Every accepted deviation from the RFC is a named function in quirks.ts, called from here.
//
// Decisions beyond the RFC text (each also commented where it happens):
// - Envelope problems are 400 invalidSyntax naming the operation (`Operations[2].path must be a
//   string`), including an unknown `op`; more than MAX_PATCH_OPERATIONS operations is 400 tooMany.
// - Errors raised while applying are prefixed with the operation (`Operations[1]: …`).
// - A path naming a readOnly attribute or sub-attribute is 400 mutability, whatever the op, unless
//   the op leaves a whole readOnly attribute as it is (Okta repeats `id`: quirks.isReadOnlyEcho).
//   readOnly sub-attributes inside a written complex value are ignored instead (RFC 7644 §3.5.1 rule
//   for PUT; clients echo back server-computed `display`, `$ref`, grant metadata).
// - immutable: may be set while unassigned; changing or removing an assigned value is 400 mutability.
// - remove of something absent changes nothing and is not an error (standards.md §2.5: revokes are
//   idempotent); `changed` tells the caller whether anything happened.
// - Element identity in multi-valued complex attributes is the `value` sub-attribute (plus `type` when
//   both sides have one), else deep equality. `add` of an element already present merges into it.
// - A reference value (complex with `value` and `$ref`) whose `value` changes — a different manager,
//   sponsor, member — replaces the old one instead of merging, so the old referent's `display`/`$ref`
//   do not survive. Other complex values (emails) merge as RFC 7644 §3.5.2.3 says.

import type { Filter, PatchPath } from './filter/ast.js';
import { compileFilter } from './filter/evaluate.js';
import { parsePatchPath } from './filter/parse.js';
import {
  invalidPath,
  invalidSyntax,
  invalidValue,
  mutability,
  noTarget,
  ScimError,
  tooMany,
} from './errors.js';
import {
  coerceBooleanString,
  createOnAbsent,
  expandPathlessValue,
  isIgnoredPasswordPath,
  isReadOnlyEcho,
  isUnassigned,
  normalizeOp,
  normalizeSingleComplexValue,
  qualifyExtensionAttribute,
  removeListedValues,
  type PatchOpName,
} from './quirks.js';
import { findAttribute, type ResourceTypeInfo, type SchemaRegistry } from './registry.js';
import type { AttributeDefinition } from './schema-types.js';

export const PATCH_OP_URN = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** Operations per request. RFC 7644 sets no limit; this keeps one request's work bounded. */
export const MAX_PATCH_OPERATIONS = 1000;

/** One validated operation: `op` lower-cased, `path` as written, `value` as sent (absent → undefined). */
export interface PatchOperation {
  op: PatchOpName;
  path?: string;
  value?: unknown;
}

export interface PatchResult {
  resource: Record<string, unknown>;
  /** false when the operations left the resource semantically unchanged (RFC 7643 §2.5: null ≡ absent) */
  changed: boolean;
}

type Obj = Record<string, unknown>;

// ── the envelope ─────────────────────────────────────────────────────────────────────────────────

/**
 * Validate a PATCH body (RFC 7644 §3.5.2) and return its operations.
 * - `schemas`, when present, must list the PatchOp URN; a missing `schemas` is tolerated (some clients
 *   omit it, and the method and endpoint already say what the message is).
 * - `Operations` must be a non-empty array of at most MAX_PATCH_OPERATIONS objects (over → tooMany).
 * - each op: `op` add/remove/replace in any case (quirks.normalizeOp), `path` a string if present,
 *   `value` required for add and replace (it may be null: quirks.isUnassigned).
 * Member names are matched case-insensitively (RFC 7643 §2.1 holds for message schemas too).
 * Throws 400 invalidSyntax naming the offending operation. Paths are parsed by applyPatch, which
 * needs the schemas to recognise a bare extension URN.
 */
export function parsePatchRequest(body: unknown): PatchOperation[] {
  if (!isObject(body)) throw invalidSyntax('the PATCH body must be a JSON object');
  const schemas = member(body, 'schemas');
  if (schemas !== undefined) {
    const ok =
      Array.isArray(schemas) &&
      schemas.some((s) => typeof s === 'string' && s.toLowerCase() === PATCH_OP_URN.toLowerCase());
    if (!ok) throw invalidSyntax(`"schemas" must contain "${PATCH_OP_URN}"`);
  }
  const operations = member(body, 'Operations');
  if (!Array.isArray(operations)) throw invalidSyntax('"Operations" must be an array of operations');
  if (operations.length === 0) throw invalidSyntax('"Operations" must not be empty');
  if (operations.length > MAX_PATCH_OPERATIONS) {
    throw tooMany(`${operations.length} operations in one PATCH; the limit is ${MAX_PATCH_OPERATIONS}`);
  }
  return operations.map((raw, i): PatchOperation => {
    const where = `Operations[${i}]`;
    if (!isObject(raw)) throw invalidSyntax(`${where} must be an object`);
    const op = normalizeOp(member(raw, 'op'), `${where}.op`);
    const path = member(raw, 'path');
    if (path !== undefined && typeof path !== 'string') throw invalidSyntax(`${where}.path must be a string`);
    const hasValue = memberKey(raw, 'value') !== undefined;
    if (op !== 'remove' && !hasValue) throw invalidSyntax(`${where}.value is required for "${op}"`);
    const out: PatchOperation = { op };
    if (path !== undefined) out.path = path;
    if (hasValue) out.value = member(raw, 'value');
    return out;
  });
}

function memberKey(obj: Obj, name: string): string | undefined {
  if (Object.hasOwn(obj, name)) return name;
  const lower = name.toLowerCase();
  return Object.keys(obj).find((k) => k.toLowerCase() === lower);
}

function member(obj: Obj, name: string): unknown {
  const key = memberKey(obj, name);
  return key === undefined ? undefined : obj[key];
}

// ── applying ─────────────────────────────────────────────────────────────────────────────────────

interface Ctx {
  registry: SchemaRegistry;
  rt: ResourceTypeInfo;
  doc: Obj;
  /** core schema URN first, then the extension URNs */
  urns: string[];
}

/**
 * Apply `ops` in order to a copy of `resource` (RFC 7644 §3.5.2; the input is never mutated). The
 * whole PATCH fails on the first failing operation (§3.5.2: "all or nothing").
 */
export function applyPatch(
  registry: SchemaRegistry,
  rt: ResourceTypeInfo,
  resource: Record<string, unknown>,
  ops: PatchOperation[],
): PatchResult {
  const ctx: Ctx = { registry, rt, doc: structuredClone(resource), urns: registry.schemaUrns(rt) };
  ops.forEach((op, i) => {
    try {
      applyOperation(ctx, op);
    } catch (e) {
      if (e instanceof ScimError) throw new ScimError(e.status, `Operations[${i}]: ${e.message}`, e.scimType, e.headers);
      throw e;
    }
  });
  return { resource: ctx.doc, changed: !sameValue(resource, ctx.doc) };
}

function applyOperation(ctx: Ctx, op: PatchOperation): void {
  if (op.path !== undefined) {
    applyAt(ctx, op.op, op.path, op.value, op.value !== undefined);
    return;
  }
  // RFC 7644 §3.5.2.2: "If 'path' is unspecified, the operation fails with … noTarget".
  if (op.op === 'remove') throw noTarget('"remove" requires a "path"');
  applyToResource(ctx, op.op, op.value);
}

/** Path-less add/replace (and a path naming the core schema URN): one assignment per key. */
function applyToResource(ctx: Ctx, op: PatchOpName, value: unknown): void {
  for (const entry of expandPathlessValue(value, ctx.urns)) applyAt(ctx, op, entry.path, entry.value, true);
}

function applyAt(ctx: Ctx, op: PatchOpName, pathText: string, value: unknown, hasValue: boolean): void {
  // A bare schema URN must be recognised before parsing: the path grammar would read its last
  // segment as an attribute name (parse.ts, parsePatchPath).
  const lower = pathText.trim().toLowerCase();
  const urn = ctx.urns.find((u) => u.toLowerCase() === lower);
  if (urn !== undefined) {
    if (urn === ctx.rt.core.id) {
      if (op === 'remove') throw invalidPath(`"${pathText}" is the resource itself; name an attribute to remove`);
      applyToResource(ctx, op, value);
    } else {
      applyToExtension(ctx, op, urn, value);
    }
    return;
  }
  const target = resolveTarget(ctx, parsePatchPath(pathText));
  if (target) applyToAttribute(ctx, op, target, value, hasValue);
}

/** A bare extension URN as the path: its value is an object of that extension's attributes. */
function applyToExtension(ctx: Ctx, op: PatchOpName, urn: string, value: unknown): void {
  if (op !== 'remove' && value !== null) {
    if (!isObject(value)) throw invalidValue(`the value for "${urn}" must be an object of its attributes`);
    // RFC 7644 §3.5.2.3: like any complex target, unspecified attributes are left unchanged
    for (const [key, v] of Object.entries(value)) applyAt(ctx, op, `${urn}:${key}`, v, true);
    return;
  }
  // remove, or add/replace with null (RFC 7643 §2.5): the extension and its `schemas` entry go
  if (ctx.doc[urn] !== undefined) delete ctx.doc[urn];
  removeSchemaUrn(ctx.doc, urn);
}

// ── path resolution ──────────────────────────────────────────────────────────────────────────────

interface AttrTarget {
  schema: string;
  extension: boolean;
  attribute: AttributeDefinition;
  sub?: AttributeDefinition;
  filter?: Filter;
  /** the attribute as named in messages: `name.familyName`, `emails[…].value` */
  where: string;
  /** set when the path names a readOnly attribute or sub-attribute (its name, for the message) */
  readOnly?: string;
}

/** Resolve a parsed path; undefined means "ignore this op" (Okta's password). */
function resolveTarget(ctx: Ctx, pp: PatchPath): AttrTarget | undefined {
  const { path, valueFilter, subAttr } = pp;
  const core = ctx.rt.core.id.toLowerCase();
  const inCore = path.uri === undefined || path.uri.toLowerCase() === core;
  if (path.sub === undefined && !valueFilter && isIgnoredPasswordPath(path.uri, path.attr, ctx.rt.core.id)) {
    return undefined;
  }
  if (inCore && path.attr.toLowerCase() === 'schemas') {
    // `schemas` follows the extensions present (added when one is written, dropped when one is
    // removed); letting PATCH edit it could only make it disagree with the data.
    throw mutability('attribute "schemas" is maintained by the server');
  }
  const bare = path.uri === undefined ? { attr: path.attr } : { uri: path.uri, attr: path.attr };
  let resolved = ctx.registry.resolve(ctx.rt, bare);
  if (!resolved) {
    // Entra's unqualified `manager` (quirks.ts)
    const qualified = qualifyExtensionAttribute(bare, ctx.rt.extensions.map((e) => e.schema));
    if (qualified) resolved = ctx.registry.resolve(ctx.rt, qualified);
  }
  if (!resolved) {
    const full = path.uri === undefined ? path.attr : `${path.uri}:${path.attr}`;
    throw invalidPath(`unknown attribute "${full}"`);
  }
  const a = resolved.attribute;
  const subName = path.sub ?? subAttr;
  let sub: AttributeDefinition | undefined;
  if (subName !== undefined) {
    if (a.type !== 'complex') throw invalidPath(`attribute "${a.name}" has no sub-attributes (asked for "${subName}")`);
    sub = findAttribute(a.subAttributes ?? [], subName);
    if (!sub) throw invalidPath(`unknown sub-attribute "${a.name}.${subName}"`);
  }
  if (valueFilter && a.type !== 'complex') {
    throw invalidPath(`a value filter needs a complex attribute; "${a.name}" is a ${a.type}`);
  }
  const where = `${a.name}${valueFilter ? '[…]' : ''}${sub ? `.${sub.name}` : ''}`;
  let readOnly: string | undefined;
  if (a.mutability === 'readOnly') readOnly = a.name;
  else if (sub?.mutability === 'readOnly') readOnly = `${a.name}.${sub.name}`;
  const target: AttrTarget = { schema: resolved.schema, extension: resolved.extension, attribute: a, where };
  if (readOnly !== undefined) target.readOnly = readOnly;
  if (sub) target.sub = sub;
  if (valueFilter) target.filter = valueFilter;
  return target;
}

// ── operations on one attribute ──────────────────────────────────────────────────────────────────

function applyToAttribute(ctx: Ctx, opIn: PatchOpName, t: AttrTarget, valueIn: unknown, hasValueIn: boolean): void {
  const { attribute: a, sub, filter } = t;
  let op = opIn;
  let value = valueIn;
  let hasValue = hasValueIn;
  if (!a.multiValued && a.type === 'complex' && !sub) value = normalizeSingleComplexValue(a, value);
  // RFC 7643 §2.5 (Entra sends nulls, quirks.isUnassigned): writing "nothing" removes. An empty
  // array replaces a multi-valued attribute with nothing; adding one adds nothing.
  const emptyReplace = op === 'replace' && a.multiValued && !sub && !filter && Array.isArray(value) && value.length === 0;
  if (op !== 'remove' && (value === null || emptyReplace)) {
    op = 'remove';
    hasValue = false;
  }

  if (t.readOnly !== undefined) {
    // RFC 7643 §2.2; an op that leaves the whole attribute as it is, is tolerated (Okta's group
    // rename repeats `id`, quirks.isReadOnlyEcho)
    if (!sub && !filter) {
      const holder = t.extension ? ctx.doc[t.schema] : ctx.doc;
      const current = isObject(holder) ? holder[a.name] : undefined;
      const same = (x: unknown, y: unknown) =>
        a.type === 'complex' || a.multiValued ? sameValue(x, y) : sameSimple(a, x, y);
      if (isReadOnlyEcho(current, op === 'remove' ? undefined : value, same)) return;
    }
    throw mutability(`attribute "${t.readOnly}" is readOnly`);
  }
  const hadExtension = t.extension && !isEmpty(ctx.doc[t.schema]);
  const c = container(ctx, t, op !== 'remove');
  if (c) {
    if (filter) applyFiltered(c, t, filter, op, value);
    else if (sub) {
      if (a.multiValued) applySubOfEach(c, t, sub, op, value);
      else applySubOfOne(c, t, sub, op, value);
    } else if (a.multiValued) applyMulti(c, t, op, value, hasValue);
    else if (a.type === 'complex') applyComplex(c, t, op, value, hasValue);
    else applySimple(c, t, op, value, hasValue);
  }
  if (t.extension) tidyExtension(ctx, t.schema, hadExtension);
}

/** The object holding the attribute: the resource, or its extension object (created for writes). */
function container(ctx: Ctx, t: AttrTarget, create: boolean): Obj | undefined {
  if (!t.extension) return ctx.doc;
  const existing = ctx.doc[t.schema];
  if (isObject(existing)) return existing;
  if (!create) return undefined;
  const fresh: Obj = {};
  ctx.doc[t.schema] = fresh;
  return fresh;
}

/** Single-valued simple attribute: set, or delete. */
function applySimple(c: Obj, t: AttrTarget, op: PatchOpName, value: unknown, hasValue: boolean): void {
  const a = t.attribute;
  if (op === 'remove') {
    // remove with a value that names something else is a no-op (same rule as quirks.removeListedValues)
    if (hasValue && !isUnassigned(value) && !isUnassigned(c[a.name]) && !matchesListed(a, c[a.name], value)) return;
    setAttribute(c, t, undefined);
    return;
  }
  setAttribute(c, t, value);
}

/** Single-valued complex attribute without sub-attribute: merge (RFC 7644 §3.5.2.1/§3.5.2.3), or delete. */
function applyComplex(c: Obj, t: AttrTarget, op: PatchOpName, value: unknown, hasValue: boolean): void {
  const a = t.attribute;
  const current = isObject(c[a.name]) ? (c[a.name] as Obj) : undefined;
  if (op === 'remove') {
    if (hasValue && !isUnassigned(value) && current && !matchesListed(a, current, value)) return;
    setAttribute(c, t, undefined);
    return;
  }
  if (!isObject(value)) throw invalidValue(`attribute "${t.where}" needs a complex value (an object)`);
  setAttribute(c, t, mergeValue(a, current, value, t.where));
}

/** Multi-valued attribute without filter or sub-attribute. */
function applyMulti(c: Obj, t: AttrTarget, op: PatchOpName, value: unknown, hasValue: boolean): void {
  const a = t.attribute;
  const current = asArray(c[a.name]);
  if (op === 'remove') {
    if (hasValue && !isUnassigned(value)) {
      // quirk: remove with a value array (Entra members, IGA entitlements)
      const listed = asArray(value).map((v) => (a.type === 'complex' && isObject(v) ? canonical(a, v, false) : v));
      setAttribute(c, t, removeListedValues(current, listed, (s, l) => matchesListed(a, s, l)));
    } else {
      setAttribute(c, t, undefined); // RFC 7644 §3.5.2.2: no filter → all values removed
    }
    return;
  }
  const incoming = elementsOf(a, value, t.where);
  if (op === 'replace') {
    // RFC 7644 §3.5.2.3: no filter → all values replaced. readOnly sub-attributes (grant metadata,
    // display) are the server's: an element that is still there keeps them.
    if (a.type === 'complex') {
      for (const el of incoming) {
        const old = current.find((o) => sameElement(a, o, el));
        if (isObject(old) && isObject(el)) restoreReadOnly(a, el, old);
      }
    }
    enforceSinglePrimary(a, incoming, incoming);
    setAttribute(c, t, incoming);
    return;
  }
  // add (RFC 7644 §3.5.2.1): values already present are not added again; for complex values the new
  // sub-attributes are merged into the present element (re-adding an entitlement with a new expiresAt).
  const next = [...current];
  const written: unknown[] = [];
  for (const el of incoming) {
    const i = next.findIndex((o) => sameElement(a, o, el));
    if (i < 0) {
      next.push(el);
      written.push(el);
    } else if (a.type === 'complex' && isObject(el)) {
      const merged = mergeValue(a, next[i] as Obj, el, t.where);
      next[i] = merged;
      written.push(merged);
    }
  }
  enforceSinglePrimary(a, next, written);
  setAttribute(c, t, next);
}

/**
 * `emails.value` — a sub-attribute of a multi-valued attribute without a filter: applied to every
 * element (RFC 7644 §3.5.2.3 "no filter → all values"). With no elements, add/replace creates one.
 */
function applySubOfEach(c: Obj, t: AttrTarget, sub: AttributeDefinition, op: PatchOpName, value: unknown): void {
  const a = t.attribute;
  const current = asArray(c[a.name]);
  const newValue = op === 'remove' ? undefined : value;
  if (current.length === 0) {
    if (op !== 'remove') setAttribute(c, t, [{ [sub.name]: value }]);
    return;
  }
  const next = current.map((el) => (isObject(el) ? withSub(el, sub, newValue, t.where) : el)).filter((el) => !isEmpty(el));
  enforceSinglePrimary(a, next, next);
  setAttribute(c, t, next);
}

/** `name.familyName`, `manager.value` — a sub-attribute of a single-valued complex attribute. */
function applySubOfOne(c: Obj, t: AttrTarget, sub: AttributeDefinition, op: PatchOpName, value: unknown): void {
  const current = isObject(c[t.attribute.name]) ? (c[t.attribute.name] as Obj) : undefined;
  if (op === 'remove' && !current) return;
  // `manager.value` naming another user: the old manager's $ref/displayName go too (identityChanged)
  const fresh = current && op !== 'remove' && sub.name === 'value' && identityChanged(t.attribute, current, { value });
  const base = fresh ? {} : current;
  setAttribute(c, t, withSub(base ?? {}, sub, op === 'remove' ? undefined : value, t.where));
}

/** `members[value eq "x"]`, `emails[type eq "work"].value` (RFC 7644 §3.5.2, valuePath). */
function applyFiltered(c: Obj, t: AttrTarget, filter: Filter, op: PatchOpName, value: unknown): void {
  const a = t.attribute;
  const sub = t.sub;
  const matches = compileFilter(filter, { attributes: a.subAttributes ?? [] });
  const noMatch = () => noTarget(`no value of "${a.name}" matches the filter`);

  if (!a.multiValued) {
    const current = c[a.name];
    const hit = isObject(current) && matches(current) ? current : undefined;
    if (op === 'remove') {
      if (hit) setAttribute(c, t, sub ? withSub(hit, sub, undefined, t.where) : undefined);
      return;
    }
    if (!hit) throw noMatch();
    if (sub) {
      setAttribute(c, t, withSub(hit, sub, value, t.where));
      return;
    }
    // (value already went through quirks.normalizeSingleComplexValue in applyToAttribute)
    if (!isObject(value)) throw invalidValue(`attribute "${t.where}" needs a complex value (an object)`);
    setAttribute(c, t, mergeValue(a, hit, value, t.where));
    return;
  }

  const current = asArray(c[a.name]);
  const hits = current.map((el) => isObject(el) && matches(el));
  if (op === 'remove') {
    // no match → nothing to remove; not an error (idempotent revoke, standards.md §2.5)
    const next = sub
      ? current.map((el, i) => (hits[i] ? withSub(el as Obj, sub, undefined, t.where) : el)).filter((el) => !isEmpty(el))
      : current.filter((_, i) => !hits[i]);
    setAttribute(c, t, next);
    return;
  }
  if (!hits.includes(true)) {
    // RFC 7644 §3.5.2.3: no match → 400 noTarget, except Entra's create-on-absent (quirks.ts)
    const created = sub ? createOnAbsent(filter, a.subAttributes ?? [], sub.name, value) : undefined;
    if (!created) throw noMatch();
    const next = [...current, created];
    enforceSinglePrimary(a, next, [created]);
    setAttribute(c, t, next);
    return;
  }
  if (!sub && !isObject(value)) throw invalidValue(`attribute "${t.where}" needs a complex value (an object)`);
  const written: unknown[] = [];
  const next = current
    .map((el, i) => {
      if (!hits[i]) return el;
      // with a sub-attribute: set it on each match; without: merge the value into each match
      const w = sub ? withSub(el as Obj, sub, value, t.where) : mergeValue(a, el as Obj, value as Obj, t.where);
      written.push(w);
      return w;
    })
    .filter((el) => !isEmpty(el));
  enforceSinglePrimary(a, next, written);
  setAttribute(c, t, next);
}

// ── value helpers ────────────────────────────────────────────────────────────────────────────────

/**
 * Write an attribute (undefined/empty → delete), enforcing `immutable` (RFC 7643 §2.2: may be set
 * while unassigned, never changed afterwards).
 */
function setAttribute(c: Obj, t: AttrTarget, next: unknown): void {
  const a = t.attribute;
  const prev = c[a.name];
  if (a.mutability === 'immutable' && !isEmpty(prev) && !sameValue(prev, next)) {
    throw mutability(`attribute "${a.name}" is immutable`);
  }
  if (isEmpty(next)) delete c[a.name];
  else c[a.name] = next;
}

/** A copy of `el` with one sub-attribute set (undefined/null → removed), enforcing `immutable`. */
function withSub(el: Obj, sub: AttributeDefinition, value: unknown, where: string): Obj {
  const prev = el[sub.name];
  if (sub.mutability === 'immutable' && !isEmpty(prev) && !sameValue(prev, value)) {
    throw mutability(`attribute "${where}" is immutable`);
  }
  const out = { ...el };
  if (isUnassigned(value)) delete out[sub.name];
  else out[sub.name] = value;
  return out;
}

/**
 * Merge a client's complex value into the current one: given sub-attributes replace, others stay
 * (RFC 7644 §3.5.2.3), null removes (RFC 7643 §2.5), readOnly ones are ignored, names become
 * canonical. Unknown sub-attributes are kept as sent; the validator decides about them. A reference
 * whose `value` changes starts afresh (identityChanged).
 */
function mergeValue(a: AttributeDefinition, current: Obj | undefined, incoming: Obj, where: string): Obj {
  const subs = a.subAttributes ?? [];
  const fresh = !current || identityChanged(a, current, incoming);
  const out: Obj = fresh ? {} : { ...current };
  for (const [key, v] of Object.entries(incoming)) {
    const def = findAttribute(subs, key);
    const name = def?.name ?? key;
    if (def?.mutability === 'readOnly') continue;
    if (def?.mutability === 'immutable' && !fresh && !isEmpty(out[name]) && !sameValue(out[name], v)) {
      throw mutability(`attribute "${where}.${name}" is immutable`);
    }
    if (isUnassigned(v)) delete out[name];
    else out[name] = v;
  }
  return out;
}

/**
 * A reference (a complex attribute with `value` and `$ref`: manager, sponsor, members, entitlements)
 * whose `value` changes points at something else; its other sub-attributes described the old target.
 * Plain complex values (an email's `value`) just change.
 */
function identityChanged(a: AttributeDefinition, current: Obj, incoming: Obj): boolean {
  const subs = a.subAttributes ?? [];
  if (!findAttribute(subs, 'value') || !findAttribute(subs, '$ref')) return false;
  const next = member(incoming, 'value');
  if (isUnassigned(next) || isUnassigned(current.value)) return false;
  return !sameSubValue(a, 'value', current.value, next);
}

/** Values of a multi-valued attribute as sent: one value or an array; nulls dropped; complex ones canonical. */
function elementsOf(a: AttributeDefinition, value: unknown, where: string): unknown[] {
  const out: unknown[] = [];
  for (const v of Array.isArray(value) ? value : [value]) {
    if (isUnassigned(v)) continue;
    if (a.type !== 'complex') {
      out.push(v);
      continue;
    }
    if (!isObject(v)) throw invalidValue(`each value of "${where}" must be an object`);
    const el = canonical(a, v, true);
    if (!isEmpty(el)) out.push(el);
  }
  return out;
}

/** Sub-attribute names in schema spelling, null sub-attributes dropped, readOnly ones optionally. */
function canonical(a: AttributeDefinition, v: Obj, dropReadOnly: boolean): Obj {
  const out: Obj = {};
  for (const [key, sv] of Object.entries(v)) {
    if (isUnassigned(sv)) continue;
    const def = findAttribute(a.subAttributes ?? [], key);
    if (def && dropReadOnly && def.mutability === 'readOnly') continue;
    out[def?.name ?? key] = sv;
  }
  return out;
}

function restoreReadOnly(a: AttributeDefinition, el: Obj, old: Obj): void {
  for (const def of a.subAttributes ?? []) {
    if (def.mutability === 'readOnly' && !isUnassigned(old[def.name])) el[def.name] = old[def.name];
  }
}

/**
 * RFC 7643 §2.4: at most one value has `primary: true`. When this op set it on some element, the
 * last such element keeps it and every other element loses it.
 */
function enforceSinglePrimary(a: AttributeDefinition, all: unknown[], written: unknown[]): void {
  if (a.type !== 'complex' || !findAttribute(a.subAttributes ?? [], 'primary')) return;
  const winner = written.filter(isPrimary).at(-1);
  if (winner === undefined) return;
  all.forEach((el, i) => {
    if (el !== winner && isObject(el) && isPrimary(el)) {
      const copy = { ...el };
      delete copy.primary;
      all[i] = copy;
    }
  });
}

function isPrimary(el: unknown): boolean {
  return isObject(el) && coerceBooleanString(el.primary) === true;
}

/** Same element of a multi-valued attribute (for add de-duplication and replace carry-over). */
function sameElement(a: AttributeDefinition, x: unknown, y: unknown): boolean {
  if (a.type !== 'complex') return sameSimple(a, x, y);
  if (!isObject(x) || !isObject(y)) return false;
  return sameIdentity(a, x, y) ?? sameValue(x, y);
}

/**
 * Whether a stored value is the one a client listed (remove with a value): by `value` (+ `type`)
 * when the listed value has one, else every listed sub-attribute must match. So Entra's
 * `{"$ref": "…", "value": "id"}` finds a member stored without `$ref`.
 */
function matchesListed(a: AttributeDefinition, stored: unknown, listed: unknown): boolean {
  if (a.type !== 'complex') return sameSimple(a, stored, listed);
  if (!isObject(stored) || !isObject(listed)) return false;
  const byIdentity = sameIdentity(a, stored, listed);
  if (byIdentity !== undefined) return byIdentity;
  return Object.entries(listed).every(([k, v]) => isUnassigned(v) || sameSubValue(a, k, stored[k], v));
}

/** undefined when either side lacks `value`; else equal `value`, and equal `type` if both have one. */
function sameIdentity(a: AttributeDefinition, x: Obj, y: Obj): boolean | undefined {
  if (isUnassigned(x.value) || isUnassigned(y.value)) return undefined;
  if (!sameSubValue(a, 'value', x.value, y.value)) return false;
  if (!isUnassigned(x.type) && !isUnassigned(y.type) && !sameSubValue(a, 'type', x.type, y.type)) return false;
  return true;
}

function sameSubValue(a: AttributeDefinition, name: string, x: unknown, y: unknown): boolean {
  const def = findAttribute(a.subAttributes ?? [], name);
  return def ? sameSimple(def, x, y) : sameValue(x, y);
}

/** Equality of simple values honouring caseExact (RFC 7643 §2.2) for strings. */
function sameSimple(def: AttributeDefinition, x: unknown, y: unknown): boolean {
  if (typeof x === 'string' && typeof y === 'string' && !def.caseExact) return x.toLowerCase() === y.toLowerCase();
  return sameValue(x, y);
}

/** Deep equality where unassigned (null, absent, [], {}) values are all equal (RFC 7643 §2.5). */
function sameValue(x: unknown, y: unknown): boolean {
  if (isEmpty(x) && isEmpty(y)) return true;
  if (Array.isArray(x) && Array.isArray(y)) return x.length === y.length && x.every((v, i) => sameValue(v, y[i]));
  if (isObject(x) && isObject(y)) {
    for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) if (!sameValue(x[k], y[k])) return false;
    return true;
  }
  return x === y;
}

/** Unassigned, or an object with nothing assigned in it. */
function isEmpty(v: unknown): boolean {
  return isUnassigned(v) || (isObject(v) && Object.values(v).every(isEmpty));
}

function asArray(v: unknown): unknown[] {
  if (Array.isArray(v)) return v;
  return isUnassigned(v) ? [] : [v];
}

function isObject(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// ── extensions and `schemas` ─────────────────────────────────────────────────────────────────────

/**
 * After writing into an extension: an extension with values is listed in `schemas` (RFC 7643 §3);
 * one left empty by this op is dropped, with its `schemas` entry.
 */
function tidyExtension(ctx: Ctx, urn: string, hadValues: boolean): void {
  const ext = ctx.doc[urn];
  if (ext === undefined) return;
  if (isEmpty(ext)) {
    delete ctx.doc[urn];
    if (hadValues) removeSchemaUrn(ctx.doc, urn);
    return;
  }
  const schemas = ctx.doc.schemas;
  if (!Array.isArray(schemas)) ctx.doc.schemas = [ctx.rt.core.id, urn];
  else if (!schemas.some((s) => typeof s === 'string' && s.toLowerCase() === urn.toLowerCase())) {
    ctx.doc.schemas = [...schemas, urn];
  }
}

function removeSchemaUrn(doc: Obj, urn: string): void {
  const schemas = doc.schemas;
  if (!Array.isArray(schemas)) return;
  const lower = urn.toLowerCase();
  const next = schemas.filter((s) => !(typeof s === 'string' && s.toLowerCase() === lower));
  if (next.length !== schemas.length) doc.schemas = next;
}
