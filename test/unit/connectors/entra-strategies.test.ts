// The three Entra representations of an agent (strategies.ts), each against a scripted Graph: the
// real GraphClient (batching off) sends real HTTP requests to a fetch that answers as Graph does
// (OData error bodies), so the tests see exactly what Entra would receive and how each answer is
// taken: tags and lookups by our id, blueprint quotas, upserts, lost-response recovery, sponsors.

import { describe, expect, it } from 'vitest';
import type { ResolvedPrincipal } from '../../../src/connectors/entra/directory.js';
import { OutcomeUnknownError } from '../../../src/connectors/entra/errors.js';
import { GraphClient } from '../../../src/connectors/entra/graph.js';
import type { EntraSettings } from '../../../src/connectors/entra/settings.js';
import {
  agentIdFromTags,
  AgentIdentityStrategy,
  ServicePrincipalStrategy,
  type SponsorLink,
  strategyFor,
  tagOf,
  UserStrategy,
} from '../../../src/connectors/entra/strategies.js';
import type { DesiredAgent } from '../../../src/sync/connector.js';
import { PermanentError, RetryableError } from '../../../src/sync/errors.js';
import { WriteLimiter } from '../../../src/sync/rate-limit.js';

const GRAPH = 'https://graph.test';
const BASE = `${GRAPH}/v1.0`;
const BP1 = 'b1b1b1b1-0000-4000-8000-000000000001';
const BP2 = 'b2b2b2b2-0000-4000-8000-000000000002';
const AGENT = '0f0f0f0f-1111-4222-8333-444444444444';
const signal = new AbortController().signal;

interface Call {
  method: string;
  /** decoded path below /v1.0 (with the query) */
  path: string;
  headers: Record<string, string>;
  body: any;
}
type Answer = { status: number; body?: unknown; headers?: Record<string, string> };

const odataError = (status: number, code: string, message: string, details: string[] = []): Answer => ({
  status,
  body: { error: { code, message, ...(details.length ? { details: details.map((c) => ({ code: c, message: c })) } : {}) } },
});
const ok = (body?: unknown): Answer => ({ status: 200, body });
const noContent: Answer = { status: 204 };

/** A GraphClient whose transport is `handler`; every request is recorded. */
function graph(handler: (c: Call) => Answer | Error) {
  const calls: Call[] = [];
  const g = new GraphClient({
    graphUrl: GRAPH,
    apiVersion: 'v1.0',
    token: { get: async () => 'token' },
    limiter: new WriteLimiter({ limit: 10_000, windowMs: 1000 }),
    batchMax: 1,
    maxTransientRetries: 0,
    maxThrottleRetries: 0,
    transientBaseMs: 1,
    fetch: async (url, init) => {
      const u = String(url);
      const c: Call = {
        method: String(init?.method ?? 'GET'),
        path: decodeURIComponent(u.startsWith(BASE) ? u.slice(BASE.length) : u),
        headers: Object.fromEntries(Object.entries((init?.headers ?? {}) as Record<string, string>).map(([k, v]) => [k.toLowerCase(), v])),
        body: init?.body ? JSON.parse(String(init.body)) : undefined,
      };
      calls.push(c);
      const r = handler(c);
      if (r instanceof Error) throw r;
      return new Response(r.body === undefined ? null : JSON.stringify(r.body), { status: r.status, headers: { 'content-type': 'application/json', ...r.headers } });
    },
  });
  return { g, calls, writes: () => calls.filter((c) => c.method !== 'GET').map((c) => [c.method, c.path]) };
}

const settings = (o: Partial<EntraSettings> = {}): EntraSettings =>
  ({ mapping: 'agentIdentity', blueprintIds: [BP1, BP2], agentsPerBlueprint: 3, employeeType: 'AIAgent', userDomain: 'agents.contoso.com', ...o }) as EntraSettings;

function desired(o: Partial<DesiredAgent> = {}): DesiredAgent {
  return { id: AGENT, version: 1, presence: 'present', enabled: true, lifecycleState: 'active', displayName: 'Invoice Bot', agentUserName: 'invoice-bot', sponsors: [], entitlements: [], ...o };
}

const ADA: { link: SponsorLink; p: ResolvedPrincipal } = { link: { ref: 'u-ada', id: 'aaaa0000-0000-4000-8000-00000000000a' }, p: { id: 'aaaa0000-0000-4000-8000-00000000000a', kind: 'user', name: 'ada@contoso.com', sponsorable: true } };
const TEAM: { link: SponsorLink; p: ResolvedPrincipal } = { link: { ref: 'g-team', id: 'cccc0000-0000-4000-8000-00000000000c' }, p: { id: 'cccc0000-0000-4000-8000-00000000000c', kind: 'group', name: 'Finance Team', sponsorable: true } };
const BOB: { link: SponsorLink; p: ResolvedPrincipal } = { link: { ref: 'u-bob', id: 'bbbb0000-0000-4000-8000-00000000000b' }, p: { id: 'bbbb0000-0000-4000-8000-00000000000b', kind: 'user', name: 'bob@contoso.com', sponsorable: true } };

