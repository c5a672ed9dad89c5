// Replaying an identity provider's provisioning traffic against agentroster's SCIM API, request by
// request, with the headers and bodies the IdP documents (reference/entra.md §4, okta.md §4.1).

import { expect } from 'vitest';
import { createToken } from '../../../src/http/tokens.js';
import type { AuditEvent } from '../../../src/store/types.js';
import { allAudit, GOV_URN, type TestApp } from '../../helpers/test-app.js';
import { agentBody, type Json } from '../../helpers/resources.js';

export const q = encodeURIComponent;

export interface IdpClient {
  /** the token the IdP's provisioning app is configured with */
  token: string;
  get(path: string, status?: number): Promise<Json>;
  post(path: string, body: Json, status?: number): Promise<Json>;
  put(path: string, body: Json, status?: number): Promise<Json>;
  /** returns the body (or {} for 204) and accepts `statuses` */
  patch(path: string, body: Json, statuses?: number[]): Promise<Json>;
  delete(path: string, status?: number): Promise<void>;
}

/** A client that talks like the IdP: its User-Agent and Content-Type, a bearer token of its own. */
export async function idpClient(t: TestApp, name: string, userAgent: string, contentType = 'application/scim+json'): Promise<IdpClient> {
  const { token } = await createToken(t.store, name, ['scim.read', 'scim.write']);
  const agent = (await import('supertest')).default(t.app);
  const send = (method: 'get' | 'post' | 'put' | 'patch' | 'delete', path: string, body?: Json) => {
    let r = agent[method](`/scim/v2${path}`).set('Authorization', `Bearer ${token}`).set('User-Agent', userAgent).set('Accept', 'application/scim+json');
    if (body !== undefined) r = r.set('Content-Type', contentType).send(JSON.stringify(body));
    return r;
  };
  const check = (res: { status: number; body: unknown }, want: number[], what: string) => {
    expect(want, `${what} → ${res.status} ${JSON.stringify(res.body)}`).toContain(res.status);
    return (res.body ?? {}) as Json;
  };
  return {
    token,
    get: async (p, s = 200) => check(await send('get', p), [s], `GET ${p}`),
    post: async (p, b, s = 201) => check(await send('post', p, b), [s], `POST ${p}`),
    put: async (p, b, s = 200) => check(await send('put', p, b), [s], `PUT ${p}`),
    patch: async (p, b, s = [200, 204]) => check(await send('patch', p, b), s, `PATCH ${p}`),
    delete: async (p, s = 204) => {
      check(await send('delete', p), [s], `DELETE ${p}`);
    },
  };
}

/** An agent sponsored by `sponsorId`, registered by the platform team (admin token). */
export async function sponsoredAgent(t: TestApp, name: string, sponsorId: string): Promise<string> {
  const res = await t.http.post('/Agents', agentBody(name, sponsorId));
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return (res.body as Json).id as string;
}

export async function agentGov(t: TestApp, id: string): Promise<Json> {
  const res = await t.http.get(`/Agents/${id}`);
  expect(res.status).toBe(200);
  return ((res.body as Json)[GOV_URN] ?? {}) as Json;
}

export async function auditOf(t: TestApp, id: string): Promise<AuditEvent[]> {
  return (await allAudit(t)).filter((e) => e.resourceId === id);
}
