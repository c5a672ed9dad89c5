// PATCH over HTTP (RFC 7644 §3.5.2): the table in test/fixtures/http/patch.json. Each case gets a
// fresh resource; success cases compare the whole response and a fresh GET with the expected
// resource; failure cases check the SCIM error and that neither the resource nor the audit log moved.

import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allAudit,
  buildTestApp,
  captureState,
  expectUnchanged,
  GOV_URN,
  PATCH_URN,
  patchBody,
  SCIM_CT,
  scimError,
  type TestApp,
} from '../../helpers/test-app.js';
import { createAgent, createUser, type Json } from '../../helpers/resources.js';

interface Case {
  name: string;
  base: string;
  ops: unknown[];
  expect?: { merge?: Json; remove?: string[]; noop?: boolean };
  error?: { status: number; scimType: string };
}
const table = JSON.parse(readFileSync(new URL('../../fixtures/http/patch.json', import.meta.url), 'utf8')) as {
  bases: Record<string, { endpoint: string; body: Json }>;
  cases: Case[];
};

describe('PATCH', () => {
  let t: TestApp;
  let vars: Record<string, string>;
  beforeAll(async () => {
    t = await buildTestApp({ clockStart: '2026-02-01T00:00:00.000Z' });
    const u1 = (await createUser(t, 'member-one')).id as string;
    const u2 = (await createUser(t, 'member-two')).id as string;
    const a1 = (await createAgent(t, 'member-agent')).id as string;
    vars = { u1, u2, a1, base: `${t.origin}/scim/v2` };
    // agents may only hold entitlements of the catalogue
    for (const value of ['x', 'y', 'z']) {
      const e = await t.http.post('/Entitlements', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Entitlement'], value });
      expect(e.status, JSON.stringify(e.body)).toBe(201);
    }
  });

  /**
   * What the governance rules set on an agent (grant metadata, lifecycle bookkeeping, sponsor
   * facts, $refs): not the PATCH engine's business, so compared without it.
   */
  const GRANT_META = ['grantId', 'grantedAt', 'grantedBy', 'grantedByDisplay', 'grantedBySystem', 'source', '$ref'];
  const GOV_META = ['sponsorStatus', 'stateChangedAt', 'stateReason', 'version', 'nextReviewDue', 'complianceIssues', 'credentialStatus'];
  const engineView = (r: Json): Json => {
    const gov = r[GOV_URN] as Json | undefined;
    if (!gov) return r;
    const out: Json = { ...r, [GOV_URN]: { ...gov } };
    const g = out[GOV_URN] as Json;
    for (const k of GOV_META) delete g[k];
    if (g.sponsor) g.sponsor = { value: (g.sponsor as Json).value };
    if (Array.isArray(out.entitlements)) {
      out.entitlements = (out.entitlements as Json[]).map((e) => Object.fromEntries(Object.entries(e).filter(([k]) => !GRANT_META.includes(k))));
    }
    return out;
  };
  afterAll(() => t.close());

  const fill = <T>(v: T, extra: Record<string, string>): T => {
    let text = JSON.stringify(v);
    for (const [k, val] of Object.entries({ ...vars, ...extra })) text = text.replaceAll(`{{${k}}}`, val);
    return JSON.parse(text) as T;
  };

  it.each(table.cases.map((c, i) => [c.name, c, i] as const))('%s', async (_name, c, i) => {
    const base = table.bases[c.base]!;
    const name = `patch-case-${i}`;
    const created = await t.http.post(base.endpoint, fill(base.body, { name }));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    const id = created.body.id as string;
    const path = `${base.endpoint}/${id}`;
    const before = await captureState(t, path);
    t.clock.advance(1000);

    const res = await t.http.patch(path, patchBody(...fill(c.ops, { name, id })));

    if (c.error) {
      expect(res.status, JSON.stringify(res.body)).toBe(c.error.status);
      expect(res.headers['content-type']).toMatch(SCIM_CT);
      expect(res.body).toEqual(scimError(c.error.status, c.error.scimType));
      await expectUnchanged(t, before);
      return;
    }
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.headers['content-type']).toMatch(SCIM_CT);
    const exp = fill(c.expect ?? {}, { name, id });
    const expected: Json = { ...(created.body as Json), ...exp.merge };
    for (const k of exp.remove ?? []) delete expected[k];
    if (exp.noop) {
      expect(exp.merge ?? exp.remove).toBeUndefined();
      expect(res.headers.etag).toBe('W/"1"');
      expect(res.body).toEqual(created.body);
      await expectUnchanged(t, before);
      return;
    }
    expected.meta = { ...(created.body.meta as Json), lastModified: t.clock.iso(), version: 'W/"2"' };
    expect(res.headers.etag).toBe('W/"2"');
    expect(engineView(res.body as Json)).toEqual(engineView(expected));
    const again = await t.http.get(path);
    expect(again.body).toEqual(res.body);
    expect((await allAudit(t)).length).toBe(before.auditCount + 1);
  });

  it('the PatchOp schemas entry is checked; Operations must be a non-empty array', async () => {
    const u = await createUser(t, 'envelope-user');
    const path = `/Users/${u.id as string}`;
    const before = await captureState(t, path);
    for (const body of [
      { schemas: ['urn:wrong'], Operations: [{ op: 'add', path: 'title', value: 'x' }] },
      { schemas: [PATCH_URN] },
      { schemas: [PATCH_URN], Operations: [] },
      { schemas: [PATCH_URN], Operations: {} },
      { schemas: [PATCH_URN], Operations: ['add'] },
      [{ op: 'add', path: 'title', value: 'x' }],
    ]) {
      const res = await t.http.patch(path, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body).toEqual(scimError(400, 'invalidSyntax'));
    }
    await expectUnchanged(t, before);
  });

  it('PATCH response honours ?attributes=', async () => {
    const u = await createUser(t, 'projected-user');
    const res = await t.http.patch(`/Users/${u.id as string}?attributes=title`, patchBody({ op: 'add', path: 'title', value: 'Chief' }));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ schemas: u.schemas, id: u.id, title: 'Chief' });
  });
});
