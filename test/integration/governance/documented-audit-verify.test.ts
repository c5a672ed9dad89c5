// `agentroster audit verify` names the exact record that cannot be read (issue 10): with row 40's
// stored JSON corrupted in a SQLite database, the CLI says seq 40 — not seq 1 — and exits 1; a
// corrupted hash is named the same way. Run as a user would: the CLI as a child process.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { verifyAuditChain } from '../../../src/resources/governance/audit-verify.js';
import { auditHash, GENESIS_HASH } from '../../../src/store/audit-hash.js';
import type { AuditEvent, Store } from '../../../src/store/types.js';
import { buildTestApp, USER_URN } from '../../helpers/test-app.js';

const ROOT = new URL('../../../', import.meta.url).pathname;

function verify(file: string): { status: number | null; stderr: string; stdout: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'audit', 'verify', '--database-url', `sqlite:${file}`], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, AGENTROSTER_LOG_LEVEL: 'silent' },
  });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

describe('audit verify names the exact broken record', () => {
  let dir: string;
  let file: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'agentroster-audit-'));
    file = join(dir, 'agentroster.db');
    const t = await buildTestApp({ env: { AGENTROSTER_DATABASE_URL: `sqlite:${file}` } });
    for (let i = 0; i < 45; i++) {
      const res = await t.http.post('/Users', { schemas: [USER_URN], userName: `audit-user-${i}` });
      expect(res.status).toBe(201);
    }
    await t.close();
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const edit = (sql: string, ...params: unknown[]) => {
    const db = new Database(file);
    try {
      db.prepare(sql).run(...params);
    } finally {
      db.close();
    }
  };

  it('an intact log verifies', () => {
    const r = verify(file);
    expect(r.stderr).toMatch(/audit log OK: \d+ records, chain intact up to seq \d+/);
    expect(r.status).toBe(0);
  });

  it('unreadable JSON in row 40: seq 40 is named, with the 39 records before it verified', () => {
    const db = new Database(file);
    const original = db.prepare('SELECT changes FROM audit_events WHERE seq = 40').get() as { changes: string };
    db.close();
    edit('UPDATE audit_events SET changes = ? WHERE seq = 40', '{"truncated": ');
    try {
      const r = verify(file);
      expect(r.status).toBe(1);
      expect(r.stderr).toMatch(/^audit log BROKEN at seq 40: seq 40 cannot be read: its stored record is corrupt \(.+\) \(39 records before it verify\)\n$/);
    } finally {
      edit('UPDATE audit_events SET changes = ? WHERE seq = 40', original.changes);
    }
    expect(verify(file).status).toBe(0);
  });

  it('a corrupted hash in row 40: seq 40 is named', () => {
    edit('UPDATE audit_events SET hash = ? WHERE seq = 40', 'f'.repeat(64));
    const r = verify(file);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('audit log BROKEN at seq 40: its content does not match its hash: the record was changed after it was written (39 records before it verify)\n');
  });

  it('the verifier bisects any page size down to the row, and says so when the row after a gap is unreadable', async () => {
    // a store whose rows `bad` cannot be parsed (as the SQL stores fail: the whole read throws)
    const chain = (n: number, missing: number[] = []): AuditEvent[] => {
      const out: AuditEvent[] = [];
      let prev = GENESIS_HASH;
      for (let seq = 1; seq <= n; seq++) {
        const e = { seq, id: `e${seq}`, at: '2026-01-01T00:00:00.000Z', action: 'create', resourceType: 'User', resourceId: `u${seq}`, actor: { client: 't' }, prevHash: prev };
        prev = auditHash(e);
        if (!missing.includes(seq)) out.push({ ...e, hash: prev });
      }
      return out;
    };
    const store = (rows: AuditEvent[], bad: number[]) =>
      ({
        async auditEvents(after = 0, limit = 1000) {
          const page = rows.filter((r) => r.seq > after).slice(0, limit);
          if (page.some((r) => bad.includes(r.seq))) throw new SyntaxError('Unexpected end of JSON input');
          return page;
        },
      }) as unknown as Store;
    for (const page of [1, 7, 64, 1000]) {
      expect(await verifyAuditChain(store(chain(100), [40]), page), `page ${page}`).toEqual({
        ok: false, count: 39, seq: 40, reason: 'seq 40 cannot be read: its stored record is corrupt (Unexpected end of JSON input)',
      });
    }
    // seq 40 removed and 41 unreadable: the first break is seq 40, and the message does not pretend to know more
    expect(await verifyAuditChain(store(chain(100, [40]), [41]), 16)).toMatchObject({ ok: false, count: 39, seq: 40, reason: expect.stringMatching(/^the record after seq 39 cannot be read \(seq 40 is corrupt or missing/) });
  });
});
