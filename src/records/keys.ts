// Record signing keys: one active key signs; retired keys stay published (and verifying) until
// every record they signed has expired. Generated on first start; stored in the database with the
// private key encrypted under the KEK (kek.ts). Two instances starting at once create exactly one
// key: the store's insertActive lets one win, the other loads the winner's key.

import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { Logger } from 'pino';
import type { Clock } from '../resources/context.js';
import type { Actor, AuditEventInput, SigningKeyRecord, Store } from '../store/types.js';
import { decryptPrivateKey, encryptPrivateKey, type RecordKek, RecordKeyError } from './kek.js';

export type RecordSigningAlg = 'ES256' | 'EdDSA';

export interface SigningKey {
  kid: string;
  alg: RecordSigningAlg;
  /** non-extractable private key */
  key: CryptoKey;
}

/** What `keys list` shows: never the private key. */
export interface KeyInfo {
  kid: string;
  alg: string;
  status: 'active' | 'retired';
  createdAt: string;
  retiredAt?: string;
  verifyUntil?: string;
  /** in the JWKS now */
  published: boolean;
}

export interface KeyManagerOptions {
  store: Store;
  kek: RecordKek;
  alg: RecordSigningAlg;
  clock: Clock;
  /** the longest validity of any record: a retired key is published this long after rotation (+ grace) */
  maxRecordValidityMs: number;
  logger?: Logger;
  /** how often the active key is re-read from the database (a rotation by another process) */
  reloadMs?: number;
  /** who creates and rotates keys, for the audit log; default { client: 'system' } (the CLI: { client: 'cli' }) */
  actor?: Actor;
}

/** resourceType of the audit events of record-signing keys (resourceId: the kid). */
export const SIGNING_KEY_AUDIT_TYPE = 'SigningKey';

/** The first key (no key was active): the public kid and alg only, never key material. */
export function keyCreatedEvent(k: { kid: string; alg: string }, actor: Actor, at: string): AuditEventInput {
  return {
    action: 'create',
    resourceType: SIGNING_KEY_AUDIT_TYPE,
    resourceId: k.kid,
    actor,
    changes: { kid: { after: k.kid }, alg: { after: k.alg }, status: { after: 'active' } },
    at,
  };
}

/** A rotation: `next` signs from now on; `retired` (if any) verifies until `verifyUntil`. */
export function keyRotatedEvent(
  next: { kid: string; alg: string },
  retired: { kid: string; alg: string } | undefined,
  verifyUntil: string,
  actor: Actor,
  at: string,
): AuditEventInput {
  return {
    action: 'rotate',
    resourceType: SIGNING_KEY_AUDIT_TYPE,
    resourceId: next.kid,
    actor,
    changes: {
      kid: { after: next.kid },
      alg: { after: next.alg },
      activeKid: { before: retired?.kid ?? null, after: next.kid },
      ...(retired ? { retiredKid: { after: retired.kid }, retiredAlg: { after: retired.alg }, retiredVerifyUntil: { after: verifyUntil } } : {}),
    },
    at,
  };
}

/** Margin on top of the record validity before a retired key leaves the JWKS: key reload + clock skew. */
export const KEY_GRACE_MS = 10 * 60_000;
const ROWS_CACHE_MS = 5_000;

/** The public members of a JWK; anything else (d, p, q, dp, dq, qi, k, oth) is dropped. */
export function publicJwkOf(jwk: Record<string, unknown>): JWK {
  const out: Record<string, unknown> = {};
  for (const m of ['kty', 'crv', 'x', 'y', 'n', 'e']) if (jwk[m] !== undefined) out[m] = jwk[m];
  return out as JWK;
}

export class RecordKeyManager {
  readonly #o: KeyManagerOptions;
  readonly #reloadMs: number;
  #active: (SigningKey & { loadedAt: number }) | undefined;
  #loading: Promise<SigningKey> | undefined;
  /** the key rows, cached briefly: the JWKS is public and must not cost a query per request */
  #rows: { at: number; rows: Promise<SigningKeyRecord[]> } | undefined;

  constructor(o: KeyManagerOptions) {
    this.#o = o;
    this.#reloadMs = o.reloadMs ?? 30_000;
  }

  /** Loads (or on first start creates) the active key; a wrong KEK fails here, at startup. */
  async init(): Promise<SigningKey> {
    return this.#reload();
  }

