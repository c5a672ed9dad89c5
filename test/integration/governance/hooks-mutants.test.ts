// Behaviour that surviving mutants of agent-hooks.ts showed no test asserted (StrykerJS run of the
// "rules" scope; triage in docs: each mutant here changes something a caller sees over HTTP — a
// status, a scimType, a message, a stored or derived value, a $ref). Grouped by rule step.

import { afterEach, describe, expect, it } from 'vitest';
import type { Scope } from '../../../src/resources/context.js';
import { captureState, expectUnchanged } from '../../helpers/test-app.js';
import { AGENT_USER_URN, buildGov, DAY, type Gov, GOV_URN, type Json, patchOps, setState } from './helpers.js';

const GROUP_URN = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const ROLE_URN = 'urn:ietf:params:scim:schemas:core:2.0:Role';

const connector = { actor: { client: 'okta' }, scopes: new Set<Scope>(['scim.read', 'scim.write', 'scim.revoke', 'agents.approve']), requestId: 'sync-okta-m', baseUrl: '' };

let g: Gov;
afterEach(async () => {
  await g.close();
});

const cred = (credentialId: string, extra: Json = {}): Json => ({ credentialId, type: 'jwk', createdAt: '2026-03-01T00:00:00Z', ...extra });

describe('retirement and credentials (R14, R12)', () => {
  it.each([
    { status: 'revoked', outcome: 200 },
    { status: 'expired', outcome: 200 },
    { status: 'active', outcome: 409 },
    { status: 'stale', outcome: 409 },
  ])('an agent whose only credential is $status: retire → $outcome', async ({ status, outcome }) => {
    g = await buildGov();
    const id = (await g.agent('cred-bot', { gov: { lifecycleState: 'active', credentials: [cred('c-1', { status })] } })).id as string;
    const res = await g.patch(`/Agents/${id}`, setState('retired'));
    expect(res.status, JSON.stringify(res.body)).toBe(outcome);
    if (outcome === 200) {
      expect((res.body[GOV_URN] as Json).lifecycleState).toBe('retired');
    } else {
      expect(res.body.detail).toBe(
        'the agent cannot retire while credentials are live (c-1): revoke them at their issuer and set their status to "revoked" first (R14)',
      );
    }
  });

  it('the refusal names every live credential, comma-separated', async () => {
    g = await buildGov();
    const id = (await g.agent('two-creds', { gov: { lifecycleState: 'active', credentials: [cred('c-a'), cred('c-b', { status: 'revoked' }), cred('c-c', { status: 'active' })] } })).id as string;
    const res = await g.patch(`/Agents/${id}`, setState('retired'));
    expect(res.status).toBe(409);
    expect(res.body.detail).toMatch(/^the agent cannot retire while credentials are live \(c-a, c-c\): /);
  });

  it.each([
    { key: 'credentialId', second: cred('c-shared') },
    { key: 'keyThumbprint', second: cred('c-other', { keyThumbprint: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs' }) },
  ])('a $key already attached to another agent → 409 uniqueness', async ({ key, second }) => {
    g = await buildGov();
    await g.agent('first-holder', { gov: { credentials: [cred('c-shared', { keyThumbprint: 'NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs' })] } });
    const res = await g.t.http.post('/Agents', g.agentBody('second-holder', await g.user('sponsor.two'), {}, { credentials: [second] }));
    expect(res.status, JSON.stringify(res.body)).toBe(409);
    expect(res.body.scimType).toBe('uniqueness');
    expect(res.body.detail).toBe(`credentials: this ${key} is already attached to another agent; one credential belongs to one agent (R12)`);
  });
});

describe('agentUserName is unique across /Users (projection)', () => {
  const taken = (what: string, name: string) =>
    `agentUserName "${name}" is already the userName of ${what} on /Users; agents are listed there too and userName is unique across them`;

  it('creating an agent named like a human User → 409 uniqueness, nothing created', async () => {
    g = await buildGov();
    await g.user('taken.name');
    const res = await g.t.http.post('/Agents', g.agentBody('taken.name', await g.user('sp')));
    expect(res.status, JSON.stringify(res.body)).toBe(409);
    expect(res.body).toMatchObject({ scimType: 'uniqueness', detail: taken('a User', 'taken.name') });
    const list = await g.t.http.get('/Agents');
    expect(list.body.totalResults).toBe(0);
  });

  it('renaming an agent to a human User\'s userName → 409; to a free name → 200', async () => {
    g = await buildGov();
    await g.user('taken.name');
    const id = (await g.agent('free-bot')).id as string;
    const res = await g.patch(`/Agents/${id}`, [{ op: 'replace', path: 'agentUserName', value: 'taken.name' }]);
    expect(res.status, JSON.stringify(res.body)).toBe(409);
    expect(res.body).toMatchObject({ scimType: 'uniqueness', detail: taken('a User', 'taken.name') });
    const ok = await g.patch(`/Agents/${id}`, [{ op: 'replace', path: 'agentUserName', value: 'renamed-bot' }]);
    expect(ok.status).toBe(200);
    expect((await g.t.http.get(`/Users/${id}`)).body.userName).toBe('renamed-bot');
  });
});

describe('lifecycle facts of a transition', () => {
  it('a new agent cannot be registered retired (400 invalidValue, nothing created)', async () => {
    g = await buildGov();
    const res = await g.t.http.post('/Agents', g.agentBody('born-retired', await g.user('sp'), {}, { lifecycleState: 'retired' }));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ scimType: 'invalidValue', detail: 'a new agent cannot be retired' });
    expect((await g.t.http.get('/Agents')).body.totalResults).toBe(0);
  });

  it.each([
    { state: 'suspended', notBefore: true, reason: 'manual' },
    { state: 'active', notBefore: false, reason: undefined },
    { state: 'pending', notBefore: false, reason: 'approvalPending' },
  ])('registered $state: authorizationNotBefore set = $notBefore, stateReason $reason, approval facts only when active', async ({ state, notBefore, reason }) => {
    g = await buildGov();
    const a = await g.agent(`born-${state}`, { gov: { lifecycleState: state } });
    const gov = a[GOV_URN] as Json;
    expect(gov.lifecycleState).toBe(state);
    expect(gov.authorizationNotBefore).toBe(notBefore ? '2026-04-01T09:00:00.000Z' : undefined);
    expect(gov.stateReason).toBe(reason);
    expect(gov.approvedAt).toBe(state === 'active' ? '2026-04-01T09:00:00.000Z' : undefined);
    expect(gov.approvedBy === undefined).toBe(state !== 'active');
  });

  it('suspend, reactivate, retire: authorizationNotBefore moves on suspend and retire only; the reason follows the transition', async () => {
    g = await buildGov();
    const id = (await g.agent('moving-bot', { gov: { lifecycleState: 'active' } })).id as string;
    g.t.clock.set('2026-04-02T09:00:00.000Z');
    let res = await g.patch(`/Agents/${id}`, setState('suspended', 'credentialCompromise'));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body[GOV_URN]).toMatchObject({ lifecycleState: 'suspended', stateReason: 'credentialCompromise', authorizationNotBefore: '2026-04-02T09:00:00.000Z' });
    g.t.clock.set('2026-04-03T09:00:00.000Z');
    res = await g.patch(`/Agents/${id}`, setState('active'));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const active = res.body[GOV_URN] as Json;
    expect(active.stateReason).toBeUndefined();
    expect(active.authorizationNotBefore).toBe('2026-04-02T09:00:00.000Z');
    expect(active.approvedAt).toBe('2026-04-01T09:00:00.000Z'); // a reactivation is not an approval
    g.t.clock.set('2026-04-04T09:00:00.000Z');
    res = await g.patch(`/Agents/${id}`, setState('suspended', 'manual'));
    expect(res.status).toBe(200);
    g.t.clock.set('2026-04-05T09:00:00.000Z');
    // retired without a reason: the suspension's reason is not carried over
    res = await g.patch(`/Agents/${id}`, setState('retired'));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body[GOV_URN]).toMatchObject({ lifecycleState: 'retired', stateReason: 'decommissioned', authorizationNotBefore: '2026-04-05T09:00:00.000Z' });
  });
});

