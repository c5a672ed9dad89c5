// No secrets, ever (R10–R12): credentials are identifiers and metadata; secret-looking values
// anywhere in an agent write are refused with 400 before anything parses them, and never reach
// the logs, the audit log or the error body. Rotation age, high-risk static keys, and one
// credential per agent.

import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allAudit, captureState, expectUnchanged, GROUP_URN, scimError } from '../../helpers/test-app.js';
import { buildGov, DAY, ENTERPRISE_URN, ENTITLEMENT_URN, type Gov, GOV_URN, type Json, PATCH_URN, USER_URN } from './helpers.js';

const ROLE_URN = 'urn:ietf:params:scim:schemas:core:2.0:Role';

const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const PEM = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const DER = privateKey.export({ type: 'pkcs8', format: 'der' }).toString('base64');
const b64url = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const JWT = `${b64url({ alg: 'RS256', typ: 'JWT' })}.${b64url({ sub: 'agent', iat: 1 })}.${'Qx9'.repeat(20)}`;
const SECRETS: Record<string, string> = {
  pem: PEM,
  openai: 'sk-proj-4Fh3kQ9zLm2Xv8RtYw1BnC6dPq',
  github: `ghp_${'aB3dE5fG7h'.repeat(4)}`,
  jwt: JWT,
  hex: 'a3f9c2e87b1d4f6a9c0e2b5d8f1a4c7e9b2d5f8a1c4e7b0d3f6a9c2e5b8d1f4a',
  base64: 'Zm9vYmFyQmF6UXV4MTIzNDU2Nzg5MEFiQ2RFZkdoSWpLbE1uT3BRclN0',
};

