// "Okta for AI Agents" (Beta, subscription-gated): /workload-principals/api/v1/ai-agents and
// /workload-principals/api/v1/operations.
//
// Sources: okta.md §1.1 and management.yaml in okta-sdk-nodejs 8.1.0's spec: register, replace
// (PUT), patch (application/merge-patch+json), delete, activate and deactivate all answer 202 with an
// empty body and `Location: {org}/workload-principals/api/v1/operations/{id}`; the operation has
// id/type/status(SCHEDULED|IN_PROGRESS|COMPLETED|FAILED)/created/started/completed, `resource`
// {id, type:"AI_AGENT", status, _links.self} and `errorDetails` {code, message} on failure; operation
// types ai-agent:Register|Replace|Patch|Delete|Activate|Deactivate; the agent is created STAGED; lists
// are {data, _links:{self, next}} with `after`, `limit` (1..200, default 20) and `search` (`eq` on
// status and appId, `sw`/`co`/`eq` on profile.name); profile.name is required, "Unique name of the AI
// agent", minimum 3 characters (2026 release notes); scopes okta.aiAgents.read/manage. Without the
// subscription, the org answers 401 E0000015 (the error recorded for features that aren't enabled).
import express from 'express';
import {
  bodyObject,
  featureNotEnabled,
  invalidSearch,
  isRecord,
  limitParam,
  notFound,
  oktaId,
  param,
  queryOf,
  randomAlnum,
  reply,
  route,
  validationError,
  type Clock,
} from './http.js';
import { comparisons, evaluate, parseExpression } from './query.js';
import type { SystemLog } from './logs.js';
import type { OpContext } from './state.js';

export interface AiAgentRecord {
  id: string;
  seq: number;
  created: string;
  lastUpdated: string;
  status: 'STAGED' | 'ACTIVE' | 'INACTIVE';
  appId?: string;
  profile: { name: string; description?: string };
}

type OpType = 'ai-agent:Register' | 'ai-agent:Replace' | 'ai-agent:Patch' | 'ai-agent:Delete' | 'ai-agent:Activate' | 'ai-agent:Deactivate';

export interface OperationRecord {
  id: string;
  seq: number;
  type: OpType;
  status: 'SCHEDULED' | 'IN_PROGRESS' | 'COMPLETED' | 'FAILED';
  created: string;
  started?: string;
  completed?: string;
  resourceId?: string;
  errorDetails?: { code: string; message: string };
}

export interface AiAgentOptions {
  /** Org subscribed to Okta for AI Agents (otherwise 401 E0000015). */
  enabled: boolean;
  /** Time an operation spends SCHEDULED, then IN_PROGRESS, before completing. */
  operationStepMs: number;
}

export class AiAgents {
  readonly agents = new Map<string, AiAgentRecord>();
  readonly operations = new Map<string, OperationRecord>();
  private seq = 0;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(
    private readonly clock: Clock,
    private readonly log: SystemLog,
    readonly orgUrl: () => string,
    readonly opts: AiAgentOptions,
  ) {}

  private nameTaken(name: string, selfId?: string): boolean {
    return [...this.agents.values()].some((a) => a.id !== selfId && a.profile.name.toLowerCase() === name.toLowerCase());
  }

  private validateProfile(profile: unknown, partial: boolean, selfId?: string): void {
    if (!isRecord(profile)) {
      if (partial) return;
      throw validationError('profile', ['profile.name: The field cannot be left blank']);
    }
    const name = profile['name'];
    if (name === undefined && partial) return;
    if (typeof name !== 'string' || name.trim() === '') throw validationError('profile', ['profile.name: The field cannot be left blank']);
    if (name.length < 3) throw validationError('profile', ['profile.name: The field must be at least 3 characters long']);
    // [unverified wording] profile.name is documented as unique; the error text is ours.
    if (this.nameTaken(name, selfId)) {
      throw validationError('profile', ['profile.name: An object with this field already exists in the current organization']);
    }
  }

  get(id: string): AiAgentRecord {
    const a = this.agents.get(id);
    if (!a) throw notFound(id, 'AIAgent');
    return a;
  }