describe('authorization (R15) beyond the scope table', () => {
  it('reactivating a suspended agent needs agents.approve even where no approval is required for new agents', async () => {
    g = await buildGov({ env: { AGENTROSTER_APPROVAL_REQUIRED_ENVIRONMENTS: 'production' } });
    const id = (await g.agent('dev-bot', { gov: { environment: 'development', lifecycleState: 'active' } })).id as string;
    expect((await g.patch(`/Agents/${id}`, setState('suspended', 'manual'))).status).toBe(200);
    const writer = await g.t.tokenWith(['scim.write'], 'ci');
    const before = await captureState(g.t, `/Agents/${id}`);
    const res = await g.patch(`/Agents/${id}`, setState('active'), writer);
    expect(res.status).toBe(403);
    expect(res.body.detail).toBe('reactivating a suspended agent needs the "agents.approve" scope (R15)');
    await expectUnchanged(g.t, before);
  });
});

describe('most restrictive wins: who may turn a suspend into "keep the stronger state"', () => {
  const iga = { actor: { client: 'sailpoint', tokenId: 'tok-iga' }, channel: 'iga', scopes: new Set<Scope>(['scim.read', 'scim.revoke']), requestId: 'iga-1', baseUrl: '' };

  it('a connector suspending a retired agent leaves it retired (no error)', async () => {
    g = await buildGov();
    const id = (await g.agent('gone-bot', { gov: { lifecycleState: 'active' } })).id as string;
    expect((await g.patch(`/Agents/${id}`, setState('retired'))).status).toBe(200);
    const res = await g.t.service.patch('Agent', id, patchOps(...setState('suspended', 'externalDisable')), connector);
    expect(res.resource[GOV_URN]).toMatchObject({ lifecycleState: 'retired', stateReason: 'decommissioned' });
  });

  it('a connector suspending a pending agent leaves it pending', async () => {
    g = await buildGov();
    const id = (await g.agent('waiting-bot')).id as string;
    const res = await g.t.service.patch('Agent', id, patchOps(...setState('suspended', 'externalDisable')), connector);
    expect(res.resource[GOV_URN]).toMatchObject({ lifecycleState: 'pending', stateReason: 'approvalPending' });
  });

  it('an IGA tool suspending a pending agent is told it cannot (it is a client, not a connector)', async () => {
    g = await buildGov();
    const id = (await g.agent('waiting-iga')).id as string;
    await expect(g.t.service.patch('Agent', id, patchOps(...setState('suspended')), iga)).rejects.toMatchObject({ status: 400 });
    expect((await g.gov(id)).lifecycleState).toBe('pending');
  });
});

