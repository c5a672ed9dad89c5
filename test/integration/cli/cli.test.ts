// The command line as a user runs it (a child process): findings 9 (token --ttl, token list),
// 11 (no database is created by accident; logs stay off stdout; exit codes 0 ok, 1 refused or
// failed, 2 usage) and 12 (sync targets from complete settings; --target; errors that name the
// target and its missing settings).

import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAgentroster } from '../../../src/app.js';
import { loadConfig } from '../../../src/config/config.js';
import { PG_URL, postgresAvailable } from '../../helpers/postgres.js';
import { runCli } from './run-cli.js';

/** Every AGENTROSTER_ENTRA_* setting of design.md's contract (no AGENTROSTER_SYNC_TARGETS). */
const ENTRA_CONTRACT = {
  AGENTROSTER_ENTRA_TENANT_ID: 'contoso.example',
  AGENTROSTER_ENTRA_CLIENT_ID: '0a1b2c3d-0000-4000-8000-000000000001',
  AGENTROSTER_ENTRA_CLIENT_SECRET: 'not-a-real-secret',
  AGENTROSTER_ENTRA_AUTHORITY_HOST: 'https://login.microsoftonline.com',
  AGENTROSTER_ENTRA_GRAPH_URL: 'https://graph.microsoft.com',
  AGENTROSTER_ENTRA_BLUEPRINT_ID: '11111111-2222-4333-8444-555555555555',
};

const NO_DB = 'no database at ./data/agentroster.db; run `agentroster migrate` or pass --database-url';
const JSON_LOG = /^\{"level":/m;

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'ar-cli-'));
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('a command run where there is no database', () => {
  it.each([
    [['audit', 'verify']],
    [['token', 'list']],
    [['token', 'create', '--name', 'ci', '--scopes', 'scim.read']],
    [['agents', 'list']],
    [['keys', 'list']],
    [['sync', 'status']],
  ])('agentroster %j refuses with exit 1 and creates nothing', async (args) => {
    const cwd = mkdtempSync(join(dir, 'empty-'));
    const r = await runCli(args, { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`agentroster: ${NO_DB}`);
    expect(r.stderr).not.toMatch(/audit log OK/);
    expect(r.stdout).toBe('');
    expect(readdirSync(cwd)).toEqual([]);
  });

  it('migrate creates it; then the commands work', async () => {
    const cwd = mkdtempSync(join(dir, 'migrated-'));
    const m = await runCli(['migrate'], { cwd });
    expect(m.code).toBe(0);
    expect(m.stderr).toBe('database is up to date\n');
    expect(existsSync(join(cwd, 'data', 'agentroster.db'))).toBe(true);
    const v = await runCli(['audit', 'verify'], { cwd });
    expect(v.code).toBe(0);
    expect(v.stdout).toBe('');
    expect(v.stderr).toMatch(/^audit log OK: 0 records/m);
  });

  it('PostgreSQL: a schema that was never migrated is refused too (and not created)', async () => {
    if (!(await postgresAvailable())) return;
    const schema = `ar_cli_${Date.now().toString(36)}`;
    const r = await runCli(['audit', 'verify'], { env: { AGENTROSTER_DATABASE_URL: PG_URL, AGENTROSTER_DATABASE_SCHEMA: schema } });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^agentroster: no agentroster database at postgres:\/\/.* \(schema ar_cli_\w+\); run `agentroster migrate` or pass --database-url$/m);
    const c = new pg.Client({ connectionString: PG_URL });
    await c.connect();
    try {
      expect((await c.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema])).rowCount).toBe(0);
    } finally {
      await c.end();
    }
  });
});

