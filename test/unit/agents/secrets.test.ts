// R10: the secret detector. What must be caught, what must pass (public material, ids, URLs).

import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { findSecrets, findSecretsInRequest, isDerPrivateKey, secretKind } from '../../../src/agents/secrets.js';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 1024 });
const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');

/** Random-looking bytes from a fixed seed (mulberry32): the same "secrets" on every run. */
const SEED = 0x5eed_0010;
let state = SEED;
function randomBytes(n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    out[i] = ((t ^ (t >>> 14)) >>> 0) & 0xff;
  }
  return out;
}

describe('secretKind', () => {
  it.each([
    ['PEM private key', privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), 'private key (PEM)'],
    ['OpenSSH private key', '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEA\n-----END OPENSSH PRIVATE KEY-----', 'private key (PEM)'],
    ['OpenAI key', 'sk-proj-AbCdEfGh1234567890XyZ', 'API key'],
    ['Anthropic key', 'sk-ant-api03-AbCdEfGh1234567890', 'API key'],
    ['Stripe key', 'sk_live_51HabcdEFGHijklMNOPq', 'API key'],
    ['GitHub token', `ghp_${'A1b2C3d4E5'.repeat(4)}`, 'API key'],
    ['Slack token', 'xoxb-123456789012-abcdefABCDEF', 'API key'],
    ['AWS access key id', 'AKIAIOSFODNN7EXAMPLE', 'API key'],
    ['agentroster token', `art_${randomBytes(32).toString('base64url')}`, 'API key'],
    ['signed JWT', `${b64url({ alg: 'ES256' })}.${b64url({ sub: 'x' })}.${randomBytes(64).toString('base64url')}`, 'signed JWT'],
    ['64 hex', randomBytes(32).toString('hex'), 'long random string'],
    ['base64 secret', randomBytes(33).toString('base64'), 'long random string'],
    ['base64url secret in a sentence', `the key is ${randomBytes(33).toString('base64url')} ok`, 'long random string'],
    ['secret as a URL query value', `https://vault.example.com/s?key=${randomBytes(32).toString('hex')}`, 'long random string'],
  ])('%s', (_label, text, kind) => {
    expect(secretKind(text)).toBe(kind);
  });

  it.each([
    ['a UUID', '7f3e1c2a-9b8d-4e6f-a1b2-c3d4e5f60718'],
    ['a URL with a UUID', 'https://roster.example.com/scim/v2/Entitlements/7f3e1c2a-9b8d-4e6f-a1b2-c3d4e5f60718'],
    ['a long slug', 'procurement-assistant-production-eu-west-1-v2-final-release'],
    ['CamelCase words', 'ProcurementAssistantProductionEuropeWestReleaseCandidate2'],
    ['40 hex (SHA-1)', 'da39a3ee5e6b4b0d3255bfef95601890afd80709'],
    ['prose', 'Matches supplier invoices to purchase orders and routes exceptions to the AP team'],
    ['an unsigned JWT', `${b64url({ alg: 'none' })}.${b64url({ sub: 'x' })}.`],
    ['a SPIFFE id', 'spiffe://example.org/ns/agents/sa/procurement-assistant'],
    ['sk- in a word', 'task-scheduler-risk-assessment'],
  ])('not a secret: %s', (_label, text) => {
    expect(secretKind(text)).toBeUndefined();
  });

  it('hash-valued attributes may hold long hashes; certificates are public, DER private keys are not', () => {
    const sha256 = randomBytes(32).toString('hex');
    expect(secretKind(sha256, { hashValued: true })).toBeUndefined();
    const der = privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64');
    const spki = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    expect(isDerPrivateKey(der)).toBe(true);
    expect(isDerPrivateKey(spki)).toBe(false);
    expect(secretKind(der, { certificate: true })).toBe('private key (DER)');
    expect(secretKind('MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAw', { certificate: true })).toBeUndefined();
  });
});

describe('findSecrets / findSecretsInRequest', () => {
  const hex = randomBytes(32).toString('hex');
  it('names where, never what; keyThumbprint and policyHash are judged as hashes', () => {
    const found = findSecrets({ credentials: [{ credentialId: hex, keyThumbprint: hex }], actionPolicies: [{ policyHash: hex }] });
    expect(found).toEqual([{ where: 'credentials[0].credentialId', kind: 'long random string' }]);
    expect(JSON.stringify(found)).not.toContain(hex);
  });
  it('a PATCH operation is judged by its path', () => {
    expect(findSecretsInRequest({ Operations: [{ op: 'add', path: 'urn:x:y:1.0:Agent:credentials[credentialId eq "a"].keyThumbprint', value: hex }] })).toEqual([]);
    expect(findSecretsInRequest({ Operations: [{ op: 'add', path: 'description', value: hex }] })).toEqual([{ where: 'Operations[0].value', kind: 'long random string' }]);
    expect(findSecretsInRequest({ Operations: [{ op: 'remove', path: `credentials[credentialId eq "${hex}"]` }] })).toEqual([{ where: 'Operations[0].path', kind: 'long random string' }]);
  });
  it('member names count too', () => {
    expect(findSecrets({ [`sk-${'a1B2'.repeat(5)}`]: 1 })[0]?.kind).toBe('API key');
  });
});

