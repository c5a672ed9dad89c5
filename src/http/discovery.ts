// Discovery endpoints (RFC 7644 §4), all generated from the schema registry.

import { Router } from 'express';
import { notFound } from '../scim/errors.js';
import type { SchemaRegistry } from '../scim/registry.js';
import { requireScope } from './auth.js';
import { MAX_COUNT } from './list-request.js';
import { listResponse, sendScim } from './render.js';

export interface DiscoveryOptions {
  maxOperations: number;
  maxPayloadSize: number;
  documentationUri?: string;
}

export function serviceProviderConfig(baseUrl: string, o: DiscoveryOptions): Record<string, unknown> {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
    documentationUri: o.documentationUri ?? 'https://github.com/agentroster/agentroster/tree/main/docs',
    patch: { supported: true },
    bulk: { supported: true, maxOperations: o.maxOperations, maxPayloadSize: o.maxPayloadSize },
    filter: { supported: true, maxResults: MAX_COUNT },
    changePassword: { supported: false },
    sort: { supported: true },
    etag: { supported: true },
    // RFC 9865 cursor pagination
    pagination: {
      cursor: true,
      index: true,
      defaultPaginationMethod: 'index',
      defaultPageSize: 100,
      maxPageSize: MAX_COUNT,
    },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'Bearer token',
        description: 'Authorization: Bearer <token>, created with `agentroster token create`',
        primary: true,
      },
    ],
    // draft-abbey-scim-agent-extension: tells agent-aware clients that /Agents exists
    agentExtension: { supported: true, agentsSupported: true, agenticApplicationsSupported: false },
    meta: { resourceType: 'ServiceProviderConfig', location: `${baseUrl}/ServiceProviderConfig` },
  };
}

export function discoveryRouter(
  registry: SchemaRegistry,
  baseUrlOf: (req: import('express').Request) => string,
  o: DiscoveryOptions,
): Router {
  const r = Router({ caseSensitive: false });
  const anyScope = (req: import('express').Request) => requireScope(req, 'scim.read');

  r.get('/ServiceProviderConfig', (req, res) => {
    anyScope(req);
    sendScim(res, 200, serviceProviderConfig(baseUrlOf(req), o));
  });

  const rtJson = (base: string, name: string) => {
    const rt = registry.resourceType(name);
    if (!rt) throw notFound(`unknown resource type "${name}"`);
    const t = rt.type;
    return {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
      id: t.id,
      name: t.name,
      endpoint: t.endpoint,
      ...(t.description ? { description: t.description } : {}),
      schema: t.schema,
      schemaExtensions: t.schemaExtensions ?? [],
      meta: { resourceType: 'ResourceType', location: `${base}/ResourceTypes/${t.id}` },
    };
  };
  r.get('/ResourceTypes', (req, res) => {
    anyScope(req);
    const base = baseUrlOf(req);
    const all = registry.resourceTypes().map((rt) => rtJson(base, rt.type.name));
    sendScim(res, 200, listResponse(all, all.length, 1));
  });
  r.get('/ResourceTypes/:name', (req, res) => {
    anyScope(req);
    sendScim(res, 200, rtJson(baseUrlOf(req), String(req.params.name)));
  });

  const schemaJson = (base: string, urn: string) => {
    const s = registry.schema(urn);
    if (!s) throw notFound(`unknown schema "${urn}"`);
    return {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'],
      id: s.id,
      name: s.name,
      ...(s.description ? { description: s.description } : {}),
      attributes: s.attributes,
      meta: { resourceType: 'Schema', location: `${base}/Schemas/${s.id}` },
    };
  };
  r.get('/Schemas', (req, res) => {
    anyScope(req);
    const base = baseUrlOf(req);
    const all = registry.schemas().map((s) => schemaJson(base, s.id));
    sendScim(res, 200, listResponse(all, all.length, 1));
  });
  r.get('/Schemas/:urn', (req, res) => {
    anyScope(req);
    sendScim(res, 200, schemaJson(baseUrlOf(req), String(req.params.urn)));
  });
  return r;
}
