// No secrets, ever (R10–R12): credentials are identifiers and metadata; secret-looking values
// anywhere in an agent write are refused with 400 before anything parses them, and never reach
// the logs, the audit log or the error body. Rotation age, high-risk static keys, and one
// credential per agent.

import { generateKeyPairSync } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allAudit, scimError } from '../../helpers/test-app.js';
import { buildGov, DAY, type Gov, GOV_URN, type Json } from './helpers.js';

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
