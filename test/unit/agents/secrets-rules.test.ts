// R10, rule by rule, at the edges: each API key format at its shortest and one character short,
// the word boundary before a prefix, the JWT shape, the PEM label, the long-random-string rule's
// length and alphabet, DER private keys, and where a finding is reported. A rule that matched one
// character later, or an edge that moved, lets a real secret into the store (or refuses a name).

import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { findSecrets, findSecretsInRequest, isDerPrivateKey, secretKind } from '../../../src/agents/secrets.js';

const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
/** `n` characters cycling through `alphabet` */
const run = (n: number, alphabet = 'aB3dE5gH7jK9mN1pQ2sT4vW6yZ8') => Array.from({ length: n }, (_, i) => alphabet[i % alphabet.length]).join('');
/** a random-looking base64url string of `n` characters (fixed: the digits of a seeded LCG) */
const randomish = (n: number, seed = 7) => {
  const A = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  let s = seed;
  let out = '';
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    out += A[(s >>> 16) & 63];
  }
  return out;
};
const hexish = (n: number) => Array.from({ length: n }, (_, i) => '0123456789abcdef'[(i * 7 + (i >> 3)) % 16]).join('');

describe('API keys: each format at its shortest, and one short', () => {
  it.each([
    ['sk-', `sk-${run(16)}`, `sk-${run(15)}`],
    ['sk_live_', `sk_live_${run(16, 'aB3')}`, `sk_live_${run(15, 'aB3')}`],
    ['sk_test_', `sk_test_${run(16, 'aB3')}`, `sk_prod_${run(16, 'aB3')}`],
    ['ghp_', `ghp_${run(30, 'aB3')}`, `ghp_${run(29, 'aB3')}`],
    ['gho_', `gho_${run(30, 'aB3')}`, `ghx_${run(30, 'aB3')}`],
    ['ghs_ / ghu_ / ghr_', `ghs_${run(30, 'aB3')} ghu_${run(30, 'aB3')}`, `gh_${run(30, 'aB3')}`],
    ['github_pat_', `github_pat_${run(30, 'aB3_')}`, `github_pat_${run(29, 'aB3_')}`],
    ['glpat-', `glpat-${run(20, 'aB3-')}`, `glpat-${run(19, 'aB3-')}`],
    ['xoxb-', `xoxb-${run(10, '1a-')}`, `xoxb-${run(9, '1a-')}`],
    ['xoxp- / xoxa- / xoxr-', `xoxp-${run(10, '1a')}`, `xoxz-${run(10, '1a')}`],
    ['AKIA', `AKIA${run(16, 'A1B2')}`, `AKIA${run(15, 'A1B2')}`],
    ['ASIA', `ASIA${run(16, 'A1B2')}`, `ABIA${run(16, 'A1B2')}`],
    ['AIza', `AIza${run(35, 'aB3_-')}`, `AIza${run(34, 'aB3_-')}`],
    ['art_', `art_${run(40, 'aB3_-')}`, `art_${run(39, 'aB3_-')}`],
  ])('%s', (_label, yes, no) => {
    expect(secretKind(yes)).toBe('API key');
    expect(secretKind(no)).toBeUndefined();
  });

  it('a prefix glued to a word is part of the word; after punctuation or at a run start it is a prefix', () => {
    const key = `sk-${run(16)}`;
    expect(secretKind(`ask-${run(16)}`)).toBeUndefined();
    expect(secretKind(`9sk-${run(16)}`)).toBeUndefined();
    expect(secretKind(`x_${key}`)).toBe('API key');
    expect(secretKind(`x-${key}`)).toBe('API key');
    expect(secretKind(`(${key})`)).toBe('API key');
    expect(secretKind(`xAKIA${run(16, 'A1B2')}`)).toBeUndefined();
    // GitHub PATs and GitLab tokens have no boundary rule
    expect(secretKind(`xgithub_pat_${run(30, 'aB3_')}`)).toBe('API key');
    expect(secretKind(`xglpat-${run(20, 'aB3-')}`)).toBe('API key');
  });

  it('an AWS key id followed by more id characters is something longer', () => {
    expect(secretKind(`AKIA${run(16, 'A1B2')}C`)).toBeUndefined();
    expect(secretKind(`AKIA${run(16, 'A1B2')}-x`)).toBe('API key');
    expect(secretKind(`AKIA${run(16, 'A1B2')}a`)).toBe('API key');
  });

  it('a later key in the same run is still found', () => {
    expect(secretKind(`aaaa-sk-${run(16)}`)).toBe('API key');
    expect(secretKind(`word sk-short then ghp_${run(30, 'aB3')}`)).toBe('API key');
  });

  it('strings shorter than the shortest rule are not scanned; 15 characters are', () => {
    expect(secretKind('xoxb-1234567890')).toBe('API key');
    expect(secretKind('xoxb-123456789')).toBeUndefined();
  });
});