async function rejection(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

describe('tags', () => {
  it('tagOf carries our id', () => {
    expect(tagOf(AGENT)).toBe(`agentroster:${AGENT}`);
  });

  it.each<[string, unknown, string | undefined]>([
    ['our tag', [`agentroster:${AGENT}`], AGENT],
    ['our tag after others (and non-strings)', ['other', 42, 'agentroster:x-1'], 'x-1'],
    ['the first of two', ['agentroster:a', 'agentroster:b'], 'a'],
    ['no tag of ours', ['agentrosterx', 'AGENTROSTER:a'], undefined],
    ['an empty list', [], undefined],
    ['not a list', 'agentroster:a', undefined],
    ['absent', undefined, undefined],
  ])('agentIdFromTags: %s', (_name, tags, id) => {
    expect(agentIdFromTags(tags)).toBe(id);
  });
});

describe('strategyFor', () => {
  it.each([
    ['agentIdentity', AgentIdentityStrategy, 'agentIdentity', true],
    ['servicePrincipal', ServicePrincipalStrategy, 'servicePrincipal', true],
    ['user', UserStrategy, 'user', false],
  ] as const)('%s → its strategy, object type and delta support', (mapping, cls, objectType, delta) => {
    const s = strategyFor(graph(() => ok({})).g, settings({ mapping }));
    expect(s).toBeInstanceOf(cls);
    expect(s.kind).toBe(mapping);
    expect(s.objectType).toBe(objectType);
    expect(s.supportsDelta).toBe(delta);
  });

  it('principal paths', () => {
    const { g } = graph(() => ok({}));
    expect(new AgentIdentityStrategy(g, settings()).principalPath('x')).toBe('/servicePrincipals/x');
    expect(new ServicePrincipalStrategy(g).principalPath('x')).toBe('/servicePrincipals/x');
    expect(new UserStrategy(g, settings()).principalPath('x')).toBe('/users/x');
  });
});

// ───────────────────────────────────────────────────────────────────── agent identity

const AI_ITEM = (id: string) => `/servicePrincipals/${id}/microsoft.graph.agentIdentity`;
const countPath = (bp: string) => `/servicePrincipals/microsoft.graph.agentIdentity?$filter=agentIdentityBlueprintId eq '${bp}'&$count=true&$top=1&$select=id`;

describe('AgentIdentityStrategy', () => {
  /** counts per blueprint (undefined: the count fails), then creates answered by `create` */
  function identities(counts: Record<string, number | undefined>, create: (c: Call, n: number) => Answer | Error) {
    let n = 0;
    return graph((c) => {
      if (c.method === 'GET' && c.path.includes('$count=true')) {
        const bp = /eq '([^']+)'/.exec(c.path)![1]!;
        const k = counts[bp];
        return k === undefined ? odataError(400, 'Request_UnsupportedQuery', 'no count') : ok({ '@odata.count': k, value: [] });
      }
      if (c.method === 'POST' && c.path === '/servicePrincipals/microsoft.graph.agentIdentity') return create(c, ++n);
      return odataError(404, 'Request_ResourceNotFound', `unexpected ${c.method} ${c.path}`);
    });
  }

  it('create: counts each blueprint once (eventual consistency), then POSTs the identity with tag, state and sponsors bound', async () => {
    const { g, calls } = identities({ [BP1]: 0, [BP2]: 0 }, () => ({ status: 201, body: { id: 'ABCDEF00-0000-4000-8000-000000000001' } }));
    const s = new AgentIdentityStrategy(g, settings());
    const r = await s.create(desired({ enabled: false }), [ADA, TEAM], signal);
    expect(r).toEqual({ id: 'abcdef00-0000-4000-8000-000000000001', blueprint: BP1, sponsors: [ADA.link, TEAM.link] });
    expect(calls.slice(0, 2).map((c) => [c.path, c.headers.consistencylevel])).toEqual([
      [countPath(BP1), 'eventual'],
      [countPath(BP2), 'eventual'],
    ]);
    const post = calls[2]!;
    expect(post.headers['odata-version']).toBe('4.0');
    expect(post.body).toEqual({
      displayName: 'Invoice Bot',
      agentIdentityBlueprintId: BP1,
      accountEnabled: false,
      tags: [`agentroster:${AGENT}`],
      'sponsors@odata.bind': [`${BASE}/users/${ADA.p.id}`, `${BASE}/groups/${TEAM.p.id}`],
    });
    // the counts are not asked again
    await s.create(desired(), [ADA], signal);
    expect(calls.filter((c) => c.path.includes('$count')).length).toBe(2);
  });

  it.each<[string, Record<string, number | undefined>, string]>([
    ['the first blueprint has room', { [BP1]: 2, [BP2]: 0 }, BP1],
    ['the first blueprint is full by its count', { [BP1]: 3, [BP2]: 0 }, BP2],
    ['the first count failed (unknown: tried)', { [BP1]: undefined, [BP2]: 0 }, BP1],
  ])('create picks the blueprint: %s', async (_name, counts, bp) => {
    const { g, calls } = identities(counts, () => ({ status: 201, body: { id: 'x1' } }));
    const r = await new AgentIdentityStrategy(g, settings()).create(desired(), [ADA], signal);
    expect(r.blueprint).toBe(bp);
    expect(calls.at(-1)!.body.agentIdentityBlueprintId).toBe(bp);
  });

  it('create fills a blueprint up to the quota, counting its own creates, then the next', async () => {
    const { g, calls } = identities({ [BP1]: 1, [BP2]: 0 }, (_c, n) => ({ status: 201, body: { id: `id-${n}` } }));
    const s = new AgentIdentityStrategy(g, settings());
    const bps = [];
    for (let i = 0; i < 4; i++) bps.push((await s.create(desired(), [ADA], signal)).blueprint);
    expect(bps).toEqual([BP1, BP1, BP2, BP2]);
    expect(calls.filter((c) => c.method === 'POST').length).toBe(4);
  });

  it('a failed create gives its reservation back', async () => {
    const { g } = identities({ [BP1]: 2, [BP2]: 3 }, (_c, n) => (n === 1 ? odataError(400, 'Request_BadRequest', 'bad display name') : { status: 201, body: { id: 'ok' } }));
    const s = new AgentIdentityStrategy(g, settings());
    expect(await rejection(s.create(desired(), [ADA], signal))).toBeInstanceOf(PermanentError);
    expect((await s.create(desired(), [ADA], signal)).blueprint).toBe(BP1); // BP1 still has its one place
  });

  it('AgentIdentity_LimitExceeded: that blueprint is full (nothing was created), the next is tried; all full → PermanentError saying what to do', async () => {
    const { g, calls } = identities({ [BP1]: 0, [BP2]: 0 }, (c) =>
      c.body.agentIdentityBlueprintId === BP1 ? odataError(400, 'AgentIdentity_LimitExceeded', 'limit') : { status: 201, body: { id: 'on-bp2' } },
    );
    const s = new AgentIdentityStrategy(g, settings());
    expect(await s.create(desired(), [ADA], signal)).toMatchObject({ id: 'on-bp2', blueprint: BP2 });
    expect(calls.filter((c) => c.method === 'POST').map((c) => c.body.agentIdentityBlueprintId)).toEqual([BP1, BP2]);
    // BP1 is skipped from now on (re-tried hourly)
    await s.create(desired(), [ADA], signal);
    expect(calls.filter((c) => c.method === 'POST').map((c) => c.body.agentIdentityBlueprintId)).toEqual([BP1, BP2, BP2]);

    const full = identities({ [BP1]: 0, [BP2]: 0 }, () => odataError(400, 'AgentIdentity_LimitExceeded', 'limit'));
    const e = await rejection(new AgentIdentityStrategy(full.g, settings()).create(desired(), [ADA], signal));
    expect(e).toBeInstanceOf(PermanentError);
    expect(e.code).toBe('AgentIdentity_LimitExceeded');
    expect(e.message).toContain('every configured agent identity blueprint is full (3 identities each');
    expect(e.message).toContain('AGENTROSTER_ENTRA_BLUEPRINT_ID');
    expect(full.calls.filter((c) => c.method === 'POST').length).toBe(2);
  });

  it('a blueprint without its principal in the tenant → PermanentError with the call that fixes it', async () => {
    const { g } = identities({ [BP1]: 0 }, () => odataError(400, 'AgentIdentity_AgentBlueprintPrincipalDoesNotExist', 'The blueprint principal does not exist.'));
    const e = await rejection(new AgentIdentityStrategy(g, settings({ blueprintIds: [BP1] })).create(desired(), [ADA], signal));
    expect(e).toBeInstanceOf(PermanentError);
    expect(e.code).toBe('AgentIdentity_AgentBlueprintPrincipalDoesNotExist');
    expect(e.message).toContain(`blueprint ${BP1}: The blueprint principal does not exist.`);
    expect(e.message).toContain(`{"appId":"${BP1}"}`);
  });

  it.each<[string, Answer | Error, (e: any) => void]>([
    ['403 → PermanentError naming the permission', odataError(403, 'Authorization_RequestDenied', 'denied'), (e) => {
      expect(e).toBeInstanceOf(PermanentError);
      expect(e.message).toContain(`creating the agent identity of agent ${AGENT}`);
      expect(e.message).toContain('AgentIdentity.Create.All');
    }],
    ['a lost response → OutcomeUnknown (the engine looks for the tag before creating again)', new TypeError('socket hang up'), (e) => expect(e).toBeInstanceOf(OutcomeUnknownError)],
  ])('create: %s', async (_name, answer, check) => {
    const { g } = identities({ [BP1]: 0 }, () => answer);
    check(await rejection(new AgentIdentityStrategy(g, settings({ blueprintIds: [BP1] })).create(desired(), [ADA], signal)));
  });

  it('findOwn: by the tag, the observations carry our id', async () => {
    const { g, calls } = graph(() => ok({ value: [{ id: 'ABC', displayName: 'Bot', accountEnabled: false, tags: ['agentroster:someone-else'], createdDateTime: '2026-01-01T00:00:00Z' }] }));
    expect(await new AgentIdentityStrategy(g, settings()).findOwn(AGENT, signal)).toEqual([
      { remoteId: 'abc', exists: true, agentId: AGENT, enabled: false, displayName: 'Bot', createdAt: '2026-01-01T00:00:00Z' },
    ]);
    expect(calls[0]!.path).toBe(
      `/servicePrincipals/microsoft.graph.agentIdentity?$filter=tags/any(t:t eq 'agentroster:${AGENT}')&$select=id,displayName,accountEnabled,tags,createdDateTime,agentIdentityBlueprintId`,
    );
    const denied = graph(() => odataError(403, 'Authorization_RequestDenied', 'no'));
    const e = await rejection(new AgentIdentityStrategy(denied.g, settings()).findOwn(AGENT, signal));
    expect(e.message).toContain(`looking for agent ${AGENT} by its tag`);
    expect(e.message).toContain('AgentIdentity.Read.All');
  });

  it("observe: state and sponsors (lower case); 404 → it does not exist; another failure is the engine's", async () => {
    const { g, calls } = graph(() => ok({ id: 'X1', accountEnabled: true, displayName: 'Bot', tags: [tagOf(AGENT)], sponsors: [{ id: 'AAA' }, { id: 'bbb' }] }));
    const s = new AgentIdentityStrategy(g, settings());
    expect(await s.observe('x1', signal)).toEqual({ remoteId: 'x1', exists: true, agentId: AGENT, enabled: true, displayName: 'Bot', sponsors: ['aaa', 'bbb'] });
    expect(calls[0]!.path).toBe(`${AI_ITEM('x1')}?$expand=sponsors($select=id)`);
    expect(await new AgentIdentityStrategy(graph(() => odataError(404, 'Request_ResourceNotFound', 'gone')).g, settings()).observe('x1', signal)).toEqual({ remoteId: 'x1', exists: false });
    expect(await rejection(new AgentIdentityStrategy(graph(() => odataError(403, 'Authorization_RequestDenied', 'no')).g, settings()).observe('x1', signal))).toBeInstanceOf(PermanentError);
  });

  it('patch, remove (404: already gone), restore (404/400: cannot)', async () => {
    const answers: Record<string, Answer> = {};
    const { g, calls } = graph((c) => answers[`${c.method} ${c.path}`] ?? noContent);
    const s = new AgentIdentityStrategy(g, settings());
    await s.patch('x1', { accountEnabled: false, displayName: 'New' }, signal);
    expect(calls.at(-1)).toMatchObject({ method: 'PATCH', path: AI_ITEM('x1'), body: { accountEnabled: false, displayName: 'New' } });
    await s.remove('x1', {}, signal);
    expect(calls.at(-1)).toMatchObject({ method: 'DELETE', path: AI_ITEM('x1') });
    answers[`DELETE ${AI_ITEM('x2')}`] = odataError(404, 'Request_ResourceNotFound', 'gone');
    await s.remove('x2', {}, signal);
    answers[`DELETE ${AI_ITEM('x3')}`] = odataError(403, 'Authorization_RequestDenied', 'no');
    expect((await rejection(s.remove('x3', {}, signal))).message).toContain('AgentIdentity.DeleteRestore.All');

    expect(await s.restore('x1', signal)).toBe(true);
    expect(calls.at(-1)).toMatchObject({ method: 'POST', path: '/directory/deletedItems/x1/restore' });
    answers['POST /directory/deletedItems/x4/restore'] = odataError(404, 'Request_ResourceNotFound', 'purged');
    answers['POST /directory/deletedItems/x5/restore'] = odataError(400, 'Request_BadRequest', 'not deleted');
    answers['POST /directory/deletedItems/x6/restore'] = odataError(403, 'Authorization_RequestDenied', 'no');
    expect(await s.restore('x4', signal)).toBe(false);
    expect(await s.restore('x5', signal)).toBe(false);
    expect(await rejection(s.restore('x6', signal))).toBeInstanceOf(PermanentError);
  });

  it('setSponsors: adds before it removes (an identity keeps a sponsor); "already there" and "not there" are done; other errors are not', async () => {
    const answers: Record<string, Answer> = {};
    const { g, calls, writes } = graph((c) => answers[`${c.method} ${c.path}`] ?? noContent);
    const s = new AgentIdentityStrategy(g, settings());
    const changes = await s.setSponsors('x1', [ADA, TEAM], [{ ref: 'u-bob', id: BOB.p.id }, ADA.link], signal);
    expect(changes).toEqual(['sponsor +Finance Team', 'sponsor -u-bob']);
    expect(writes()).toEqual([
      ['POST', `${AI_ITEM('x1')}/sponsors/$ref`],
      ['DELETE', `${AI_ITEM('x1')}/sponsors/${BOB.p.id}/$ref`],
    ]);
    expect(calls[0]!.body).toEqual({ '@odata.id': `${BASE}/directoryObjects/${TEAM.p.id}` });
    expect(await s.setSponsors('x1', [ADA], [ADA.link], signal)).toEqual([]);

    answers[`POST ${AI_ITEM('x2')}/sponsors/$ref`] = odataError(400, 'Request_BadRequest', 'One or more added object references already exist for the following modified properties: sponsors.');
    answers[`DELETE ${AI_ITEM('x2')}/sponsors/${BOB.p.id}/$ref`] = odataError(404, 'Request_ResourceNotFound', 'does not exist');
    expect(await s.setSponsors('x2', [TEAM], [BOB.link], signal)).toEqual(['sponsor +Finance Team', 'sponsor -u-bob']);

    answers[`POST ${AI_ITEM('x3')}/sponsors/$ref`] = odataError(400, 'Request_BadRequest', 'Invalid reference');
    expect(await rejection(s.setSponsors('x3', [TEAM], [], signal))).toMatchObject({ status: 400 });
    answers[`DELETE ${AI_ITEM('x4')}/sponsors/${BOB.p.id}/$ref`] = odataError(403, 'Authorization_RequestDenied', 'no');
    expect(await rejection(s.setSponsors('x4', [], [BOB.link], signal))).toMatchObject({ status: 403 });
  });

  it('list: every blueprint, every page; objects without our tag are not ours', async () => {
    const { g, calls } = graph((c) => {
      if (c.path === '/next-page') return ok({ value: [{ id: 'P2', tags: [tagOf('agent-b')], accountEnabled: true, sponsors: [] }] });
      if (c.path.includes(BP1)) return ok({ value: [{ id: 'P1', tags: [tagOf('agent-a')] }, { id: 'FOREIGN', tags: [] }], '@odata.nextLink': `${BASE}/next-page` });
      return ok({ value: [{ id: 'P3', tags: [tagOf('agent-c')] }] });
    });
    const all = await new AgentIdentityStrategy(g, settings()).list(signal);
    expect(all.map((o) => [o.remoteId, o.agentId])).toEqual([
      ['p1', 'agent-a'],
      ['p2', 'agent-b'],
      ['p3', 'agent-c'],
    ]);
    expect(all[1]).toEqual({ remoteId: 'p2', exists: true, agentId: 'agent-b', enabled: true, sponsors: [] });
    expect(calls[0]!.path).toBe(
      `/servicePrincipals/microsoft.graph.agentIdentity?$filter=agentIdentityBlueprintId eq '${BP1}'&$select=id,displayName,accountEnabled,tags,createdDateTime&$expand=sponsors($select=id)&$top=100`,
    );
    const e = await rejection(new AgentIdentityStrategy(graph(() => odataError(403, 'Authorization_RequestDenied', 'no')).g, settings()).list(signal));
    expect(e.message).toContain(`listing the agent identities of blueprint ${BP1}`);
  });
});

