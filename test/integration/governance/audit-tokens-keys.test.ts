// Issue 11, "separation of duties that holds": bearer tokens and record-signing keys are audited.
// Creating a token (CLI, bootstrap), revoking it, its first refusal as expired, and creating or
// rotating a signing key each write exactly one audit event, in the same transaction as the change,
// through the same hash chain as resource changes; never the token, its hash or private key material.
// Both stores; the PostgreSQL half skips with a message when no server is reachable.

import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NextFunction, Request, Response } from 'express';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { rotateKeys } from '../../../src/cli/record-commands.js';
import { runAuditExport } from '../../../src/cli/governance-commands.js';
import { loadConfig, type Config } from '../../../src/config/config.js';
import { authenticate } from '../../../src/http/auth.js';
import { CLI_ACTOR, createToken, ensureBootstrapToken, hashToken, revokeToken, SYSTEM_ACTOR } from '../../../src/http/tokens.js';
import { resolveRecordKek } from '../../../src/records/kek.js';
import { RecordKeyManager } from '../../../src/records/keys.js';
import { verifyAuditChain } from '../../../src/resources/governance/audit-verify.js';
import { loadRegistry } from '../../../src/scim/load-schemas.js';
import { PostgresStore } from '../../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import type { AuditEvent, Store } from '../../../src/store/types.js';
import { dropSchema, freshSchema, PG_URL, postgresAvailable } from '../../helpers/postgres.js';
import { buildTestApp, type TestApp } from '../../helpers/test-app.js';
import { newRecordKey, TestClock } from '../records/helpers.js';

interface Harness {
  store: Store;
  /** the configuration of a CLI process on the same database */
  config: Config;
  /** opens a second store on the same database (another instance) */
  another(): Promise<Store>;
  close(): Promise<void>;
}

const RECORD_KEY = newRecordKey();

