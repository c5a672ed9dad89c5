// R10: behaviours of the secret scanner that mutation testing showed no test held — each one a
// secret that would get through or an innocent value that would be refused if the rule moved.
// Through the functions the rest of the code calls (secretKind, findSecrets, findSecretsInRequest).
// Every input is fixed and no test name embeds generated data: mutation testing runs each test
// by its name, and a name that changes from run to run is a test that never runs for a mutant.

import { describe, expect, it } from 'vitest';
import { findSecrets, findSecretsInRequest, secretKind } from '../../../src/agents/secrets.js';

const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
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
const KEY = 'sk-aB3dE5gH7jK9mN1p';
const HEX = 'a3f1c9e07b2d4e6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e2f';

describe('word boundaries are exactly the JavaScript whitespace characters (\\s)', () => {
  // A base64 secret holds "/": after a URL it is judged as its own word only if a space ends the URL
  // (inside a URL, "/" separates path segments and each counts alone).
  const secret = `${randomish(30)}/${randomish(30, 9)}`;
  const afterUrl = (sep: string) => `https://docs.example.com/runbook${sep}${secret}`;

  it.each([
    ['tab', '\t'],
    ['line feed', '\n'],
    ['vertical tab', '\v'],
    ['form feed', '\f'],
    ['carriage return', '\r'],
    ['space', ' '],
    ['no-break space', '\u00a0'],
    ['ogham space mark', '\u1680'],
    ['en quad', '\u2000'],
    ['four-per-em space', '\u2005'],
    ['hair space', '\u200a'],
    ['line separator', '\u2028'],
    ['paragraph separator', '\u2029'],
    ['narrow no-break space', '\u202f'],
    ['medium mathematical space', '\u205f'],
    ['ideographic space', '\u3000'],
    ['zero-width no-break space', '\ufeff'],
  ])('a %s ends the URL before a secret', (_label, sep) => {
    expect(secretKind(afterUrl(sep))).toBe('long random string');
  });

  it('no other UTF-16 code unit ends a word (the secret stays a segment of the URL)', () => {
    const boundaries: string[] = [];
    for (let c = 0; c <= 0xffff; c++) {
      const sep = String.fromCharCode(c);
      if (/\s/.test(sep)) continue;
      if (secretKind(afterUrl(sep)) !== undefined) boundaries.push(`U+${c.toString(16).padStart(4, '0')}`);
    }
    expect(boundaries).toEqual([]);
  });

  it('a URL later in a sentence is still a URL: its short segments are not one long string', () => {
    const text = `Runbook for the procurement assistant agent: https://wiki.example.com/${randomish(30)}/${randomish(30, 9)}`;
    expect(secretKind(text)).toBeUndefined();
  });
});

describe('API key prefixes after punctuation that is not a letter or digit', () => {
  it.each([
    ['in braces', `{${KEY}}`],
    ['after a tilde', `~${KEY}`],
    ['in guillemets', `«${KEY}»`],
    ['after a pipe', `token|${KEY}`],
  ])('%s', (_label, text) => {
    expect(secretKind(text)).toBe('API key');
  });
});

describe('PEM labels', () => {
  it.each([
    ['PRIVATE KEY', 'private key (PEM)'],
    ['EC PRIVATE KEY', 'private key (PEM)'],
    ['PGP PRIVATE KEY BLOCK', 'private key (PEM)'],
    ['PRIVATE NOTES', undefined],
    ['RSA PRIVATE', undefined],
    ['PGP PRIVATE BLOCK', undefined],
    ['<type> PRIVATE KEY', undefined],
    ['... PRIVATE KEY', undefined],
  ])('-----BEGIN %s----- → %s', (label, kind) => {
    expect(secretKind(`-----BEGIN ${label}-----\nMIIB`)).toBe(kind);
  });

  it('a description showing the header format with a placeholder is not a key', () => {
    expect(secretKind('Paste the key as issued (-----BEGIN <type> PRIVATE KEY-----) into the vault')).toBeUndefined();
  });

  it('a label of 64 characters is read; one of 65 is longer than any label', () => {
    const label = (n: number) => `${'A'.repeat(n - ' PRIVATE KEY'.length)} PRIVATE KEY`;
    expect(label(64)).toHaveLength(64);
    expect(secretKind(`-----BEGIN ${label(64)}-----`)).toBe('private key (PEM)');
    expect(secretKind(`-----BEGIN ${label(65)}-----`)).toBeUndefined();
  });

  it('a header without its closing dashes is not one, even when a line break follows', () => {
    expect(secretKind('-----BEGIN RSA PRIVATE KEY\n')).toBeUndefined();
    expect(secretKind('-----BEGIN PRIVATE KEY.')).toBeUndefined();
  });
});

