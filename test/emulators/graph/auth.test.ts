/**
 * The Entra side of the emulator, driven by the real @azure/msal-node:
 * client secret, certificate (private_key_jwt), AADSTS errors, the MSAL throttle cache, issued
 * token claims checked against the JWKS, and — in a child process — the production trust path
 * (NODE_EXTRA_CA_CERTS + a non-default authority host in knownAuthorities, nothing else).
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createHash, sign, X509Certificate } from 'node:crypto';
import { ConfidentialClientApplication, ServerError } from '@azure/msal-node';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createMsalNetworkClient,
  createTrustingFetch,
  defaultCaDir,
  generateClientCertificate,
  startGraphEmulator,
  type ClientCertificate,
  type GraphEmulator,
} from './index.js';
import { GraphTestClient } from './harness.js';

/** the child resolves @azure/msal-node from the repository's node_modules */
const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));

let emu: GraphEmulator;
let cert: ClientCertificate;
const CERT_CLIENT = '0c0c0c0c-1111-4222-8333-444444444444';

beforeAll(async () => {
  emu = await startGraphEmulator();
  cert = await generateClientCertificate();
  emu.registerClient({ clientId: CERT_CLIENT, certificates: [cert.certPem], roles: ['AgentIdentity.Read.All'] });
});
afterAll(() => emu.close());

/** A fresh client per case: MSAL caches tokens and throttle entries per instance. */
function msalWithSecret(secret = emu.defaultClient.clientSecret): ConfidentialClientApplication {
  return new ConfidentialClientApplication({
    auth: { clientId: emu.defaultClient.clientId, clientSecret: secret, authority: emu.authority, knownAuthorities: [emu.knownAuthority] },
    system: { networkClient: createMsalNetworkClient(emu.caCertPem) },
  });
}

const defaultCaPath = (): string => `${defaultCaDir()}/ca.pem`;
const decode = (jwt: string): Record<string, unknown> => JSON.parse(Buffer.from(jwt.split('.')[1] ?? '', 'base64url').toString()) as Record<string, unknown>;

describe('token endpoint with the real msal-node', () => {
  it('issues an RS256 app token for a client secret, verifiable with the JWKS, and MSAL caches it', async () => {
    const cca = msalWithSecret();
    const first = await cca.acquireTokenByClientCredential({ scopes: [emu.scope] });
    const second = await cca.acquireTokenByClientCredential({ scopes: [emu.scope] });
    expect(first?.fromCache).toBe(false);
    expect(second?.fromCache).toBe(true); // expires_in > 300, so MSAL keeps it
    // MSAL's discovery call + one token POST, nothing else
    const calls = emu.log.filter((e) => e.target === 'token').map((e) => `${e.method} ${e.path}`);
    expect(calls).toEqual([`GET /${emu.tenantId}/v2.0/.well-known/openid-configuration`, `POST /${emu.tenantId}/oauth2/v2.0/token`]);
    const token = first?.accessToken ?? '';
    const f = createTrustingFetch(emu.caCertPem);
    const jwks = (await (await f(`${emu.authorityHost}/${emu.tenantId}/discovery/v2.0/keys`)).json()) as Parameters<typeof createLocalJWKSet>[0];
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks), { issuer: `https://sts.windows.net/${emu.tenantId}/` });
    expect(protectedHeader.alg).toBe('RS256');
    expect(payload).toMatchObject({ aud: emu.url, tid: emu.tenantId, appid: emu.defaultClient.clientId, idtyp: 'app', appidacr: '1' });
    expect(payload['roles']).toEqual(expect.arrayContaining(['AgentIdentity.Create.All', 'AgentIdentity.ReadWrite.All']));
    expect((payload.exp ?? 0) - Math.floor(Date.now() / 1000)).toBeGreaterThan(300);
  });

  it('accepts the Graph app id and https://graph.microsoft.com as resources, and the token works on Graph', async () => {
    const cca = msalWithSecret();
    const r = await cca.acquireTokenByClientCredential({ scopes: ['https://graph.microsoft.com/.default'] });
    expect(decode(r?.accessToken ?? '')['aud']).toBe('https://graph.microsoft.com');
    const graph = new GraphTestClient(emu, r?.accessToken ?? '');
    expect((await graph.get('/v1.0/servicePrincipals/microsoft.graph.agentIdentity')).status).toBe(200);
  });

  it('issues a token for a certificate credential (MSAL PS256 assertion with x5t#S256)', async () => {
    const cca = new ConfidentialClientApplication({
      auth: {
        clientId: CERT_CLIENT,
        authority: emu.authority,
        knownAuthorities: [emu.knownAuthority],
        clientCertificate: { thumbprintSha256: cert.thumbprintSha256, privateKey: cert.keyPem, x5c: cert.certPem },
      },
      system: { networkClient: createMsalNetworkClient(emu.caCertPem) },
    });
    const r = await cca.acquireTokenByClientCredential({ scopes: [emu.scope] });
    expect(decode(r?.accessToken ?? '')).toMatchObject({ appid: CERT_CLIENT, appidacr: '2', roles: ['AgentIdentity.Read.All'] });
  });

  it('rejects a certificate that is not registered (AADSTS700027)', async () => {
    const other = await generateClientCertificate('not-registered');
    const cca = new ConfidentialClientApplication({
      auth: {
        clientId: CERT_CLIENT,
        authority: emu.authority,
        knownAuthorities: [emu.knownAuthority],
        clientCertificate: { thumbprintSha256: other.thumbprintSha256, privateKey: other.keyPem },
      },
      system: { networkClient: createMsalNetworkClient(emu.caCertPem) },
    });
    const err = await cca.acquireTokenByClientCredential({ scopes: [emu.scope] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServerError);
    expect((err as ServerError).errorCode).toBe('invalid_client');
    expect((err as ServerError).errorMessage).toContain('700027');
  });

  it('surfaces AADSTS7000215 for a wrong client secret', async () => {
    const err = await msalWithSecret('wrong').acquireTokenByClientCredential({ scopes: [emu.scope] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ServerError);
    expect((err as ServerError).errorCode).toBe('invalid_client');
    expect((err as ServerError).errorMessage).toMatch(/7000215 - .*AADSTS7000215: Invalid client secret provided/);
  });

  it('caches a 429 from the token endpoint: the next identical request fails without a network call', async () => {
    emu.faults.failNext(1, 429, { match: { target: 'token', method: 'POST' }, retryAfter: 2 });
    const cca = msalWithSecret();
    const before = emu.counters.tokenRequests;
    await expect(cca.acquireTokenByClientCredential({ scopes: [emu.scope] })).rejects.toBeInstanceOf(ServerError);
    await expect(cca.acquireTokenByClientCredential({ scopes: [emu.scope] })).rejects.toThrow();
    expect(emu.counters.tokenRequests - before).toBe(2); // discovery GET + one POST; the retry never left MSAL
    // a fresh client goes to the network (and is counted as arriving before Retry-After elapsed)
    const early = emu.counters.earlyRetries;
    const ok = await msalWithSecret().acquireTokenByClientCredential({ scopes: [emu.scope] });
    expect(ok?.accessToken).toBeTruthy();
    expect(emu.counters.earlyRetries).toBeGreaterThan(early);
  });
});

