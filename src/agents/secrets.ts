// R10: agentroster stores credential identifiers and metadata, never secrets. This finds values
// that look like secrets anywhere in a request body — keys included — so that they are rejected
// before any parser, validator, log line, audit event or error message can see them. Findings name
// where (a JSON path) and what kind, never the value. Pure.
//
// Linear time by construction: the scan runs on every write, before anything else looks at the
// body, so one slow pattern freezes the server for everyone (issue 10: a JWT regex that rescanned
// the tail from every "eyJ" took minutes on a 1 MB body). No rule here is a regex tried at every
// start position with an unbounded quantifier: the text is cut once into maximal runs of token
// characters, and each rule does bounded work per run or per candidate position. Regexes that
// remain are either sticky with fixed-size quantifiers, or run once over an already bounded slice.

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

// ── character classes (char codes; every rule's alphabet is ASCII) ─────────────────────────────

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isUpper = (c: number): boolean => c >= 65 && c <= 90;
const isLower = (c: number): boolean => c >= 97 && c <= 122;
const isAlnum = (c: number): boolean => isDigit(c) || isUpper(c) || isLower(c);
/** base64url: the alphabet of JWTs and of every API key format below */
const isUrlToken = (c: number): boolean => isAlnum(c) || c === 45 /* - */ || c === 95 /* _ */;
/** base64 or base64url: the alphabet of the long-random-string rule */
const isB64 = (c: number): boolean => isUrlToken(c) || c === 43 /* + */ || c === 47 /* / */;
const isSpace = (c: number): boolean => c === 32 || (c >= 9 && c <= 13) || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;

/** The shortest string any rule can match ("xoxb-" + 10): shorter strings skip the scan. */
const MIN_SECRET_LENGTH = 15;

// ── PEM ─────────────────────────────────────────────────────────────────────────────────────────

const PEM_BEGIN = '-----BEGIN ';
/** longer than any real label ("ENCRYPTED PRIVATE KEY", "PGP PRIVATE KEY BLOCK"): the window each header gets */
const PEM_LABEL_MAX = 64;
const PEM_WORD = /^[A-Z0-9]+$/;

/** "RSA PRIVATE KEY", "PRIVATE KEY", "PGP PRIVATE KEY BLOCK": words, the last ones naming a private key. */
function isPrivateKeyLabel(label: string): boolean {
  const words = label.split(' ');
  if (!words.every((w) => PEM_WORD.test(w))) return false;
  const tail = words.at(-1) === 'BLOCK' ? words.slice(-3, -1) : words.slice(-2);
  return tail[0] === 'PRIVATE' && tail[1] === 'KEY';
}

/** "-----BEGIN … PRIVATE KEY-----": each header is judged on a bounded window after it. */
function hasPemPrivateKey(text: string): boolean {
  for (let i = text.indexOf(PEM_BEGIN); i !== -1; i = text.indexOf(PEM_BEGIN, i + 1)) {
    const window = text.slice(i + PEM_BEGIN.length, i + PEM_BEGIN.length + PEM_LABEL_MAX + 5);
    const end = window.indexOf('-----');
    if (end > 0 && isPrivateKeyLabel(window.slice(0, end))) return true;
  }
  return false;
}

// ── API keys: a known prefix, then a bounded count of body characters ─────────────────────────

interface KeyRule {
  /** the literal start of every match: a cheap test before the regex */
  lead: string;
  /** sticky, with fixed-size quantifiers only: at most a few dozen characters are read per try */
  re: RegExp;
  /** the character before the prefix must not be a letter or digit ("task-…" is not "sk-…") */
  boundary: boolean;
}

