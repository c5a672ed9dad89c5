// What a relying party's verifier refuses, and the reason it gives: every required claim, the
// header rules (typ, alg, kid), the clock tolerance at its edges, and the status list's own shape,
// issuer and expiry. Complements verify.test.ts (one case per error code).

import { calculateJwkThumbprint, type CryptoKey, exportJWK, generateKeyPair, type JWK, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseRecordClaims, parseStatusListClaims, RECORD_TYP, revocationOf, STATUS_LIST_TYP } from '../../../src/agents/records/format.js';
import { keyResolver, RecordVerificationError, type RecordErrorCode, verifyRecord, verifyStatusList } from '../../../src/agents/records/verify.js';

const ISS = 'https://roster.example.com';
const NOW = new Date('2026-03-01T12:00:00.000Z');
const T = Math.floor(NOW.getTime() / 1000);

interface Key {
  kid: string;
  priv: CryptoKey;
  pub: JWK;
}

let key: Key;
let jwks: { keys: JWK[] };

beforeAll(async () => {
  const { publicKey, privateKey } = await generateKeyPair('ES256');
  const pub = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(pub);
  key = { kid, priv: privateKey, pub: { ...pub, kid, alg: 'ES256', use: 'sig' } };
  jwks = { keys: [key.pub] };
});

const claims = (over: Record<string, unknown> = {}): Record<string, unknown> => {
  const c: Record<string, unknown> = {
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
  };
  for (const k of Object.keys(c)) if (c[k] === undefined) delete c[k];
  return c;
};

const sign = (payload: Record<string, unknown>, header: Record<string, unknown> = {}): Promise<string> =>
  new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: RECORD_TYP, ...header }).sign(key.priv);

const signList = (over: Record<string, unknown> = {}, header: Record<string, unknown> = {}): Promise<string> => {
  const c: Record<string, unknown> = { iss: ISS, sub: `${ISS}/.well-known/agentroster/status-list`, iat: T - 30, exp: T + 3600, revoked: [], ...over };
  for (const k of Object.keys(c)) if (c[k] === undefined) delete c[k];
  return new SignJWT(c).setProtectedHeader({ alg: 'ES256', kid: key.kid, typ: STATUS_LIST_TYP, ...header }).sign(key.priv);
};

async function failure(p: Promise<unknown>): Promise<{ code: RecordErrorCode; message: string }> {
  try {
    await p;
  } catch (e) {
    if (!(e instanceof RecordVerificationError)) throw e;
    return { code: e.code, message: e.message };
  }
  throw new Error('expected a RecordVerificationError');
}

describe('a record without a required claim is refused, naming the claim', () => {
  it.each(['iss', 'sub', 'iat', 'exp'])('no "%s" (with or without a pinned issuer)', async (claim) => {
    const jwt = await sign(claims({ [claim]: undefined }));
    for (const issuer of [undefined, ISS]) {
      const r = await failure(verifyRecord(jwt, { jwks, now: NOW, ...(issuer ? { issuer } : {}) }));
      expect(r.code).toBe('ERR_RECORD_MALFORMED');
      expect(r.message).toContain(`missing required "${claim}" claim`);
    }
  });

  it.each([
    ['jti', undefined, 'the record has no "jti" claim'],
    ['jti', '', 'the record has no "jti" claim'],
    ['agentUserName', undefined, 'the record has no "agentUserName" claim'],
    ['lifecycleState', 7, 'the record has no "lifecycleState" claim'],
    ['actionPolicyDigest', undefined, 'the record has no "actionPolicyDigest" claim'],
    ['sub', '', 'the record has no "sub" claim'],
    ['version', 0, 'the record has no valid "version" claim'],
    ['version', 2.5, 'the record has no valid "version" claim'],
    ['version', '3', 'the record has no valid "version" claim'],
    ['entitlements', undefined, 'the record has no "entitlements" or "owners" claim'],
    ['owners', { value: 'u' }, 'the record has no "entitlements" or "owners" claim'],
  ])('%s = %j', async (claim, value, message) => {
    const r = await failure(verifyRecord(await sign(claims({ [claim]: value })), { jwks, now: NOW }));
    expect(r).toEqual({ code: 'ERR_RECORD_MALFORMED', message });
  });

  it('version 1 is the first valid version', async () => {
    expect((await verifyRecord(await sign(claims({ version: 1 })), { jwks, now: NOW })).claims.version).toBe(1);
  });

  it('parseRecordClaims: iat and exp must be numbers', () => {
    expect(parseRecordClaims(claims({ iat: '1' }))).toBe('the record has no "iat" claim');
    expect(parseRecordClaims(claims({ exp: '1' }))).toBe('the record has no "exp" claim');
    expect(parseRecordClaims(claims())).toMatchObject({ sub: 'agent-1' });
  });
});

