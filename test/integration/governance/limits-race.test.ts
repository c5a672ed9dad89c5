// Issue 11: totalAssignmentsPermitted (an entitlement held by at most N agents) and seat limits (an
// owner team with at most N non-retired agents) hold under concurrent requests. The count and the
// write happen in one transaction (store guards: SQLite's single writer, a PostgreSQL advisory lock),
// so concurrent grants or hires cannot all pass a check made before any of them committed.
// Both stores, over real HTTP (the test app listens on a port); the PostgreSQL half skips with a
// message when no server is reachable.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { dropSchema, freshSchema, PG_URL, postgresAvailable } from '../../helpers/postgres.js';
import { allAudit } from '../../helpers/test-app.js';
import { buildGov, type Gov, GOV_URN, type Json } from './helpers.js';

const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const TARGET = 'entra';

interface Backend {
  name: string;
  skip: boolean;
  /** the environment of a fresh database, and how to remove it */
  open(): { env: Record<string, string>; drop(): Promise<void> };
}

const pgAvailable = await postgresAvailable();

const backends: Backend[] = [
  {
    name: 'SQLite',
    skip: false,
    open() {
      // a file, not :memory:, so that list queries may run on read workers as in production
      const dir = mkdtempSync(join(tmpdir(), 'ar-limits-race-'));
      return { env: { AGENTROSTER_DATABASE_URL: `sqlite:${join(dir, 'db.sqlite')}` }, drop: async () => rmSync(dir, { recursive: true, force: true }) };
    },
  },
  {
    name: 'PostgreSQL',
    skip: !pgAvailable,
    open() {
      const schema = freshSchema();
      return { env: { AGENTROSTER_DATABASE_URL: PG_URL, AGENTROSTER_DATABASE_SCHEMA: schema }, drop: () => dropSchema(schema) };
    },
  },
];

async function withGov(b: Backend, env: Record<string, string>, fn: (g: Gov) => Promise<void>): Promise<void> {
  const db = b.open();
  const g = await buildGov({ env: { ...db.env, ...env }, outboxTargets: [TARGET] });
  try {
    await fn(g);
  } finally {
    await g.close();
    await db.drop();
  }
}

const grant = (value: string) => [{ op: 'add', path: 'entitlements', value: [{ value }] }];

/** Agents holding entitlement `value`, as /Agents lists them. */
async function holders(g: Gov, value: string): Promise<string[]> {
  const res = await g.t.http.get(`/Agents?filter=${encodeURIComponent(`entitlements[value eq "${value}"]`)}&count=100`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return ((res.body.Resources ?? []) as Json[]).map((r) => r.id as string).sort();
}

/** What the agents in `ids` have in the audit log and the outbox since audit seq `afterSeq` / besides their creation. */
async function traces(g: Gov, ids: string[], afterSeq: number): Promise<{ audit: number; outbox: number }> {
  const set = new Set(ids);
  const audit = (await allAudit(g.t)).filter((e) => e.seq > afterSeq && set.has(e.resourceId)).length;
  const outbox = (await g.t.store.outbox.list({ target: TARGET, limit: 10_000 })).filter((o) => set.has(o.resourceId) && o.action !== 'create').length;
  return { audit, outbox };
}

async function agents(g: Gov, n: number, prefix: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) ids.push((await g.agent(`${prefix}-${i}`)).id as string);
  return ids;
}