async function sqliteHarness(): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'ar-audit-tokens-'));
  const path = join(dir, 'db.sqlite');
  const store = new SqliteStore(loadRegistry(), { path, readWorkers: 0 });
  const others: Store[] = [];
  return {
    store,
    config: loadConfig({ AGENTROSTER_DATABASE_URL: `sqlite:${path}`, AGENTROSTER_RECORD_KEY: RECORD_KEY, AGENTROSTER_LOG_LEVEL: 'silent' }),
    another: async () => {
      const s = new SqliteStore(loadRegistry(), { path, readWorkers: 0 });
      others.push(s);
      return s;
    },
    close: async () => {
      for (const s of others) await s.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function postgresHarness(): Promise<Harness> {
  const schema = freshSchema();
  const store = await PostgresStore.open(loadRegistry(), { url: PG_URL, schema });
  const others: Store[] = [];
  return {
    store,
    config: loadConfig({
      AGENTROSTER_DATABASE_URL: PG_URL,
      AGENTROSTER_DATABASE_SCHEMA: schema,
      AGENTROSTER_RECORD_KEY: RECORD_KEY,
      AGENTROSTER_LOG_LEVEL: 'silent',
    }),
    another: async () => {
      const s = await PostgresStore.open(loadRegistry(), { url: PG_URL, schema });
      others.push(s);
      return s;
    },
    close: async () => {
      for (const s of others) await s.close();
      await store.close();
      await dropSchema(schema);
    },
  };
}

async function allEvents(store: Store): Promise<AuditEvent[]> {
  const out: AuditEvent[] = [];
  for (;;) {
    const page = await store.auditEvents(out.at(-1)?.seq ?? 0, 1000);
    out.push(...page);
    if (page.length < 1000) return out;
  }
}

/** Runs `fn` and returns the audit events it wrote. */
async function eventsOf(store: Store, fn: () => Promise<unknown>): Promise<AuditEvent[]> {
  const before = (await allEvents(store)).at(-1)?.seq ?? 0;
  await fn();
  return store.auditEvents(before, 100_000);
}

function expectNoTokenSecret(events: AuditEvent[], token: string): void {
  const text = JSON.stringify(events);
  expect(text).not.toContain(token);
  expect(text).not.toContain(hashToken(token));
  expect(text).not.toContain(token.slice(4)); // without the art_ prefix
}

async function expectChainIntact(store: Store): Promise<void> {
  const v = await verifyAuditChain(store);
  expect(v).toMatchObject({ ok: true });
}

/** Presents a bearer token to the authentication middleware; returns the error it passed on, if any. */
async function present(auth: ReturnType<typeof authenticate>, token: string): Promise<unknown> {
  let passed: unknown = 'not called';
  const req = { headers: { authorization: `Bearer ${token}` }, requestId: `req-${randomUUID()}` } as unknown as Request;
  const next: NextFunction = (e?: unknown) => {
    passed = e;
  };
  await auth(req, {} as Response, next);
  return passed;
}

const STORES: [string, () => Promise<Harness | undefined>][] = [
  ['SQLite', sqliteHarness],
  ['PostgreSQL', async () => ((await postgresAvailable()) ? postgresHarness() : undefined)],
];

describe.each(STORES)('token and signing-key audit events: %s', (_name, open) => {
  let h: Harness | undefined;
  beforeEach(async () => {
    h = await open();
  });
  afterEach(async () => {
    await h?.close();
  });

  it('token create (CLI) writes one event: actor cli, name, scopes, bound User, expiry; no secret', async () => {
    if (!h) return;
    const store = h.store;
    const userId = randomUUID();
    await store.commit({
      writes: [{ kind: 'insert', type: 'User', id: userId, data: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'ada', active: true }, at: new Date().toISOString() }],
      audit: [{ action: 'create', resourceType: 'User', resourceId: userId, actor: { client: 'test' }, at: new Date().toISOString() }],
      outbox: [],
    });
    let created: Awaited<ReturnType<typeof createToken>> | undefined;
    const events = await eventsOf(store, async () => {
      created = await createToken(store, 'ci-deploy', ['scim.read', 'scim.write'], { actor: CLI_ACTOR, userId, ttlMs: 86_400_000 });
    });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      action: 'create',
      resourceType: 'Token',
      resourceId: created!.id,
      actor: { client: 'cli' },
      changes: {
        name: { after: 'ci-deploy' },
        scopes: { after: ['scim.read', 'scim.write'] },
        userId: { after: userId },
        expiresAt: { after: created!.expiresAt },
      },
    });
    expect(events[0]!.actor).toEqual({ client: 'cli' }); // no OS user, no token id
    expectNoTokenSecret(events, created!.token);
    await expectChainIntact(store);
  });

  it('the bootstrap token at first start: actor system; a never-expiring token says so (expiresAt null)', async () => {
    if (!h) return;
    const store = h.store;
    let boot: Awaited<ReturnType<typeof ensureBootstrapToken>>;
    const events = await eventsOf(store, async () => {
      boot = await ensureBootstrapToken(store);
    });
    expect(boot!).toBeDefined();
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ action: 'create', resourceType: 'Token', resourceId: boot!.id, actor: SYSTEM_ACTOR });
    expect(events[0]!.changes).toMatchObject({ name: { after: 'bootstrap-admin' }, scopes: { after: ['admin'] } });
    expectNoTokenSecret(events, boot!.token);
    // not first start any more: no token, no event
    expect(await eventsOf(store, async () => expect(await ensureBootstrapToken(store)).toBeUndefined())).toEqual([]);
    const forever = await eventsOf(store, () => createToken(store, 'forever', ['scim.read'], { actor: CLI_ACTOR, ttlMs: null }));
    expect(forever[0]!.changes).toMatchObject({ expiresAt: { after: null } });
    await expectChainIntact(store);
  });

  it('a refused create (name in use) writes nothing', async () => {
    if (!h) return;
    const store = h.store;
    await createToken(store, 'dup', ['admin'], { actor: CLI_ACTOR });
    const events = await eventsOf(store, () =>
      expect(createToken(store, 'dup', ['admin'], { actor: CLI_ACTOR })).rejects.toMatchObject({ status: 409 }),
    );
    expect(events).toEqual([]);
  });

  it('token revoke writes one event (by name or id); revoking again or an unknown name writes nothing', async () => {
    if (!h) return;
    const store = h.store;
    const created = await createToken(store, 'to-revoke', ['scim.write'], { actor: CLI_ACTOR });
    let ok: boolean | undefined;
    const events = await eventsOf(store, async () => {
      ok = await revokeToken(store, 'to-revoke', CLI_ACTOR);
    });
    expect(ok).toBe(true);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      action: 'revoke',
      resourceType: 'Token',
      resourceId: created.id,
      actor: { client: 'cli' },
      changes: { revoked: { before: false, after: true }, name: { before: 'to-revoke', after: 'to-revoke' }, scopes: { after: ['scim.write'] } },
    });
    expectNoTokenSecret(events, created.token);
    expect((await store.tokens.findByHash(hashToken(created.token)))!.revoked).toBe(true);

    // already revoked: still found, no second event
    expect(await eventsOf(store, async () => expect(await revokeToken(store, created.id, CLI_ACTOR)).toBe(true))).toEqual([]);
    // unknown: refused, nothing written
    expect(await eventsOf(store, async () => expect(await revokeToken(store, 'no-such-token', CLI_ACTOR)).toBe(false))).toEqual([]);
    await expectChainIntact(store);
  });

  it('an expired token writes one expire event the first time it is refused, not one per request, also across instances', async () => {
    if (!h) return;
    const store = h.store;
    const created = await createToken(store, 'short-lived', ['scim.read'], { actor: CLI_ACTOR, ttlMs: 60_000, now: new Date(Date.now() - 120_000) });
    const other = await h.another();
    const auths = [authenticate(store), authenticate(other)];
    const events = await eventsOf(store, async () => {
      for (let i = 0; i < 40; i++) {
        const err = await present(auths[i % 2]!, created.token);
        expect(err).toMatchObject({ status: 401, message: expect.stringMatching(/expired at/) });
      }
      // a fresh process (empty caches) still writes no second event
      expect(await present(authenticate(store), created.token)).toMatchObject({ status: 401 });
    });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      action: 'expire',
      resourceType: 'Token',
      resourceId: created.id,
      actor: { client: 'system' },
      requestId: expect.stringMatching(/^req-/),
      changes: { name: { before: 'short-lived', after: 'short-lived' }, expiresAt: { after: created.expiresAt } },
    });
    expectNoTokenSecret(events, created.token);
    expect((await store.tokens.findByHash(hashToken(created.token)))!.expiryRecordedAt).toBe(events[0]!.at);
    // a token that is still valid writes nothing when used
    const valid = await createToken(store, 'valid', ['scim.read'], { actor: CLI_ACTOR });
    expect(await eventsOf(store, async () => expect(await present(auths[0]!, valid.token)).toBeUndefined())).toEqual([]);
    await expectChainIntact(store);
  });

  it('signing keys: the first key (server start: system) and each rotation (CLI) write one event, kid and alg only', async () => {
    if (!h) return;
    const store = h.store;
    const kek = resolveRecordKek(h.config);
    const clock = new TestClock();
    const server = new RecordKeyManager({ store, kek, alg: 'ES256', clock, maxRecordValidityMs: 86_400_000 });
    const created = await eventsOf(store, () => server.init());
    const first = (await store.keys.list())[0]!;
    expect(created).toHaveLength(1);
    expect(created[0]).toMatchObject({
      action: 'create',
      resourceType: 'SigningKey',
      resourceId: first.kid,
      actor: { client: 'system' },
      changes: { kid: { after: first.kid }, alg: { after: 'ES256' } },
    });
    // a second instance starting finds the key: no event
    expect(await eventsOf(store, () => new RecordKeyManager({ store, kek, alg: 'ES256', clock, maxRecordValidityMs: 86_400_000 }).init())).toEqual([]);

    let r: Awaited<ReturnType<typeof rotateKeys>> | undefined;
    const rotated = await eventsOf(store, async () => {
      r = await rotateKeys(h!.config); // agentroster keys rotate: its own store, the same database
    });
    expect(r!.retired).toBe(first.kid);
    expect(rotated).toHaveLength(1);
    expect(rotated[0]).toMatchObject({
      action: 'rotate',
      resourceType: 'SigningKey',
      resourceId: r!.active,
      actor: { client: 'cli' },
      changes: {
        kid: { after: r!.active },
        alg: { after: 'ES256' },
        activeKid: { before: first.kid, after: r!.active },
        retiredKid: { after: first.kid },
        retiredVerifyUntil: { after: r!.verifyUntil },
      },
    });
    expect(rotated[0]!.actor).toEqual({ client: 'cli' });
    // no key material: not the encrypted private keys, not the public key's coordinates
    const text = JSON.stringify([...created, ...rotated]);
    for (const k of await store.keys.list()) {
      expect(text).not.toContain(k.privateKeyEnc);
      for (const m of ['x', 'y']) expect(text).not.toContain(k.publicJwk[m] as string); // the kid is the key's public name
    }
    expect(text).not.toMatch(/"d"|privateKey|publicJwk/);
    await expectChainIntact(store);
  });

  it('audit verify and audit export cover the new events next to resource events', async () => {
    if (!h) return;
    const store = h.store;
    const t1 = await createToken(store, 'exported', ['admin'], { actor: CLI_ACTOR });
    const id = randomUUID();
    await store.commit({
      writes: [{ kind: 'insert', type: 'User', id, data: { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'between' }, at: new Date().toISOString() }],
      audit: [{ action: 'create', resourceType: 'User', resourceId: id, actor: { client: 'test' }, at: new Date().toISOString() }],
      outbox: [],
    });
    await revokeToken(store, 'exported', CLI_ACTOR);
    const v = await verifyAuditChain(store);
    expect(v).toMatchObject({ ok: true, count: 3 });
    const lines: string[] = [];
    expect(await runAuditExport(store, { write: (l) => void lines.push(l) })).toBe(3);
    const exported = lines.map((l) => JSON.parse(l) as AuditEvent);
    expect(exported.map((e) => [e.resourceType, e.action])).toEqual([
      ['Token', 'create'],
      ['User', 'create'],
      ['Token', 'revoke'],
    ]);
    expect(exported.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(exported[1]!.prevHash).toBe(exported[0]!.hash);
    expect(exported[2]!.prevHash).toBe(exported[1]!.hash);
    expectNoTokenSecret(exported, t1.token);
  });
});

