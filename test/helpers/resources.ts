// Request bodies (test/fixtures/http/resources.json) and one-line creators for the HTTP suites.

import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { GOV_URN, GROUP_URN, USER_URN, type TestApp } from './test-app.js';

export type Json = Record<string, unknown>;

const fixtures = JSON.parse(readFileSync(new URL('../fixtures/http/resources.json', import.meta.url), 'utf8')) as Record<
  string,
  Json
>;

/**
 * A fresh copy of a fixture body, with `{{sponsor}}` replaced (and any other `{{name}}` from
 * `more`, e.g. the richAgent's `{{group}}`: co-sponsors and owner teams must be real Groups).
 */
export function fixture(
  name: 'minimalUser' | 'richUser' | 'minimalAgent' | 'richAgent',
  sponsor = 'no-sponsor',
  more: Record<string, string> = {},
): Json {
  const body = fixtures[name];
  if (!body) throw new Error(`no fixture ${name}`);
  let text = JSON.stringify(body).replaceAll('{{sponsor}}', sponsor);
  for (const [k, v] of Object.entries(more)) text = text.replaceAll(`{{${k}}}`, v);
  return JSON.parse(text) as Json;
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
  return created(t, '/Agents', agentBody(agentUserName, sponsor ?? (await defaultSponsor(t)), extra, gov));
}

const sponsors = new WeakMap<TestApp, Promise<string>>();

/**
 * R01: every agent has an active human sponsor. Suites that do not care who it is get one User per
 * app ("default-sponsor"), created on first use.
 */
export function defaultSponsor(t: TestApp): Promise<string> {
  let p = sponsors.get(t);
  if (!p) {
    p = created(t, '/Users', userBody('default-sponsor', { displayName: 'Default Sponsor' })).then((u) => u.id as string);
    sponsors.set(t, p);
  }
  return p;
}

/** A resource body without server-set parts, for comparing with what was sent. */
export function withoutMeta(r: Json): Json {
  const { id: _id, meta: _meta, ...rest } = r;
  return rest;
}
