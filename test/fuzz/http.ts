// Raw HTTP for the fuzzers: requests are sent exactly as generated (bodies as text, so invalid or
// deeply nested JSON gets through; query values percent-encoded byte by byte, so lone surrogates
// and NUL reach the server), and the oracle on the shape of every error response.

export const SCIM_BASE = '/scim/v2';
export const ERROR_URN = 'urn:ietf:params:scim:api:messages:2.0:Error';

/** RFC 7644 §3.12 Table 9 and RFC 9865 §2.1. */
export const SCIM_TYPES = new Set([
  'invalidFilter',
  'tooMany',
  'uniqueness',
  'mutability',
  'invalidSyntax',
  'invalidPath',
  'noTarget',
  'invalidValue',
  'invalidVers',
  'sensitive',
  'invalidCursor',
  'expiredCursor',
  'invalidCount',
]);

export type TokenKind = 'admin' | 'read' | 'revoke' | 'none';

export interface FuzzRequest {
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** below /scim/v2, e.g. "/Users/abc" */
  path: string;
  /** query parameters in order; values may hold any UTF-16 (encoded byte by byte) */
  query?: [string, string][];
  /** the body as sent (already JSON text, or deliberately not JSON) */
  body?: string;
  contentType?: string;
  token?: TokenKind;
}

export interface FuzzResponse {
  status: number;
  text: string;
  /** parsed body, or undefined when the body is not JSON */
  body: unknown;
  etag: string | null;
  contentType: string | null;
  requestId: string;
  ms: number;
}

/**
 * Percent-encodes any JS string: well-formed text as UTF-8, a lone surrogate as its WTF-8 bytes
 * (ED A0 80 for U+D800), which encodeURIComponent refuses to do.
 */
export function encodeQueryValue(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        out += encodeURIComponent(s[i]! + s[i + 1]!);
        i++;
        continue;
      }
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      out += [0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f)].map((b) => `%${b.toString(16).toUpperCase()}`).join('');
      continue;
    }
    out += encodeURIComponent(s[i]!);
  }
  return out;
}

export function urlOf(req: FuzzRequest): string {
  const q = req.query?.length ? `?${req.query.map(([k, v]) => `${encodeQueryValue(k)}=${encodeQueryValue(v)}`).join('&')}` : '';
  return `${SCIM_BASE}${req.path}${q}`;
}

export async function send(
  origin: string,
  tokens: Record<Exclude<TokenKind, 'none'>, string>,
  req: FuzzRequest,
  requestId: string,
): Promise<FuzzResponse> {
  const headers: Record<string, string> = { 'x-request-id': requestId };
  const token = req.token ?? 'admin';
  if (token !== 'none') headers.authorization = `Bearer ${tokens[token]}`;
  if (req.body !== undefined) headers['content-type'] = req.contentType ?? 'application/scim+json';
  const started = performance.now();
  const res = await fetch(origin + urlOf(req), {
    method: req.method,
    headers,
    ...(req.body !== undefined ? { body: req.body } : {}),
    signal: AbortSignal.timeout(60_000),
  });
  const text = await res.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  return {
    status: res.status,
    text,
    body,
    etag: res.headers.get('etag'),
    contentType: res.headers.get('content-type'),
    requestId,
    ms: performance.now() - started,
  };
}

/**
 * Why a 4xx/5xx response is not a SCIM error (RFC 7644 §3.12): schemas [Error URN], `status` the
 * HTTP status as a string, `scimType` one of the keywords (required for 400: every 400 the server
 * sends is one of Table 9's cases), `detail` a string if present. undefined when it is one.
 */
export function notScimError(res: FuzzResponse): string | undefined {
  const b = res.body;
  if (typeof b !== 'object' || b === null || Array.isArray(b)) return `body is not a JSON object: ${JSON.stringify(res.text.slice(0, 120))}`;
  const o = b as Record<string, unknown>;
  if (!Array.isArray(o.schemas) || o.schemas.length !== 1 || o.schemas[0] !== ERROR_URN) return `schemas is ${JSON.stringify(o.schemas)}`;
  if (o.status !== String(res.status)) return `status is ${JSON.stringify(o.status)}, HTTP status ${res.status}`;
  if (res.status === 400 && o.scimType === undefined) return 'a 400 without scimType';
  if (o.scimType !== undefined && (typeof o.scimType !== 'string' || !SCIM_TYPES.has(o.scimType))) {
    return `scimType ${JSON.stringify(o.scimType)} is not an RFC 7644/9865 keyword`;
  }
  if (o.detail !== undefined && typeof o.detail !== 'string') return 'detail is not a string';
  if (!/^application\/(scim\+)?json/.test(res.contentType ?? '')) return `Content-Type ${res.contentType ?? 'none'}`;
  return undefined;
}

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** A curl command line that sends the same request ($BASE = the server's origin, $TOKEN = a token of that kind). */
export function curlOf(req: FuzzRequest, ids: Record<string, string> = {}): string {
  let url = urlOf(req);
  for (const [name, id] of Object.entries(ids)) url = url.split(id).join(`<${name}>`);
  if (url.length > 700) url = `${url.slice(0, 400)}…(${url.length} chars; pattern: ${describeLong(url.slice(url.indexOf('?') + 1))})…${url.slice(-150)}`;
  const parts = ['curl', '-X', req.method, shellQuote(`$BASE${url}`)];
  const token = req.token ?? 'admin';
  if (token !== 'none') parts.push('-H', `"Authorization: Bearer $TOKEN_${token.toUpperCase()}"`);
  if (req.body !== undefined) {
    let body = req.body;
    for (const [name, id] of Object.entries(ids)) body = body.split(id).join(`<${name}>`);
    if (body.length > 600) body = `${body.slice(0, 300)}…(${body.length} chars; pattern: ${describeLong(body)})…${body.slice(-100)}`;
    parts.push('-H', shellQuote(`Content-Type: ${req.contentType ?? 'application/scim+json'}`), '--data-binary', shellQuote(body));
  }
  return parts.join(' ');
}

function describeLong(s: string): string {
  for (let p = 1; p <= 200 && p * 3 <= s.length; p++) {
    const unit = s.slice(0, p);
    let n = 1;
    while (s.startsWith(unit, n * p)) n++;
    if (n >= 3 && n * p >= s.length / 2) return `${JSON.stringify(unit)} × ${n}`;
  }
  return 'mixed';
}
