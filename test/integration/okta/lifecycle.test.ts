// Every lifecycle change, as Okta user statuses: pending → STAGED, active → ACTIVE (activate),
// suspended → SUSPENDED (suspend / unsuspend), retired → DEPROVISIONED, deleted → gone (DELETE
// twice); most restrictive wins when Okta is already further down (DEPROVISIONED stays).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Harness, startHarness } from './harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.close());

const calls = (hh: Harness) => hh.emu.requestLog.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.path.replace(/00u[A-Za-z0-9]{17}/, '{id}')}`);

describe('lifecycle', () => {
  it('pending → STAGED, approved → ACTIVE, suspended → SUSPENDED, active again → ACTIVE, retired → DEPROVISIONED, deleted → gone', async () => {
    const s = await h.sponsor('kay');
    const id = await h.agent('cycle-bot', s.id);
    await h.sync();
    expect(h.remote(id)?.status).toBe('STAGED');

    await h.setState(id, 'active');
    h.emu.resetCounters();
    await h.sync();
    expect(h.remote(id)?.status).toBe('ACTIVE');
    expect(calls(h)).toEqual(['POST /api/v1/users/{id}/lifecycle/activate']);

    await h.setState(id, 'suspended');
    h.emu.resetCounters();
    await h.sync();
    expect(h.remote(id)?.status).toBe('SUSPENDED');
    expect(calls(h)).toEqual(['POST /api/v1/users/{id}/lifecycle/suspend']);

    await h.setState(id, 'active');
    h.emu.resetCounters();
    await h.sync();
    expect(h.remote(id)?.status).toBe('ACTIVE');
    expect(calls(h)).toEqual(['POST /api/v1/users/{id}/lifecycle/unsuspend']);

    await h.setState(id, 'retired');
    h.emu.resetCounters();
    await h.sync();
    expect(h.remote(id)?.status).toBe('DEPROVISIONED');
    expect(calls(h)).toEqual(['POST /api/v1/users/{id}/lifecycle/deactivate']);

    const userId = h.remote(id)!.id;
    const events = h.emu.state.log.all().filter((e) => e.target?.[0]?.id === userId).map((e) => e.eventType);
    expect(events).toEqual([
      'user.lifecycle.create',
      'user.lifecycle.activate',
      'user.lifecycle.suspend',
      'user.lifecycle.unsuspend',
      'user.lifecycle.deactivate',
    ]);
  });

  it('a retired agent beyond the grace period is deleted in Okta (deactivate, then delete)', async () => {
    const h2 = await startHarness({ emulator: h.emu, env: { AGENTROSTER_SYNC_RETIRED_DELETE_AFTER_DAYS: '0' } });
    try {
      const s = await h2.sponsor('grace-zero');
      const id = await h2.agent('short-lived', s.id);
      await h2.setState(id, 'active');
      await h2.sync();
      const userId = h2.remote(id)!.id;
      await h2.setState(id, 'retired');
      h2.emu.resetCounters();
      await h2.sync();
      expect(h2.emu.admin.getUser(userId)).toBeUndefined();
      expect(calls(h2)).toEqual(['DELETE /api/v1/users/{id}', 'DELETE /api/v1/users/{id}']);
      // the link keeps the bookkeeping so the user is not re-created
      await h2.okta.sync.enqueue([id]);
      await h2.sync();
      expect(h2.remote(id)).toBeUndefined();
    } finally {
      await h2.close();
    }
  });

  it('creates a pending agent STAGED (FEDERATION: activation makes it ACTIVE, never PROVISIONED) and a later approval activates it', async () => {
    const s = await h.sponsor('ravi');
    const id = await h.agent('staged-bot', s.id);
    await h.sync();
    const u = h.remote(id)!;
    expect([u.status, u.credentials.provider.type]).toEqual(['STAGED', 'FEDERATION']);
    // suspending a STAGED user is impossible in Okta: a suspension here leaves it STAGED (not enabled either)
    await h.setState(id, 'active');
    await h.setState(id, 'suspended');
    h.emu.resetCounters();
    await h.sync();
    expect(h.remote(id)?.status).toBe('STAGED');
    await h.setState(id, 'active');
    await h.sync();
    expect(h.remote(id)?.status).toBe('ACTIVE');
  });

  it('a suspension here leaves a user that Okta already deactivated DEPROVISIONED (most restrictive wins); re-approval activates it', async () => {
    const s = await h.sponsor('edsger');
    const id = await h.agent('dijkstra-bot', s.id);
    await h.setState(id, 'active');
    await h.sync();
    const userId = h.remote(id)!.id;
    h.emu.admin.deactivate(userId);
    await h.setState(id, 'suspended');
    h.emu.resetCounters();
    await h.sync();
    expect(h.remote(id)?.status).toBe('DEPROVISIONED');
    // the suspend is refused (not ACTIVE); the status read says DEPROVISIONED: left as it is
    expect(calls(h)).toEqual(['POST /api/v1/users/{id}/lifecycle/suspend']);
    expect((await h.ar.store.sync.getLink('okta', id))?.lastError).toBeUndefined();
    await h.setState(id, 'active');
    h.emu.resetCounters();
    await h.sync();
    expect(h.remote(id)?.status).toBe('ACTIVE');
    expect(calls(h)[0]).toBe('POST /api/v1/users/{id}/lifecycle/activate');
  });

  it('treats "already there" answers as done: suspend of a SUSPENDED user, deactivate (404) of a DEPROVISIONED one', async () => {
    const s = await h.sponsor('barbara-l');
    const id = await h.agent('liskov-bot', s.id);
    await h.setState(id, 'active');
    await h.sync();
    const userId = h.remote(id)!.id;
    h.emu.admin.suspend(userId); // Okta already did it (an admin, a campaign)
    await h.setState(id, 'suspended');
    await h.sync();
    expect(h.remote(id)?.status).toBe('SUSPENDED');
    h.emu.admin.deactivate(userId);
    await h.setState(id, 'retired');
    await h.sync();
    expect(h.remote(id)?.status).toBe('DEPROVISIONED');
    const link = await h.ar.store.sync.getLink('okta', id);
    expect(link?.lastError).toBeUndefined();
  });
});
