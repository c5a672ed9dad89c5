// Bearer tokens and scopes (design.md: scim.read, scim.write, scim.revoke, agents.approve, admin):
// 401 for a missing, wrong or revoked token, 403 for a missing scope, with SCIM error bodies; tokens
// are stored hashed.

import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import supertest from 'supertest';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildAgentroster } from '../../../src/app.js';
import { loadConfig } from '../../../src/config/config.js';
import { CLI_ACTOR, createToken, hashToken, revokeToken } from '../../../src/http/tokens.js';
import { loadRegistry } from '../../../src/scim/load-schemas.js';
import { openStore } from '../../../src/store/open-store.js';
import { buildTestApp, captureState, expectUnchanged, patchBody, SCIM, SCIM_CT, scimError, type TestApp, USER_URN } from '../../helpers/test-app.js';
import { createUser } from '../../helpers/resources.js';

describe('authentication and scopes', () => {
  let t: TestApp;
  let userId: string;
  beforeEach(async () => {
    t = await buildTestApp();
    userId = (await createUser(t, 'auth-user')).id as string;
  });
  afterEach(() => t.close());

  const requests = (id: () => string) =>
    [
      ['GET /ServiceProviderConfig', (tok: string) => t.http.get('/ServiceProviderConfig', tok)],
      ['GET /Schemas', (tok: string) => t.http.get('/Schemas', tok)],
      ['GET /Users', (tok: string) => t.http.get('/Users', tok)],
      ['GET /Users/{id}', (tok: string) => t.http.get(`/Users/${id()}`, tok)],
      ['POST /Users/.search', (tok: string) => t.http.post('/Users/.search', {}, tok)],
      ['POST /.search', (tok: string) => t.http.post('/.search', {}, tok)],
      ['POST /Users', (tok: string) => t.http.post('/Users', { schemas: [USER_URN], userName: 'new-user' }, tok)],
      ['PUT /Users/{id}', (tok: string) => t.http.put(`/Users/${id()}`, { schemas: [USER_URN], userName: 'auth-user', title: 'x' }, tok)],
      ['PATCH /Users/{id}', (tok: string) => t.http.patch(`/Users/${id()}`, patchBody({ op: 'add', path: 'title', value: 'y' }), tok)],
      ['DELETE /Users/{id}', (tok: string) => t.http.delete(`/Users/${id()}`, tok)],
      ['POST /Bulk', (tok: string) => t.http.post('/Bulk', { schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'], Operations: [] }, tok)],
    ] as const;
  const writes = new Set(['POST /Users', 'PUT /Users/{id}', 'PATCH /Users/{id}', 'DELETE /Users/{id}']);

  it.each(requests(() => userId).map(([name]) => [name]))('%s without a token → 401 with WWW-Authenticate and a SCIM body', async (name) => {
    const send = requests(() => userId).find(([n]) => n === name)![1];
    const before = await captureState(t, `/Users/${userId}`);
    const res = await send('');
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toMatch(SCIM_CT);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer realm="agentroster"/);
    expect(res.body).toEqual(scimError(401, undefined, /bearer token/i));
    await expectUnchanged(t, before);
  });

  it.each([
    ['a wrong token', 'art_not-a-real-token'],
    ['the hash of the admin token', ''],
    ['a malformed header', 'Basic dXNlcjpwYXNz'],
  ])('%s → 401, nothing changes', async (_name, value) => {
    const header = value === '' ? `Bearer ${hashToken(t.adminToken)}` : value.startsWith('Basic') ? value : `Bearer ${value}`;
    const before = await captureState(t, `/Users/${userId}`);
    for (const res of [
      await supertest(t.app).get(`${SCIM}/Users`).set('Authorization', header),
      await supertest(t.app).delete(`${SCIM}/Users/${userId}`).set('Authorization', header),
    ]) {
      expect(res.status).toBe(401);
      expect(res.headers['content-type']).toMatch(SCIM_CT);
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
      expect(res.body).toEqual(scimError(401));
    }
    await expectUnchanged(t, before);
  });

  it('a revoked token → 401, nothing changes', async () => {
    const token = await t.tokenWith(['admin'], 'to-revoke');
    expect(await revokeToken(t.store, 'to-revoke', CLI_ACTOR)).toBe(true);
    const before = await captureState(t, `/Users/${userId}`);
    for (const res of [await t.http.get('/Users', token), await t.http.delete(`/Users/${userId}`, token)]) {
      expect(res.status).toBe(401);
      expect(res.headers['content-type']).toMatch(SCIM_CT);
      expect(res.body).toEqual(scimError(401, undefined, /not valid/));
    }
    await expectUnchanged(t, before);
  });

  it.each(requests(() => userId).map(([name]) => [name]))('scim.read token: %s → reads allowed, writes 403', async (name) => {
    const reader = await t.tokenWith(['scim.read']);
    const send = requests(() => userId).find(([n]) => n === name)![1];
    const before = await captureState(t, `/Users/${userId}`);
    const res = await send(reader);
    if (writes.has(name)) {
      expect(res.status).toBe(403);
      expect(res.headers['content-type']).toMatch(SCIM_CT);
      expect(res.body).toEqual(scimError(403, undefined, /scim\.write/));
      await expectUnchanged(t, before);
    } else {
      expect(res.status).toBe(200);
    }
  });

  it.each([
    ['scim.write', ['scim.write']],
    ['admin', ['admin']],
  ] as const)('%s token may read and write', async (_name, scopes) => {
    const token = await t.tokenWith([...scopes]);
    for (const [name, send] of requests(() => userId)) {
      const res = await send(token);
      expect(res.status, name).toBeLessThan(300);
    }
  });

  it('a token with only agents.approve can read but not write', async () => {
    const token = await t.tokenWith(['agents.approve']);
    expect((await t.http.get('/Users', token)).status).toBe(200);
    expect((await t.http.post('/Users', { schemas: [USER_URN], userName: 'x' }, token)).status).toBe(403);
  });

  it('the token name is the audit actor', async () => {
    const token = await t.tokenWith(['scim.write'], 'ci-pipeline');
    await t.http.post('/Users', { schemas: [USER_URN], userName: 'by-ci' }, token);
    const events = await t.store.auditEvents();
    expect(events.at(-1)!.actor).toMatchObject({ client: 'ci-pipeline' });
  });
});

describe('token creation (agentroster token create)', () => {
  it('stores only a hash: the raw token appears nowhere in the tokens table or the database file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentroster-tokens-'));
    try {
      const store = await openStore(loadRegistry(), `sqlite:${join(dir, 'db.sqlite')}`);
      const created = await createToken(store, 'ci', ['scim.read', 'scim.write']);
      expect(created.token).toMatch(/^art_[A-Za-z0-9_-]{43}$/);
      const listed = await store.tokens.list();
      expect(listed).toEqual([
        {
          id: created.id,
          name: 'ci',
          hash: hashToken(created.token),
          scopes: ['scim.read', 'scim.write'],
          created: expect.any(String),
          expiresAt: created.expiresAt,
          revoked: false,
        },
      ]);
      // the SQLite store exposes its database for tests and tools
      const raw = (store as unknown as { raw?: () => { prepare(sql: string): { all(): unknown[] } } }).raw;
      expect(raw).toBeTypeOf('function');
      const rows = JSON.stringify(raw!.call(store).prepare('SELECT * FROM tokens').all());
      expect(rows).not.toContain(created.token);
      expect(rows).not.toContain(created.token.slice(4));
      expect(rows).toContain(hashToken(created.token));
      await store.close();
      for (const f of readdirSync(dir)) {
        const bytes = readFileSync(join(dir, f)).toString('latin1');
        expect(bytes, f).not.toContain(created.token.slice(4));
      }
      // and the token works against an app on that database
      const reopened = await openStore(loadRegistry(), `sqlite:${join(dir, 'db.sqlite')}`);
      expect((await reopened.tokens.findByHash(hashToken(created.token)))?.name).toBe('ci');
      await reopened.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('`agentroster token create` prints the token once; it authenticates, and the database holds only its hash', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'agentroster-cli-'));
    try {
      const db = `sqlite:${join(dir, 'db.sqlite')}`;
      const cli = new URL('../../../src/cli/main.ts', import.meta.url).pathname;
      // token create needs an existing database (only serve and migrate create one)
      execFileSync(process.execPath, ['--import', 'tsx', cli, 'migrate', '--database-url', db], { env: { ...process.env, AGENTROSTER_DATABASE_URL: '' }, stdio: 'ignore' });
      const out = execFileSync(process.execPath, ['--import', 'tsx', cli, 'token', 'create', '--name', 'okta-provisioning', '--scopes', 'scim.read', '--database-url', db], {
        encoding: 'utf8',
        env: { ...process.env, AGENTROSTER_DATABASE_URL: '' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const token = out.trim();
      expect(token).toMatch(/^art_[A-Za-z0-9_-]{43}$/);
      for (const f of readdirSync(dir)) expect(readFileSync(join(dir, f)).toString('latin1'), f).not.toContain(token.slice(4));
      const ar = await buildAgentroster(loadConfig({ AGENTROSTER_DATABASE_URL: db, AGENTROSTER_LOG_LEVEL: 'silent' }));
      try {
        const ok = await supertest(ar.app).get(`${SCIM}/Users`).set('Authorization', `Bearer ${token}`);
        expect(ok.status).toBe(200);
        const denied = await supertest(ar.app)
          .post(`${SCIM}/Users`)
          .set('Authorization', `Bearer ${token}`)
          .set('Content-Type', 'application/scim+json')
          .send(JSON.stringify({ schemas: [USER_URN], userName: 'x' }));
        expect(denied.status).toBe(403);
      } finally {
        await ar.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('rejects unknown scopes and bad names, and a duplicate name → uniqueness', async () => {
    const { parseScopes } = await import('../../../src/http/tokens.js');
    expect(() => parseScopes('scim.read,root')).toThrow(/root/);
    expect(parseScopes('scim.read, scim.write')).toEqual(['scim.read', 'scim.write']);
    const store = await openStore(loadRegistry(), 'sqlite::memory:');
    try {
      await expect(createToken(store, 'bad name!', ['admin'])).rejects.toThrow(/token name/);
      await createToken(store, 'dup', ['admin']);
      await expect(createToken(store, 'dup', ['admin'])).rejects.toMatchObject({ status: 409, scimType: 'uniqueness' });
    } finally {
      await store.close();
    }
  });
});
