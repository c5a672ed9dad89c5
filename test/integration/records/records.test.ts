// Signed agent records end to end over HTTP (issue 7, R19/R20): issued on every write in the
// same commit, served as the attestation and at /Agents/{id}/record, verified offline with the
// JWKS, revoked through the status list, renewed before expiry.

import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { actionPolicyDigest } from '../../../src/agents/records/claims.js';
import { runRecordVerify } from '../../../src/cli/record-commands.js';
import { canonicalJson } from '../../../src/store/canonical-json.js';
import { RecordVerificationError, verify, type RecordErrorCode } from '../../../src/verify.js';
import { allAudit } from '../../helpers/test-app.js';
import { loadConfig } from '../../../src/config/config.js';
import { decryptPrivateKey, resolveRecordKek } from '../../../src/records/kek.js';
import { ATTESTATION, buildRecordsApp, claimsOf, GOV_URN, type Json, kidOf, newRecordKey, type RecordsApp, statusClaimsOf } from './helpers.js';

const ISSUER = 'https://roster.example.com';
const HOUR = 3_600_000;

async function failure(p: Promise<unknown>): Promise<RecordErrorCode> {
  try {
    await p;
  } catch (e) {
    if (e instanceof RecordVerificationError) return e.code;
    throw e;
  }
  throw new Error('expected verification to fail');
}

