// Finding 9: bearer tokens expire, and a token bound to a User works only while that User is an
// active human. What a client sees: 401 with a SCIM error body that says why, and
// WWW-Authenticate: Bearer error="invalid_token".

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import supertest from 'supertest';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { buildAgentroster } from '../../../src/app.js';
import { loadConfig } from '../../../src/config/config.js';
import { createToken, DEFAULT_TOKEN_TTL_MS, hashToken, parseTtl } from '../../../src/http/tokens.js';
import { loadRegistry } from '../../../src/scim/load-schemas.js';
import { PostgresStore } from '../../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { dropSchema, freshSchema, PG_URL, postgresAvailable } from '../../helpers/postgres.js';
import { buildTestApp, GOV_URN, patchBody, SCIM, scimError, type TestApp, USER_URN } from '../../helpers/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(async () => {
  await t.close();
});
afterEach(() => {
  vi.restoreAllMocks();
});

async function human(userName: string): Promise<string> {
  const res = await t.http.post('/Users', { schemas: [USER_URN], userName, displayName: userName });
  expect(res.status).toBe(201);
  return res.body.id as string;
}

/** Moves the authentication's clock (and its 5 s caches) forward. */
function later(ms: number): void {
  const real = Date.now.bind(Date);
  vi.spyOn(Date, 'now').mockImplementation(() => real() + ms);
}

describe('token expiry', () => {
  it('parses --ttl with units s, m, h, d and never; rejects anything else', () => {
    expect(parseTtl('90d')).toBe(90 * 86_400_000);
    expect(parseTtl('12h')).toBe(12 * 3_600_000);
    expect(parseTtl('30m')).toBe(30 * 60_000);
    expect(parseTtl('45s')).toBe(45_000);
    expect(parseTtl('never')).toBeNull();
    for (const bad of ['', '0d', '-1d', '5x', '1.5d', 'd', '90', '99999d']) expect(() => parseTtl(bad), bad).toThrow(/--ttl/);
  });

  it('a new token expires after 90 days by default', async () => {
    const now = new Date('2026-03-01T00:00:00.000Z');
    const created = await createToken(t.store, 'default-ttl', ['scim.read'], { now });
    expect(created.expiresAt).toBe(new Date(now.getTime() + DEFAULT_TOKEN_TTL_MS).toISOString());
    expect(created.expiresAt).toBe('2026-05-30T00:00:00.000Z');
    expect((await t.store.tokens.findByHash(hashToken(created.token)))?.expiresAt).toBe(created.expiresAt);
  });

  it('an expired token → 401 whose body says it expired and when; WWW-Authenticate error="invalid_token"', async () => {
    const created = await createToken(t.store, 'short-lived', ['scim.read'], { ttlMs: 60_000, now: new Date(Date.now() - 120_000) });
    const res = await t.http.get('/Users', created.token);
    expect(res.status).toBe(401);
    expect(res.body).toEqual(scimError(401, undefined, new RegExp(`expired at ${created.expiresAt!.replace(/\./g, '\\.')}`)));
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="agentroster", error="invalid_token"/);
  });

  it('a token works until its expiry and stops at it, even while cached', async () => {
    const created = await createToken(t.store, 'expiring', ['scim.read'], { ttlMs: 3_000 });
    expect((await t.http.get('/Users', created.token)).status).toBe(200);
    later(3_500);
    const res = await t.http.get('/Users', created.token);
    expect(res.status).toBe(401);
    expect(res.body.detail).toMatch(/the bearer token expired at /);
  });

  it('--ttl never: no expiry', async () => {
    const created = await createToken(t.store, 'forever', ['scim.read'], { ttlMs: null });
    expect(created.expiresAt).toBeUndefined();
    later(10 * 365 * 86_400_000);
    expect((await t.http.get('/Users', created.token)).status).toBe(200);
  });

  it('an unknown token is still a plain 401 (not "expired")', async () => {
    const res = await t.http.get('/Users', 'art_not-a-token');
    expect(res.status).toBe(401);
    expect(res.body.detail).toBe('the bearer token is not valid');
  });
});

