// Shared set-up of the governance scenarios: an app with an injectable clock, a catalogue, human
// users (sponsors, managers, granters) and agents created over HTTP like a client would.

import { expect } from 'vitest';
import { buildTestApp, GOV_URN, PATCH_URN, type TestApp, type TestAppOptions, USER_URN } from '../../helpers/test-app.js';

export { GOV_URN, PATCH_URN, USER_URN };
export type Json = Record<string, unknown>;

export const ENTERPRISE_URN = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const AGENT_USER_URN = 'urn:agentroster:scim:schemas:extension:agent:1.0:User';
export const ENTITLEMENT_URN = 'urn:ietf:params:scim:schemas:core:2.0:Entitlement';
export const ENTITLEMENT_EXT = 'urn:agentroster:scim:schemas:extension:entitlement:1.0:Entitlement';
export const AGENT_URN = 'urn:ietf:params:scim:schemas:core:2.0:Agent';
export const DAY = 86_400_000;

export interface Gov {
  t: TestApp;
  /** POST /Users (a human), returns the id */
  user(userName: string, extra?: Json): Promise<string>;
  /** POST /Entitlements; gov = the entitlement extension (privileged, environment, maxGrantDays) */
  entitlement(value: string, gov?: Json, extra?: Json): Promise<string>;
  /** POST /Agents as admin (approve included, so it can start active) */
  agent(name: string, o?: { sponsor?: string; extra?: Json; gov?: Json; token?: string }): Promise<Json>;
  agentBody(name: string, sponsor: string, extra?: Json, gov?: Json): Json;
  /** PATCH with these operations */
  patch(path: string, ops: unknown[], token?: string): ReturnType<TestApp['http']['patch']>;
  gov(id: string): Promise<Json>;
  get(id: string): Promise<Json>;
  close(): Promise<void>;
}

export function patchOps(...ops: unknown[]): Json {
  return { schemas: [PATCH_URN], Operations: ops };
}

export async function buildGov(o: TestAppOptions = {}): Promise<Gov> {
  const t = await buildTestApp({ clockStart: '2026-04-01T09:00:00.000Z', ...o });
  const agentBody = (name: string, sponsor: string, extra: Json = {}, gov: Json = {}): Json => ({
    schemas: [AGENT_URN, GOV_URN],
    agentUserName: name,
    ...extra,
    [GOV_URN]: { sponsor: { value: sponsor }, purpose: `${name} does its job`, environment: 'production', autonomyLevel: 'humanInTheLoop', ...gov },
  });
  let defaultSponsor: Promise<string> | undefined;
  const g: Gov = {
    t,
    async user(userName, extra = {}) {
      const res = await t.http.post('/Users', { schemas: [USER_URN, ...(extra[ENTERPRISE_URN] ? [ENTERPRISE_URN] : [])], userName, ...extra });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body.id as string;
    },
    async entitlement(value, gov, extra = {}) {
      const res = await t.http.post('/Entitlements', {
        schemas: [ENTITLEMENT_URN, ...(gov ? [ENTITLEMENT_EXT] : [])],
        value,
        display: value,
        ...extra,
        ...(gov ? { [ENTITLEMENT_EXT]: gov } : {}),
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body.id as string;
    },
    agentBody,
    async agent(name, opt = {}) {
      const sponsor = opt.sponsor ?? (await (defaultSponsor ??= g.user('sponsor.default', { displayName: 'Default Sponsor', emails: [{ value: 'default.sponsor@example.com', primary: true }] })));
      const res = await t.http.post('/Agents', agentBody(name, sponsor, opt.extra, opt.gov), opt.token);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body as Json;
    },
    patch: (path, ops, token) => t.http.patch(path, patchOps(...ops), token),
    async get(id) {
      const res = await t.http.get(`/Agents/${id}`);
      expect(res.status).toBe(200);
      return res.body as Json;
    },
    async gov(id) {
      return (await g.get(id))[GOV_URN] as Json;
    },
    close: () => t.close(),
  };
  return g;
}

export const setState = (state: string, reason?: string) => [
  { op: 'replace', path: `${GOV_URN}:lifecycleState`, value: state },
  ...(reason ? [{ op: 'replace', path: `${GOV_URN}:stateReason`, value: reason }] : []),
];