describe('the header', () => {
  it.each([
    [{ typ: 'application/agent-record+jwt' }, true],
    [{ typ: 'Agent-Record+JWT' }, true],
    [{ typ: 'JWT' }, false],
    [{ typ: 'x/agent-record+jwt' }, false],
    [{ typ: undefined }, false],
    [{ typ: STATUS_LIST_TYP }, false],
  ])('%o accepted: %s', async (header, ok) => {
    const jwt = await sign(claims(), header);
    if (ok) expect((await verifyRecord(jwt, { jwks, now: NOW })).header.typ).toBe(header.typ);
    else {
      const r = await failure(verifyRecord(jwt, { jwks, now: NOW }));
      expect(r.code).toBe('ERR_RECORD_MALFORMED');
      expect(r.message).toBe(`not an agentroster record: typ is ${JSON.stringify(header.typ ?? null)}, expected "agent-record+jwt"`);
    }
  });

  it('no kid, or an empty one', async () => {
    for (const kid of [undefined, '']) {
      const r = await failure(verifyRecord(await sign(claims(), { kid }), { jwks, now: NOW }));
      expect(r).toEqual({ code: 'ERR_RECORD_MALFORMED', message: 'the record header has no "kid"' });
    }
  });

  it('an algorithm outside the list is named', async () => {
    const r = await failure(verifyRecord(await new SignJWT(claims()).setProtectedHeader({ alg: 'HS256', kid: 'k', typ: RECORD_TYP }).sign(new Uint8Array(32)), { jwks, now: NOW }));
    expect(r).toEqual({ code: 'ERR_RECORD_MALFORMED', message: 'algorithm "HS256" is not accepted (ES256, EdDSA, Ed25519)' });
  });

  it('not three parts; a header that is not JSON', async () => {
    for (const jwt of ['a.b', 'a.b.c.d', '', 42 as unknown as string]) {
      expect(await failure(verifyRecord(jwt, { jwks, now: NOW }))).toEqual({
        code: 'ERR_RECORD_MALFORMED',
        message: 'the record is not a compact JWS (three base64url parts separated by ".")',
      });
    }
    expect(await failure(verifyRecord('!!.b.c', { jwks, now: NOW }))).toEqual({ code: 'ERR_RECORD_MALFORMED', message: 'the record header is not valid base64url JSON' });
  });

  it('surrounding whitespace (a copied token) is ignored', async () => {
    const jwt = await sign(claims());
    expect((await verifyRecord(`  ${jwt}\n`, { jwks, now: NOW })).claims.sub).toBe('agent-1');
  });
});