describe('JWT shape', () => {
  const h = b64url({ alg: 'ES256' });
  const p = b64url({ sub: 'x' });
  const sig = randomish(16);
  it.each([
    ['a space instead of the first dot', `${h} ${p}.${sig}`, undefined],
    ['a space instead of the second dot', `${h}.${p} ${sig}`, undefined],
    ['two dots before the signature', `${h}.${p}..${sig}`, undefined],
    ['a 7-character payload', `${h}.eyJhYiJ.${sig}`, 'signed JWT'],
    ['a one-character prefix glued to the header', `_${h}.${p}.${sig}`, 'signed JWT'],
  ])('%s', (_label, text, kind) => {
    expect(secretKind(text)).toBe(kind);
  });
});

describe('long random strings at the edges of the rule', () => {
  it.each([
    ['hex of exactly 3 bits per character (8 symbols, evenly)', '0123abcd'.repeat(6), 'long random string'],
    ['hex just under 3 bits per character, at the end of the text', `${'0123abcd'.repeat(5)}0`, undefined],
    ['hex just under 3 bits per character, before a space', `${'0123abcd'.repeat(5)}0 ok`, undefined],
    ['upper-case letters and digits only (one case)', randomish(60).toUpperCase().replace(/[-_]/g, 'Q'), undefined],
    ['lower-case letters, digits, - and _ (one case)', randomish(60).toLowerCase(), undefined],
    ['hex joined by a slash, like a git object path', 'da/39a3ee5e6b4b0d3255bfef95601890afd80709', undefined],
    ['a UUID that ends the value cuts the run', `${randomish(30)}7f3e1c2a-9b8d-4e6f-a1b2-c3d4e5f60718`, undefined],
  ])('%s', (_label, text, kind) => {
    expect(secretKind(text)).toBe(kind);
  });
});

describe('DER private keys in x509Certificates values', () => {
  /** a SEQUENCE whose first element is an INTEGER, padded with zero bytes to `n` bytes */
  const derKey = (n: number, tail: number[] = []) => {
    const bytes = [0x30, n - 2, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, ...tail];
    while (bytes.length < n) bytes.push(0);
    return Buffer.from(bytes);
  };
  const judged = (value: string) => findSecrets({ x509Certificates: [{ value }] });
  const found = [{ where: 'x509Certificates[0].value', kind: 'private key (DER)' }];

  it.each([
    ['no padding', derKey(12).toString('base64'), found],
    ['one padding character', derKey(14).toString('base64'), found],
    ['two padding characters', derKey(13).toString('base64'), found],
    ['three padding characters', `${derKey(12).toString('base64')}===`, []],
    ['a character outside base64', `${derKey(12).toString('base64')}!`, []],
    ['base64url (- and _)', derKey(12, [0xfb, 0xff, 0xbf, 0xff]).toString('base64url'), found],
    ['a trailing line break, as pasted', `${derKey(13).toString('base64')}\n`, found],
  ])('%s', (_label, value, want) => {
    expect(judged(value)).toEqual(want);
  });

  it('the inputs above have the shapes their names say', () => {
    expect(derKey(14).toString('base64')).toMatch(/[^=]=$/);
    expect(derKey(13).toString('base64')).toMatch(/[^=]==$/);
    expect(derKey(12, [0xfb, 0xff, 0xbf, 0xff]).toString('base64url')).toMatch(/[-_]/);
  });
});

describe('where each rule applies', () => {
  it('any other attribute named "value" is not a certificate: a random secret there is found', () => {
    expect(findSecrets({ emails: [{ value: HEX }] })).toEqual([{ where: 'emails[0].value', kind: 'long random string' }]);
    expect(findSecretsInRequest({ Operations: [{ op: 'add', path: 'emails[type eq "work"].value', value: HEX }] })).toEqual([
      { where: 'Operations[0].value', kind: 'long random string' },
    ]);
  });

  it('a published record JWS is exempt as a JWT only: an API key in it is still found', () => {
    expect(findSecrets({ attestation: { recordJws: KEY } })).toEqual([{ where: 'attestation.recordJws', kind: 'API key' }]);
  });

  it('with discarded attributes (a User), a body or a path-less PATCH value that is not an object is still scanned whole', () => {
    const discarded = ['password'];
    expect(findSecretsInRequest(KEY, { discarded })).toEqual([{ where: '(body)', kind: 'API key' }]);
    expect(findSecretsInRequest([KEY], { discarded })).toEqual([{ where: '[0]', kind: 'API key' }]);
    expect(findSecretsInRequest({ Operations: [{ op: 'add', value: KEY }] }, { discarded })).toEqual([{ where: 'Operations[0].value', kind: 'API key' }]);
    expect(findSecretsInRequest({ Operations: [{ op: 'add', value: [KEY] }] }, { discarded })).toEqual([{ where: 'Operations[0].value[0]', kind: 'API key' }]);
  });

  it('a null body is scanned (nothing found) rather than thrown on; a member named "undefined" is not the Operations list', () => {
    expect(findSecretsInRequest(null)).toEqual([]);
    expect(findSecretsInRequest(null, { discarded: ['password'] })).toEqual([]);
    expect(findSecretsInRequest({ undefined: [KEY] })).toEqual([{ where: 'undefined[0]', kind: 'API key' }]);
  });
});
