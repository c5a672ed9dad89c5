// Shared helpers for the Okta emulator tests: the SDK client built the way okta.md §3.4 recommends.
import { Client, DefaultRequestExecutor, type UserProfile } from '@okta/okta-sdk-nodejs';
import type { OktaEmulator } from '../../../emulators/okta/index.js';

export interface SdkOptions {
  maxRetries?: number;
  requestTimeout?: number;
  executor?: DefaultRequestExecutor;
  token?: string;
}

/** SSWS client; every key explicit so no ~/.okta/okta.yaml or OKTA_CLIENT_* can leak in. */
export function sdk(emu: OktaEmulator, opts: SdkOptions = {}): Client {
  return new Client({
    orgUrl: emu.orgUrl,
    authorizationMode: 'SSWS',
    token: opts.token ?? emu.apiToken,
    cacheMiddleware: null,
    requestExecutor: opts.executor ?? new DefaultRequestExecutor({ maxRetries: opts.maxRetries ?? 0, requestTimeout: opts.requestTimeout ?? 0 }),
  });
}

/** A valid base profile (custom attributes in `extra`), typed for the SDK's CreateUserRequest. */
export function profile(login: string, extra: Record<string, unknown> = {}): UserProfile {
  return { firstName: 'Agent', lastName: login.split('@')[0] ?? 'x', email: login, login, ...extra } as UserProfile;
}

/** Raw HTTP against the emulator with the SSWS token. */
export function raw(emu: OktaEmulator, path: string, init: RequestInit = {}): Promise<Response> {
  const headers = new Headers(init.headers);
  if (!headers.has('Authorization')) headers.set('Authorization', `SSWS ${emu.apiToken}`);
  if (init.body !== undefined && !headers.has('Content-Type')) headers.set('Content-Type', 'application/json');
  headers.set('Accept', 'application/json');
  return fetch(path.startsWith('http') ? path : `${emu.orgUrl}${path}`, { ...init, headers });
}

/** Parse an RFC 8288 Link header (possibly several joined by ", "). */
export function links(res: Response): Record<string, string> {
  const out: Record<string, string> = {};
  const h = res.headers.get('link') ?? '';
  for (const m of h.matchAll(/<([^>]+)>;\s*rel="([^"]+)"/g)) out[m[2] as string] = m[1] as string;
  return out;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The error an awaited promise rejects with (fails the test if it resolves). */
export async function rejection(p: Promise<unknown>): Promise<Record<string, unknown> & Error> {
  try {
    await p;
  } catch (e) {
    return e as Record<string, unknown> & Error;
  }
  throw new Error('expected the call to fail');
}
