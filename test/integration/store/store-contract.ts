// The behaviour every Store must have, run against SQLite and PostgreSQL alike
// (sqlite.test.ts, postgres.test.ts).

import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ScimError } from '../../../src/scim/errors.js';
import { compileFilter } from '../../../src/scim/filter/evaluate.js';
import { parseFilter } from '../../../src/scim/filter/parse.js';
import { loadRegistry } from '../../../src/scim/load-schemas.js';
import type { ResourceTypeInfo } from '../../../src/scim/registry.js';
import { GENESIS_HASH, auditHash } from '../../../src/store/audit-hash.js';
import { GOVERNANCE_URN } from '../../../src/store/indexes.js';
import { PG_MIGRATIONS } from '../../../src/store/postgres/schema.js';
import { MIGRATIONS } from '../../../src/store/sqlite/schema.js';
import {
  type AuditEventInput,
  type Json,
  RowMissing,
  type Store,
  VersionConflict,
} from '../../../src/store/types.js';

export interface OpenedStore {
  store: Store;
  /** writes a resource row with plain SQL, as the code of an older version would have */
  seedRaw(type: string, id: string, data: Json, at: string): Promise<void>;
  /** reopen the same database (a second instance, or after an upgrade) */
  reopen(targetVersion?: number): Promise<Store>;
}

export type OpenStore = (targetVersion?: number) => Promise<OpenedStore>;

const registry = loadRegistry();
const USER = registry.resourceType('User')!;
const AGENT = registry.resourceType('Agent')!;
const GROUP = registry.resourceType('Group')!;
const actor = { client: 'contract-test' };
/** the newest schema version (both stores share the numbering, checked below) */
const LATEST = MIGRATIONS[MIGRATIONS.length - 1]!.version;

function audit(action: string, type: string, id: string): AuditEventInput {
  return { action, resourceType: type, resourceId: id, actor, at: new Date().toISOString() };
}

function user(userName: string, extra: Json = {}): Json {
  return { schemas: [USER.core.id], userName, ...extra };
}

function agent(name: string, extra: Json = {}, gov: Json = {}): Json {
  return {
    schemas: [AGENT.core.id, GOVERNANCE_URN],
    agentUserName: name,
    ...extra,
    [GOVERNANCE_URN]: { sponsor: { value: 'u1' }, purpose: 'p', environment: 'test', autonomyLevel: 'advisory', lifecycleState: 'pending', ...gov },
  };
}

async function insert(store: Store, type: string, data: Json, at = new Date().toISOString()): Promise<string> {
  const id = randomUUID();
  await store.commit({ writes: [{ kind: 'insert', type, id, data, at }], audit: [audit('create', type, id)], outbox: [] });
  return id;
}

/** Renders a stored row the way the service does, for the in-memory evaluator. */
function rendered(rt: ResourceTypeInfo, row: { id: string; data: Json; created: string; lastModified: string; version: number }): Json {
  return { ...row.data, id: row.id, meta: { resourceType: rt.type.name, created: row.created, lastModified: row.lastModified, version: `W/"${row.version}"` } };
}

function scopeOf(rt: ResourceTypeInfo) {
  return {
    attributes: rt.attributes,
    extensions: Object.fromEntries(rt.extensions.map((e) => [e.schema.id, e.schema.attributes])),
    coreSchema: rt.core.id,
  };
}

async function allRows(store: Store, rt: ResourceTypeInfo) {
  const out = [];
  let cursor = '';
  for (;;) {
    const page = await store.list(rt, { startIndex: 1, count: 500, cursor, withoutTotal: true });
    out.push(...page.resources);
    if (!page.nextCursor) break;
    cursor = page.nextCursor;
  }
  return out;
}

