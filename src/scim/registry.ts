// The schema registry: indexes schemas/*.json and answers "what is this attribute?" for every
// other part of the engine (validation, PATCH, filters, projection, discovery). Case-insensitive,
// as RFC 7643 §2.1 requires of attribute names and schema URNs. Pure; loading files is load-schemas.ts.

import type { AttrPath } from './filter/ast.js';
import { stringRuleOf } from './string-pattern.js';
import type {
  AttributeDefinition,
  ResourceTypeDefinition,
  SchemaDefinition,
} from './schema-types.js';

/** RFC 7643 §3.1 common attributes: not listed in any schema file, present on every resource. */
export const COMMON_ATTRIBUTES: readonly AttributeDefinition[] = [
  attr('id', 'string', { caseExact: true, mutability: 'readOnly', returned: 'always', uniqueness: 'server' }),
  attr('externalId', 'string', { caseExact: true }),
  {
    ...attr('meta', 'complex', { mutability: 'readOnly' }),
    subAttributes: [
      attr('resourceType', 'string', { caseExact: true, mutability: 'readOnly' }),
      attr('created', 'dateTime', { mutability: 'readOnly' }),
      attr('lastModified', 'dateTime', { mutability: 'readOnly' }),
      attr('location', 'reference', { caseExact: true, mutability: 'readOnly', referenceTypes: ['uri'] }),
      attr('version', 'string', { caseExact: true, mutability: 'readOnly' }),
    ],
  },
];

function attr(
  name: string,
  type: AttributeDefinition['type'],
  over: Partial<AttributeDefinition> = {},
): AttributeDefinition {
  return {
    name,
    type,
    multiValued: false,
    required: false,
    caseExact: false,
    mutability: 'readWrite',
    returned: 'default',
    uniqueness: 'none',
    ...over,
  };
}

/** A path resolved against a resource type: where the value lives and what it is. */
export interface ResolvedPath {
  /** URN of the schema that declares the attribute (the core schema for common attributes). */
  schema: string;
  /** true when the value lives under resource[schema] (an extension). */
  extension: boolean;
  attribute: AttributeDefinition;
  /** set when the path names a sub-attribute of a complex attribute */
  subAttribute?: AttributeDefinition;
}

export interface ResourceTypeInfo {
  type: ResourceTypeDefinition;
  core: SchemaDefinition;
  extensions: { schema: SchemaDefinition; required: boolean }[];
  /** core attributes with the common ones first */
  attributes: AttributeDefinition[];
}

export class SchemaRegistry {
  readonly #schemas = new Map<string, SchemaDefinition>();
  readonly #types = new Map<string, ResourceTypeInfo>();
  readonly #byEndpoint = new Map<string, ResourceTypeInfo>();

  constructor(schemas: SchemaDefinition[], resourceTypes: ResourceTypeDefinition[]) {
    for (const s of schemas) {
      this.#schemas.set(s.id.toLowerCase(), s);
      // a schema file with a pattern we cannot match linearly fails at start-up, not on a request
      const compile = (attrs: readonly AttributeDefinition[]): void => {
        for (const a of attrs) {
          stringRuleOf(a);
          if (a.computed !== undefined && a.computed !== true) {
            throw new Error(`schema ${s.id}: attribute ${a.name}: "computed" is only ever true`);
          }
          if (a.computed && a.required) throw new Error(`schema ${s.id}: attribute ${a.name} is computed on read and cannot be required`);
          compile(a.subAttributes ?? []);
        }
      };
      compile(s.attributes);
    }
    for (const rt of resourceTypes) {
      const core = this.#schemas.get(rt.schema.toLowerCase());
      if (!core) throw new Error(`resource type ${rt.name}: unknown schema ${rt.schema}`);
      const extensions = (rt.schemaExtensions ?? []).map((e) => {
        const schema = this.#schemas.get(e.schema.toLowerCase());
        if (!schema) throw new Error(`resource type ${rt.name}: unknown extension ${e.schema}`);
        return { schema, required: e.required };
      });
      const info: ResourceTypeInfo = {
        type: rt,
        core,
        extensions,
        attributes: [...COMMON_ATTRIBUTES, ...core.attributes],
      };
      this.#types.set(rt.name.toLowerCase(), info);
      this.#byEndpoint.set(rt.endpoint.toLowerCase(), info);
    }
  }

  schemas(): SchemaDefinition[] {
    return [...this.#schemas.values()];
  }

  schema(urn: string): SchemaDefinition | undefined {
    return this.#schemas.get(urn.toLowerCase());
  }

  resourceTypes(): ResourceTypeInfo[] {
    return [...this.#types.values()];
  }

  resourceType(name: string): ResourceTypeInfo | undefined {
    return this.#types.get(name.toLowerCase());
  }

  byEndpoint(endpoint: string): ResourceTypeInfo | undefined {
    return this.#byEndpoint.get(endpoint.toLowerCase());
  }

  /** Schema URNs a resource of this type may list in `schemas`. */
  schemaUrns(rt: ResourceTypeInfo): string[] {
    return [rt.core.id, ...rt.extensions.map((e) => e.schema.id)];
  }

  /** The extension of `rt` with this URN (case-insensitive), if any. */
  extension(rt: ResourceTypeInfo, urn: string): SchemaDefinition | undefined {
    const lower = urn.toLowerCase();
    return rt.extensions.find((e) => e.schema.id.toLowerCase() === lower)?.schema;
  }

  /**
   * Resolves a path as written by a client. Returns undefined when nothing matches, so each caller
   * can raise its own error type (invalidFilter, invalidPath, invalidValue).
   */
  resolve(rt: ResourceTypeInfo, path: AttrPath): ResolvedPath | undefined {
    let schema = rt.core;
    let extension = false;
    let attrs = rt.attributes;
    if (path.uri !== undefined && path.uri.toLowerCase() !== rt.core.id.toLowerCase()) {
      const ext = this.extension(rt, path.uri);
      if (!ext) return undefined;
      schema = ext;
      extension = true;
      attrs = ext.attributes;
    }
    const attribute = findAttribute(attrs, path.attr);
    if (!attribute) return undefined;
    if (path.sub === undefined) return { schema: schema.id, extension, attribute };
    const subAttribute = findAttribute(attribute.subAttributes ?? [], path.sub);
    if (!subAttribute) return undefined;
    return { schema: schema.id, extension, attribute, subAttribute };
  }
}

/**
 * Whether the server computes this attribute when it renders a resource rather than storing it:
 * the agentroster `computed` keyword of the schema files (docs/schemas.md), and every `$ref` the
 * server writes (RFC 7643 §2.3.7 references to our own resources: members, sponsor, owners…). Only
 * client-written `$ref`s (readWrite or writeOnly, e.g. applications.$ref) are data. Filters and
 * sortBy cannot use a computed attribute: the database never sees its value.
 */
export function isComputed(def: AttributeDefinition): boolean {
  if (def.computed === true) return true;
  return def.name === '$ref' && def.mutability !== 'readWrite' && def.mutability !== 'writeOnly';
}

export function findAttribute(
  attrs: readonly AttributeDefinition[],
  name: string,
): AttributeDefinition | undefined {
  const lower = name.toLowerCase();
  return attrs.find((a) => a.name.toLowerCase() === lower);
}
