// Optional second projection: Okta for AI Agents (/workload-principals/api/v1/ai-agents; Beta, needs
// the subscription; AGENTROSTER_OKTA_AI_AGENTS=true). Every write is asynchronous: 202 with an empty
// body and `Location:` an operation, polled until COMPLETED or FAILED (okta.md §1.1). Raw HTTP
// through the SDK client: `registerAIAgent()` returns undefined and loses the Location.
//
// The object has a name and a description only (no custom attributes, no entitlements, no public
// owners API), so the user projection stays the one OIG certifies; this one makes the agent visible
// in Okta's AI-agent inventory and follows its lifecycle: registered (STAGED), ACTIVE while the agent
// is active, INACTIVE otherwise, deleted with it. `profile.name` is unique in the org: it is derived
// from the agentUserName, and a register whose answer was lost is found again by that name.

import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import type { DesiredAgent } from '../../sync/connector.js';
import { PermanentError, RetryableError } from '../../sync/errors.js';
import type { OktaApi } from './api.js';
import { oktaFailure, toSyncError } from './errors.js';
import type { OktaSettings } from './settings.js';

export interface AiState {
  id?: string;
  status?: 'STAGED' | 'ACTIVE' | 'INACTIVE';
  /** hash of the applied name and description */
  profile?: string;
  /** a register was sent at this time and its outcome is not known yet */
  intent?: string;
  /** an operation still running when we stopped polling: polled first next time */
  op?: { url: string; kind: 'register' | 'update' | 'activate' | 'deactivate' | 'delete' };
}

interface Operation {
  id?: string;
  status?: string;
  type?: string;
  resource?: { id?: string; status?: string };
  errorDetails?: { code?: string; message?: string };
}