describe('GET /AuditEvents lists token and signing-key events for an admin', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('filters by resourceType Token and SigningKey', async () => {
    const created = await createToken(t.store, 'listed', ['scim.read'], { actor: CLI_ACTOR });
    await revokeToken(t.store, 'listed', CLI_ACTOR);
    const q = (f: string) => encodeURIComponent(f);
    const tokens = await t.http.get(`/AuditEvents?filter=${q(`resourceType eq "Token" and resourceId eq "${created.id}"`)}`);
    expect(tokens.status).toBe(200);
    expect(tokens.body.Resources.map((e: { action: string; actor: { client: string } }) => [e.action, e.actor.client])).toEqual([
      ['create', 'cli'],
      ['revoke', 'cli'],
    ]);
    expect(tokens.body.Resources[0].changes).toContainEqual({ attribute: 'name', after: '"listed"' });
    expect(JSON.stringify(tokens.body)).not.toContain(created.token);
    expect(JSON.stringify(tokens.body)).not.toContain(hashToken(created.token));
    const keys = await t.http.get(`/AuditEvents?filter=${q('resourceType eq "SigningKey"')}`);
    expect(keys.status).toBe(200);
    expect(keys.body.Resources.map((e: { action: string }) => e.action)).toEqual(['create']);
    expect(keys.body.Resources[0].actor).toEqual({ client: 'system' });
  });
});
