// The key-encryption key: configuration, development fallback, AES-256-GCM envelope. No message
// ever carries key material.

import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../../src/config/config.js';
import { decryptPrivateKey, devKekPath, encryptPrivateKey, RecordKeyError, resolveRecordKek } from '../../../src/records/kek.js';

const b64 = () => randomBytes(32).toString('base64');
const errorOf = (fn: () => unknown): Error => {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
};

describe('record configuration', () => {
  it('mode: AGENTROSTER_MODE, else production when NODE_ENV=production, else development', () => {
    expect(loadConfig({}).mode).toBe('development');
    expect(loadConfig({ NODE_ENV: 'production' }).mode).toBe('production');
    expect(loadConfig({ NODE_ENV: 'production', AGENTROSTER_MODE: 'development' }).mode).toBe('development');
    expect(loadConfig({ AGENTROSTER_MODE: 'production' }).mode).toBe('production');
  });

  it('record settings from the environment, with defaults', () => {
    const d = loadConfig({});
    expect([d.recordValidityHours, d.recordStatusListValidityMinutes, d.recordRenewalIntervalMinutes, d.recordSigningAlg]).toEqual([24, 60, 15, 'ES256']);
    const c = loadConfig({
      AGENTROSTER_RECORD_VALIDITY_HOURS: '2',
      AGENTROSTER_RECORD_STATUS_LIST_VALIDITY_MINUTES: '10',
      AGENTROSTER_RECORD_RENEWAL_INTERVAL_MINUTES: '5',
      AGENTROSTER_RECORD_SIGNING_ALG: 'EdDSA',
      AGENTROSTER_RECORD_ISSUER: 'https://roster.example.com',
      AGENTROSTER_RECORD_KEY_FILE: '/run/secrets/record-key',
    });
    expect(c).toMatchObject({
      recordValidityHours: 2,
      recordStatusListValidityMinutes: 10,
      recordRenewalIntervalMinutes: 5,
      recordSigningAlg: 'EdDSA',
      recordIssuer: 'https://roster.example.com',
      recordKeyFile: '/run/secrets/record-key',
    });
  });

  it('a malformed AGENTROSTER_RECORD_KEY is rejected without echoing it', () => {
    const secret = randomBytes(16).toString('base64'); // 16 bytes: too short
    const e = errorOf(() => loadConfig({ AGENTROSTER_RECORD_KEY: secret }));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toMatch(/recordKey: must be the base64 encoding of exactly 32 bytes .*\(from AGENTROSTER_RECORD_KEY\)/);
    expect(e.message).not.toContain(secret);
  });
});

describe('resolveRecordKek', () => {
  it('from AGENTROSTER_RECORD_KEY; never serialised', () => {
    const key = b64();
    const kek = resolveRecordKek(loadConfig({ AGENTROSTER_RECORD_KEY: key, AGENTROSTER_MODE: 'production' }));
    expect(kek.key.toString('base64')).toBe(key);
    expect(kek.fingerprint).toMatch(/^[0-9a-f]{16}$/);
    expect(JSON.stringify(kek)).not.toContain(key);
    expect(JSON.stringify({ kek })).not.toContain(kek.key.toString('hex'));
  });

  it('from AGENTROSTER_RECORD_KEY_FILE; unreadable or bad files are clear errors', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ar-kek-'));
    const key = b64();
    writeFileSync(join(dir, 'k'), `${key}\n`);
    expect(resolveRecordKek(loadConfig({ AGENTROSTER_RECORD_KEY_FILE: join(dir, 'k') })).key.toString('base64')).toBe(key);
    expect(errorOf(() => resolveRecordKek(loadConfig({ AGENTROSTER_RECORD_KEY_FILE: join(dir, 'missing') }))).message).toMatch(
      /cannot read the record key file .*missing: ENOENT/,
    );
    writeFileSync(join(dir, 'bad'), 'short');
    expect(errorOf(() => resolveRecordKek(loadConfig({ AGENTROSTER_RECORD_KEY_FILE: join(dir, 'bad') }))).message).toMatch(
      /must hold the base64 encoding of exactly 32 random bytes/,
    );
    expect(() => resolveRecordKek(loadConfig({ AGENTROSTER_RECORD_KEY: key, AGENTROSTER_RECORD_KEY_FILE: join(dir, 'k') }))).toThrow(
      /either AGENTROSTER_RECORD_KEY or AGENTROSTER_RECORD_KEY_FILE/,
    );
  });

  it('production mode without a key refuses with a clear message', () => {
    const e = errorOf(() => resolveRecordKek(loadConfig({ AGENTROSTER_MODE: 'production' })));
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toMatch(/production mode needs the key that encrypts the record signing keys: set AGENTROSTER_RECORD_KEY/);
  });

  it('development: a generated key file next to the SQLite file (0600), reused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ar-kek-'));
    const cfg = loadConfig({ AGENTROSTER_DATABASE_URL: `sqlite:${join(dir, 'db', 'ar.db')}` });
    const path = devKekPath(cfg.databaseUrl)!;
    expect(path).toBe(join(dir, 'db', 'ar.db.record-key'));
    const first = resolveRecordKek(cfg);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, 'utf8').trim()).toBe(first.key.toString('base64'));
    expect(resolveRecordKek(cfg).key.equals(first.key)).toBe(true);
    // in-memory databases get an ephemeral key and no file
    expect(devKekPath('sqlite::memory:')).toBeUndefined();
    expect(resolveRecordKek(loadConfig({ AGENTROSTER_DATABASE_URL: 'sqlite::memory:' })).key).toHaveLength(32);
  });
});

describe('private key envelope', () => {
  const kek = resolveRecordKek(loadConfig({ AGENTROSTER_RECORD_KEY: b64() }));
  const secret = Buffer.from('{"kty":"EC","d":"SECRET-D"}');

  it('round-trips, and the ciphertext shows nothing of the plaintext', () => {
    const enc = encryptPrivateKey(kek, 'kid-1', secret);
    expect(enc).toMatch(/^v1\.[0-9a-f]{16}\.[\w-]+\.[\w-]+\.[\w-]+$/);
    expect(enc).not.toContain('SECRET');
    expect(decryptPrivateKey(kek, 'kid-1', enc).equals(secret)).toBe(true);
    expect(encryptPrivateKey(kek, 'kid-1', secret)).not.toBe(enc); // fresh IV
  });

  it('a wrong KEK, another kid, or altered ciphertext fail clearly', () => {
    const enc = encryptPrivateKey(kek, 'kid-1', secret);
    const wrong = resolveRecordKek(loadConfig({ AGENTROSTER_RECORD_KEY: b64() }));
    const e = errorOf(() => decryptPrivateKey(wrong, 'kid-1', enc));
    expect(e).toBeInstanceOf(RecordKeyError);
    expect(e.message).toMatch(/encrypted with another record key \(fingerprint [0-9a-f]{16}\).*set AGENTROSTER_RECORD_KEY/);
    expect(e.message).not.toContain(wrong.key.toString('base64'));
    expect(() => decryptPrivateKey(kek, 'kid-2', enc)).toThrow(/does not decrypt/);
    const parts = enc.split('.');
    parts[3] = Buffer.from('x'.repeat(20)).toString('base64url');
    expect(() => decryptPrivateKey(kek, 'kid-1', parts.join('.'))).toThrow(/does not decrypt/);
    expect(() => decryptPrivateKey(kek, 'kid-1', 'garbage')).toThrow(/not in a known format/);
  });
});
