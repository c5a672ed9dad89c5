// Every successful mutation writes exactly one audit event (with its change, actor and request id)
// in the same commit; failed and no-op requests write none; the events form a hash chain.

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { auditHash, GENESIS_HASH } from '../../../src/store/audit-hash.js';
import { allAudit, buildTestApp, GOV_URN, patchBody, type TestApp, USER_URN } from '../../helpers/test-app.js';
import { agentBody, createGroup, createUser, type Json } from '../../helpers/resources.js';

describe('audit events', () => {
  let t: TestApp;
  let token: string;
  beforeEach(async () => {
    t = await buildTestApp({ clockStart: '2026-05-01T12:00:00.000Z' });
    token = await t.tokenWith(['scim.write'], 'hr-sync');
  });
  afterEach(() => t.close());

  const tokenId = async () => (await t.store.tokens.list()).find((x) => x.name === 'hr-sync')!.id;

  it('create, replace, patch and delete each write one event with actor, request id and before/after', async () => {
    const actor = { client: 'hr-sync', tokenId: await tokenId() };
    // before any resource: the first signing key and the two tokens (issue 11), then the chain goes on
    const start = await allAudit(t);
    expect(start.map((e) => [e.resourceType, e.action])).toEqual([
      ['SigningKey', 'create'],
      ['Token', 'create'],
      ['Token', 'create'],
    ]);
    const n0 = start.length;
    const created = await t.http.post('/Users', { schemas: [USER_URN], userName: 'audited', title: 'Eng' }, token).set('X-Request-Id', 'req-create');
    expect(created.status).toBe(201);
    const id = created.body.id as string;
    let events = (await allAudit(t)).slice(n0);
    expect(events).toEqual([
      {
        seq: n0 + 1,
        id: expect.any(String),
        action: 'create',
        resourceType: 'User',
        resourceId: id,
        actor,
        requestId: 'req-create',
        changes: { userName: { before: null, after: 'audited' }, title: { before: null, after: 'Eng' } },
        version: 1,
        at: '2026-05-01T12:00:00.000Z',
        prevHash: start.at(-1)!.hash,
        hash: expect.stringMatching(/^[0-9a-f]{64}$/),
      },
    ]);

    t.clock.advance(1000);
    await t.http.put(`/Users/${id}`, { schemas: [USER_URN], userName: 'audited', title: 'Lead', nickName: 'A' }, token).set('X-Request-Id', 'req-put');
    t.clock.advance(1000);
    await t.http.patch(`/Users/${id}`, patchBody({ op: 'remove', path: 'nickName' }), token).set('X-Request-Id', 'req-patch');
    t.clock.advance(1000);
    await t.http.delete(`/Users/${id}`, token).set('X-Request-Id', 'req-delete');
    events = (await allAudit(t)).slice(n0);
    expect(events.slice(1).map(({ id: _i, hash: _h, prevHash: _p, ...rest }) => rest)).toEqual([
      {
        seq: n0 + 2,
        action: 'replace',
        resourceType: 'User',
        resourceId: id,
        actor,
        requestId: 'req-put',
        changes: { title: { before: 'Eng', after: 'Lead' }, nickName: { before: null, after: 'A' } },
        version: 2,
        at: '2026-05-01T12:00:01.000Z',
      },
      {
        seq: n0 + 3,
        action: 'patch',
        resourceType: 'User',
        resourceId: id,
        actor,
        requestId: 'req-patch',
        changes: { nickName: { before: 'A', after: null } },
        version: 3,
        at: '2026-05-01T12:00:02.000Z',
      },
      {
        seq: n0 + 4,
        action: 'delete',
        resourceType: 'User',
        resourceId: id,
        actor,
        requestId: 'req-delete',
        changes: { userName: { before: 'audited', after: null }, title: { before: 'Lead', after: null } },
        version: 3,
        at: '2026-05-01T12:00:03.000Z',
      },
    ]);
  });

  it('extension changes are recorded per extension attribute', async () => {
    const sponsor = (await createUser(t, 'sponsor')).id as string;
    const res = await t.http.post('/Agents', agentBody('audited-agent', sponsor), token);
    await t.http.patch(`/Agents/${res.body.id as string}`, patchBody({ op: 'replace', path: `${GOV_URN}:purpose`, value: 'changed' }), token);
    const last = (await allAudit(t)).at(-1)!;
    // the server re-signs the record (attestation) and counts the record version (governed-agent
    // `version`) on every change; apart from that, only purpose changed
    const { [`${GOV_URN}:attestation`]: _signed, [`${GOV_URN}:version`]: version, ...changes } = last.changes!;
    expect(version).toEqual({ before: 1, after: 2 });
    expect(changes).toEqual({ [`${GOV_URN}:purpose`]: { before: 'Matches supplier invoices to purchase orders', after: 'changed' } });
  });

  it('deleting a group member writes the delete and the group change under the same request id', async () => {
    const u = await createUser(t, 'member');
    const g = await createGroup(t, 'G', [u.id as string]);
    const n = (await allAudit(t)).length;
    await t.http.delete(`/Users/${u.id as string}`, token).set('X-Request-Id', 'req-cascade');
    const events = (await allAudit(t)).slice(n);
    expect(events.map((e) => [e.action, e.resourceType, e.resourceId, e.requestId, e.reason])).toEqual([
      ['delete', 'User', u.id, 'req-cascade', undefined],
      ['patch', 'Group', g.id, 'req-cascade', 'member deleted'],
    ]);
    expect(events[1]!.version).toBe(2);
  });

  it('failed and no-op requests write no event', async () => {
    const u = await createUser(t, 'stable', { title: 'Same' });
    const id = u.id as string;
    const reader = await t.tokenWith(['scim.read']); // creating a token writes an event: before counting
    const n = (await allAudit(t)).length;
    const responses = [
      await t.http.post('/Users', { schemas: [USER_URN], userName: 'stable' }, token),
      await t.http.post('/Users', { schemas: [USER_URN], userName: 'x', bogus: 1 }, token),
      await t.http.patch(`/Users/${id}`, patchBody({ op: 'replace', path: 'title', value: 'Same' }), token),
      await t.http.patch(`/Users/${id}`, patchBody({ op: 'remove', path: 'nickName' }), token),
      await t.http.patch(`/Users/${id}`, patchBody({ op: 'replace', path: 'groups', value: [{ value: 'g1' }] }), token),
      await t.http.put(`/Users/${id}`, { schemas: [USER_URN], userName: 'stable', title: 'Same' }, token),
      await t.http.put(`/Users/${id}`, { schemas: [USER_URN], userName: 'stable', title: 'New' }, token).set('If-Match', 'W/"7"'),
      await t.http.delete(`/Users/${id}`, reader),
      await t.http.delete('/Users/does-not-exist', token),
    ];
    expect(responses.map((r) => r.status)).toEqual([409, 400, 200, 200, 400, 200, 412, 403, 404]);
    expect((await allAudit(t)).length).toBe(n);
  });

  it('the events form a hash chain: each prevHash is the previous hash, each hash covers its event', async () => {
    const n0 = (await allAudit(t)).length; // the signing key's and the tokens' events come first
    const u = await createUser(t, 'chain');
    for (let i = 0; i < 5; i++) {
      await t.http.patch(`/Users/${u.id as string}`, patchBody({ op: 'replace', path: 'title', value: `t${i}` }), token);
    }
    await createGroup(t, 'chain-group', [u.id as string]);
    await t.http.delete(`/Users/${u.id as string}`, token);
    const events = await allAudit(t);
    expect(events.length).toBe(n0 + 9);
    expect(events.map((e) => e.seq)).toEqual(Array.from({ length: n0 + 9 }, (_, i) => i + 1));
    expect(new Set(events.map((e) => e.id)).size).toBe(n0 + 9);
    expect(events[0]!.prevHash).toBe(GENESIS_HASH);
    events.forEach((e, i) => {
      if (i > 0) expect(e.prevHash).toBe(events[i - 1]!.hash);
      const { hash, ...rest } = e;
      expect(auditHash(rest)).toBe(hash);
    });
    // tampering with any recorded field breaks the hash of that event
    const { hash, ...third } = events[2]!;
    expect(auditHash({ ...third, changes: { title: { before: 'x', after: 'y' } } as Json })).not.toBe(hash);
  });
});
