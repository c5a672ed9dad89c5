// Verification failures a relying party sees, pinned where mutation testing found them loose: the
// error's name, the typ check coming before the key lookup, a key set whose key cannot be used,
// errors of a custom key resolver, and the revocation message.

import { calculateJwkThumbprint, errors, exportJWK, generateKeyPair, type CryptoKey, type JWK, type JWTVerifyGetKey, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { RECORD_TYP, STATUS_LIST_TYP } from '../../../src/agents/records/format.js';
import { RecordVerificationError, verifyRecord, verifyStatusList } from '../../../src/agents/records/verify.js';

const ISS = 'https://roster.example.com';
const NOW = new Date('2026-03-01T12:00:00.000Z');
const T = Math.floor(NOW.getTime() / 1000);

let priv: CryptoKey;
let pub: JWK;
let kid: string;

beforeAll(async () => {
  const pair = await generateKeyPair('ES256');
  priv = pair.privateKey;
  pub = await exportJWK(pair.publicKey);
  kid = await calculateJwkThumbprint(pub);
  pub = { ...pub, kid, alg: 'ES256', use: 'sig' };
});

const claims = (over: Record<string, unknown> = {}) => ({
  iss: ISS,
  sub: 'agent-1',
  iat: T - 60,
  exp: T + 3600,
  jti: 'rec-1',
  version: 3,
  agentUserName: 'bot',
  owners: [],
  lifecycleState: 'active',
  entitlements: [],
  actionPolicyDigest: 'sha-256:x',
  ...over,
});

const sign = (payload: Record<string, unknown>, header: Record<string, unknown> = {}) =>
  new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid, typ: RECORD_TYP, ...header }).sign(priv);

const signList = (revoked: unknown[]) =>
  new SignJWT({ iss: ISS, sub: `${ISS}/.well-known/agentroster/status-list`, iat: T - 30, exp: T + 3600, revoked })
    .setProtectedHeader({ alg: 'ES256', kid, typ: STATUS_LIST_TYP })
    .sign(priv);

async function failure(p: Promise<unknown>): Promise<RecordVerificationError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(RecordVerificationError);
    return e as RecordVerificationError;
  }
  throw new Error('expected a RecordVerificationError');
}

describe('RecordVerificationError', () => {
  it('is named RecordVerificationError (stack traces, e.name checks)', async () => {
    const e = await failure(verifyRecord('not a jws', { jwks: { keys: [pub] }, now: NOW }));
    expect(e.name).toBe('RecordVerificationError');
    expect(String(e)).toMatch(/^RecordVerificationError: /);
  });
});

describe('typ is checked before the key is looked up', () => {
  it('"application/" is stripped only as a prefix: a typ that merely contains it is not an agent record', async () => {
    // signed under a kid the key set does not hold: a wrong typ must say MALFORMED, not UNKNOWN_KEY
    for (const typ of [`${RECORD_TYP}application/`, `x-application/${RECORD_TYP}`]) {
      const jwt = await sign(claims(), { typ, kid: 'not-in-the-set' });
      const e = await failure(verifyRecord(jwt, { jwks: { keys: [pub] }, now: NOW }));
      expect(e.code, typ).toBe('ERR_RECORD_MALFORMED');
      expect(e.message).toContain('not an agentroster record');
    }
    // the prefixed media type is the same typ
    const ok = await sign(claims(), { typ: `application/${RECORD_TYP}` });
    expect((await verifyRecord(ok, { jwks: { keys: [pub] }, now: NOW })).claims.sub).toBe('agent-1');
  });
});

describe('a key set whose key for the kid cannot be used → ERR_JWKS_INVALID', () => {
  it.each([
    ['corrupt coordinates', () => ({ kty: 'EC', crv: 'P-256', x: 'AA', y: 'AA', kid, alg: 'ES256' })],
    ['no coordinates', () => ({ kty: 'EC', crv: 'P-256', kid, alg: 'ES256' })],
  ])('%s: a coded error, not a raw DOMException', async (_name, bad) => {
    const jwks = { keys: [bad() as JWK] };
    const e = await failure(verifyRecord(await sign(claims()), { jwks, now: NOW }));
    expect(e.code).toBe('ERR_JWKS_INVALID');
    expect(e.message).toMatch(/^the key set is not usable: /);
    // the same for the status list: the key set is the problem, not the list
    const l = await failure(verifyStatusList(await signList([]), { jwks, now: NOW }));
    expect(l.code).toBe('ERR_JWKS_INVALID');
  });
});

describe('errors of a custom key resolver', () => {
  const throwing =
    (err: unknown): JWTVerifyGetKey =>
    () => {
      throw err;
    };

  it.each([
    ['JWKSInvalid', () => new errors.JWKSInvalid('bad set'), 'ERR_JWKS_INVALID', /^the key set is not usable: bad set$/],
    ['JWKInvalid', () => new errors.JWKInvalid('bad key'), 'ERR_JWKS_INVALID', /^the key set is not usable: bad key$/],
    ['another JOSEError', () => new errors.JOSENotSupported('nope'), 'ERR_RECORD_MALFORMED', /^the record is malformed: nope$/],
    ['TypeError', () => new TypeError('bad type'), 'ERR_RECORD_MALFORMED', /^the record is malformed: bad type$/],
    ['SyntaxError', () => new SyntaxError('bad json'), 'ERR_RECORD_MALFORMED', /^the record is malformed: bad json$/],
  ])('%s → %s', async (_name, make, code, message) => {
    const e = await failure(verifyRecord(await sign(claims()), { jwks: throwing(make()), now: NOW }));
    expect(e.code).toBe(code);
    expect(e.message).toMatch(message);
  });

  it('a malformed status list keeps the status-list code', async () => {
    const e = await failure(verifyStatusList(await signList([]), { jwks: throwing(new TypeError('bad type')), now: NOW }));
    expect(e.code).toBe('ERR_STATUS_LIST_INVALID');
    expect(e.message).toBe('status list: the status list is malformed: bad type');
  });

  it('any other error of the resolver (network, bug) reaches the caller unchanged', async () => {
    const boom = new Error('network down');
    await expect(verifyRecord(await sign(claims()), { jwks: throwing(boom), now: NOW })).rejects.toBe(boom);
    await expect(verifyStatusList(await signList([]), { jwks: throwing(boom), now: NOW })).rejects.toBe(boom);
  });
});

describe('revocation message', () => {
  it('names the state when the list gives one, and nothing in its place when it does not', async () => {
    const jwt = await sign(claims({ version: 3 }));
    const at = new Date((T - 10) * 1000).toISOString();
    const withState = await failure(
      verifyRecord(jwt, { jwks: { keys: [pub] }, statusList: await signList([{ sub: 'agent-1', ver: 4, at: T - 10, state: 'retired' }]), now: NOW }),
    );
    expect(withState.message).toBe(`the record (version 3) of agent agent-1 was revoked at ${at} (agent retired): only versions ≥ 4 are current`);
    const without = await failure(
      verifyRecord(jwt, { jwks: { keys: [pub] }, statusList: await signList([{ sub: 'agent-1', ver: 4, at: T - 10 }]), now: NOW }),
    );
    expect(without.code).toBe('ERR_RECORD_REVOKED');
    expect(without.message).toBe(`the record (version 3) of agent agent-1 was revoked at ${at}: only versions ≥ 4 are current`);
  });
});
