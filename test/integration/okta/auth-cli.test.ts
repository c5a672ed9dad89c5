// Credentials and the command line: the OAuth service app (client_credentials + private_key_jwt,
// the scopes docs/okta.md lists), secrets never logged or shown, and `agentroster sync plan|apply
// --target okta` as for Entra.
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { exportJWK } from 'jose';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildAgentroster } from '../../../src/app.js';
import { registerSyncCommands } from '../../../src/cli/sync-commands.js';
import { ConfigError, loadConfig } from '../../../src/config/config.js';
import { requiredScopes } from '../../../src/connectors/okta/index.js';
import { oktaSettingsFromConfig } from '../../../src/connectors/okta/settings.js';
import { startOktaEmulator, type OktaEmulator } from '../../emulators/okta/index.js';
import { HOOK_SECRET, oktaEnv, startHarness } from './harness.js';

let emu: OktaEmulator;
let dir: string;
beforeAll(async () => {
  emu = await startOktaEmulator({ searchLagMs: 100 });
  dir = mkdtempSync(join(tmpdir(), 'agentroster-okta-auth-'));
});
afterAll(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('OAuth service app', () => {
  it('syncs with a private_key_jwt client and exactly the documented scopes (Bearer, one token)', async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const keyPath = join(dir, 'okta.pem');
    writeFileSync(keyPath, privateKey.export({ type: 'pkcs1', format: 'pem' }));
    const clientId = emu.oauth.registerClient({ jwks: [{ ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' }], scopes: requiredScopes(false) });
    const env = { ...oktaEnv(emu), AGENTROSTER_OKTA_TOKEN: '', AGENTROSTER_OKTA_CLIENT_ID: clientId, AGENTROSTER_OKTA_PRIVATE_KEY_PATH: keyPath, AGENTROSTER_OKTA_KEY_ID: 'k1' };
    const lines: string[] = [];
    const h = await startHarness({ emulator: emu, env, logger: pino({ level: 'debug' }, { write: (s: string) => void lines.push(s) }) });
    try {
      const s = await h.sponsor('oauth-sponsor');
      const id = await h.agent('oauth-bot', s.id);
      await h.setState(id, 'active');
      const tokensBefore = emu.oauth.tokenRequests;
      await h.sync();
      expect(h.remote(id)?.status).toBe('ACTIVE');
      expect(emu.oauth.tokenRequests - tokensBefore).toBe(1);
      expect(emu.requestLog.filter((r) => r.path.startsWith('/api/')).slice(-3).every((r) => r.authScheme === 'Bearer')).toBe(true);
      const health = h.connector.health();
      expect(health.settings.credential).toBe(`OAuth service app ${clientId} (private_key_jwt)`);
      expect(String(health.settings.scopes)).toBe(requiredScopes(false).join(' '));
      expect(JSON.stringify(health)).not.toContain('PRIVATE KEY');
    } finally {
      await h.close();
    }
  });

  it('names every missing variable, and never echoes a secret in configuration errors, health or logs', async () => {
    expect(() => oktaSettingsFromConfig(loadConfig({ AGENTROSTER_SYNC_TARGETS: 'okta' }))).toThrow(ConfigError);
    try {
      oktaSettingsFromConfig(loadConfig({ AGENTROSTER_SYNC_TARGETS: 'okta' }));
    } catch (e) {
      expect((e as Error).message).toMatch(/AGENTROSTER_OKTA_ORG_URL.*AGENTROSTER_OKTA_TOKEN.*AGENTROSTER_OKTA_CLIENT_ID \+ AGENTROSTER_OKTA_PRIVATE_KEY_PATH/);
    }
    const lines: string[] = [];
    const h = await startHarness({ emulator: emu, logger: pino({ level: 'trace' }, { write: (s: string) => void lines.push(s) }) });
    try {
      const s = await h.sponsor('secret-sponsor');
      const id = await h.agent('secret-bot', s.id);
      await h.setState(id, 'active');
      emu.faults.failNext(1, 401, { errorCode: 'E0000011', errorSummary: 'Invalid token provided', match: { method: 'POST' } });
      await h.sync();
      const res = await h.http.get('/hooks/okta').set('Authorization', 'nope');
      expect(res.status).toBe(401);
      const text = lines.join('') + JSON.stringify(h.connector.health()) + JSON.stringify(res.body) + JSON.stringify(await h.ar.store.outbox.list({ target: 'okta' }));
      expect(text).not.toContain(emu.apiToken);
      expect(text).not.toContain(HOOK_SECRET);
    } finally {
      await h.close();
    }
  });
});

describe('agentroster sync plan|apply --target okta', () => {
  it('plans, applies (one pass) and plans again: in sync', async () => {
    const env = { ...oktaEnv(emu), AGENTROSTER_DATABASE_URL: `sqlite:${join(dir, 'cli.sqlite')}` };
    const h = await startHarness({ emulator: emu, databaseUrl: env.AGENTROSTER_DATABASE_URL });
    const g = emu.admin.createGroup('agents:cli');
    await h.entitlement('cli-ent', [{ target: 'okta', kind: 'group', remoteId: g.id }]);
    const s = await h.sponsor('cli-sponsor');
    const id = await h.agent('cli-bot', s.id);
    await h.setState(id, 'active');
    await h.grant(id, 'cli-ent');
    await h.close();

    const run = async (...args: string[]) => {
      let out = '';
      let err = '';
      let exit = 0;
      const program = new Command().exitOverride();
      registerSyncCommands(program, {
        out: (t) => void (out += t),
        err: (t) => void (err += t),
        isTTY: false,
        exit: (c) => void (exit = c),
        build: (c) => buildAgentroster(c, { logger: pino({ level: 'silent' }), startJobs: false, sync: { start: false } }),
      });
      const saved = { ...process.env };
      Object.assign(process.env, env, { AGENTROSTER_LOG_LEVEL: 'silent' });
      try {
        await program.parseAsync(['node', 'agentroster', ...args]);
      } finally {
        for (const k of Object.keys(env)) if (saved[k] === undefined) delete process.env[k];
        Object.assign(process.env, saved);
      }
      return { out, err, exit };
    };
    const plan = await run('sync', 'plan', '--target', 'okta');
    expect(plan.out).toContain('okta: 1 to create');
    expect(plan.out).toContain('create user cli-bot@agents.example.com of type aiAgent (ACTIVE)');
    expect(plan.out).toContain(`groups: +${g.id}`);
    const apply = await run('sync', 'apply', '--target', 'okta', '--once');
    expect(apply.exit).toBe(0);
    expect(apply.err).toMatch(/done in .* 1 agent\(s\) synced/);
    expect(emu.admin.getUser('cli-bot@agents.example.com')?.status).toBe('ACTIVE');
    const again = await run('sync', 'plan', '--target', 'okta');
    expect(again.out).toContain('okta: in sync, nothing to do');
  });
});