describe('the clock, at the edges of the tolerance', () => {
  it.each([
    ['iat 60 s ahead (default tolerance)', { iat: T + 60 }, {}, undefined],
    ['iat 61 s ahead', { iat: T + 61 }, {}, 'ERR_RECORD_NOT_YET_VALID'],
    ['iat 1 s ahead, no tolerance', { iat: T + 1 }, { clockToleranceSeconds: 0 }, 'ERR_RECORD_NOT_YET_VALID'],
    ['iat now, no tolerance', { iat: T }, { clockToleranceSeconds: 0 }, undefined],
    ['expired 59 s ago (default tolerance)', { exp: T - 59 }, {}, undefined],
    ['expired 60 s ago', { exp: T - 60 }, {}, 'ERR_RECORD_EXPIRED'],
    ['expires now, no tolerance', { exp: T }, { clockToleranceSeconds: 0 }, 'ERR_RECORD_EXPIRED'],
    ['nbf in the future', { nbf: T + 600 }, {}, 'ERR_RECORD_NOT_YET_VALID'],
  ] as const)('%s', async (_label, over, opts, code) => {
    const jwt = await sign(claims(over));
    if (code === undefined) expect((await verifyRecord(jwt, { jwks, now: NOW, ...opts })).status).toBe('unchecked');
    else expect((await failure(verifyRecord(jwt, { jwks, now: NOW, ...opts }))).code).toBe(code);
  });

  it('the reasons say when', async () => {
    expect((await failure(verifyRecord(await sign(claims({ iat: T + 3600 })), { jwks, now: NOW }))).message).toBe(
      `the record was issued in the future (iat ${new Date((T + 3600) * 1000).toISOString()})`,
    );
    expect((await failure(verifyRecord(await sign(claims({ nbf: T + 600 })), { jwks, now: NOW }))).message).toBe(
      `the record is not valid yet (nbf ${new Date((T + 600) * 1000).toISOString()})`,
    );
    expect((await failure(verifyRecord(await sign(claims({ exp: T - 3600 })), { jwks, now: NOW }))).message).toBe(
      `the record expired at ${new Date((T - 3600) * 1000).toISOString()} (validUntil); fetch a fresh one`,
    );
  });

  it('without `now`, the current time is used', async () => {
    const t = Math.floor(Date.now() / 1000);
    expect((await verifyRecord(await sign(claims({ iat: t - 10, exp: t + 600 })), { jwks })).claims.sub).toBe('agent-1');
    expect((await failure(verifyRecord(await sign(claims({ iat: t - 1000, exp: t - 600 })), { jwks }))).code).toBe('ERR_RECORD_EXPIRED');
  });
});

describe('the issuer', () => {
  it('a pinned issuer must match; the reason names both', async () => {
    const r = await failure(verifyRecord(await sign(claims({ iss: 'https://evil.example.com' })), { jwks, issuer: ISS, now: NOW }));
    expect(r).toEqual({ code: 'ERR_RECORD_ISSUER', message: 'the record was issued by "https://evil.example.com", expected "https://roster.example.com"' });
  });
});

