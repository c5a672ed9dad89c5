// The optional second projection to Okta for AI Agents (AGENTROSTER_OKTA_AI_AGENTS=true): register
// (202 + operation polling), activate with the agent, deactivate when it is suspended, delete with it;
// a register whose answer was lost is found by its unique name; an org without the subscription
// parks the agent with a message (E0000015).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOktaEmulator, type OktaEmulator } from '../../emulators/okta/index.js';
import { type Harness, startHarness } from './harness.js';

let emu: OktaEmulator;
let h: Harness;
beforeAll(async () => {
  emu = await startOktaEmulator({ searchLagMs: 100, aiAgents: { operationStepMs: 20 } });
  h = await startHarness({ emulator: emu, env: { AGENTROSTER_OKTA_AI_AGENTS: 'true', AGENTROSTER_SYNC_RETIRED_DELETE_AFTER_DAYS: '0' } });
  h.connector.settings.operationPollMs = 20;
  h.connector.settings.operationTimeoutMs = 1000;
});
afterAll(async () => {
  await h?.close();
  await emu?.close();
});

const aiOf = (id: string) => [...emu.aiAgents.agents.values()].filter((a) => a.profile.description?.includes(id));

describe('Okta for AI Agents', () => {
  it('registers, activates, deactivates and deletes the AI agent along with the user', async () => {
    const s = await h.sponsor('wlp-sponsor');
    const id = await h.agent('wlp-bot', s.id, {}, { displayName: 'Workload Bot' });
    await h.setState(id, 'active');
    await h.sync();
    const [a] = aiOf(id);
    expect(a).toMatchObject({ status: 'ACTIVE', profile: { name: 'Workload Bot (wlp-bot)' } });
    expect(h.remote(id)?.status).toBe('ACTIVE');
    expect(emu.requestLog.some((r) => r.path.startsWith('/workload-principals/api/v1/operations/'))).toBe(true);

    await h.setState(id, 'suspended');
    await h.sync();
    expect(aiOf(id)[0]?.status).toBe('INACTIVE');
    expect(h.remote(id)?.status).toBe('SUSPENDED');

    await h.setState(id, 'retired');
    await h.sync();
    expect(aiOf(id)).toHaveLength(0);
    expect(h.remote(id)).toBeUndefined();
  });

  it('a register whose 202 was lost is found by name, not registered twice', async () => {
    const s = await h.sponsor('wlp-sponsor-2');
    const id = await h.agent('wlp-lost', s.id);
    await h.setState(id, 'active');
    emu.faults.dropResponseAfterCommit({ method: 'POST', path: '/workload-principals/api/v1/ai-agents' });
    await h.sync();
    expect(aiOf(id)).toHaveLength(1);
    expect(aiOf(id)[0]?.status).toBe('ACTIVE');
  });

  it('an org without the subscription (401 E0000015) parks the agent with what to do', async () => {
    emu.aiAgents.opts.enabled = false;
    try {
      const s = await h.sponsor('wlp-sponsor-3');
      const id = await h.agent('wlp-nosub', s.id);
      const r = await h.sync({ allowFailures: true });
      expect(r.errors.find((e) => e.agentId === id)?.error).toMatch(/Okta for AI Agents is not enabled.*AGENTROSTER_OKTA_AI_AGENTS=false/);
      expect(h.remote(id)).toBeDefined(); // the user projection is in place regardless
    } finally {
      emu.aiAgents.opts.enabled = true;
    }
  });
});
