// Issue 10, findings 8 and 11 (HTTP part): the token is checked before the body is read; slow,
// oversized and idle clients are cut off by the server's limits with SCIM-style answers where
// Node lets us; deliberate 4xx/501 answers are not logged as errors and logs never echo input.

import type http from 'node:http';
import net from 'node:net';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHttpServer, type ServerLimits, DEFAULT_SERVER_LIMITS } from '../../../src/http/server.js';
import { userBody } from '../../helpers/resources.js';
import { buildTestApp, ERROR_URN, SCIM, SCIM_CT, scimError, type TestApp } from '../../helpers/test-app.js';

let t: TestApp;
beforeAll(async () => {
  t = await buildTestApp();
});
afterAll(() => t.close());

async function serve(limits: Partial<ServerLimits>): Promise<{ server: http.Server; port: number; close(): Promise<void> }> {
  const server = createHttpServer(t.app, { ...DEFAULT_SERVER_LIMITS, ...limits });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    server,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A raw connection: what it was sent back, and when it closed. */
function rawClient(port: number): { socket: net.Socket; received(): string; closed: Promise<number> } {
  const socket = net.connect(port, '127.0.0.1');
  let data = '';
  const started = Date.now();
  socket.on('data', (b: Buffer) => (data += b.toString()));
  socket.on('error', () => undefined);
  const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now() - started)));
  return { socket, received: () => data, closed };
}

function parseRawResponse(text: string): { status: number; headers: string; body: unknown } {
  const i = text.indexOf('\r\n\r\n');
  const head = text.slice(0, i);
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1]), headers: head, body: JSON.parse(text.slice(i + 4)) as unknown };
}

describe('the token is checked before the body is read', () => {
  const unauthenticated = [
    ['no Authorization header', undefined],
    ['a wrong token', 'art_not-a-real-token'],
  ] as const;

  it.each(unauthenticated)('a 2 MB POST with %s → 401, not 413', async (_n, token) => {
    const req = supertest(t.origin).post(`${SCIM}/Users`).set('Content-Type', 'application/scim+json');
    if (token) req.set('Authorization', `Bearer ${token}`);
    const res = await req.send(JSON.stringify(userBody('big', { displayName: 'x'.repeat(2 * 1024 * 1024) })));
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toMatch(SCIM_CT);
    expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    expect(res.body).toEqual(scimError(401));
  });

  it.each(unauthenticated)('a POST of invalid JSON with %s → 401, not 400', async (_n, token) => {
    const req = supertest(t.origin).post(`${SCIM}/Users`).set('Content-Type', 'application/scim+json');
    if (token) req.set('Authorization', `Bearer ${token}`);
    const res = await req.send('{"schemas": [nope');
    expect(res.status).toBe(401);
    expect(res.body).toEqual(scimError(401));
  });

  it('a POST with a wrong media type and no token → 401, not 415', async () => {
    const res = await supertest(t.origin).post(`${SCIM}/Users`).set('Content-Type', 'text/plain').send('hello');
    expect(res.status).toBe(401);
  });

  it('a filter with U+0000 and no token → 401, not 400', async () => {
    const res = await supertest(t.origin).get(`${SCIM}/Users?filter=${encodeURIComponent('userName eq "\u0000"')}`);
    expect(res.status).toBe(401);
  });

  it('the 401 to an unread body closes the connection instead of waiting for the body', async () => {
    const s = await serve({});
    try {
      const c = rawClient(s.port);
      // announces 10 MB, sends 10 bytes, then nothing
      c.socket.write(`POST ${SCIM}/Users HTTP/1.1\r\nHost: x\r\nContent-Type: application/scim+json\r\nContent-Length: 10485760\r\n\r\n{"schemas"`);
      const ms = await c.closed;
      expect(ms).toBeLessThan(5000);
      const res = parseRawResponse(c.received());
      expect(res.status).toBe(401);
      expect(res.headers).toMatch(/\r\nConnection: close/i);
      expect(res.body).toMatchObject({ schemas: [ERROR_URN], status: '401' });
    } finally {
      await s.close();
    }
  });

  it('public routes stay public: /healthz answers without a token', async () => {
    expect((await supertest(t.origin).get('/healthz')).status).toBe(200);
  });

  it('an authenticated request is read and checked as before', async () => {
    const bad = await t.http.post('/Users', undefined).set('Content-Type', 'application/scim+json').send('{"schemas": [nope');
    expect(bad.status).toBe(400);
    expect(bad.body).toEqual(scimError(400, 'invalidSyntax'));
    const type = await supertest(t.origin).post(`${SCIM}/Users`).set('Authorization', `Bearer ${t.adminToken}`).set('Content-Type', 'text/plain').send('hello');
    expect(type.status).toBe(415);
  });
});

