// Issue 10, finding 1: the secret scanner reads each string once (its speed on adversarial input is
// measured by npm run bench:secrets and the "1 MB adversarial body" phase of npm run bench, never
// timed here). What it must still find, whatever surrounds it:

import { describe, expect, it } from 'vitest';
import { findSecrets, findSecretsInRequest, secretKind } from '../../../src/agents/secrets.js';

/** `unit` repeated to `length` characters. */
const fill = (unit: string, length: number): string => unit.repeat(Math.ceil(length / unit.length)).slice(0, length);

/** Every rule's prefix and alphabet, each shaped to make a backtracking pattern rescan its tail. */
const ADVERSARIAL: Record<string, string> = {
  'JWT header start': 'eyJ',
  'JWT-like triples': 'eyJhbGciOi.eyJzdWIi.',
  'long JWT-like runs': `eyJ${'A'.repeat(997)}.`,
  'OpenAI prefix': 'sk-',
  'Stripe prefix': 'sk_live_',
  'GitHub prefix': 'ghp_',
  'GitHub PAT prefix': 'github_pat_',
  'GitLab prefix': 'glpat-',
  'Slack prefix': 'xoxb-',
  'AWS prefix': 'AKIA',
  'Google prefix': 'AIza',
  'agentroster prefix': 'art_',
  'PEM header': '-----BEGIN ',
  'PEM header with words': '-----BEGIN A B C D ',
  'dotted letters': 'a.',
  'dashed letters': 'a-',
  'words of three classes': 'aB3 ',
  'UUID starts': '0123abcd-',
  'almost UUIDs': '0123abcd-0123-0123-0123-',
  'URL scheme': 'http://',
  'URL path segments': 'https://x/a/',
  'base64 padding': 'aB3=',
  'unclosed filters': '[',
  mixed: 'eyJhbGci.eyJsk-a.xoxb------BEGIN AKIA[ghp_',
};

const PROSE = 'Matches supplier invoices to purchase orders and routes exceptions to the AP team (sk-less, eyJ-free). ';

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
