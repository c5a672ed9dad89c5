// agentroster/verify without a server: every failure has its own code and a clear message.

import { exportJWK, generateKeyPair, type JWK, SignJWT, type CryptoKey, calculateJwkThumbprint } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { RECORD_TYP, STATUS_LIST_TYP } from '../../../src/agents/records/format.js';
import { RecordVerificationError, verify, verifyStatusList, type RecordErrorCode } from '../../../src/verify.js';

const ISS = 'https://roster.example.com';
const NOW = new Date('2026-03-01T12:00:00.000Z');
const T = Math.floor(NOW.getTime() / 1000);

interface Key {
  kid: string;
  priv: CryptoKey;
  pub: JWK;
}

async function newKey(alg: 'ES256' | 'EdDSA' = 'ES256'): Promise<Key> {
  const { publicKey, privateKey } = await generateKeyPair(alg);
  const pub = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(pub);
  return { kid, priv: privateKey, pub: { ...pub, kid, alg, use: 'sig' } };
}

const claims = (over: Record<string, unknown> = {}) => ({
  iss: ISS,
  sub: 'agent-1',
  iat: T - 60,
  exp: T + 3600,
  jti: 'rec-1',
  version: 3,
  agentUserName: 'bot',
  sponsor: { value: 'u-1' },
  owners: [],
  lifecycleState: 'active',
  entitlements: [{ value: 'crm.read' }],
  autonomyLevel: 'advisory',
  actionPolicyDigest: 'sha-256:x',
  ...over,
});

function sign(payload: Record<string, unknown>, k: Key, header: Record<string, unknown> = {}, alg = 'ES256'): Promise<string> {
  return new SignJWT(payload).setProtectedHeader({ alg, kid: k.kid, typ: RECORD_TYP, ...header }).sign(k.priv);
}

function statusList(revoked: unknown[], k: Key, over: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({ iss: ISS, sub: `${ISS}/.well-known/agentroster/status-list`, iat: T - 30, exp: T + 3600, revoked, ...over })
    .setProtectedHeader({ alg: 'ES256', kid: k.kid, typ: STATUS_LIST_TYP })
    .sign(k.priv);
}

async function codeOf(p: Promise<unknown>): Promise<{ code: RecordErrorCode; message: string }> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(RecordVerificationError);
    const err = e as RecordVerificationError;
    return { code: err.code, message: err.message };
  }
  throw new Error('expected a RecordVerificationError');
}

let key: Key;
let other: Key;
let jwks: { keys: JWK[] };

beforeAll(async () => {
  key = await newKey();
  other = await newKey();
  jwks = { keys: [key.pub] };
});