describe('signed JWTs', () => {
  const h = b64url({ alg: 'ES256' });
  const p = b64url({ sub: 'x' });
  const sig = randomish(16);
  it.each([
    ['header.payload.signature', `${h}.${p}.${sig}`, 'signed JWT'],
    ['a 15-character signature', `${h}.${p}.${sig.slice(1)}`, undefined],
    ['alg none, any case', `${b64url({ alg: 'NoNe' })}.${p}.${sig}`, undefined],
    ['no alg', `${b64url({ typ: 'JWT' })}.${p}.${sig}`, undefined],
    ['alg not a string', `${b64url({ alg: 1 })}.${p}.${sig}`, undefined],
    ['a header that is not an object', `${b64url(['alg'])}.${p}.${sig}`, undefined],
    ['a header that is not JSON', `eyJhbGciOi.${p}.${sig}`, undefined],
    ['a payload that is not JSON-looking', `${h}.${b64url('x').replace(/^eyJ/, 'abc')}xxxxxxx.${sig}`, undefined],
    ['two dots between parts', `${h}..${p}.${sig}`, undefined],
    ['a space between parts', `${h}. ${p}.${sig}`, undefined],
    ['a short payload', `${h}.eyJhYi.${sig}`, undefined],
    ['a 7-character payload', `${h}.eyJhYiJ9.${sig}`, 'signed JWT'],
    ['only two parts', `${h}.${p}`, undefined],
  ])('%s → %s', (_label, text, kind) => {
    expect(secretKind(text)).toBe(kind);
  });

  it('a JWT beats an API key anywhere in the text, and a published record JWS is not a bearer token', () => {
    const jwt = `${h}.${p}.${sig}`;
    expect(secretKind(`${jwt} sk-${run(16)}`)).toBe('signed JWT');
    expect(secretKind(jwt, { publicJws: true })).toBeUndefined();
  });
});

describe('PEM private keys', () => {
  it.each([
    ['-----BEGIN PRIVATE KEY-----', true],
    ['-----BEGIN RSA PRIVATE KEY-----', true],
    ['-----BEGIN EC PRIVATE KEY-----', true],
    ['-----BEGIN ENCRYPTED PRIVATE KEY-----', true],
    ['-----BEGIN PGP PRIVATE KEY BLOCK-----', true],
    ['-----BEGIN PGP PUBLIC KEY BLOCK-----', false],
    ['-----BEGIN PUBLIC KEY-----', false],
    ['-----BEGIN CERTIFICATE-----', false],
    ['-----BEGIN rsa private key-----', false],
    ['-----BEGIN PRIVATE  KEY-----', false],
    ['-----BEGIN KEY PRIVATE-----', false],
    ['-----BEGIN -----', false],
    [`-----BEGIN ${'A '.repeat(40)}PRIVATE KEY-----`, false],
    ['-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n-----BEGIN PRIVATE KEY-----', true],
  ])('%s → private: %s', (text, yes) => {
    expect(secretKind(text)).toBe(yes ? 'private key (PEM)' : undefined);
  });
});

