// Record signing keys at startup: generated once, encrypted at rest, reused across restarts with
// the same KEK, a clear error with a wrong one or none in production, exactly one key when two
// instances start at once (SQLite file and PostgreSQL), rotation seen by other instances.

import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify } from 'jose';
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { buildAgentroster } from '../../../src/app.js';
import { rotateKeys } from '../../../src/cli/record-commands.js';
import { ConfigError, loadConfig } from '../../../src/config/config.js';
import { resolveRecordKek } from '../../../src/records/kek.js';
import { RecordKeyManager } from '../../../src/records/keys.js';
import { loadRegistry } from '../../../src/scim/load-schemas.js';
import { PostgresStore } from '../../../src/store/postgres/postgres-store.js';
import { openStore } from '../../../src/store/open-store.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import type { Store } from '../../../src/store/types.js';
import { verify } from '../../../src/verify.js';
import { dropSchema, freshSchema, PG_URL, postgresAvailable } from '../../helpers/postgres.js';
import { buildRecordsApp, claimsOf, kidOf, newRecordKey, statusClaimsOf, TestClock } from './helpers.js';

const silent = pino({ level: 'silent' });
const tmpDb = () => `sqlite:${join(mkdtempSync(join(tmpdir(), 'ar-keys-')), 'agentroster.db')}`;

async function rejection(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected a rejection');
}

