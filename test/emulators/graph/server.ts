/**
 * startGraphEmulator(): two HTTPS listeners with a CA-signed certificate —
 *   `url`           the Graph host (…/v1.0, …/beta), what AGENTROSTER_ENTRA_GRAPH_URL points at;
 *   `authorityHost` the Entra login host, what AGENTROSTER_ENTRA_AUTHORITY_HOST points at.
 */
import { randomBytes } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { GRAPH_APP_ID, peekAppId, TokenService, type ClientRegistration, type ClientSpec } from './auth.js';
import { runBatch } from './batch.js';
import { ensureCa } from './certs.js';
import { GraphError, graphErrorResponse, type GraphResponse } from './errors.js';
import { canonicalBody, Faults, type Counters, type LogEntry, type MatchInfo } from './faults.js';
import { GraphService, injectedResponse } from './graph.js';
import { handleLogin } from './login.js';
import { TokenSigner } from './odata.js';
import { DEFAULT_CLIENT_ROLES } from './permissions.js';
import { defaultConfig, DirectoryStore, type EmulatorConfig } from './store.js';
import { randomUUID } from 'node:crypto';

export const DEFAULT_TENANT_ID = '11111111-2222-4333-8444-555555555555';
export const DEFAULT_CLIENT_ID = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee';
export const DEFAULT_CLIENT_SECRET = 'emulator-client-secret';

export interface GraphEmulatorOptions {
  tenantId?: string;
  /** domain names that may stand in for the tenant id in authority URLs */
  tenantDomains?: string[];
  /** listen address (default 127.0.0.1; the certificate covers 127.0.0.1, ::1 and localhost) */
  host?: string;
  /** Graph port (default 0 = any free port) */
  port?: number;
  /** login (authority) port (default 0 = any free port) */
  authorityPort?: number;
  /** where the CA is cached (default os.tmpdir()/agentroster-graph-emulator-v1) */
  caDir?: string;
  /** access token lifetime; MSAL treats ≤ 300 s as already expired (default 3599) */
  tokenLifetimeSeconds?: number;
  /** app registrations; default: one client with DEFAULT_CLIENT_ID / DEFAULT_CLIENT_SECRET and DEFAULT_CLIENT_ROLES */
  clients?: ClientSpec[];
  config?: Partial<EmulatorConfig>;
  clock?: () => number;
}

export interface GraphEmulator {
  /** Graph base URL without version, e.g. https://127.0.0.1:40123 */
  url: string;
  /** login host, e.g. https://127.0.0.1:40124 */
  authorityHost: string;
  /** `${authorityHost}/${tenantId}` — the MSAL authority */
  authority: string;
  /** `host:port` of the authority, for MSAL `knownAuthorities` */
  knownAuthority: string;
  /** `${url}/.default` — the scope a client of this Graph host requests */
  scope: string;
  caCertPem: string;
  /** file to put in NODE_EXTRA_CA_CERTS */
  caCertPath: string;
  tenantId: string;
  /** the registration used when `clients` is not given */
  defaultClient: { clientId: string; clientSecret: string; roles: string[] };
  /** the directory: seed*, admin*, views, and `config` (replication lag, write limit, quotas…) */
  state: DirectoryStore;
  faults: Faults;
  /** live counters (replaced by faults.resetCounters()) */
  readonly counters: Counters;
  /** every operation received, in order */
  readonly log: LogEntry[];
  registerClient(spec: ClientSpec): ClientRegistration;
  close(): Promise<void>;
}