describe('long random strings', () => {
  it.each([
    ['41 random base64url characters', randomish(41), 'long random string'],
    ['40 random base64url characters', randomish(40), undefined],
    ['random base64 with + and /', `${randomish(30)}+/${randomish(20, 3)}`, 'long random string'],
    ['64 hex digits', hexish(64), 'long random string'],
    ['64 upper-case hex digits', hexish(64).toUpperCase(), 'long random string'],
    ['hex without letters', '1234567890'.repeat(5), undefined],
    ['hex without digits', 'abcdefabcdefabcdefabcdefabcdefabcdefabcdefabcdef', undefined],
    ['hex of low entropy', 'a1'.repeat(30), undefined],
    ['letters and digits of one case', randomish(60).toLowerCase().replace(/[-_]/g, 'q'), undefined],
    ['no digits', randomish(60).replace(/[0-9]/g, 'x'), undefined],
    ['a long CamelCase name with a digit', 'ProcurementAssistantProductionEuropeWestRelease2', undefined],
    ['words separated by spaces', `${randomish(30)} ${randomish(30, 9)}`, undefined],
    ['words separated by a no-break space', `${randomish(30)}\u00a0${randomish(30, 9)}`, undefined],
    ['words separated by an ideographic space', `${randomish(30)}\u3000${randomish(30, 9)}`, undefined],
    ['after "key="', `key=${randomish(41)}`, 'long random string'],
    ['split by "="', `${randomish(30)}=${randomish(30, 9)}`, undefined],
    ['a URL path of short segments', `https://example.com/${randomish(30)}/${randomish(30, 9)}`, undefined],
    ['a URL with a long segment', `https://example.com/a/${randomish(45)}`, 'long random string'],
    ['a path that is not a URL is one run', `${randomish(30)}/${randomish(30, 9)}`, 'long random string'],
    ['a UUID inside a run cuts it', `${randomish(30)}7f3e1c2a-9b8d-4e6f-a1b2-c3d4e5f60718${randomish(30, 9)}`, undefined],
  ])('%s → %s', (_label, text, kind) => {
    expect(secretKind(text)).toBe(kind);
  });

  it('hash-valued attributes and certificates are exempt from this rule only', () => {
    expect(secretKind(hexish(64), { hashValued: true })).toBeUndefined();
    expect(secretKind(randomish(50), { certificate: true })).toBeUndefined();
    expect(secretKind(`sk-${run(16)}`, { hashValued: true })).toBe('API key');
  });
});