describe('record signing keys at startup', () => {
  it('a restart with the same key reuses the signing key; old records keep verifying', async () => {
    const db = tmpDb();
    const env = { AGENTROSTER_DATABASE_URL: db, AGENTROSTER_RECORD_KEY: newRecordKey(), AGENTROSTER_BASE_URL: 'https://r.example.com/scim/v2' };
    const a = await buildRecordsApp({ env });
    const agent = await a.createAgent('restart-bot', {}, { lifecycleState: 'active' });
    const before = (await a.attestation(agent.id as string)).recordJws as string;
    const stored = await a.ar.store.keys.list();
    await a.close();

    const b = await buildRecordsApp({ env });
    try {
      expect(await b.ar.store.keys.list()).toEqual(stored);
      await b.patchGov(agent.id as string, 'purpose', 'after restart');
      const after = (await b.attestation(agent.id as string)).recordJws as string;
      expect(kidOf(after)).toBe(kidOf(before));
      const jwks = await b.jwks();
      expect(jwks.keys).toHaveLength(1);
      expect((await verify(before, { jwks, now: b.clock.now() })).claims.version).toBe(1);
      expect((await verify(after, { jwks, now: b.clock.now() })).claims.version).toBe(2);
    } finally {
      await b.close();
    }
  });

  it('a wrong key is a clear startup error that shows no key material', async () => {
    const db = tmpDb();
    const right = newRecordKey();
    const a = await buildRecordsApp({ env: { AGENTROSTER_DATABASE_URL: db, AGENTROSTER_RECORD_KEY: right } });
    await a.close();
    const wrong = newRecordKey();
    const e = await rejection(
      buildAgentroster(loadConfig({ AGENTROSTER_DATABASE_URL: db, AGENTROSTER_RECORD_KEY: wrong, AGENTROSTER_LOG_LEVEL: 'silent' }), {
        logger: silent,
        startJobs: false,
      }),
    );
    expect(e.name).toBe('RecordKeyError');
    expect(e.message).toMatch(
      /^signing key [\w-]{43} was encrypted with another record key \(fingerprint [0-9a-f]{16}\) than the one configured \(fingerprint [0-9a-f]{16}\): set AGENTROSTER_RECORD_KEY to the key this database was set up with$/,
    );
    for (const k of [right, wrong]) {
      expect(e.message).not.toContain(k);
      expect(e.message).not.toContain(Buffer.from(k, 'base64').toString('hex'));
    }
    // the failed start left the database usable and unchanged
    const again = await buildRecordsApp({ env: { AGENTROSTER_DATABASE_URL: db, AGENTROSTER_RECORD_KEY: right } });
    expect(await again.ar.store.keys.list()).toHaveLength(1);
    await again.close();
  });

  it('production mode without a key, or without a stable issuer, refuses to start with a clear message', async () => {
    const base = { AGENTROSTER_DATABASE_URL: tmpDb(), AGENTROSTER_LOG_LEVEL: 'silent' };
    for (const mode of [{ AGENTROSTER_MODE: 'production' }, { NODE_ENV: 'production' }]) {
      const e = await rejection(buildAgentroster(loadConfig({ ...base, ...mode, AGENTROSTER_BASE_URL: 'https://r.example.com/scim/v2' }), { logger: silent }));
      expect(e).toBeInstanceOf(ConfigError);
      expect(e.message).toBe(
        'production mode needs the key that encrypts the record signing keys: set AGENTROSTER_RECORD_KEY to the base64 ' +
          'of 32 random bytes (`openssl rand -base64 32`) or AGENTROSTER_RECORD_KEY_FILE to a file holding it',
      );
    }
    const noIssuer = await rejection(
      buildAgentroster(loadConfig({ ...base, AGENTROSTER_MODE: 'production', AGENTROSTER_RECORD_KEY: newRecordKey() }), { logger: silent }),
    );
    expect(noIssuer.message).toMatch(/production mode needs a stable issuer for signed agent records: set AGENTROSTER_BASE_URL/);
    // nothing was created before refusing
    expect(existsSync(base.AGENTROSTER_DATABASE_URL.slice('sqlite:'.length))).toBe(false);

    const ok = await buildRecordsApp({
      env: { ...base, AGENTROSTER_MODE: 'production', AGENTROSTER_RECORD_KEY: newRecordKey(), AGENTROSTER_RECORD_ISSUER: 'https://r.example.com/' },
    });
    try {
      const a = await ok.createAgent('prod-bot', {}, { lifecycleState: 'active' });
      expect(claimsOf((await ok.attestation(a.id as string)).recordJws as string).iss).toBe('https://r.example.com');
    } finally {
      await ok.close();
    }
  });

  it('development mode without a key: a generated key file next to the database, with a warning, reused', async () => {
    const db = tmpDb();
    const a = await buildRecordsApp({ env: { AGENTROSTER_DATABASE_URL: db } });
    const keyFile = `${db.slice('sqlite:'.length)}.record-key`;
    expect(statSync(keyFile).mode & 0o777).toBe(0o600);
    expect(a.logText()).toMatch(/DEVELOPMENT MODE: record signing keys are encrypted with a generated key/);
    expect(a.logText()).not.toContain(readFileSync(keyFile, 'utf8').trim());
    const kid = (await a.ar.store.keys.list())[0]!.kid;
    await a.close();
    const b = await buildRecordsApp({ env: { AGENTROSTER_DATABASE_URL: db } });
    expect((await b.ar.store.keys.list()).map((k) => k.kid)).toEqual([kid]);
    await b.close();
    // the default issuer in development is http://localhost:PORT
    const c = await buildRecordsApp({ env: { AGENTROSTER_PORT: '9099' } });
    const agent = await c.createAgent('dev-bot', {}, { lifecycleState: 'active' });
    expect(claimsOf((await c.attestation(agent.id as string)).recordJws as string).iss).toBe('http://localhost:9099');
    expect(c.logText()).toMatch(/development issuer/);
    await c.close();
  });

  it('two instances starting at once on one SQLite file create exactly one key', async () => {
    const env = { AGENTROSTER_DATABASE_URL: tmpDb(), AGENTROSTER_RECORD_KEY: newRecordKey(), AGENTROSTER_BASE_URL: 'https://r.example.com/scim/v2' };
    const [a, b] = await Promise.all([buildRecordsApp({ env }), buildRecordsApp({ env })]);
    try {
      const keys = await a.ar.store.keys.list();
      expect(keys).toHaveLength(1);
      const x = await a.createAgent('from-a', {}, { lifecycleState: 'active' });
      const y = await b.createAgent('from-b', {}, { lifecycleState: 'active' });
      expect(kidOf((await a.attestation(x.id as string)).recordJws as string)).toBe(keys[0]!.kid);
      expect(kidOf((await b.attestation(y.id as string)).recordJws as string)).toBe(keys[0]!.kid);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('many key managers racing on one store: one key, every loser loads the winner', async () => {
    const store = new SqliteStore(loadRegistry(), { path: ':memory:' });
    const kek = resolveRecordKek(loadConfig({ AGENTROSTER_RECORD_KEY: newRecordKey() }));
    const clock = new TestClock();
    const managers = Array.from({ length: 6 }, () => new RecordKeyManager({ store, kek, alg: 'ES256', clock, maxRecordValidityMs: 86_400_000 }));
    const keys = await Promise.all(managers.map((m) => m.init()));
    expect(new Set(keys.map((k) => k.kid)).size).toBe(1);
    expect(await store.keys.list()).toHaveLength(1);
    await store.close();
  });

  it('a rotation by another process (the CLI) is picked up by running instances', async () => {
    const store = new SqliteStore(loadRegistry(), { path: ':memory:' });
    const kek = resolveRecordKek(loadConfig({ AGENTROSTER_RECORD_KEY: newRecordKey() }));
    const clock = new TestClock();
    const opts = { store, kek, alg: 'ES256' as const, clock, maxRecordValidityMs: 86_400_000 };
    const server = new RecordKeyManager({ ...opts, reloadMs: 0 });
    const cli = new RecordKeyManager(opts);
    const first = await server.init();
    const r = await cli.rotate();
    expect(r.retired).toBe(first.kid);
    expect((await server.signingKey()).kid).toBe(r.active);
    await store.close();
  });

  it('keys rotate (CLI) checks the configured key first, then rotates', async () => {
    const db = tmpDb();
    const key = newRecordKey();
    const env = { AGENTROSTER_DATABASE_URL: db, AGENTROSTER_RECORD_KEY: key, AGENTROSTER_LOG_LEVEL: 'silent' };
    await (await openStore(loadRegistry(), db)).close(); // the CLI needs an existing database (agentroster migrate)
    expect((await rotateKeys(loadConfig(env))).retired).toBeUndefined(); // first key
    const r = await rotateKeys(loadConfig(env));
    expect(r.retired).toMatch(/^[\w-]{43}$/);
    const wrong = await rejection(rotateKeys(loadConfig({ ...env, AGENTROSTER_RECORD_KEY: newRecordKey() })));
    expect(wrong.message).toMatch(/encrypted with another record key/);
    const app = await buildRecordsApp({ env });
    try {
      const keys = await app.ar.store.keys.list();
      expect(keys.map((k) => k.status)).toEqual(['retired', 'active']);
      expect(keys[1]!.kid).toBe(r.active);
    } finally {
      await app.close();
    }
  });

  it('EdDSA keys when configured', async () => {
    const t = await buildRecordsApp({ env: { AGENTROSTER_RECORD_SIGNING_ALG: 'EdDSA', AGENTROSTER_BASE_URL: 'https://r.example.com/scim/v2' } });
    try {
      const a = await t.createAgent('ed-bot', {}, { lifecycleState: 'active' });
      const jwt = (await t.attestation(a.id as string)).recordJws as string;
      const jwks = await t.jwks();
      expect(jwks.keys[0]).toMatchObject({ kty: 'OKP', crv: 'Ed25519', alg: 'EdDSA', use: 'sig' });
      expect((await verify(jwt, { jwks, issuer: 'https://r.example.com', now: t.clock.now() })).header.alg).toBe('EdDSA');
      const { payload } = await jwtVerify(jwt, createLocalJWKSet(jwks as never), { currentDate: t.clock.now() });
      expect(payload.sub).toBe(a.id);
    } finally {
      await t.close();
    }
  });
});

const pgSchemas: string[] = [];
afterAll(async () => {
  for (const s of pgSchemas) await dropSchema(s);
});

describe.runIf(await postgresAvailable())('record signing keys on PostgreSQL', () => {
  it('records, revocation and renewal work on PostgreSQL', async () => {
    const schema = freshSchema();
    pgSchemas.push(schema);
    const t = await buildRecordsApp({
      env: { AGENTROSTER_DATABASE_URL: PG_URL, AGENTROSTER_DATABASE_SCHEMA: schema, AGENTROSTER_RECORD_KEY: newRecordKey(), AGENTROSTER_BASE_URL: 'https://r.example.com/scim/v2' },
    });
    try {
      const a = await t.createAgent('pg-bot', {}, { lifecycleState: 'active' });
      const b = await t.createAgent('pg-bot-2', {}, { lifecycleState: 'active' });
      const id = a.id as string;
      const first = (await t.attestation(id)).recordJws as string;
      await t.patchGov(id, 'lifecycleState', 'suspended');
      await t.patchGov(b.id as string, 'lifecycleState', 'retired'); // agents retire; they are never deleted (R14)
      const list = await t.statusList();
      const jwks = await t.jwks();
      expect(statusClaimsOf(list).revoked.map((r) => r.state).sort()).toEqual(['retired', 'suspended']);
      await expect(verify(first, { jwks, statusList: list, now: t.clock.now() })).rejects.toMatchObject({ code: 'ERR_RECORD_REVOKED' });
      const c = await t.createAgent('pg-bot-3', {}, { lifecycleState: 'active' });
      t.clock.advance(20 * 3_600_000);
      expect(await t.ar.records.renewal.runOnce()).toEqual({ renewed: 1, skipped: 0, failed: 0 });
      const renewed = await t.attestation(c.id as string);
      expect(renewed.version).toBe(1); // renewal keeps the agent's version
      expect(Date.parse(renewed.validUntil as string)).toBeGreaterThan(t.clock.now().getTime() + 20 * 3_600_000);
    } finally {
      await t.close();
    }
  });

  it('two instances starting at once create exactly one key', async () => {
    const schema = freshSchema();
    pgSchemas.push(schema);
    const registry = loadRegistry();
    const s1 = await PostgresStore.open(registry, { url: PG_URL, schema });
    const s2 = await PostgresStore.open(registry, { url: PG_URL, schema });
    const stores: Store[] = [s1, s2];
    try {
      const kek = resolveRecordKek(loadConfig({ AGENTROSTER_RECORD_KEY: newRecordKey() }));
      const clock = new TestClock();
      const managers = [s1, s2, s1, s2].map((store) => new RecordKeyManager({ store, kek, alg: 'ES256', clock, maxRecordValidityMs: 86_400_000 }));
      const keys = await Promise.all(managers.map((m) => m.init()));
      expect(new Set(keys.map((k) => k.kid)).size).toBe(1);
      expect(await s1.keys.list()).toHaveLength(1);
      const r = await managers[0]!.rotate();
      expect((await s2.keys.list()).map((k) => [k.kid, k.status])).toEqual([
        [keys[0]!.kid, 'retired'],
        [r.active, 'active'],
      ]);
    } finally {
      for (const s of stores) await s.close();
    }
  });
});
