// The Okta mapping with the real SDK against the emulator: the "AI Agent" user type and its profile
// schema (created on first use), agent → user (deterministic login, profile, FEDERATION + ACTIVE,
// manager = sponsor), entitlements → direct group memberships, idempotent re-runs, and what fails.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT_PROPERTIES } from '../../../src/connectors/okta/schema.js';
import { type Harness, LOGIN_DOMAIN, startHarness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.close());

describe('the AI Agent user type', () => {
  it('is created with its profile schema on first use (enums over raw HTTP, agentrosterId unique), and reused after', async () => {
    const s = await h.sponsor('grace');
    const id = await h.agent('schema-bot', s.id);
    await h.sync();
    const types = [...h.emu.state.types.values()].filter((t) => t.name === 'aiAgent');
    expect(types).toHaveLength(1);
    const t = types[0]!;
    expect(t.displayName).toBe('AI Agent');
    expect(Object.keys(t.custom).sort()).toEqual(Object.keys(AGENT_PROPERTIES).sort());
    expect(t.custom['agentrosterId']?.unique).toBe('UNIQUE_VALIDATED');
    expect(t.custom['agentEnvironment']?.enum).toEqual(['production', 'staging', 'development', 'test']);
    expect(t.custom['agentAutonomyLevel']?.enum).toEqual(['advisory', 'humanInTheLoop', 'humanOnTheLoop', 'autonomous']);
    expect(h.remote(id)?.typeId).toBe(t.id);

    // a second process (new connector) finds the type and schema as they are: no write to /meta
    const h2 = await startHarness({ emulator: h.emu });
    try {
      const before = h.emu.requestLog.filter((r) => r.path.startsWith('/api/v1/meta') && r.method !== 'GET').length;
      await h2.connector.schema.ensure();
      expect(h.emu.requestLog.filter((r) => r.path.startsWith('/api/v1/meta') && r.method !== 'GET').length).toBe(before);
      expect(h2.connector.schema.current?.typeId).toBe(t.id);
    } finally {
      await h2.close();
    }
  });

  it('adds a property that is missing (schema drift) without touching the others', async () => {
    const t = [...h.emu.state.types.values()].find((x) => x.name === 'aiAgent')!;
    h.emu.admin.updateSchema(t.id, { agentRiskTier: null });
    const h2 = await startHarness({ emulator: h.emu });
    try {
      await h2.connector.schema.ensure();
      expect(t.custom['agentRiskTier']?.enum).toEqual(['low', 'medium', 'high', 'critical']);
    } finally {
      await h2.close();
    }
  });
});