describe('people: the sponsor\'s and the owner team\'s facts are the server\'s', () => {
  it('a client cannot rewrite the facts of an unchanged sponsor', async () => {
    g = await buildGov();
    const a = await g.agent('facts-bot', { gov: { lifecycleState: 'active' } });
    const sponsor = (a[GOV_URN] as Json).sponsor as Json;
    const res = await g.t.http.put(`/Agents/${a.id as string}`, {
      ...g.agentBody('facts-bot', String(sponsor.value), {}, { lifecycleState: 'active' }),
      [GOV_URN]: { ...(g.agentBody('facts-bot', String(sponsor.value), {}, { lifecycleState: 'active' })[GOV_URN] as Json), sponsor: { value: sponsor.value, display: 'Forged Name' } },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect((res.body[GOV_URN] as Json).sponsor).toEqual(sponsor);
  });

  it('the owner team: $ref to /Groups, its display is the Group\'s, and it can be removed', async () => {
    g = await buildGov();
    const team = (await g.t.http.post('/Groups', { schemas: [GROUP_URN], displayName: 'Payments Team' })).body.id as string;
    const id = (await g.agent('team-bot', { gov: { lifecycleState: 'active', ownerTeam: { value: team } } })).id as string;
    let gov = await g.gov(id);
    expect(gov.ownerTeam).toEqual({ value: team, display: 'Payments Team', $ref: `${g.t.origin}/scim/v2/Groups/${team}` });
    const current = await g.get(id);
    const forged = await g.t.http.put(`/Agents/${id}`, { ...current, [GOV_URN]: { ...(current[GOV_URN] as Json), ownerTeam: { value: team, display: 'Forged Team' } } });
    expect(forged.status, JSON.stringify(forged.body)).toBe(200);
    expect(((await g.gov(id)).ownerTeam as Json).display).toBe('Payments Team');
    const removed = await g.patch(`/Agents/${id}`, [{ op: 'remove', path: `${GOV_URN}:ownerTeam` }]);
    expect(removed.status, JSON.stringify(removed.body)).toBe(200);
    gov = await g.gov(id);
    expect(gov.ownerTeam).toBeUndefined();
  });
});

describe('reviews (R04): a pending agent\'s review date does not drift with edits', () => {
  it('an edit days later keeps nextReviewDue', async () => {
    g = await buildGov();
    const a = await g.agent('pending-review-bot');
    const due = (a[GOV_URN] as Json).nextReviewDue;
    expect(due).toBeDefined();
    g.t.clock.advance(10 * DAY);
    const res = await g.patch(`/Agents/${a.id as string}`, [{ op: 'replace', path: 'description', value: 'edited later' }]);
    expect(res.status).toBe(200);
    expect((res.body[GOV_URN] as Json).nextReviewDue).toBe(due);
  });
});

describe('activation blockers', () => {
  it('every blocker is named, separated by "; "', async () => {
    g = await buildGov();
    const sponsor = await g.user('leaving.sponsor', { displayName: 'Leaving' });
    const a = await g.agent('blocked-bot', { sponsor, gov: { validUntil: '2026-04-10T00:00:00.000Z' } });
    expect((await g.t.http.patch(`/Users/${sponsor}`, patchOps({ op: 'replace', path: 'active', value: false }))).status).toBe(200);
    g.t.clock.set('2026-04-11T00:00:00.000Z');
    const res = await g.patch(`/Agents/${a.id as string}`, setState('active'));
    expect(res.status, JSON.stringify(res.body)).toBe(409);
    expect(res.body.detail).toBe('the agent cannot be activated: the sponsor is departed: assign an active sponsor first; validUntil 2026-04-10T00:00:00.000Z has passed');
  });
});

describe('$ref of every reference', () => {
  it('roles, parent, approvedBy (bound to a User or not)', async () => {
    g = await buildGov();
    const base = `${g.t.origin}/scim/v2`;
    const role = (await g.t.http.post('/Roles', { schemas: [ROLE_URN], value: 'reviewer', display: 'Reviewer' })).body.id as string;
    const parent = (await g.agent('parent-bot', { gov: { lifecycleState: 'active' } })).id as string;
    expect(((await g.gov(parent)).approvedBy as Json).$ref).toBeUndefined(); // the admin token is bound to no User
    const child = (await g.agent('child-bot', { extra: { parent: { value: parent }, roles: [{ value: 'reviewer' }] } })).id as string;
    const approver = await g.user('ada', { displayName: 'Ada Approver' });
    const token = await g.t.tokenWith(['scim.write', 'agents.approve'], 'approver', approver);
    expect((await g.patch(`/Agents/${child}`, setState('active'), token)).status).toBe(200);
    const body = await g.get(child);
    expect((body.parent as Json).$ref).toBe(`${base}/Agents/${parent}`);
    expect((body.roles as Json[])[0]!.$ref).toBe(`${base}/Roles/${role}`);
    expect(((body[GOV_URN] as Json).approvedBy as Json).$ref).toBe(`${base}/Users/${approver}`);
  });
});

describe('the User projection', () => {
  it('lists the user co-sponsors\' emails (not groups\', none for a co-sponsor without one)', async () => {
    g = await buildGov();
    const bea = await g.user('bea', { displayName: 'Bea', emails: [{ value: 'bea@example.com', primary: true }] });
    const cid = await g.user('cid', { displayName: 'Cid' });
    const grp = (await g.t.http.post('/Groups', { schemas: [GROUP_URN], displayName: 'Ops' })).body.id as string;
    const id = (await g.agent('co-bot', { gov: { lifecycleState: 'active', coSponsors: [{ value: cid }, { value: grp }, { value: bea }] } })).id as string;
    const user = (await g.t.http.get(`/Users/${id}`)).body as Json;
    expect((user[AGENT_USER_URN] as Json).coSponsorEmails).toEqual(['bea@example.com']);
  });

  it('keeps a privileged grant flagged privileged after later edits', async () => {
    g = await buildGov();
    await g.entitlement('erp.write', { privileged: true });
    const granter = await g.user('granter', { displayName: 'Granter' });
    const token = await g.t.tokenWith(['scim.write', 'agents.approve'], 'granter', granter);
    const id = (await g.agent('priv-bot', { gov: { lifecycleState: 'active' }, token })).id as string;
    const grant = await g.patch(`/Agents/${id}`, [{ op: 'add', path: 'entitlements', value: [{ value: 'erp.write', expiresAt: '2026-04-20T00:00:00.000Z' }] }], token);
    expect(grant.status, JSON.stringify(grant.body)).toBe(200);
    expect((await g.patch(`/Agents/${id}`, [{ op: 'replace', path: 'description', value: 'later' }])).status).toBe(200);
    const user = (await g.t.http.get(`/Users/${id}`)).body as Json;
    expect(((user[AGENT_USER_URN] as Json).entitlementGrants as Json[]).map((e) => [e.value, e.privileged])).toEqual([['erp.write', true]]);
  });
});

describe('DELETE (R14)', () => {
  it('an unknown agent → 404', async () => {
    g = await buildGov();
    const res = await g.t.http.delete('/Agents/no-such-agent');
    expect(res.status).toBe(404);
    expect(res.body.detail).toBe('Agent "no-such-agent" not found');
  });

  it('a retired agent → 204 (the tombstone stays); a stale If-Match → 412', async () => {
    g = await buildGov();
    const id = (await g.agent('tomb-bot', { gov: { lifecycleState: 'active' } })).id as string;
    const retired = await g.patch(`/Agents/${id}`, setState('retired'));
    expect(retired.status).toBe(200);
    const stale = await g.t.http.delete(`/Agents/${id}`).set('If-Match', 'W/"1"');
    expect(stale.status).toBe(412);
    expect(stale.body.detail).toBe(`If-Match does not match the current version ${String(retired.headers.etag)}`);
    const ok = await g.t.http.delete(`/Agents/${id}`).set('If-Match', String(retired.headers.etag));
    expect(ok.status).toBe(204);
    expect((await g.gov(id)).lifecycleState).toBe('retired');
  });
});

describe('who granted: grantedBy* of a grant', () => {
  it('a client\'s grant records the system "agentroster"', async () => {
    g = await buildGov();
    await g.entitlement('crm.read');
    const id = (await g.agent('granted-bot', { gov: { lifecycleState: 'active' } })).id as string;
    const res = await g.patch(`/Agents/${id}`, [{ op: 'add', path: 'entitlements', value: [{ value: 'crm.read' }] }]);
    expect(res.status).toBe(200);
    expect((res.body.entitlements as Json[])[0]).toMatchObject({ value: 'crm.read', grantedBySystem: 'agentroster' });
  });

  it('a bound User who is no longer active is not a human granter: a privileged grant is refused (R07)', async () => {
    g = await buildGov();
    await g.entitlement('erp.write', { privileged: true });
    const gone = await g.user('gone.granter', { displayName: 'Gone Granter' });
    const id = (await g.agent('target-bot', { gov: { lifecycleState: 'active' } })).id as string;
    expect((await g.t.http.patch(`/Users/${gone}`, patchOps({ op: 'replace', path: 'active', value: false }))).status).toBe(200);
    // the auth layer stops such a token within seconds; the rule is the backstop for that window
    const ctx = { actor: { client: 'granter-tool', tokenId: 'tok-gone', userId: gone }, scopes: new Set<Scope>(['scim.read', 'scim.write']), requestId: 'r-gone', baseUrl: '' };
    const write = g.t.service.patch('Agent', id, patchOps({ op: 'add', path: 'entitlements', value: [{ value: 'erp.write', expiresAt: '2026-04-20T00:00:00.000Z' }] }), ctx);
    await expect(write).rejects.toMatchObject({ status: 403, message: expect.stringMatching(/not by "granter-tool" \(R07\)$/) });
  });
});

describe('odd bodies', () => {
  it('POST with a null governance extension', async () => {
    g = await buildGov();
    const res = await g.t.http.post('/Agents', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Agent', GOV_URN], agentUserName: 'null-ext', [GOV_URN]: null });
    expect(res.status).toBe(400);
  });

  it('PUT without active keeps an active agent active', async () => {
    g = await buildGov();
    const a = await g.agent('put-bot', { gov: { lifecycleState: 'active' } });
    const sponsor = String(((a[GOV_URN] as Json).sponsor as Json).value);
    const res = await g.t.http.put(`/Agents/${a.id as string}`, g.agentBody('put-bot', sponsor, { description: 'put' }, { lifecycleState: 'active' }));
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.active).toBe(true);
    expect((res.body[GOV_URN] as Json).lifecycleState).toBe('active');
  });

  it('removing every entitlement and role leaves no empty lists', async () => {
    g = await buildGov();
    await g.entitlement('crm.read');
    await g.t.http.post('/Roles', { schemas: [ROLE_URN], value: 'reviewer', display: 'Reviewer' });
    const id = (await g.agent('lists-bot', { gov: { lifecycleState: 'active' }, extra: { entitlements: [{ value: 'crm.read' }], roles: [{ value: 'reviewer' }] } })).id as string;
    const res = await g.patch(`/Agents/${id}`, [{ op: 'remove', path: 'entitlements' }, { op: 'remove', path: 'roles' }]);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect('entitlements' in res.body).toBe(false);
    expect('roles' in res.body).toBe(false);
    expect('complianceIssues' in (res.body[GOV_URN] as Json)).toBe(false);
  });
});

describe('more lifecycle and tombstone rules', () => {
  it.each([
    { how: 'registered active with a reason', setup: 'create' },
    { how: 'reactivated with a reason', setup: 'reactivate' },
  ])('an active agent carries no stateReason ($how)', async ({ setup }) => {
    g = await buildGov();
    let body: Json;
    if (setup === 'create') {
      body = await g.agent('reasoned-bot', { gov: { lifecycleState: 'active', stateReason: 'manual' } });
    } else {
      const id = (await g.agent('reasoned-bot', { gov: { lifecycleState: 'active' } })).id as string;
      expect((await g.patch(`/Agents/${id}`, setState('suspended', 'credentialCompromise'))).status).toBe(200);
      const res = await g.patch(`/Agents/${id}`, setState('active', 'manual'));
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      body = res.body as Json;
    }
    expect(body[GOV_URN]).toMatchObject({ lifecycleState: 'active' });
    expect((body[GOV_URN] as Json).stateReason).toBeUndefined();
  });

  it('a retired agent is a tombstone: even removing a revoked credential is refused (R14)', async () => {
    g = await buildGov();
    const id = (await g.agent('tomb-cred', { gov: { lifecycleState: 'active', credentials: [cred('c-old', { status: 'revoked' })] } })).id as string;
    expect((await g.patch(`/Agents/${id}`, setState('retired'))).status).toBe(200);
    const before = await captureState(g.t, `/Agents/${id}`);
    const res = await g.patch(`/Agents/${id}`, [{ op: 'remove', path: `${GOV_URN}:credentials` }]);
    expect(res.status, JSON.stringify(res.body)).toBe(400);
    expect(res.body).toMatchObject({ scimType: 'invalidValue', detail: 'a retired agent is a tombstone and cannot change (R14); register a new agent instead' });
    await expectUnchanged(g.t, before);
  });
});
