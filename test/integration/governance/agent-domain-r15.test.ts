// R15 over HTTP, for the changes only the classification can tell apart: a scim.revoke token may
// revoke a credential and shorten a grant, but reinstating a revoked credential, adding one, or
// removing / extending a grant's expiry widens access and needs scim.write. Nothing changes on a 403.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scimError } from '../../helpers/test-app.js';
import { buildGov, type Gov, GOV_URN, type Json } from './helpers.js';

const CRED_STATUS = `${GOV_URN}:credentials[credentialId eq "c-1"].status`;

describe('R15: what a scim.revoke token may do to credentials and grant expiries', () => {
  let g: Gov;
  let revoke: string;
  let write: string;
  let id: string;
  const expiry = (days: number) => new Date(Date.parse('2026-04-01T09:00:00.000Z') + days * 86_400_000).toISOString();
  const credStatus = async () => ((await g.gov(id)).credentials as Json[]).find((c) => c.credentialId === 'c-1')?.status;
  const entitlement = async (value: string) => ((await g.get(id)).entitlements as Json[]).find((e) => e.value === value);

  beforeAll(async () => {
    g = await buildGov();
    revoke = await g.t.tokenWith(['scim.revoke'], 'iga');
    write = await g.t.tokenWith(['scim.write'], 'writer');
    await g.entitlement('crm.read');
    await g.entitlement('crm.export');
    const a = await g.agent('r15-bot', {
      extra: { entitlements: [{ value: 'crm.read', expiresAt: expiry(20) }, { value: 'crm.export' }] },
      gov: { lifecycleState: 'active', credentials: [{ credentialId: 'c-1', type: 'jwk', status: 'active', createdAt: '2026-03-01T00:00:00Z' }] },
    });
    id = a.id as string;
  });
  afterAll(() => g.close());

  it('revoking a credential is allowed; reinstating it is refused, and it stays revoked', async () => {
    const r = await g.patch(`/Agents/${id}`, [{ op: 'replace', path: CRED_STATUS, value: 'revoked' }], revoke);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(await credStatus()).toBe('revoked');

    const back = await g.patch(`/Agents/${id}`, [{ op: 'replace', path: CRED_STATUS, value: 'active' }], revoke);
    expect(back.status).toBe(403);
    expect(back.body).toEqual(scimError(403, undefined, /never grant or change: reinstate credential c-1 \(R15\)/));
    expect(await credStatus()).toBe('revoked');
  });

  it('marking a revoked credential "stale" (old, but live again) is a reinstatement: refused', async () => {
    expect(await credStatus()).toBe('revoked');
    const stale = await g.patch(`/Agents/${id}`, [{ op: 'replace', path: CRED_STATUS, value: 'stale' }], revoke);
    expect(stale.status).toBe(403);
    expect(stale.body).toEqual(scimError(403, undefined, /reinstate credential c-1/));
    expect(await credStatus()).toBe('revoked');
  });

  it('adding a credential is refused', async () => {
    const add = await g.patch(`/Agents/${id}`, [{ op: 'add', path: `${GOV_URN}:credentials`, value: [{ credentialId: 'c-2', type: 'jwk' }] }], revoke);
    expect(add.status).toBe(403);
    expect(add.body).toEqual(scimError(403, undefined, /add credential c-2/));
  });

  it('shortening a grant is allowed; removing or extending its expiry is refused', async () => {
    const shorter = await g.patch(`/Agents/${id}`, [{ op: 'replace', path: 'entitlements[value eq "crm.read"].expiresAt', value: expiry(10) }], revoke);
    expect(shorter.status, JSON.stringify(shorter.body)).toBe(200);
    expect(Date.parse(String((await entitlement('crm.read'))?.expiresAt))).toBe(Date.parse(expiry(10)));

    const removed = await g.patch(`/Agents/${id}`, [{ op: 'remove', path: 'entitlements[value eq "crm.read"].expiresAt' }], revoke);
    expect(removed.status).toBe(403);
    expect(removed.body).toEqual(scimError(403, undefined, /extend entitlement crm\.read/));
    const longer = await g.patch(`/Agents/${id}`, [{ op: 'replace', path: 'entitlements[value eq "crm.read"].expiresAt', value: expiry(15) }], revoke);
    expect(longer.status).toBe(403);
    expect(Date.parse(String((await entitlement('crm.read'))?.expiresAt))).toBe(Date.parse(expiry(10)));
  });

  it('giving an unlimited grant an expiry is a restriction: allowed', async () => {
    const r = await g.patch(`/Agents/${id}`, [{ op: 'add', path: 'entitlements[value eq "crm.export"].expiresAt', value: expiry(5) }], revoke);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(Date.parse(String((await entitlement('crm.export'))?.expiresAt))).toBe(Date.parse(expiry(5)));
  });

  it('a scim.write token may reinstate the credential and remove the expiry', async () => {
    expect((await g.patch(`/Agents/${id}`, [{ op: 'replace', path: CRED_STATUS, value: 'active' }], write)).status).toBe(200);
    expect(await credStatus()).toBe('active');
    const r = await g.patch(`/Agents/${id}`, [{ op: 'remove', path: 'entitlements[value eq "crm.read"].expiresAt' }], write);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(await entitlement('crm.read')).not.toHaveProperty('expiresAt');
  });
});
