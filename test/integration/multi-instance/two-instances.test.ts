// Two agentroster processes on one PostgreSQL database, hammering the same resources: no accepted
// change is lost, uniqueness holds across instances, and the audit log has exactly one event per
// accepted change (issue 3).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createToken } from '../../../src/http/tokens.js';
import { loadRegistry } from '../../../src/scim/load-schemas.js';
import { PostgresStore } from '../../../src/store/postgres/postgres-store.js';
import { dropSchema, freshSchema, PG_URL, postgresAvailable } from '../../helpers/postgres.js';
import { type ServerProcess, startServerProcess } from '../../helpers/server-process.js';

const GOV = 'urn:agentroster:scim:schemas:extension:agent-governance:1.0:Agent';
const AGENT = 'urn:ietf:params:scim:schemas:core:2.0:Agent';
const ENT = 'urn:ietf:params:scim:schemas:core:2.0:Entitlement';
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

const available = await postgresAvailable();

describe.skipIf(!available)('two instances on one PostgreSQL database', () => {
  const schema = freshSchema();
  let a: ServerProcess;
  let b: ServerProcess;
  let token: string;
  let store: PostgresStore;
  let sponsorId: string;

  const call = async (base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json', ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : undefined, etag: res.headers.get('etag') };
  };

  beforeAll(async () => {
    store = await PostgresStore.open(loadRegistry(), { url: PG_URL, schema });
    token = (await createToken(store, 'hammer', ['admin'])).token;
    const env = { AGENTROSTER_DATABASE_URL: PG_URL, AGENTROSTER_DATABASE_SCHEMA: schema };
    [a, b] = await Promise.all([startServerProcess(env), startServerProcess(env)]);
    // R01: agents are sponsored by a real, active human User
    const sponsor = await call(a.url, 'POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'sponsor-1' });
    expect(sponsor.status).toBe(201);
    sponsorId = sponsor.body!.id as string;
  }, 60_000);

  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await store?.close();
    await dropSchema(schema);
  });

  it('applies every accepted concurrent PATCH on top of the others, with one audit event each', async () => {
    const N = 120;
    for (let i = 0; i < N; i += 20) {
      await Promise.all(
        Array.from({ length: 20 }, (_, k) => call(a.url, 'POST', '/Entitlements', { schemas: [ENT], value: `ent-${i + k}` })),
      );
    }
    const created = await call(a.url, 'POST', '/Agents', {
      schemas: [AGENT, GOV],
      agentUserName: 'hammered',
      [GOV]: { sponsor: { value: sponsorId }, purpose: 'load', environment: 'test', autonomyLevel: 'advisory' },
    });
    expect(created.status).toBe(201);
    const id = created.body!.id as string;

    const results: number[] = [];
    for (let i = 0; i < N; i += 24) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(24, N - i) }, (_, k) =>
          call(k % 2 ? a.url : b.url, 'PATCH', `/Agents/${id}`, {
            schemas: [PATCH],
            Operations: [{ op: 'add', path: 'entitlements', value: [{ value: `ent-${i + k}` }] }],
          }),
        ),
      );
      results.push(...batch.map((r) => r.status));
    }
    const accepted = results.filter((s) => s === 200).length;
    expect(results.every((s) => s === 200 || s === 409)).toBe(true);
    expect(accepted).toBeGreaterThan(N * 0.9);

    const final = await call(b.url, 'GET', `/Agents/${id}`);
    const values = new Set((final.body!.entitlements as { value: string }[]).map((e) => e.value));
    expect(values.size).toBe(accepted);
    expect(final.etag).toBe(`W/"${accepted + 1}"`);

    const events = (await store.auditEvents(0, 100_000)).filter((e) => e.resourceId === id);
    expect(events.filter((e) => e.action === 'patch')).toHaveLength(accepted);
    expect(events.filter((e) => e.action === 'create')).toHaveLength(1);
  });

  it('with If-Match, exactly one of two racing writers wins and the other gets 412', async () => {
    const created = await call(a.url, 'POST', '/Agents', {
      schemas: [AGENT, GOV],
      agentUserName: 'if-match-race',
      [GOV]: { sponsor: { value: sponsorId }, purpose: 'race', environment: 'test', autonomyLevel: 'advisory' },
    });
    const id = created.body!.id as string;
    const etag = created.etag!;
    const racers = await Promise.all(
      Array.from({ length: 10 }, (_, k) =>
        call(k % 2 ? a.url : b.url, 'PATCH', `/Agents/${id}`, { schemas: [PATCH], Operations: [{ op: 'replace', path: 'description', value: `writer ${k}` }] }, { 'if-match': etag }),
      ),
    );
    expect(racers.filter((r) => r.status === 200)).toHaveLength(1);
    expect(racers.filter((r) => r.status === 412)).toHaveLength(9);
    const winner = racers.find((r) => r.status === 200)!;
    const now = await call(a.url, 'GET', `/Agents/${id}`);
    expect(now.body!.description).toBe(winner.body!.description);
    const patches = (await store.auditEvents(0, 100_000)).filter((e) => e.resourceId === id && e.action === 'patch');
    expect(patches).toHaveLength(1);
  });

  it('enforces uniqueness across instances', async () => {
    const tries = await Promise.all(
      Array.from({ length: 12 }, (_, k) =>
        call(k % 2 ? a.url : b.url, 'POST', '/Agents', {
          schemas: [AGENT, GOV],
          agentUserName: 'only-one',
          [GOV]: { sponsor: { value: sponsorId }, purpose: 'dup', environment: 'test', autonomyLevel: 'advisory' },
        }),
      ),
    );
    expect(tries.filter((t) => t.status === 201)).toHaveLength(1);
    for (const t of tries.filter((t) => t.status !== 201)) expect(t.body).toMatchObject({ status: '409', scimType: 'uniqueness' });
  });
});
