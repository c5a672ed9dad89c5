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
