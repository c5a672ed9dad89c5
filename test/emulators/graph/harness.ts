/**
 * Small helpers for tests that talk to the emulator with plain HTTP: a client-credentials token
 * (a form POST, as any OAuth client would send it) and a Graph caller returning parsed JSON.
 * By default they use createTrustingFetch(emu.caCertPem); pass `globalThis.fetch` when the
 * process was started with NODE_EXTRA_CA_CERTS pointing at the emulator CA.
 */
import { createTrustingFetch, type FetchLike } from './client.js';
import type { GraphEmulator } from './server.js';

export interface GraphCall<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

export async function fetchToken(
  emu: GraphEmulator,
  opts: { clientId?: string; clientSecret?: string; scope?: string; fetch?: FetchLike } = {},
): Promise<string> {
  const f = opts.fetch ?? createTrustingFetch(emu.caCertPem);
  const form = new URLSearchParams({
    client_id: opts.clientId ?? emu.defaultClient.clientId,
    client_secret: opts.clientSecret ?? emu.defaultClient.clientSecret,
    scope: opts.scope ?? emu.scope,
    grant_type: 'client_credentials',
  });
  const res = await f(`${emu.authority}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: form.toString(),
  });
  const body = (await res.json()) as { access_token?: string; error_description?: string };
  if (!body.access_token) throw new Error(`token request failed: ${res.status} ${body.error_description ?? ''}`);
  return body.access_token;
}

export class GraphTestClient {
  constructor(
    readonly emu: GraphEmulator,
    public token: string,
    private readonly f: FetchLike = createTrustingFetch(emu.caCertPem),
  ) {}

  /** `path` is "/v1.0/…" (relative to emu.url) or an absolute URL such as an @odata.nextLink. */
  async request<T = any>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<GraphCall<T>> {
    const url = /^https?:/i.test(path) ? path : `${this.emu.url}${path}`;
    const h: Record<string, string> = { authorization: `Bearer ${this.token}`, ...headers };
    if (body !== undefined) h['content-type'] ??= 'application/json';
    const res = await this.f(url, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: (text ? JSON.parse(text) : undefined) as T };
  }

  get<T = any>(path: string, headers?: Record<string, string>): Promise<GraphCall<T>> {
    return this.request<T>('GET', path, undefined, headers);
  }
  post<T = any>(path: string, body: unknown, headers?: Record<string, string>): Promise<GraphCall<T>> {
    return this.request<T>('POST', path, body, headers);
  }
  patch<T = any>(path: string, body: unknown, headers?: Record<string, string>): Promise<GraphCall<T>> {
    return this.request<T>('PATCH', path, body, headers);
  }
  put<T = any>(path: string, body: unknown, headers?: Record<string, string>): Promise<GraphCall<T>> {
    return this.request<T>('PUT', path, body, headers);
  }
  delete<T = any>(path: string, headers?: Record<string, string>): Promise<GraphCall<T>> {
    return this.request<T>('DELETE', path, undefined, headers);
  }

  /** Follows @odata.nextLink verbatim until it is absent; returns all items. */
  async all<T = any>(path: string, headers?: Record<string, string>): Promise<{ items: T[]; pages: number }> {
    const items: T[] = [];
    let next: string | undefined = path;
    let pages = 0;
    while (next) {
      const r: GraphCall<{ value: T[]; '@odata.nextLink'?: string }> = await this.get(next, headers);
      if (r.status !== 200) throw new Error(`GET ${next} → ${r.status} ${JSON.stringify(r.body)}`);
      items.push(...r.body.value);
      pages++;
      next = r.body['@odata.nextLink'];
    }
    return { items, pages };
  }
}

/** Connects a GraphTestClient for the given registration (default: the emulator's default client). */
export async function connect(emu: GraphEmulator, opts: { clientId?: string; clientSecret?: string; fetch?: FetchLike } = {}): Promise<GraphTestClient> {
  const token = await fetchToken(emu, opts);
  return new GraphTestClient(emu, token, opts.fetch);
}