describe('no secrets (R10–R12)', () => {
  let g: Gov;
  let sponsor: string;
  beforeAll(async () => {
    g = await buildGov({ outboxTargets: [] });
    sponsor = await g.user('sec-sponsor');
  });
  afterAll(() => g.close());

  const leaked = async () => {
    const text = `${g.t.logText()}\n${JSON.stringify(await allAudit(g.t))}`;
    return Object.entries(SECRETS).filter(([, v]) => text.includes(v.slice(0, 40)) || text.includes(v.replace(/\n/g, '\\n').slice(0, 60)));
  };

  it.each(Object.keys(SECRETS))('a %s anywhere in an agent → 400 invalidValue naming where, never the value', async (kind) => {
    const secret = SECRETS[kind]!;
    const bodies: [string, Json][] = [
      ['credentialId', g.agentBody(`s-${kind}-1`, sponsor, {}, { credentials: [{ credentialId: secret, type: 'apiKey' }] })],
      ['description', g.agentBody(`s-${kind}-2`, sponsor, { description: `token: ${secret}` })],
      ['vaultRef', g.agentBody(`s-${kind}-3`, sponsor, {}, { credentials: [{ credentialId: 'ok-1', type: 'oauthClient', vaultRef: `https://vault.example.com/x?key=${secret}` }] })],
    ];
    for (const [where, body] of bodies) {
      const res = await g.t.http.post('/Agents', body);
      expect(res.status, `${kind} in ${where}`).toBe(400);
      expect(res.body).toEqual(scimError(400, 'invalidValue', /looks like a secret .*R10/));
      expect(JSON.stringify(res.body)).not.toContain(secret.slice(0, 30));
    }
    // PATCH: the op's value, a path filter, or a member name
    const a = await g.agent(`patched-${kind}`, { sponsor });
    for (const op of [
      { op: 'add', path: `${GOV_URN}:credentials`, value: [{ credentialId: secret, type: 'jwk' }] },
      { op: 'remove', path: `${GOV_URN}:credentials[credentialId eq "${secret.replace(/\n/g, '')}"]` },
      { op: 'replace', value: { description: secret } },
    ]) {
      const res = await g.patch(`/Agents/${a.id as string}`, [op]);
      expect(res.status, JSON.stringify(op).slice(0, 80)).toBe(400);
      expect(JSON.stringify(res.body)).not.toContain(secret.slice(0, 30));
    }
    // and through the IGA view and /Bulk
    const view = await g.t.http.patch(`/Users/${a.id as string}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'title', value: secret }] });
    expect(view.status).toBe(400);
    const bulk = await g.t.http.post('/Bulk', {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
      Operations: [{ method: 'PATCH', path: `/Agents/${a.id as string}`, data: { Operations: [{ op: 'replace', path: 'description', value: secret }] } }],
    });
    expect(bulk.body.Operations[0].status).toBe('400');
    expect(await leaked()).toEqual([]);
  });

  it('unknown credential sub-attributes (a "secret") → 400; public material is fine: thumbprints, certificates, policy hashes', async () => {
    const bad = await g.t.http.post('/Agents', g.agentBody('bad-cred', sponsor, {}, { credentials: [{ credentialId: 'c1', type: 'oauthClient', secret: 'hunter2' }] }));
    expect(bad.status).toBe(400);
    expect(bad.body.detail).toMatch(/unknown sub-attribute "secret"/);
    expect(bad.body.detail).not.toContain('hunter2');
    const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const thumb = Buffer.from(publicKey.export({ format: 'der', type: 'spki' })).toString('base64url').slice(0, 43);
    const ok = await g.t.http.post(
      '/Agents',
      g.agentBody('public-cred', sponsor, { x509Certificates: [{ value: 'MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMxEzARBgNVBAgMCkNhbGlmb3JuaWEx' }] }, {
        credentials: [{ credentialId: 'spiffe://example.org/agents/public-cred', type: 'spiffe', keyThumbprint: thumb }],
        actionPolicies: [{ action: 'x', mode: 'allow', policyHash: 'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08' }],
      }),
    );
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    // a DER private key where a certificate belongs
    const der = await g.t.http.post('/Agents', g.agentBody('der-cred', sponsor, { x509Certificates: [{ value: DER }] }));
    expect(der.status).toBe(400);
    expect(der.body.detail).toMatch(/private key \(DER\)/);
  });

  it('R12: a credentialId or keyThumbprint belongs to one agent → 409 uniqueness', async () => {
    await g.agent('cred-owner', { sponsor, gov: { credentials: [{ credentialId: 'entra:app:1234', type: 'entraAgentIdentity', keyThumbprint: '3A:1F:9C' }] } });
    const dupId = await g.t.http.post('/Agents', g.agentBody('cred-thief', sponsor, {}, { credentials: [{ credentialId: 'entra:app:1234', type: 'entraAgentIdentity' }] }));
    expect(dupId.status).toBe(409);
    expect(dupId.body).toEqual(scimError(409, 'uniqueness', /credentialId is already attached to another agent/));
    const dupPrint = await g.t.http.post('/Agents', g.agentBody('print-thief', sponsor, {}, { credentials: [{ credentialId: 'other', type: 'x509', keyThumbprint: '3A:1F:9C' }] }));
    expect(dupPrint.status).toBe(409);
    const twice = await g.t.http.post('/Agents', g.agentBody('twice', sponsor, {}, { credentials: [{ credentialId: 'dup', type: 'jwk' }, { credentialId: 'dup', type: 'jwk' }] }));
    expect(twice.status).toBe(400);
  });

  it('R11: a high-risk agent cannot register a static API key; rotation age marks credentials stale', async () => {
    const risky = await g.t.http.post('/Agents', g.agentBody('risky', sponsor, {}, { riskTier: 'critical', credentials: [{ credentialId: 'key-1', type: 'apiKey' }] }));
    expect(risky.status).toBe(400);
    expect(risky.body.detail).toMatch(/critical-risk agent cannot register an apiKey credential.*\(R11\)/);
    const a = await g.agent('rotating-bot', {
      sponsor,
      gov: { credentials: [{ credentialId: 'key-2', type: 'apiKey', lastRotatedAt: g.t.clock.iso() }, { credentialId: 'fed-1', type: 'federatedIdentity', createdAt: '2020-01-01T00:00:00Z' }] },
    });
    expect((a[GOV_URN] as Json).credentialStatus).toBe('ok');
    g.t.clock.advance(91 * DAY);
    await g.t.governance.scheduler.runOnce();
    const gov = await g.gov(a.id as string);
    expect(gov.credentialStatus).toBe('stale');
    expect(gov.complianceIssues).toEqual(expect.arrayContaining([{ type: 'credentialStale', since: g.t.clock.iso() }]));
    const listed = await g.t.http.get(`/Agents?filter=${encodeURIComponent(`${GOV_URN}:credentialStatus eq "stale"`)}`);
    expect(listed.body.Resources.map((r: Json) => r.id)).toEqual([a.id]);
    // rotation clears it
    const rotated = await g.patch(`/Agents/${a.id as string}`, [{ op: 'replace', path: `${GOV_URN}:credentials[credentialId eq "key-2"].lastRotatedAt`, value: g.t.clock.iso() }]);
    expect((rotated.body[GOV_URN] as Json).credentialStatus).toBe('ok');
  });

  it('an X-Audit-Reason that looks like a secret is refused; a plain one is recorded', async () => {
    const a = await g.agent('reasoned-bot', { sponsor });
    const bad = await g.t.http.patch(`/Agents/${a.id as string}`, { Operations: [{ op: 'replace', path: 'description', value: 'x' }] }).set('X-Audit-Reason', `rotated ${SECRETS.openai!}`);
    expect(bad.status).toBe(400);
    const ok = await g.t.http.patch(`/Agents/${a.id as string}`, { Operations: [{ op: 'replace', path: 'description', value: 'x' }] }).set('X-Audit-Reason', 'CHG-1234 approved by CAB');
    expect(ok.status).toBe(200);
    expect((await allAudit(g.t)).at(-1)!.reason).toBe('CHG-1234 approved by CAB');
    expect(await leaked()).toEqual([]);
  });
});

// Issue 10, finding 7: every resource type's writes are scanned the same way (not only agents),
// through every door (the routes, /Bulk, the IGA view), and a secret posted anywhere leaves
// nothing behind: no resource, no audit event, no log line, no echo in the error.
describe('no secrets in any resource type (R10)', () => {
  let g: Gov;
  let human: string;
  beforeAll(async () => {
    g = await buildGov({ outboxTargets: [] });
    human = await g.user('plain.human', { nickName: 'Plain', displayName: 'Plain Human' });
  });
  afterAll(() => g.close());

  const leaks = async (secret: string) => {
    const text = `${g.t.logText()}\n${JSON.stringify(await allAudit(g.t))}`;
    return text.includes(secret.slice(0, 40)) || text.includes(secret.replace(/\n/g, '\\n').slice(0, 60));
  };
  const KINDS: Record<string, RegExp> = {
    pem: /private key \(PEM\)/,
    openai: /API key/,
    github: /API key/,
    jwt: /signed JWT/,
    hex: /long random string/,
    base64: /long random string/,
  };

  it.each(Object.keys(SECRETS))('a %s in a User, a Group, an Entitlement or a Role → 400 invalidValue naming where and what kind; nothing stored or audited', async (kind) => {
    const secret = SECRETS[kind]!;
    const before = await captureState(g.t, `/Users/${human}`);
    const writes: [string, () => ReturnType<typeof g.t.http.post>, RegExp][] = [
      ['POST /Users nickName', () => g.t.http.post('/Users', { schemas: [USER_URN], userName: `leaky-${kind}`, nickName: secret }), /^nickName looks like a secret/],
      [
        'POST /Users enterprise department',
        () => g.t.http.post('/Users', { schemas: [USER_URN, ENTERPRISE_URN], userName: `leaky-${kind}`, [ENTERPRISE_URN]: { department: `R&D ${secret}` } }),
        /^urn:ietf:params:scim:schemas:extension:enterprise:2\.0:User\.department looks like a secret/,
      ],
      ['PATCH /Users nickName', () => g.patch(`/Users/${human}`, [{ op: 'replace', path: 'nickName', value: secret }]), /^Operations\[0\]\.value looks like a secret/],
      // member names are case-insensitive for the PATCH parser, and so for the scan
      ['PATCH /Users "Value"', () => g.patch(`/Users/${human}`, [{ op: 'replace', path: 'nickName', Value: secret }]), /^Operations\[0\]\.value looks like a secret/],
      ['PATCH /Users without a path', () => g.patch(`/Users/${human}`, [{ op: 'replace', value: { title: secret } }]), /^Operations\[0\]\.value\.title looks like a secret/],
      ['PUT /Users title', () => g.t.http.put(`/Users/${human}`, { schemas: [USER_URN], userName: 'plain.human', title: secret }), /^title looks like a secret/],
      ['POST /Groups displayName', () => g.t.http.post('/Groups', { schemas: [GROUP_URN], displayName: `ops ${secret}` }), /^displayName looks like a secret/],
      ['POST /Entitlements display', () => g.t.http.post('/Entitlements', { schemas: [ENTITLEMENT_URN], value: `leaky-${kind}`, display: secret }), /^display looks like a secret/],
      ['POST /Roles display', () => g.t.http.post('/Roles', { schemas: [ROLE_URN], value: `leaky-${kind}`, display: secret }), /^display looks like a secret/],
    ];
    for (const [what, send, where] of writes) {
      const res = await send();
      expect(res.status, `${what}: ${JSON.stringify(res.body).slice(0, 200)}`).toBe(400);
      expect(res.body, what).toEqual(scimError(400, 'invalidValue', where));
      expect(res.body.detail, what).toMatch(KINDS[kind]!);
      expect(JSON.stringify(res.body), what).not.toContain(secret.slice(0, 30));
    }
    // /Bulk goes through the same service
    const bulk = await g.t.http.post('/Bulk', {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
      Operations: [
        { method: 'POST', path: '/Users', bulkId: 'u1', data: { schemas: [USER_URN], userName: `bulk-leaky-${kind}`, nickName: secret } },
        { method: 'PATCH', path: `/Users/${human}`, data: { schemas: [PATCH_URN], Operations: [{ op: 'add', path: 'title', value: secret }] } },
      ],
    });
    expect(bulk.status).toBe(200);
    expect(bulk.body.Operations.map((o: Json) => [o.status, (o.response as Json).scimType])).toEqual([
      ['400', 'invalidValue'],
      ['400', 'invalidValue'],
    ]);
    expect(JSON.stringify(bulk.body)).not.toContain(secret.slice(0, 30));

    // what a user sees afterwards: nothing was created, the human is unchanged, no audit event
    for (const userName of [`leaky-${kind}`, `bulk-leaky-${kind}`]) {
      const found = await g.t.http.get(`/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`);
      expect(found.body.totalResults, userName).toBe(0);
    }
    for (const path of ['/Groups', '/Entitlements', '/Roles']) {
      const all = await g.t.http.get(path);
      expect(JSON.stringify(all.body), path).not.toContain(secret.slice(0, 30));
    }
    await expectUnchanged(g.t, before);
    const events = await g.t.http.get('/AuditEvents?count=1000');
    expect(events.status).toBe(200);
    expect(JSON.stringify(events.body)).not.toContain(secret.slice(0, 30));
    expect(await leaks(secret)).toBe(false);
  });

  it('ordinary User data is not taken for a secret: certificates, photo URLs, UUID external ids; a password is dropped unread', async () => {
    const res = await g.t.http.post('/Users', {
      schemas: [USER_URN, ENTERPRISE_URN],
      userName: 'ordinary.person@example.com',
      externalId: '7f3e1c2a-9b8d-4e6f-a1b2-c3d4e5f60718',
      name: { givenName: 'Ordinary', familyName: 'Person' },
      nickName: 'Ordy',
      // Okta's password sync sends the real password: it is never stored, so it is not judged
      password: 'Zm9vYmFyQmF6UXV4MTIzNDU2Nzg5MEFiQ2RFZkdoSWpLbE1uT3BRclN0',
      photos: [
        { value: 'https://photos.example.com/profilephoto/72930000000Ccne/F', type: 'photo' },
        { value: 'https://www.gravatar.com/avatar/205e460b479e2e5b48aec07710c08d50', type: 'thumbnail' },
      ],
      ims: [{ value: 'ordinary.person', type: 'xmpp' }],
      x509Certificates: [{ value: 'MIIDQzCCAqygAwIBAgICEAAwDQYJKoZIhvcNAQEFBQAwTjELMAkGA1UEBhMCVVMxEzARBgNVBAgMCkNhbGlmb3JuaWEx' }],
      [ENTERPRISE_URN]: { employeeNumber: '701984', costCenter: '4130', department: 'Tour Operations' },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body.password).toBeUndefined();
    const id = res.body.id as string;
    const patched = await g.patch(`/Users/${id}`, [
      { op: 'replace', path: 'password', value: 'Zm9vYmFyQmF6UXV4MTIzNDU2Nzg5MEFiQ2RFZkdoSWpLbE1uT3BRclN1' },
      { op: 'replace', value: { password: 'Zm9vYmFyQmF6UXV4MTIzNDU2Nzg5MEFiQ2RFZkdoSWpLbE1uT3BRclN2' } },
    ]);
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(await leaks('Zm9vYmFyQmF6UXV4MTIzNDU2Nzg5MEFiQ2RFZkdoSWpLbE1uT3BRclN')).toBe(false);
    // a private key where a certificate belongs is still refused
    const der = await g.t.http.post('/Users', { schemas: [USER_URN], userName: 'der.person', x509Certificates: [{ value: DER }] });
    expect(der.body).toEqual(scimError(400, 'invalidValue', /^x509Certificates\[0\]\.value looks like a secret \(private key \(DER\)\)/));
  });

  it('authorisation first: a token that may not write gets 403 for a body with a secret, never a 400 about it', async () => {
    const reader = await g.t.tokenWith(['scim.read']);
    const a = await g.agent('scope-first-bot', { sponsor: human });
    const post = await g.t.http.post('/Users', { schemas: [USER_URN], userName: 'sneaky', nickName: SECRETS.openai }, reader);
    expect(post.body).toEqual(scimError(403, undefined, /lacks the "scim.write" scope/));
    const patch = await g.patch(`/Agents/${a.id as string}`, [{ op: 'replace', path: 'description', value: SECRETS.jwt }], reader);
    expect(patch.status).toBe(403);
    const bulk = await g.t.http.post(
      '/Bulk',
      { schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'], Operations: [{ method: 'POST', path: '/Users', bulkId: 's1', data: { schemas: [USER_URN], userName: 'sneaky', nickName: SECRETS.openai } }] },
      reader,
    );
    expect(bulk.status, JSON.stringify(bulk.body)).toBe(200);
    expect(bulk.body.Operations[0].status).toBe('403');
  });

  it('a 200 KB adversarial body: 403 for a reader and a revoker, a verdict for a writer, a secret at its end found', async () => {
    // "eyJ" repeated made the old JWT pattern quadratic (90 KB took ~7 s, 1 MB minutes). How long
    // the scan takes is measured by npm run bench ("1 MB adversarial body") and npm run bench:secrets.
    const big = 'eyJ'.repeat(70_000); // ~210 KB: small enough for a mutation run's instrumented scanner
    const reader = await g.t.tokenWith(['scim.read']);
    const writer = await g.t.tokenWith(['scim.write']);
    const revoker = await g.t.tokenWith(['scim.revoke']);
    const a = await g.agent('adversarial-bot', { sponsor: human });
    expect((await g.t.http.post('/Agents', g.agentBody('adversarial-1', human, { description: big }), reader)).status).toBe(403);
    const revoked = await g.patch(`/Agents/${a.id as string}`, [{ op: 'replace', path: 'description', value: big }], revoker);
    expect(revoked.status).toBe(403); // scim.revoke may not change a description
    const written = await g.t.http.post('/Users', { schemas: [USER_URN], userName: 'adversarial.person', nickName: big }, writer);
    expect([201, 400], JSON.stringify(written.body).slice(0, 200)).toContain(written.status);
    const secretAtEnd = await g.t.http.post('/Users', { schemas: [USER_URN], userName: 'adversarial.leak', nickName: `${big} ${SECRETS.openai!}` }, writer);
    expect(secretAtEnd.body).toEqual(scimError(400, 'invalidValue', /^nickName looks like a secret \(API key\)/));
  });
});
