// Structural guard for schemas/*.json, the source of truth for /Schemas, /ResourceTypes and
// validation. Every rule here comes from RFC 7643 (§2, §6, §7) or from agentroster's conventions
// (docs/schemas.md). Problems are collected as strings so one run lists all of them.

import { readFileSync, readdirSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type {
  AttributeDefinition,
  ResourceTypeDefinition,
  SchemaDefinition,
} from '../../../src/scim/schema-types.js';
import { stringRuleOf } from '../../../src/scim/string-pattern.js';

const SCHEMAS_DIR = new URL('../../../schemas/', import.meta.url);
const load = (file: string): unknown => JSON.parse(readFileSync(new URL(file, SCHEMAS_DIR), 'utf8'));

const SCHEMA_URN = 'urn:ietf:params:scim:schemas:core:2.0:Schema';
const RESOURCE_TYPE_URN = 'urn:ietf:params:scim:schemas:core:2.0:ResourceType';

const CORE = {
  user: 'urn:ietf:params:scim:schemas:core:2.0:User',
  group: 'urn:ietf:params:scim:schemas:core:2.0:Group',
  agent: 'urn:ietf:params:scim:schemas:core:2.0:Agent',
  entitlement: 'urn:ietf:params:scim:schemas:core:2.0:Entitlement',
  role: 'urn:ietf:params:scim:schemas:core:2.0:Role',
  auditEvent: 'urn:agentroster:scim:schemas:core:1.0:AuditEvent',
};
const EXT = {
  enterprise: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User',
  agentUser: 'urn:agentroster:scim:schemas:extension:agent:1.0:User',
  governance: 'urn:agentroster:scim:schemas:extension:agent-governance:1.0:Agent',
  entitlement: 'urn:agentroster:scim:schemas:extension:entitlement:1.0:Entitlement',
};

/** file -> schema URN; resource-types.json is the only other file allowed in schemas/. */
const SCHEMA_FILES: Record<string, string> = {
  'user.json': CORE.user,
  'enterprise-user.json': EXT.enterprise,
  'group.json': CORE.group,
  'agent.json': CORE.agent,
  'agent-governance.json': EXT.governance,
  'agent-user.json': EXT.agentUser,
  'entitlement.json': CORE.entitlement,
  'entitlement-governance.json': EXT.entitlement,
  'role.json': CORE.role,
  'audit-event.json': CORE.auditEvent,
};
const RESOURCE_TYPES_FILE = 'resource-types.json';

// RFC 7643 §2.3 data types and §7 characteristic values
const TYPES = ['string', 'boolean', 'decimal', 'integer', 'dateTime', 'reference', 'complex', 'binary'];
const MUTABILITY = ['readOnly', 'readWrite', 'immutable', 'writeOnly'];
const RETURNED = ['always', 'never', 'default', 'request'];
const UNIQUENESS = ['none', 'server', 'global'];
const REQUIRED_KEYS = [
  'name', 'type', 'multiValued', 'description', 'required', 'caseExact', 'mutability', 'returned', 'uniqueness',
];
const OPTIONAL_KEYS = ['canonicalValues', 'referenceTypes', 'subAttributes'];
/** agentroster extensions of the attribute definition (docs/schemas.md "Extensions of the RFC 7643 attribute definition") */
const EXTENSION_KEYS = ['pattern', 'minLength', 'maxLength', 'keepWhenOmitted', 'computed'];
/** RFC 7643 §2.1: ATTRNAME = ALPHA *(nameChar), nameChar = "-" / "_" / DIGIT / ALPHA */
const ATTRNAME = /^[A-Za-z][A-Za-z0-9_-]*$/;
/** RFC 7643 §3.1 common attributes: the server adds them, schema files must not declare them. */
const COMMON = ['id', 'externalId', 'meta', 'schemas'];
/** referenceTypes besides resource type names (RFC 7643 §7) */
const GENERIC_REFERENCE_TYPES = ['external', 'uri'];
/** caseExact is meaningful only for string-like types (RFC 7643 §2.2, §2.3.6) */
const CASE_TYPES = ['string', 'reference', 'binary'];

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');
const show = (v: unknown) => JSON.stringify(v);

function duplicates(values: string[]): string[] {
  const seen = new Set<string>();
  const dup = new Set<string>();
  for (const v of values.map((x) => x.toLowerCase())) (seen.has(v) ? dup : seen).add(v);
  return [...dup];
}

function checkAttribute(
  attr: unknown,
  path: string,
  level: 'top' | 'sub',
  parent: Json | undefined,
  referenceTargets: Set<string>,
  problems: string[],
): void {
  const p = (msg: string): void => {
    problems.push(`${path}: ${msg}`);
  };
  if (!isObject(attr)) return p('attribute is not an object');
  for (const k of REQUIRED_KEYS) if (!(k in attr)) p(`missing characteristic "${k}"`);
  for (const k of Object.keys(attr)) if (![...REQUIRED_KEYS, ...OPTIONAL_KEYS, ...EXTENSION_KEYS].includes(k)) p(`unknown key "${k}"`);

  const { name, type, multiValued, description, required, caseExact, mutability, returned, uniqueness } = attr;
  if (typeof name !== 'string') p('name is not a string');
  else if (name === '$ref') {
    if (level !== 'sub') p('$ref is allowed only as a sub-attribute');
    if (type !== 'reference') p('$ref must be of type reference');
  } else if (!ATTRNAME.test(name)) p(`name ${show(name)} does not match ATTRNAME`);
  if (typeof type !== 'string' || !TYPES.includes(type)) p(`illegal type ${show(type)}`);
  for (const [k, v] of Object.entries({ multiValued, required, caseExact })) {
    if (typeof v !== 'boolean') p(`${k} is not a boolean`);
  }
  if (typeof description !== 'string' || description.trim() === '') p('description is empty');
  if (typeof mutability !== 'string' || !MUTABILITY.includes(mutability)) p(`illegal mutability ${show(mutability)}`);
  if (typeof returned !== 'string' || !RETURNED.includes(returned)) p(`illegal returned ${show(returned)}`);
  if (typeof uniqueness !== 'string' || !UNIQUENESS.includes(uniqueness)) p(`illegal uniqueness ${show(uniqueness)}`);

  // consistency between characteristics
  if (caseExact === true && typeof type === 'string' && !CASE_TYPES.includes(type)) p(`caseExact true on ${type}`);
  if ((type === 'complex' || type === 'boolean' || type === 'binary') && uniqueness !== 'none') p(`uniqueness ${show(uniqueness)} on ${type}`);
  // RFC 7643 §2.3.6: "A binary is case exact and has no uniqueness."
  if (type === 'binary' && caseExact !== true) p('binary attribute must be caseExact');
  if (mutability === 'writeOnly' && returned !== 'never') p('writeOnly attribute must be returned "never"');
  if (required === true && mutability === 'readOnly') p('required attribute cannot be readOnly (clients cannot send it)');
  if (parent?.mutability === 'readOnly' && mutability !== 'readOnly') p('sub-attribute of a readOnly attribute must be readOnly');

  if ('pattern' in attr || 'minLength' in attr || 'maxLength' in attr) {
    if (typeof type !== 'string' || !CASE_TYPES.includes(type)) p(`pattern/minLength/maxLength on type ${show(type)}`);
    if ('pattern' in attr && typeof attr.pattern !== 'string') p('pattern is not a string');
    try {
      stringRuleOf(attr as unknown as AttributeDefinition);
    } catch (e) {
      p(e instanceof Error ? e.message : String(e));
    }
  }
  if ('computed' in attr) {
    if (attr.computed !== true) p('computed is only ever true');
    // a reference URI is rendered from its value even where RFC 7643 lets clients send one
    if (mutability !== 'readOnly' && attr.name !== '$ref') p('computed on an attribute clients write');
    if (required === true) p('computed attribute cannot be required');
  }
  if ('keepWhenOmitted' in attr) {
    if (attr.keepWhenOmitted !== true) p('keepWhenOmitted is only ever true');
    if (mutability !== 'readWrite') p('keepWhenOmitted on a non-readWrite attribute (readOnly and immutable values are kept anyway)');
  }

  if ('canonicalValues' in attr) {
    const cv = attr.canonicalValues;
    if (type !== 'string') p(`canonicalValues on type ${show(type)}`);
    if (!isStringArray(cv)) p('canonicalValues is not an array of strings');
    else {
      const dup = caseExact === true ? cv.filter((v, i) => cv.indexOf(v) !== i) : duplicates(cv);
      if (dup.length) p(`duplicate canonicalValues ${show(dup)}`);
    }
  }

  if (type === 'reference') {
    const rt = attr.referenceTypes;
    if (!isStringArray(rt) || rt.length === 0) p('reference attribute without referenceTypes');
    else {
      for (const t of rt) {
        if (!GENERIC_REFERENCE_TYPES.includes(t) && !referenceTargets.has(t)) p(`referenceTypes names unknown resource type ${show(t)}`);
      }
      if (new Set(rt).size !== rt.length) p('duplicate referenceTypes');
    }
  } else if ('referenceTypes' in attr) p(`referenceTypes on type ${show(type)}`);

  if (type === 'complex') {
    // RFC 7643 §2.4: a complex attribute MUST NOT contain complex sub-attributes
    if (level === 'sub') return p('complex attribute nested in a complex attribute (RFC 7643 §2.4)');
    const subs = attr.subAttributes;
    if (!Array.isArray(subs) || subs.length === 0) return p('complex attribute without subAttributes');
    checkLevel(subs, path, 'sub', attr, referenceTargets, problems);
  } else if ('subAttributes' in attr) p(`subAttributes on type ${show(type)}`);
}

function checkLevel(
  attrs: unknown[],
  path: string,
  level: 'top' | 'sub',
  parent: Json | undefined,
  referenceTargets: Set<string>,
  problems: string[],
): void {
  const names = attrs.map((a) => (isObject(a) && typeof a.name === 'string' ? a.name : ''));
  for (const d of duplicates(names)) problems.push(`${path}: attribute name "${d}" is not unique (case-insensitive)`);
  attrs.forEach((a, i) => {
    const name = names[i] || `#${i}`;
    checkAttribute(a, level === 'top' ? `${path}:${name}` : `${path}.${name}`, level, parent, referenceTargets, problems);
  });
}

function checkSchemaFile(file: string, json: unknown, referenceTargets: Set<string>): string[] {
  const problems: string[] = [];
  const p = (msg: string): void => {
    problems.push(`${file}: ${msg}`);
  };
  if (!isObject(json)) return [`${file}: not a JSON object`];
  const allowed = ['schemas', 'id', 'name', 'description', 'attributes'];
  for (const k of Object.keys(json)) if (!allowed.includes(k)) p(`unknown top-level key "${k}"`);
  if (show(json.schemas) !== show([SCHEMA_URN])) p(`schemas must be ["${SCHEMA_URN}"]`);
  if (typeof json.id !== 'string' || !/^urn:[A-Za-z0-9][A-Za-z0-9-]{0,31}:\S+$/.test(json.id)) p(`id ${show(json.id)} is not a URN`);
  for (const k of ['name', 'description'] as const) {
    if (typeof json[k] !== 'string' || (json[k] as string).trim() === '') p(`${k} is empty`);
  }
  if (!Array.isArray(json.attributes) || json.attributes.length === 0) return [...problems, `${file}: no attributes`];
  for (const a of json.attributes) {
    if (isObject(a) && typeof a.name === 'string' && COMMON.some((c) => c.toLowerCase() === (a.name as string).toLowerCase())) {
      p(`declares the common attribute "${a.name}" (RFC 7643 §3.1: the server adds it)`);
    }
  }
  checkLevel(json.attributes, file, 'top', undefined, referenceTargets, problems);
  return problems;
}

function checkResourceTypes(json: unknown, urns: Set<string>): string[] {
  const problems: string[] = [];
  if (!Array.isArray(json) || json.length === 0) return [`${RESOURCE_TYPES_FILE}: not a non-empty array`];
  const allowed = ['schemas', 'id', 'name', 'endpoint', 'description', 'schema', 'schemaExtensions'];
  json.forEach((rt: unknown, i): void => {
    const where = `${RESOURCE_TYPES_FILE}[${i}]`;
    const p = (msg: string): void => {
      problems.push(`${where}: ${msg}`);
    };
    if (!isObject(rt)) return p('not an object');
    for (const k of Object.keys(rt)) if (!allowed.includes(k)) p(`unknown key "${k}"`);
    if (show(rt.schemas) !== show([RESOURCE_TYPE_URN])) p(`schemas must be ["${RESOURCE_TYPE_URN}"]`);
    for (const k of ['id', 'name', 'description'] as const) if (typeof rt[k] !== 'string' || rt[k] === '') p(`${k} is empty`);
    if (typeof rt.endpoint !== 'string' || !/^\/[A-Za-z][A-Za-z0-9]*$/.test(rt.endpoint)) p(`bad endpoint ${show(rt.endpoint)}`);
    if (typeof rt.schema !== 'string' || !urns.has(rt.schema)) p(`schema ${show(rt.schema)} is not a schema file`);
    const exts = rt.schemaExtensions ?? [];
    if (!Array.isArray(exts)) return p('schemaExtensions is not an array');
    const extUrns: string[] = [];
    for (const e of exts) {
      if (!isObject(e)) {
        p('schemaExtensions entry is not an object');
        continue;
      }
      for (const k of Object.keys(e)) if (!['schema', 'required'].includes(k)) p(`schemaExtensions: unknown key "${k}"`);
      if (typeof e.schema !== 'string' || !urns.has(e.schema)) p(`extension ${show(e.schema)} is not a schema file`);
      else extUrns.push(e.schema);
      if (typeof e.required !== 'boolean') p(`extension ${show(e.schema)}: required is not a boolean`);
      if (e.schema === rt.schema) p('extension repeats the core schema');
    }
    for (const d of duplicates(extUrns)) p(`extension ${d} listed twice`);
  });
  const rts = json.filter(isObject);
  for (const k of ['id', 'name', 'endpoint', 'schema']) {
    for (const d of duplicates(rts.map((r) => String(r[k])))) problems.push(`${RESOURCE_TYPES_FILE}: ${k} "${d}" is not unique`);
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------

const files = readdirSync(SCHEMAS_DIR).filter((f) => !f.startsWith('.')).sort();
const rawSchemas = new Map(Object.keys(SCHEMA_FILES).map((f) => [f, load(f)] as const));
const rawResourceTypes = load(RESOURCE_TYPES_FILE);
const resourceTypeNames = new Set(
  Array.isArray(rawResourceTypes) ? rawResourceTypes.filter(isObject).map((r) => String(r.name)) : [],
);

/** After the structural checks pass, the typed views used by the contract tests. */
const schemas = [...rawSchemas.values()] as SchemaDefinition[];
const resourceTypes = rawResourceTypes as ResourceTypeDefinition[];
const byUrn = (urn: string): SchemaDefinition => {
  const s = schemas.find((x) => x.id === urn);
  if (!s) throw new Error(`no schema ${urn}`);
  return s;
};
function attrOf(urn: string, path: string): AttributeDefinition {
  const [top, sub] = path.split('.');
  const a = byUrn(urn).attributes.find((x) => x.name === top);
  const found = sub === undefined ? a : a?.subAttributes?.find((x) => x.name === sub);
  if (!found) throw new Error(`no attribute ${path} in ${urn}`);
  return found;
}
function walk(attrs: AttributeDefinition[], visit: (a: AttributeDefinition, path: string) => void, prefix = ''): void {
  for (const a of attrs) {
    visit(a, prefix + a.name);
    if (a.subAttributes) walk(a.subAttributes, visit, `${prefix}${a.name}.`);
  }
}

describe('schemas/ directory', () => {
  it('holds exactly the known schema files and resource-types.json, all .json', () => {
    expect(files).toEqual([...Object.keys(SCHEMA_FILES), RESOURCE_TYPES_FILE].sort());
  });

  it('every schema file declares the URN it is known by, and URNs are unique', () => {
    for (const [file, urn] of Object.entries(SCHEMA_FILES)) {
      const raw = rawSchemas.get(file);
      expect(isObject(raw) ? raw.id : undefined, file).toBe(urn);
    }
    const urns = [...rawSchemas.values()].map((s) => (isObject(s) ? String(s.id) : ''));
    expect(duplicates(urns)).toEqual([]);
    const names = [...rawSchemas.values()].map((s) => (isObject(s) ? String(s.name) : ''));
    expect(duplicates(names)).toEqual([]);
  });
});

describe.each(Object.keys(SCHEMA_FILES))('%s', (file) => {
  it('is an RFC 7643 §7 schema whose attributes carry every characteristic with legal values', () => {
    expect(checkSchemaFile(file, rawSchemas.get(file), resourceTypeNames)).toEqual([]);
  });
});

describe('checkSchemaFile (the guard itself)', () => {
  const base = {
    name: 'x', type: 'string', multiValued: false, description: 'd', required: false,
    caseExact: false, mutability: 'readWrite', returned: 'default', uniqueness: 'none',
  };
  const file = (attributes: unknown[]) => ({
    schemas: [SCHEMA_URN], id: 'urn:example:test', name: 'T', description: 'd', attributes,
  });
  const problems = (attributes: unknown[]) => checkSchemaFile('t.json', file(attributes), new Set(['User']));

  it('accepts a well-formed attribute', () => {
    expect(problems([base])).toEqual([]);
  });
  it.each([
    ['a missing characteristic', [Object.fromEntries(Object.entries(base).filter(([k]) => k !== 'uniqueness'))], 'missing characteristic "uniqueness"'],
    ['an illegal value', [{ ...base, returned: 'sometimes' }], 'illegal returned'],
    ['nested complex', [{ ...base, type: 'complex', subAttributes: [{ ...base, type: 'complex', subAttributes: [base] }] }], 'RFC 7643 §2.4'],
    ['duplicate names', [base, { ...base, name: 'X' }], 'not unique'],
    ['a bad name', [{ ...base, name: '1x' }], 'ATTRNAME'],
    ['canonicalValues on an integer', [{ ...base, type: 'integer', canonicalValues: ['1'] }], 'canonicalValues on type'],
    ['referenceTypes on a string', [{ ...base, referenceTypes: ['User'] }], 'referenceTypes on type'],
    ['an unknown reference target', [{ ...base, type: 'reference', caseExact: true, referenceTypes: ['Nope'] }], 'unknown resource type'],
    ['a common attribute', [{ ...base, name: 'externalId' }], 'common attribute'],
    ['$ref at the top level', [{ ...base, name: '$ref', type: 'reference', referenceTypes: ['User'] }], 'only as a sub-attribute'],
  ])('rejects %s', (_label, attributes, message) => {
    expect(problems(attributes).join('\n')).toContain(message);
  });
});

describe('resource-types.json', () => {
  it('is an array of RFC 7643 §6 ResourceTypes whose schemas and extensions exist', () => {
    expect(checkResourceTypes(rawResourceTypes, new Set(Object.values(SCHEMA_FILES)))).toEqual([]);
  });

  it('publishes the six resource types at their endpoints with the agreed extensions', () => {
    const summary = resourceTypes.map((rt) => ({
      name: rt.name,
      endpoint: rt.endpoint,
      schema: rt.schema,
      extensions: (rt.schemaExtensions ?? []).map((e) => `${e.schema} required=${e.required}`),
    }));
    expect(summary).toEqual([
      { name: 'User', endpoint: '/Users', schema: CORE.user, extensions: [`${EXT.enterprise} required=false`, `${EXT.agentUser} required=false`] },
      { name: 'Group', endpoint: '/Groups', schema: CORE.group, extensions: [] },
      { name: 'Agent', endpoint: '/Agents', schema: CORE.agent, extensions: [`${EXT.governance} required=true`] },
      { name: 'Entitlement', endpoint: '/Entitlements', schema: CORE.entitlement, extensions: [`${EXT.entitlement} required=false`] },
      { name: 'Role', endpoint: '/Roles', schema: CORE.role, extensions: [] },
      { name: 'AuditEvent', endpoint: '/AuditEvents', schema: CORE.auditEvent, extensions: [] },
    ]);
    for (const rt of resourceTypes) expect(rt.id).toBe(rt.name);
  });

  it('uses every schema file (no orphans)', () => {
    const used = new Set(resourceTypes.flatMap((rt) => [rt.schema, ...(rt.schemaExtensions ?? []).map((e) => e.schema)]));
    expect(Object.values(SCHEMA_FILES).filter((u) => !used.has(u))).toEqual([]);
  });
});

describe('contracts other code relies on', () => {
  it('Agent core: agentUserName is the required, server-unique, case-insensitive name', () => {
    expect(attrOf(CORE.agent, 'agentUserName')).toMatchObject({
      type: 'string', required: true, uniqueness: 'server', caseExact: false, mutability: 'readWrite',
    });
    expect(attrOf(CORE.agent, 'agentUserName')).toMatchObject({ pattern: '^[a-z0-9][a-z0-9._-]*$', minLength: 3, maxLength: 64 });
    // derived from lifecycleState, but writable: a write is lifecycle intent (docs/schemas.md)
    expect(attrOf(CORE.agent, 'active')).toMatchObject({ type: 'boolean', mutability: 'readWrite' });
    expect(attrOf(CORE.agent, 'subject')).toMatchObject({ uniqueness: 'server', caseExact: true });
    expect(attrOf(CORE.agent, 'groups').mutability).toBe('readOnly');
    expect(attrOf(CORE.agent, 'protocols.type').canonicalValues).toEqual(['A2A', 'MCP-Server', 'OpenAPI']);
  });

  it('Agent core: entitlements start with the RFC 7643 sub-attributes, then flat grant metadata', () => {
    const subs = attrOf(CORE.agent, 'entitlements').subAttributes ?? [];
    expect(subs.slice(0, 4).map((s) => s.name)).toEqual(['value', 'display', 'type', 'primary']);
    expect(subs.map((s) => s.name)).toEqual(expect.arrayContaining([
      '$ref', 'grantId', 'grantedBy', 'grantedByDisplay', 'grantedBySystem', 'grantedAt', 'expiresAt',
      'justification', 'source', 'approvedBy', 'lastUsedAt', 'lastCertifiedAt',
    ]));
    expect(subs.find((s) => s.name === 'value')?.required).toBe(true);
    expect(subs.filter((s) => s.mutability !== 'readOnly').map((s) => s.name).sort()).toEqual(
      ['expiresAt', 'justification', 'primary', 'type', 'value'],
    );
  });

  it('governance: exactly sponsor, purpose, environment, lifecycleState and autonomyLevel are required', () => {
    const required = byUrn(EXT.governance).attributes.filter((a) => a.required).map((a) => a.name);
    expect(required.sort()).toEqual(['autonomyLevel', 'environment', 'lifecycleState', 'purpose', 'sponsor']);
    expect(attrOf(EXT.governance, 'sponsor.value').required).toBe(true);
    expect(attrOf(EXT.governance, 'lifecycleState').canonicalValues).toEqual(['pending', 'active', 'suspended', 'retired']);
    expect(attrOf(EXT.governance, 'attestation')).toMatchObject({ returned: 'request', mutability: 'readOnly' });
    // server-governed but client-writable: a PUT that omits them keeps them
    const kept = byUrn(EXT.governance).attributes.filter((a) => a.keepWhenOmitted).map((a) => a.name);
    expect(kept).toEqual(['lifecycleState', 'stateReason']);
  });

  it('governance: credentials hold identifiers and metadata only (closed list of sub-attributes)', () => {
    const subs = attrOf(EXT.governance, 'credentials').subAttributes?.map((s) => s.name);
    expect(subs).toEqual([
      'credentialId', 'type', 'issuer', 'keyThumbprint', 'vaultRef', 'createdAt', 'expiresAt',
      'lastRotatedAt', 'lastUsedAt', 'status',
    ]);
    expect(attrOf(EXT.governance, 'credentials.credentialId').uniqueness).toBe('server');
    expect(attrOf(EXT.governance, 'credentials.keyThumbprint').uniqueness).toBe('server');
  });

  it('no agentroster attribute is named like a secret', () => {
    const secretish = /secret|password|passphrase|privateKey|apiKeyValue|token$/i;
    const hits: string[] = [];
    for (const urn of [CORE.agent, EXT.governance, EXT.agentUser, CORE.entitlement, CORE.role, EXT.entitlement]) {
      walk(byUrn(urn).attributes, (a, path) => {
        if (secretish.test(a.name)) hits.push(`${urn}:${path}`);
      });
    }
    expect(hits).toEqual([]);
  });

  it('agent-as-User extension is read-only throughout and mirrors the governance canonical values', () => {
    const writable: string[] = [];
    walk(byUrn(EXT.agentUser).attributes, (a, path) => {
      if (a.mutability !== 'readOnly') writable.push(path);
    });
    expect(writable).toEqual([]);
    for (const a of byUrn(EXT.agentUser).attributes.filter((x) => x.canonicalValues)) {
      expect(a.canonicalValues, a.name).toEqual(attrOf(EXT.governance, a.name).canonicalValues);
    }
    expect(attrOf(EXT.agentUser, 'entitlementGrants.source').canonicalValues).toEqual(
      attrOf(CORE.agent, 'entitlements.source').canonicalValues,
    );
  });

  it('User: password is writeOnly and never returned; Group: displayName is required', () => {
    expect(attrOf(CORE.user, 'password')).toMatchObject({ mutability: 'writeOnly', returned: 'never' });
    expect(attrOf(CORE.group, 'displayName').required).toBe(true);
    expect(attrOf(CORE.user, 'userName')).toMatchObject({ required: true, uniqueness: 'server', caseExact: false });
  });

  it('catalogue: value is the required, unique, immutable key of Entitlements and Roles', () => {
    for (const urn of [CORE.entitlement, CORE.role]) {
      expect(attrOf(urn, 'value'), urn).toMatchObject({
        required: true, uniqueness: 'server', caseExact: true, mutability: 'immutable',
      });
      expect(attrOf(urn, 'totalAssignmentsUsed').mutability).toBe('readOnly');
    }
    expect(attrOf(EXT.entitlement, 'mappings.target').canonicalValues).toEqual(['entra', 'okta']);
    expect(attrOf(EXT.entitlement, 'mappings.kind').canonicalValues).toEqual(['group', 'appRole']);
  });
});
