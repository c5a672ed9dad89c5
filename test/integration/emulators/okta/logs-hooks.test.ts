// System Log polling/bounded queries and event hooks (verification + delivery to a local HTTPS receiver).
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { generate } from 'selfsigned';
import type { Client } from '@okta/okta-sdk-nodejs';
import { startOktaEmulator, type LogEvent, type OktaEmulator } from '../../../emulators/okta/index.js';
import { links, profile, raw, rejection, sdk } from './helpers.js';

interface Received {
  method: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

interface Receiver {
  url: string;
  ca: string;
  requests: Received[];
  respond: (r: Received) => { status: number; body?: string };
  close(): Promise<void>;
}

async function startReceiver(): Promise<Receiver> {
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }] }],
  });
  const rec: Receiver = {
    url: '',
    ca: pems.cert,
    requests: [],
    respond: (r) => {
      const challenge = r.headers['x-okta-verification-challenge'];
      if (r.method === 'GET' && typeof challenge === 'string') return { status: 200, body: JSON.stringify({ verification: challenge }) };
      return { status: 204 };
    },
    close: async () => {},
  };
  const server = https.createServer({ key: pems.private, cert: pems.cert }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const r: Received = { method: req.method ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') };
      rec.requests.push(r);
      const out = rec.respond(r);
      res.statusCode = out.status;
      if (out.body) res.setHeader('Content-Type', 'application/json');
      res.end(out.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  rec.url = `https://127.0.0.1:${(server.address() as AddressInfo).port}/okta/hooks`;
  rec.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return rec;
}

let emu: OktaEmulator;
let okta: Client;
let receiver: Receiver;

beforeAll(async () => {
  receiver = await startReceiver();
  emu = await startOktaEmulator({ eventHooks: { trustedCa: receiver.ca, batchMs: 20 } });
  okta = sdk(emu);
});
afterAll(async () => {
  await emu.close();
  await receiver.close();
});

describe('System Log', () => {
  it('polling: ordered events with the LogEvent shape; the next link always exists and picks up new events', async () => {
    const since = new Date(emu.clock.now() - 1000).toISOString();
    const u = emu.admin.createUser({ profile: profile('log-1@agents.test'), credentials: { password: { value: 'Sup3r-secret-pw!' } } });
    emu.admin.suspend(u.id, { id: '00ureviewer0000000001', alternateId: 'reviewer@corp.test', displayName: 'Rita Reviewer' });

    const first = await raw(emu, `/api/v1/logs?since=${encodeURIComponent(since)}&filter=${encodeURIComponent(`target.id eq "${u.id}"`)}`);
    const events = (await first.json()) as LogEvent[];
    expect(events.map((e) => e.eventType)).toEqual(['user.lifecycle.create', 'user.lifecycle.activate', 'user.lifecycle.suspend']);
    const suspend = events[2] as LogEvent;
    expect(suspend).toMatchObject({
      eventType: 'user.lifecycle.suspend',
      displayMessage: 'Suspend Okta user',
      severity: 'INFO',
      version: '0',
      outcome: { result: 'SUCCESS', reason: null },
      actor: { id: '00ureviewer0000000001', alternateId: 'reviewer@corp.test', displayName: 'Rita Reviewer', type: 'User' },
      target: [{ id: u.id, type: 'User', alternateId: 'log-1@agents.test' }],
    });
    expect(suspend.uuid).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(suspend.published)).not.toBeNaN();

    const next = links(first)['next'] as string;
    expect(next).toMatch(new RegExp(`^${emu.orgUrl}/api/v1/logs\\?after=`));
    expect(next).not.toContain('since=');
    const empty = await raw(emu, next);
    expect(await empty.json()).toEqual([]);
    const stillNext = links(empty)['next'] as string;
    expect(stillNext).toBeTruthy();
    emu.admin.deactivate(u.id);
    const later = (await (await raw(emu, stillNext)).json()) as LogEvent[];
    expect(later.map((e) => e.eventType)).toEqual(['user.lifecycle.deactivate']);
  });

  it('bounded queries (since + until) end without a next link; DESCENDING reverses; bad input is rejected', async () => {
    const t0 = emu.clock.now();
    for (let i = 0; i < 3; i++) emu.admin.createGroup(`bounded-${i}`);
    const until = new Date(emu.clock.now() + 1).toISOString();
    const q = `since=${encodeURIComponent(new Date(t0 - 1).toISOString())}&until=${encodeURIComponent(until)}&filter=${encodeURIComponent('eventType eq "group.lifecycle.create"')}`;
    const page1 = await raw(emu, `/api/v1/logs?${q}&limit=2`);
    expect(((await page1.json()) as unknown[]).length).toBe(2);
    const page2 = await raw(emu, links(page1)['next'] as string);
    expect(((await page2.json()) as unknown[]).length).toBe(1);
    expect(links(page2)['next']).toBeUndefined();
    const desc = (await (await raw(emu, `/api/v1/logs?${q}&sortOrder=DESCENDING`)).json()) as LogEvent[];
    expect(desc.map((e) => e.target?.[0]?.displayName)).toEqual(['bounded-2', 'bounded-1', 'bounded-0']);

    const badDate = await raw(emu, '/api/v1/logs?since=yesterday');
    expect([badDate.status, ((await badDate.json()) as { errorCode: string }).errorCode]).toEqual([400, 'E0000001']);
    const badFilter = await raw(emu, `/api/v1/logs?filter=${encodeURIComponent('eventType eqq "x"')}`);
    expect([badFilter.status, ((await badFilter.json()) as { errorCode: string }).errorCode]).toEqual([400, 'E0000053']);
  });

  it('through the SDK: the polling Collection yields null (not done) once caught up, so for-await would never end', async () => {
    const since = new Date(emu.clock.now() - 1).toISOString();
    const g = emu.admin.createGroup('sdk-log-group');
    const u = emu.admin.createUser({ profile: profile('log-2@agents.test') });
    emu.admin.addMember(g.id, u.id);
    emu.admin.removeMember(g.id, u.id, { id: 'oig', type: 'SystemPrincipal', alternateId: 'Okta Identity Governance', displayName: 'Okta Identity Governance' });
    const collection = await okta.systemLogApi.listLogEvents({ since, filter: 'eventType eq "group.user_membership.remove"' });
    const first = await collection.next();
    expect(first.value?.eventType).toBe('group.user_membership.remove');
    expect(first.value?.target?.map((t) => t.id)).toEqual([u.id, g.id]);
    const caughtUp = await collection.next();
    expect(caughtUp).toEqual({ value: null, done: false });
  });
});

describe('event hooks', () => {
  beforeEach(() => {
    receiver.requests.length = 0;
    receiver.respond = (r) => {
      const challenge = r.headers['x-okta-verification-challenge'];
      if (r.method === 'GET' && typeof challenge === 'string') return { status: 200, body: JSON.stringify({ verification: challenge }) };
      return { status: 204 };
    };
    emu.eventHooks.mode = {};
  });

  async function createVerifiedHook(items: string[]): Promise<string> {
    const hook = await okta.eventHookApi.createEventHook({
      eventHook: {
        name: `agentroster-${items.length}-${Math.random()}`,
        events: { type: 'EVENT_TYPE', items },
        channel: {
          type: 'HTTP',
          version: '1.0.0',
          config: {
            uri: receiver.url,
            headers: [{ key: 'X-Agentroster-Org', value: 'org-1' }],
            authScheme: { type: 'HEADER', key: 'Authorization', value: 'hook-secret-1' },
          },
        },
      },
    });
    await okta.eventHookApi.verifyEventHook({ eventHookId: hook.id as string });
    receiver.requests.length = 0;
    return hook.id as string;
  }

  it('registers UNVERIFIED, verifies with the one-time GET challenge, then delivers matching events with the auth header', async () => {
    const hook = await okta.eventHookApi.createEventHook({
      eventHook: {
        name: 'agentroster revocations',
        events: { type: 'EVENT_TYPE', items: ['user.lifecycle.suspend', 'user.lifecycle.deactivate', 'group.user_membership.remove'] },
        channel: { type: 'HTTP', version: '1.0.0', config: { uri: receiver.url, authScheme: { type: 'HEADER', key: 'Authorization', value: 'hook-secret-1' } } },
      },
    });
    expect(hook.id).toMatch(/^who[A-Za-z0-9]{17}$/);
    expect([hook.status, hook.verificationStatus]).toEqual(['ACTIVE', 'UNVERIFIED']);
    expect(JSON.stringify(hook)).not.toContain('hook-secret-1'); // the auth value is write-only

    const verified = await okta.eventHookApi.verifyEventHook({ eventHookId: hook.id as string });
    expect(verified.verificationStatus).toBe('VERIFIED');
    const challenge = receiver.requests[0] as Received;
    expect(challenge.method).toBe('GET');
    expect(challenge.headers['x-okta-verification-challenge']).toMatch(/^[A-Za-z0-9]{32}$/);
    expect(challenge.headers['authorization']).toBe('hook-secret-1');

    const u = emu.admin.createUser({ profile: profile('hook-1@agents.test'), credentials: { password: { value: 'Sup3r-secret-pw!' } } });
    emu.admin.suspend(u.id);
    emu.admin.deactivate(u.id);
    await emu.eventHooks.idle();
    const posts = receiver.requests.filter((r) => r.method === 'POST');
    expect(posts.length).toBeGreaterThanOrEqual(1);
    const first = posts[0] as Received;
    expect(first.headers['authorization']).toBe('hook-secret-1');
    expect(first.headers['content-type']).toBe('application/json');
    const envelope = JSON.parse(first.body) as Record<string, unknown>;
    expect(envelope).toMatchObject({
      eventType: 'com.okta.event_hook',
      eventTypeVersion: '1.0',
      cloudEventsVersion: '0.1',
      source: `${emu.orgUrl}/api/v1/eventHooks/${hook.id as string}`,
      contentType: 'application/json',
    });
    expect(envelope['eventId']).toMatch(/^[0-9a-f-]{36}$/);
    const delivered = posts.flatMap((p) => (JSON.parse(p.body) as { data: { events: LogEvent[] } }).data.events);
    expect(delivered.map((e) => e.eventType)).toEqual(['user.lifecycle.suspend', 'user.lifecycle.deactivate']); // create was not subscribed
    expect(delivered[0]?.target?.[0]?.id).toBe(u.id);
    await okta.eventHookApi.deactivateEventHook({ eventHookId: hook.id as string });
  });

  it('only accepts HTTPS endpoints, only deletes INACTIVE hooks, and fails verification when the answer is wrong', async () => {
    const http = await rejection(
      okta.eventHookApi.createEventHook({
        eventHook: { name: 'plain', events: { type: 'EVENT_TYPE', items: ['user.lifecycle.suspend'] }, channel: { type: 'HTTP', version: '1.0.0', config: { uri: 'http://127.0.0.1:1/x' } } },
      }),
    );
    expect([http['status'], http['errorCode']]).toEqual([400, 'E0000001']);

    const hook = await okta.eventHookApi.createEventHook({
      eventHook: { name: 'wrong-answer', events: { type: 'EVENT_TYPE', items: ['user.lifecycle.suspend'] }, channel: { type: 'HTTP', version: '1.0.0', config: { uri: receiver.url } } },
    });
    receiver.respond = () => ({ status: 200, body: JSON.stringify({ verification: 'nope' }) });
    const failed = await rejection(okta.eventHookApi.verifyEventHook({ eventHookId: hook.id as string }));
    expect([failed['status'], failed['errorCode']]).toEqual([400, 'E0000001']);
    expect(receiver.requests.filter((r) => r.method === 'GET')).toHaveLength(2); // one retry
    expect((await okta.eventHookApi.getEventHook({ eventHookId: hook.id as string })).verificationStatus).toBe('UNVERIFIED');

    const active = await rejection(okta.eventHookApi.deleteEventHook({ eventHookId: hook.id as string }));
    expect(active['status']).toBe(400);
    await okta.eventHookApi.deactivateEventHook({ eventHookId: hook.id as string });
    await okta.eventHookApi.deleteEventHook({ eventHookId: hook.id as string });
  });

  it('delivers at least once: duplicate mode repeats an eventId; out-of-order mode sends newest first', async () => {
    const id = await createVerifiedHook(['group.user_membership.remove']);
    const g = emu.admin.createGroup('hook-dup-group');
    const users = [0, 1, 2].map((i) => emu.admin.createUser({ profile: profile(`hook-dup-${i}@agents.test`) }));
    for (const u of users) emu.admin.addMember(g.id, u.id);

    emu.eventHooks.mode = { duplicate: true };
    emu.admin.removeMember(g.id, (users[0] as { id: string }).id);
    await emu.eventHooks.idle();
    const dupIds = receiver.requests.filter((r) => r.method === 'POST').map((r) => (JSON.parse(r.body) as { eventId: string }).eventId);
    expect(dupIds).toHaveLength(2);
    expect(dupIds[0]).toBe(dupIds[1]);

    receiver.requests.length = 0;
    emu.eventHooks.mode = { outOfOrder: true };
    emu.eventHooks.pause();
    emu.admin.removeMember(g.id, (users[1] as { id: string }).id);
    emu.admin.removeMember(g.id, (users[2] as { id: string }).id);
    emu.eventHooks.resume();
    await emu.eventHooks.idle();
    const order = receiver.requests
      .filter((r) => r.method === 'POST')
      .flatMap((r) => (JSON.parse(r.body) as { data: { events: LogEvent[] } }).data.events.map((e) => e.target?.[0]?.id));
    expect(order).toEqual([(users[2] as { id: string }).id, (users[1] as { id: string }).id]);
    await okta.eventHookApi.deactivateEventHook({ eventHookId: id });
  });

  it('retries a 5xx once, never a 4xx, and logs event_hook.delivery failures', async () => {
    const id = await createVerifiedHook(['user.lifecycle.suspend']);
    const u = emu.admin.createUser({ profile: profile('hook-retry@agents.test'), credentials: { password: { value: 'Sup3r-secret-pw!' } } });
    receiver.respond = () => ({ status: 503 });
    emu.admin.suspend(u.id);
    await emu.eventHooks.idle();
    expect(receiver.requests.filter((r) => r.method === 'POST')).toHaveLength(2);

    receiver.requests.length = 0;
    receiver.respond = () => ({ status: 400 });
    emu.admin.unsuspend(u.id);
    emu.admin.suspend(u.id);
    await emu.eventHooks.idle();
    expect(receiver.requests.filter((r) => r.method === 'POST')).toHaveLength(1);
    const failures = emu.state.log.all().filter((e) => e.eventType === 'event_hook.delivery' && e.target?.[0]?.id === id);
    expect(failures).toHaveLength(2);
    expect(failures[0]?.outcome?.result).toBe('FAILURE');
    await okta.eventHookApi.deactivateEventHook({ eventHookId: id });
  });
});