// ───────────────────────────────────────────────────────────────────── application + service principal

const APP_KEY = `/applications(uniqueName='agentroster-${AGENT}')`;

describe('ServicePrincipalStrategy', () => {
  function sp(answers: Record<string, Answer | ((c: Call) => Answer)>) {
    return graph((c) => {
      const a = answers[`${c.method} ${c.path}`];
      if (!a) return odataError(404, 'Request_ResourceNotFound', `unexpected ${c.method} ${c.path}`);
      return typeof a === 'function' ? a(c) : a;
    });
  }

  it('create: upserts the application by uniqueName, then its service principal with the tag, state and the sponsors in the notes', async () => {
    const { g, calls } = sp({
      [`PATCH ${APP_KEY}`]: { status: 201, body: { id: 'app-obj', appId: 'app-id' } },
      'POST /servicePrincipals': { status: 201, body: { id: 'SP-1' } },
    });
    const r = await new ServicePrincipalStrategy(g).create(desired({ enabled: false }), [ADA, BOB, TEAM], signal);
    expect(r).toEqual({ id: 'sp-1', appId: 'app-id', appObjectId: 'app-obj', sponsors: [ADA.link, BOB.link, TEAM.link] });
    expect(calls[0]).toMatchObject({ method: 'PATCH', path: APP_KEY, headers: { prefer: 'create-if-missing' }, body: { displayName: 'Invoice Bot', tags: [tagOf(AGENT)] } });
    expect(calls[1]!.body).toEqual({ appId: 'app-id', accountEnabled: false, tags: [tagOf(AGENT)], notes: 'agentroster agent. Sponsor: ada@contoso.com; co-sponsors: bob@contoso.com, Finance Team' });
  });

  it.each<[string, Record<string, Answer>, string[][]]>([
    [
      'the application existed (204): read back',
      { [`PATCH ${APP_KEY}`]: noContent, [`GET ${APP_KEY}?$select=id,appId`]: ok({ id: 'app-obj', appId: 'app-id' }), 'POST /servicePrincipals': { status: 201, body: { id: 'sp-1' } } },
      [['PATCH', APP_KEY], ['GET', `${APP_KEY}?$select=id,appId`], ['POST', '/servicePrincipals']],
    ],
    [
      'the upsert raced (ObjectConflict): read back',
      {
        [`PATCH ${APP_KEY}`]: odataError(400, 'Request_BadRequest', 'conflict', ['ObjectConflict']),
        [`GET ${APP_KEY}?$select=id,appId`]: ok({ id: 'app-obj', appId: 'app-id' }),
        'POST /servicePrincipals': { status: 201, body: { id: 'sp-1' } },
      },
      [['PATCH', APP_KEY], ['GET', `${APP_KEY}?$select=id,appId`], ['POST', '/servicePrincipals']],
    ],
    [
      'the service principal exists (a retry after a lost answer): found by appId',
      {
        [`PATCH ${APP_KEY}`]: { status: 201, body: { id: 'app-obj', appId: 'app-id' } },
        'POST /servicePrincipals': odataError(409, 'Request_MultipleObjectsWithSameKeyValue', 'exists'),
        "GET /servicePrincipals(appId='app-id')?$select=id": ok({ id: 'SP-1' }),
      },
      [['PATCH', APP_KEY], ['POST', '/servicePrincipals'], ['GET', "/servicePrincipals(appId='app-id')?$select=id"]],
    ],
  ])('create: %s — never a second object', async (_name, answers, sequence) => {
    const { g, calls } = sp(answers);
    expect(await new ServicePrincipalStrategy(g).create(desired(), [ADA], signal)).toEqual({ id: 'sp-1', appId: 'app-id', appObjectId: 'app-obj', sponsors: [ADA.link] });
    expect(calls.map((c) => [c.method, c.path])).toEqual(sequence);
  });

  it.each<[string, Record<string, Answer>, (e: any) => void]>([
    [
      'the application is still replicating → retry later',
      { [`PATCH ${APP_KEY}`]: { status: 201, body: { id: 'app-obj', appId: 'app-id' } }, 'POST /servicePrincipals': odataError(400, 'Request_BadRequest', 'The appId of the service principal does not reference a valid application object.') },
      (e) => expect(e).toMatchObject({ code: 'replicationLag', retryable: true, message: expect.stringContaining('app-id') }),
    ],
    [
      'the upsert is refused → PermanentError naming the application permission',
      { [`PATCH ${APP_KEY}`]: odataError(403, 'Authorization_RequestDenied', 'no') },
      (e) => expect(e).toMatchObject({ retryable: false, message: expect.stringContaining('Application.ReadWrite.All') }),
    ],
    [
      'the service principal is refused otherwise → PermanentError',
      { [`PATCH ${APP_KEY}`]: { status: 201, body: { id: 'app-obj', appId: 'app-id' } }, 'POST /servicePrincipals': odataError(400, 'Request_BadRequest', 'bad notes') },
      (e) => expect(e).toMatchObject({ retryable: false, message: expect.stringContaining(`creating the service principal of agent ${AGENT}`) }),
    ],
  ])('create: %s', async (_name, answers, check) => {
    check(await rejection(new ServicePrincipalStrategy(sp(answers).g).create(desired(), [ADA], signal)));
  });

  it('notes with one sponsor, and with none', async () => {
    const { g, calls } = sp({ [`PATCH ${APP_KEY}`]: { status: 201, body: { id: 'o', appId: 'a' } }, 'POST /servicePrincipals': { status: 201, body: { id: 's' } } });
    const s = new ServicePrincipalStrategy(g);
    await s.create(desired(), [TEAM], signal);
    await s.create(desired(), [], signal);
    expect(calls.filter((c) => c.method === 'POST').map((c) => c.body.notes)).toEqual(['agentroster agent. Sponsor: Finance Team', 'agentroster agent. Sponsor: none']);
  });

  it('findOwn, observe, list: by the tag; list keeps only tagged objects', async () => {
    const { g, calls } = graph((c) => {
      if (c.path.startsWith('/servicePrincipals?$filter=tags/any(t:t eq')) return ok({ value: [{ id: 'S1', accountEnabled: true, tags: [] }] });
      if (c.path.startsWith('/servicePrincipals?$filter=tags/any(t:startswith')) return ok({ value: [{ id: 'S1', tags: [tagOf('a')] }, { id: 'S2', tags: ['x'] }] });
      if (c.path.startsWith('/servicePrincipals/gone')) return odataError(404, 'Request_ResourceNotFound', 'gone');
      return ok({ id: 'S1', displayName: 'Bot', accountEnabled: false, tags: [tagOf('a')] });
    });
    const s = new ServicePrincipalStrategy(g);
    expect(await s.findOwn(AGENT, signal)).toEqual([{ remoteId: 's1', exists: true, agentId: AGENT, enabled: true }]);
    expect(calls[0]!.path).toBe(`/servicePrincipals?$filter=tags/any(t:t eq '${tagOf(AGENT)}')&$select=id,appId,displayName,accountEnabled,tags,createdDateTime`);
    expect(await s.observe('s1', signal)).toEqual({ remoteId: 's1', exists: true, agentId: 'a', enabled: false, displayName: 'Bot' });
    expect(calls[1]!.path).toBe('/servicePrincipals/s1?$select=id,displayName,accountEnabled,tags,createdDateTime');
    expect(await s.observe('gone', signal)).toEqual({ remoteId: 'gone', exists: false });
    expect((await s.list(signal)).map((o) => o.remoteId)).toEqual(['s1']);
    expect(calls.at(-1)!.path).toBe("/servicePrincipals?$filter=tags/any(t:startswith(t,'agentroster:'))&$select=id,displayName,accountEnabled,tags,createdDateTime&$top=999");
    const denied = new ServicePrincipalStrategy(graph(() => odataError(403, 'Authorization_RequestDenied', 'no')).g);
    for (const p of [denied.findOwn(AGENT, signal), denied.observe('s1', signal), denied.list(signal)]) {
      expect((await rejection(p)).message).toContain('Application.ReadWrite.All');
    }
  });

  it('patch; remove deletes the service principal and then its application (404s are done); restore never (a fresh create)', async () => {
    const answers: Record<string, Answer> = {};
    const { g, calls, writes } = graph((c) => answers[`${c.method} ${c.path}`] ?? noContent);
    const s = new ServicePrincipalStrategy(g);
    await s.patch('s1', { displayName: 'New' }, signal);
    expect(calls.at(-1)).toMatchObject({ method: 'PATCH', path: '/servicePrincipals/s1', body: { displayName: 'New' } });
    await s.remove('s1', { appObjectId: 'app-obj' }, signal);
    await s.remove('s2', {}, signal);
    answers['DELETE /servicePrincipals/s3'] = odataError(404, 'Request_ResourceNotFound', 'gone');
    await s.remove('s3', { appObjectId: 'app-3' }, signal);
    expect(writes().slice(1)).toEqual([
      ['DELETE', '/servicePrincipals/s1'],
      ['DELETE', '/applications/app-obj'],
      ['DELETE', '/servicePrincipals/s2'],
      ['DELETE', '/servicePrincipals/s3'],
      ['DELETE', '/applications/app-3'],
    ]);
    answers['DELETE /applications/app-4'] = odataError(403, 'Authorization_RequestDenied', 'no');
    expect((await rejection(s.remove('s4', { appObjectId: 'app-4' }, signal))).message).toContain('deleting /applications/app-4');
    expect(await s.restore()).toBe(false);
  });

  it('setSponsors: the same list in the same order → nothing; otherwise the notes are rewritten', async () => {
    const { g, calls } = graph(() => noContent);
    const s = new ServicePrincipalStrategy(g);
    expect(await s.setSponsors('s1', [ADA, BOB], [ADA.link, BOB.link], signal)).toEqual([]);
    expect(calls).toEqual([]);
    expect(await s.setSponsors('s1', [BOB, ADA], [ADA.link, BOB.link], signal)).toEqual(['sponsors (notes): bob@contoso.com, ada@contoso.com']);
    expect(await s.setSponsors('s1', [ADA], [ADA.link, BOB.link], signal)).toEqual(['sponsors (notes): ada@contoso.com']);
    expect(await s.setSponsors('s1', [ADA, BOB], [ADA.link], signal)).toEqual(['sponsors (notes): ada@contoso.com, bob@contoso.com']);
    expect(calls.map((c) => [c.method, c.path, c.body.notes])).toEqual([
      ['PATCH', '/servicePrincipals/s1', 'agentroster agent. Sponsor: bob@contoso.com; co-sponsors: ada@contoso.com'],
      ['PATCH', '/servicePrincipals/s1', 'agentroster agent. Sponsor: ada@contoso.com'],
      ['PATCH', '/servicePrincipals/s1', 'agentroster agent. Sponsor: ada@contoso.com; co-sponsors: bob@contoso.com'],
    ]);
  });
});

