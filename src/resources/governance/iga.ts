// Writes through an agent's User projection (standards.md §2.5, §4.5): what IGA tools send to
// certify-and-revoke. Every revoke form is accepted and idempotent — PATCH remove by value filter,
// remove with a value array, replace with the remaining values, a full PUT; replace active false
// with or without a path, as a boolean or "False"; DELETE. They become changes of the Agent, made
// with the caller's scopes (R15: scim.revoke may remove and suspend, never grant or activate), and
// audited on the Agent. Anything else a User write could change is the agent's business: 400.

import { gov, isObj, type Json, objects } from '../../agents/util.js';
import { canonical } from '../../agents/canonical.js';
import { mutability, notFound, preconditionFailed, ScimError } from '../../scim/errors.js';
import { applyPatch, parsePatchRequest } from '../../scim/patch.js';
import { validateResource } from '../../scim/validate.js';
import type { RequestContext } from '../context.js';
import type { InterceptedOp } from '../hooks.js';
import { etagOf, ifMatchPasses, type Rendered, type ResourceService } from '../service.js';
import { type GovContext, GOV, isAgentProjection } from './common.js';

const WRITABLE = new Set(['entitlements', 'roles', 'active']);
const IGNORED = new Set(['schemas', 'id', 'meta', 'groups', 'password']);

/** The requested values of a multi-valued reference attribute, by value. */
function values(v: unknown): string[] {
  return objects(v)
    .map((x) => x.value)
    .filter((x): x is string => typeof x === 'string');
}

function applyTo(agent: Json, target: { entitlements?: string[]; roles?: string[]; active?: boolean }): Json {
  const next: Json = { ...agent };
  for (const attr of ['entitlements', 'roles'] as const) {
    const want = target[attr];
    if (want === undefined) continue;
    const have = objects(agent[attr]);
    const kept = have.filter((g) => want.includes(String(g.value)));
    const added = want.filter((v) => !have.some((g) => g.value === v)).map((value) => ({ value }));
    const list = [...kept, ...added];
    if (list.length > 0) next[attr] = list;
    else delete next[attr];
  }
  // the agent hooks turn a written `active` into lifecycle intent (activeIntent), as on /Agents
  if (target.active !== undefined) next.active = target.active;
  return next;
}

export interface IgaDeps {
  service: () => ResourceService;
  /** whether agents' projections are served to this caller (agentsInMainUsers, or the agents-view) */
  shown: (ctx: RequestContext) => boolean;
}

/**
 * Handles a write to /Users/{id} (main base URL, the agents-view, or /Bulk) when {id} is an agent's
 * projection. undefined: not a projection (a human User: the generic operation runs).
 */
export async function igaWrite(deps: IgaDeps, op: InterceptedOp, ctx: RequestContext): Promise<Rendered | 'done' | undefined> {
  if (op.kind === 'create') return undefined;
  const service = deps.service();
  const store = service.store;
  const row = await store.get('User', op.id);
  if (!row || !isAgentProjection(row.data)) {
    if (op.kind === 'delete') {
      // idempotent DELETE: the agent was retired (its projection is gone) — 204 again
      const agent = await store.get('Agent', op.id);
      if (agent && gov(agent.data).lifecycleState === 'retired') return 'done';
    }
    return undefined;
  }
  if (!deps.shown(ctx)) throw notFound(`User "${op.id}" not found`);
  if (!ifMatchPasses(op.ifMatch, row.version)) throw preconditionFailed(`If-Match does not match the current version ${etagOf(row.version)}`);
  const gctx: GovContext = { ...ctx, channel: 'iga' };
  const userRt = service.resourceType('User');
  const existing: Json = { ...row.data, id: row.id };

  if (op.kind === 'delete') {
    // DELETE = retire (R14). Live credentials block retirement: the agent is suspended at once and
    // the caller told to retry once they are revoked.
    try {
      await service.modify('Agent', op.id, (a) => ({ ...a, [GOV]: { ...gov(a), lifecycleState: 'retired' } }), gctx, {
        action: 'iga.retire',
        reason: ctx.reason ?? 'DELETE through the agent-as-User projection',
      });
    } catch (e) {
      if (!(e instanceof ScimError) || e.status !== 409) throw e;
      await service.modify('Agent', op.id, (a) => applyTo(a, { active: false }), gctx, {
        action: 'iga.suspend',
        reason: 'DELETE through the agent-as-User projection: suspended until retirement can complete',
      });
      throw new ScimError(409, `${e.message}. The agent was suspended meanwhile; retry the DELETE later.`, undefined, { 'Retry-After': '3600' });
    }
    return 'done';
  }

  // (secrets: ResourceService scanned op.body before handing it over here)
  let wanted: Json;
  if (op.kind === 'patch') {
    const ops = parsePatchRequest(op.body);
    const { resource, changed } = applyPatch(service.registry, userRt, existing, ops);
    if (!changed) return (await service.render(userRt, [row], ctx))[0]!;
    wanted = validateResource(service.registry, userRt, resource, { mode: 'patch', existing });
    const strip = (r: Json) => {
      const out: Json = {};
      for (const [k, v] of Object.entries(r)) if (!WRITABLE.has(k) && !IGNORED.has(k)) out[k] = v;
      return canonical(out);
    };
    if (strip(wanted) !== strip(existing)) {
      const attr = Object.keys({ ...wanted, ...existing }).find(
        (k) => !WRITABLE.has(k) && !IGNORED.has(k) && canonical(wanted[k]) !== canonical(existing[k]),
      );
      throw mutability(
        `/Users/${op.id} is the projection of an agent: only entitlements, roles and active can change here (revocation); "${attr ?? '?'}" is changed at /Agents/${op.id}`,
      );
    }
  } else {
    // PUT: the projection's other attributes are the agent's; only the revocable ones are read
    wanted = validateResource(service.registry, userRt, op.body, { mode: 'replace', existing });
    if (!('active' in (isObj(op.body) ? lowerKeys(op.body) : {}))) delete wanted.active;
  }
  const target: { entitlements?: string[]; roles?: string[]; active?: boolean } = {
    entitlements: values(wanted.entitlements),
    roles: values(wanted.roles),
  };
  if (typeof wanted.active === 'boolean') target.active = wanted.active;
  const agent = await store.get('Agent', op.id);
  if (!agent) throw notFound(`Agent "${op.id}" not found`);
  await service.modify('Agent', op.id, (a) => applyTo(a, target), gctx, {
    action: 'iga.' + op.kind,
    reason: ctx.reason ?? `${op.kind === 'patch' ? 'PATCH' : 'PUT'} through the agent-as-User projection`,
  });
  return service.get('User', op.id, ctx);
}

function lowerKeys(o: Json): Json {
  return Object.fromEntries(Object.keys(o).map((k) => [k.toLowerCase(), true]));
}
