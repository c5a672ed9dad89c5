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
 */
export interface AttrPath {
  uri?: string;
  attr: string;
  sub?: string;
}

export type Filter =
  | { kind: 'compare'; op: CompareOp; path: AttrPath; value: FilterValue }
  | { kind: 'present'; path: AttrPath }
  | { kind: 'and'; filters: Filter[] } // two or more, flattened
  | { kind: 'or'; filters: Filter[] } // two or more, flattened
  | { kind: 'not'; filter: Filter }
  /**
   * `emails[type eq "work" and value co "@example.com"]`: `path` names the multi-valued (or complex)
   * attribute; paths inside `filter` are relative to one of its values (their `attr` is the
   * sub-attribute name, and they carry no `uri` or `sub`).
   */
  | { kind: 'valuePath'; path: AttrPath; filter: Filter };

/**
 * A PATCH `path` (RFC 7644 §3.5.2): `attrPath` or `valuePath ["." subAttr]`.
 * `members[value eq "2819c223"]` → { path: {attr:'members'}, valueFilter: …, subAttr: undefined }
 * `emails[type eq "work"].value`  → { path: {attr:'emails'}, valueFilter: …, subAttr: 'value' }
 * `name.familyName`               → { path: {attr:'name', sub:'familyName'} }
 */
export interface PatchPath {
  path: AttrPath;
  valueFilter?: Filter;
  subAttr?: string;
}
