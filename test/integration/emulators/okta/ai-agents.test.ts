// "Okta for AI Agents" (/workload-principals/api/v1): asynchronous 202 + Location + operation polling.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Client, DefaultRequestExecutor } from '@okta/okta-sdk-nodejs';
import { startOktaEmulator, type OktaEmulator } from '../../../emulators/okta/index.js';
import { raw, rejection, sdk, sleep } from './helpers.js';

let emu: OktaEmulator;

beforeAll(async () => {
  emu = await startOktaEmulator({ aiAgents: { operationStepMs: 30 } });
});
afterAll(async () => emu.close());

/** registerAIAgent() returns undefined, so the Location header is captured from the executor's events. */
function clientCapturingLocation(): { okta: Client; lastLocation: () => string | undefined } {
  const executor = new DefaultRequestExecutor({ maxRetries: 0, requestTimeout: 0 });
  let location: string | undefined;
  executor.on('response', (res: { headers: { get(n: string): string | null } }) => {
    const l = res.headers.get('location');
    if (l) location = l;
  });
  return { okta: sdk(emu, { executor }), lastLocation: () => location };
}

async function waitForOperation(okta: Client, operationId: string): Promise<Record<string, unknown>> {
  for (let i = 0; i < 50; i++) {
    const op = (await okta.agentRegistrationApi.getAIAgentOperation({ operationId })) as unknown as Record<string, unknown>;
    if (op['status'] === 'COMPLETED' || op['status'] === 'FAILED') return op;
    await sleep(20);
  }
  throw new Error('operation did not finish');
}

describe('AI agents', () => {
  it('registers asynchronously: 202, empty body, Location of an operation that completes with a STAGED wlp… agent', async () => {
    const res = await raw(emu, '/workload-principals/api/v1/ai-agents', {
      method: 'POST',
      body: JSON.stringify({ profile: { name: 'Raw Agent', description: 'registered over raw HTTP' } }),
    });
    expect(res.status).toBe(202);
    expect(await res.text()).toBe('');
    expect(res.headers.get('location')).toMatch(new RegExp(`^${emu.orgUrl}/workload-principals/api/v1/operations/op-`));
    const early = (await (await raw(emu, res.headers.get('location') as string)).json()) as Record<string, unknown>;
    expect(['SCHEDULED', 'IN_PROGRESS']).toContain(early['status']);
    expect(early['resource']).toBeUndefined();

    const { okta, lastLocation } = clientCapturingLocation();
    const returned = await okta.agentRegistrationApi.registerAIAgent({ body: { profile: { name: 'Invoice Bot', description: 'Pays invoices' } } });
    expect(returned).toBeUndefined();
    const operationId = (lastLocation() as string).split('/').pop() as string;
    const op = await waitForOperation(okta, operationId);
    expect(op).toMatchObject({ type: 'ai-agent:Register', status: 'COMPLETED' });
    const resource = op['resource'] as { id: string; type: string; status: string };
    expect(resource.id).toMatch(/^wlp[A-Za-z0-9]{17}$/);
    expect([resource.type, resource.status]).toEqual(['AI_AGENT', 'STAGED']);

    const agent = await okta.agentRegistrationApi.getAIAgent({ agentId: resource.id });
    expect([agent.status, agent.profile?.name]).toEqual(['STAGED', 'Invoice Bot']);
    const list = await okta.agentRegistrationApi.listAIAgents({ limit: 1 });
    expect(Object.keys(list).sort()).toEqual(['_links', 'data']);
    expect(list.data).toHaveLength(1);
    expect((list._links as unknown as { next?: { href: string } }).next?.href).toContain('after=');
    const search = await okta.agentRegistrationApi.listAIAgents({ search: 'profile.name sw "Invoice"' });
    expect(search.data?.map((a) => a.id)).toEqual([resource.id]);
    expect(emu.state.log.all().some((e) => e.eventType === 'workload_principal.ai_agent.register' && e.target?.[0]?.id === resource.id)).toBe(true);
  });

  it('activates, patches (merge patch) and deletes through operations', async () => {
    const { okta, lastLocation } = clientCapturingLocation();
    await okta.agentRegistrationApi.registerAIAgent({ body: { profile: { name: 'Lifecycle Bot' } } });
    const id = ((await waitForOperation(okta, (lastLocation() as string).split('/').pop() as string))['resource'] as { id: string }).id;

    await okta.agentRegistrationApi.activateAIAgent({ agentId: id });
    expect(await waitForOperation(okta, (lastLocation() as string).split('/').pop() as string)).toMatchObject({ type: 'ai-agent:Activate', status: 'COMPLETED' });
    expect((await okta.agentRegistrationApi.getAIAgent({ agentId: id })).status).toBe('ACTIVE');

    const patch = await raw(emu, `/workload-principals/api/v1/ai-agents/${id}`, {
      method: 'PATCH',
      headers: { 'Content-Type': 'application/merge-patch+json' },
      body: JSON.stringify({ profile: { description: 'now described' } }),
    });
    expect(patch.status).toBe(202);
    await waitForOperation(okta, (patch.headers.get('location') as string).split('/').pop() as string);
    expect((await okta.agentRegistrationApi.getAIAgent({ agentId: id })).profile?.description).toBe('now described');

    await okta.agentRegistrationApi.deleteAIAgent({ agentId: id });
    expect(await waitForOperation(okta, (lastLocation() as string).split('/').pop() as string)).toMatchObject({ type: 'ai-agent:Delete', status: 'COMPLETED' });
    expect((await rejection(okta.agentRegistrationApi.getAIAgent({ agentId: id })))['status']).toBe(404);
  });

  it('validates profile.name synchronously (required, at least 3 characters, unique)', async () => {
    const okta = sdk(emu);
    const short = await rejection(okta.agentRegistrationApi.registerAIAgent({ body: { profile: { name: 'ab' } } }));
    expect([short['status'], short['errorCode']]).toEqual([400, 'E0000001']);
    const dup = await rejection(okta.agentRegistrationApi.registerAIAgent({ body: { profile: { name: 'invoice bot' } } }));
    expect([dup['status'], dup['errorCode']]).toEqual([400, 'E0000001']);
  });

  it('answers 401 E0000015 when the org is not subscribed to Okta for AI Agents', async () => {
    const off = await startOktaEmulator({ aiAgents: { enabled: false } });
    try {
      const e = await rejection(sdk(off).agentRegistrationApi.listAIAgents({}));
      expect([e['status'], e['errorCode']]).toEqual([401, 'E0000015']);
    } finally {
      await off.close();
    }
  });
});