// "{16}" where a format allows more: a match of the minimum length is already a finding.
// Keyed by the char code of the prefix's first character.
const KEY_RULES: ReadonlyMap<number, readonly KeyRule[]> = new Map([
  [
    0x73 /* s */,
    [
      { lead: 'sk-', re: /sk-[A-Za-z0-9_-]{16}/y, boundary: true }, // OpenAI, Anthropic (sk-ant-…), many others
      { lead: 'sk_', re: /sk_(?:live|test)_[A-Za-z0-9]{16}/y, boundary: true }, // Stripe
    ],
  ],
  [
    0x67 /* g */,
    [
      { lead: 'gh', re: /gh[pousr]_[A-Za-z0-9]{30}/y, boundary: true }, // GitHub
      { lead: 'github_pat_', re: /github_pat_[A-Za-z0-9_]{30}/y, boundary: false },
      { lead: 'glpat-', re: /glpat-[A-Za-z0-9_-]{20}/y, boundary: false }, // GitLab
    ],
  ],
  [0x78 /* x */, [{ lead: 'xox', re: /xox[abposr]-[A-Za-z0-9-]{10}/y, boundary: true }]], // Slack
  [
    0x41 /* A */,
    [
      { lead: 'A', re: /A(?:KIA|SIA)[0-9A-Z]{16}(?![0-9A-Z])/y, boundary: true }, // AWS access key id
      { lead: 'AIza', re: /AIza[0-9A-Za-z_-]{35}/y, boundary: true }, // Google API key
    ],
  ],
  [0x61 /* a */, [{ lead: 'art_', re: /art_[A-Za-z0-9_-]{40}/y, boundary: true }]], // agentroster's own bearer tokens
]);

/** KEY_RULES' first characters, for a cheap per-position test */
const KEY_FIRST = new Uint8Array(128);
for (const c of KEY_RULES.keys()) KEY_FIRST[c] = 1;

/** An API key starting at `p` (inside a run of base64url characters). */
function apiKeyAt(text: string, p: number, atBoundary: boolean): boolean {
  for (const rule of KEY_RULES.get(text.charCodeAt(p)) ?? []) {
    if ((rule.boundary && !atBoundary) || !text.startsWith(rule.lead, p)) continue;
    rule.re.lastIndex = p;
    if (rule.re.test(text)) return true;
  }
  return false;
}

// ── JWT ─────────────────────────────────────────────────────────────────────────────────────────

/**
 * header.payload.signature as three runs of base64url joined by single dots — [hs, he), [ps, pe),
 * [ss, se): the payload starts with "eyJ" ('{"'), the header holds "eyJ" with at least 4
 * characters after it, the signature has at least 16 characters, and the header decodes to a JOSE
 * header with a real algorithm.
 */
function isSignedJwt(text: string, hs: number, he: number, ps: number, pe: number, ss: number, se: number): boolean {
  if (text.charCodeAt(he) !== 46 || ps !== he + 1 || text.charCodeAt(pe) !== 46 || ss !== pe + 1) return false;
  if (pe - ps < 7 || !text.startsWith('eyJ', ps) || se - ss < 16) return false;
  // a prefix glued to the header ("Bearer_eyJ…") is not part of it; the search stays inside the run
  const at = text.slice(hs, he).indexOf('eyJ');
  if (at === -1 || he - (hs + at) < 7) return false;
  try {
    const header = JSON.parse(Buffer.from(text.slice(hs + at, he), 'base64url').toString('utf8')) as unknown;
    return isObj(header) && typeof header.alg === 'string' && header.alg.toLowerCase() !== 'none';
  } catch {
    return false;
  }
}

/**
 * One pass over the maximal runs of base64url characters: an API key lies inside one run, a JWT
 * spans three consecutive ones. Every position costs at most a few fixed-size sticky matches, and
 * every run is decoded as a JWT header at most once.
 */