describe('server limits (src/http/server.ts)', () => {
  it('a URL longer than the header limit → 431 with a SCIM error body', async () => {
    const s = await serve({});
    try {
      const filter = encodeURIComponent(`userName eq "${'a'.repeat(20_000)}"`);
      const c = rawClient(s.port);
      c.socket.write(`GET ${SCIM}/Users?filter=${filter} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.adminToken}\r\n\r\n`);
      await c.closed;
      const res = parseRawResponse(c.received());
      expect(res.status).toBe(431);
      expect(res.headers).toMatch(/\r\nContent-Type: application\/scim\+json/i);
      expect(res.body).toEqual({ schemas: [ERROR_URN], status: '431', detail: expect.stringContaining('POST /.search') });
    } finally {
      await s.close();
    }
  });

  it('U+0000 in a header (X-Audit-Reason, If-Match) never reaches the app: 400 with a SCIM error body', async () => {
    const s = await serve({});
    try {
      for (const header of ['X-Audit-Reason: a\u0000b', 'If-Match: W/"1\u0000"']) {
        const c = rawClient(s.port);
        c.socket.write(`DELETE ${SCIM}/Users/x HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.adminToken}\r\n${header}\r\n\r\n`);
        await c.closed;
        const res = parseRawResponse(c.received());
        expect(res.status, header).toBe(400);
        expect(res.body).toMatchObject({ schemas: [ERROR_URN], status: '400', scimType: 'invalidSyntax' });
      }
    } finally {
      await s.close();
    }
  });

  it('a client that sends its body too slowly is cut off by requestTimeout with a 408', async () => {
    const s = await serve({ requestTimeoutMs: 1000, headersTimeoutMs: 1000 });
    try {
      const c = rawClient(s.port);
      c.socket.write(
        `POST ${SCIM}/Users HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${t.adminToken}\r\nContent-Type: application/scim+json\r\nContent-Length: 1000\r\n\r\n{"schemas":`,
      );
      // a byte every 200 ms: never idle, never done
      const drip = setInterval(() => c.socket.writable && c.socket.write(' '), 200);
      const ms = await c.closed;
      clearInterval(drip);
      expect(ms).toBeGreaterThanOrEqual(900);
      expect(ms).toBeLessThan(4000);
      const res = parseRawResponse(c.received());
      expect(res.status).toBe(408);
      expect(res.body).toMatchObject({ schemas: [ERROR_URN], status: '408' });
    } finally {
      await s.close();
    }
  });

  it('a client that never finishes its headers is cut off by headersTimeout', async () => {
    const s = await serve({ requestTimeoutMs: 5000, headersTimeoutMs: 800 });
    try {
      const c = rawClient(s.port);
      c.socket.write(`GET ${SCIM}/Users HTTP/1.1\r\nHost: x\r\n`);
      const drip = setInterval(() => c.socket.writable && c.socket.write('X-A: b\r\n'), 100);
      const ms = await c.closed;
      clearInterval(drip);
      expect(ms).toBeLessThan(3000);
      expect(parseRawResponse(c.received()).status).toBe(408);
    } finally {
      await s.close();
    }
  });

  it('connections beyond maxConnections are closed at once', async () => {
    const s = await serve({ maxConnections: 2 });
    try {
      const a = rawClient(s.port);
      const b = rawClient(s.port);
      await Promise.all([a, b].map((c) => new Promise((r) => c.socket.once('connect', r))));
      const third = rawClient(s.port);
      expect(await third.closed).toBeLessThan(2000);
      expect(third.received()).toBe('');
      a.socket.destroy();
      b.socket.destroy();
    } finally {
      await s.close();
    }
  });
});

describe('logging of deliberate answers', () => {
  it('/Me (501) is not logged as an error and has no stack trace', async () => {
    const res = await t.http.get('/Me').set('X-Request-Id', 'me-501');
    expect(res.status).toBe(501);
    const lines = t.logs().filter((l) => l.requestId === 'me-501');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 20, status: 501, msg: 'request rejected' });
    expect(lines[0]).not.toHaveProperty('err');
    expect(JSON.stringify(lines[0])).not.toMatch(/\bat .*:\d+:\d+/);
  });

  it('rejected input is never echoed into the log, only status and scimType', async () => {
    const marker = 'MARKER-c0ffee';
    await t.http.get(`/Users?filter=${encodeURIComponent(`userName eq ${marker}`)}`).set('X-Request-Id', 'bad-filter');
    await t.http.post('/Users', userBody(`x\u0000${marker}`)).set('X-Request-Id', 'bad-body');
    await t.http.get(`/Users/${marker}`).set('X-Request-Id', 'not-found');
    expect(t.logText()).not.toContain(marker);
    const bad = t.logs().find((l) => l.requestId === 'bad-filter');
    expect(bad).toMatchObject({ status: 400, scimType: 'invalidFilter', msg: 'request rejected' });
  });
});
