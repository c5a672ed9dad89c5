// R10: agentroster stores credential identifiers and metadata, never secrets. This finds values
// that look like secrets anywhere in a request body — keys included — so that they are rejected
// before any parser, validator, log line, audit event or error message can see them. Findings name
// where (a JSON path) and what kind, never the value. Pure.

import { isObj } from './util.js';

export type SecretKind =
  | 'private key (PEM)'
  | 'private key (DER)'
  | 'signed JWT'
  | 'API key'
  | 'long random string';

export interface SecretFinding {
  /** where in the body, e.g. "urn:…:Agent.credentials[0].credentialId" or "Operations[1].value" */
  where: string;
  kind: SecretKind;
}

const PEM_PRIVATE = /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/;
const API_KEY_PATTERNS: readonly RegExp[] = [
  /(?:^|[^A-Za-z0-9])sk-[A-Za-z0-9_-]{16,}/, // OpenAI, Anthropic (sk-ant-…), many others
  /(?:^|[^A-Za-z0-9])sk_(?:live|test)_[A-Za-z0-9]{16,}/, // Stripe
  /(?:^|[^A-Za-z0-9])(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{30,}/, // GitHub
  /github_pat_[A-Za-z0-9_]{30,}/,
  /glpat-[A-Za-z0-9_-]{20,}/, // GitLab
  /(?:^|[^A-Za-z0-9])xox[abposr]-[A-Za-z0-9-]{10,}/, // Slack
  /(?:^|[^A-Za-z0-9])(?:AKIA|ASIA)[0-9A-Z]{16}(?![0-9A-Z])/, // AWS access key id
  /(?:^|[^A-Za-z0-9])AIza[0-9A-Za-z_-]{35}/, // Google API key
  /(?:^|[^A-Za-z0-9])art_[A-Za-z0-9_-]{40,}/, // agentroster's own bearer tokens
];
const JWT = /eyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{16,}/;
const RUN = /[A-Za-z0-9+/_-]{41,}={0,2}/g; // '=' only as base64 padding: "key=<secret>" is a name and a secret

/**
 * Attributes whose values are legitimately long hashes or public material: the long-random-string
 * rule does not apply to them (the other rules still do).
 */
const HASH_VALUED = new Set(['keythumbprint', 'policyhash', 'recordhash', 'recordjws']);

function entropy(s: string): number {
  const counts = new Map<string, number>();
  for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
  let h = 0;
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}

/** A run of 41+ base64/hex characters that is random, not a long word or a slug. */
function isRandomRun(run: string): boolean {
  const body = run.replace(/=+$/, '');
  if (body.length <= 40) return false;
  if (/^[0-9a-fA-F]+$/.test(body)) return /[0-9]/.test(body) && /[a-fA-F]/.test(body) && entropy(body) >= 3.0;
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/].filter((r) => r.test(body)).length;
  if (classes < 3) return false;
  // slugs and CamelCase phrases have few distinct characters per length; random base64 has many
  return entropy(body) >= 4.3;
}

function isSignedJwt(text: string): boolean {
  const m = JWT.exec(text);
  if (!m) return false;
  const [h] = m[0].split('.');
  try {
    const header = JSON.parse(Buffer.from(h ?? '', 'base64url').toString('utf8')) as unknown;
    return isObj(header) && typeof header.alg === 'string' && header.alg.toLowerCase() !== 'none';
  } catch {
    return false;
  }
}

/** A base64 DER blob whose outer SEQUENCE starts with an INTEGER: PKCS#1/#8 or SEC1 private key. */
export function isDerPrivateKey(base64: string): boolean {
  if (!/^[A-Za-z0-9+/_-]+={0,2}$/.test(base64) || base64.length < 16) return false;
  const der = Buffer.from(base64, /[-_]/.test(base64) ? 'base64url' : 'base64');
  if (der.length < 8 || der[0] !== 0x30) return false;
  const lenByte = der[1] ?? 0;
  const headerLen = lenByte < 0x80 ? 2 : 2 + (lenByte & 0x7f);
  return der[headerLen] === 0x02; // a certificate starts with another SEQUENCE (0x30)
}

