/**
 * Trusting the emulator's CA inside an already running process.
 *
 * Node's global fetch (undici) and msal-node's default HttpClient (which uses that fetch) read
 * extra CAs only from NODE_EXTRA_CA_CERTS at process start. In a process that started without it,
 * use these node:https-based equivalents with an explicit `ca`:
 * - `createTrustingFetch(caPem)`: a fetch-compatible function for Graph calls;
 * - `createMsalNetworkClient(caPem)`: an msal-node `INetworkModule` for `system.networkClient`.
 * Production code needs neither: it relies on NODE_EXTRA_CA_CERTS (proved by a child-process test).
 */
import https from 'node:https';
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';

export type FetchLike = (input: string | URL, init?: RequestInit) => Promise<Response>;

function headerRecord(h: RequestInit['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  new Headers(h).forEach((v, k) => {
    out[k] = v;
  });
  return out;
}

/** A minimal fetch over node:https that trusts `caPem` (string bodies only). */
export function createTrustingFetch(caPem: string): FetchLike {
  const agent = new https.Agent({ ca: caPem, keepAlive: true });
  return (input, init = {}) =>
    new Promise<Response>((resolve, reject) => {
      const url = new URL(String(input));
      const body = init.body === undefined || init.body === null ? undefined : String(init.body);
      const headers = headerRecord(init.headers);
      if (body !== undefined && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-length')) {
        headers['content-length'] = String(Buffer.byteLength(body));
      }
      const req = https.request(url, { method: init.method ?? 'GET', headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', (e) => reject(new TypeError('fetch failed', { cause: e })));
        res.on('end', () => {
          const responseHeaders = new Headers();
          for (const [k, v] of Object.entries(res.headers)) {
            if (v === undefined) continue;
            for (const item of Array.isArray(v) ? v : [v]) responseHeaders.append(k, item);
          }
          const status = res.statusCode ?? 500;
          const nullBody = status === 204 || status === 304 || chunks.length === 0;
          resolve(new Response(nullBody ? null : Buffer.concat(chunks), { status, statusText: res.statusMessage, headers: responseHeaders }));
        });
      });
      req.on('error', (e) => reject(new TypeError('fetch failed', { cause: e })));
      if (init.signal) {
        init.signal.addEventListener('abort', () => req.destroy(new Error('aborted')), { once: true });
      }
      req.end(body);
    });
}

/** An msal-node network module that trusts `caPem` (for `system.networkClient`). */
export function createMsalNetworkClient(caPem: string): INetworkModule {
  const f = createTrustingFetch(caPem);
  const call = async <T>(url: string, method: 'GET' | 'POST', options?: NetworkRequestOptions): Promise<NetworkResponse<T>> => {
    const res = await f(url, { method, headers: options?.headers, body: method === 'POST' ? (options?.body ?? '') : undefined });
    const headers: Record<string, string> = {};
    res.headers.forEach((v, k) => {
      headers[k] = v;
    });
    return { status: res.status, headers, body: (await res.json()) as T };
  };
  return {
    sendGetRequestAsync: <T>(url: string, options?: NetworkRequestOptions) => call<T>(url, 'GET', options),
    sendPostRequestAsync: <T>(url: string, options?: NetworkRequestOptions) => call<T>(url, 'POST', options),
  };
}
