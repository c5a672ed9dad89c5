// Issue 10, finding 2: a slow list query must not stall other requests, and is stopped at the
// statement time limit (AGENTROSTER_QUERY_TIMEOUT_MS) with 400 invalidFilter "filter too expensive:
// the query took longer than N ms". SQLite runs such queries on read workers (read-pool.ts),
// PostgreSQL under statement_timeout. No timing is asserted beyond orders and generous bounds: the
// slow filter below scans 3,000 users × 500 `co` comparisons, hundreds of times the 50 ms limit.

import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Write } from '../../../src/store/types.js';
import { dropSchema, freshSchema, PG_URL, postgresAvailable } from '../../helpers/postgres.js';
import { buildTestApp, scimError, type TestApp, USER_URN } from '../../helpers/test-app.js';

const q = (s: string) => encodeURIComponent(s);
const USERS = 3000;
/** Passes a raised budget, then makes the database match every row against `n` patterns. */
const slowFilter = (n: number) => Array.from({ length: n }, (_, i) => `title co "zz${i}"`).join(' or ');
const SLOW = slowFilter(500);
const BUDGET = { AGENTROSTER_MAX_FILTER_COST: '100000', AGENTROSTER_MAX_FILTER_COMPARISONS: '500' };

async function seedUsers(t: TestApp): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < USERS; i += 500) {
    const writes: Write[] = [];
    for (let k = i; k < Math.min(USERS, i + 500); k++) {
      const id = randomUUID();
      ids.push(id);
      const data = { schemas: [USER_URN], userName: `user${k}@example.com`, displayName: `User Number ${k}`, title: `Title ${k}` };
      writes.push({ kind: 'insert', type: 'User', id, data, at: t.clock.iso() });
    }
    await t.store.commit({ writes, audit: [], outbox: [] });
  }
  await t.store.optimize();
  return ids;
}

interface StoreCase {
  name: string;
  /** a filter that runs for a good second on this store (PostgreSQL folds far slower per row) */
  slow: string;
  /** the environment of a fresh, empty database; undefined when this store is unavailable */
  env: () => Promise<Record<string, string> | undefined>;
  cleanup: () => Promise<void>;
}

const dirs: string[] = [];
const schemas: string[] = [];
const stores: StoreCase[] = [
  {
    name: 'sqlite (file, read workers)',
    slow: slowFilter(500),
    env: async () => {
      const dir = mkdtempSync(join(tmpdir(), 'ar-slow-'));
      dirs.push(dir);
      return { AGENTROSTER_DATABASE_URL: `sqlite:${join(dir, 'slow.db')}`, AGENTROSTER_QUERY_WORKERS: '1' };
    },
    cleanup: async () => {
      for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
    },
  },
  {
    name: 'postgres',
    slow: slowFilter(20),
    env: async () => {
      if (!(await postgresAvailable())) return undefined;
      const schema = freshSchema();
      schemas.push(schema);
      return { AGENTROSTER_DATABASE_URL: PG_URL, AGENTROSTER_DATABASE_SCHEMA: schema };
    },
    cleanup: async () => {
      for (const s of schemas.splice(0)) await dropSchema(s);
    },
  },
];

