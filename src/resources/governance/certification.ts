// Certification decisions (R04; standards.md §2.5): POST /Agents/{id}/certifications records a
// reviewer's certify / modify / revoke decision, as agentroster's own campaign step or ingested
// from an IGA tool (system sailpoint, okta, entra, saviynt). Certify restarts the review interval
// and confirms a sponsor that took over automatically; modify also removes the listed grants;
// revoke removes every grant and suspends the agent (stateReason certificationRevoked).

import { gov, isObj, type Json, objects, str } from '../../agents/util.js';
import { forbidden, invalidValue, notFound, ScimError } from '../../scim/errors.js';
import type { RequestContext } from '../context.js';
import type { ResourceService } from '../service.js';
import { GOV, type GovContext, resolvePeople } from './common.js';
import { findSecrets } from '../../agents/secrets.js';

export const CERTIFICATION_URN = 'urn:agentroster:scim:api:messages:1.0:Certification';
const DECISIONS = ['certify', 'modify', 'revoke'] as const;
type Decision = (typeof DECISIONS)[number];
const SYSTEMS = ['agentroster', 'sailpoint', 'okta', 'entra', 'saviynt'];

function textList(v: unknown, what: string): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw invalidValue(`${what} must be an array of values`);
  return v as string[];
}

export async function recordCertification(service: ResourceService, id: string, body: unknown, ctx: RequestContext): Promise<Json> {
  if (!isObj(body)) throw invalidValue('the request body must be a JSON object');
  const lower = new Map(Object.entries(body).map(([k, v]) => [k.toLowerCase(), v]));
  const decision = lower.get('decision');
  if (typeof decision !== 'string' || !(DECISIONS as readonly string[]).includes(decision)) {
    throw invalidValue(`"decision" must be one of ${DECISIONS.join(', ')}`);
  }
  const d = decision as Decision;
  const s = ctx.scopes;
  if (d === 'revoke' ? !(s.has('scim.revoke') || s.has('scim.write') || s.has('agents.approve')) : !(s.has('agents.approve') || s.has('scim.write'))) {
    throw forbidden(d === 'revoke' ? 'recording a revoke decision needs "scim.revoke"' : `recording a ${d} decision needs "agents.approve" or "scim.write"`);
  }
  const secret = findSecrets(body)[0];
  if (secret) throw invalidValue(`${secret.where} looks like a secret (${secret.kind}) (R10)`);
  const system = lower.get('system') ?? 'agentroster';
  if (typeof system !== 'string' || !SYSTEMS.includes(system)) throw invalidValue(`"system" must be one of ${SYSTEMS.join(', ')}`);
  const justification = lower.get('justification');
  if (justification !== undefined && typeof justification !== 'string') throw invalidValue('"justification" must be a string');
  const campaign = lower.get('campaign');
  if (campaign !== undefined && typeof campaign !== 'string') throw invalidValue('"campaign" must be a string');
  const removeEnts = textList(lower.get('removeentitlements'), '"removeEntitlements"');
  const removeRoles = textList(lower.get('removeroles'), '"removeRoles"');
  if (d !== 'modify' && (removeEnts.length > 0 || removeRoles.length > 0)) throw invalidValue('removeEntitlements and removeRoles belong to a "modify" decision');
  if (d === 'modify' && removeEnts.length === 0 && removeRoles.length === 0) throw invalidValue('a "modify" decision names what to remove (removeEntitlements, removeRoles)');

  const row = await service.store.get('Agent', id);
  if (!row) throw notFound(`Agent "${id}" not found`);
  if (gov(row.data).lifecycleState === 'retired') throw new ScimError(409, 'a retired agent is not reviewed any more');
  const reviewerId = ctx.actor.userId;
  const reviewer = reviewerId ? (await resolvePeople(service.store, [reviewerId])).get(reviewerId) : undefined;
  const reviewedBy: Json = {
    ...(reviewer?.kind === 'human' ? { value: reviewer.id } : {}),
    display: reviewer?.display ?? ctx.actor.client,
    system,
  };
  const removed: { entitlements: string[]; roles: string[] } = { entitlements: [], roles: [] };
  const gctx: GovContext = { ...ctx, channel: 'iga' };
  const reason = [`certification: ${d}`, campaign ? `campaign ${campaign}` : undefined, justification].filter(Boolean).join('; ');
  const out = await service.modify(
    'Agent',
    id,
    (a, at) => {
      const next: Json = { ...a };
      const g: Json = { ...gov(a) };
      const drop = (attr: 'entitlements' | 'roles', values: string[] | 'all') => {
        const list = objects(next[attr]);
        const keep = list.filter((x) => values !== 'all' && !values.includes(String(x.value)));
        removed[attr] = list.filter((x) => !keep.includes(x)).map((x) => String(x.value));
        if (keep.length > 0) next[attr] = keep;
        else delete next[attr];
      };
      if (d === 'modify') {
        drop('entitlements', removeEnts);
        drop('roles', removeRoles);
      }
      if (d === 'revoke') {
        drop('entitlements', 'all');
        drop('roles', 'all');
        if (g.lifecycleState === 'active') {
          g.lifecycleState = 'suspended';
          g.stateReason = 'certificationRevoked';
        }
      }
      g.lastReviewedBy = reviewedBy;
      g.lastReviewOutcome = d === 'certify' ? 'certified' : d === 'modify' ? 'modified' : 'revoked';
      g.lastReviewedAt = at;
      if (d !== 'revoke' && g.sponsorStatus === 'transferPending') g.sponsorStatus = 'ok';
      next[GOV] = g;
      if (d !== 'revoke') next.entitlements = objects(next.entitlements).map((e) => ({ ...e, lastCertifiedAt: at }));
      if (objects(next.entitlements).length === 0) delete next.entitlements;
      return next;
    },
    gctx,
    { action: `certification.${d}`, reason },
  );
  const g = isObj(out.resource[GOV]) ? (out.resource[GOV] as Json) : {};
  return {
    schemas: [CERTIFICATION_URN],
    decision: d,
    decidedAt: g.lastReviewedAt,
    agent: { value: id, $ref: out.location, display: str(out.resource.displayName) ?? out.resource.agentUserName },
    reviewer: reviewedBy,
    ...(campaign !== undefined ? { campaign } : {}),
    ...(justification !== undefined ? { justification } : {}),
    removed,
    lifecycleState: g.lifecycleState,
    ...(g.stateReason !== undefined ? { stateReason: g.stateReason } : {}),
    nextReviewDue: g.nextReviewDue,
    sponsorStatus: g.sponsorStatus,
  };
}

