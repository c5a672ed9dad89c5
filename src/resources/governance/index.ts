// Agent governance, wired: the hooks every resource type gets, the scheduler, and the pieces the
// HTTP routes use (certifications, activity, audit events, compliance report). app.ts creates one
// Governance per server, hands `hooks()` to the ResourceService, then binds the service back.

import type { Logger } from 'pino';
import type { GovernancePolicy } from '../../agents/policy.js';
import type { SchemaRegistry } from '../../scim/registry.js';
import type { Store, StoredResource } from '../../store/types.js';
import type { Clock } from '../context.js';
import { composeHooks, type ResourceHooks } from '../hooks.js';
import type { ResourceService } from '../service.js';
import { agentHooks, groupHooks, userHooks } from '../type-hooks.js';
import { agentGovernanceHooks, type GovernanceDeps } from './agent-hooks.js';
import { governanceContext } from './common.js';
import { auditEventHooks, catalogueHooks, groupRevokeOnly, userGovernanceHooks } from './other-hooks.js';
import { GovernanceScheduler } from './scheduler.js';

export interface GovernanceOptions {
  policy: GovernancePolicy;
  registry: SchemaRegistry;
  store: Store;
  clock: Clock;
  logger?: Logger;
  /** how often the scheduler runs (ms) */
  intervalMs: number;
  /** agents' User projections are listed on the main /Users too (else only in the agents-view) */
  agentsInMainUsers?: boolean;
}

export class Governance {
  readonly deps: GovernanceDeps;
  readonly scheduler: GovernanceScheduler;
  readonly #agentRules: ResourceHooks;
  readonly #agentsInMainUsers: boolean;
  #service: ResourceService | undefined;

  constructor(o: GovernanceOptions) {
    this.deps = { policy: o.policy, registry: o.registry, store: o.store, clock: o.clock, requestSweep: () => this.scheduler.requestSweep() };
    this.#agentRules = agentGovernanceHooks(this.deps);
    this.#agentsInMainUsers = o.agentsInMainUsers ?? true;
    this.scheduler = new GovernanceScheduler({
      deps: this.deps,
      service: () => this.service,
      repairProjection: (row) => this.repairProjection(row),
      intervalMs: o.intervalMs,
      ...(o.logger ? { logger: o.logger } : {}),
    });
  }

  get policy(): GovernancePolicy {
    return this.deps.policy;
  }

  get service(): ResourceService {
    if (!this.#service) throw new Error('governance is not bound to a ResourceService yet');
    return this.#service;
  }

  bind(service: ResourceService): void {
    this.#service = service;
  }

  /**
   * The hooks of every resource type. `agentLast` (the signed-record hooks) runs after the
   * governance rules, so that it signs the agent exactly as it will be stored.
   */
  hooks(agentLast?: ResourceHooks): Record<string, ResourceHooks> {
    const service = () => this.service;
    return {
      User: composeHooks(userHooks, userGovernanceHooks(this.deps, service, this.#agentsInMainUsers)),
      Group: composeHooks(groupRevokeOnly, groupHooks),
      Agent: composeHooks(agentHooks, this.#agentRules, ...(agentLast ? [agentLast] : [])),
      Entitlement: catalogueHooks(this.deps, 'Entitlement'),
      Role: catalogueHooks(this.deps, 'Role'),
      AuditEvent: auditEventHooks,
    };
  }

  /** Brings an agent's User projection in line with the agent (a repair; normally never needed). */
  async repairProjection(row: StoredResource): Promise<boolean> {
    const at = this.deps.clock.now().toISOString();
    const effects = await this.#agentRules.effects?.(row.data, {
      store: this.deps.store,
      ctx: governanceContext(`repair-${row.id}`),
      previous: { ...row.data, id: row.id },
      version: row.version,
      at,
      id: row.id,
      action: 'repair',
      guards: [],
    });
    const writes = effects?.writes ?? [];
    if (writes.length === 0) return false;
    await this.deps.store.commit({ writes, audit: [], outbox: [] });
    return true;
  }
}
