/**
 * Standalone Graph/Entra emulator for demos:  npx tsx test/emulators/graph/main.ts
 *
 * Env: GRAPH_EMULATOR_PORT (default 8443), GRAPH_EMULATOR_AUTHORITY_PORT (default 8444),
 *      GRAPH_EMULATOR_WRITES_PER_SECOND (default 20; 0 disables), GRAPH_EMULATOR_REPLICATION_LAG_MS (default 20),
 *      GRAPH_EMULATOR_INDEX_LAG_MS (default 50).
 * Seeds a blueprint, two sponsors (a user and a Microsoft 365 group), an entitlement group and a
 * resource app with an app role, and prints the settings agentroster needs.
 */
import { startGraphEmulator } from './server.js';
import { DEFAULT_INDEX_LAG_MS, DEFAULT_REPLICATION_LAG_MS } from './store.js';

const num = (name: string, dflt: number): number => {
  const v = process.env[name];
  return v === undefined || v === '' ? dflt : Number(v);
};

const writes = num('GRAPH_EMULATOR_WRITES_PER_SECOND', 20);
const emu = await startGraphEmulator({
  port: num('GRAPH_EMULATOR_PORT', 8443),
  authorityPort: num('GRAPH_EMULATOR_AUTHORITY_PORT', 8444),
  config: {
    writeRateLimit: writes > 0 ? { limit: writes, windowMs: 1000 } : null,
    replicationLagMs: num('GRAPH_EMULATOR_REPLICATION_LAG_MS', DEFAULT_REPLICATION_LAG_MS),
    indexLagMs: num('GRAPH_EMULATOR_INDEX_LAG_MS', DEFAULT_INDEX_LAG_MS),
  },
});
const { blueprint } = emu.state.seedBlueprint({ displayName: 'agentroster blueprint', appId: 'b1b1b1b1-0000-4000-8000-000000000001' });
const sponsor = emu.state.seedUser({ id: 'a0a0a0a0-0000-4000-8000-000000000001', displayName: 'Ada Sponsor', userPrincipalName: 'ada@contoso.com', employeeId: 'E1001' });
const sponsorGroup = emu.state.seedGroup({ id: 'a0a0a0a0-0000-4000-8000-000000000002', displayName: 'Agent Sponsors', groupTypes: ['Unified'] });
const entitlement = emu.state.seedGroup({ id: 'a0a0a0a0-0000-4000-8000-000000000003', displayName: 'Finance Readers' });
const resource = emu.state.seedServicePrincipal({
  id: 'a0a0a0a0-0000-4000-8000-000000000004',
  displayName: 'Finance API',
  appRoles: [{ id: 'a0a0a0a0-0000-4000-8000-000000000005', value: 'Ledger.Read', allowedMemberTypes: ['Application'] }],
});

const lines = [
  'Graph/Entra emulator running',
  `  NODE_EXTRA_CA_CERTS=${emu.caCertPath}`,
  `  AGENTROSTER_ENTRA_AUTHORITY_HOST=${emu.authorityHost}`,
  `  AGENTROSTER_ENTRA_GRAPH_URL=${emu.url}`,
  `  AGENTROSTER_ENTRA_TENANT_ID=${emu.tenantId}`,
  `  AGENTROSTER_ENTRA_CLIENT_ID=${emu.defaultClient.clientId}`,
  `  AGENTROSTER_ENTRA_CLIENT_SECRET=${emu.defaultClient.clientSecret}`,
  `  AGENTROSTER_ENTRA_BLUEPRINT_ID=${String(blueprint.data['appId'])}`,
  'Seeded:',
  `  sponsor user        ${sponsor.id} (ada@contoso.com, employeeId E1001)`,
  `  sponsor M365 group  ${sponsorGroup.id}`,
  `  entitlement group   ${entitlement.id}`,
  `  resource SP         ${resource.id} (app role Ledger.Read ${String((resource.data['appRoles'] as Array<{ id: string }>)[0]?.id)})`,
  `Write limit: ${writes > 0 ? `${writes}/s per app` : 'off'}. Ctrl-C to stop.`,
];
console.log(lines.join('\n'));

const stop = (): void => {
  const c = emu.counters;
  console.log(`\nrequests ${c.graphOperations}, writes ${c.writes}, 429s ${c.throttled}, early retries ${c.earlyRetries}, tokens ${c.tokensIssued}`);
  void emu.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