function scanTokenRuns(text: string): 'signed JWT' | 'API key' | undefined {
  // the two previous runs (-1: none yet)
  let hs = -1;
  let he = -1;
  let ps = -1;
  let pe = -1;
  let apiKey = false;
  const n = text.length;
  let i = 0;
  while (i < n) {
    if (!isUrlToken(text.charCodeAt(i))) {
      i++;
      continue;
    }
    const start = i;
    for (; i < n; i++) {
      const c = text.charCodeAt(i);
      if (!isUrlToken(c)) break;
      // the character before a run is not base64url, so not alphanumeric; inside one, - and _ are not
      if (!apiKey && KEY_FIRST[c] === 1 && apiKeyAt(text, i, i === start || !isAlnum(text.charCodeAt(i - 1)))) apiKey = true;
    }
    // a JWT is the more specific finding: it wins over an API key anywhere in the same text
    if (hs >= 0 && isSignedJwt(text, hs, he, ps, pe, start, i)) return 'signed JWT';
    hs = ps;
    he = pe;
    ps = start;
    pe = i;
  }
  return apiKey ? 'API key' : undefined;
}

// ── long random strings ─────────────────────────────────────────────────────────────────────────

/** Attributes whose values are legitimately long hashes or public material: the long-random-string
 * rule does not apply to them (the other rules still do). */
const HASH_VALUED = new Set(['keythumbprint', 'policyhash', 'recordhash', 'recordjws', 'externalid']);
// (externalId: an IdP's or HR system's identifier, random by design — a SHA-256 hex id is not a secret)

/** Attributes whose value is a signed record we publish (a JWS, public by design), not a bearer JWT. */
const PUBLIC_JWS = new Set(['recordjws']);

const RANDOM_MIN = 41;

/** Shannon entropy in bits per character of text[start, end), all ASCII. */
function entropy(text: string, start: number, end: number): number {
  const counts = new Uint32Array(128);
  for (let i = start; i < end; i++) counts[text.charCodeAt(i) & 127]!++;
  const len = end - start;
  let h = 0;
  for (const n of counts) {
    if (n === 0) continue;
    const p = n / len;
    h -= p * Math.log2(p);
  }
  return h;
}