describe.each(stores)('slow list queries: $name', (sc) => {
  let t: TestApp | undefined;
  let limited: TestApp | undefined;
  let ids: string[] = [];
  let limitedIds: string[] = [];
  beforeAll(async () => {
    const env = await sc.env();
    if (!env) return;
    // one server without a practical time limit (the slow query completes), one with 50 ms
    t = await buildTestApp({ env: { ...env, ...BUDGET, AGENTROSTER_QUERY_TIMEOUT_MS: '120000' } });
    ids = await seedUsers(t);
    // one scanning query at a time, so that a burst of them has to queue
    limited = await buildTestApp({ env: { ...(await sc.env())!, ...BUDGET, AGENTROSTER_QUERY_TIMEOUT_MS: '50', AGENTROSTER_QUERY_WORKERS: '1' } });
    limitedIds = await seedUsers(limited);
  }, 120_000);
  afterAll(async () => {
    await t?.close();
    await limited?.close();
    await sc.cleanup();
  });

  it('stops a query past the time limit with 400 invalidFilter and keeps serving', async (ctx) => {
    if (!limited) return ctx.skip();
    const res = await limited.http.get(`/Users?filter=${q(SLOW)}`);
    expect(res.status).toBe(400);
    expect(res.body).toEqual(scimError(400, 'invalidFilter', /^filter too expensive: the query took longer than 50 ms and was stopped; .*indexed attribute/));
    // the same server answers the next requests, cheap and scanning alike
    expect((await limited.http.get(`/Users/${limitedIds[7]}`)).status).toBe(200);
    const small = await limited.http.get(`/Users?filter=${q('userName eq "user7@example.com"')}`);
    expect(small.body.totalResults).toBe(1);
    const again = await limited.http.get(`/Users?filter=${q(SLOW)}`);
    expect(again.status).toBe(400);
  });

  it('answers a burst of slow queries with 400 or 503 Retry-After (server busy), then serves again', async (ctx) => {
    if (!limited) return ctx.skip();
    // 30 at once against one worker: each runs into the 50 ms limit, the queue (16) overflows or
    // its waits run out; none may hang or fail otherwise
    const all = await Promise.all(Array.from({ length: 30 }, () => limited!.http.get(`/Users?filter=${q(SLOW)}`)));
    const busy = all.filter((r) => r.status === 503);
    expect(busy.length).toBeGreaterThan(0);
    for (const r of busy) {
      expect(r.headers['retry-after']).toBe('1');
      expect(r.body).toEqual(scimError(503, undefined, /^the server is busy with other expensive queries; retry shortly$/));
    }
    for (const r of all.filter((x) => x.status !== 503)) {
      expect(r.body).toEqual(scimError(400, 'invalidFilter', /^filter too expensive: the query took longer than 50 ms/));
    }
    const small = await limited.http.get(`/Users?filter=${q('title eq "Title 7"')}`);
    expect(small.status).toBe(200);
    expect(small.body.totalResults).toBe(1);
  });

  it('answers a GET by id while a slow list query runs', async (ctx) => {
    if (!t) return ctx.skip();
    const order: string[] = [];
    const slow = t.http.get(`/Users?filter=${q(sc.slow)}&count=1`).then((r) => {
      order.push('slow');
      return r;
    });
    // let the slow request reach the database first
    await new Promise((r) => setTimeout(r, 20));
    const byId = await t.http.get(`/Users/${ids[42]}`);
    order.push('byId');
    expect(byId.status).toBe(200);
    expect(byId.body.userName).toBe('user42@example.com');
    const res = await slow;
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.totalResults).toBe(0);
    expect(order).toEqual(['byId', 'slow']);
  });

  it('shows a write to the next scanning list query (read-your-writes), case-insensitively', async (ctx) => {
    if (!t) return ctx.skip();
    for (let i = 0; i < 10; i++) {
      const created = await t.http.post('/Users', { schemas: [USER_URN], userName: `fresh${i}@example.com`, title: `Fresh Önboarding ${i}` });
      expect(created.status).toBe(201);
      // co over an unindexed attribute scans: it runs on a read worker (SQLite) / under the limit (PostgreSQL)
      const list = await t.http.get(`/Users?filter=${q(`title co "FRESH ÖNBOARDING ${i}"`)}`);
      expect(list.status).toBe(200);
      expect(list.body.Resources.map((r: { id: string }) => r.id)).toEqual([created.body.id]);
      const patched = await t.http.patch(`/Users/${created.body.id}`, {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
        Operations: [{ op: 'replace', path: 'title', value: `Renamed ${i}` }],
      });
      expect(patched.status).toBe(200);
      const after = await t.http.get(`/Users?filter=${q(`title co "fresh önboarding ${i}"`)}`);
      expect(after.body.totalResults).toBe(0);
    }
  });

  it('pages and counts a scanning query consistently', async (ctx) => {
    if (!t) return ctx.skip();
    const res = await t.http.get(`/Users?filter=${q('title sw "title 1"')}&sortBy=userName&count=5`);
    expect(res.status).toBe(200);
    // Title 1, Title 10–19, 100–199, 1000–1999
    expect(res.body.totalResults).toBe(1 + 10 + 100 + 1000);
    // code point order: "user1000@…" < "user1@…" ('0' < '@')
    expect(res.body.Resources.map((r: { userName: string }) => r.userName)).toEqual([
      'user1000@example.com',
      'user1001@example.com',
      'user1002@example.com',
      'user1003@example.com',
      'user1004@example.com',
    ]);
  });
});
