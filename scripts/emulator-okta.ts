// Standalone Okta emulator: `npx tsx scripts/emulator-okta.ts [options]`.
// Prints the org URL and API token (as AGENTROSTER_* environment assignments), then serves until
// interrupted. Options:
//   --port N                 listen on 127.0.0.1:N (default: a free port)
//   --token T                SSWS API token (default: random)
//   --search-lag-ms N        how far `search=` lags behind writes (default 1500)
//   --max-concurrent N       org concurrency ceiling (default 75)
//   --writes-per-minute N    one shared quota for all management writes (the benchmark setting)
//   --latency-ms N           artificial processing time per request
//   --oauth-key-out PATH     register an OAuth service app with every scope; write its private key (PEM)
//   --hook-ca PATH           PEM CA to trust for https event-hook endpoints
//   --allow-http-hooks       accept http:// event-hook URIs (Okta requires HTTPS)
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { exportJWK } from 'jose';
import { startOktaEmulator, writeLimitedBuckets } from '../test/emulators/okta/index.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    token: { type: 'string' },
    'search-lag-ms': { type: 'string' },
    'max-concurrent': { type: 'string' },
    'writes-per-minute': { type: 'string' },
    'latency-ms': { type: 'string' },
    'oauth-key-out': { type: 'string' },
    'hook-ca': { type: 'string' },
    'allow-http-hooks': { type: 'boolean', default: false },
  },
});

const num = (v: string | undefined): number | undefined => (v === undefined ? undefined : Number(v));
const port = num(values.port);
const searchLagMs = num(values['search-lag-ms']);
const maxConcurrent = num(values['max-concurrent']);
const writes = num(values['writes-per-minute']);
const latencyMs = num(values['latency-ms']);

const emu = await startOktaEmulator({
  ...(port !== undefined ? { port } : {}),
  ...(values.token ? { apiToken: values.token } : {}),
  ...(searchLagMs !== undefined ? { searchLagMs } : {}),
  ...(maxConcurrent !== undefined ? { maxConcurrentRequests: maxConcurrent } : {}),
  ...(writes !== undefined ? { buckets: writeLimitedBuckets(writes) } : {}),
  ...(latencyMs !== undefined ? { latencyMs } : {}),
  eventHooks: {
    allowHttp: values['allow-http-hooks'] ?? false,
    ...(values['hook-ca'] ? { trustedCa: readFileSync(values['hook-ca']) } : {}),
  },
});

const lines = [`AGENTROSTER_OKTA_ORG_URL=${emu.orgUrl}`, `AGENTROSTER_OKTA_TOKEN=${emu.apiToken}`];
if (values['oauth-key-out']) {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(values['oauth-key-out'], privateKey.export({ type: 'pkcs1', format: 'pem' }), { mode: 0o600 });
  const clientId = emu.oauth.registerClient({
    jwks: [{ ...(await exportJWK(publicKey)), kid: 'emulator-key-1', alg: 'RS256', use: 'sig' }],
    scopes: [
      'okta.users.read',
      'okta.users.manage',
      'okta.groups.read',
      'okta.groups.manage',
      'okta.userTypes.read',
      'okta.userTypes.manage',
      'okta.schemas.read',
      'okta.schemas.manage',
      'okta.logs.read',
      'okta.eventHooks.read',
      'okta.eventHooks.manage',
      'okta.aiAgents.read',
      'okta.aiAgents.manage',
    ],
  });
  lines.push(`AGENTROSTER_OKTA_CLIENT_ID=${clientId}`, `AGENTROSTER_OKTA_PRIVATE_KEY_PATH=${values['oauth-key-out']}`);
}
process.stdout.write(`${lines.join('\n')}\n`);
process.stderr.write(`Okta emulator listening on ${emu.orgUrl} (Ctrl-C to stop)\n`);

const stop = () => {
  void emu.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