/** The kind of secret a single string looks like, if any. */
export function secretKind(text: string, opts: { hashValued?: boolean; certificate?: boolean } = {}): SecretKind | undefined {
  if (PEM_PRIVATE.test(text)) return 'private key (PEM)';
  if (opts.certificate && isDerPrivateKey(text.trim())) return 'private key (DER)';
  if (isSignedJwt(text)) return 'signed JWT';
  if (API_KEY_PATTERNS.some((r) => r.test(text))) return 'API key';
  if (!opts.hashValued && !opts.certificate) {
    for (const m of randomCandidates(text).matchAll(RUN)) if (isRandomRun(m[0])) return 'long random string';
  }
  return undefined;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const URL_TOKEN = /^[a-z][a-z0-9+.-]*:\/\//i;

/**
 * The text the long-random-string rule looks at: identifiers that are random by design (UUIDs) are
 * not secrets, and in a URL the path segments count one by one ("/scim/v2/Entitlements/…" is not
 * one long string) — a secret in a URL's query or path segment is still found.
 */
function randomCandidates(text: string): string {
  return text
    .replace(UUID, ' ')
    .split(/\s+/)
    .map((token) => (URL_TOKEN.test(token) ? token.replace(/[/?&#]/g, ' ') : token))
    .join(' ');
}

function lastName(path: string): string {
  // "urn:…:Agent:credentials[credentialId eq \"x\"].keyThumbprint" → "keythumbprint"
  const noFilter = path.replace(/\[[^\]]*\]/g, '');
  const parts = noFilter.split(/[.:]/).filter(Boolean);
  return (parts[parts.length - 1] ?? '').toLowerCase();
}

/**
 * Every secret-looking string in a JSON value, with where it is. `context` names the attribute the
 * value is assigned to when the caller knows it (a PATCH operation's path).
 */
export function findSecrets(value: unknown, where = '', context: string[] = []): SecretFinding[] {
  const out: SecretFinding[] = [];
  const visit = (v: unknown, at: string, names: string[]): void => {
    if (typeof v === 'string') {
      const name = names[names.length - 1] ?? '';
      const parent = names[names.length - 2] ?? '';
      const certificate = parent === 'x509certificates' && name === 'value';
      const kind = secretKind(v, { hashValued: HASH_VALUED.has(name), certificate });
      if (kind) out.push({ where: at || '(body)', kind });
      return;
    }
    if (Array.isArray(v)) {
      v.forEach((x, i) => visit(x, `${at}[${i}]`, names));
      return;
    }
    if (!isObj(v)) return;
    for (const [k, x] of Object.entries(v)) {
      const keyKind = secretKind(k);
      const path = at ? `${at}.${k}` : k;
      if (keyKind) out.push({ where: `${at || '(body)'} (a member name)`, kind: keyKind });
      // a PATCH op's value is assigned to its path: the attribute names continue from there
      visit(x, path, [...names, ...k.split(/[.:]/).map((p) => p.toLowerCase()).filter(Boolean).slice(-1)]);
    }
  };
  visit(value, where, context.map((c) => c.toLowerCase()));
  return out;
}

/**
 * Secrets in a SCIM request body for a resource: a resource (POST/PUT) or a PatchOp. For PATCH the
 * attribute an operation targets comes from its path, so `{"path":"…credentials[…].keyThumbprint",
 * "value":"…"}` is judged as a thumbprint.
 */
export function findSecretsInRequest(body: unknown): SecretFinding[] {
  if (!isObj(body)) return findSecrets(body);
  const opsKey = Object.keys(body).find((k) => k.toLowerCase() === 'operations');
  const ops = opsKey === undefined ? undefined : body[opsKey];
  if (!Array.isArray(ops)) return findSecrets(body);
  const out: SecretFinding[] = [];
  const { [opsKey!]: _ops, ...rest } = body;
  out.push(...findSecrets(rest));
  ops.forEach((op, i) => {
    if (!isObj(op)) return;
    const path = typeof op.path === 'string' ? op.path : undefined;
    if (path !== undefined) {
      const k = secretKind(path);
      if (k) out.push({ where: `Operations[${i}].path`, kind: k });
    }
    const names = path === undefined ? [] : path.replace(/\[[^\]]*\]/g, '').split(/[.:]/).filter(Boolean);
    const tail = names.slice(-2);
    // x509Certificates[type eq "x"].value or x509Certificates (array of {value})
    const context = tail.length === 2 ? tail : path === undefined ? [] : [lastName(path)];
    out.push(...findSecrets(op.value, `Operations[${i}].value`, context));
  });
  return out;
}
