// RFC 7643 §7 schema and §6 resource-type definitions, as data. schemas/*.json hold instances of
// these; the registry (registry.ts) indexes them. No I/O here.

export type AttributeType =
  | 'string'
  | 'boolean'
  | 'decimal'
  | 'integer'
  | 'dateTime'
  | 'reference'
  | 'complex'
  | 'binary';

export type Mutability = 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
export type Returned = 'always' | 'never' | 'default' | 'request';
export type Uniqueness = 'none' | 'server' | 'global';

export interface AttributeDefinition {
  name: string;
  type: AttributeType;
  multiValued: boolean;
  description?: string;
  required: boolean;
  caseExact: boolean;
  mutability: Mutability;
  returned: Returned;
  uniqueness: Uniqueness;
  canonicalValues?: string[];
  referenceTypes?: string[];
  subAttributes?: AttributeDefinition[];
  /**
   * agentroster extension of RFC 7643 §7 (docs/schemas.md): string rules enforced on input.
   * `pattern` is an anchored sequence of character classes (string-pattern.ts), never a general
   * regular expression; lengths count characters (code points).
   */
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  /**
   * agentroster extension: a PUT that omits this readWrite attribute keeps its current value (the
   * default RFC 7644 §3.5.1 lets a server assign), for values the server governs, e.g. lifecycleState.
   */
  keepWhenOmitted?: boolean;
  /**
   * agentroster extension: the server fills this value in when it renders a resource (a count, a
   * URL of the request's base, a flag as of now), so the stored document lacks it or holds a stale
   * copy. Filters and sortBy on it are 400 (the database cannot see it); see isComputed() in registry.ts.
   */
  computed?: boolean;
}

export interface SchemaDefinition {
  id: string; // the schema URN
  name: string;
  description?: string;
  attributes: AttributeDefinition[];
}

export interface SchemaExtensionRef {
  schema: string;
  required: boolean;
}

export interface ResourceTypeDefinition {
  id: string;
  name: string;
  endpoint: string; // "/Users"
  description?: string;
  schema: string;
  schemaExtensions?: SchemaExtensionRef[];
}
