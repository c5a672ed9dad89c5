/**
 * The realism switches: throttling with Retry-After (top level and inside $batch) and the
 * early-retry counter, $batch limits and dependsOn, delta links, the replication race, and the
 * scriptable faults (failNext, throttleFor, dropResponseAfterCommit).
 *
 * The emulator runs on a clock the test moves (`advance`): windows, Retry-After deadlines and lags
 * are judged on it, so no assertion here depends on how fast the machine is.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connect, type GraphTestClient } from './harness.js';
import { startGraphEmulator, type GraphEmulator } from './index.js';
import { DEFAULT_INDEX_LAG_MS, DEFAULT_REPLICATION_LAG_MS, defaultConfig, type DirectoryObject } from './store.js';

let emu: GraphEmulator;
let graph: GraphTestClient;
let blueprintAppId: string;
let ada: DirectoryObject;
let now: number;
/** moves the emulator's clock */
const advance = (ms: number): void => {
  now += ms;
};

const AGENTS = '/v1.0/servicePrincipals/microsoft.graph.agentIdentity';
const agent = (id: string): string => `/v1.0/servicePrincipals/${id}/microsoft.graph.agentIdentity`;

beforeEach(async () => {
  now = Date.now();
  emu = await startGraphEmulator({ clock: () => now });
  graph = await connect(emu);
  blueprintAppId = String(emu.state.seedBlueprint({ displayName: 'agentroster' }).blueprint.data['appId']);
  ada = emu.state.seedUser({ displayName: 'Ada', userPrincipalName: 'ada@contoso.com' });
});
afterEach(() => emu.close());

const newAgent = (name: string, tag = `agentroster:${name}`) => ({
  displayName: name,
  agentIdentityBlueprintId: blueprintAppId,
  'sponsors@odata.bind': [`${emu.url}/v1.0/users/${ada.id}`],
  tags: [tag],
});

const createItem = (id: string, name: string) => ({
  id,
  method: 'POST',
  url: '/servicePrincipals/microsoft.graph.agentIdentity',
  headers: { 'Content-Type': 'application/json' },
  body: newAgent(name),
});