function lowerHeaders(h: IncomingMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function send(res: ServerResponse, r: { status: number; headers: Record<string, string>; body?: unknown }): void {
  const payload = r.status === 204 || r.body === undefined ? undefined : JSON.stringify(r.body);
  res.writeHead(r.status, { ...r.headers, ...(payload !== undefined ? { 'content-length': Buffer.byteLength(payload) } : {}) });
  res.end(payload);
}

/** Keep `$` and quotes literal in paths whichever way the client escaped them. */
const normalisePath = (p: string): string => p.replace(/%24/gi, '$').replace(/%27/g, "'").replace(/%28/g, '(').replace(/%29/g, ')');

export async function startGraphEmulator(opts: GraphEmulatorOptions = {}): Promise<GraphEmulator> {
  const ca = await ensureCa(opts.caDir);
  const host = opts.host ?? '127.0.0.1';
  const clock = opts.clock ?? Date.now;
  const tenantId = (opts.tenantId ?? DEFAULT_TENANT_ID).toLowerCase();
  const config: EmulatorConfig = { ...defaultConfig(), ...opts.config };
  const store = new DirectoryStore(tenantId, config, clock);
  const faults = new Faults(
    clock,
    () => config.writeRateLimit,
    (v) => {
      config.writeRateLimit = v;
    },
    (ms, indexMs) => {
      config.replicationLagMs = ms;
      config.indexLagMs = indexMs ?? ms;
    },
    (status) => {
      store.deltaGeneration++;
      store.deltaInvalidStatus = status;
    },
    () => config.resourceUnitQuota,
    (v) => {
      config.resourceUnitQuota = v;
    },
  );
  const tls = { key: ca.serverKeyPem, cert: ca.serverCertPem };

  // listen first: the token service needs the Graph URL as an accepted resource
  const graphServer = https.createServer(tls);
  const loginServer = https.createServer(tls);
  await Promise.all([
    new Promise<void>((resolve) => graphServer.listen(opts.port ?? 0, host, resolve)),
    new Promise<void>((resolve) => loginServer.listen(opts.authorityPort ?? 0, host, resolve)),
  ]);
  const hostPart = host.includes(':') ? `[${host}]` : host;
  const graphPort = (graphServer.address() as AddressInfo).port;
  const loginPort = (loginServer.address() as AddressInfo).port;
  const url = `https://${hostPart}:${graphPort}`;
  const authorityHost = `https://${hostPart}:${loginPort}`;
  const graphAliases = [url, `https://localhost:${graphPort}`, `https://127.0.0.1:${graphPort}`];

  const tokens = new TokenService(tenantId, opts.tenantDomains ?? ['contoso.onmicrosoft.com'], graphAliases, opts.tokenLifetimeSeconds ?? 3599, clock);
  const defaultClient = { clientId: DEFAULT_CLIENT_ID, clientSecret: DEFAULT_CLIENT_SECRET, roles: [...DEFAULT_CLIENT_ROLES] };
  if (opts.clients) opts.clients.forEach((c) => tokens.register(c));
  else tokens.register({ clientId: defaultClient.clientId, secrets: [defaultClient.clientSecret], roles: defaultClient.roles, displayName: 'agentroster (emulator default client)' });

  const service = new GraphService({ store, signer: new TokenSigner(randomBytes(32)), graphUrl: url }, faults);
  const audiences = ['https://graph.microsoft.com', GRAPH_APP_ID, ...graphAliases];

  graphServer.on('request', (req: IncomingMessage, res: ServerResponse) => {
    void onGraph(req, res).catch((e: unknown) => {
      if (!res.headersSent) send(res, { status: 500, headers: { 'content-type': 'application/json' }, body: { error: { code: 'EmulatorError', message: String(e) } } });
    });
  });
  loginServer.on('request', (req: IncomingMessage, res: ServerResponse) => {
    void onLogin(req, res).catch((e: unknown) => {
      if (!res.headersSent) send(res, { status: 500, headers: { 'content-type': 'application/json' }, body: { error: 'server_error', error_description: String(e) } });
    });
  });

  async function onLogin(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req);
    const u = new URL(req.url ?? '/', authorityHost);
    const r = handleLogin(tokens, faults, {
      method: (req.method ?? 'GET').toUpperCase(),
      path: u.pathname,
      query: u.searchParams,
      headers: lowerHeaders(req.headers),
      body,
      origin: authorityHost,
    });
    send(res, r);
  }

  async function onGraph(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const headers = lowerHeaders(req.headers);
    const method = (req.method ?? 'GET').toUpperCase();
    const u = new URL(req.url ?? '/', url);
    const pathname = normalisePath(u.pathname);
    const vm = /^\/(v1\.0|beta)(\/.*)?$/i.exec(pathname);
    const version = vm?.[1]?.toLowerCase() === 'beta' ? 'beta' : 'v1.0';
    const path = vm?.[2] ?? pathname;
    const info: MatchInfo = { target: 'graph', method, path, inBatch: false, clientId: peekAppId(headers['authorization']) };
    const entry = faults.begin(info, u.search.replace(/^\?/, ''), { requestKey: canonicalBody(raw) });
    const clientRequestId = headers['client-request-id'];
    let response: GraphResponse;
    let drop = false;
    const failure = faults.takeFailure(entry);
    if (failure) {
      response = injectedResponse(failure, clientRequestId);
    } else {
      try {
        if (!vm) {
          const seg = pathname.split('/')[1] ?? '';
          throw new GraphError(400, 'BadRequest', `Invalid version: ${seg}`);
        }
        const claims = tokens.verifyBearer(headers['authorization'], audiences);
        let body: unknown;
        if (raw.trim() !== '') {
          const ct = (headers['content-type'] ?? '').toLowerCase();
          try {
            if (!ct.startsWith('application/json')) throw new Error('not json');
            body = JSON.parse(raw);
          } catch {
            throw new GraphError(400, 'BadRequest', 'Unable to read JSON request payload. Please ensure Content-Type header is set and payload is of valid JSON format.');
          }
        }
        if (/^\/\$batch$/i.test(path)) {
          if (method !== 'POST') throw new GraphError(405, 'Request_BadRequest', 'Specified HTTP method is not allowed for the request target.');
          const outcome = runBatch(service, faults, { version, headers, claims, body, envelopeSeq: entry.seq }, config.shuffleBatchResponses);
          response = outcome.response;
          drop = outcome.drop;
        } else {
          response = service.execute({ method, path, version, query: u.searchParams, headers, body, claims, inBatch: false }, entry);
        }
        if (faults.shouldDrop(info)) drop = true;
      } catch (e) {
        if (!(e instanceof GraphError)) throw e;
        response = graphErrorResponse(e, clientRequestId, randomUUID());
      }
    }
    faults.finish(entry, response.status, response);
    if (drop) {
      faults.noteDropped(entry);
      req.socket.destroy();
      return;
    }
    send(res, response);
  }

  const emulator: GraphEmulator = {
    url,
    authorityHost,
    authority: `${authorityHost}/${tenantId}`,
    knownAuthority: new URL(authorityHost).host,
    scope: `${url}/.default`,
    caCertPem: ca.caCertPem,
    caCertPath: ca.caCertPath,
    tenantId,
    defaultClient,
    state: store,
    faults,
    get counters() {
      return faults.counters;
    },
    get log() {
      return faults.log;
    },
    registerClient: (spec) => tokens.register(spec),
    close: async () => {
      for (const s of [graphServer, loginServer]) s.closeAllConnections();
      await Promise.all(
        [graphServer, loginServer].map((s) => new Promise<void>((resolve) => s.close(() => resolve()))),
      );
    },
  };
  return emulator;
}