/** A run of 41+ base64/hex characters that is random, not a long word or a slug. */
function isRandomRun(text: string, start: number, end: number): boolean {
  if (end - start < RANDOM_MIN) return false;
  let lower = false;
  let upper = false;
  let digit = false;
  let hex = true;
  let hexLetter = false;
  for (let i = start; i < end; i++) {
    const c = text.charCodeAt(i);
    if (isDigit(c)) digit = true;
    else if (isLower(c)) {
      lower = true;
      if (c <= 102) hexLetter = true;
      else hex = false;
    } else if (isUpper(c)) {
      upper = true;
      if (c <= 70) hexLetter = true;
      else hex = false;
    } else hex = false;
  }
  if (hex) return digit && hexLetter && entropy(text, start, end) >= 3.0;
  if (!(lower && upper && digit)) return false;
  // slugs and CamelCase phrases have few distinct characters per length; random base64 has many
  return entropy(text, start, end) >= 4.3;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/iy; // sticky, fixed length
const UUID_LENGTH = 36;
const URL_SCHEME = /^[a-z][a-z0-9+.-]{0,31}:\/\//i; // bounded: no real scheme is longer

/**
 * Runs of 41+ base64 characters that look random. Whitespace separates words; identifiers that are
 * random by design (UUIDs) are not secrets and cut a run; in a URL the path segments count one by
 * one ("/scim/v2/Entitlements/…" is not one long string) — a secret in a URL's query or path
 * segment is still found. '=' is not part of a run: "key=<secret>" is a name and a secret.
 */
function hasRandomRun(text: string): boolean {
  const n = text.length;
  let i = 0;
  while (i < n) {
    while (i < n && isSpace(text.charCodeAt(i))) i++;
    const start = i;
    while (i < n && !isSpace(text.charCodeAt(i))) i++;
    const end = i;
    if (end - start < RANDOM_MIN) continue;
    const url = URL_SCHEME.test(text.slice(start, Math.min(end, start + 40)));
    let j = start;
    while (j < end) {
      const runStart = j;
      let uuid = false;
      for (; j < end; j++) {
        const c = text.charCodeAt(j);
        if (!isB64(c) || (url && c === 47)) break;
        if (text.charCodeAt(j + 8) === 45 /* - */ && j + UUID_LENGTH <= end) {
          UUID.lastIndex = j;
          if ((uuid = UUID.test(text))) break;
        }
      }
      if (isRandomRun(text, runStart, j)) return true;
      j += uuid ? UUID_LENGTH : 1; // past the UUID or the separator
    }
  }
  return false;
}

// ── DER ─────────────────────────────────────────────────────────────────────────────────────────

/** A base64 DER blob whose outer SEQUENCE starts with an INTEGER: PKCS#1/#8 or SEC1 private key. */
export function isDerPrivateKey(base64: string): boolean {
  if (base64.length < 16) return false;
  let body = base64.length;
  while (body > 0 && base64.charCodeAt(body - 1) === 61 /* = */) body--;
  if (base64.length - body > 2) return false;
  let url = false;
  for (let i = 0; i < body; i++) {
    const c = base64.charCodeAt(i);
    if (!isB64(c)) return false;
    if (c === 45 || c === 95) url = true;
  }
  const der = Buffer.from(base64, url ? 'base64url' : 'base64');
  if (der.length < 8 || der[0] !== 0x30) return false;
  const lenByte = der[1] ?? 0;
  const headerLen = lenByte < 0x80 ? 2 : 2 + (lenByte & 0x7f);
  return der[headerLen] === 0x02; // a certificate starts with another SEQUENCE (0x30)
}

/** The kind of secret a single string looks like, if any. Linear in the length of `text`. */
export function secretKind(
  text: string,
  opts: { hashValued?: boolean; certificate?: boolean; publicJws?: boolean } = {},
): SecretKind | undefined {
  if (text.length < MIN_SECRET_LENGTH) return undefined;
  if (hasPemPrivateKey(text)) return 'private key (PEM)';
  if (opts.certificate && isDerPrivateKey(text.trim())) return 'private key (DER)';
  const token = scanTokenRuns(text);
  if (token && !(opts.publicJws && token === 'signed JWT')) return token;
  if (!opts.hashValued && !opts.certificate && hasRandomRun(text)) return 'long random string';
  return undefined;
}

// ── JSON ────────────────────────────────────────────────────────────────────────────────────────

/** "a[b eq \"x\"].c" → "a.c": a value filter is not part of an attribute's name. Linear, unlike a
 * /\[[^\]]*\]/g replace, which rescans the tail from every "[" of an unclosed "[[[[…". */
function withoutFilters(path: string): string {
  let out = '';
  let from = 0;
  for (;;) {
    const open = path.indexOf('[', from);
    if (open === -1) return out + path.slice(from);
    const close = path.indexOf(']', open + 1);
    if (close === -1) return out + path.slice(from); // no "]" anywhere after: nothing more to strip
    out += path.slice(from, open);
    from = close + 1;
  }
}

/** The attribute names of a path or member name, lower-cased: "urn:…:Agent:credentials" → […, "credentials"]. */
function nameParts(path: string): string[] {
  return withoutFilters(path)
    .split(/[.:]/)
    .filter(Boolean)
    .map((p) => p.toLowerCase());
}

/** Member names are echoed in `where`; a huge one is shortened (it was scanned: it is no secret). */
const WHERE_NAME_MAX = 100;
const shortName = (k: string): string => (k.length > WHERE_NAME_MAX ? `${k.slice(0, WHERE_NAME_MAX)}…` : k);

/**
 * Every secret-looking string in a JSON value, with where it is. `context` names the attribute the
 * value is assigned to when the caller knows it (a PATCH operation's path). Iterative, so depth
 * cannot overflow the stack.
 */
export function findSecrets(value: unknown, where = '', context: string[] = []): SecretFinding[] {
  const out: SecretFinding[] = [];
  const lower = context.map((c) => c.toLowerCase());
  // only the last two attribute names matter: "x509certificates" + "value", or "keythumbprint"
  type Item = { v: unknown; at: string; parent: string; name: string };
  const stack: Item[] = [{ v: value, at: where, parent: lower[lower.length - 2] ?? '', name: lower[lower.length - 1] ?? '' }];
  while (stack.length > 0) {
    const { v, at, parent, name } = stack.pop()!;
    if (typeof v === 'string') {
      const certificate = parent === 'x509certificates' && name === 'value';
      const kind = secretKind(v, { hashValued: HASH_VALUED.has(name), certificate, publicJws: PUBLIC_JWS.has(name) });
      if (kind) out.push({ where: at || '(body)', kind });
      continue;
    }
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], at: `${at}[${i}]`, parent, name });
      continue;
    }
    if (!isObj(v)) continue;
    const members = Object.entries(v);
    const children: Item[] = [];
    for (const [k, x] of members) {
      const keyKind = secretKind(k);
      if (keyKind) out.push({ where: `${at || '(body)'} (a member name)`, kind: keyKind });
      const seg = keyKind ? '(a member name)' : shortName(k);
      const parts = keyKind ? [] : nameParts(k);
      // a PATCH op's value is assigned to its path: the attribute names continue from there
      children.push({ v: x, at: at ? `${at}.${seg}` : seg, parent: name, name: parts[parts.length - 1] ?? '' });
    }
    // depth first, in document order, as the findings are reported
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  return out;
}