describe('tokens bound to a User (--user)', () => {
  it('stop working when the User is deactivated, and work again when reactivated', async () => {
    const id = await human('bound-ada');
    const token = await t.tokenWith(['scim.read'], 'ada-token', id);
    expect((await t.http.get('/Users', token)).status).toBe(200);
    expect((await t.http.patch(`/Users/${id}`, patchBody({ op: 'replace', path: 'active', value: false }))).status).toBe(200);
    later(6_000); // past the 5 s authentication cache
    const res = await t.http.get('/Users', token);
    expect(res.status).toBe(401);
    expect(res.body).toEqual(scimError(401, undefined, new RegExp(`bound to a User who can no longer act: User "${id}" is not active`)));
    expect(res.headers['www-authenticate']).toMatch(/error="invalid_token"/);
    expect((await t.http.patch(`/Users/${id}`, patchBody({ op: 'replace', path: 'active', value: true }))).status).toBe(200);
    vi.restoreAllMocks();
    later(12_000);
    expect((await t.http.get('/Users', token)).status).toBe(200);
  });

  it('stop working when the User is deleted', async () => {
    const id = await human('bound-bob');
    const token = await t.tokenWith(['scim.read'], 'bob-token', id);
    expect((await t.http.get('/Users', token)).status).toBe(200);
    expect((await t.http.delete(`/Users/${id}`)).status).toBe(204);
    later(6_000);
    const res = await t.http.get('/Users', token);
    expect(res.status).toBe(401);
    expect(res.body.detail).toMatch(new RegExp(`no User "${id}"`));
  });

  it('cannot be made for a missing, inactive or non-human id (an agent, its User projection, a Group)', async () => {
    const inactive = (await t.http.post('/Users', { schemas: [USER_URN], userName: 'gone-carol', active: false })).body.id as string;
    const sponsor = await human('sponsor-dan');
    const agent = await t.http.post('/Agents', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Agent', GOV_URN],
      agentUserName: 'bound-bot',
      displayName: 'Bound Bot',
      [GOV_URN]: { sponsor: { value: sponsor }, purpose: 'binds nothing', environment: 'development', autonomyLevel: 'humanInTheLoop' },
    });
    expect(agent.status, JSON.stringify(agent.body)).toBe(201);
    const agentId = agent.body.id as string;
    const projection = await t.http.get(`/Users?filter=${encodeURIComponent('userType eq "Agent"')}`);
    const projectionId = (projection.body.Resources as { id: string }[] | undefined)?.[0]?.id;
    const group = (await t.http.post('/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'ops' })).body.id as string;
    const cases: [string, RegExp][] = [
      ['no-such-user', /no User "no-such-user"/],
      [inactive, /is not active/],
      [agentId, /is an agent, not a human User/],
      [group, /is a group, not a human User/],
    ];
    if (projectionId) cases.push([projectionId, /not a human User/]);
    for (const [id, why] of cases) {
      await expect(createToken(t.store, `bad-${id.slice(0, 8)}`, ['agents.approve'], id), id).rejects.toMatchObject({
        status: 400,
        scimType: 'invalidValue',
        message: expect.stringMatching(why),
      });
    }
    expect((await t.store.tokens.list()).some((x) => x.name.startsWith('bad-'))).toBe(false);
  });
});

describe('tokens made before expiry existed', () => {
  it('keep working after the upgrade, without an expiry (token list flags them)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ar-token-upgrade-'));
    const path = join(dir, 'old.db');
    try {
      const old = new SqliteStore(loadRegistry(), { path, targetVersion: 5 });
      await old.close();
      const db = new Database(path);
      db.prepare('INSERT INTO tokens (id, name, hash, scopes, user_id, created) VALUES (?, ?, ?, ?, NULL, ?)').run(
        'legacy-id',
        'legacy',
        hashToken('art_legacy-token'),
        JSON.stringify(['scim.read']),
        '2025-01-01T00:00:00.000Z',
      );
      db.close();
      const ar = await buildAgentroster(loadConfig({ AGENTROSTER_DATABASE_URL: `sqlite:${path}`, AGENTROSTER_LOG_LEVEL: 'silent' }), { startJobs: false });
      try {
        const listed = (await ar.store.tokens.list()).find((x) => x.name === 'legacy');
        expect(listed).toMatchObject({ id: 'legacy-id', revoked: false });
        expect(listed?.expiresAt).toBeUndefined();
        const res = await supertest(ar.app).get(`${SCIM}/Users`).set('Authorization', 'Bearer art_legacy-token');
        expect(res.status).toBe(200);
      } finally {
        await ar.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('token expiry on PostgreSQL', () => {
  it('migration 6 keeps older tokens (no expiry) and stores the expiry of new ones', async () => {
    if (!(await postgresAvailable())) return;
    const schema = freshSchema();
    try {
      const old = await PostgresStore.open(loadRegistry(), { url: PG_URL, schema, targetVersion: 5 });
      await old.close();
      const c = new pg.Client({ connectionString: PG_URL });
      await c.connect();
      try {
        // a token row as version 5 wrote it (no expires_at column yet)
        await c.query(`INSERT INTO ${schema}.tokens (id, name, hash, scopes, user_id, created) VALUES ($1, $1, $2, $3, NULL, $4)`, [
          'pg-legacy',
          hashToken('art_pg-legacy'),
          JSON.stringify(['scim.read']),
          '2025-01-01T00:00:00.000Z',
        ]);
      } finally {
        await c.end();
      }
      const store = await PostgresStore.open(loadRegistry(), { url: PG_URL, schema, targetVersion: 6 });
      try {
        expect(await store.schemaVersion()).toBe(6);
        const legacy = await store.tokens.findByHash(hashToken('art_pg-legacy'));
        expect(legacy).toMatchObject({ id: 'pg-legacy', revoked: false });
        expect(legacy?.expiresAt).toBeUndefined();
        const now = new Date('2026-03-01T00:00:00.000Z');
        const created = await createToken(store, 'pg-new', ['scim.read'], { now, ttlMs: parseTtl('12h') });
        expect(created.expiresAt).toBe('2026-03-01T12:00:00.000Z');
        expect((await store.tokens.findByHash(hashToken(created.token)))?.expiresAt).toBe('2026-03-01T12:00:00.000Z');
        expect((await store.tokens.list()).map((x) => [x.name, x.expiresAt ?? null])).toEqual([
          ['pg-legacy', null],
          ['pg-new', '2026-03-01T12:00:00.000Z'],
        ]);
      } finally {
        await store.close();
      }
    } finally {
      await dropSchema(schema);
    }
  });
});