  /** Create an operation and run it through SCHEDULED → IN_PROGRESS → COMPLETED|FAILED. */
  private operation(type: OpType, resourceId: string | undefined, apply: () => string | undefined, ctx: OpContext): OperationRecord {
    this.seq += 1;
    const op: OperationRecord = {
      id: `op-${randomAlnum(17)}`,
      seq: this.seq,
      type,
      status: 'SCHEDULED',
      created: this.clock.iso(),
      ...(resourceId ? { resourceId } : {}),
    };
    this.operations.set(op.id, op);
    const step = this.opts.operationStepMs;
    const t1 = setTimeout(() => {
      this.timers.delete(t1);
      op.status = 'IN_PROGRESS';
      op.started = this.clock.iso();
      const t2 = setTimeout(() => {
        this.timers.delete(t2);
        try {
          const id = apply();
          if (id) op.resourceId = id;
          op.status = 'COMPLETED';
          const eventType = {
            'ai-agent:Register': 'workload_principal.ai_agent.register',
            'ai-agent:Replace': 'workload_principal.ai_agent.update',
            'ai-agent:Patch': 'workload_principal.ai_agent.update',
            'ai-agent:Delete': 'workload_principal.ai_agent.delete',
            'ai-agent:Activate': 'workload_principal.ai_agent.activate',
            'ai-agent:Deactivate': 'workload_principal.ai_agent.deactivate',
          }[type];
          const a = op.resourceId ? this.agents.get(op.resourceId) : undefined;
          this.log.emit({
            eventType,
            actor: ctx.actor,
            target: [{ id: op.resourceId ?? 'unknown', type: 'AIAgent', alternateId: a?.profile.name ?? 'unknown', displayName: a?.profile.name ?? 'unknown', detailEntry: null }],
          });
        } catch (e) {
          op.status = 'FAILED';
          op.errorDetails = { code: 'E0000001', message: e instanceof Error ? e.message : String(e) };
        }
        op.completed = this.clock.iso();
      }, step);
      this.timers.add(t2);
    }, step);
    this.timers.add(t1);
    return op;
  }

  register(body: Record<string, unknown>, ctx: OpContext): OperationRecord {
    this.validateProfile(body['profile'], false);
    const profile = body['profile'] as Record<string, unknown>;
    const id = oktaId('wlp');
    return this.operation('ai-agent:Register', undefined, () => {
      const now = this.clock.iso();
      this.seq += 1;
      this.agents.set(id, {
        id,
        seq: this.seq,
        created: now,
        lastUpdated: now,
        status: 'STAGED',
        ...(typeof body['appId'] === 'string' ? { appId: body['appId'] } : {}),
        profile: {
          name: String(profile['name']),
          ...(typeof profile['description'] === 'string' ? { description: profile['description'] } : {}),
        },
      });
      return id;
    }, ctx);
  }

  replace(id: string, body: Record<string, unknown>, ctx: OpContext): OperationRecord {
    const a = this.get(id);
    this.validateProfile(body['profile'], false, id);
    const profile = body['profile'] as Record<string, unknown>;
    return this.operation('ai-agent:Replace', id, () => {
      a.profile = {
        name: String(profile['name']),
        ...(typeof profile['description'] === 'string' ? { description: profile['description'] } : {}),
      };
      if (typeof body['appId'] === 'string') a.appId = body['appId'];
      else delete a.appId;
      a.lastUpdated = this.clock.iso();
      return undefined;
    }, ctx);
  }

  patch(id: string, body: Record<string, unknown>, ctx: OpContext): OperationRecord {
    const a = this.get(id);
    this.validateProfile(body['profile'], true, id);
    return this.operation('ai-agent:Patch', id, () => {
      // JSON merge patch: null removes.
      if ('appId' in body) {
        if (body['appId'] === null) delete a.appId;
        else if (typeof body['appId'] === 'string') a.appId = body['appId'];
      }
      const p = body['profile'];
      if (isRecord(p)) {
        if (typeof p['name'] === 'string') a.profile.name = p['name'];
        if (p['description'] === null) delete a.profile.description;
        else if (typeof p['description'] === 'string') a.profile.description = p['description'];
      }
      a.lastUpdated = this.clock.iso();
      return undefined;
    }, ctx);
  }

  setStatus(id: string, status: 'ACTIVE' | 'INACTIVE', ctx: OpContext): OperationRecord {
    const a = this.get(id);
    return this.operation(status === 'ACTIVE' ? 'ai-agent:Activate' : 'ai-agent:Deactivate', id, () => {
      a.status = status;
      a.lastUpdated = this.clock.iso();
      return undefined;
    }, ctx);
  }

  delete(id: string, ctx: OpContext): OperationRecord {
    this.get(id);
    return this.operation('ai-agent:Delete', id, () => {
      this.agents.delete(id);
      return undefined;
    }, ctx);
  }

  renderAgent(a: AiAgentRecord): Record<string, unknown> {
    return {
      id: a.id,
      created: a.created,
      lastUpdated: a.lastUpdated,
      status: a.status,
      ...(a.appId ? { appId: a.appId } : {}),
      profile: a.profile,
      _links: { self: { rel: 'self', href: `${this.orgUrl()}/workload-principals/api/v1/ai-agents/${a.id}`, method: 'GET' } },
    };
  }

  renderOperation(op: OperationRecord): Record<string, unknown> {
    const out: Record<string, unknown> = { id: op.id, type: op.type, status: op.status, created: op.created };
    if (op.started) out['started'] = op.started;
    if (op.completed) out['completed'] = op.completed;
    if (op.status === 'COMPLETED' && op.resourceId) {
      const a = this.agents.get(op.resourceId);
      out['resource'] = {
        id: op.resourceId,
        type: 'AI_AGENT',
        ...(a ? { status: a.status } : {}),
        _links: { self: { href: `${this.orgUrl()}/workload-principals/api/v1/ai-agents/${op.resourceId}` } },
      };
    }
    if (op.errorDetails) out['errorDetails'] = op.errorDetails;
    return out;
  }