export interface RequestScanOptions {
  /**
   * Attributes the server discards unread (write-only, never returned: a User's `password`), as
   * lower-case names and URN-qualified names. Their values are not judged: Okta's password sync
   * sends a real password, which is never stored, logged or echoed.
   */
  discarded?: readonly string[];
}

/**
 * Secrets in a SCIM request body for a resource: a resource (POST/PUT) or a PatchOp. For PATCH the
 * attribute an operation targets comes from its path, so `{"path":"…credentials[…].keyThumbprint",
 * "value":"…"}` is judged as a thumbprint.
 */
export function findSecretsInRequest(body: unknown, opts: RequestScanOptions = {}): SecretFinding[] {
  const discarded = new Set((opts.discarded ?? []).map((d) => d.toLowerCase()));
  const kept = (o: unknown): unknown => {
    if (discarded.size === 0 || !isObj(o)) return o;
    const rest: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) {
      if (discarded.has(k.toLowerCase())) {
        // the name is still judged; the value is dropped unread by validation
        rest[k] = null;
        continue;
      }
      rest[k] = v;
    }
    return rest;
  };
  if (!isObj(body)) return findSecrets(body);
  const opsKey = Object.keys(body).find((k) => k.toLowerCase() === 'operations');
  const ops = opsKey === undefined ? undefined : body[opsKey];
  if (!Array.isArray(ops)) return findSecrets(kept(body));
  const out: SecretFinding[] = [];
  const { [opsKey!]: _ops, ...rest } = body;
  out.push(...findSecrets(rest));
  ops.forEach((op, i) => {
    if (!isObj(op)) {
      out.push(...findSecrets(op, `Operations[${i}]`));
      return;
    }
    // members by their lower-cased names, as the PATCH parser reads them
    let rawPath: unknown;
    let value: unknown;
    const other: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(op)) {
      const lk = k.toLowerCase();
      if (lk === 'path') rawPath = x;
      else if (lk === 'value') value = x;
      else other[k] = x;
    }
    out.push(...findSecrets(other, `Operations[${i}]`));
    const path = typeof rawPath === 'string' ? rawPath : undefined;
    if (rawPath !== undefined && path === undefined) out.push(...findSecrets(rawPath, `Operations[${i}].path`));
    if (path !== undefined) {
      const k = secretKind(path);
      if (k) out.push({ where: `Operations[${i}].path`, kind: k });
      if (discarded.has(path.trim().toLowerCase())) return;
    }
    // x509Certificates[type eq "x"].value or x509Certificates (array of {value})
    const context = path === undefined ? [] : nameParts(path).slice(-2);
    out.push(...findSecrets(path === undefined ? kept(value) : value, `Operations[${i}].value`, context));
  });
  return out;
}
