// Issue 10, finding 1: the secret scanner reads each string once (its speed on adversarial input is
// measured by npm run bench:secrets and the "1 MB adversarial body" phase of npm run bench, never
// timed here). What it must still find, whatever surrounds it:

import { describe, expect, it } from 'vitest';
import { findSecrets, findSecretsInRequest, secretKind } from '../../../src/agents/secrets.js';
import { ADVERSARIAL, fill, PROSE } from '../../fixtures/adversarial-text.js';


describe('a secret after adversarial text', () => {
  it('is found at the end of 100 KB of each shape', () => {
    const jwt = `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from('{"sub":"x"}').toString('base64url')}.${'Qx9'.repeat(20)}`;
    for (const [secret, kind] of [
      [jwt, 'signed JWT'],
      ['sk-proj-4Fh3kQ9zLm2Xv8RtYw1BnC6dPq', 'API key'],
      ['-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----', 'private key (PEM)'],
    ] as const) {
      for (const [label, unit] of Object.entries(ADVERSARIAL)) {
        expect(secretKind(`${fill(unit, 100_000)} ${secret}`), `${label} then ${kind}`).toBe(kind);
      }
    }
  });

  it('in a PATCH path or a member name made of adversarial units', () => {
    for (const unit of ['[', '[a', '[a]', 'eyJ', 'a.', 'a:']) {
      const filler = fill(unit, 50_000);
      expect(findSecrets({ [`${filler} sk-proj-4Fh3kQ9zLm2Xv8RtYw1BnC6dPq`]: 1 }).map((f) => f.kind), unit).toEqual(['API key']);
      expect(findSecretsInRequest({ Operations: [{ op: 'remove', path: `${filler} ghp_${'a1B2'.repeat(9)}` }] }).map((f) => f.kind), unit).toEqual(['API key']);
    }
  });
});

describe('what the linear scanner must still find', () => {
  it('deeply nested JSON is scanned without overflowing the stack', () => {
    let deep: unknown = 'sk-proj-4Fh3kQ9zLm2Xv8RtYw1BnC6dPq';
    for (let i = 0; i < 100_000; i++) deep = i % 2 === 0 ? [deep] : { a: deep };
    expect(findSecrets(deep).map((f) => f.kind)).toEqual(['API key']);
  });

  it('a real secret after adversarial text is found, whatever the text', () => {
    const jwt = `${Buffer.from('{"alg":"RS256"}').toString('base64url')}.${Buffer.from('{"sub":"x"}').toString('base64url')}.${'Qx9'.repeat(20)}`;
    for (const unit of Object.values(ADVERSARIAL)) {
      for (const [secret, kind] of [
        [jwt, 'signed JWT'],
        ['sk-proj-4Fh3kQ9zLm2Xv8RtYw1BnC6dPq', 'API key'],
        ['-----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY-----', 'private key (PEM)'],
      ] as const) {
        const found = secretKind(`${fill(unit, 2_000)} ${secret}`);
        // adversarial text may itself look like a secret (a JWT-like triple wins over a key): only "nothing found" is wrong
        expect(found, `${JSON.stringify(unit)} then ${kind}`).toBeDefined();
        expect(secretKind(`${fill(PROSE, 2_000)} ${secret}`)).toBe(kind);
      }
    }
  });
});