describe('throttling', () => {
  it('limits writes per app (default 20/s) with 429 + Retry-After, keeps refusing until it elapses, and counts early retries', async () => {
    emu.faults.setWriteRateLimit(3);
    const bodies = Array.from({ length: 5 }, (_, i) => newAgent(`a${i}`));
    const results = await Promise.all(bodies.map((b) => graph.post(AGENTS, b)));
    expect(results.map((r) => r.status).sort()).toEqual([201, 201, 201, 429, 429]);
    const i = results.findIndex((r) => r.status === 429);
    const throttled = results[i];
    expect(throttled?.headers.get('retry-after')).toBe('1');
    expect(throttled?.headers.get('x-ms-throttle-information')).toBe('WriteLimitExceeded');
    expect(throttled?.body.error.code).toBe('Request_ThrottledTemporarily');
    expect(emu.counters.throttled).toBe(2);
    expect(emu.counters.earlyRetries).toBe(0); // concurrent requests in flight are not retries
    // reads are throttled separately
    expect((await graph.get(AGENTS)).status).toBe(200);
    // retrying the throttled request at once is refused again and counted
    const early = await graph.post(AGENTS, bodies[i]);
    expect(early.status).toBe(429);
    expect(emu.counters.earlyRetries).toBe(1);
    expect(emu.counters.earlyRequests).toBeGreaterThanOrEqual(1);
    expect(emu.log.at(-1)).toMatchObject({ earlyRetry: true, status: 429 });
    advance(Number(early.headers.get('retry-after')) * 1000);
    const late = await graph.post(AGENTS, bodies[i]);
    expect(late.status).toBe(201);
    expect(emu.counters.earlyRetries).toBe(1);
    expect(emu.counters.writes).toBe(4);
  });

  it('throttleFor(seconds) answers every request with 429 and the remaining Retry-After', async () => {
    emu.faults.throttleFor(1);
    const r = await graph.get(AGENTS);
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toBe('1');
    advance(990);
    expect((await graph.get(AGENTS)).status).toBe(429);
    advance(10);
    expect((await graph.get(AGENTS)).status).toBe(200);
    expect(emu.counters.earlyRetries).toBe(1); // the request 10 ms early
  });

  it('failNext(k, status) fails the next k matching requests without committing them', async () => {
    emu.faults.failNext(2, 503, { match: { method: 'POST', path: '/servicePrincipals/microsoft.graph.agentIdentity' } });
    expect((await graph.get(AGENTS)).status).toBe(200); // not matched
    const a = await graph.post(AGENTS, newAgent('x'));
    expect(a.status).toBe(503);
    expect(a.headers.get('retry-after')).toBe('1');
    expect(a.body.error.innerError['request-id']).toBeDefined();
    expect((await graph.post(AGENTS, newAgent('x'))).status).toBe(503);
    expect((await graph.post(AGENTS, newAgent('x'))).status).toBe(201);
    expect(emu.counters.earlyRetries).toBe(2); // neither retry waited the Retry-After of 1 s
    expect(emu.state.agentIdentities()).toHaveLength(1);
    expect(emu.counters.injectedFailures).toBe(2);
  });

  it('failNext(k, 429, {retryAfter: null}) throttles without Retry-After (the documented backoff case)', async () => {
    emu.faults.failNext(1, 429, { match: { method: 'GET' }, retryAfter: null });
    const r = await graph.get(AGENTS);
    expect(r.status).toBe(429);
    expect(r.headers.get('retry-after')).toBeNull();
    expect(r.body.error.code).toBe('Request_ThrottledTemporarily');
    expect(r.body.error.message).not.toMatch(/\d+ seconds/);
    expect(emu.log.at(-1)?.status).toBe(429);
    expect(emu.log.at(-1)?.retryAfter).toBeUndefined();
    // no deadline was given, so an immediate retry is neither early nor refused
    expect((await graph.get(AGENTS)).status).toBe(200);
    expect(emu.counters.earlyRetries).toBe(0);
    expect(emu.counters.earlyRequests).toBe(0);
    expect(emu.counters.throttled).toBe(1);
  });

  it('the request log tells an empty collection answer from a full one (items) and records Retry-After', async () => {
    emu.faults.failNext(1, 503, { match: { method: 'GET' }, retryAfter: 2 });
    await graph.get(AGENTS);
    expect(emu.log.at(-1)).toMatchObject({ status: 503, retryAfter: 2 });
    advance(2000);
    await graph.get(AGENTS);
    expect(emu.log.at(-1)).toMatchObject({ status: 200, items: 0 });
    emu.state.seedAgentIdentity({ displayName: 'old', blueprintAppId, sponsorIds: [ada.id] });
    await graph.get(AGENTS);
    expect(emu.log.at(-1)).toMatchObject({ status: 200, items: 1 });
  });
});