describe('token create --ttl and token list', () => {
  let cwd: string;
  beforeAll(async () => {
    cwd = mkdtempSync(join(dir, 'tokens-'));
    expect((await runCli(['migrate'], { cwd })).code).toBe(0);
  });

  it('default 90 days; --ttl with a unit; --ttl never warns; list shows expiry and flags tokens without one', async () => {
    const before = Date.now();
    const def = await runCli(['token', 'create', '--name', 'default', '--scopes', 'scim.read'], { cwd });
    expect(def.code).toBe(0);
    expect(def.stdout).toMatch(/^art_[\w-]{43}\n$/);
    const exp = /expires (\S+); it is shown only once/.exec(def.stderr)?.[1];
    expect(Date.parse(exp!) - before).toBeGreaterThanOrEqual(90 * 86_400_000 - 60_000);
    expect(Date.parse(exp!) - before).toBeLessThanOrEqual(90 * 86_400_000 + 60_000);

    const short = await runCli(['token', 'create', '--name', 'short', '--scopes', 'scim.read', '--ttl', '12h'], { cwd });
    expect(short.code).toBe(0);
    expect(short.stderr).not.toMatch(/warning/);

    const never = await runCli(['token', 'create', '--name', 'forever', '--scopes', 'admin', '--ttl', 'never'], { cwd });
    expect(never.code).toBe(0);
    expect(never.stdout).toMatch(/^art_[\w-]{43}\n$/);
    expect(never.stderr).toMatch(/^warning: token "forever" never expires/m);

    const list = await runCli(['token', 'list'], { cwd });
    expect(list.code).toBe(0);
    const lines = list.stdout.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(new RegExp(`  default  scim\\.read  created \\S+  expires ${exp!.replace(/\./g, '\\.')}  last used never$`));
    expect(lines[1]).toMatch(/  short  scim\.read  created \S+  expires \S+  last used never$/);
    expect(lines[2]).toMatch(/  forever  admin  created \S+  expires never \(NO EXPIRY: rotate it\)  last used never$/);
    expect(list.stdout).not.toContain('art_');

    const json = await runCli(['token', 'list', '--json'], { cwd });
    const rows = json.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows.map((r) => [r.name, r.expiresAt === null, r.expired])).toEqual([
      ['default', false, false],
      ['short', false, false],
      ['forever', true, false],
    ]);
    expect(json.stdout).not.toMatch(/"hash"/);
  });

  it('a bad --ttl or an unknown option is a usage error (exit 2); a refused --user is exit 1', async () => {
    const bad = await runCli(['token', 'create', '--name', 'x', '--scopes', 'scim.read', '--ttl', '90x'], { cwd });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--ttl .*'90x' is invalid\. a positive number with a unit s, m, h or d/);
    expect((await runCli(['token', 'create', '--name', 'x', '--scopes', 'scim.read', '--frobnicate'], { cwd })).code).toBe(2);
    expect((await runCli(['token', 'frobnicate'], { cwd })).code).toBe(2);
    expect((await runCli(['--help'], { cwd })).code).toBe(0);
    const user = await runCli(['token', 'create', '--name', 'bound', '--scopes', 'agents.approve', '--user', 'nobody'], { cwd });
    expect(user.code).toBe(1);
    expect(user.stderr).toBe('agentroster: --user: no User "nobody"; a token can only be bound to an active human User\n');
    expect(user.stdout).toBe('');
  });
});