describe('revocation', () => {
  it('revocationOf: versions below ver are revoked, ver itself is current', () => {
    const list = { revoked: [{ sub: 'a', ver: 4, at: T }, { sub: 'b', ver: 9, at: T }] };
    expect(revocationOf(list, 'a', 3)).toEqual({ sub: 'a', ver: 4, at: T });
    expect(revocationOf(list, 'a', 4)).toBeUndefined();
    expect(revocationOf(list, 'a', 5)).toBeUndefined();
    expect(revocationOf(list, 'c', 1)).toBeUndefined();
  });

  it('the reason says which version, when, why, and which versions are current', async () => {
    const list = await signList({ revoked: [{ sub: 'agent-1', ver: 5, at: T - 10, state: 'retired' }] });
    const r = await failure(verifyRecord(await sign(claims({ version: 3 })), { jwks, statusList: list, now: NOW }));
    expect(r).toEqual({
      code: 'ERR_RECORD_REVOKED',
      message: `the record (version 3) of agent agent-1 was revoked at ${new Date((T - 10) * 1000).toISOString()} (agent retired): only versions ≥ 5 are current`,
    });
    const noState = await signList({ revoked: [{ sub: 'agent-1', ver: 5, at: T - 10 }] });
    expect((await failure(verifyRecord(await sign(claims({ version: 3 })), { jwks, statusList: noState, now: NOW }))).message).not.toContain('(agent');
  });

  it('a status list object past its expiry, at the edge of the tolerance', async () => {
    const jwt = await sign(claims());
    const list = (exp: number) => ({ iss: ISS, sub: 'x', iat: T - 7200, exp, revoked: [] });
    expect((await verifyRecord(jwt, { jwks, statusList: list(T - 59), now: NOW })).status).toBe('good');
    expect(await failure(verifyRecord(jwt, { jwks, statusList: list(T - 60), now: NOW }))).toEqual({
      code: 'ERR_STATUS_LIST_EXPIRED',
      message: `the status list expired at ${new Date((T - 60) * 1000).toISOString()}; fetch a fresh one`,
    });
    expect((await failure(verifyRecord(jwt, { jwks, statusList: list(T), now: NOW, clockToleranceSeconds: 0 }))).code).toBe('ERR_STATUS_LIST_EXPIRED');
  });

  it('a status list object from another issuer', async () => {
    const r = await failure(verifyRecord(await sign(claims()), { jwks, statusList: { iss: 'https://other', sub: 'x', iat: T, exp: T + 60, revoked: [] }, now: NOW }));
    expect(r).toEqual({ code: 'ERR_STATUS_LIST_INVALID', message: 'status list: published by "https://other", but the record was issued by "https://roster.example.com"' });
  });

  it('a status list is only required when asked for', async () => {
    const jwt = await sign(claims());
    expect((await verifyRecord(jwt, { jwks, now: NOW, requireStatus: false })).status).toBe('unchecked');
    expect(await failure(verifyRecord(jwt, { jwks, now: NOW, requireStatus: true }))).toEqual({
      code: 'ERR_STATUS_LIST_MISSING',
      message: 'a status list is required to check revocation, and none was given',
    });
  });

  it('an inactive record is refused after revocation was checked, with the state', async () => {
    const jwt = await sign(claims({ lifecycleState: 'suspended' }));
    expect(await failure(verifyRecord(jwt, { jwks, now: NOW, statusList: await signList() }))).toEqual({
      code: 'ERR_RECORD_INACTIVE',
      message: 'the agent is "suspended" in this record, not "active": do not rely on it as an active agent',
    });
    expect((await verifyRecord(jwt, { jwks, now: NOW, allowInactive: true })).claims.lifecycleState).toBe('suspended');
  });
});