export function storeContract(name: string, open: OpenStore): void {
  describe(`Store contract: ${name}`, () => {
    let opened: OpenedStore;
    let store: Store;
    beforeAll(async () => {
      opened = await open();
      store = opened.store;
    });
    afterAll(async () => {
      await store?.close();
    });

    it('shares migration versions with the other store', () => {
      expect(PG_MIGRATIONS.map((m) => [m.version, m.name])).toEqual(MIGRATIONS.map((m) => [m.version, m.name]));
    });

    it('creates, reads, updates and deletes with versions', async () => {
      const id = await insert(store, 'User', user('crud.user'));
      const got = await store.get('User', id);
      expect(got).toMatchObject({ type: 'User', id, version: 1, data: user('crud.user') });
      const at = new Date(Date.now() + 1000).toISOString();
      await store.commit({
        writes: [{ kind: 'update', type: 'User', id, data: user('crud.user', { displayName: 'X' }), at, expectedVersion: 1 }],
        audit: [audit('patch', 'User', id)],
        outbox: [],
      });
      const after = await store.get('User', id);
      expect(after).toMatchObject({ version: 2, lastModified: at, created: got!.created, data: { displayName: 'X' } });
      await store.commit({ writes: [{ kind: 'delete', type: 'User', id, expectedVersion: 2 }], audit: [audit('delete', 'User', id)], outbox: [] });
      expect(await store.get('User', id)).toBeUndefined();
    });

    it('rejects a stale version and a missing row, writing nothing', async () => {
      const id = await insert(store, 'User', user('stale.user'));
      const before = (await store.auditEvents(0, 100_000)).length;
      const update = (v: number) =>
        store.commit({
          writes: [{ kind: 'update', type: 'User', id, data: user('stale.user', { title: 'T' }), at: new Date().toISOString(), expectedVersion: v }],
          audit: [audit('patch', 'User', id)],
          outbox: [{ target: 't', resourceType: 'User', resourceId: id, action: 'patch', version: v + 1 }],
        });
      await expect(update(7)).rejects.toBeInstanceOf(VersionConflict);
      await expect(
        store.commit({ writes: [{ kind: 'delete', type: 'User', id: randomUUID(), expectedVersion: 1 }], audit: [], outbox: [] }),
      ).rejects.toBeInstanceOf(RowMissing);
      expect((await store.get('User', id))!.version).toBe(1);
      expect((await store.auditEvents(0, 100_000)).length).toBe(before);
      expect(await store.outbox.list({ target: 't' })).toEqual([]);
    });

    it('a commit is atomic: one failing write undoes the others', async () => {
      const id = randomUUID();
      const before = (await store.auditEvents(0, 100_000)).length;
      await expect(
        store.commit({
          writes: [
            { kind: 'insert', type: 'User', id, data: user('atomic.user'), at: new Date().toISOString() },
            { kind: 'update', type: 'User', id: randomUUID(), data: user('nobody'), at: new Date().toISOString(), expectedVersion: 1 },
          ],
          audit: [audit('create', 'User', id)],
          outbox: [{ target: 'atomic', resourceType: 'User', resourceId: id, action: 'create', version: 1 }],
        }),
      ).rejects.toBeInstanceOf(RowMissing);
      expect(await store.get('User', id)).toBeUndefined();
      expect((await store.auditEvents(0, 100_000)).length).toBe(before);
      expect(await store.outbox.list({ target: 'atomic' })).toEqual([]);
    });

    it('enforces uniqueness in the database, case-insensitively for userName, also under a race', async () => {
      await insert(store, 'User', user('Unique.Person'));
      const err = await insert(store, 'User', user('unique.person')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ScimError);
      expect(err).toMatchObject({ status: 409, scimType: 'uniqueness' });
      expect((err as Error).message).toContain('userName');
      const results = await Promise.allSettled(Array.from({ length: 8 }, () => insert(store, 'Agent', agent('race-agent'))));
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ status: 409, scimType: 'uniqueness' });
    });

    it('narrows audit events in the database by resource, action, actor and time', async () => {
      const id = await insert(store, 'User', user('audit.where'));
      const all = await store.auditEvents(0, 100_000);
      const mine = await store.auditEvents(0, 100_000, { resourceId: id });
      expect(mine.map((e) => e.resourceId)).toEqual([id]);
      expect(await store.auditEvents(0, 100_000, { resourceId: id, action: 'delete' })).toEqual([]);
      expect((await store.auditEvents(0, 100_000, { actorClient: 'contract-test' })).length).toBe(all.length);
      expect(await store.auditEvents(0, 100_000, { actorClient: 'nobody' })).toEqual([]);
      const last = all[all.length - 1]!;
      const after = await store.auditEvents(0, 100_000, { atAfter: { value: last.at, inclusive: true } });
      expect(after.map((e) => e.seq)).toContain(last.seq);
      expect(await store.auditEvents(0, 100_000, { atAfter: { value: '2999-01-01T00:00:00.000Z', inclusive: false } })).toEqual([]);
    });

    it('chains audit events: each prevHash is the previous hash, each hash recomputes', async () => {
      await insert(store, 'User', user('audit.a'));
      await insert(store, 'User', user('audit.b'));
      const events = await store.auditEvents(0, 100_000);
      expect(events.length).toBeGreaterThan(2);
      let prev = GENESIS_HASH;
      for (const e of events) {
        expect(e.prevHash).toBe(prev);
        const { hash, ...rest } = e;
        expect(auditHash(rest)).toBe(hash);
        prev = hash;
      }
    });

    describe('filters, sorting and paging in the database', () => {
      const ids: string[] = [];
      beforeAll(async () => {
        const domains = ['example.com', 'Example.org', 'corp.example.com'];
        for (let i = 0; i < 120; i++) {
          const u = user(`pu${String(i).padStart(3, '0')}${i % 7 === 0 ? 'Ä' : ''}`, {
            ...(i % 3 === 0 ? {} : { displayName: `Person ${i % 10}` }),
            ...(i % 4 === 0 ? { externalId: `EXT-${i}` } : {}),
            active: i % 2 === 0,
            ...(i % 5 === 0 ? {} : { emails: [{ value: `p${i}@${domains[i % 3]}`, type: i % 2 ? 'work' : 'home', ...(i % 6 === 1 ? { primary: true } : {}) }] }),
            ...(i % 9 === 0 ? { title: '' } : i % 2 ? { title: `T${i % 4}` } : {}),
            ...(i % 8 === 0 ? { name: { givenName: `G${i}` } } : {}),
            'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User': i % 2 ? { employeeNumber: String(1000 + i), manager: { value: `m${i % 3}` } } : undefined,
          });
          if (u['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'] === undefined) delete u['urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'];
          ids.push(await insert(store, 'User', u, new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString()));
        }
        for (let i = 0; i < 60; i++) {
          await insert(
            store,
            'Agent',
            agent(
              `fa-${i}`,
              { entitlements: Array.from({ length: i % 4 }, (_, k) => ({ value: `ent.${(i + k) % 5}`, ...(k === 0 ? { primary: true } : {}) })) },
              { lifecycleState: ['pending', 'active', 'suspended'][i % 3], reviewIntervalDays: 30 + i },
            ),
          );
        }
      });

      const userFilters = [
        'userName eq "PU001"',
        'userName sw "pu01"',
        'userName co "ä"',
        'userName ew "9"',
        'userName gt "pu100"',
        'displayName eq "person 3"',
        'displayName ne "Person 3"',
        'externalId eq "EXT-4"',
        'externalId eq "ext-4"',
        'active eq true',
        'active ne true',
        'title pr',
        'not (title pr)',
        'title eq null',
        'emails pr',
        'emails co "example.org"',
        'emails.value ew ".com"',
        'emails[type eq "work" and value co "corp"]',
        'emails[type eq "work"] or emails[primary eq true]',
        'emails[not (type eq "work")]',
        'emails[type eq "work"].value sw "p1"',
        'name.givenName pr',
        'name[givenName sw "G1"]',
        'name[givenName ne "G8"]',
        'meta.lastModified gt "2026-01-01T01:00:00Z"',
        'meta.lastModified le "2026-01-01T00:30:00+00:00"',
        'meta.created ge "2026-01-01T00:59:00.000Z" and active eq false',
        'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber gt "1050"',
        'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "m1"',
        'userName sw "pu0" and (active eq true or not (emails pr))',
        'displayName eq "Person 1" or displayName eq "Person 2" and active eq true',
        'not (displayName eq "Person 1" or title eq "T1")',
      ];
      it.each(userFilters)('User filter %s matches exactly what the evaluator matches', async (text) => {
        const filter = parseFilter(text);
        const pred = compileFilter(filter, scopeOf(USER));
        const expected = (await allRows(store, USER)).filter((r) => pred(rendered(USER, r))).map((r) => r.id).sort();
        const got = await store.list(USER, { filter, startIndex: 1, count: 1000 });
        expect(got.resources.map((r) => r.id).sort()).toEqual(expected);
        expect(got.total).toBe(expected.length);
      });

      const agentFilters = [
        'entitlements[value eq "ent.1"]',
        'entitlements[value eq "ENT.1"]',
        'entitlements.value eq "ent.2"',
        'entitlements[value eq "ent.3" and primary eq true]',
        'entitlements pr',
        'not (entitlements pr)',
        'entitlements.value ne "ent.0"',
        `${GOVERNANCE_URN}:lifecycleState eq "active"`,
        `${GOVERNANCE_URN}:reviewIntervalDays ge 60`,
        `${GOVERNANCE_URN}:sponsor.value eq "u1"`,
        `${GOVERNANCE_URN}:sponsor[value eq "U1"]`,
        'agentUserName sw "FA-1"',
      ];
      it.each(agentFilters)('Agent filter %s matches exactly what the evaluator matches', async (text) => {
        const filter = parseFilter(text);
        const pred = compileFilter(filter, scopeOf(AGENT));
        const expected = (await allRows(store, AGENT)).filter((r) => pred(rendered(AGENT, r))).map((r) => r.id).sort();
        const got = await store.list(AGENT, { filter, startIndex: 1, count: 1000 });
        expect(got.resources.map((r) => r.id).sort()).toEqual(expected);
      });

      it('rejects unknown attributes and type mismatches as invalidFilter', async () => {
        for (const text of ['nope eq "x"', 'active gt true', 'meta.lastModified gt "yesterday"', 'emails[nope eq "x"]', 'userName eq 5']) {
          await expect(store.list(USER, { filter: parseFilter(text), startIndex: 1, count: 10 })).rejects.toMatchObject({
            status: 400,
            scimType: 'invalidFilter',
          });
        }
      });

      it('sorts case-insensitively with missing values last, and pages without duplicates', async () => {
        const sorted = await store.list(USER, { sort: { path: { attr: 'displayName' }, descending: false }, startIndex: 1, count: 1000 });
        const names = sorted.resources.map((r) => r.data.displayName as string | undefined);
        const present = names.filter((n) => n !== undefined);
        expect(present).toEqual([...present].sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase())));
        expect(names.slice(present.length).every((n) => n === undefined)).toBe(true);
        const desc = await store.list(USER, { sort: { path: { attr: 'userName' }, descending: true }, startIndex: 1, count: 5 });
        const allNames = (await allRows(store, USER)).map((r) => String(r.data.userName).toLowerCase()).sort();
        expect(desc.resources.map((r) => String(r.data.userName).toLowerCase())).toEqual(allNames.reverse().slice(0, 5));
        const seen = new Set<string>();
        for (let start = 1; start <= (sorted.total ?? 0); start += 17) {
          const page = await store.list(USER, { sort: { path: { attr: 'emails' }, descending: false }, startIndex: start, count: 17 });
          for (const r of page.resources) {
            expect(seen.has(r.id)).toBe(false);
            seen.add(r.id);
          }
        }
        expect(seen.size).toBe(sorted.total);
      });

      it('cursor paging returns every row once, in order', async () => {
        const all = await store.list(USER, { startIndex: 1, count: 1000 });
        const viaCursor = await allRows(store, USER);
        expect(viaCursor.map((r) => r.id)).toEqual(all.resources.map((r) => r.id));
        await expect(store.list(USER, { startIndex: 1, count: 10, cursor: 'bogus!' })).rejects.toMatchObject({ status: 400, scimType: 'invalidCursor' });
      });

      it.each([
        ['displayName', false],
        ['displayName', true],
        ['emails', false],
        ['meta.lastModified', true],
      ] as const)('cursor paging sorted by %s (descending: %s) equals the sorted list', async (attr, descending) => {
        const [a, sub] = attr.split('.');
        const sort = { path: sub ? { attr: a!, sub } : { attr: a! }, descending };
        const all = await store.list(USER, { sort, startIndex: 1, count: 1000 });
        const seen: string[] = [];
        let cursor = '';
        for (let guard = 0; guard < 100; guard++) {
          const page = await store.list(USER, { sort, startIndex: 1, count: 7, cursor });
          seen.push(...page.resources.map((r) => r.id));
          if (!page.nextCursor) break;
          cursor = page.nextCursor;
        }
        expect(seen).toEqual(all.resources.map((r) => r.id));
      });

      it('counts totals without a filter from the maintained counter, and it matches COUNT(*)', async () => {
        const unfiltered = await store.list(USER, { startIndex: 1, count: 0 });
        const filtered = await store.list(USER, { filter: parseFilter('id pr'), startIndex: 1, count: 0 });
        expect(unfiltered.total).toBe(filtered.total);
        expect(unfiltered.resources).toEqual([]);
      });

      it('an indexed lookup uses its index', async () => {
        const plan = (await store.explain(AGENT, { filter: parseFilter('agentUserName eq "fa-7"'), startIndex: 1, count: 10 })).join('\n');
        expect(plan).toMatch(/ux_agent_agentusername/i);
        const ent = (await store.explain(AGENT, { filter: parseFilter('entitlements[value eq "ent.1"]'), startIndex: 1, count: 10 })).join('\n');
        expect(ent).toMatch(/ix_resource_values_lookup/i);
      });
    });

    it('keeps the member index in step with group changes (groupsOf)', async () => {
      const u1 = await insert(store, 'User', user('member.one'));
      const u2 = await insert(store, 'User', user('member.two'));
      const g = await insert(store, 'Group', { schemas: [GROUP.core.id], displayName: 'Team', members: [{ value: u1 }, { value: u2 }] });
      expect((await store.groupsOf([u1, u2])).get(u2)).toEqual([{ value: g, display: 'Team' }]);
      await store.commit({
        writes: [{ kind: 'update', type: 'Group', id: g, data: { schemas: [GROUP.core.id], displayName: 'Team', members: [{ value: u1 }] }, at: new Date().toISOString(), expectedVersion: 1 }],
        audit: [],
        outbox: [],
      });
      const after = await store.groupsOf([u1, u2]);
      expect(after.get(u1)).toEqual([{ value: g, display: 'Team' }]);
      expect(after.get(u2)).toBeUndefined();
      const hits = await store.list(GROUP, { filter: parseFilter(`members[value eq "${u2}"]`), startIndex: 1, count: 10 });
      expect(hits.total).toBe(0);
      // a User's computed `groups` is filterable through the member index
      const ids = async (f: string) => (await store.list(USER, { filter: parseFilter(f), startIndex: 1, count: 100 })).resources.map((r) => r.id);
      expect(await ids(`groups.value eq "${g}"`)).toEqual([u1]);
      expect(await ids(`groups[display eq "team" and type eq "direct"]`)).toEqual([u1]);
      expect(await ids(`groups pr and userName sw "member."`)).toEqual([u1]);
      expect(await ids(`not (groups pr) and userName sw "member."`)).toEqual([u2]);
      await expect(store.list(USER, { sort: { path: { attr: 'groups' }, descending: false }, startIndex: 1, count: 1 })).rejects.toMatchObject({ scimType: 'invalidValue' });
    });

    describe('outbox', () => {
      it('leases disjoint rows to concurrent workers, and re-leases after expiry', async () => {
        await store.commit({
          writes: [],
          audit: [],
          outbox: Array.from({ length: 40 }, () => ({ target: 'lease', resourceType: 'Agent', resourceId: randomUUID(), action: 'patch', version: 1 })),
        });
        const claims = await Promise.all(['w1', 'w2', 'w3', 'w4'].map((w) => store.outbox.claim('lease', w, 60_000, 15)));
        const all = claims.flat().map((r) => r.seq);
        expect(new Set(all).size).toBe(all.length);
        expect(all.length).toBe(40);
        // a worker dies: its rows come back after the lease expires, to someone else
        const victimIndex = claims.findIndex((c) => c.length > 0);
        const victim = ['w1', 'w2', 'w3', 'w4'][victimIndex]!;
        const w1 = claims[victimIndex]!.map((r) => r.seq);
        expect(await store.outbox.claim('lease', 'w5', 60_000, 100)).toEqual([]);
        const later = await store.outbox.claim('lease', 'w5', 60_000, 100, new Date(Date.now() + 61_000));
        expect(later.map((r) => r.seq).sort()).toEqual(all.slice().sort());
        expect(w1.every((s) => later.some((r) => r.seq === s))).toBe(true);
        // the dead worker can no longer complete
        expect(await store.outbox.complete(w1[0]!, victim)).toBe(false);
        expect(await store.outbox.complete(w1[0]!, 'w5')).toBe(true);
      });

      it('never leases rows of one resource to two workers at once', async () => {
        const ids = Array.from({ length: 5 }, () => randomUUID());
        await store.commit({
          writes: [],
          audit: [],
          outbox: ids.flatMap((id) => [1, 2, 3, 4].map((v) => ({ target: 'per-agent', resourceType: 'Agent', resourceId: id, action: 'patch', version: v }))),
        });
        for (let round = 0; round < 3; round++) {
          const claims = await Promise.all(['a', 'b', 'c'].map((w) => store.outbox.claim('per-agent', w, 60_000, 3)));
          const owner = new Map<string, string>();
          claims.forEach((rows, k) => {
            for (const r of rows) {
              const w = ['a', 'b', 'c'][k]!;
              expect(owner.get(r.resourceId) ?? w, `resource ${r.resourceId} leased to two workers`).toBe(w);
              owner.set(r.resourceId, w);
            }
          });
          for (const [k, rows] of claims.entries()) for (const r of rows) await store.outbox.complete(r.seq, ['a', 'b', 'c'][k]!);
        }
      });

      it('retries with a due time, parks, requeues and reports stats', async () => {
        const id = randomUUID();
        await store.commit({ writes: [], audit: [], outbox: [{ target: 'retry', resourceType: 'Agent', resourceId: id, action: 'create', version: 1 }] });
        const [row] = await store.outbox.claim('retry', 'w', 1000, 10);
        expect(row).toMatchObject({ attempts: 0, status: 'pending', leaseOwner: 'w' });
        const due = new Date(Date.now() + 30_000);
        expect(await store.outbox.retry(row!.seq, 'w', '429 Too Many Requests', due)).toBe(true);
        expect(await store.outbox.claim('retry', 'w', 1000, 10)).toEqual([]);
        const [again] = await store.outbox.claim('retry', 'w', 1000, 10, new Date(due.getTime() + 1));
        expect(again).toMatchObject({ attempts: 1, lastError: '429 Too Many Requests' });
        expect(await store.outbox.park(again!.seq, 'w', 'gave up')).toBe(true);
        expect(await store.outbox.stats('retry')).toMatchObject({ pending: 0, parked: 1 });
        expect((await store.outbox.list({ target: 'retry', status: 'parked' }))[0]).toMatchObject({ lastError: 'gave up', attempts: 2 });
        expect(await store.outbox.requeue(again!.seq)).toBe(true);
        expect(await store.outbox.stats('retry')).toMatchObject({ pending: 1, parked: 0 });
      });
    });

    it('stores sync links and cursors', async () => {
      await store.sync.putLink({ target: 'entra', resourceId: 'a1', remoteId: 'r1', remoteState: { accountEnabled: true }, syncedVersion: 3 });
      await store.sync.putLink({ target: 'entra', resourceId: 'a1', remoteId: 'r1', remoteState: { accountEnabled: false }, syncedVersion: 4 });
      expect(await store.sync.getLink('entra', 'a1')).toEqual({ target: 'entra', resourceId: 'a1', remoteId: 'r1', remoteState: { accountEnabled: false }, syncedVersion: 4 });
      expect(await store.sync.links('entra')).toHaveLength(1);
      await store.sync.putCursor('entra.delta', 'https://graph/delta?token=1');
      expect(await store.sync.getCursor('entra.delta')).toBe('https://graph/delta?token=1');
      await store.sync.putCursor('entra.delta', undefined);
      expect(await store.sync.getCursor('entra.delta')).toBeUndefined();
    });

    it('stores tokens by hash and revokes them', async () => {
      const ev = (action: string, resourceId: string) => ({ action, resourceType: 'Token', resourceId, actor: { client: 'test' }, at: new Date().toISOString() });
      await store.tokens.create({ id: 't1', name: 'ci', hash: 'h1', scopes: ['scim.read'], created: new Date().toISOString() }, ev('create', 't1'));
      expect(await store.tokens.findByHash('h1')).toMatchObject({ id: 't1', name: 'ci', scopes: ['scim.read'], revoked: false });
      await expect(store.tokens.create({ id: 't2', name: 'ci', hash: 'h2', scopes: ['admin'], created: '' }, ev('create', 't2'))).rejects.toMatchObject({ status: 409 });
      expect(await store.tokens.revoke('ci', (t) => ev('revoke', t.id))).toBe(true);
      expect((await store.tokens.findByHash('h1'))!.revoked).toBe(true);
    });

    // seedRaw writes documents the way old code did, without resource_values: migration 7 (one case
    // fold) rebuilds those from the documents, so the value checks hold for databases older than 7.
    const REBUILDS_VALUES = 7;
    it.each([...new Set([1, REBUILDS_VALUES - 1, LATEST - 1])])('upgrades a database created at schema version %i, keeping its data', async (from) => {
      const old = await open(from);
      expect(await old.store.schemaVersion()).toBe(from);
      const id = randomUUID();
      await old.seedRaw('User', id, user(`from.v${from}`), new Date().toISOString());
      const agentId = randomUUID();
      await old.seedRaw(
        'Agent',
        agentId,
        agent(`old-agent-v${from}`, {}, { coSponsors: [{ value: 'CoSp-1' }], credentials: [{ credentialId: 'cred-old', keyThumbprint: 'TP-old' }] }),
        new Date().toISOString(),
      );
      await old.store.close();
      const upgraded = await old.reopen();
      try {
        expect(await upgraded.schemaVersion()).toBe(LATEST);
        expect((await upgraded.get('User', id))!.data.userName).toBe(`from.v${from}`);
        expect((await upgraded.list(USER, { startIndex: 1, count: 0 })).total).toBe(1);
        const id2 = await insert(upgraded, 'User', user(`after.v${from}`));
        expect((await upgraded.list(USER, { filter: parseFilter(`userName eq "after.v${from}"`), startIndex: 1, count: 10 })).resources[0]!.id).toBe(id2);
        expect((await upgraded.list(USER, { startIndex: 1, count: 0 })).total).toBe(2);
        if (from < REBUILDS_VALUES) {
          // values indexed by later migrations were read out of the old documents
          const found = await upgraded.list(AGENT, { filter: parseFilter(`${GOVERNANCE_URN}:coSponsors[value eq "CoSp-1"]`), startIndex: 1, count: 5 });
          expect(found.resources.map((r) => r.id)).toEqual([agentId]);
          const dup = insert(upgraded, 'Agent', agent(`new-agent-v${from}`, {}, { credentials: [{ credentialId: 'cred-old' }] }));
          await expect(dup).rejects.toMatchObject({ status: 409, scimType: 'uniqueness' });
        }
        await upgraded.sync.putCursor('after.upgrade', 'ok');
        expect(await upgraded.sync.getCursor('after.upgrade')).toBe('ok');
        expect(await upgraded.keys.list()).toEqual([]);
        const events = await upgraded.auditEvents(0, 10);
        expect(events.map((e) => e.resourceId)).toContain(id2);
      } finally {
        await upgraded.close();
      }
    });

    it('lets a credential id or key thumbprint belong to one agent only, also under a race (R12)', async () => {
      const results = await Promise.allSettled(
        Array.from({ length: 6 }, (_, k) => insert(store, 'Agent', agent(`cred-race-${k}`, {}, { credentials: [{ credentialId: 'cred-shared' }] }))),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      for (const r of results) if (r.status === 'rejected') expect(r.reason).toMatchObject({ status: 409, scimType: 'uniqueness' });
      const a = await insert(store, 'Agent', agent('tp-1', {}, { credentials: [{ credentialId: 'c-tp-1', keyThumbprint: 'TP-x' }] }));
      await expect(insert(store, 'Agent', agent('tp-2', {}, { credentials: [{ credentialId: 'c-tp-2', keyThumbprint: 'TP-x' }] }))).rejects.toMatchObject({ status: 409 });
      // the same agent keeping its own credential across an update is no conflict
      await store.commit({
        writes: [{ kind: 'update', type: 'Agent', id: a, data: agent('tp-1', { displayName: 'again' }, { credentials: [{ credentialId: 'c-tp-1', keyThumbprint: 'TP-x' }] }), at: new Date().toISOString(), expectedVersion: 1 }],
        audit: [],
        outbox: [],
      });
    });

    it('keeps exactly one active signing key, and rotates atomically', async () => {
      const key = (kid: string) => ({ kid, alg: 'ES256', publicJwk: { kty: 'EC', kid }, privateKeyEnc: 'enc', createdAt: new Date().toISOString() });
      const ev = (action: string, resourceId: string) => ({ action, resourceType: 'SigningKey', resourceId, actor: { client: 'test' }, at: new Date().toISOString() });
      const [a, b] = await Promise.all([store.keys.insertActive(key('k1'), ev('create', 'k1')), store.keys.insertActive(key('k2'), ev('create', 'k2'))]);
      expect([a, b].filter(Boolean)).toHaveLength(1);
      const first = (await store.keys.list()).find((k) => k.status === 'active')!;
      const rotated = await store.keys.rotate(key('k3'), '2026-01-01T00:00:00.000Z', '2026-01-02T00:00:00.000Z', (old) => ev('rotate', `k3 after ${old?.kid}`));
      expect(rotated).toEqual({ retired: first.kid });
      const keys = await store.keys.list();
      expect(keys.filter((k) => k.status === 'active').map((k) => k.kid)).toEqual(['k3']);
      expect(keys.find((k) => k.kid === first.kid)).toMatchObject({ status: 'retired', verifyUntil: '2026-01-02T00:00:00.000Z' });
    });

    it('two instances opening one database at once migrate it exactly once', async () => {
      const fresh = await open(0);
      await fresh.store.close();
      const [a, b] = await Promise.all([fresh.reopen(), fresh.reopen()]);
      try {
        expect(await a.schemaVersion()).toBe(LATEST);
        expect(await b.schemaVersion()).toBe(LATEST);
      } finally {
        await a.close();
        await b.close();
      }
    });
  });
}
