// `agentroster record verify` (exit 0/1 with a distinct reason; offline with files, online with
// URLs) and `agentroster keys rotate|list`.

import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Command } from 'commander';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { registerRecordCommands, runRecordVerify, type VerifyCliOptions } from '../../../src/cli/record-commands.js';
import { buildRecordsApp, newRecordKey, type RecordsApp } from './helpers.js';
import { loadRegistry } from '../../../src/scim/load-schemas.js';
import { openStore } from '../../../src/store/open-store.js';

const ISSUER = 'https://roster.example.com';
const run = promisify(execFile);

describe('agentroster record verify', () => {
  let t: RecordsApp;
  let server: ReturnType<RecordsApp['ar']['app']['listen']>;
  let local: string;
  let dir: string;
  let active: string;
  let revoked: string;
  let jwksFile: string;
  let statusFile: string;

  beforeAll(async () => {
    t = await buildRecordsApp({ env: { AGENTROSTER_BASE_URL: `${ISSUER}/scim/v2` }, clockStart: new Date(Date.now() - 60_000).toISOString() });
    server = t.ar.app.listen(0, '127.0.0.1');
    await new Promise<void>((r) => server.once('listening', () => r()));
    local = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const a = await t.createAgent('cli-active', {}, { lifecycleState: 'active' });
    const b = await t.createAgent('cli-revoked', {}, { lifecycleState: 'active' });
    active = (await t.attestation(a.id as string)).recordJws as string;
    revoked = (await t.attestation(b.id as string)).recordJws as string;
    await t.patchGov(b.id as string, 'lifecycleState', 'suspended');
    dir = mkdtempSync(join(tmpdir(), 'ar-cli-'));
    jwksFile = join(dir, 'jwks.json');
    statusFile = join(dir, 'status.jwt');
    writeFileSync(jwksFile, JSON.stringify(await t.jwks()));
    writeFileSync(statusFile, await t.statusList());
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await t.close();
  });

  async function cli(jwt: string, o: VerifyCliOptions, fetchImpl?: typeof fetch) {
    const out: string[] = [];
    const err: string[] = [];
    const code = await runRecordVerify(jwt, o, { out: (s) => out.push(s), err: (s) => err.push(s), ...(fetchImpl ? { fetch: fetchImpl } : {}) });
    return { code, out: out.join(''), err: err.join('') };
  }

  it('offline with JWKS and status list files: 0 for a good record, 1 with the reason otherwise', async () => {
    const ok = await cli(active, { jwks: jwksFile, status: statusFile, issuer: ISSUER });
    expect(ok.code).toBe(0);
    expect(ok.err).toMatch(/^VALID: .*cli-active.*, not revoked\n$/);
    expect(JSON.parse(ok.out)).toMatchObject({ valid: true, status: 'good', claims: { agentUserName: 'cli-active', iss: ISSUER } });

    const bad = await cli(revoked, { jwks: jwksFile, status: statusFile, issuer: ISSUER });
    expect(bad).toEqual({ code: 1, out: '', err: expect.stringMatching(/^INVALID: ERR_RECORD_REVOKED: the record \(version 1\) of agent .* was revoked/) });

    expect((await cli(active, { jwks: jwksFile, issuer: 'https://other.example.com' })).err).toMatch(/^INVALID: ERR_RECORD_ISSUER/);
    expect((await cli(active, { jwks: jwksFile, requireStatus: true })).err).toMatch(/^INVALID: ERR_STATUS_LIST_MISSING/);
    expect((await cli(active, { jwks: jwksFile, at: new Date(Date.now() + 48 * 3_600_000).toISOString() })).err).toMatch(
      /^INVALID: ERR_RECORD_EXPIRED: the record expired at /,
    );
    expect((await cli(`${active.slice(0, -4)}AAAA`, { jwks: jwksFile })).err).toMatch(/^INVALID: ERR_RECORD_SIGNATURE/);
    expect((await cli('garbage', { jwks: jwksFile })).err).toMatch(/^INVALID: ERR_RECORD_MALFORMED/);
    const missing = await cli(active, { jwks: join(dir, 'nope.json') });
    expect(missing).toEqual({ code: 1, out: '', err: expect.stringMatching(/^error: cannot read the key set file .*nope\.json: ENOENT/) });
  });

  it('with URLs: fetches the JWKS and the status list', async () => {
    const ok = await cli(active, { jwks: `${local}/.well-known/jwks.json`, status: `${local}/.well-known/agentroster/status-list`, issuer: ISSUER });
    expect(ok.code).toBe(0);
    const bad = await cli(revoked, { jwks: `${local}/.well-known/jwks.json`, status: `${local}/.well-known/agentroster/status-list` });
    expect(bad.err).toMatch(/^INVALID: ERR_RECORD_REVOKED/);
    expect((await cli(active, { jwks: `${local}/nope` })).err).toMatch(/^error: cannot fetch the key set from .*: HTTP 404/);
  });

  it('without --jwks: keys and status list come from the issuer (reported as not pinned unless --issuer)', async () => {
    const seen: string[] = [];
    const viaLocal = ((url: string, init?: RequestInit) => {
      seen.push(url);
      return fetch(url.replace(ISSUER, local), init);
    }) as typeof fetch;
    const ok = await cli(active, {}, viaLocal);
    expect(ok.code).toBe(0);
    expect(ok.err).toMatch(/^note: issuer https:\/\/roster\.example\.com is taken from the record itself and not pinned/);
    expect(seen).toEqual([`${ISSUER}/.well-known/jwks.json`, `${ISSUER}/.well-known/agentroster/status-list`]);
    expect((await cli(revoked, { issuer: ISSUER }, viaLocal)).err).toMatch(/^INVALID: ERR_RECORD_REVOKED/);
  });

  it('through commander: exit status in process.exitCode, claims on stdout', async () => {
    const program = new Command().exitOverride();
    registerRecordCommands(program);
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await program.parseAsync(['node', 'agentroster', 'record', 'verify', active, '--jwks', jwksFile, '--status', statusFile, '--issuer', ISSUER]);
      expect(process.exitCode).toBe(0);
      expect(String(stdout.mock.calls[0]?.[0])).toContain('"agentUserName": "cli-active"');
      await program.parseAsync(['node', 'agentroster', 'record', 'verify', revoked, '--jwks', jwksFile, '--status', statusFile]);
      expect(process.exitCode).toBe(1);
      expect(stderr.mock.calls.map((c) => String(c[0])).join('')).toMatch(/INVALID: ERR_RECORD_REVOKED/);
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
      process.exitCode = undefined;
    }
  });

  it('the real command line exits 0 and 1', async () => {
    const main = join(import.meta.dirname, '../../../src/cli/main.ts');
    const tsx = join(import.meta.dirname, '../../../node_modules/.bin/tsx');
    const ok = await run(tsx, [main, 'record', 'verify', active, '--jwks', jwksFile, '--status', statusFile, '--issuer', ISSUER]);
    expect(JSON.parse(ok.stdout)).toMatchObject({ valid: true, status: 'good' });
    const bad = await run(tsx, [main, 'record', 'verify', revoked, '--jwks', jwksFile, '--status', statusFile]).then(
      () => undefined,
      (e: { code: number; stderr: string }) => e,
    );
    expect(bad?.code).toBe(1);
    expect(bad?.stderr).toMatch(/INVALID: ERR_RECORD_REVOKED/);
  });
});