  /** The key to sign with now (re-read from the database every reloadMs). */
  async signingKey(): Promise<SigningKey> {
    const a = this.#active;
    if (a && Date.now() - a.loadedAt < this.#reloadMs) return a;
    return this.#reload();
  }

  #reload(): Promise<SigningKey> {
    this.#loading ??= this.#ensureActive().finally(() => {
      this.#loading = undefined;
    });
    return this.#loading;
  }

  async #ensureActive(): Promise<SigningKey> {
    for (let attempt = 0; attempt < 3; attempt++) {
      const active = (await this.#o.store.keys.list()).find((k) => k.status === 'active');
      if (active) return this.#load(active);
      const fresh = await this.#generate();
      if (await this.#o.store.keys.insertActive(fresh.record, keyCreatedEvent(fresh.record, this.#actor, fresh.record.createdAt))) {
        this.#o.logger?.info({ kid: fresh.record.kid, alg: fresh.record.alg }, 'record signing key created');
        return this.#use(fresh.signing);
      }
      // Another instance inserted its key first: loop and load that one.
    }
    throw new RecordKeyError('no active record signing key after three attempts (concurrent rotations?)');
  }

  async #load(rec: SigningKeyRecord): Promise<SigningKey> {
    const cur = this.#active;
    if (cur && cur.kid === rec.kid) return this.#use(cur);
    const plain = decryptPrivateKey(this.#o.kek, rec.kid, rec.privateKeyEnc);
    let key: CryptoKey;
    try {
      key = (await importJWK(JSON.parse(plain.toString('utf8')) as JWK, rec.alg, { extractable: false })) as CryptoKey;
    } catch {
      throw new RecordKeyError(`signing key ${rec.kid}: the decrypted private key cannot be imported as ${rec.alg}`);
    } finally {
      plain.fill(0);
    }
    return this.#use({ kid: rec.kid, alg: rec.alg as RecordSigningAlg, key });
  }

  #use(k: SigningKey): SigningKey {
    if (this.#active?.kid !== k.kid) this.#rows = undefined;
    this.#active = { kid: k.kid, alg: k.alg, key: k.key, loadedAt: Date.now() };
    return this.#active;
  }

  async #generate(): Promise<{ record: Omit<SigningKeyRecord, 'status'>; signing: SigningKey }> {
    const alg = this.#o.alg;
    const pair = await generateKeyPair(alg, { extractable: true });
    const pub = publicJwkOf((await exportJWK(pair.publicKey)) as Record<string, unknown>);
    const kid = await calculateJwkThumbprint(pub, 'sha256');
    const privJwk = Buffer.from(JSON.stringify(await exportJWK(pair.privateKey)), 'utf8');
    const privateKeyEnc = encryptPrivateKey(this.#o.kek, kid, privJwk);
    privJwk.fill(0);
    // The signing copy is non-extractable.
    const plain = decryptPrivateKey(this.#o.kek, kid, privateKeyEnc);
    const key = (await importJWK(JSON.parse(plain.toString('utf8')) as JWK, alg, { extractable: false })) as CryptoKey;
    plain.fill(0);
    return {
      record: { kid, alg, publicJwk: { ...pub, kid, alg, use: 'sig' }, privateKeyEnc, createdAt: this.#o.clock.now().toISOString() },
      signing: { kid, alg, key },
    };
  }

  /** A new key signs from now on; the old one stays published until its records have expired. */
  async rotate(): Promise<{ active: string; retired?: string; verifyUntil: string }> {
    const fresh = await this.#generate();
    const now = this.#o.clock.now();
    const verifyUntil = new Date(now.getTime() + this.#o.maxRecordValidityMs + KEY_GRACE_MS).toISOString();
    // the key that retires is the one active inside the rotation's transaction (the store says which)
    const { retired } = await this.#o.store.keys.rotate(fresh.record, now.toISOString(), verifyUntil, (old) =>
      keyRotatedEvent(fresh.record, old, verifyUntil, this.#actor, now.toISOString()),
    );
    this.#use(fresh.signing);
    this.#o.logger?.info({ kid: fresh.record.kid, retired, verifyUntil }, 'record signing key rotated');
    return retired !== undefined ? { active: fresh.record.kid, retired, verifyUntil } : { active: fresh.record.kid, verifyUntil };
  }

  get #actor(): Actor {
    return this.#o.actor ?? { client: 'system' };
  }

  /** The stored keys, at most ROWS_CACHE_MS old (this process's own changes are seen at once). */
  #keyRows(): Promise<SigningKeyRecord[]> {
    const c = this.#rows;
    if (c && Date.now() - c.at < ROWS_CACHE_MS) return c.rows;
    const rows = this.#o.store.keys.list();
    this.#rows = { at: Date.now(), rows };
    rows.catch(() => (this.#rows = undefined));
    return rows;
  }

  /** Every key, without private material. */
  async list(): Promise<KeyInfo[]> {
    const now = this.#o.clock.now().getTime();
    return (await this.#o.store.keys.list()).map((k) => ({
      kid: k.kid,
      alg: k.alg,
      status: k.status,
      createdAt: k.createdAt,
      ...(k.retiredAt ? { retiredAt: k.retiredAt } : {}),
      ...(k.verifyUntil ? { verifyUntil: k.verifyUntil } : {}),
      published: isPublished(k, now),
    }));
  }

  /** The public JWKS: the active key, then retired keys still needed to verify unexpired records. */
  async jwks(): Promise<{ keys: JWK[] }> {
    const now = this.#o.clock.now().getTime();
    const keys = (await this.#keyRows())
      .filter((k) => isPublished(k, now))
      .sort((a, b) => (a.status === b.status ? (a.createdAt < b.createdAt ? 1 : -1) : a.status === 'active' ? -1 : 1))
      .map((k) => ({ ...publicJwkOf(k.publicJwk), kid: k.kid, alg: k.alg, use: 'sig' }) as JWK);
    return { keys };
  }
}

function isPublished(k: SigningKeyRecord, now: number): boolean {
  if (k.status === 'active') return true;
  return k.verifyUntil !== undefined && Date.parse(k.verifyUntil) > now;
}
