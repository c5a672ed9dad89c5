// A wired agentroster for the signed-record suites: buildAgentroster on SQLite (in memory unless
// a database URL is given), a test clock, captured logs, background jobs off (tests run them).

import { randomBytes } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import pino, { type Logger } from 'pino';
import supertest from 'supertest';
import { expect } from 'vitest';
import { type Agentroster, buildAgentroster } from '../../../src/app.js';
import type { AgentRecordClaims, StatusListClaims } from '../../../src/agents/records/format.js';
import { loadConfig } from '../../../src/config/config.js';
import { createToken } from '../../../src/http/tokens.js';
import { AGENT_URN, GOV_URN, PATCH_URN, TestClock } from '../../helpers/test-app.js';

export { AGENT_URN, GOV_URN, TestClock };
export const ATTESTATION = `${GOV_URN}:attestation`;
export type Json = Record<string, unknown>;

export interface RecordsApp {
  ar: Agentroster;
  clock: TestClock;
  token: string;
  /** the id of the human User who sponsors the agents createAgent makes (R01: a real, active User) */
  sponsorId(): Promise<string>;
  http: supertest.Agent;
  logText(): string;
  createAgent(name: string, extra?: Json, gov?: Json): Promise<Json>;
  patchGov(id: string, attr: string, value: unknown): Promise<supertest.Response>;
  patch(id: string, ops: unknown[]): Promise<supertest.Response>;
  /** the stored attestation, via GET ?attributes=…:attestation */
  attestation(id: string): Promise<Json>;
  jwks(): Promise<{ keys: Json[] }>;
  statusList(): Promise<string>;
  close(): Promise<void>;
}

let instances = 0;

export const newRecordKey = () => randomBytes(32).toString('base64');

export async function buildRecordsApp(
  o: { env?: Record<string, string>; clockStart?: string; startJobs?: boolean } = {},
): Promise<RecordsApp> {
  const config = loadConfig({ AGENTROSTER_DATABASE_URL: 'sqlite::memory:', AGENTROSTER_LOG_LEVEL: 'silent', ...o.env });
  const lines: string[] = [];
  const logger: Logger = pino({ level: 'debug' }, { write: (s: string) => void lines.push(s) });
  const clock = new TestClock(o.clockStart ?? '2026-03-01T10:00:00.000Z');
  const ar = await buildAgentroster(config, { logger, clock, startJobs: o.startJobs ?? false });
  const token = (await createToken(ar.store, `records-admin-${++instances}`, ['admin'])).token;
  const http = supertest.agent(ar.app);
  const auth = (t: supertest.Test) => t.set('Authorization', `Bearer ${token}`);
  const send = (t: supertest.Test, body: unknown) => auth(t).set('Content-Type', 'application/scim+json').send(JSON.stringify(body));
  // Governance: agents need a real, active human sponsor (R01) and entitlements from the catalogue.
  // Two instances may share one database: whoever comes second finds them there.
  let sponsor: Promise<string> | undefined;
  const sponsorId = () =>
    (sponsor ??= (async () => {
      const r = await send(http.post('/scim/v2/Users'), { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'sponsor-1' });
      if (r.status === 201) return r.body.id as string;
      const found = await auth(http.get('/scim/v2/Users').query({ filter: 'userName eq "sponsor-1"' }));
      expect(found.body.totalResults, JSON.stringify(r.body)).toBe(1);
      return found.body.Resources[0].id as string;
    })());
  for (const value of ['crm.read', 'crm.write', 'erp.write']) {
    const r = await send(http.post('/scim/v2/Entitlements'), { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Entitlement'], value });
    expect([201, 409], JSON.stringify(r.body)).toContain(r.status);
  }
  const app: RecordsApp = {
    ar,
    clock,
    token,
    sponsorId,
    http,
    logText: () => lines.join(''),
    async createAgent(name, extra = {}, gov = {}) {
      const res = await send(http.post('/scim/v2/Agents'), {
        schemas: [AGENT_URN, GOV_URN],
        agentUserName: name,
        ...extra,
        [GOV_URN]: { sponsor: { value: await sponsorId() }, purpose: 'tests', environment: 'test', autonomyLevel: 'advisory', ...gov },
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body as Json;
    },
    patch: (id, ops) => send(http.patch(`/scim/v2/Agents/${id}`), { schemas: [PATCH_URN], Operations: ops }),
    patchGov: (id, attr, value) =>
      send(http.patch(`/scim/v2/Agents/${id}`), { schemas: [PATCH_URN], Operations: [{ op: 'replace', path: `${GOV_URN}:${attr}`, value }] }),
    async attestation(id) {
      const res = await auth(http.get(`/scim/v2/Agents/${id}`).query({ attributes: ATTESTATION }));
      expect(res.status).toBe(200);
      const att = (res.body as Json)[GOV_URN] as Json | undefined;
      expect(att?.attestation, 'attestation').toBeDefined();
      return att!.attestation as Json;
    },
    async jwks() {
      const res = await http.get('/.well-known/jwks.json');
      expect(res.status).toBe(200);
      return JSON.parse(res.text) as { keys: Json[] };
    },
    async statusList() {
      const res = await http.get('/.well-known/agentroster/status-list');
      expect(res.status).toBe(200);
      return res.text;
    },
    close: () => ar.close(),
  };
  return app;
}

export const claimsOf = (jwt: string) => decodeJwt(jwt) as unknown as AgentRecordClaims;
export const statusClaimsOf = (jwt: string) => decodeJwt(jwt) as unknown as StatusListClaims;
export const kidOf = (jwt: string) => decodeProtectedHeader(jwt).kid as string;