// ───────────────────────────────────────────────────────────────────── user with employeeType

const UPN = `agent-${AGENT}@agents.contoso.com`;

describe('UserStrategy', () => {
  it('create: a member user with our UPN, employeeType, a throw-away password, no forced change; the manager comes later', async () => {
    const { g, calls } = graph(() => ({ status: 201, body: { id: 'USER-1' } }));
    const s = new UserStrategy(g, settings());
    expect(s.upn(AGENT)).toBe(UPN);
    expect(await s.create(desired({ enabled: false }), [ADA], signal)).toEqual({ id: 'user-1', upn: UPN, sponsors: [] });
    const body = calls[0]!.body;
    expect(calls[0]!.method).toBe('POST');
    expect(calls[0]!.path).toBe('/users');
    expect(body).toMatchObject({ accountEnabled: false, displayName: 'Invoice Bot', mailNickname: `agent-${AGENT}`, userPrincipalName: UPN, employeeType: 'AIAgent', passwordProfile: { forceChangePasswordNextSignIn: false } });
    expect(body.passwordProfile.password).toMatch(/^[A-Za-z0-9_-]{32}aA1!$/);
    await s.create(desired(), [], signal);
    expect(calls[1]!.body.passwordProfile.password).not.toBe(body.passwordProfile.password);
  });

  it('create after a lost answer: the UPN (our id) is taken by our own user → found by UPN; other failures are the engine’s', async () => {
    const { g, calls } = graph((c) => (c.method === 'POST' ? odataError(400, 'Request_BadRequest', 'Another object with the same value for property userPrincipalName already exists.', ['ObjectConflict']) : ok({ id: 'USER-1' })));
    expect(await new UserStrategy(g, settings()).create(desired(), [], signal)).toEqual({ id: 'user-1', upn: UPN, sponsors: [] });
    expect(calls.map((c) => [c.method, c.path])).toEqual([
      ['POST', '/users'],
      ['GET', `/users/${UPN}?$select=id`],
    ]);
    const denied = graph(() => odataError(403, 'Authorization_RequestDenied', 'no'));
    expect((await rejection(new UserStrategy(denied.g, settings()).create(desired(), [], signal))).message).toContain('User.ReadWrite.All');
  });

  it.each<[string, unknown, string | undefined]>([
    ['our UPN', UPN, AGENT],
    ['our UPN in upper case', UPN.toUpperCase(), AGENT],
    ['a UPN with a short id', 'agent-1234@agents.contoso.com', undefined],
    ['a human', 'ada@contoso.com', undefined],
    ['no UPN', undefined, undefined],
  ])('observe: the agent id comes from the UPN (%s)', async (_name, upn, agentId) => {
    const { g, calls } = graph(() => ok({ id: 'U1', accountEnabled: true, displayName: 'Bot', ...(upn === undefined ? {} : { userPrincipalName: upn }) }));
    const o = await new UserStrategy(g, settings()).observe('u1', signal);
    expect(o).toEqual({ remoteId: 'u1', exists: true, enabled: true, displayName: 'Bot', ...(agentId ? { agentId } : {}) });
    expect(calls[0]!.path).toBe('/users/u1?$select=id,displayName,accountEnabled,userPrincipalName,createdDateTime');
  });

  it('findOwn: the user with our UPN, or none; observe 404 → it does not exist', async () => {
    const found = graph(() => ok({ id: 'U1', userPrincipalName: 'renamed@contoso.com' }));
    expect(await new UserStrategy(found.g, settings()).findOwn(AGENT, signal)).toEqual([{ remoteId: 'u1', exists: true, agentId: AGENT }]);
    expect(found.calls[0]!.path.startsWith(`/users/${UPN}?`)).toBe(true);
    const none = graph(() => odataError(404, 'Request_ResourceNotFound', 'no such user'));
    expect(await new UserStrategy(none.g, settings()).findOwn(AGENT, signal)).toEqual([]);
    expect(await new UserStrategy(none.g, settings()).observe('u9', signal)).toEqual({ remoteId: 'u9', exists: false });
    expect(await rejection(new UserStrategy(graph(() => odataError(403, 'Authorization_RequestDenied', 'no')).g, settings()).observe('u9', signal))).toBeInstanceOf(PermanentError);
  });

  it('setSponsors: the first user sponsor becomes the manager unless it already is; a group cannot be a manager', async () => {
    const { g, calls } = graph(() => noContent);
    const s = new UserStrategy(g, settings());
    expect(await s.setSponsors('u1', [TEAM, BOB, ADA], [], signal)).toEqual(['manager bob@contoso.com']);
    expect(calls[0]).toMatchObject({ method: 'PUT', path: '/users/u1/manager/$ref', body: { '@odata.id': `${BASE}/users/${BOB.p.id}` } });
    expect(await s.setSponsors('u1', [BOB], [BOB.link], signal)).toEqual([]);
    expect(await s.setSponsors('u1', [TEAM], [], signal)).toEqual([]);
    expect(await s.setSponsors('u1', [ADA], [BOB.link], signal)).toEqual(['manager ada@contoso.com']);
    expect(calls.length).toBe(2);
  });

  it('list: the users of the employeeType that carry our UPN', async () => {
    const { g, calls } = graph(() => ok({ value: [{ id: 'U1', userPrincipalName: UPN }, { id: 'U2', userPrincipalName: 'ada@contoso.com' }] }));
    expect((await new UserStrategy(g, settings({ employeeType: "AI'Agent" })).list(signal)).map((o) => [o.remoteId, o.agentId])).toEqual([['u1', AGENT]]);
    expect(calls[0]!.path).toBe("/users?$filter=employeeType eq 'AI''Agent'&$select=id,displayName,accountEnabled,userPrincipalName,createdDateTime&$top=999");
    expect((await rejection(new UserStrategy(graph(() => odataError(403, 'Authorization_RequestDenied', 'no')).g, settings()).list(signal))).message).toContain('listing agent users');
  });

  it('patch, remove (404: done), restore (404/400: cannot)', async () => {
    const answers: Record<string, Answer> = {};
    const { g, calls } = graph((c) => answers[`${c.method} ${c.path}`] ?? noContent);
    const s = new UserStrategy(g, settings());
    await s.patch('u1', { accountEnabled: true }, signal);
    expect(calls.at(-1)).toMatchObject({ method: 'PATCH', path: '/users/u1', body: { accountEnabled: true } });
    await s.remove('u1', {}, signal);
    expect(calls.at(-1)).toMatchObject({ method: 'DELETE', path: '/users/u1' });
    answers['DELETE /users/u2'] = odataError(404, 'Request_ResourceNotFound', 'gone');
    await s.remove('u2', {}, signal);
    answers['DELETE /users/u3'] = odataError(403, 'Authorization_RequestDenied', 'no');
    expect((await rejection(s.remove('u3', {}, signal))).message).toContain('deleting user u3');
    expect(await s.restore('u1', signal)).toBe(true);
    expect(calls.at(-1)).toMatchObject({ method: 'POST', path: '/directory/deletedItems/u1/restore' });
    answers['POST /directory/deletedItems/u4/restore'] = odataError(404, 'Request_ResourceNotFound', 'purged');
    answers['POST /directory/deletedItems/u5/restore'] = odataError(400, 'Request_BadRequest', 'not deleted');
    answers['POST /directory/deletedItems/u6/restore'] = odataError(403, 'Authorization_RequestDenied', 'no');
    expect(await s.restore('u4', signal)).toBe(false);
    expect(await s.restore('u5', signal)).toBe(false);
    expect((await rejection(s.restore('u6', signal))).message).toContain('restoring user u6');
  });
});

describe('failures as the engine sees them', () => {
  it('a transient failure of a read is retryable; of a create its outcome is unknown', async () => {
    const { g } = graph(() => ({ status: 503, body: { error: { code: 'serviceUnavailable', message: 'busy' } } }));
    expect(await rejection(new ServicePrincipalStrategy(g).findOwn(AGENT, signal))).toBeInstanceOf(RetryableError);
    expect(await rejection(new AgentIdentityStrategy(g, settings({ blueprintIds: [BP1] })).create(desired(), [], signal))).toBeInstanceOf(OutcomeUnknownError);
  });
});
