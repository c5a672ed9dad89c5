// RFC 7644 §3.4.2.2 filter AST. Produced by parse.ts, consumed by evaluate.ts (in memory, for PATCH
// value filters) and by the store's SQL translator. Pure data; no I/O.

export type CompareOp = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';

/** A literal from the filter: JSON string, number, true, false or null. */
export type FilterValue = string | number | boolean | null;

/**
 * An attribute path as written in the filter, before schema resolution.
 * `name.givenName` → { attr: 'name', sub: 'givenName' };
 * `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber`
 *   → { uri: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User', attr: 'employeeNumber' }.
 * Names keep the case the client used; resolution against the schema is case-insensitive.
 * The URI is everything before the last ':' (URNs contain dots, attribute names never contain ':'),
 * so a bare schema URN such as `urn:x:y:User` parses as { uri: 'urn:x:y', attr: 'User' }; only a
 * caller that knows the schemas can tell that apart from an attribute (see parsePatchPath).
 * `attr` and `sub` are ATTRNAMEs (RFC 7644 §3.10) or `$ref`.
 */
export interface AttrPath {
  uri?: string;
  attr: string;
  sub?: string;
}

export type Filter =
  | { kind: 'compare'; op: CompareOp; path: AttrPath; value: FilterValue }
  | { kind: 'present'; path: AttrPath }
  // Two or more, flattened: `a and b and c` and `(a and b) and c` are both one `and` of three.
  | { kind: 'and'; filters: Filter[] }
  | { kind: 'or'; filters: Filter[] }
  | { kind: 'not'; filter: Filter }
  /**
   * `emails[type eq "work" and value co "@example.com"]`: `path` names the multi-valued (or complex)
   * attribute; paths inside `filter` are relative to one of its values (their `attr` is the
   * sub-attribute name, and they carry no `uri` or `sub`). The parser never puts a `sub` on
   * `path` itself (`name.givenName[…]` is rejected) and never nests a valuePath inside `filter`.
   * Entra's non-standard `emails[type eq "work"].value eq "x"` is normalised to
   * `emails[type eq "work" and value eq "x"]`, i.e. `filter` = and(<bracket filter>, <sub compare>).
   */
  | { kind: 'valuePath'; path: AttrPath; filter: Filter };

/**
 * A PATCH `path` (RFC 7644 §3.5.2): `attrPath` or `valuePath ["." subAttr]`.
 * `path.sub` and `valueFilter` never both appear. A bare extension URN as the whole path
 * (`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User`) comes back as
 * { path: { uri: 'urn:…:enterprise:2.0', attr: 'User' } }: the PATCH applier, which knows the
 * schema URNs, re-reads `${uri}:${attr}` as the extension when it matches one.
 * `members[value eq "2819c223"]` → { path: {attr:'members'}, valueFilter: …, subAttr: undefined }
 * `emails[type eq "work"].value`  → { path: {attr:'emails'}, valueFilter: …, subAttr: 'value' }
 * `name.familyName`               → { path: {attr:'name', sub:'familyName'} }
 */
export interface PatchPath {
  path: AttrPath;
  valueFilter?: Filter;
  subAttr?: string;
}