const BASE = '/workload-principals/api/v1';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class AiAgentProjection {
  #closed = false;

  constructor(
    private readonly api: OktaApi,
    private readonly s: OktaSettings,
    private readonly log?: Logger,
  ) {}

  nameOf(d: DesiredAgent): string {
    const n = d.displayName && d.displayName !== d.agentUserName ? `${d.displayName} (${d.agentUserName})` : d.agentUserName;
    return n.length >= 3 ? n.slice(0, 255) : `${n} agent`;
  }

  #profile(d: DesiredAgent): { name: string; description: string } {
    const desc = [`agentroster agent ${d.id}`, d.description].filter(Boolean).join(': ');
    return { name: this.nameOf(d), description: desc.slice(0, 1024) };
  }

  #hash(p: unknown): string {
    return createHash('sha256').update(JSON.stringify(p)).digest('base64url').slice(0, 16);
  }

  #error(e: unknown, what: string): unknown {
    const f = oktaFailure(e);
    if (f && f.status === 401 && f.code === 'E0000015') {
      return new PermanentError(`${what}: Okta for AI Agents is not enabled in this org (E0000015); subscribe to it, or set AGENTROSTER_OKTA_AI_AGENTS=false`, f.code, { cause: f });
    }
    return toSyncError(e, what, 'aiAgents');
  }

  /** Send an asynchronous request and wait for its operation; undefined: still running (state.op set). */
  async #async(
    st: AiState,
    kind: NonNullable<AiState['op']>['kind'],
    method: string,
    path: string,
    body: unknown,
    save: (st: AiState) => Promise<void>,
    headers: Record<string, string> = {},
  ): Promise<Operation | undefined> {
    let location: string | null;
    try {
      const res = await this.api.raw(method, path, body, headers);
      location = res.headers.get('location');
    } catch (e) {
      throw this.#error(e, `${kind} of the AI agent`);
    }
    if (!location) throw new RetryableError(`${kind} of the AI agent: Okta answered without the operation's Location`, 'aiAgentOperation');
    st.op = { url: location, kind };
    await save(st);
    return this.#poll(st);
  }

  async #poll(st: AiState): Promise<Operation | undefined> {
    const op = st.op;
    if (!op) return undefined;
    const deadline = Date.now() + this.s.operationTimeoutMs;
    for (;;) {
      let res;
      try {
        res = await this.api.raw<Operation>('GET', op.url);
      } catch (e) {
        throw this.#error(e, `polling the AI agent ${op.kind} operation`);
      }
      const o = res.body ?? {};
      if (o.status === 'COMPLETED' || o.status === 'FAILED') {
        delete st.op;
        return o;
      }
      if (Date.now() >= deadline || this.#closed) {
        throw new RetryableError(`the AI agent ${op.kind} operation is still ${o.status ?? 'running'}; polled again on the next attempt`, 'aiAgentOperation');
      }
      await sleep(this.s.operationPollMs);
    }
  }

  async #findByName(name: string): Promise<{ id: string; status?: string } | undefined> {
    try {
      const q = new URLSearchParams({ search: `profile.name eq "${name.replace(/"/g, '\\"')}"`, limit: '20' });
      const res = await this.api.raw<{ data?: { id: string; status?: string; profile?: { name?: string } }[] }>('GET', `${BASE}/ai-agents?${q.toString()}`);
      const hit = (res.body?.data ?? []).find((a) => a.profile?.name?.toLowerCase() === name.toLowerCase());
      return hit ? { id: hit.id, ...(hit.status ? { status: hit.status } : {}) } : undefined;
    } catch (e) {
      throw this.#error(e, 'looking up the AI agent by name');
    }
  }

  /** Converge the AI agent of `d`; `save` persists progress (ids, running operations). */
  async converge(d: DesiredAgent, stIn: AiState, details: string[], save: (st: AiState) => Promise<void>): Promise<AiState> {
    const st: AiState = { ...stIn };
    const profile = this.#profile(d);
    // an operation left running: its outcome first
    if (st.op) {
      const kind = st.op.kind;
      const o = await this.#poll(st);
      if (kind === 'register' && o?.status === 'COMPLETED' && o.resource?.id) {
        st.id = o.resource.id;
        st.status = 'STAGED';
        st.profile = this.#hash(profile);
        delete st.intent;
      }
      await save(st);
    }
    if (!st.id) {
      if (st.intent) {
        const found = await this.#findByName(profile.name);
        if (found) {
          st.id = found.id;
          st.status = (found.status as AiState['status']) ?? 'STAGED';
          delete st.intent;
          details.push(`AI agent ${found.id} found by name (its register got no answer)`);
        } else {
          // the operation may still be running: registering again now could make a second agent
          const waited = Date.now() - Date.parse(st.intent);
          if (waited < this.s.operationTimeoutMs) {
            throw new RetryableError(
              `the last register of the AI agent "${profile.name}" got no answer and the agent is not visible yet; looked up again before registering`,
              'outcomeUnknown',
              this.s.operationTimeoutMs - waited,
            );
          }
        }
      }
      if (!st.id) {
        st.intent = new Date().toISOString();
        await save(st);
        const o = await this.#async(st, 'register', 'POST', `${BASE}/ai-agents`, { profile }, save);
        if (o?.status === 'FAILED') {
          const found = /already exists/i.test(o.errorDetails?.message ?? '') ? await this.#findByName(profile.name) : undefined;
          if (!found) throw new PermanentError(`registering the AI agent "${profile.name}": ${o.errorDetails?.code ?? ''} ${o.errorDetails?.message ?? 'failed'}`, 'aiAgentRegister');
          st.id = found.id;
        } else if (o?.resource?.id) st.id = o.resource.id;
        if (!st.id) throw new RetryableError('registering the AI agent: the operation completed without the agent id', 'aiAgentRegister');
        st.status = 'STAGED';
        st.profile = this.#hash(profile);
        delete st.intent;
        await save(st);
        details.push(`registered AI agent ${st.id}`);
      }
    }
    const id = st.id;
    if (st.profile !== this.#hash(profile)) {
      const o = await this.#async(st, 'update', 'PATCH', `${BASE}/ai-agents/${id}`, { profile }, save, { 'Content-Type': 'application/merge-patch+json' });
      if (o?.status === 'FAILED') throw new PermanentError(`updating AI agent ${id}: ${o.errorDetails?.message ?? 'failed'}`, 'aiAgentUpdate');
      st.profile = this.#hash(profile);
      details.push(`AI agent ${id} updated`);
    }
    const want = d.enabled ? 'ACTIVE' : st.status === 'STAGED' ? 'STAGED' : 'INACTIVE';
    if (want !== st.status) {
      const action = want === 'ACTIVE' ? 'activate' : 'deactivate';
      const o = await this.#async(st, action, 'POST', `${BASE}/ai-agents/${id}/lifecycle/${action}`, undefined, save);
      if (o?.status === 'FAILED') throw new PermanentError(`${action} of AI agent ${id}: ${o.errorDetails?.message ?? 'failed'}`, 'aiAgentLifecycle');
      st.status = want;
      details.push(`AI agent ${id} ${want}`);
    }
    return st;
  }

  async remove(st: AiState, details: string[]): Promise<void> {
    if (!st.id) return;
    try {
      const res = await this.api.raw('DELETE', `${BASE}/ai-agents/${st.id}`);
      const location = res.headers.get('location');
      if (location) {
        st.op = { url: location, kind: 'delete' };
        await this.#poll(st);
      }
      details.push(`deleted AI agent ${st.id}`);
    } catch (e) {
      if (oktaFailure(e)?.notFound) return;
      throw this.#error(e, `deleting AI agent ${st.id}`);
    }
    this.log?.debug({ aiAgent: st.id }, 'AI agent deleted');
  }

  close(): void {
    this.#closed = true;
  }
}