describe('sync targets on the command line', () => {
  let cwd: string;
  beforeAll(async () => {
    cwd = mkdtempSync(join(dir, 'sync-'));
    expect((await runCli(['migrate'], { cwd })).code).toBe(0);
  });

  it('every AGENTROSTER_ENTRA_* setting, no AGENTROSTER_SYNC_TARGETS: sync plan runs for Entra; stdout carries no log lines', async () => {
    const r = await runCli(['sync', 'plan'], { cwd, env: ENTRA_CONTRACT });
    expect(r.stderr).not.toMatch(/no sync target/);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('entra: in sync, nothing to do\n');
    const status = await runCli(['sync', 'status'], { cwd, env: ENTRA_CONTRACT });
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^entra: 0 pending/);
  });

  it('--verbose: info logs, on stderr only', async () => {
    const r = await runCli(['sync', 'plan', '--verbose'], { cwd, env: ENTRA_CONTRACT });
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('entra: in sync, nothing to do\n');
    expect(r.stdout).not.toMatch(JSON_LOG);
    expect(r.stderr).toMatch(/"level":30,.*"msg":"record signing ready"/);
    const quiet = await runCli(['sync', 'plan'], { cwd, env: ENTRA_CONTRACT });
    expect(quiet.stderr).not.toMatch(/"level":30/);
  });

  it('AGENTROSTER_SYNC_TARGETS=none overrides; --target entra still works with complete settings', async () => {
    const env = { ...ENTRA_CONTRACT, AGENTROSTER_SYNC_TARGETS: 'none' };
    const r = await runCli(['sync', 'plan'], { cwd, env });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^agentroster: no sync target is configured: AGENTROSTER_SYNC_TARGETS excludes/m);
    const t = await runCli(['sync', 'plan', '--target', 'entra'], { cwd, env });
    expect(t.code).toBe(0);
    expect(t.stdout).toBe('entra: in sync, nothing to do\n');
  });

  it('an incomplete target named with --target: exit 1 naming it and its missing settings (Okta says Okta)', async () => {
    const okta = await runCli(['sync', 'apply', '--target', 'okta', '--once'], { cwd, env: ENTRA_CONTRACT });
    expect(okta.code).toBe(1);
    expect(okta.stderr).toMatch(
      /^agentroster: the Okta sync target needs: AGENTROSTER_OKTA_ORG_URL, AGENTROSTER_OKTA_TOKEN \(or _TOKEN_FILE\), or AGENTROSTER_OKTA_CLIENT_ID \+ AGENTROSTER_OKTA_PRIVATE_KEY_PATH$/m,
    );
    expect(okta.stderr).not.toMatch(/ENTRA/);
    const entra = await runCli(['sync', 'plan', '--target', 'entra'], { cwd, env: { AGENTROSTER_ENTRA_TENANT_ID: 'contoso.example' } });
    expect(entra.code).toBe(1);
    expect(entra.stderr).toMatch(/^agentroster: the Entra sync target needs: AGENTROSTER_ENTRA_CLIENT_ID, .*AGENTROSTER_ENTRA_BLUEPRINT_ID$/m);
    const bad = await runCli(['sync', 'plan', '--target', 'sailpoint'], { cwd });
    expect(bad.code).toBe(2);
  });

  it('nothing configured: exit 1 saying what each target needs', async () => {
    const r = await runCli(['sync', 'plan'], { cwd });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^agentroster: no sync target is configured: the Entra sync target needs: .*; the Okta sync target needs: /m);
  });
});

describe('serve wiring (finding 12)', () => {
  it('with the Entra settings alone the server has an Entra sync worker and queues agent changes for it', async () => {
    const ar = await buildAgentroster(loadConfig({ ...ENTRA_CONTRACT, AGENTROSTER_DATABASE_URL: 'sqlite::memory:', AGENTROSTER_LOG_LEVEL: 'silent' }), {
      startJobs: false,
      sync: { start: false },
    });
    try {
      expect([...(ar.sync?.targets.keys() ?? [])]).toEqual(['entra']);
      expect(ar.config.syncTargets).toEqual(['entra']);
    } finally {
      await ar.close();
    }
  });

  it('half-configured Okta next to a complete Entra: Entra runs, and the log says what Okta misses', async () => {
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) });
    const config = loadConfig({ ...ENTRA_CONTRACT, AGENTROSTER_OKTA_ORG_URL: 'https://example.okta.com', AGENTROSTER_DATABASE_URL: 'sqlite::memory:' });
    const ar = await buildAgentroster(config, { logger, startJobs: false, sync: { start: false } });
    try {
      expect([...(ar.sync?.targets.keys() ?? [])]).toEqual(['entra']);
      const warning = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.target === 'okta');
      expect(warning).toMatchObject({
        msg: 'the Okta sync target is not configured: its settings are incomplete',
        missing: ['AGENTROSTER_OKTA_TOKEN (or _TOKEN_FILE), or AGENTROSTER_OKTA_CLIENT_ID + AGENTROSTER_OKTA_PRIVATE_KEY_PATH'],
      });
    } finally {
      await ar.close();
    }
  });
});

describe('--version', () => {
  it('prints the package version, exit 0', async () => {
    const r = await runCli(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\d+\.\d+\.\d+\n$/);
  });
});