describe('signed agent records', () => {
  let t: RecordsApp;
  beforeEach(async () => {
    t = await buildRecordsApp({ env: { AGENTROSTER_BASE_URL: `${ISSUER}/scim/v2` } });
  });
  afterEach(() => t.close());

  const now = () => t.clock.now();

  it('every write stores a record of exactly that version in attestation, returned only on request', async () => {
    const policies = [
      { action: 'erp.po.create', mode: 'requireApproval', approvers: ['u-9'], limitAmount: 100, limitCurrency: 'EUR' },
      { action: 'mail.send.external', mode: 'deny' },
    ];
    const owner = await t.http
      .post('/scim/v2/Users')
      .set('Authorization', `Bearer ${t.token}`)
      .set('Content-Type', 'application/scim+json')
      .send(JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'owner-1', displayName: 'Owner One' }));
    const created = await t.createAgent(
      'procurement-bot',
      {
        owners: [{ value: owner.body.id as string, type: 'User', display: 'Owner One' }],
        entitlements: [{ value: 'erp.write', expiresAt: '2026-06-01T00:00:00Z', justification: 'unsigned' }, { value: 'crm.read' }],
      },
      { lifecycleState: 'active', autonomyLevel: 'humanOnTheLoop', actionPolicies: policies },
    );
    const id = created.id as string;
    // not returned by default (returned: request)
    expect((created[GOV_URN] as Json).attestation).toBeUndefined();
    const plain = await t.http.get(`/scim/v2/Agents/${id}`).set('Authorization', `Bearer ${t.token}`);
    expect((plain.body[GOV_URN] as Json).attestation).toBeUndefined();

    const att = await t.attestation(id);
    const jwt = att.recordJws as string;
    const claims = claimsOf(jwt);
    const stored = (await t.ar.store.get('Agent', id))!.data;
    const iat = Math.floor(now().getTime() / 1000);
    expect(claims).toEqual({
      iss: ISSUER,
      sub: id,
      iat,
      exp: iat + 24 * 3600,
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
      version: 1,
      agentUserName: 'procurement-bot',
      sponsor: { value: await t.sponsorId(), display: 'sponsor-1' },
      owners: (stored.owners as Json[]).map((o) => ({ value: o.value, type: o.type, ...(o.display ? { display: o.display } : {}) })),
      lifecycleState: 'active',
      entitlements: [{ value: 'crm.read' }, { value: 'erp.write', expiresAt: '2026-06-01T00:00:00.000Z' }],
      autonomyLevel: 'humanOnTheLoop',
      actionPolicyDigest: actionPolicyDigest(policies),
      status: { revocation_list: { uri: `${ISSUER}/.well-known/agentroster/status-list` } },
    });
    expect(att).toEqual({
      recordJws: jwt,
      kid: kidOf(jwt),
      issuedAt: new Date(iat * 1000).toISOString(),
      validUntil: new Date((iat + 24 * 3600) * 1000).toISOString(),
      recordHash: expect.stringMatching(/^sha-256:[\w-]{43}$/),
      version: 1,
    });
    // the relying party can recompute the policy digest from the SCIM representation
    const sorted = [...policies].sort((a, b) => (canonicalJson(a) < canonicalJson(b) ? -1 : 1));
    expect(claims.actionPolicyDigest).toBe(`sha-256:${createHash('sha256').update(canonicalJson(sorted)).digest('base64url')}`);

    // a change: new version, new record, new jti, same content hash when the signed subset is unchanged
    t.clock.advance(60_000);
    const res = await t.patchGov(id, 'purpose', 'new purpose');
    expect(res.status).toBe(200);
    expect(res.headers.etag).toBe('W/"2"');
    const att2 = await t.attestation(id);
    expect(claimsOf(att2.recordJws as string)).toMatchObject({ version: 2, iat: iat + 60 });
    expect(claimsOf(att2.recordJws as string).jti).not.toBe(claims.jti);
    expect(att2.recordHash).toBe(att.recordHash);
  });

  it('a write that changes nothing keeps its version and its record', async () => {
    const a = await t.createAgent('noop-bot', {}, { lifecycleState: 'active' });
    const id = a.id as string;
    const before = await t.attestation(id);
    t.clock.advance(5_000);
    const { meta: _m, id: _i, ...body } = a;
    const put = await t.http
      .put(`/scim/v2/Agents/${id}`)
      .set('Authorization', `Bearer ${t.token}`)
      .set('Content-Type', 'application/scim+json')
      .send(JSON.stringify(body));
    expect(put.status).toBe(200);
    expect(put.headers.etag).toBe('W/"1"');
    expect(await t.attestation(id)).toEqual(before);
  });

  it('clients cannot write the attestation', async () => {
    const a = await t.createAgent('ro-bot', {}, { lifecycleState: 'active', attestation: { recordJws: 'forged.x.y' } });
    const id = a.id as string;
    expect((await t.attestation(id)).recordJws).not.toBe('forged.x.y');
    await t.patch(id, [{ op: 'replace', path: `${ATTESTATION}.recordJws`, value: 'forged.x.y' }]);
    expect((await t.attestation(id)).recordJws).not.toBe('forged.x.y');
  });

  it('verifies offline with only the JWKS file: CLI and library, no server running', async () => {
    const a = await t.createAgent('offline-bot', {}, { lifecycleState: 'active' });
    const jwt = (await t.attestation(a.id as string)).recordJws as string;
    const dir = mkdtempSync(join(tmpdir(), 'ar-rec-'));
    const jwksFile = join(dir, 'jwks.json');
    writeFileSync(jwksFile, JSON.stringify(await t.jwks()));
    const at = now().toISOString();
    await t.close(); // nothing is listening any more
    t = await buildRecordsApp(); // (afterEach closes this one)

    const out: string[] = [];
    const err: string[] = [];
    const noFetch = (() => {
      throw new Error('no network in offline verification');
    }) as unknown as typeof fetch;
    const code = await runRecordVerify(jwt, { jwks: jwksFile, issuer: ISSUER, at }, { out: (s) => out.push(s), err: (s) => err.push(s), fetch: noFetch });
    expect(err.join('')).toMatch(/^VALID: agent .* \(offline-bot\), active, version 1/);
    expect(err.join('')).toMatch(/revocation NOT checked/);
    expect(code).toBe(0);
    expect(JSON.parse(out.join(''))).toMatchObject({ valid: true, status: 'unchecked', claims: { sub: a.id, agentUserName: 'offline-bot' } });

    // the JWT in a file works as well
    writeFileSync(join(dir, 'record.jwt'), `${jwt}\n`);
    expect(await runRecordVerify(join(dir, 'record.jwt'), { jwks: jwksFile, at }, { out: () => undefined, err: () => undefined, fetch: noFetch })).toBe(0);
  });

  it('verifies with a standard JOSE library alone (jose.jwtVerify + createLocalJWKSet)', async () => {
    const a = await t.createAgent('jose-bot', { entitlements: [{ value: 'crm.read' }] }, { lifecycleState: 'active' });
    const jwt = (await t.attestation(a.id as string)).recordJws as string;
    const { payload, protectedHeader } = await jwtVerify(jwt, createLocalJWKSet((await t.jwks()) as never), {
      issuer: ISSUER,
      typ: 'agent-record+jwt',
      algorithms: ['ES256'],
      currentDate: now(),
    });
    expect(protectedHeader.alg).toBe('ES256');
    expect(payload).toMatchObject({ sub: a.id, lifecycleState: 'active', entitlements: [{ value: 'crm.read' }], version: 1 });
  });

  it('fails with a distinct reason: tampered, wrong key, expired, revoked', async () => {
    const a = await t.createAgent('reasons-bot', {}, { lifecycleState: 'active' });
    const id = a.id as string;
    const jwt = (await t.attestation(id)).recordJws as string;
    const jwks = await t.jwks();

    const [h, p, s] = jwt.split('.') as [string, string, string];
    const payload = JSON.parse(Buffer.from(p, 'base64url').toString()) as Json;
    payload.autonomyLevel = 'autonomous';
    const tampered = `${h}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${s}`;
    expect(await failure(verify(tampered, { jwks, now: now() }))).toBe('ERR_RECORD_SIGNATURE');

    const other = await buildRecordsApp({ env: { AGENTROSTER_BASE_URL: `${ISSUER}/scim/v2` } });
    try {
      const foreign = (await other.attestation((await other.createAgent('foreign-bot', {}, { lifecycleState: 'active' })).id as string)).recordJws as string;
      expect(await failure(verify(foreign, { jwks, now: now() }))).toBe('ERR_RECORD_UNKNOWN_KEY');
    } finally {
      await other.close();
    }

    expect(await failure(verify(jwt, { jwks, now: new Date(now().getTime() + 25 * HOUR) }))).toBe('ERR_RECORD_EXPIRED');

    await t.patchGov(id, 'lifecycleState', 'suspended');
    expect(await failure(verify(jwt, { jwks, statusList: await t.statusList(), now: now() }))).toBe('ERR_RECORD_REVOKED');
  });

  it('a record issued before a suspension is rejected once the status list is updated', async () => {
    const a = await t.createAgent('suspend-bot', {}, { lifecycleState: 'active' });
    const b = await t.createAgent('bystander-bot', {}, { lifecycleState: 'active' });
    const id = a.id as string;
    const jwt = (await t.attestation(id)).recordJws as string;
    const jwks = await t.jwks();
    const listBefore = await t.statusList();
    expect(statusClaimsOf(listBefore).revoked).toEqual([]);
    expect((await verify(jwt, { jwks, issuer: ISSUER, statusList: listBefore, now: now() })).status).toBe('good');

    t.clock.advance(60_000);
    expect((await t.patchGov(id, 'lifecycleState', 'suspended')).status).toBe(200);
    const listAfter = await t.statusList();
    expect(statusClaimsOf(listAfter)).toMatchObject({
      iss: ISSUER,
      sub: `${ISSUER}/.well-known/agentroster/status-list`,
      revoked: [{ sub: id, ver: 2, at: Math.floor(now().getTime() / 1000), state: 'suspended' }],
    });
    expect(await failure(verify(jwt, { jwks, issuer: ISSUER, statusList: listAfter, now: now() }))).toBe('ERR_RECORD_REVOKED');
    // the holder of the older list still accepts it: that is the offline trade-off, bounded by the list's exp
    expect((await verify(jwt, { jwks, statusList: listBefore, now: now() })).status).toBe('good');
    expect(await failure(verify(jwt, { jwks, statusList: listBefore, now: new Date(now().getTime() + 2 * HOUR) }))).toBe('ERR_STATUS_LIST_EXPIRED');

    // the new record states the suspension, with a short validity
    const att = await t.attestation(id);
    expect(att).toMatchObject({ version: 2, minValidVersion: 2, revokedAt: now().toISOString() });
    const suspended = claimsOf(att.recordJws as string);
    expect(suspended.lifecycleState).toBe('suspended');
    expect(suspended.exp - suspended.iat).toBe(3600);
    expect(await failure(verify(att.recordJws as string, { jwks, statusList: listAfter, now: now() }))).toBe('ERR_RECORD_INACTIVE');

    // other agents are unaffected
    const other = (await t.attestation(b.id as string)).recordJws as string;
    expect((await verify(other, { jwks, statusList: listAfter, now: now() })).status).toBe('good');

    // reactivation: the suspended record (v2) is revoked too, the new active one is good
    t.clock.advance(60_000);
    await t.patchGov(id, 'lifecycleState', 'active');
    const list3 = await t.statusList();
    const v3 = (await t.attestation(id)).recordJws as string;
    expect((await verify(v3, { jwks, statusList: list3, now: now() })).claims.version).toBe(3);
    expect(await failure(verify(jwt, { jwks, statusList: list3, now: now() }))).toBe('ERR_RECORD_REVOKED');
  });

  it('adding an entitlement keeps older records valid; removing one revokes them', async () => {
    const a = await t.createAgent('grant-bot', { entitlements: [{ value: 'crm.read' }] }, { lifecycleState: 'active' });
    const id = a.id as string;
    const jwks = await t.jwks();
    const v1 = (await t.attestation(id)).recordJws as string;
    await t.patch(id, [{ op: 'add', path: 'entitlements', value: [{ value: 'crm.write' }] }]);
    const v2 = (await t.attestation(id)).recordJws as string;
    expect(claimsOf(v2).entitlements).toEqual([{ value: 'crm.read' }, { value: 'crm.write' }]);
    expect((await verify(v1, { jwks, statusList: await t.statusList(), now: now() })).status).toBe('good');

    await t.patch(id, [{ op: 'remove', path: 'entitlements[value eq "crm.write"]' }]);
    const list = await t.statusList();
    expect(await failure(verify(v1, { jwks, statusList: list, now: now() }))).toBe('ERR_RECORD_REVOKED');
    expect(await failure(verify(v2, { jwks, statusList: list, now: now() }))).toBe('ERR_RECORD_REVOKED');
    expect((await verify((await t.attestation(id)).recordJws as string, { jwks, statusList: list, now: now() })).claims.version).toBe(3);
  });

  it('retiring an agent revokes its records (DELETE is refused before, and keeps the tombstone after)', async () => {
    const a = await t.createAgent('delete-bot', {}, { lifecycleState: 'active' });
    const id = a.id as string;
    const jwt = (await t.attestation(id)).recordJws as string;
    const jwks = await t.jwks();
    await t.statusList(); // the publisher has scanned the audit log before the retirement
    // governance (R14): an agent that is not retired cannot be deleted; retire it, then DELETE is a no-op
    expect((await t.http.delete(`/scim/v2/Agents/${id}`).set('Authorization', `Bearer ${t.token}`)).status).toBe(403);
    expect((await t.patchGov(id, 'lifecycleState', 'retired')).status).toBe(200);
    expect((await t.http.delete(`/scim/v2/Agents/${id}`).set('Authorization', `Bearer ${t.token}`)).status).toBe(204);
    const list = await t.statusList();
    expect(statusClaimsOf(list).revoked).toEqual([{ sub: id, ver: 2, at: Math.floor(now().getTime() / 1000), state: 'retired' }]);
    expect(await failure(verify(jwt, { jwks, statusList: list, now: now() }))).toBe('ERR_RECORD_REVOKED');
  });

  it('revocations are found after a restart (audit log and stored markers), and leave the list after the validity window', async () => {
    const a = await t.createAgent('window-bot', {}, { lifecycleState: 'active' });
    const d = await t.createAgent('deleted-bot', {}, { lifecycleState: 'active' });
    await t.patchGov(a.id as string, 'lifecycleState', 'retired');
    // (agents are never deleted while not retired, R14: a suspension is the other revoking change)
    await t.patchGov(d.id as string, 'lifecycleState', 'suspended');
    // a fresh publisher (as after a restart) finds both
    const { StatusListPublisher } = await import('../../../src/records/status-list.js');
    const fresh = new StatusListPublisher({
      store: t.ar.store,
      agentType: t.ar.registry.resourceType('Agent')!,
      issuer: t.ar.records.issuer,
      clock: t.clock,
      windowMs: 24 * HOUR,
    });
    expect((await fresh.current()).claims.revoked.map((r) => r.state).sort()).toEqual(['retired', 'suspended']);
    t.clock.advance(25 * HOUR);
    const later = new StatusListPublisher({
      store: t.ar.store,
      agentType: t.ar.registry.resourceType('Agent')!,
      issuer: t.ar.records.issuer,
      clock: t.clock,
      windowMs: 24 * HOUR,
    });
    expect((await later.current()).claims.revoked).toEqual([]);
    expect(statusClaimsOf(await t.statusList()).revoked).toEqual([]);
  });

  it('GET /Agents/{id}/record: the JWS as application/jwt, scope scim.read', async () => {
    const a = await t.createAgent('route-bot', {}, { lifecycleState: 'active' });
    const id = a.id as string;
    const res = await t.http.get(`/scim/v2/Agents/${id}/record`).set('Authorization', `Bearer ${t.token}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/jwt');
    expect(res.headers.etag).toBe('W/"1"');
    expect(res.text).toBe((await t.attestation(id)).recordJws);
    const reader = (await import('../../../src/http/tokens.js')).createToken;
    const readOnly = (await reader(t.ar.store, 'reader', ['scim.read'])).token;
    expect((await t.http.get(`/scim/v2/Agents/${id}/record`).set('Authorization', `Bearer ${readOnly}`)).status).toBe(200);
    const none = (await reader(t.ar.store, 'no-scopes', [])).token;
    expect((await t.http.get(`/scim/v2/Agents/${id}/record`).set('Authorization', `Bearer ${none}`)).status).toBe(403);
    expect((await t.http.get(`/scim/v2/Agents/${id}/record`)).status).toBe(401);
    const missing = await t.http.get(`/scim/v2/Agents/${randomUUID()}/record`).set('Authorization', `Bearer ${t.token}`);
    expect(missing.status).toBe(404);
    expect(missing.body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
  });

  it('JWKS and status list: public, cached with max-age and ETag, no private members', async () => {
    await t.createAgent('jwks-bot', {}, { lifecycleState: 'active' });
    const res = await t.http.get('/.well-known/jwks.json');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/jwk-set+json');
    expect(res.headers['cache-control']).toBe('public, max-age=300');
    expect(res.headers.etag).toMatch(/^"[\w-]{43}"$/);
    const jwks = JSON.parse(res.text) as { keys: Json[] };
    expect(jwks.keys).toHaveLength(1);
    expect(Object.keys(jwks.keys[0]!).sort()).toEqual(['alg', 'crv', 'kid', 'kty', 'use', 'x', 'y']);
    for (const k of jwks.keys) for (const m of ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k']) expect(k[m]).toBeUndefined();
    const again = await t.http.get('/.well-known/jwks.json').set('If-None-Match', res.headers.etag as string);
    expect(again.status).toBe(304);

    const sl = await t.http.get('/.well-known/agentroster/status-list');
    expect(sl.status).toBe(200);
    expect(sl.headers['content-type']).toBe('application/jwt');
    expect(sl.headers['cache-control']).toBe('public, max-age=60');
    expect((await t.http.get('/.well-known/agentroster/status-list').set('If-None-Match', sl.headers.etag as string)).status).toBe(304);
    const c = statusClaimsOf(sl.text);
    expect(c.exp - c.iat).toBe(3600);
  });

  it('key rotation: the new key signs, old records verify until their expiry, then the old key leaves the JWKS', async () => {
    const a = await t.createAgent('rotate-bot', {}, { lifecycleState: 'active' });
    const id = a.id as string;
    const old = (await t.attestation(id)).recordJws as string;
    const oldKid = kidOf(old);

    t.clock.advance(HOUR);
    const r = await t.ar.records.keys.rotate();
    expect(r.retired).toBe(oldKid);
    expect(r.verifyUntil).toBe(new Date(now().getTime() + 24 * HOUR + 10 * 60_000).toISOString());
    await t.patchGov(id, 'purpose', 'after rotation');
    const fresh = (await t.attestation(id)).recordJws as string;
    expect(kidOf(fresh)).toBe(r.active);
    expect(kidOf(fresh)).not.toBe(oldKid);

    const jwks = await t.jwks();
    expect(jwks.keys.map((k) => k.kid)).toEqual([r.active, oldKid]);
    expect((await verify(old, { jwks, now: now() })).claims.version).toBe(1);
    expect((await verify(fresh, { jwks, now: now() })).claims.version).toBe(2);
    // the status list is signed by the new key
    expect(kidOf(await t.statusList())).toBe(r.active);

    // the old record expires (24 h after issue) before its key leaves the JWKS (rotation + 24 h + grace)
    t.clock.advance(23 * HOUR + 5 * 60_000);
    const stillPublished = await t.jwks();
    expect(stillPublished.keys.map((k) => k.kid)).toContain(oldKid);
    expect(await failure(verify(old, { jwks: stillPublished, now: now() }))).toBe('ERR_RECORD_EXPIRED');
    t.clock.set(r.verifyUntil);
    t.clock.advance(1000);
    const later = await t.jwks();
    expect(later.keys.map((k) => k.kid)).toEqual([r.active]);
    expect(await failure(verify(old, { jwks: later, now: now() }))).toBe('ERR_RECORD_UNKNOWN_KEY');
    expect((await t.ar.records.keys.list()).map((k) => [k.kid, k.status, k.published])).toEqual([
      [oldKid, 'retired', false],
      [r.active, 'active', true],
    ]);
  });

  it('the renewal job re-signs active agents before expiry, without revoking their older records', async () => {
    const active = await t.createAgent('renew-bot', {}, { lifecycleState: 'active' });
    const suspended = await t.createAgent('sleepy-bot', {}, { lifecycleState: 'suspended' });
    const id = active.id as string;
    const first = (await t.attestation(id)).recordJws as string;
    const sleepy = await t.attestation(suspended.id as string);

    expect(await t.ar.records.renewal.runOnce()).toEqual({ renewed: 0, skipped: 0, failed: 0 });
    t.clock.advance(19 * HOUR); // inside the renewal window (6 h before expiry)
    expect(await t.ar.records.renewal.runOnce()).toEqual({ renewed: 1, skipped: 0, failed: 0 });
    const att = await t.attestation(id);
    const renewed = claimsOf(att.recordJws as string);
    // a renewal is not a change of the agent: same version, later expiry
    expect(renewed).toMatchObject({ version: 1, iat: Math.floor(now().getTime() / 1000), exp: Math.floor(now().getTime() / 1000) + 24 * 3600 });
    const got = await t.http.get(`/scim/v2/Agents/${id}`).set('Authorization', `Bearer ${t.token}`);
    expect(got.headers.etag).toBe('W/"1"');
    expect(got.body.meta.lastModified).toBe(active.meta && (active.meta as { lastModified: string }).lastModified);
    expect(att.minValidVersion).toBeUndefined();
    expect(await t.attestation(suspended.id as string)).toEqual(sleepy);

    const jwks = await t.jwks();
    const list = await t.statusList();
    expect((await verify(first, { jwks, statusList: list, now: now() })).claims.version).toBe(1);
    expect((await verify(att.recordJws as string, { jwks, statusList: list, now: now() })).claims.iat).toBe(renewed.iat);
    expect(await t.ar.records.renewal.runOnce()).toEqual({ renewed: 0, skipped: 0, failed: 0 });
    const audit = (await allAudit({ store: t.ar.store } as never)).filter((e) => e.resourceId === id);
    expect(audit.map((e) => [e.action, e.version, e.actor.client])).toEqual([
      ['create', 1, expect.stringMatching(/^records-admin-\d+$/)],
      ['renew-record', 1, 'system'],
    ]);
    // a record that would have expired with no renewal (server down) is renewed on the next run
    t.clock.advance(30 * HOUR);
    expect(await t.ar.records.renewal.runOnce()).toEqual({ renewed: 1, skipped: 0, failed: 0 });
  });

  it('a record never outlives the agent\'s own validUntil, and is not churned by renewals', async () => {
    const end = new Date(now().getTime() + 2 * HOUR).toISOString();
    const a = await t.createAgent('window-end-bot', {}, { lifecycleState: 'active', validUntil: end });
    const att = await t.attestation(a.id as string);
    expect(att.validUntil).toBe(end);
    expect(claimsOf(att.recordJws as string).exp).toBe(Date.parse(end) / 1000);
    t.clock.advance(HOUR);
    expect(await t.ar.records.renewal.runOnce()).toEqual({ renewed: 0, skipped: 1, failed: 0 });
    expect((await t.attestation(a.id as string)).version).toBe(1);
  });

  it('no private key material in logs, responses or the audit log', async () => {
    const recordKey = newRecordKey();
    const k = await buildRecordsApp({ env: { AGENTROSTER_RECORD_KEY: recordKey, AGENTROSTER_BASE_URL: `${ISSUER}/scim/v2` } });
    try {
      const a = await k.createAgent('secret-bot', {}, { lifecycleState: 'active' });
      await k.patchGov(a.id as string, 'lifecycleState', 'suspended');
      await k.ar.records.keys.rotate();
      await k.createAgent('secret-bot-2', {}, { lifecycleState: 'active' });
      // the private scalars, recovered with the KEK: they must appear nowhere
      const kek = resolveRecordKek(loadConfig({ AGENTROSTER_RECORD_KEY: recordKey }));
      const secrets = (await k.ar.store.keys.list()).map((s) => {
        expect(s.privateKeyEnc).not.toMatch(/"d"/);
        return (JSON.parse(decryptPrivateKey(kek, s.kid, s.privateKeyEnc).toString()) as { d: string }).d;
      });
      expect(secrets).toHaveLength(2);
      const seen = [
        (await k.http.get('/.well-known/jwks.json')).text,
        await k.statusList(),
        JSON.stringify((await k.http.get(`/scim/v2/Agents?attributes=${ATTESTATION}`).set('Authorization', `Bearer ${k.token}`)).body),
        (await k.http.get(`/scim/v2/Agents/${a.id as string}/record`).set('Authorization', `Bearer ${k.token}`)).text,
        JSON.stringify(await allAudit({ store: k.ar.store } as never)),
        k.logText(),
      ].join('\n');
      expect(k.logText()).toMatch(/record signing ready/);
      for (const d of secrets) expect(seen).not.toContain(d);
      expect(seen).not.toContain(recordKey);
      expect(seen).not.toMatch(/"d"\s*:/);
    } finally {
      await k.close();
    }
  });
});