describe('DER private keys (x509Certificates values)', () => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const der = (k: { export(o: object): Buffer | string }, type: string) => (k.export({ type, format: 'der' }) as Buffer).toString('base64');
  it.each([
    ['PKCS#8 RSA', der(rsa.privateKey, 'pkcs8'), true],
    ['PKCS#1 RSA', der(rsa.privateKey, 'pkcs1'), true],
    ['SEC1 EC', der(ec.privateKey, 'sec1'), true],
    ['PKCS#8 EC', der(ec.privateKey, 'pkcs8'), true],
    ['PKCS#8 RSA, base64url', Buffer.from(der(rsa.privateKey, 'pkcs8'), 'base64').toString('base64url'), true],
    ['SPKI public key', der(rsa.publicKey, 'spki'), false],
    ['EC public key', der(ec.publicKey, 'spki'), false],
    ['too short', 'MIIBVQIBADANBgk', false],
    ['three padding characters', `${der(ec.privateKey, 'sec1')}===`, false],
    ['not base64', `${der(ec.privateKey, 'sec1').slice(0, 40)}!`, false],
    ['not a SEQUENCE', Buffer.from([0x31, 0x05, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0, 0, 0, 0]).toString('base64'), false],
    ['a short SEQUENCE with an INTEGER', Buffer.from([0x30, 0x0a, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0, 0, 0, 0]).toString('base64'), true],
    ['a long-form SEQUENCE with an INTEGER', Buffer.from([0x30, 0x81, 0x0a, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0, 0, 0]).toString('base64'), true],
    ['a long-form SEQUENCE with a SEQUENCE', Buffer.from([0x30, 0x81, 0x0a, 0x30, 0x01, 0x00, 0x02, 0x01, 0x00, 0, 0, 0]).toString('base64'), false],
  ])('%s', (_label, b64, want) => {
    expect(isDerPrivateKey(b64)).toBe(want);
  });

  it('judged only in x509Certificates[].value; elsewhere the other rules apply', () => {
    const key = der(ec.privateKey, 'pkcs8');
    expect(findSecrets({ x509Certificates: [{ value: key }] })).toEqual([{ where: 'x509Certificates[0].value', kind: 'private key (DER)' }]);
    expect(findSecrets({ x509Certificates: [{ value: der(ec.publicKey, 'spki') }] })).toEqual([]);
    expect(findSecrets({ x509Certificates: [{ display: key }] })).toEqual([{ where: 'x509Certificates[0].display', kind: 'long random string' }]);
    expect(findSecretsInRequest({ Operations: [{ op: 'add', path: 'x509Certificates', value: [{ value: key }] }] })).toEqual([
      { where: 'Operations[0].value[0].value', kind: 'private key (DER)' },
    ]);
    expect(findSecretsInRequest({ Operations: [{ op: 'replace', path: 'x509Certificates[type eq "x"].value', value: key }] })).toEqual([
      { where: 'Operations[0].value', kind: 'private key (DER)' },
    ]);
  });
});

describe('where a finding is reported', () => {
  const key = `sk-${run(16)}`;
  it.each([
    ['a bare string', key, [{ where: '(body)', kind: 'API key' }]],
    ['a member', { a: key }, [{ where: 'a', kind: 'API key' }]],
    ['nested', { a: { b: [1, { c: key }] } }, [{ where: 'a.b[1].c', kind: 'API key' }]],
    ['an array', [key, 'x', key], [{ where: '[0]', kind: 'API key' }, { where: '[2]', kind: 'API key' }]],
    ['a member name at the top', { [key]: 'x' }, [{ where: '(body) (a member name)', kind: 'API key' }]],
    ['a member name inside', { a: { [key]: 'x' } }, [{ where: 'a (a member name)', kind: 'API key' }]],
    ['in document order', { z: key, a: { [key]: key } }, [{ where: 'z', kind: 'API key' }, { where: 'a (a member name)', kind: 'API key' }, { where: 'a.(a member name)', kind: 'API key' }]],
    ['numbers, booleans and null', { a: 1, b: true, c: null }, []],
  ])('%s', (_label, body, want) => {
    expect(findSecrets(body)).toEqual(want);
  });

  it('a long member name is shortened in the path', () => {
    const name = 'n'.repeat(150);
    expect(findSecrets({ [name]: key })).toEqual([{ where: `${'n'.repeat(100)}…`, kind: 'API key' }]);
    expect(findSecrets({ [name.slice(0, 100)]: key })).toEqual([{ where: 'n'.repeat(100), kind: 'API key' }]);
  });

  it('the attribute a value is assigned to comes from its member name, URN-qualified or not', () => {
    const hex = hexish(64);
    expect(findSecrets({ 'urn:x:Agent:keyThumbprint': hex })).toEqual([]);
    expect(findSecrets({ 'urn:x:Agent': { credentials: [{ keyThumbprint: hex, externalId: hex, policyHash: hex, recordHash: hex }] } })).toEqual([]);
    expect(findSecrets({ KeyThumbprint: hex })).toEqual([]);
    expect(findSecrets({ keyThumbprintX: hex })).toEqual([{ where: 'keyThumbprintX', kind: 'long random string' }]);
  });

  it('a context names the attribute of a bare value', () => {
    expect(findSecrets(hexish(64), 'v', ['credentials', 'keyThumbprint'])).toEqual([]);
    expect(findSecrets(hexish(64), 'v', ['x509Certificates', 'value'])).toEqual([]);
    expect(findSecrets(hexish(64), 'v', ['description'])).toEqual([{ where: 'v', kind: 'long random string' }]);
  });
});

