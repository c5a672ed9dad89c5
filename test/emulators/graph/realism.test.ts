/**
 * The realism switches: throttling with Retry-After (top level and inside $batch) and the
 * early-retry counter, the resource-unit quota and its costs, $batch limits and dependsOn, delta links, the replication race, and the
 * scriptable faults (failNext, throttleFor, dropResponseAfterCommit).
 *
 * The emulator runs on a clock the test moves (`advance`): windows, Retry-After deadlines and lags
 * are judged on it, so no assertion here depends on how fast the machine is.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connect, type GraphTestClient } from './harness.js';
import { startGraphEmulator, type GraphEmulator } from './index.js';
import { resourceUnitCost } from './resource-units.js';
import { DEFAULT_INDEX_LAG_MS, DEFAULT_REPLICATION_LAG_MS, DEFAULT_RESOURCE_UNIT_QUOTA, defaultConfig, type DirectoryObject } from './store.js';

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

describe('resource-unit quota', () => {
  const G = '11111111-1111-4111-8111-111111111111';
  it.each([
    // [method, path, query, RU] — learn.microsoft.com/graph/throttling-limits (identity), entra.md §2.1
    ['GET', '/servicePrincipals', '', 1],
    ['GET', '/users', '', 2],
    ['GET', `/users/${G}`, '', 2],
    ['GET', '/users/ada@contoso.com', '', 2],
    ['GET', `/users/${G}/memberOf`, '', 1],
    ['GET', '/applications', '', 2],
    ['GET', "/applications(uniqueName='scim-agent-1')", '', 2],
    ['GET', `/groups/${G}/members`, '', 3],
    ['POST', `/groups/${G}/members/$ref`, '', 3],
    ['GET', `/groups/${G}/transitiveMembers`, '', 5],
    ['POST', '/directoryObjects/getByIds', '', 3],
    ['POST', '/users', '', 1], // a write: base cost (and one write against the write limit)
    ['PATCH', `/users/${G}`, '', 1],
    ['DELETE', `/applications/${G}`, '', 1],
    ['GET', '/users', '$select=id', 1],
    ['GET', '/users', '$expand=manager', 3],
    ['GET', '/users', '$top=5', 1],
    ['GET', '/users', '$top=19&$select=id', 1], // 2 − 1 − 1 = 0 → minimum 1
    ['GET', '/users', '$top=20', 2],
    ['GET', '/users', '$top=999', 2],
    ['GET', `/groups/${G}/members`, '$select=id&$top=10', 1],
    ['GET', `/groups/${G}/transitiveMembers`, '$expand=x&$select=id', 5],
    ['GET', '/servicePrincipals', '$select=id', 1],
    ['GET', '/servicePrincipals', '?$expand=owners', 2],
  ] as const)('%s %s?%s costs %i RU', (method, path, query, ru) => {
    expect(resourceUnitCost({ method, path, query })).toBe(ru);
    expect(resourceUnitCost({ method, path, query: new URLSearchParams(query.replace(/^\?/, '')) })).toBe(ru);
  });

  it('is on by default (3,500 RU per 10 s, the S tenant size) and reports each cost in x-ms-resource-unit', async () => {
    expect(defaultConfig().resourceUnitQuota).toEqual({ limit: DEFAULT_RESOURCE_UNIT_QUOTA, windowMs: 10_000 });
    expect(DEFAULT_RESOURCE_UNIT_QUOTA).toBe(3_500);
    const group = emu.state.seedGroup({ displayName: 'Finance Readers' });
    const cost = async (path: string): Promise<string | null> => {
      const r = await graph.get(path);
      expect(r.status, path).toBe(200);
      expect(r.headers.get('x-ms-throttle-limit-percentage'), path).toBeNull(); // far below 0.8
      return r.headers.get('x-ms-resource-unit');
    };
    expect(await cost('/v1.0/users')).toBe('2');
    expect(await cost(`/v1.0/users/${ada.id}`)).toBe('2');
    expect(await cost('/v1.0/users?$select=id')).toBe('1'); // $select costs less than a plain /users read
    expect(await cost('/v1.0/users?$top=5')).toBe('1');
    expect(await cost(`/v1.0/groups/${group.id}/members`)).toBe('3');
    expect(await cost(AGENTS)).toBe('1');
    expect((await graph.post(AGENTS, newAgent('w'))).headers.get('x-ms-resource-unit')).toBe('1');
  });

  it('over quota: 429 ResourceUnitLimitExceeded with Retry-After until usage leaves the window; every request refused meanwhile', async () => {
    emu.faults.setResourceUnitQuota(10);
    expect(emu.state.config.resourceUnitQuota).toEqual({ limit: 10, windowMs: 10_000 });
    for (let i = 0; i < 3; i++) expect((await graph.get('/v1.0/users')).status).toBe(200); // 6 RU at t0
    advance(4000);
    const fourth = await graph.get('/v1.0/users'); // 8 of 10: not above 0.8
    expect(fourth.headers.get('x-ms-resource-unit')).toBe('2');
    expect(fourth.headers.get('x-ms-throttle-limit-percentage')).toBeNull();
    const selected = await graph.get('/v1.0/users?$select=id'); // 9 of 10
    expect(selected.headers.get('x-ms-resource-unit')).toBe('1');
    expect(selected.headers.get('x-ms-throttle-limit-percentage')).toBe('0.90');
    expect((await graph.get('/v1.0/users?$select=displayName')).headers.get('x-ms-throttle-limit-percentage')).toBe('1.00');

    // quota used up: a /users read (2 RU) fits only once the first read (t0) has left the window, at t0 + 10 s
    const refused = await graph.get('/v1.0/users');
    expect(refused.status).toBe(429);
    expect(refused.body.error.code).toBe('Request_ThrottledTemporarily');
    expect(refused.headers.get('retry-after')).toBe('6');
    expect(refused.headers.get('x-ms-throttle-information')).toBe('ResourceUnitLimitExceeded');
    expect(refused.headers.get('x-ms-throttle-scope')).toBe(`Tenant_Application/ReadWrite/${emu.defaultClient.clientId}/${emu.tenantId}`);
    expect(refused.headers.get('x-ms-resource-unit')).toBeNull();
    expect(emu.log.at(-1)).toMatchObject({ status: 429, retryAfter: 6 });
    expect(emu.counters.throttled).toBe(1);
    expect(emu.counters.earlyRetries).toBe(0);
    expect(emu.counters.earlyRequests).toBe(0);

    // while Retry-After runs, anything of this client is refused — a cheap read, a write — and counted
    const cheap = await graph.get(AGENTS);
    expect(cheap.status).toBe(429);
    expect(cheap.headers.get('x-ms-throttle-information')).toBe('ResourceUnitLimitExceeded');
    const write = await graph.post(AGENTS, newAgent('refused'));
    expect(write.status).toBe(429);
    expect(write.headers.get('x-ms-throttle-information')).toBe('ResourceUnitLimitExceeded');
    expect(emu.counters.earlyRequests).toBe(2);
    expect(emu.counters.earlyRetries).toBe(0);
    expect(emu.state.agentIdentities()).toHaveLength(0);
    // the retry of the refused read, too early
    advance(5000);
    const early = await graph.get('/v1.0/users');
    expect(early.status).toBe(429);
    expect(early.headers.get('retry-after')).toBe('1');
    expect(emu.counters.earlyRetries).toBe(1);
    expect(emu.counters.earlyRequests).toBe(3);
    expect(emu.log.at(-1)).toMatchObject({ earlyRetry: true, status: 429 });

    // after Retry-After: accepted. The refused requests cost nothing: only the 4 RU of t0 + 4 s remain
    advance(1000);
    const late = await graph.get('/v1.0/users');
    expect(late.status).toBe(200);
    expect(late.headers.get('x-ms-resource-unit')).toBe('2');
    expect(late.headers.get('x-ms-throttle-limit-percentage')).toBeNull(); // 6 of 10
    expect(emu.counters.earlyRetries).toBe(1);
    expect(emu.counters.throttled).toBe(4);
    // writes draw on the same quota (and still on the write limit)
    expect((await graph.post(AGENTS, newAgent('accepted'))).status).toBe(201);
    expect(emu.log.at(-1)).toMatchObject({ status: 201, write: true });

    emu.faults.setResourceUnitQuota(null);
    expect(emu.state.config.resourceUnitQuota).toBeNull();
    for (let i = 0; i < 10; i++) expect((await graph.get('/v1.0/users')).status).toBe(200);
  });

  it('is per app: another client keeps its own quota', async () => {
    emu.registerClient({ clientId: 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', secrets: ['other'], roles: emu.defaultClient.roles });
    const other = await connect(emu, { clientId: 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', clientSecret: 'other' });
    emu.faults.setResourceUnitQuota(2);
    expect((await graph.get('/v1.0/users')).status).toBe(200);
    expect((await graph.get('/v1.0/users')).status).toBe(429);
    expect((await other.get('/v1.0/users')).status).toBe(200);
  });

  it('throttles $batch items one by one: per-item 429 ResourceUnitLimitExceeded inside a 200', async () => {
    emu.faults.setResourceUnitQuota(5);
    const requests = Array.from({ length: 4 }, (_, i) => ({ id: String(i), method: 'GET', url: `/users/${ada.id}` }));
    const r = await graph.post('/v1.0/$batch', { requests });
    expect(r.status).toBe(200);
    const statuses = r.body.responses.map((x: { status: number }) => x.status).sort();
    expect(statuses).toEqual([200, 200, 429, 429]); // 2 + 2 RU fit, the third does not, the fourth waits too
    const ok = r.body.responses.find((x: { status: number }) => x.status === 200);
    expect(ok.headers['X-Ms-Resource-Unit']).toBe('2');
    expect(ok.body.id).toBe(ada.id);
    const throttled = r.body.responses.filter((x: { status: number }) => x.status === 429);
    for (const t of throttled) {
      expect(t.headers['Retry-After']).toBe('10');
      expect(t.headers['X-Ms-Throttle-Information']).toBe('ResourceUnitLimitExceeded');
      expect(t.body.error.code).toBe('Request_ThrottledTemporarily');
    }
    expect(emu.counters.throttled).toBe(2);
    expect(emu.counters.batchItems).toBe(4);
    // sent together in one $batch: neither early requests nor early retries
    expect(emu.counters.earlyRequests).toBe(0);
    expect(emu.counters.earlyRetries).toBe(0);
    // the envelope costs nothing; resubmitting at once is refused and counted, after 10 s it goes through
    const again = await graph.post('/v1.0/$batch', { requests: requests.slice(0, 2) });
    expect(again.body.responses.map((x: { status: number }) => x.status)).toEqual([429, 429]);
    expect(emu.counters.earlyRetries).toBe(2);
    advance(10_000);
    const later = await graph.post('/v1.0/$batch', { requests: requests.slice(0, 2) });
    expect(later.body.responses.map((x: { status: number }) => x.status)).toEqual([200, 200]);
    expect(emu.counters.earlyRetries).toBe(2);
  });
});