describe('what the linear scanner still finds', () => {
  const jwt = `${b64url({ alg: 'RS256' })}.${b64url({ sub: 'x' })}.${randomBytes(32).toString('base64url')}`;
  it.each([
    ['a JWT after JWT-looking noise', `eyJub3QuYQ.eyJub3Q.${'a'.repeat(20)} eyJ.eyJ. ${jwt}`, 'signed JWT'],
    ['a JWT with a prefix glued to it', `Bearer_${jwt}`, 'signed JWT'],
    ['a JWT and an API key: the JWT is named', `sk-proj-AbCdEfGh1234567890XyZ ${jwt}`, 'signed JWT'],
    ['an API key after - or _ inside a longer token', `vault_sk-proj-AbCdEfGh1234567890XyZ`, 'API key'],
    ['an API key after a dot', `x.sk-proj-AbCdEfGh1234567890XyZ`, 'API key'],
    ['an AWS key id at the end', 'id AKIAIOSFODNN7EXAMPLE', 'API key'],
    ['an encrypted PEM key', '-----BEGIN ENCRYPTED PRIVATE KEY-----\nMIIB', 'private key (PEM)'],
    ['a PGP private key block', '-----BEGIN PGP PRIVATE KEY BLOCK-----', 'private key (PEM)'],
    ['a random run next to a UUID', `7f3e1c2a-9b8d-4e6f-a1b2-c3d4e5f60718${randomBytes(33).toString('base64url')}`, 'long random string'],
  ])('%s', (_label, text, kind) => {
    expect(secretKind(text)).toBe(kind);
  });
  it.each([
    ['an AWS-like id one character too long', 'AKIAIOSFODNN7EXAMPLEX'],
    ['a public key PEM', '-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE'],
    ['a PEM header without its dashes', '-----BEGIN RSA PRIVATE KEY'],
    ['UUIDs joined by slashes', `7f3e1c2a-9b8d-4e6f-a1b2-c3d4e5f60718/7f3e1c2a-9b8d-4e6f-a1b2-c3d4e5f60719`],
  ])('not a secret: %s', (_label, text) => {
    expect(secretKind(text)).toBeUndefined();
  });

  it('PATCH members are read case-insensitively, like the PATCH parser reads them', () => {
    const hex = randomBytes(32).toString('hex');
    expect(findSecretsInRequest({ Operations: [{ op: 'add', Path: 'description', Value: hex }] })).toEqual([{ where: 'Operations[0].value', kind: 'long random string' }]);
    expect(findSecretsInRequest({ Operations: [{ op: 'add', PATH: 'credentials[credentialId eq "a"].keyThumbprint', VALUE: hex }] })).toEqual([]);
    expect(findSecretsInRequest({ Operations: [{ op: hex }] })).toEqual([{ where: 'Operations[0].op', kind: 'long random string' }]);
  });

  it('values the server discards unread (a password) are not judged; everything else still is', () => {
    const hex = randomBytes(32).toString('hex');
    const discarded = ['password', 'urn:ietf:params:scim:schemas:core:2.0:User:password'];
    expect(findSecretsInRequest({ userName: 'u', password: hex }, { discarded })).toEqual([]);
    expect(findSecretsInRequest({ userName: 'u', 'urn:ietf:params:scim:schemas:core:2.0:User:password': hex }, { discarded })).toEqual([]);
    expect(findSecretsInRequest({ Operations: [{ op: 'replace', path: 'password', value: hex }] }, { discarded })).toEqual([]);
    expect(findSecretsInRequest({ Operations: [{ op: 'replace', value: { password: hex, title: hex } }] }, { discarded })).toEqual([
      { where: 'Operations[0].value.title', kind: 'long random string' },
    ]);
    expect(findSecretsInRequest({ userName: 'u', password: hex })).toEqual([{ where: 'password', kind: 'long random string' }]);
  });

  it('a member name that is a secret is not echoed in the path of what lies under it', () => {
    const key = `sk-${'a1B2'.repeat(5)}`;
    const found = findSecrets({ outer: { [key]: { description: randomBytes(32).toString('hex') } } });
    expect(found.map((f) => f.kind)).toEqual(['API key', 'long random string']);
    expect(JSON.stringify(found)).not.toContain(key);
  });
});

describe('identifiers and published records are not secrets', () => {
  it('accepts a SHA-256 hex externalId and an echoed attestation.recordJws, still refuses a bearer JWT elsewhere', () => {
    const hexId = 'a3f1c9e07b2d4e6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f';
    const header = Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'JWT' })).toString('base64url');
    const payload = Buffer.from(JSON.stringify({ sub: 'agent-1', iat: 1 })).toString('base64url');
    const jws = `${header}.${payload}.${'A'.repeat(86)}`;
    expect(findSecrets({ externalId: hexId })).toEqual([]);
    expect(findSecrets({ attestation: { recordJws: jws } })).toEqual([]);
    expect(findSecrets({ description: jws })).toEqual([{ where: 'description', kind: 'signed JWT' }]);
    expect(findSecrets({ nickName: hexId })).toEqual([{ where: 'nickName', kind: 'long random string' }]);
  });
});
