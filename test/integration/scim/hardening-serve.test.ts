// Issue 10, findings 7 and 11 (serve): `agentroster serve` as a real process. A port in use is a
// failure (exit 1, "port N is in use"), not a "listening" line; the bootstrap admin token goes to
// a terminal only, never into the log stream or a pipe.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRegistry } from '../../../src/scim/load-schemas.js';
import { openStore } from '../../../src/store/open-store.js';
import { startServerProcess } from '../../helpers/server-process.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ar-serve-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let dbSeq = 0;
const freshDb = () => `sqlite:${join(dir, `db-${++dbSeq}.db`)}`;

function baseEnv(databaseUrl: string): Record<string, string> {
  return { ...(process.env as Record<string, string>), AGENTROSTER_LOG_LEVEL: 'info', AGENTROSTER_HOST: '127.0.0.1', AGENTROSTER_DATABASE_URL: databaseUrl };
}

function collect(child: ChildProcess): { out(): string; err(): string; exit: Promise<number | null> } {
  let out = '';
  let err = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (err += b.toString()));
  return { out: () => out, err: () => err, exit: new Promise((resolve) => child.on('exit', (code) => resolve(code))) };
}

describe('agentroster serve', () => {
  it('on a port in use: exits 1 with "port N is in use" on stderr, and never says it is listening', async () => {
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'serve', '--port', String(port)], {
        cwd: ROOT,
        env: baseEnv(freshDb()),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const c = collect(child);
      expect(await c.exit).toBe(1);
      expect(c.err()).toContain(`port ${port} is in use`);
      expect(c.out() + c.err()).not.toContain('agentroster listening');
    } finally {
      blocker.close();
    }
  }, 60_000);

  it('without a terminal: creates no bootstrap token, prints none, and logs how to create one', async () => {
    const db = freshDb();
    const server = await startServerProcess({ AGENTROSTER_DATABASE_URL: db });
    let output: string;
    try {
      // the hint is logged right after "listening"
      for (let i = 0; i < 50 && !server.output().includes('token create'); i++) await new Promise((r) => setTimeout(r, 100));
      output = server.output();
    } finally {
      await server.stop();
    }
    expect(output).toContain('no bootstrap admin token was created because no terminal is attached');
    expect(output).toContain('agentroster token create --name admin --scopes admin');
    expect(output).not.toMatch(/art_[A-Za-z0-9_-]{20,}/);
    const store = await openStore(loadRegistry(), db);
    try {
      expect(await store.tokens.count()).toBe(0); // an admin token nobody saw would only be a liability
    } finally {
      await store.close();
    }
  }, 60_000);

  it('with a terminal: shows the token on it once, outside every JSON log line, and the token works', async () => {
    const db = freshDb();
    const cmd = `${JSON.stringify(process.execPath)} --import tsx src/cli/main.ts serve --port 0`;
    // script(1) gives the server a pseudo-terminal, as an interactive first start has
    const child = spawn('script', ['-qefc', cmd, '/dev/null'], { cwd: ROOT, env: baseEnv(db), stdio: ['pipe', 'pipe', 'pipe'], detached: true });
    const c = collect(child);
    try {
      let token: string | undefined;
      let port: number | undefined;
      for (let i = 0; i < 300 && (token === undefined || port === undefined); i++) {
        await new Promise((r) => setTimeout(r, 100));
        token = /^\s+(art_[A-Za-z0-9_-]{43})\s*$/m.exec(c.out())?.[1];
        port = Number(/"port":(\d+)[^\n]*agentroster listening/.exec(c.out())?.[1]) || undefined;
      }
      expect(token, c.out() + c.err()).toBeDefined();
      expect(c.out()).toContain('Bootstrap admin token (shown once; store it now)');
      for (const line of c.out().split(/\r?\n/).filter((l) => l.trim().startsWith('{'))) expect(line).not.toContain(token!);
      const res = await fetch(`http://127.0.0.1:${port!}/scim/v2/ServiceProviderConfig`, { headers: { authorization: `Bearer ${token!}` } });
      expect(res.status).toBe(200);
    } finally {
      if (child.exitCode === null) process.kill(-child.pid!, 'SIGTERM');
      await c.exit;
    }
  }, 60_000);
});
