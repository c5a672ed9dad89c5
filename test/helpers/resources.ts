// Request bodies (test/fixtures/http/resources.json) and one-line creators for the HTTP suites.

import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { GOV_URN, GROUP_URN, USER_URN, type TestApp } from './test-app.js';

export type Json = Record<string, unknown>;

const fixtures = JSON.parse(readFileSync(new URL('../fixtures/http/resources.json', import.meta.url), 'utf8')) as Record<
  string,
  Json
>;

/** A fresh copy of a fixture body, with `{{sponsor}}` replaced. */
export function fixture(name: 'minimalUser' | 'richUser' | 'minimalAgent' | 'richAgent', sponsor = 'no-sponsor'): Json {
  const body = fixtures[name];
  if (!body) throw new Error(`no fixture ${name}`);
  return JSON.parse(JSON.stringify(body).replaceAll('{{sponsor}}', sponsor)) as Json;
}

export function userBody(userName: string, extra: Json = {}): Json {
  return { schemas: [USER_URN], userName, ...extra };
}

export function agentBody(agentUserName: string, sponsor: string, extra: Json = {}, gov: Json = {}): Json {
  const base = fixture('minimalAgent', sponsor);
  return { ...base, agentUserName, ...extra, [GOV_URN]: { ...(base[GOV_URN] as Json), ...gov } };
}

export function groupBody(displayName: string, memberIds: string[] = [], extra: Json = {}): Json {
  return {
    schemas: [GROUP_URN],
    displayName,
    ...(memberIds.length > 0 ? { members: memberIds.map((value) => ({ value })) } : {}),
    ...extra,
  };
}

async function created(t: TestApp, endpoint: string, body: Json): Promise<Json> {
  const res = await t.http.post(endpoint, body);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body as Json;
}

export const createUser = (t: TestApp, userName: string, extra: Json = {}) => created(t, '/Users', userBody(userName, extra));
export const createGroup = (t: TestApp, displayName: string, memberIds: string[] = [], extra: Json = {}) =>
  created(t, '/Groups', groupBody(displayName, memberIds, extra));
export async function createAgent(t: TestApp, agentUserName: string, extra: Json = {}, gov: Json = {}, sponsor?: string): Promise<Json> {
  return created(t, '/Agents', agentBody(agentUserName, sponsor ?? 'sponsor-id', extra, gov));
}

/** A resource body without server-set parts, for comparing with what was sent. */
export function withoutMeta(r: Json): Json {
  const { id: _id, meta: _meta, ...rest } = r;
  return rest;
}