describe('verifyStatusList', () => {
  it('accepts a good list and returns its entries, keeping each state', async () => {
    const list = await signList({ revoked: [{ sub: 'a', ver: 2, at: T - 5, state: 'deleted' }, { sub: 'b', ver: 3, at: T - 4, state: 7 }] });
    expect(await verifyStatusList(list, { jwks, issuer: ISS, now: NOW })).toEqual({
      iss: ISS,
      sub: `${ISS}/.well-known/agentroster/status-list`,
      iat: T - 30,
      exp: T + 3600,
      revoked: [{ sub: 'a', ver: 2, at: T - 5, state: 'deleted' }, { sub: 'b', ver: 3, at: T - 4 }],
    });
  });

  it.each([
    ['no "revoked"', { revoked: undefined }, 'status list: the status list has no "revoked" array'],
    ['an entry that is not an object', { revoked: ['a'] }, 'status list: a "revoked" entry is not an object'],
    ['a null entry', { revoked: [null] }, 'status list: a "revoked" entry is not an object'],
    ['an entry without ver', { revoked: [{ sub: 'a', at: T }] }, 'status list: a "revoked" entry lacks "sub", "ver" or "at"'],
    ['an entry with a fractional ver', { revoked: [{ sub: 'a', ver: 1.5, at: T }] }, 'status list: a "revoked" entry lacks "sub", "ver" or "at"'],
    ['an entry without sub', { revoked: [{ ver: 1, at: T }] }, 'status list: a "revoked" entry lacks "sub", "ver" or "at"'],
    ['an entry without at', { revoked: [{ sub: 'a', ver: 1 }] }, 'status list: a "revoked" entry lacks "sub", "ver" or "at"'],
  ])('refused: %s', async (_label, over, message) => {
    expect(await failure(verifyStatusList(await signList(over), { jwks, now: NOW }))).toEqual({ code: 'ERR_STATUS_LIST_INVALID', message });
  });

  it.each(['iss', 'sub', 'iat', 'exp'])('refused without "%s"', async (claim) => {
    const r = await failure(verifyStatusList(await signList({ [claim]: undefined }), { jwks, now: NOW }));
    expect(r.code).toBe('ERR_STATUS_LIST_INVALID');
    expect(r.message).toContain(`missing required "${claim}" claim`);
  });

  it('parseStatusListClaims names what is missing', () => {
    const base = { iss: ISS, sub: 's', iat: T, exp: T, revoked: [] };
    expect(parseStatusListClaims({ ...base, iss: 1 })).toBe('the status list has no "iss"');
    expect(parseStatusListClaims({ ...base, sub: 1 })).toBe('the status list has no "sub"');
    expect(parseStatusListClaims({ ...base, iat: 'x' })).toBe('the status list has no "iat"/"exp"');
    expect(parseStatusListClaims({ ...base, exp: 'x' })).toBe('the status list has no "iat"/"exp"');
  });

  it('every failure of the list itself is ERR_STATUS_LIST_INVALID, prefixed; its expiry keeps its own code', async () => {
    expect(await failure(verifyStatusList(await signList({ iss: 'https://other' }), { jwks, issuer: ISS, now: NOW }))).toEqual({
      code: 'ERR_STATUS_LIST_INVALID',
      message: 'status list: the status list was issued by "https://other", expected "https://roster.example.com"',
    });
    expect(await failure(verifyStatusList(await signList({}, { typ: RECORD_TYP }), { jwks, now: NOW }))).toEqual({
      code: 'ERR_STATUS_LIST_INVALID',
      message: 'status list: not an agentroster status list: typ is "agent-record+jwt", expected "agent-status-list+jwt"',
    });
    expect(await failure(verifyStatusList(await signList({ iat: T - 7200, exp: T - 3600 }), { jwks, now: NOW }))).toEqual({
      code: 'ERR_STATUS_LIST_EXPIRED',
      message: `the status list expired at ${new Date((T - 3600) * 1000).toISOString()}; fetch a fresh one`,
    });
    expect((await failure(verifyStatusList(await signList({ iat: T + 3600 }), { jwks, now: NOW }))).code).toBe('ERR_STATUS_LIST_INVALID');
  });

  it('a list given as a JWT to verifyRecord is verified against the record\'s issuer', async () => {
    const jwt = await sign(claims());
    expect((await failure(verifyRecord(jwt, { jwks, now: NOW, statusList: await signList({ iss: 'https://other' }) }))).code).toBe('ERR_STATUS_LIST_INVALID');
    expect((await verifyRecord(jwt, { jwks, now: NOW, statusList: await signList() })).status).toBe('good');
  });
});

describe('key sets', () => {
  it('a resolver function is used as is', async () => {
    const resolver = keyResolver(jwks);
    expect(keyResolver(resolver)).toBe(resolver);
    expect((await verifyRecord(await sign(claims()), { jwks: resolver, now: NOW })).claims.sub).toBe('agent-1');
  });

  it.each([
    [null, 'the key set is not a JWKS document ({"keys": [...]})'],
    [{ keys: {} }, 'the key set is not a JWKS document ({"keys": [...]})'],
    [[], 'the key set is not a JWKS document ({"keys": [...]})'],
    [{ keys: ['x'] }, 'the key set holds a key that is not an object'],
    [{ keys: [[1]] }, 'the key set holds a key that is not an object'],
  ])('%j → ERR_JWKS_INVALID', (set, message) => {
    expect(() => keyResolver(set as never)).toThrow(message);
    try {
      keyResolver(set as never);
    } catch (e) {
      expect((e as RecordVerificationError).code).toBe('ERR_JWKS_INVALID');
    }
  });

  it('a key of an unknown type under the record\'s kid is no key', async () => {
    const r = await failure(verifyRecord(await sign(claims()), { jwks: { keys: [{ kty: 'nope', kid: key.kid }] }, now: NOW }));
    expect(r.code).toBe('ERR_RECORD_UNKNOWN_KEY');
    expect(r.message).toContain(key.kid);
  });
});