  operationUrl(op: OperationRecord): string {
    return `${this.orgUrl()}/workload-principals/api/v1/operations/${op.id}`;
  }

  close(): void {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
  }
}

export function aiAgentRoutes(ctx: {
  agents: AiAgents;
  opContext: (req: express.Request, res: express.Response) => OpContext;
  scopes: { read: express.RequestHandler; manage: express.RequestHandler };
}) {
  const { agents } = ctx;
  const r = express.Router();
  r.use('/workload-principals', (_req, _res, next) => {
    if (!agents.opts.enabled) throw featureNotEnabled();
    next();
  });
  const accepted = (res: express.Response, op: OperationRecord) => {
    res.setHeader('Location', agents.operationUrl(op));
    reply(res, 202);
  };
  const base = '/workload-principals/api/v1';

  r.get(`${base}/ai-agents`, ctx.scopes.read, route((req, res) => {
    const q = queryOf(req);
    const limit = limitParam(q['limit'], 20, 200);
    let list = [...agents.agents.values()].sort((a, b) => a.seq - b.seq);
    if (q['search']) {
      const e = parseExpression(q['search']);
      for (const { attr, op } of comparisons(e)) {
        const ok = (attr === 'status' || attr === 'appId') ? op === 'eq' : attr === 'profile.name' ? ['eq', 'sw', 'co'].includes(op) : false;
        if (!ok) throw invalidSearch();
      }
      list = list.filter((a) => evaluate(e, a, true));
    }
    if (q['after']) {
      const idx = list.findIndex((a) => a.id === q['after']);
      list = idx >= 0 ? list.slice(idx + 1) : [];
    }
    const page = list.slice(0, limit);
    const selfUrl = `${agents.orgUrl()}${req.originalUrl}`;
    const links: Record<string, unknown> = { self: { rel: 'self', href: selfUrl } };
    const last = page[page.length - 1];
    if (list.length > limit && last) {
      const next = new URL(selfUrl);
      next.searchParams.set('after', last.id);
      next.searchParams.set('limit', String(limit));
      links['next'] = { rel: 'next', href: next.toString() };
    }
    reply(res, 200, { data: page.map((a) => agents.renderAgent(a)), _links: links });
  }));
  r.post(`${base}/ai-agents`, ctx.scopes.manage, route((req, res) => {
    accepted(res, agents.register(bodyObject(req), ctx.opContext(req, res)));
  }));
  r.get(`${base}/ai-agents/:agentId`, ctx.scopes.read, route((req, res) => {
    reply(res, 200, agents.renderAgent(agents.get(param(req, 'agentId'))));
  }));
  r.put(`${base}/ai-agents/:agentId`, ctx.scopes.manage, route((req, res) => {
    accepted(res, agents.replace(param(req, 'agentId'), bodyObject(req), ctx.opContext(req, res)));
  }));
  r.patch(`${base}/ai-agents/:agentId`, ctx.scopes.manage, route((req, res) => {
    accepted(res, agents.patch(param(req, 'agentId'), bodyObject(req), ctx.opContext(req, res)));
  }));
  r.delete(`${base}/ai-agents/:agentId`, ctx.scopes.manage, route((req, res) => {
    accepted(res, agents.delete(param(req, 'agentId'), ctx.opContext(req, res)));
  }));
  r.post(`${base}/ai-agents/:agentId/lifecycle/activate`, ctx.scopes.manage, route((req, res) => {
    accepted(res, agents.setStatus(param(req, 'agentId'), 'ACTIVE', ctx.opContext(req, res)));
  }));
  r.post(`${base}/ai-agents/:agentId/lifecycle/deactivate`, ctx.scopes.manage, route((req, res) => {
    accepted(res, agents.setStatus(param(req, 'agentId'), 'INACTIVE', ctx.opContext(req, res)));
  }));
  r.get(`${base}/operations`, ctx.scopes.read, route((req, res) => {
    const q = queryOf(req);
    const limit = limitParam(q['limit'], 20, 200);
    let list = [...agents.operations.values()].sort((a, b) => b.seq - a.seq); // most recent first
    if (q['after']) {
      const idx = list.findIndex((o) => o.id === q['after']);
      list = idx >= 0 ? list.slice(idx + 1) : [];
    }
    const page = list.slice(0, limit);
    const selfUrl = `${agents.orgUrl()}${req.originalUrl}`;
    const links: Record<string, unknown> = { self: { href: selfUrl } };
    const last = page[page.length - 1];
    if (list.length > limit && last) {
      const next = new URL(selfUrl);
      next.searchParams.set('after', last.id);
      links['next'] = { href: next.toString() };
    }
    reply(res, 200, { data: page.map((o) => agents.renderOperation(o)), _links: links });
  }));
  r.get(`${base}/operations/:operationId`, ctx.scopes.read, route((req, res) => {
    const op = agents.operations.get(param(req, 'operationId'));
    if (!op) throw notFound(param(req, 'operationId'), 'AIAgentOperation');
    reply(res, 200, agents.renderOperation(op));
  }));
  return r;
}
