// Governance hooks of the resource types around agents: Users (sponsor cascade, writes to an
// agent's projection), Groups (revoke-only callers may only remove members), the catalogue
// (a granted entry cannot be deleted; assignment counts) and AuditEvents (read-only).

import type { Person } from '../../agents/sponsor.js';
import { canonical } from '../../agents/canonical.js';
import { isObj, type Json, objects } from '../../agents/util.js';
import { forbidden, ScimError } from '../../scim/errors.js';
import type { StoredResource } from '../../store/types.js';
import type { ResourceHooks } from '../hooks.js';
import type { ResourceService } from '../service.js';
import type { GovernanceDeps } from './agent-hooks.js';
import { sponsorCascade } from './cascade.js';
import type { Filter } from '../../scim/filter/ast.js';
import type { RequestContext } from '../context.js';
import { actorKind, AGENT_USER, count, eq, type GovContext, isAgentProjection, personFromUser } from './common.js';
import { igaWrite } from './iga.js';
import { decorateProjection } from './projection.js';

const HIDE_PROJECTIONS: Filter = { kind: 'not', filter: eq('isAgent', true, AGENT_USER) };

export function userGovernanceHooks(deps: GovernanceDeps, service: () => ResourceService, agentsInMainUsers: boolean): ResourceHooks {
  const shown = (ctx: RequestContext) => agentsInMainUsers || (ctx as GovContext).view === 'agents';
  return {
    listFilter: (ctx) => (shown(ctx) ? undefined : HIDE_PROJECTIONS),
    visible: (data, ctx) => shown(ctx) || !isAgentProjection(data),
    async effects(data, info) {
      const prev = info.previous;
      if (!prev || isAgentProjection(prev)) return undefined;
      const row = (d: Json): StoredResource => ({ type: 'User', id: info.id, data: d, version: 0, created: '', lastModified: '' });
      const before: Person = personFromUser(row(prev));
      const after: Person | undefined = data ? personFromUser(row(data)) : undefined;
      if (before.kind !== 'human') return undefined;
      return sponsorCascade({ store: info.store, service: service(), deps, before, after, ctx: info.ctx, at: info.at });
    },
    intercept: (op, ctx) => igaWrite({ service, shown }, op, ctx),
    async decorate(resources) {
      const now = deps.clock.now().toISOString();
      for (const r of resources) if (isAgentProjection(r)) decorateProjection(r, deps.policy, now);
    },
  };
}

/** R15 for group-based entitlements: without scim.write a caller may only remove members. */
export const groupRevokeOnly: ResourceHooks = {
  finalize(next, info) {
    if (!info.previous || info.ctx.scopes.has('scim.write') || actorKind(info.ctx) === 'governance') return next;
    const members = (r: Json) => objects(r.members).map((m) => String(m.value).toLowerCase());
    const before = new Set(members(info.previous));
    const addsMember = members(next).some((m) => !before.has(m));
    const rest = (r: Json) => {
      const { members: _m, id: _i, meta: _x, ...o } = r;
      return canonical(o);
    };
    if (addsMember || rest(next) !== rest(info.previous)) {
      throw forbidden('this token may only remove group members (revocation); adding members or changing the group needs "scim.write" (R15)');
    }
    return next;
  },
};

export function catalogueHooks(deps: GovernanceDeps, kind: 'Entitlement' | 'Role'): ResourceHooks {
  const attr = kind === 'Entitlement' ? 'entitlements' : 'roles';
  const holders = (value: string) =>
    count(deps.store, deps.registry.resourceType('Agent')!, { kind: 'valuePath', path: { attr }, filter: eq('value', value) });
  return {
    finalize(next) {
      const ext = next['urn:agentroster:scim:schemas:extension:entitlement:1.0:Entitlement'];
      if (isObj(ext) && ext.maxGrantDays !== undefined && (typeof ext.maxGrantDays !== 'number' || ext.maxGrantDays < 1)) {
        throw new ScimError(400, 'maxGrantDays must be at least 1', 'invalidValue');
      }
      if (next.limitedAssignmentsPermitted === true && typeof next.totalAssignmentsPermitted !== 'number') {
        throw new ScimError(400, 'limitedAssignmentsPermitted needs totalAssignmentsPermitted', 'invalidValue');
      }
      return next;
    },
    async intercept(op) {
      if (op.kind !== 'delete') return undefined;
      const row = await deps.store.get(kind, op.id);
      if (!row) return undefined;
      const n = await holders(String(row.data.value));
      if (n > 0) {
        throw new ScimError(409, `${kind} "${String(row.data.value)}" is granted to ${n} agent(s); revoke it from them before removing it from the catalogue`);
      }
      return undefined;
    },
    async decorate(resources) {
      for (const r of resources) r.totalAssignmentsUsed = await holders(String(r.value));
    },
  };
}

/** The audit log is append-only: /AuditEvents is read-only, also through /Bulk. */
export const auditEventHooks: ResourceHooks = {
  intercept() {
    return Promise.reject(new ScimError(405, 'AuditEvents are read-only: the audit log is append-only (R18)'));
  },
};
