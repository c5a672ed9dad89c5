// Loads schemas/*.json (the source of truth) into a SchemaRegistry.

import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SchemaRegistry } from './registry.js';
import type { ResourceTypeDefinition, SchemaDefinition } from './schema-types.js';

/** schemas/ sits at the package root; this file is at src/scim/ (or dist/src/scim/ when built). */
function schemasDir(): string {
  const here = fileURLToPath(new URL('.', import.meta.url));
  const candidates = [new URL('../../schemas/', import.meta.url), new URL('../../../schemas/', import.meta.url)];
  for (const c of candidates) {
    try {
      readdirSync(c);
      return fileURLToPath(c);
    } catch {
      // try the next layout
    }
  }
  throw new Error(`schemas/ directory not found near ${here}`);
}

export interface LoadedSchemas {
  schemas: SchemaDefinition[];
  resourceTypes: ResourceTypeDefinition[];
}

export function readSchemaFiles(dir = schemasDir()): LoadedSchemas {
  const schemas: SchemaDefinition[] = [];
  let resourceTypes: ResourceTypeDefinition[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.json')).sort()) {
    const json = JSON.parse(readFileSync(`${dir}/${file}`, 'utf8')) as unknown;
    if (file === 'resource-types.json') resourceTypes = json as ResourceTypeDefinition[];
    else schemas.push(json as SchemaDefinition);
  }
  return { schemas, resourceTypes };
}

/** The registry of every schema and resource type shipped in schemas/. */
export function loadRegistry(only?: (rt: ResourceTypeDefinition) => boolean): SchemaRegistry {
  const { schemas, resourceTypes } = readSchemaFiles();
  return new SchemaRegistry(schemas, only ? resourceTypes.filter(only) : resourceTypes);
}
