// RFC 7644 §4 discovery: /ServiceProviderConfig, /ResourceTypes, /Schemas, all generated from the
// registry. Expected bodies are built from schemas/*.json read here, independently of the registry.

import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, LIST_URN, SCIM_CT, scimError, type TestApp } from '../../helpers/test-app.js';

type Json = Record<string, unknown>;
const dir = new URL('../../../schemas/', import.meta.url);
const schemaFiles = readdirSync(dir)
  .filter((f) => f.endsWith('.json') && f !== 'resource-types.json')
  .map((f) => JSON.parse(readFileSync(new URL(f, dir), 'utf8')) as Json & { id: string; name: string; description?: string });
const resourceTypes = JSON.parse(readFileSync(new URL('resource-types.json', dir), 'utf8')) as (Json & { id: string; name: string })[];

const BASE = 'https://scim.example.com/scim/v2';

describe('discovery', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp({ env: { AGENTROSTER_BASE_URL: BASE, AGENTROSTER_BULK_MAX_OPERATIONS: '50', AGENTROSTER_MAX_BODY_BYTES: '65536' } });
  });
  afterAll(() => t.close());

  const expectedResourceType = (rt: Json & { id: string }) => ({
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
    id: rt.id,
    name: rt.name,
    endpoint: rt.endpoint,
    description: rt.description,
    schema: rt.schema,
    schemaExtensions: rt.schemaExtensions ?? [],
    meta: { resourceType: 'ResourceType', location: `${BASE}/ResourceTypes/${rt.id}` },
  });
  const expectedSchema = (s: Json & { id: string }) => ({
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'],
    id: s.id,
    name: s.name,
    description: s.description,
    attributes: s.attributes,
    meta: { resourceType: 'Schema', location: `${BASE}/Schemas/${s.id}` },
  });

  it('/ServiceProviderConfig states patch, bulk with the configured limits, filter, sort, etag and bearer auth', async () => {
    const res = await t.http.get('/ServiceProviderConfig');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(SCIM_CT);
    expect(res.body).toEqual({
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
      documentationUri: expect.stringMatching(/^https:\/\//),
      patch: { supported: true },
      bulk: { supported: true, maxOperations: 50, maxPayloadSize: 65536 },
      filter: { supported: true, maxResults: 1000 },
      changePassword: { supported: false },
      sort: { supported: true },
      etag: { supported: true },
      pagination: { cursor: true, index: true, defaultPaginationMethod: 'index', defaultPageSize: 100, maxPageSize: 1000 },
      authenticationSchemes: [
        { type: 'oauthbearertoken', name: 'Bearer token', description: expect.stringContaining('Bearer'), primary: true },
      ],
      agentExtension: { supported: true, agentsSupported: true, agenticApplicationsSupported: false },
      meta: { resourceType: 'ServiceProviderConfig', location: `${BASE}/ServiceProviderConfig` },
    });
  });

  it('/ResourceTypes lists User, Group, Agent, Entitlement, Role and AuditEvent exactly as schemas/resource-types.json defines them', async () => {
    const res = await t.http.get('/ResourceTypes');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(SCIM_CT);
    expect(resourceTypes.map((r) => r.name).sort()).toEqual(['Agent', 'AuditEvent', 'Entitlement', 'Group', 'Role', 'User']);
    expect(res.body).toEqual({
      schemas: [LIST_URN],
      totalResults: resourceTypes.length,
      startIndex: 1,
      itemsPerPage: resourceTypes.length,
      Resources: resourceTypes.map(expectedResourceType),
    });
  });

  it.each(resourceTypes.map((r) => [r.name, r] as const))('/ResourceTypes/%s', async (name, rt) => {
    const res = await t.http.get(`/ResourceTypes/${name}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(SCIM_CT);
    expect(res.body).toEqual(expectedResourceType(rt));
  });

  it('the Agent resource type requires the governance extension; User offers the enterprise extension', async () => {
    const agent = await t.http.get('/ResourceTypes/Agent');
    expect(agent.body.schemaExtensions).toEqual([
      { schema: 'urn:agentroster:scim:schemas:extension:agent-governance:1.0:Agent', required: true },
    ]);
    const user = await t.http.get('/ResourceTypes/User');
    expect(user.body.schemaExtensions).toContainEqual({ schema: 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User', required: false });
  });

  it('/Schemas lists every schema file with its attributes unchanged', async () => {
    const res = await t.http.get('/Schemas');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(SCIM_CT);
    expect(res.body).toMatchObject({ schemas: [LIST_URN], totalResults: schemaFiles.length, startIndex: 1, itemsPerPage: schemaFiles.length });
    const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id);
    expect([...(res.body.Resources as { id: string }[])].sort(byId)).toEqual(schemaFiles.map(expectedSchema).sort(byId));
  });

  it.each(schemaFiles.map((s) => [s.id, s] as const))('/Schemas/%s', async (urn, s) => {
    const res = await t.http.get(`/Schemas/${urn}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(SCIM_CT);
    expect(res.body).toEqual(expectedSchema(s));
  });

  it('every schema a resource type names is served under /Schemas', async () => {
    for (const rt of resourceTypes) {
      const urns = [rt.schema as string, ...((rt.schemaExtensions as { schema: string }[] | undefined) ?? []).map((e) => e.schema)];
      for (const urn of urns) expect((await t.http.get(`/Schemas/${urn}`)).status, urn).toBe(200);
    }
  });

  it.each([
    ['/ResourceTypes/Widget', /Widget/],
    ['/Schemas/urn:ietf:params:scim:schemas:core:2.0:Widget', /Widget/],
    ['/Schemas/nonsense', /nonsense/],
  ])('unknown %s → 404 SCIM error', async (path, detail) => {
    const res = await t.http.get(path);
    expect(res.status).toBe(404);
    expect(res.headers['content-type']).toMatch(SCIM_CT);
    expect(res.body).toEqual(scimError(404, undefined, detail));
  });

  it('without AGENTROSTER_BASE_URL, locations come from the request host', async () => {
    const local = await buildTestApp();
    try {
      const res = await local.http.get('/ResourceTypes/User');
      expect(res.body.meta).toEqual({ resourceType: 'ResourceType', location: `${local.origin}/scim/v2/ResourceTypes/User` });
    } finally {
      await local.close();
    }
  });
});