describe('$batch', () => {
  it('rejects more than 20 requests and duplicate ids (case-insensitive) with 400 for the whole batch', async () => {
    const many = Array.from({ length: 21 }, (_, i) => ({ id: String(i), method: 'GET', url: '/users' }));
    expect((await graph.post('/v1.0/$batch', { requests: many })).status).toBe(400);
    expect((await graph.post('/v1.0/$batch', { requests: many.slice(0, 20) })).status).toBe(200);
    const dup = await graph.post('/v1.0/$batch', { requests: [{ id: 'a', method: 'GET', url: '/users' }, { id: 'A', method: 'GET', url: '/users' }] });
    expect(dup.status).toBe(400);
    expect(dup.body.error.code).toBeDefined();
    expect((await graph.post('/v1.0/$batch', { nope: [] })).status).toBe(400);
    expect((await graph.post('/v1.0/$batch', { requests: [{ id: '1', method: 'GET', url: '/users', dependsOn: ['9'] }] })).status).toBe(400);
  });

  it('returns responses in any order, each with id, status, headers and body', async () => {
    const requests = Array.from({ length: 20 }, (_, i) => ({ id: `r${i}`, method: 'GET', url: i % 2 ? '/users?$top=1' : `users/${ada.id}` }));
    const r = await graph.post('/v1.0/$batch', { requests });
    expect(r.status).toBe(200);
    const ids = r.body.responses.map((x: { id: string }) => x.id);
    expect([...ids].sort()).toEqual(requests.map((q) => q.id).sort());
    expect(ids).not.toEqual(requests.map((q) => q.id)); // shuffled (20! permutations)
    const one = r.body.responses.find((x: { id: string }) => x.id === 'r0');
    expect(one).toMatchObject({ status: 200, headers: { 'Content-Type': expect.stringContaining('application/json') }, body: { id: ada.id } });
  });

  it('runs dependsOn in order and fails dependents of a failed request with 424', async () => {
    const r = await graph.post('/v1.0/$batch', {
      requests: [
        createItem('1', 'first'),
        { ...createItem('2', 'bad'), body: { displayName: 'no sponsor', agentIdentityBlueprintId: blueprintAppId }, dependsOn: ['1'] },
        { id: '3', method: 'GET', url: '/users', dependsOn: ['2'] },
        { id: '4', method: 'POST', url: '/servicePrincipals/microsoft.graph.agentIdentity', body: newAgent('no content type') },
      ],
    });
    const byId = Object.fromEntries(r.body.responses.map((x: { id: string; status: number }) => [x.id, x.status]));
    expect(byId).toEqual({ '1': 201, '2': 400, '3': 424, '4': 400 });
  });

  it('throttles items individually: 429 with Retry-After in the item headers inside a 200 batch', async () => {
    emu.faults.setWriteRateLimit(3);
    const r = await graph.post('/v1.0/$batch', { requests: Array.from({ length: 6 }, (_, i) => createItem(String(i), `b${i}`)) });
    expect(r.status).toBe(200);
    const throttled = r.body.responses.filter((x: { status: number }) => x.status === 429);
    expect(throttled).toHaveLength(3);
    expect(throttled[0].headers['Retry-After']).toBe('1');
    expect(r.body.responses.filter((x: { status: number }) => x.status === 201)).toHaveLength(3);
    expect(emu.counters.throttled).toBe(3);
    expect(emu.counters.batchItems).toBe(6);
    expect(emu.counters.earlyRequests).toBe(0); // items of the same batch were sent together
    // resubmitting the throttled items at once: still 429, and counted as early retries
    const again = r.body.responses
      .filter((x: { status: number }) => x.status === 429)
      .map((x: { id: string }) => createItem(x.id, `b${x.id}`));
    const retryNow = await graph.post('/v1.0/$batch', { requests: again });
    expect(retryNow.body.responses.map((x: { status: number }) => x.status)).toEqual([429, 429, 429]);
    expect(emu.counters.earlyRetries).toBe(3);
    advance(1000);
    const retryLater = await graph.post('/v1.0/$batch', { requests: again });
    expect(retryLater.body.responses.map((x: { status: number }) => x.status)).toEqual([201, 201, 201]);
    expect(emu.counters.earlyRetries).toBe(3);
    expect(emu.state.agentIdentities()).toHaveLength(6);
  });
});