describe('agent → Okta user', () => {
  it('maps an active agent to an ACTIVE federated user with a deterministic login, the profile, and the sponsor as manager', async () => {
    const s = await h.sponsor('ada');
    const id = await h.agent('invoice-bot', s.id, { purpose: 'pays invoices', environment: 'Production', riskTier: 'high', autonomyLevel: 'humanOnTheLoop' }, { displayName: 'Invoice Bot' });
    await h.setState(id, 'active');
    const r = await h.sync();
    expect(r.succeeded).toBeGreaterThan(0);
    const u = h.remote(id)!;
    expect(u.status).toBe('ACTIVE');
    expect(u.credentials.provider.type).toBe('FEDERATION');
    expect(u.credentials.hasPassword).toBe(false);
    expect(u.profile).toMatchObject({
      login: `invoice-bot@${LOGIN_DOMAIN}`,
      email: `invoice-bot@${LOGIN_DOMAIN}`,
      firstName: 'Invoice Bot',
      displayName: 'Invoice Bot',
      userType: 'AIAgent',
      managerId: s.oktaId,
      manager: 'ada Sponsor',
      agentrosterId: id,
      agentPurpose: 'pays invoices',
      agentSponsorEmail: 'ada@example.com',
      agentEnvironment: 'production',
      agentRiskTier: 'high',
      agentAutonomyLevel: 'humanOnTheLoop',
    });
    // the link and the agent's externalIdentities
    const link = await h.ar.store.sync.getLink('okta', id);
    expect(link?.remoteId).toBe(u.id);
    const got = await h.ar.service.get('Agent', id, { actor: { client: 't', tokenId: 't' }, scopes: new Set(['scim.read']), requestId: 'r', baseUrl: 'http://x/scim/v2' } as never);
    const ext = (got.resource as Record<string, Record<string, unknown[]>>)['urn:agentroster:scim:schemas:extension:agent-governance:1.0:Agent']?.['externalIdentities'];
    expect(ext).toEqual(expect.arrayContaining([expect.objectContaining({ system: 'okta', objectType: 'user', objectId: u.id, syncState: 'synced' })]));

    // idempotent: nothing changed here → no remote call at all
    h.emu.resetCounters();
    await h.okta.sync.enqueue([id]);
    await h.sync();
    expect(h.emu.counters.requests).toBe(0);
  });

  it('finds the sponsor by externalId (the Okta user id Okta sent when it provisioned the person), then by login, then by e-mail', async () => {
    const oktaUser = h.emu.admin.createUser({ profile: { login: 'margaret@corp.example', email: 'margaret@corp.example', firstName: 'Margaret', lastName: 'H' } });
    const { ctx } = await import('./harness.js');
    const r = await h.ar.service.create(
      'User',
      { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'mh', externalId: oktaUser.id, emails: [{ value: 'other@example.org' }], active: true },
      ctx(),
    );
    const id = await h.agent('apollo', r.resource.id as string);
    await h.sync();
    expect(h.remote(id)?.profile['managerId']).toBe(oktaUser.id);
  });

  it('puts entitlements into direct group memberships (in the create itself), adds and removes them later', async () => {
    const g1 = h.emu.admin.createGroup('agents:finance-read');
    const g2 = h.emu.admin.createGroup('agents:crm-write');
    await h.entitlement('finance-read', [{ target: 'okta', kind: 'group', remoteId: g1.id }]);
    await h.entitlement('crm-write', [{ target: 'okta', kind: 'group', remoteId: g2.id }]);
    await h.entitlement('entra-only', [{ target: 'entra', kind: 'group', remoteId: '3f1c2b9e-0000-4000-8000-000000000001' }]);
    const s = await h.sponsor('linus');
    const id = await h.agent('ledger-bot', s.id);
    await h.grant(id, 'finance-read', 'entra-only');
    h.emu.resetCounters();
    await h.sync();
    expect(h.groupsOf(id)).toEqual([g1.id]);
    // one write: the create carried groupIds (plus the type/schema reads)
    expect(h.emu.requestLog.filter((x) => x.method !== 'GET').map((x) => `${x.method} ${x.path}`)).toEqual(['POST /api/v1/users']);

    await h.grant(id, 'crm-write');
    await h.sync();
    expect(h.groupsOf(id)).toEqual([g1.id, g2.id].sort());
    await h.patch(id, { op: 'remove', path: 'entitlements[value eq "finance-read"]' });
    await h.sync();
    expect(h.groupsOf(id)).toEqual([g2.id]);
    // the built-in Everyone group is never touched
    expect(h.emu.admin.groupsOf(h.remote(id)!.id).some((g) => g.type === 'BUILT_IN')).toBe(true);
  });

  it('follows a sponsor change (managerId) and a rename (login, display name)', async () => {
    const a = await h.sponsor('alan');
    const b = await h.sponsor('barbara');
    const id = await h.agent('turing-bot', a.id);
    await h.sync();
    const u = h.remote(id)!;
    await h.patch(id, { op: 'replace', path: 'urn:agentroster:scim:schemas:extension:agent-governance:1.0:Agent:sponsor', value: { value: b.id } });
    await h.patch(id, { op: 'replace', path: 'agentUserName', value: 'enigma-bot' }, { op: 'replace', path: 'displayName', value: 'Enigma Bot' });
    const plan = (await h.okta.sync.plan()).find((p) => p.agentId === id);
    expect(plan?.change.kind).toBe('update');
    expect(plan?.change.details).toEqual(
      expect.arrayContaining([`login turing-bot@${LOGIN_DOMAIN} → enigma-bot@${LOGIN_DOMAIN}`, expect.stringMatching(/^profile \(/), 'manager → sponsor barbara@example.com']),
    );
    await h.sync();
    const after = h.remote(id)!;
    expect(after.id).toBe(u.id);
    expect(after.profile).toMatchObject({ managerId: b.oktaId, manager: 'barbara Sponsor', login: `enigma-bot@${LOGIN_DOMAIN}`, displayName: 'Enigma Bot' });
    expect(h.emu.admin.getUser(`enigma-bot@${LOGIN_DOMAIN}`)?.id).toBe(u.id);
  });

  it('parks an agent whose sponsor has no Okta user, with a message that says what to do; retry succeeds once provisioned', async () => {
    const s = await h.sponsor('nobody', { inOkta: false });
    const id = await h.agent('orphan-bot', s.id);
    const r = await h.sync({ allowFailures: true });
    expect(r.parked).toBe(1);
    expect(r.errors[0]?.error).toMatch(/sponsorNotFound: .*has no user in Okta.*agentroster sync retry/);
    expect(h.remote(id)).toBeUndefined();
    h.emu.admin.createUser({ profile: { login: s.login, email: s.login, firstName: 'No', lastName: 'Body' } });
    for (const row of await h.ar.store.outbox.list({ target: 'okta', status: 'parked' })) await h.ar.store.outbox.requeue(row.seq);
    await h.sync();
    expect(h.remote(id)?.profile['managerId']).toBe(h.emu.admin.getUser(s.login)?.id);
  });

  it('refuses a login that belongs to someone else instead of taking it over', async () => {
    h.emu.admin.createUser({ profile: { login: `taken@${LOGIN_DOMAIN}`, email: `taken@${LOGIN_DOMAIN}`, firstName: 'A', lastName: 'Human' } });
    const s = await h.sponsor('hopper');
    const id = await h.agent('taken', s.id);
    const r = await h.sync({ allowFailures: true });
    expect(r.errors.find((e) => e.agentId === id)?.error).toMatch(/loginTaken: .*belongs to another Okta user/);
  });
});