describe('agentroster keys', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
  });

  it('keys rotate and keys list', async () => {
    const db = `sqlite:${join(mkdtempSync(join(tmpdir(), 'ar-cli-keys-')), 'ar.db')}`;
    vi.stubEnv('AGENTROSTER_RECORD_KEY', newRecordKey());
    vi.stubEnv('AGENTROSTER_LOG_LEVEL', 'silent');
    const out: string[] = [];
    const stdout = vi.spyOn(process.stdout, 'write').mockImplementation((s) => (out.push(String(s)), true));
    const stderr = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      const program = () => {
        const p = new Command().exitOverride();
        registerRecordCommands(p);
        return p;
      };
      // the keys commands need an existing database (agentroster migrate; never created by accident)
      await expect(program().parseAsync(['node', 'agentroster', 'keys', 'list', '--database-url', db])).rejects.toThrow(/no database at .*ar\.db; run `agentroster migrate`/);
      await (await openStore(loadRegistry(), db)).close();
      await program().parseAsync(['node', 'agentroster', 'keys', 'rotate', '--database-url', db]);
      expect(out.pop()).toMatch(/^created signing key [\w-]{43} \(there was none\)\n$/);
      await program().parseAsync(['node', 'agentroster', 'keys', 'rotate', '--database-url', db]);
      const line = out.pop()!;
      expect(line).toMatch(/^new signing key [\w-]{43}; [\w-]{43} retired, published until \d{4}-\d\d-\d\dT/);
      await program().parseAsync(['node', 'agentroster', 'keys', 'list', '--database-url', db]);
      const listed = out.splice(0);
      expect(listed).toHaveLength(2);
      expect(listed[0]).toMatch(/^[\w-]{43}  ES256  retired  created .*  retired .*  verifies until .*  in JWKS\n$/);
      expect(listed[1]).toMatch(/^[\w-]{43}  ES256  active  created .*  in JWKS\n$/);
      expect(listed.join('')).not.toMatch(/v1\.|"d"/);
    } finally {
      stdout.mockRestore();
      stderr.mockRestore();
    }
  });
});