for (const b of backends) {
  describe.skipIf(b.skip)(`limits under concurrent requests (${b.name})`, () => {
    it('totalAssignmentsPermitted 1: 20 concurrent grants to 20 agents leave exactly 1 holder; the 19 others get the 409 of the sequential check and write nothing', async () => {
      await withGov(b, {}, async (g) => {
        await g.entitlement('license.seat', undefined, { limitedAssignmentsPermitted: true, totalAssignmentsPermitted: 1 });
        const ids = await agents(g, 20, 'racer');
        const seq = (await allAudit(g.t)).at(-1)!.seq;

        const results = await Promise.all(ids.map((id) => g.patch(`/Agents/${id}`, grant('license.seat'))));

        const statuses = results.map((r) => r.status).sort();
        expect(statuses, JSON.stringify(results.filter((r) => r.status !== 200 && r.status !== 409).map((r) => r.body))).toEqual([
          200,
          ...Array<number>(19).fill(409),
        ]);
        const winner = ids[results.findIndex((r) => r.status === 200)]!;
        expect(await holders(g, 'license.seat')).toEqual([winner]);

        // the same refusal as a grant made after the race, which the early check refuses
        const late = (await agents(g, 1, 'late'))[0]!;
        const sequential = await g.patch(`/Agents/${late}`, grant('license.seat'));
        expect(sequential.status).toBe(409);
        expect(sequential.body.detail).toBe('entitlements: "license.seat" may be held by at most 1 agents (totalAssignmentsPermitted)');
        const refusal = (r: { status: number; body: Json }) => ({ status: r.status, scimType: r.body.scimType, detail: r.body.detail, schemas: r.body.schemas });
        for (const r of results.filter((x) => x.status === 409)) expect(refusal(r)).toEqual(refusal(sequential));

        const refused = ids.filter((id) => id !== winner);
        expect(await traces(g, refused, seq)).toEqual({ audit: 0, outbox: 0 });
        expect((await traces(g, [winner], seq)).audit).toBe(1);
        for (const id of refused) expect((await g.get(id)).entitlements).toBeUndefined();
      });
    });

    it('totalAssignmentsPermitted 3: 10 concurrent grants leave exactly 3 holders', async () => {
      await withGov(b, {}, async (g) => {
        await g.entitlement('license.trio', undefined, { limitedAssignmentsPermitted: true, totalAssignmentsPermitted: 3 });
        const ids = await agents(g, 10, 'trio');
        const seq = (await allAudit(g.t)).at(-1)!.seq;

        const results = await Promise.all(ids.map((id) => g.patch(`/Agents/${id}`, grant('license.trio'))));

        expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, ...Array<number>(7).fill(409)]);
        const winners = ids.filter((_, i) => results[i]!.status === 200).sort();
        expect(await holders(g, 'license.trio')).toEqual(winners);
        expect(await traces(g, ids.filter((id) => !winners.includes(id)), seq)).toEqual({ audit: 0, outbox: 0 });
      });
    });

    it('seat limit 2: 30 concurrent POSTs of agents in one owner team leave exactly 2 non-retired agents in the team', async () => {
      await withGov(b, { AGENTROSTER_SEAT_LIMITS: 'race team=2' }, async (g) => {
        const team = await g.t.http.post('/Groups', { schemas: [GROUP], displayName: 'Race Team' });
        expect(team.status).toBe(201);
        const teamId = team.body.id as string;
        const sponsor = await g.user('race-sponsor');
        const seq = (await allAudit(g.t)).at(-1)!.seq;

        const results = await Promise.all(
          Array.from({ length: 30 }, (_, i) => g.t.http.post('/Agents', g.agentBody(`seat-racer-${i}`, sponsor, {}, { ownerTeam: { value: teamId } }))),
        );

        expect(results.map((r) => r.status).sort(), JSON.stringify(results.filter((r) => r.status !== 201 && r.status !== 409).map((r) => r.body))).toEqual([
          201,
          201,
          ...Array<number>(28).fill(409),
        ]);
        for (const r of results.filter((x) => x.status === 409)) {
          expect(r.body.detail).toBe('owner team "Race Team" has used all of its 2 agent seats; retire an agent or raise the limit');
          expect(r.body.scimType).toBeUndefined();
        }
        const created = results.filter((r) => r.status === 201).map((r) => r.body.id as string).sort();
        const filter = `${GOV_URN}:ownerTeam.value eq "${teamId}" and not (${GOV_URN}:lifecycleState eq "retired")`;
        const inTeam = await g.t.http.get(`/Agents?filter=${encodeURIComponent(filter)}&count=100`);
        expect(inTeam.status, JSON.stringify(inTeam.body)).toBe(200);
        expect(inTeam.body.totalResults).toBe(2);
        expect(((inTeam.body.Resources as Json[]).map((r) => r.id as string)).sort()).toEqual(created);
        // the refused hires left no agent, audit event or outbox row behind
        const all = await g.t.http.get('/Agents?count=100');
        expect(all.body.totalResults).toBe(2);
        const newEvents = (await allAudit(g.t)).filter((e) => e.seq > seq && e.resourceType === 'Agent');
        expect(newEvents.map((e) => e.resourceId).sort()).toEqual(created);
        expect((await g.t.store.outbox.list({ target: TARGET, limit: 10_000 })).map((o) => o.resourceId).sort()).toEqual(created);
      });
    });
  });
}