describe('verify()', () => {
  it('accepts a valid record with only the JWKS (revocation unchecked)', async () => {
    const jwt = await sign(claims(), key);
    const v = await verify(jwt, { jwks, issuer: ISS, now: NOW });
    expect(v.status).toBe('unchecked');
    expect(v.header).toEqual({ alg: 'ES256', kid: key.kid, typ: RECORD_TYP });
    expect(v.claims).toMatchObject({ sub: 'agent-1', version: 3, lifecycleState: 'active', entitlements: [{ value: 'crm.read' }] });
  });

  it('accepts EdDSA records', async () => {
    const ed = await newKey('EdDSA');
    const jwt = await sign(claims(), ed, {}, 'EdDSA');
    expect((await verify(jwt, { jwks: { keys: [ed.pub] }, now: NOW })).claims.sub).toBe('agent-1');
  });

  it('tampered payload → ERR_RECORD_SIGNATURE', async () => {
    const jwt = await sign(claims(), key);
    const [h, p, s] = jwt.split('.') as [string, string, string];
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Record<string, unknown>;
    payload.entitlements = [{ value: 'crm.read' }, { value: 'payments.admin' }];
    const forged = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
    const r = await codeOf(verify(forged, { jwks, issuer: ISS, now: NOW }));
    expect(r.code).toBe('ERR_RECORD_SIGNATURE');
    expect(r.message).toMatch(/altered|another key/);
  });

  it('signed by another key under our kid → ERR_RECORD_SIGNATURE; under its own kid → ERR_RECORD_UNKNOWN_KEY', async () => {
    const impostor = { ...other, kid: key.kid };
    expect((await codeOf(verify(await sign(claims(), impostor), { jwks, now: NOW }))).code).toBe('ERR_RECORD_SIGNATURE');
    const r = await codeOf(verify(await sign(claims(), other), { jwks, now: NOW }));
    expect(r.code).toBe('ERR_RECORD_UNKNOWN_KEY');
    expect(r.message).toContain(other.kid);
  });

  it('expired → ERR_RECORD_EXPIRED with the expiry time', async () => {
    const jwt = await sign(claims({ iat: T - 90_000, exp: T - 3600 }), key);
    const r = await codeOf(verify(jwt, { jwks, issuer: ISS, now: NOW }));
    expect(r.code).toBe('ERR_RECORD_EXPIRED');
    expect(r.message).toContain(new Date((T - 3600) * 1000).toISOString());
    // the same record was valid back then
    expect((await verify(jwt, { jwks, now: new Date((T - 7200) * 1000) })).claims.sub).toBe('agent-1');
  });

  it('issued in the future → ERR_RECORD_NOT_YET_VALID', async () => {
    const jwt = await sign(claims({ iat: T + 3600, exp: T + 7200 }), key);
    expect((await codeOf(verify(jwt, { jwks, now: NOW }))).code).toBe('ERR_RECORD_NOT_YET_VALID');
  });

  it('wrong issuer → ERR_RECORD_ISSUER', async () => {
    const jwt = await sign(claims({ iss: 'https://evil.example.com' }), key);
    const r = await codeOf(verify(jwt, { jwks, issuer: ISS, now: NOW }));
    expect(r.code).toBe('ERR_RECORD_ISSUER');
    expect(r.message).toContain('evil.example.com');
  });

  it('malformed inputs → ERR_RECORD_MALFORMED', async () => {
    const cases: string[] = [
      'not a jwt',
      'a.b.c',
      await sign(claims(), key, { typ: 'JWT' }),
      await sign(claims(), key, { kid: undefined }),
      await sign(claims({ version: undefined }), key),
      await sign(claims({ lifecycleState: undefined }), key),
      // alg "none"
      `${Buffer.from(JSON.stringify({ alg: 'none', typ: RECORD_TYP, kid: 'x' })).toString('base64url')}.${Buffer.from(JSON.stringify(claims())).toString('base64url')}.`,
      // HS256 with the public key as secret (algorithm confusion)
      await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', kid: key.kid, typ: RECORD_TYP }).sign(new TextEncoder().encode('k'.repeat(32))),
    ];
    for (const jwt of cases) expect((await codeOf(verify(jwt, { jwks, now: NOW }))).code, jwt).toBe('ERR_RECORD_MALFORMED');
  });

  it('a status list with the agent → ERR_RECORD_REVOKED for older versions only', async () => {
    const jwt = await sign(claims({ version: 3 }), key);
    const list = await statusList([{ sub: 'agent-1', ver: 4, at: T - 10, state: 'suspended' }], key);
    const r = await codeOf(verify(jwt, { jwks, issuer: ISS, statusList: list, now: NOW }));
    expect(r.code).toBe('ERR_RECORD_REVOKED');
    expect(r.message).toMatch(/suspended/);
    // the record of version 4 (issued at the suspension) is not revoked: it says "suspended"
    const v4 = await sign(claims({ version: 4, lifecycleState: 'suspended' }), key);
    expect((await codeOf(verify(v4, { jwks, statusList: list, now: NOW }))).code).toBe('ERR_RECORD_INACTIVE');
    const ok = await verify(v4, { jwks, statusList: list, now: NOW, allowInactive: true });
    expect(ok.status).toBe('good');
    // another agent is unaffected
    const v = await verify(await sign(claims({ sub: 'agent-2' }), key), { jwks, statusList: list, now: NOW });
    expect(v.status).toBe('good');
  });

  it('status list checks: expired, forged, another issuer, required', async () => {
    const jwt = await sign(claims(), key);
    const expired = await statusList([], key, { iat: T - 7200, exp: T - 3600 });
    expect((await codeOf(verify(jwt, { jwks, statusList: expired, now: NOW }))).code).toBe('ERR_STATUS_LIST_EXPIRED');
    const forged = await statusList([], other);
    expect((await codeOf(verify(jwt, { jwks, statusList: forged, now: NOW }))).code).toBe('ERR_STATUS_LIST_INVALID');
    const foreign = await statusList([], key, { iss: 'https://other.example.com' });
    expect((await codeOf(verify(jwt, { jwks, statusList: foreign, now: NOW }))).code).toBe('ERR_STATUS_LIST_INVALID');
    const notAList = await sign(claims(), key); // a record is not a status list (typ)
    expect((await codeOf(verify(jwt, { jwks, statusList: notAList, now: NOW }))).code).toBe('ERR_STATUS_LIST_INVALID');
    expect((await codeOf(verify(jwt, { jwks, requireStatus: true, now: NOW }))).code).toBe('ERR_STATUS_LIST_MISSING');
    // a verified list object works too
    const good = await verifyStatusList(await statusList([], key), { jwks, issuer: ISS, now: NOW });
    expect((await verify(jwt, { jwks, statusList: good, now: NOW })).status).toBe('good');
  });

  it('a key set that is not a JWKS → ERR_JWKS_INVALID; private members in it are ignored', async () => {
    const jwt = await sign(claims(), key);
    expect((await codeOf(verify(jwt, { jwks: { nope: 1 } as never, now: NOW }))).code).toBe('ERR_JWKS_INVALID');
    const { privateKey } = await generateKeyPair('ES256', { extractable: true });
    const withPrivate = { keys: [{ ...(await exportJWK(privateKey)), kid: key.kid }] };
    expect((await codeOf(verify(jwt, { jwks: withPrivate, now: NOW }))).code).toBe('ERR_RECORD_SIGNATURE');
  });

  it('an inactive agent\'s record → ERR_RECORD_INACTIVE unless allowed', async () => {
    const jwt = await sign(claims({ lifecycleState: 'retired' }), key);
    const r = await codeOf(verify(jwt, { jwks, now: NOW }));
    expect(r.code).toBe('ERR_RECORD_INACTIVE');
    expect(r.message).toContain('retired');
    expect((await verify(jwt, { jwks, now: NOW, allowInactive: true })).claims.lifecycleState).toBe('retired');
  });
});
