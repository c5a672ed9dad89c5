// Lost answers and server errors: Okta has no idempotency keys, so a create whose answer was lost is
// found again by its deterministic login (GET /api/v1/users/{login}, current, unlike search) and a
// resent create meets "login already exists" and adopts the user: never a duplicate. Memberships and
// lifecycle calls are idempotent or resolved by reading the status.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.close());
afterEach(() => h.emu.faults.clear());

async function activeAgent(name: string): Promise<string> {
  const s = await h.sponsor(`${name}-sponsor`);
  const id = await h.agent(name, s.id);
  await h.setState(id, 'active');
  return id;
}

describe('lost responses', () => {
  it('a create committed by Okta whose answer is lost is adopted by login, not created twice', async () => {
    await h.connector.schema.ensure();
    const id = await activeAgent('lost-create');
    h.emu.faults.dropResponseAfterCommit({ method: 'POST', path: '/api/v1/users' });
    const r = await h.sync();
    expect(r.succeeded).toBe(1);
    expect(h.emu.counters.droppedResponses).toBeGreaterThanOrEqual(1);
    expect(h.remotesOf(id)).toHaveLength(1);
    const link = await h.ar.store.sync.getLink('okta', id);
    expect(link?.remoteId).toBe(h.remote(id)?.id);
    expect(h.remote(id)?.status).toBe('ACTIVE');
  });

  it('a create refused with 500 (outcome unknown) is looked up by login, then sent again: one user', async () => {
    const id = await activeAgent('five-hundred');
    h.emu.faults.failNext(1, 500, { match: { method: 'POST', path: '/api/v1/users' } });
    await h.sync();
    expect(h.remotesOf(id)).toHaveLength(1);
  });

  it('a create answered by a gateway (502 HTML) after the user was made: found by login on the retry', async () => {
    const id = await activeAgent('gateway');
    h.emu.faults.dropResponseAfterCommit({ method: 'POST', path: '/api/v1/users' });
    h.emu.faults.failNext(1, 502, { match: { method: 'GET', path: /^\/api\/v1\/users\/[^/]+$/ } });
    await h.sync();
    expect(h.remotesOf(id)).toHaveLength(1);
  });

  it('lost answers to membership, lifecycle and profile writes are retried without harm', async () => {
    const g = h.emu.admin.createGroup('agents:lost-answers');
    await h.entitlement('lost-ent', [{ target: 'okta', kind: 'group', remoteId: g.id }]);
    const id = await activeAgent('lost-writes');
    await h.sync();
    await h.grant(id, 'lost-ent');
    h.emu.faults.dropResponseAfterCommit({ method: 'PUT', path: /^\/api\/v1\/groups\/.+\/users\/.+$/ });
    await h.sync();
    expect(h.groupsOf(id)).toEqual([g.id]);
    await h.setState(id, 'suspended');
    h.emu.faults.dropResponseAfterCommit({ method: 'POST', path: /\/lifecycle\/suspend$/ });
    await h.sync();
    expect(h.remote(id)?.status).toBe('SUSPENDED');
    await h.patch(id, { op: 'replace', path: 'displayName', value: 'Renamed After Loss' });
    h.emu.faults.dropResponseAfterCommit({ method: 'POST', path: /^\/api\/v1\/users\/[^/]+$/ });
    await h.sync();
    expect(h.remote(id)?.profile['displayName']).toBe('Renamed After Loss');
    expect((await h.ar.store.sync.getLink('okta', id))?.lastError).toBeUndefined();
    expect(h.remotesOf(id)).toHaveLength(1);
  });
});