describe('findSecretsInRequest', () => {
  const key = `sk-${run(16)}`;
  const hex = hexish(64);
  it.each([
    ['a resource', { schemas: ['x'], description: key }, [{ where: 'description', kind: 'API key' }]],
    ['a non-object body', [key], [{ where: '[0]', kind: 'API key' }]],
    ['Operations that are not a list', { Operations: { value: key } }, [{ where: 'Operations.value', kind: 'API key' }]],
    ['members beside Operations', { schemas: [key], Operations: [] }, [{ where: 'schemas[0]', kind: 'API key' }]],
    ['an operation that is not an object', { Operations: [key] }, [{ where: 'Operations[0]', kind: 'API key' }]],
    ['a value without a path', { Operations: [{ op: 'add', value: { description: key } }] }, [{ where: 'Operations[0].value.description', kind: 'API key' }]],
    ['a value without a path, judged by its members', { Operations: [{ op: 'add', value: { keyThumbprint: hex } }] }, []],
    ['a path that is not a string', { Operations: [{ op: 'add', path: [key], value: 'x' }] }, [{ where: 'Operations[0].path[0]', kind: 'API key' }]],
    ['a path that is a secret', { Operations: [{ op: 'add', path: key, value: 'x' }] }, [{ where: 'Operations[0].path', kind: 'API key' }]],
    ['another member of an operation', { Operations: [{ op: 'add', extra: key }] }, [{ where: 'Operations[0].extra', kind: 'API key' }]],
    ['a lower-case operations member', { operations: [{ op: 'add', path: 'description', value: key }] }, [{ where: 'Operations[0].value', kind: 'API key' }]],
    ['a URN path to a hash-valued attribute', { Operations: [{ op: 'add', path: 'urn:x:1.0:Agent:credentials[credentialId eq "a"].keyThumbprint', value: hex }] }, []],
    ['the second operation', { Operations: [{ op: 'add', path: 'a', value: 'x' }, { op: 'add', path: 'b', value: key }] }, [{ where: 'Operations[1].value', kind: 'API key' }]],
  ])('%s', (_label, body, want) => {
    expect(findSecretsInRequest(body)).toEqual(want);
  });

  it('discarded attributes: the value is unread, the name is still judged; a discarded path skips its value', () => {
    const discarded = ['Password'];
    expect(findSecretsInRequest({ PASSWORD: hex }, { discarded })).toEqual([]);
    expect(findSecretsInRequest({ password: hex, title: hex }, { discarded })).toEqual([{ where: 'title', kind: 'long random string' }]);
    expect(findSecretsInRequest({ Operations: [{ op: 'replace', path: ' password ', value: hex }] }, { discarded })).toEqual([]);
    expect(findSecretsInRequest({ Operations: [{ op: 'replace', path: 'title', value: hex }] }, { discarded })).toEqual([{ where: 'Operations[0].value', kind: 'long random string' }]);
    expect(findSecretsInRequest({ Operations: [{ op: 'replace', value: { password: hex } }] }, { discarded })).toEqual([]);
    expect(findSecretsInRequest({ Operations: [{ op: 'replace', value: { password: hex } }] })).toEqual([{ where: 'Operations[0].value.password', kind: 'long random string' }]);
    expect(findSecretsInRequest({ Operations: [{ op: 'replace', path: 'x', value: { password: hex } }] }, { discarded })).toEqual([{ where: 'Operations[0].value.password', kind: 'long random string' }]);
  });
});
