// The audit trail (R18): every change with its actor (token name and bound human), request id,
// before/after and reason; /AuditEvents read-only with filters by agent, actor and time;
// `agentroster audit verify` names the first broken record exactly after a row is tampered with in
// the database; `audit export` writes JSON lines; `agents list` filters agents.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAgentsList, runAuditExport, runAuditVerify } from '../../../src/cli/governance-commands.js';
import { verifyAuditChain } from '../../../src/resources/governance/audit-verify.js';
import type { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import { allAudit } from '../../helpers/test-app.js';
import { buildGov, type Gov, GOV_URN, type Json, setState } from './helpers.js';

const AUDIT_URN = 'urn:agentroster:scim:schemas:core:1.0:AuditEvent';
const q = (f: string) => encodeURIComponent(f);

function io() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (s: string) => void out.push(s), err: (s: string) => void err.push(s) }, out, err };
}

describe('the audit trail', () => {
  let g: Gov;
  let hrId: string;
  let agentId: string;
  let other: string;
  beforeAll(async () => {
    g = await buildGov();
    hrId = await g.user('hank', { displayName: 'Hank HR' });
    const hr = await g.t.tokenWith(['scim.write', 'agents.approve'], 'hr-portal', hrId);
    agentId = (await g.agent('audited-bot', { token: hr })).id as string;
    other = (await g.agent('other-bot')).id as string;
    g.t.clock.advance(60_000);
    await g.t.http
      .patch(`/Agents/${agentId}`, { Operations: setState('active') }, hr)
      .set('X-Request-Id', 'req-approve-1')
      .set('X-Audit-Reason', 'CHG-42 onboarding approved');
    g.t.clock.advance(60_000);
    await g.patch(`/Agents/${other}`, [{ op: 'replace', path: 'description', value: 'changed' }]);
  });
  afterAll(() => g.close());

  it('each event has actor (token and bound human), request id, before/after and reason', async () => {
    const ev = (await allAudit(g.t)).find((e) => e.requestId === 'req-approve-1')!;
    expect(ev).toMatchObject({
      action: 'patch',
      resourceType: 'Agent',
      resourceId: agentId,
      actor: { client: 'hr-portal', tokenId: expect.any(String), userId: hrId },
      reason: 'CHG-42 onboarding approved',
      changes: expect.objectContaining({ [`${GOV_URN}:lifecycleState`]: { before: 'pending', after: 'active' } }),
      prevHash: expect.stringMatching(/^[0-9a-f]{64}$/),
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });

  it('GET /AuditEvents filters by agent, actor and time; pages; renders changes as JSON text', async () => {
    const byAgent = await g.t.http.get(`/AuditEvents?filter=${q(`resourceId eq "${agentId}"`)}`);
    expect(byAgent.status).toBe(200);
    expect(byAgent.body.totalResults).toBe(2);
    expect(byAgent.body.Resources.map((e: Json) => e.action)).toEqual(['create', 'patch']);
    const approval = byAgent.body.Resources[1] as Json;
    expect(approval).toMatchObject({
      schemas: [AUDIT_URN],
      resourceRef: `${g.t.origin}/scim/v2/Agents/${agentId}`,
      actor: { client: 'hr-portal', userId: hrId, userRef: `${g.t.origin}/scim/v2/Users/${hrId}` },
      requestId: 'req-approve-1',
      meta: { resourceType: 'AuditEvent', location: `${g.t.origin}/scim/v2/AuditEvents/${approval.id as string}` },
    });
    expect(approval.changes).toContainEqual({ attribute: `${GOV_URN}:lifecycleState`, before: '"pending"', after: '"active"' });
    const byActor = await g.t.http.get(`/AuditEvents?filter=${q('actor.client eq "hr-portal"')}`);
    expect(byActor.body.Resources.every((e: Json) => (e.actor as Json).client === 'hr-portal')).toBe(true);
    const byHuman = await g.t.http.get(`/AuditEvents?filter=${q(`actor.userId eq "${hrId}" and action eq "patch"`)}`);
    expect(byHuman.body.totalResults).toBe(1);
    // (tokens' events carry the wall-clock time, not the test clock's: narrowed to Agents)
    const late = await g.t.http.get(`/AuditEvents?filter=${q('at gt "2026-04-01T09:01:30Z" and resourceType eq "Agent"')}`);
    expect(late.body.Resources.map((e: Json) => e.resourceId)).toEqual([other]);
    // paging: index and cursor
    const all = (await allAudit(g.t)).length;
    const p2 = await g.t.http.get('/AuditEvents?startIndex=2&count=2&attributes=seq');
    expect(p2.body).toMatchObject({ totalResults: all, startIndex: 2, itemsPerPage: 2 });
    expect(p2.body.Resources.map((e: Json) => e.seq)).toEqual([2, 3]);
    const c1 = await g.t.http.get('/AuditEvents?count=2&cursor=');
    const c2 = await g.t.http.get(`/AuditEvents?count=2&cursor=${c1.body.nextCursor as string}`);
    expect(c2.body.Resources.map((e: Json) => e.seq)).toEqual([3, 4]);
    expect((await g.t.http.get('/AuditEvents/3')).body.seq).toBe(3);
    expect((await g.t.http.get(`/AuditEvents/${approval.id as string}`)).body.requestId).toBe('req-approve-1');
    const search = await g.t.http.post('/AuditEvents/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: `resourceId eq "${other}"` });
    expect(search.body.totalResults).toBe(2);
  });

  it('is read-only: writes → 405, also through /Bulk; a revoke token still reads', async () => {
    for (const res of [
      await g.t.http.post('/AuditEvents', { schemas: [AUDIT_URN] }),
      await g.t.http.put('/AuditEvents/1', { schemas: [AUDIT_URN] }),
      await g.t.http.patch('/AuditEvents/1', { Operations: [] }),
      await g.t.http.delete('/AuditEvents/1'),
    ]) {
      expect(res.status).toBe(405);
    }
    const bulk = await g.t.http.post('/Bulk', {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
      Operations: [{ method: 'POST', path: '/AuditEvents', bulkId: 'x', data: { schemas: [AUDIT_URN], action: 'forged' } }],
    });
    expect(bulk.body.Operations[0].status).toBe('405');
    const reader = await g.t.tokenWith(['scim.revoke']);
    expect((await g.t.http.get('/AuditEvents?count=1', reader)).status).toBe(200);
  });

  it('audit export writes JSON lines; agents list filters', async () => {
    const lines: string[] = [];
    const n = await runAuditExport(g.t.store, { write: (l) => void lines.push(l), resource: agentId });
    expect(n).toBe(2);
    expect(lines.map((l) => JSON.parse(l) as Json).map((e) => [e.seq, e.action, e.resourceId])).toEqual([
      [expect.any(Number), 'create', agentId],
      [expect.any(Number), 'patch', agentId],
    ]);
    expect(lines.every((l) => l.endsWith('\n') && !l.slice(0, -1).includes('\n'))).toBe(true);
    const a = io();
    expect(await runAgentsList(g.t.store, g.t.registry, { state: 'active' }, a.io)).toBe(0);
    expect(a.out.slice(1).map((l) => l.split('\t')[1])).toEqual(['audited-bot']);
    expect(a.err.join('')).toMatch(/1 agent\(s\) matching/);
    const b = io();
    await runAgentsList(g.t.store, g.t.registry, { state: 'pending', json: true }, b.io);
    expect(b.out.map((l) => (JSON.parse(l) as Json).agentUserName)).toEqual(['other-bot']);
  });

  it('audit verify passes, then names exactly the first tampered record (raw SQL on the SQLite file)', async () => {
    const ok = io();
    expect(await runAuditVerify(g.t.store, {}, ok.io)).toBe(0);
    expect(ok.err.join('')).toMatch(/audit log OK: \d+ records, chain intact up to seq \d+/);
    const db = (g.t.store as SqliteStore).raw();
    const target = (await allAudit(g.t)).find((e) => e.requestId === 'req-approve-1')!;
    // an insider rewrites who approved the agent
    db.prepare('UPDATE audit_events SET actor = ? WHERE seq = ?').run(JSON.stringify({ client: 'someone-else' }), target.seq);
    const broken = io();
    expect(await runAuditVerify(g.t.store, { json: true }, broken.io)).toBe(1);
    expect(broken.err.join('')).toBe(
      `audit log BROKEN at seq ${target.seq}: its content does not match its hash: the record was changed after it was written (${target.seq - 1} records before it verify)\n`,
    );
    expect(JSON.parse(broken.out.join(''))).toEqual({ ok: false, count: target.seq - 1, seq: target.seq, reason: expect.any(String) });
    // a smarter insider also recomputes that record's hash: the next record's link breaks
    const { auditHash } = await import('../../../src/store/audit-hash.js');
    const forged = (await g.t.store.auditEvents(target.seq - 1, 1))[0]!;
    const { hash: _h, ...rest } = forged;
    db.prepare('UPDATE audit_events SET hash = ? WHERE seq = ?').run(auditHash(rest), target.seq);
    const v = await verifyAuditChain(g.t.store);
    expect(v).toMatchObject({ ok: false, seq: target.seq + 1, reason: expect.stringMatching(new RegExp(`hash of seq ${target.seq}: seq ${target.seq} was rewritten`)) });
    // a removed record is a gap (an earlier one than the rewritten record, so it is the first break)
    db.prepare('DELETE FROM audit_events WHERE seq = ?').run(target.seq - 1);
    expect(await verifyAuditChain(g.t.store)).toMatchObject({ ok: false, seq: target.seq - 1, reason: expect.stringMatching(/is missing/) });
  });
});