describe('delta', () => {
  it('pages the initial round with nextLink, then reports changes and removals via the deltaLink', async () => {
    emu.state.config.deltaPageSize = 2;
    const seeded = Array.from({ length: 3 }, (_, i) => emu.state.seedAgentIdentity({ displayName: `s${i}`, blueprintAppId, sponsorIds: [ada.id] }));
    const pages: Array<Record<string, unknown>> = [];
    let link = '/v1.0/servicePrincipals/delta?$select=displayName,accountEnabled';
    let deltaLink: string | undefined;
    while (!deltaLink) {
      const r = await graph.get(link);
      expect(r.status).toBe(200);
      expect('@odata.nextLink' in r.body && '@odata.deltaLink' in r.body).toBe(false); // never both
      pages.push(...r.body.value);
      deltaLink = r.body['@odata.deltaLink'];
      link = r.body['@odata.nextLink'];
    }
    // 3 agents + the blueprint principal
    expect(pages).toHaveLength(4);
    expect(pages.find((p) => p['id'] === seeded[0]?.id)).toEqual({ '@odata.type': '#microsoft.graph.agentIdentity', id: seeded[0]?.id, displayName: 's0', accountEnabled: true });

    // changes: one created, one disabled (an access review in Entra), one deleted, one purged
    const created = (await graph.post(AGENTS, newAgent('new'))).body.id as string;
    emu.state.adminUpdate(seeded[0]?.id ?? '', { accountEnabled: false });
    await graph.delete(agent(seeded[1]?.id ?? ''));
    emu.state.adminDelete(seeded[2]?.id ?? '');
    emu.state.adminPurge(seeded[2]?.id ?? '');
    advance(DEFAULT_INDEX_LAG_MS); // the change feed trails writes by the index lag
    const changed: Array<{ id: string }> = [];
    let changes = await graph.get(deltaLink);
    changed.push(...changes.body.value);
    while (changes.body['@odata.nextLink']) {
      changes = await graph.get(changes.body['@odata.nextLink']);
      changed.push(...changes.body.value);
    }
    expect(changed).toHaveLength(4);
    const byId = Object.fromEntries(changed.map((v) => [v.id, v]));
    expect(byId[created]).toMatchObject({ displayName: 'new', accountEnabled: true });
    expect(byId[seeded[0]?.id ?? '']).toMatchObject({ accountEnabled: false });
    expect(byId[seeded[1]?.id ?? '']).toMatchObject({ '@removed': { reason: 'changed' } });
    expect(byId[seeded[2]?.id ?? '']).toMatchObject({ '@removed': { reason: 'deleted' } });
    const next = changes.body['@odata.deltaLink'] as string;
    expect((await graph.get(next)).body.value).toEqual([]);

    // "sync from now"
    const latest = await graph.get('/v1.0/servicePrincipals/delta?$deltatoken=latest');
    expect(latest.body.value).toEqual([]);
    expect(latest.body['@odata.deltaLink']).toMatch(/\$deltatoken=/);

    // expired or unknown tokens → 400 syncStateNotFound (full resync required)
    emu.faults.expireDeltaTokens();
    const expired = await graph.get(next);
    expect(expired.status).toBe(400);
    expect(expired.body.error.code).toBe('syncStateNotFound');
    expect((await graph.get('/v1.0/servicePrincipals/delta?$deltatoken=garbage')).body.error.code).toBe('syncStateNotFound');
    expect((await graph.get(`/v1.0/servicePrincipals/delta?$filter=displayName eq 'x'`)).status).toBe(400);
  });

  it('expireDeltaTokens({status: 410}): old links answer 410 Gone resyncRequired; new rounds work', async () => {
    const first = await graph.get('/v1.0/servicePrincipals/delta?$deltatoken=latest');
    const link = first.body['@odata.deltaLink'] as string;
    expect((await graph.get(link)).status).toBe(200);
    emu.faults.expireDeltaTokens({ status: 410 });
    const gone = await graph.get(link);
    expect(gone.status).toBe(410);
    expect(gone.body.error.code).toBe('resyncRequired');
    expect(gone.body.error.innerError['request-id']).toBeDefined();
    // a fresh round (the resync) gets a link that works
    const again = await graph.get('/v1.0/servicePrincipals/delta?$deltatoken=latest');
    expect((await graph.get(again.body['@odata.deltaLink'])).status).toBe(200);
    // a forged token is still the documented 400
    expect((await graph.get('/v1.0/servicePrincipals/delta?$deltatoken=garbage')).status).toBe(400);
  });

  it('expires delta links after the configured lifetime (7 days by default)', async () => {
    let now = Date.now();
    const timed = await startGraphEmulator({ clock: () => now, tokenLifetimeSeconds: 30 * 86_400 });
    try {
      const g = await connect(timed);
      const first = await g.get('/v1.0/servicePrincipals/delta?$deltatoken=latest');
      now += 7 * 86_400_000 + 1000;
      expect((await g.get(first.body['@odata.deltaLink'])).body.error.code).toBe('syncStateNotFound');
    } finally {
      await timed.close();
    }
  });
});

