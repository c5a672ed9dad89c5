// SSWS and OAuth 2.0 (private_key_jwt service app) authentication, scopes, token renewal and DPoP, with the
// real SDK in both authorization modes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { SignJWT, exportJWK, type JWK } from 'jose';
import { Client, DefaultRequestExecutor } from '@okta/okta-sdk-nodejs';
import { startOktaEmulator, type OktaEmulator } from '../../../emulators/okta/index.js';
import { profile, raw, rejection, sdk, sleep } from './helpers.js';

let emu: OktaEmulator;
let privateKeyPem: string;
let privateKey: KeyObject;
let publicJwk: JWK;

function keyPair() {
  const { publicKey, privateKey: pk } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { publicKey, privateKey: pk, pem: pk.export({ type: 'pkcs1', format: 'pem' }).toString() };
}

function privateKeyClient(clientId: string, scopes: string[], pem = privateKeyPem): Client {
  return new Client({
    orgUrl: emu.orgUrl,
    authorizationMode: 'PrivateKey',
    clientId,
    scopes,
    privateKey: pem,
    keyId: 'kid-1',
    cacheMiddleware: null,
    requestExecutor: new DefaultRequestExecutor({ maxRetries: 0, requestTimeout: 0 }),
  });
}

async function assertion(claims: Record<string, unknown>, key: KeyObject = privateKey): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256', kid: 'kid-1' })
    .setIssuedAt()
    .setExpirationTime('5m')
    .setJti(randomUUID())
    .sign(key);
}

