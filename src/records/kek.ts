// The key-encryption key (KEK) that protects record signing keys at rest: AES-256-GCM, from
// configuration (AGENTROSTER_RECORD_KEY or AGENTROSTER_RECORD_KEY_FILE). Production mode without
// one refuses to start. Development mode without one generates a random KEK and keeps it in a
// file next to the SQLite database (0600), with a loud warning: a restart reuses it, and nothing
// secret is hard-coded in the source. No message here ever contains key material.

import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import { type Config, ConfigError } from '../config/config.js';
import { sqlitePathOf } from '../store/open-store.js';

export class RecordKeyError extends Error {
  override name = 'RecordKeyError';
}

export interface RecordKek {
  /** 32 bytes; never logged, never serialised */
  readonly key: Buffer;
  /** a one-way fingerprint (SHA-256 of a domain-separated input, 16 hex digits): safe to show */
  readonly fingerprint: string;
  /** where it came from, for the startup log */
  readonly source: string;
}

const VERSION = 'v1';

export function kekFingerprint(key: Buffer): string {
  return createHash('sha256').update('agentroster record KEK fingerprint\0').update(key).digest('hex').slice(0, 16);
}

function makeKek(key: Buffer, source: string): RecordKek {
  const kek = { key, fingerprint: kekFingerprint(key), source };
  // Keep the key out of JSON.stringify / pino serialisation and util.inspect.
  Object.defineProperty(kek, 'key', { enumerable: false });
  Object.defineProperty(kek, 'toJSON', { enumerable: false, value: () => ({ fingerprint: kek.fingerprint, source }) });
  return kek;
}

function decodeKey(text: string, where: string): Buffer {
  const t = text.trim();
  const buf = /^[A-Za-z0-9+/_-]+={0,2}$/.test(t) ? Buffer.from(t, 'base64') : Buffer.alloc(0);
  if (buf.length !== 32) {
    throw new ConfigError(`${where} must hold the base64 encoding of exactly 32 random bytes (e.g. \`openssl rand -base64 32\`)`);
  }
  return buf;
}

/** Where development mode keeps its generated KEK: next to the SQLite file, or ./data/ otherwise. */
export function devKekPath(databaseUrl: string): string | undefined {
  const path = sqlitePathOf(databaseUrl);
  if (path === ':memory:') return undefined;
  return path !== undefined ? `${resolve(path)}.record-key` : resolve('data', 'agentroster.record-key');
}

/** The KEK from configuration; see the module comment for the development fallback. */
export function resolveRecordKek(config: Config, logger?: Logger): RecordKek {
  if (config.recordKey !== undefined && config.recordKeyFile !== undefined) {
    throw new ConfigError('set either AGENTROSTER_RECORD_KEY or AGENTROSTER_RECORD_KEY_FILE, not both');
  }
  if (config.recordKey !== undefined) return makeKek(decodeKey(config.recordKey, 'AGENTROSTER_RECORD_KEY'), 'AGENTROSTER_RECORD_KEY');
  if (config.recordKeyFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(config.recordKeyFile, 'utf8');
    } catch (e) {
      throw new ConfigError(`cannot read the record key file ${config.recordKeyFile}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    return makeKek(decodeKey(text, `the record key file ${config.recordKeyFile}`), `file ${config.recordKeyFile}`);
  }
  if (config.mode === 'production') {
    throw new ConfigError(
      'production mode needs the key that encrypts the record signing keys: set AGENTROSTER_RECORD_KEY to the base64 ' +
        'of 32 random bytes (`openssl rand -base64 32`) or AGENTROSTER_RECORD_KEY_FILE to a file holding it',
    );
  }
  const path = devKekPath(config.databaseUrl);
  if (path === undefined) {
    // An in-memory database loses its signing keys on exit anyway: an ephemeral KEK matches it.
    logger?.debug('record signing keys encrypted with an ephemeral key (in-memory database)');
    return makeKek(randomBytes(32), 'ephemeral (in-memory database)');
  }
  let key: Buffer;
  let created = false;
  try {
    key = decodeKey(readFileSync(path, 'utf8'), `the development record key file ${path}`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    key = randomBytes(32);
    mkdirSync(dirname(path), { recursive: true });
    try {
      writeFileSync(path, `${key.toString('base64')}\n`, { mode: 0o600, flag: 'wx' });
      chmodSync(path, 0o600);
      created = true;
    } catch (w) {
      // Another instance created it first: use that one.
      if ((w as NodeJS.ErrnoException).code !== 'EEXIST') throw w;
      key = decodeKey(readFileSync(path, 'utf8'), `the development record key file ${path}`);
    }
  }
  logger?.warn(
    { recordKeyFile: path, created },
    'DEVELOPMENT MODE: record signing keys are encrypted with a generated key stored in a file next to the database. ' +
      'For production set AGENTROSTER_MODE=production and AGENTROSTER_RECORD_KEY (or AGENTROSTER_RECORD_KEY_FILE).',
  );
  return makeKek(key, `development key file ${path}`);
}

const aad = (kid: string) => Buffer.from(`agentroster record signing key ${VERSION} ${kid}`, 'utf8');

/** "v1.<kek fingerprint>.<iv>.<ciphertext>.<tag>" (base64url); the kid is authenticated data. */
export function encryptPrivateKey(kek: RecordKek, kid: string, plaintext: Buffer): string {
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', kek.key, iv);
  c.setAAD(aad(kid));
  const ct = Buffer.concat([c.update(plaintext), c.final()]);
  return [VERSION, kek.fingerprint, iv.toString('base64url'), ct.toString('base64url'), c.getAuthTag().toString('base64url')].join('.');
}

export function decryptPrivateKey(kek: RecordKek, kid: string, enc: string): Buffer {
  const parts = enc.split('.');
  const [version, fingerprint, iv, ct, tag] = parts;
  if (parts.length !== 5 || version !== VERSION || !fingerprint || !iv || !ct || !tag) {
    throw new RecordKeyError(`signing key ${kid}: the stored private key is not in a known format`);
  }
  if (fingerprint !== kek.fingerprint) {
    throw new RecordKeyError(
      `signing key ${kid} was encrypted with another record key (fingerprint ${fingerprint}) than the one configured ` +
        `(fingerprint ${kek.fingerprint}): set AGENTROSTER_RECORD_KEY to the key this database was set up with`,
    );
  }
  try {
    const d = createDecipheriv('aes-256-gcm', kek.key, Buffer.from(iv, 'base64url'));
    d.setAAD(aad(kid));
    d.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([d.update(Buffer.from(ct, 'base64url')), d.final()]);
  } catch {
    throw new RecordKeyError(`signing key ${kid}: the stored private key does not decrypt (altered in the database?)`);
  }
}