describe('replication race and lost responses', () => {
  it('hides a new object for replicationLagMs: 404 on reads, 400 "Object with id … not found" on dependent writes', async () => {
    emu.faults.setReplicationLag(800);
    const group = emu.state.seedGroup({ displayName: 'Finance Readers' });
    const id = (await graph.post(AGENTS, newAgent('fresh', 'agentroster:fresh'))).body.id as string;
    expect((await graph.get(agent(id))).status).toBe(404);
    expect((await graph.patch(agent(id), { accountEnabled: false })).status).toBe(404);
    const member = await graph.post(`/v1.0/groups/${group.id}/members/$ref`, { '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${id}` });
    expect(member.status).toBe(400);
    expect(member.body.error.message).toBe(`Object with id ${id} not found`);
    expect((await graph.get(`${AGENTS}?$filter=tags/any(t:t eq 'agentroster:fresh')`)).body.value).toEqual([]);
    advance(799);
    expect((await graph.get(agent(id))).status).toBe(404);
    advance(1);
    expect((await graph.get(agent(id))).status).toBe(200);
    expect((await graph.post(`/v1.0/groups/${group.id}/members/$ref`, { '@odata.id': `https://graph.microsoft.com/v1.0/directoryObjects/${id}` })).status).toBe(204);
    expect((await graph.get(`${AGENTS}?$filter=tags/any(t:t eq 'agentroster:fresh')`)).body.value).toHaveLength(1);
  });

  it('is realistic by default: 20 writes/s, a new object briefly unreadable and missing from lists and tag filters', async () => {
    expect(defaultConfig()).toMatchObject({
      writeRateLimit: { limit: 20, windowMs: 1000 },
      replicationLagMs: DEFAULT_REPLICATION_LAG_MS,
      indexLagMs: DEFAULT_INDEX_LAG_MS,
    });
    expect(DEFAULT_REPLICATION_LAG_MS).toBeGreaterThan(0);
    expect(DEFAULT_INDEX_LAG_MS).toBeGreaterThanOrEqual(DEFAULT_REPLICATION_LAG_MS);
    const id = (await graph.post(AGENTS, newAgent('young', 'agentroster:young'))).body.id as string;
    const byTag = `${AGENTS}?$filter=tags/any(t:t eq 'agentroster:young')&$select=id`;
    expect((await graph.get(agent(id))).status).toBe(404);
    expect((await graph.get(byTag)).body.value).toEqual([]);
    advance(DEFAULT_REPLICATION_LAG_MS);
    expect((await graph.get(agent(id))).status).toBe(200);
    const ids = async (): Promise<string[]> => ((await graph.get(byTag)).body.value as Array<{ id: string }>).map((o) => o.id);
    expect(await ids()).toEqual(DEFAULT_INDEX_LAG_MS > DEFAULT_REPLICATION_LAG_MS ? [] : [id]);
    advance(DEFAULT_INDEX_LAG_MS - DEFAULT_REPLICATION_LAG_MS);
    expect(await ids()).toEqual([id]);
    // the 21st write inside one second is refused
    const burst = await Promise.all(Array.from({ length: 20 }, (_, i) => graph.post(AGENTS, newAgent(`w${i}`))));
    expect(burst.map((r) => r.status).filter((st) => st === 429)).toHaveLength(1);
  });

  it('dropResponseAfterCommit commits the write and then closes the connection without a response', async () => {
    emu.faults.dropResponseAfterCommit({ method: 'POST', path: '/servicePrincipals/microsoft.graph.agentIdentity' });
    await expect(graph.post(AGENTS, newAgent('lost', 'agentroster:lost'))).rejects.toThrow(/fetch failed/);
    advance(DEFAULT_INDEX_LAG_MS);
    const found = await graph.get(`${AGENTS}?$filter=tags/any(t:t eq 'agentroster:lost')&$select=id`);
    expect(found.body.value).toHaveLength(1);
    expect(emu.counters.droppedResponses).toBe(1);
    expect(emu.log.find((e) => e.dropped)).toMatchObject({ method: 'POST', status: 201, dropped: true });
    // only the next matching request is affected
    expect((await graph.post(AGENTS, newAgent('kept'))).status).toBe(201);
  });

  it('counts requests per method and path template', async () => {
    const id = (await graph.post(AGENTS, newAgent('c'))).body.id as string;
    advance(DEFAULT_REPLICATION_LAG_MS);
    await graph.get(agent(id));
    await graph.get(agent(id));
    expect(emu.faults.count('POST', '/servicePrincipals/microsoft.graph.agentIdentity')).toBe(1);
    expect(emu.faults.count('GET', '/servicePrincipals/{id}/microsoft.graph.agentIdentity')).toBe(2);
    expect(emu.counters.byMethod['GET']).toBe(2);
    expect(emu.counters.writes).toBe(1);
  });
});