async function tokenRequest(form: Record<string, string>): Promise<Response> {
  return fetch(`${emu.orgUrl}/oauth2/v1/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
    body: new URLSearchParams(form).toString(),
  });
}

beforeAll(async () => {
  emu = await startOktaEmulator();
  const kp = keyPair();
  privateKeyPem = kp.pem;
  privateKey = kp.privateKey;
  publicJwk = { ...(await exportJWK(kp.publicKey)), kid: 'kid-1', alg: 'RS256', use: 'sig' };
});
afterAll(async () => emu.close());

describe('SSWS', () => {
  it('rejects a wrong API token with 401 E0000011', async () => {
    const e = await rejection(sdk(emu, { token: 'not-the-token' }).userApi.listUsers().then((c) => c.next()));
    expect([e.constructor.name, e['status'], e['errorCode'], e['errorSummary']]).toEqual(['OktaApiError', 401, 'E0000011', 'Invalid token provided']);
  });
});

describe('OAuth 2.0 service app (authorizationMode PrivateKey)', () => {
  it('gets a scoped access token with a verified private_key_jwt assertion and calls the API with Bearer', async () => {
    const clientId = emu.oauth.registerClient({ jwks: [publicJwk], scopes: ['okta.users.read', 'okta.users.manage'] });
    const before = emu.oauth.tokenRequests;
    const okta = privateKeyClient(clientId, ['okta.users.read', 'okta.users.manage']);
    const u = await okta.userApi.createUser({ body: { profile: profile('oauth-1@agents.test') } });
    expect((await okta.userApi.getUser({ userId: u.id as string })).id).toBe(u.id);
    expect(emu.oauth.tokenRequests - before).toBe(1); // cached until a 401
    const calls = emu.requestLog.filter((r) => r.path.startsWith('/api/v1/users'));
    expect(calls.slice(-2).map((r) => r.authScheme)).toEqual(['Bearer', 'Bearer']);
    const created = emu.state.log.all().find((e) => e.eventType === 'user.lifecycle.create' && e.target?.[0]?.id === u.id);
    expect(created?.actor).toMatchObject({ id: clientId, type: 'PublicClientApp' });
  });

  it('answers 403 E0000006 with WWW-Authenticate insufficient_scope when the token lacks the scope', async () => {
    const clientId = emu.oauth.registerClient({ jwks: [publicJwk], scopes: ['okta.users.read', 'okta.groups.manage'] });
    const okta = privateKeyClient(clientId, ['okta.users.read']);
    const e = await rejection(okta.userApi.createUser({ body: { profile: profile('oauth-2@agents.test') } }));
    expect([e['status'], e['errorCode']]).toEqual([403, 'E0000006']);
    const www = (e['headers'] as { get(n: string): string | null }).get('www-authenticate') ?? '';
    expect(www).toContain('error="insufficient_scope"');
    expect(www).toContain('scope="okta.users.manage"');
    // okta.groups.manage also grants okta.groups.read.
    const groupsClient = privateKeyClient(clientId, ['okta.groups.manage']);
    const g = await groupsClient.groupApi.createGroup({ group: { profile: { name: 'oauth-group' } } });
    expect((await groupsClient.groupApi.getGroup({ groupId: g.id as string })).id).toBe(g.id);
  });

  it('refuses scopes outside the app grants at the token endpoint (400 invalid_scope)', async () => {
    const clientId = emu.oauth.registerClient({ jwks: [publicJwk], scopes: ['okta.users.read'] });
    // SDK 8.1.0 never applies its error filter to the token response (oauth.js calls `Http.errorFilter`
    // on the module object, which is undefined): it caches the error body as the "token", sends
    // `Bearer undefined`, retries once after the 401, and surfaces 401 E0000011, not invalid_scope.
    const e = await rejection(privateKeyClient(clientId, ['okta.users.manage']).userApi.getUser({ userId: 'x@agents.test' }));
    expect([e['status'], e['errorCode']]).toEqual([401, 'E0000011']);
    const tokenCalls = emu.requestLog.filter((r) => r.path === '/oauth2/v1/token').slice(-2);
    expect(tokenCalls.map((r) => r.status)).toEqual([400, 400]);
    const res = await tokenRequest({
      grant_type: 'client_credentials',
      scope: 'okta.users.manage',
      client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer',
      client_assertion: await assertion({ iss: clientId, sub: clientId, aud: `${emu.orgUrl}/oauth2/v1/token` }),
    });
    expect(await res.json()).toEqual({
      error: 'invalid_scope',
      error_description: 'The requested scope is invalid, unknown, malformed, or exceeds the scope granted by the resource owner.',
    });
  });

  it('re-fetches the token after it expires (the SDK retries once on 401)', async () => {
    const clientId = emu.oauth.registerClient({ jwks: [publicJwk], scopes: ['okta.users.read'] });
    const okta = privateKeyClient(clientId, ['okta.users.read']);
    const u = emu.admin.createUser({ profile: profile('oauth-3@agents.test') });
    emu.oauth.setAccessTokenTtl(1);
    const before = emu.oauth.tokenRequests;
    await okta.userApi.getUser({ userId: u.id });
    await sleep(1100);
    await okta.userApi.getUser({ userId: u.id });
    emu.oauth.setAccessTokenTtl(3600);
    expect(emu.oauth.tokenRequests - before).toBe(2);
    expect(emu.requestLog.some((r) => r.status === 401 && r.path === `/api/v1/users/${u.id}`)).toBe(true);
  });

  it('verifies the client assertion: signature, audience, expiry and jti replay', async () => {
    const clientId = emu.oauth.registerClient({ jwks: [publicJwk], scopes: ['okta.users.read'] });
    const base = { grant_type: 'client_credentials', scope: 'okta.users.read', client_assertion_type: 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' };
    const aud = `${emu.orgUrl}/oauth2/v1/token`;
    const ok = await assertion({ iss: clientId, sub: clientId, aud });
    const good = await tokenRequest({ ...base, client_assertion: ok });
    expect(good.status).toBe(200);
    expect(await good.json()).toMatchObject({ token_type: 'Bearer', expires_in: 3600, scope: 'okta.users.read' });
    const replay = await tokenRequest({ ...base, client_assertion: ok });
    expect(await replay.json()).toEqual({ error: 'invalid_client', error_description: 'The client_assertion token has already been used.' });
    const wrongAud = await tokenRequest({ ...base, client_assertion: await assertion({ iss: clientId, sub: clientId, aud: 'https://elsewhere/oauth2/v1/token' }) });
    expect([wrongAud.status, ((await wrongAud.json()) as { error_description: string }).error_description]).toEqual([
      401,
      'The audience claim for client_assertion must be the endpoint invoked for the request.',
    ]);
    const otherKey = keyPair().privateKey;
    const badSig = await tokenRequest({ ...base, client_assertion: await assertion({ iss: clientId, sub: clientId, aud }, otherKey) });
    expect(((await badSig.json()) as { error_description: string }).error_description).toBe('The client_assertion signature is invalid.');
    const unknown = await tokenRequest({ ...base, client_assertion: await assertion({ iss: '0oaunknown', sub: '0oaunknown', aud }) });
    expect(unknown.status).toBe(401);
  });

  it('DPoP-bound apps: use_dpop_nonce, then a DPoP token; API calls carry a DPoP proof bound to the key', async () => {
    const clientId = emu.oauth.registerClient({ jwks: [publicJwk], scopes: ['okta.users.read'], requireDpop: true });
    const u = emu.admin.createUser({ profile: profile('dpop-1@agents.test') });
    const okta = privateKeyClient(clientId, ['okta.users.read']);
    expect((await okta.userApi.getUser({ userId: u.id })).id).toBe(u.id);
    const tokenCalls = emu.requestLog.filter((r) => r.path === '/oauth2/v1/token').slice(-2);
    expect(tokenCalls.map((r) => r.status)).toEqual([400, 200]);
    expect(emu.requestLog.filter((r) => r.path === `/api/v1/users/${u.id}`).pop()?.authScheme).toBe('DPoP');
    // The same token presented as a plain Bearer token (no proof) is refused.
    const token = (okta as unknown as { oauth: { accessToken: { access_token: string; token_type: string } } }).oauth.accessToken;
    expect(token.token_type).toBe('DPoP');
    const bearer = await raw(emu, `/api/v1/users/${u.id}`, { headers: { Authorization: `Bearer ${token.access_token}` } });
    expect([bearer.status, ((await bearer.json()) as { errorCode: string }).errorCode]).toEqual([401, 'E0000011']);
  });

  it('keeps SSWS working next to OAuth', async () => {
    const res = await raw(emu, '/api/v1/users?limit=1');
    expect(res.status).toBe(200);
  });
});