describe('token endpoint protocol checks (plain form posts)', () => {
  const post = async (form: Record<string, string>, tenant = emu.tenantId): Promise<{ status: number; body: Record<string, unknown> }> => {
    const res = await createTrustingFetch(emu.caCertPem)(`${emu.authorityHost}/${tenant}/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(form).toString(),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const base = () => ({ client_id: emu.defaultClient.clientId, client_secret: emu.defaultClient.clientSecret, grant_type: 'client_credentials' });

  it('requires a /.default scope (AADSTS1002012) and a known resource (AADSTS500011)', async () => {
    const a = await post({ ...base(), scope: `${emu.url}/User.Read` });
    expect(a.status).toBe(400);
    expect(a.body).toMatchObject({ error: 'invalid_scope', error_codes: [1002012] });
    expect(a.body).toHaveProperty('trace_id');
    expect(a.body).toHaveProperty('correlation_id');
    expect(a.body).toHaveProperty('timestamp');
    const b = await post({ ...base(), scope: 'https://elsewhere.example/.default' });
    expect(b.body).toMatchObject({ error: 'invalid_resource', error_codes: [500011] });
  });

  it('rejects unknown clients (AADSTS700016) and tenants (AADSTS90002)', async () => {
    const a = await post({ ...base(), client_id: '99999999-9999-4999-8999-999999999999', scope: emu.scope });
    expect(a.body).toMatchObject({ error: 'unauthorized_client', error_codes: [700016] });
    const b = await post({ ...base(), scope: emu.scope }, '22222222-2222-4222-8222-222222222222');
    expect(b.body).toMatchObject({ error_codes: [90002] });
  });

  it('verifies RS256 assertions with x5t, and checks aud and lifetime (AADSTS700024)', async () => {
    const assertion = (claims: Record<string, unknown>): string => {
      const x5t = createHash('sha1').update(new X509Certificate(cert.certPem).raw).digest('base64url');
      const h = Buffer.from(JSON.stringify({ alg: 'RS256', typ: 'JWT', x5t })).toString('base64url');
      const p = Buffer.from(JSON.stringify(claims)).toString('base64url');
      return `${h}.${p}.${sign('sha256', Buffer.from(`${h}.${p}`), cert.keyPem).toString('base64url')}`;
    };
    const now = Math.floor(Date.now() / 1000);
    const good = { iss: CERT_CLIENT, sub: CERT_CLIENT, aud: `${emu.authority}/oauth2/v2.0/token`, exp: now + 600, nbf: now, jti: 'x' };
    const form = (c: Record<string, unknown>) => ({
      client_id: CERT_CLIENT,
      grant_type: 'client_credentials',
      scope: emu.scope,
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: assertion(c),
    });
    expect((await post(form(good))).status).toBe(200);
    expect((await post(form({ ...good, aud: 'https://login.microsoftonline.com/x/oauth2/v2.0/token' }))).body).toMatchObject({ error_codes: [700024] });
    expect((await post(form({ ...good, exp: now - 3600, nbf: now - 4000 }))).body).toMatchObject({ error_codes: [700024] });
  });
});

describe('production trust path in a child process', () => {
  /** The child gets NODE_EXTRA_CA_CERTS (or not) and nothing else: no networkClient, no agent, no TLS flags. */
  const childScript = `
    import { ConfidentialClientApplication } from '@azure/msal-node';
    const e = process.env;
    const host = new URL(e.AUTHORITY_HOST).host;
    try {
      const cca = new ConfidentialClientApplication({ auth: {
        clientId: e.CLIENT_ID, clientSecret: e.CLIENT_SECRET,
        authority: e.AUTHORITY_HOST + '/' + e.TENANT_ID, knownAuthorities: [host] } });
      const r = await cca.acquireTokenByClientCredential({ scopes: [e.GRAPH_URL + '/.default'] });
      const res = await fetch(e.GRAPH_URL + '/v1.0/servicePrincipals/microsoft.graph.agentIdentity?$top=1',
        { headers: { authorization: 'Bearer ' + r.accessToken } });
      console.log(JSON.stringify({ ok: true, status: res.status }));
    } catch (err) {
      console.log(JSON.stringify({ ok: false, code: err.errorCode ?? err.code ?? String(err) }));
    }`;

  const runChild = (caPath: string | undefined): Promise<{ ok: boolean; status?: number; code?: string }> => {
    const env: Record<string, string> = {
      PATH: process.env['PATH'] ?? '',
      AUTHORITY_HOST: emu.authorityHost,
      GRAPH_URL: emu.url,
      TENANT_ID: emu.tenantId,
      CLIENT_ID: emu.defaultClient.clientId,
      CLIENT_SECRET: emu.defaultClient.clientSecret,
    };
    if (caPath) env['NODE_EXTRA_CA_CERTS'] = caPath;
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', childScript], { cwd: REPO_ROOT, env });
      let out = '';
      let err = '';
      child.stdout.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', reject);
      child.on('close', () => {
        try {
          resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as { ok: boolean });
        } catch {
          reject(new Error(`child output: ${out} ${err}`));
        }
      });
    });
  };

  it('msal-node and fetch trust the emulator through NODE_EXTRA_CA_CERTS alone, and fail without it', async () => {
    const [trusted, untrusted] = await Promise.all([runChild(emu.caCertPath), runChild(undefined)]);
    expect(trusted).toEqual({ ok: true, status: 200 });
    expect(untrusted.ok).toBe(false);
    expect(untrusted.code).toBe('endpoints_resolution_error'); // discovery fetch fails TLS verification
  }, 20_000);
});

/**
 * vitest.config.ts runs `test/emulators/graph/global-setup.ts`, so this process started with
 * NODE_EXTRA_CA_CERTS covering the emulator CA, and production-style code (global fetch, msal-node
 * without a networkClient) works in-process. Every Entra sync test relies on that; when the set-up
 * breaks, this fails (it used to be skipped, hiding the breakage it exists to catch).
 */
describe('in-process trust via globalSetup', () => {
  it('NODE_EXTRA_CA_CERTS names a bundle holding the emulator CA', () => {
    const file = process.env['NODE_EXTRA_CA_CERTS'];
    expect(file, 'NODE_EXTRA_CA_CERTS is not set: is globalSetup test/emulators/graph/global-setup.ts in vitest.config.ts?').toBeTruthy();
    expect(readFileSync(file ?? '', 'utf8'), `${file} does not hold the emulator CA`).toContain(readFileSync(defaultCaPath(), 'utf8').trim());
  });

  it('global fetch and the default msal-node HTTP client trust the emulator', async () => {
    const cca = new ConfidentialClientApplication({
      auth: { clientId: emu.defaultClient.clientId, clientSecret: emu.defaultClient.clientSecret, authority: emu.authority, knownAuthorities: [emu.knownAuthority] },
    });
    const r = await cca.acquireTokenByClientCredential({ scopes: [emu.scope] });
    const res = await fetch(`${emu.url}/v1.0/servicePrincipals/microsoft.graph.agentIdentity`, { headers: { authorization: `Bearer ${r?.accessToken}` } });
    expect(res.status).toBe(200);
  });
});
