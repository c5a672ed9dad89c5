/**
 * Agent identities: `/servicePrincipals/microsoft.graph.agentIdentity` (any casing of the cast).
 * Facts: reference/entra.md §1.2–1.3; agentidentity-{post,list,get,update,delete}.md and the
 * sponsor pages in microsoft-graph-docs-contrib; Agent ID error codes and FAQ in entra-docs.
 */
import { badRequest, GraphError, notFound, type GraphResponse } from '../errors.js';
import { applyExpand, parseExpand, parseSelect, runList, type ListSpec } from '../odata.js';
import { hasPermission, PERMISSIONS, requirePermission } from '../permissions.js';
import { type DirectoryObject } from '../store.js';
import {
  addressed,
  bodyObject,
  collection,
  collectionUrl,
  directoryObjects,
  entity,
  json,
  noContent,
  optionalBoolean,
  optionalStringArray,
  referenced,
  refId,
  rejectReadOnly,
  requireString,
  route,
  type OpContext,
  type Route,
} from './common.js';

const MAX_SPONSORS = 100;
const MAX_GROUP_SPONSORS = 5;

/** `$expand=sponsors` (optionally `sponsors($select=id,displayName)`) on agent identity reads. */
function agentSpec(ctx: OpContext): ListSpec {
  return {
    ...AGENT_LIST_SPEC,
    expand: {
      sponsors: (item, select) => {
        const { store } = ctx.env;
        const objs = store.sponsorIds(String(item['id'])).flatMap((sid) => store.live(sid) ?? []);
        return directoryObjects(ctx, objs).map((o) => {
          if (!select) return o;
          const out: Record<string, unknown> = { '@odata.type': o['@odata.type'] };
          for (const p of select) if (p in o) out[p] = o[p];
          return out;
        });
      },
    },
  };
}

export const AGENT_LIST_SPEC: ListSpec = {
  type: 'agentIdentity',
  filterable: {
    id: ['eq', 'in'],
    displayName: ['eq', 'startswith', 'in'],
    accountEnabled: ['eq'],
    agentIdentityBlueprintId: ['eq', 'in'],
    createdByAppId: ['eq'],
    'tags/any': ['eq', 'startswith'],
  },
  maxPageSize: 100,
  selectOnly: ['customSecurityAttributes'],
};

const READ_ONLY = ['id', 'createdByAppId', 'createdDateTime', 'servicePrincipalType', 'disabledByMicrosoftStatus', 'deletedDateTime'];

function needsCustomSecurityAttributes(ctx: OpContext, body: Record<string, unknown>): void {
  if ('customSecurityAttributes' in body) requirePermission(ctx.claims.roles, PERMISSIONS.customSecurityAttributes);
}

/** Callers holding only AgentIdentity.CreateAsManager may act only on identities of their own blueprint. */
function checkManager(ctx: OpContext, agent: DirectoryObject, full: readonly string[][]): void {
  const viaOther = full.some((alt) => alt[0] !== 'AgentIdentity.CreateAsManager' && hasPermission(ctx.claims.roles, [alt]));
  if (!viaOther && String(agent.data['agentIdentityBlueprintId']).toLowerCase() !== ctx.claims.appid.toLowerCase()) {
    throw new GraphError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
  }
}

/** Sponsor rules: users or groups only (not service principals or agent users), ≤100, ≤5 groups, group kinds. */
function validateSponsor(ctx: OpContext, id: string): DirectoryObject {
  const obj = referenced(ctx, id);
  if (obj.kind === 'group') {
    const types = (obj.data['groupTypes'] as string[] | undefined) ?? [];
    if (obj.data['isAssignableToRole'] === true || !(types.includes('Unified') || types.includes('DynamicMembership'))) {
      throw badRequest(`Group '${obj.id}' cannot be a sponsor: a sponsor group must be a Microsoft 365 group or a dynamic membership group and must not be role-assignable.`);
    }
    return obj;
  }
  if (obj.kind !== 'user') {
    throw badRequest(`Object '${obj.id}' cannot be a sponsor: sponsors must be users or groups.`);
  }
  return obj;
}

function checkSponsorLimits(ctx: OpContext, ids: string[]): void {
  if (ids.length > MAX_SPONSORS) throw badRequest(`An agent identity can have at most ${MAX_SPONSORS} sponsors.`);
  const groups = ids.filter((i) => ctx.env.store.live(i)?.kind === 'group').length;
  if (groups > MAX_GROUP_SPONSORS) throw badRequest(`An agent identity can have at most ${MAX_GROUP_SPONSORS} group sponsors.`);
}

export function createAgentIdentity(ctx: OpContext): GraphResponse {
  requirePermission(ctx.claims.roles, PERMISSIONS.agentCreate);
  const { store } = ctx.env;
  const body = bodyObject(ctx);
  rejectReadOnly(body, READ_ONLY);
  needsCustomSecurityAttributes(ctx, body);
  const displayName = requireString(body, 'displayName', 'AgentIdentity');
  const blueprintId = requireString(body, 'agentIdentityBlueprintId', 'AgentIdentity').toLowerCase();
  const accountEnabled = optionalBoolean(body, 'accountEnabled', 'AgentIdentity') ?? true;
  const tags = optionalStringArray(body, 'tags', 'AgentIdentity') ?? [];

  // the calling principal
  const mayCreateAny = hasPermission(ctx.claims.roles, [['AgentIdentity.Create.All']]);
  if (!mayCreateAny && blueprintId !== ctx.claims.appid.toLowerCase()) {
    throw new GraphError(
      403,
      'Error_AgentIdentitySelfCreateRequired',
      "Applications can only create agent identities under themselves. The provided AgentIdentityBlueprintId doesn't match the calling application's AppId.",
    );
  }

  // the blueprint and its principal
  const blueprint = store.blueprintByAppId(blueprintId);
  if (!blueprint) {
    if (store.appByAppId(blueprintId)) {
      throw new GraphError(400, 'AgentIdentity_IncompatibleParentType', `The specified Application (AppId) isn't an Agent Blueprint. The AgentIdentityBlueprintId must be set to the AppId of a valid agent identity blueprint.`);
    }
    throw new GraphError(400, 'AgentIdentity_AgentBlueprintPrincipalDoesNotExist', "The required agent identity blueprint principal doesn't exist for the specified agent identity blueprint ID.");
  }
  const principal = store.findByProperty(['agentIdentityBlueprintPrincipal'], 'appId', blueprintId);
  if (!principal) {
    throw new GraphError(400, 'AgentIdentity_AgentBlueprintPrincipalDoesNotExist', "The required agent identity blueprint principal doesn't exist for the specified agent identity blueprint ID.");
  }
  referenced(ctx, principal.id); // replication race: blueprint principal → agent identity

  // sponsors: required for app-only creates
  const binds = body['sponsors@odata.bind'];
  if (!Array.isArray(binds) || binds.length === 0) {
    throw badRequest('An agent identity requires at least one sponsor: supply sponsors@odata.bind with one or more users or groups.');
  }
  const sponsorIds = binds.map((b) => refId(b, 'sponsors@odata.bind'));
  if (new Set(sponsorIds).size !== sponsorIds.length) {
    throw badRequest("One or more added object references already exist for the following modified properties: 'sponsors'.");
  }
  sponsorIds.forEach((id) => validateSponsor(ctx, id));
  checkSponsorLimits(ctx, sponsorIds);

  const ownerBinds = body['owners@odata.bind'];
  const ownerIds = Array.isArray(ownerBinds) ? ownerBinds.map((b) => refId(b, 'owners@odata.bind')) : [];
  ownerIds.forEach((id) => referenced(ctx, id));

  // quota: active + soft-deleted identities per blueprint
  const used = [...store.objects.values()].filter(
    (o) => o.kind === 'agentIdentity' && String(o.data['agentIdentityBlueprintId']).toLowerCase() === blueprintId,
  ).length;
  if (used >= store.config.agentIdentitiesPerBlueprint) {
    throw new GraphError(400, 'AgentIdentity_LimitExceeded', "You've reached the maximum number of agent identities allowed including active and soft-deleted entries. To add more, you must permanently delete unneeded agent identities.");
  }

  // an open type: other properties are stored as given
  const extra: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) {
    if (k.includes('@') || ['displayName', 'agentIdentityBlueprintId', 'accountEnabled', 'tags'].includes(k)) continue;
    extra[k] = v;
  }
  const obj = store.create('agentIdentity', {
    displayName,
    accountEnabled,
    agentIdentityBlueprintId: blueprintId,
    createdByAppId: ctx.claims.appid,
    disabledByMicrosoftStatus: null,
    servicePrincipalType: 'ServiceIdentity',
    tags,
    ...extra,
  });
  store.sponsors.set(obj.id, sponsorIds);
  if (ownerIds.length) store.owners.set(obj.id, new Set(ownerIds));
  const rendered = store.render(obj);
  delete rendered['customSecurityAttributes'];
  return entity(ctx, 'servicePrincipals/$entity', rendered, 201, {
    location: `${ctx.env.graphUrl}/${ctx.version}/servicePrincipals/${obj.id}`,
  });
}

function list(ctx: OpContext): GraphResponse {
  requirePermission(ctx.claims.roles, PERMISSIONS.agentList);
  if (parseSelect(ctx.query)?.includes('customSecurityAttributes')) {
    requirePermission(ctx.claims.roles, PERMISSIONS.customSecurityAttributes, [['CustomSecAttributeAssignment.Read.All']]);
  }
  const { store } = ctx.env;
  const items = store
    .liveOfKinds(['agentIdentity'])
    .filter((o) => store.isIndexed(o))
    .map((o) => store.render(o));
  const result = runList(items, { query: ctx.query, headers: ctx.headers, collectionUrl: collectionUrl(ctx), signer: ctx.env.signer }, agentSpec(ctx));
  return collection(ctx, 'servicePrincipals/microsoft.graph.agentIdentity', result);
}

export function getAgentIdentity(ctx: OpContext, id: string): GraphResponse {
  requirePermission(ctx.claims.roles, PERMISSIONS.agentGet);
  const agent = addressed(ctx, id, ['agentIdentity']);
  checkManager(ctx, agent, PERMISSIONS.agentGet);
  const select = parseSelect(ctx.query);
  if (select?.includes('customSecurityAttributes')) {
    requirePermission(ctx.claims.roles, PERMISSIONS.customSecurityAttributes, [['CustomSecAttributeAssignment.Read.All']]);
  }
  const full = ctx.env.store.render(agent);
  if (!('customSecurityAttributes' in full)) full['customSecurityAttributes'] = null;
  const out: Record<string, unknown> = { '@odata.type': full['@odata.type'] };
  if (select) {
    for (const p of select) {
      if (!(p in full)) throw badRequest(`Could not find a property named '${p}' on type 'microsoft.graph.agentIdentity'.`);
      out[p] = full[p];
    }
  } else {
    Object.assign(out, full);
    delete out['customSecurityAttributes'];
  }
  const spec = agentSpec(ctx);
  applyExpand([out], [full], parseExpand(ctx.query, spec), spec);
  return entity(ctx, 'servicePrincipals/$entity', out);
}

export function patchAgentIdentity(ctx: OpContext, id: string): GraphResponse {
  requirePermission(ctx.claims.roles, PERMISSIONS.agentUpdate);
  const agent = addressed(ctx, id, ['agentIdentity']);
  checkManager(ctx, agent, PERMISSIONS.agentUpdate);
  const body = bodyObject(ctx);
  rejectReadOnly(body, [...READ_ONLY, 'agentIdentityBlueprintId']);
  needsCustomSecurityAttributes(ctx, body);
  // AgentIdentity.EnableDisable.All only allows enabling and disabling
  const broad = hasPermission(ctx.claims.roles, [['AgentIdentity.ReadWrite.All'], ['AgentIdentity.CreateAsManager']]);
  if (!broad && Object.keys(body).some((k) => k !== 'accountEnabled')) {
    throw new GraphError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
  }
  const patch: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(body)) {
    if (k.includes('@')) throw badRequest(`Property '${k}' is not supported on PATCH; use the relationship's $ref endpoint.`);
    if (k === 'accountEnabled') patch[k] = optionalBoolean(body, k, 'AgentIdentity');
    else if (k === 'tags') patch[k] = optionalStringArray(body, k, 'AgentIdentity');
    else if (k === 'displayName') patch[k] = requireString(body, k, 'AgentIdentity');
    else patch[k] = v;
  }
  ctx.env.store.update(agent, patch);
  return noContent();
}

export function deleteAgentIdentity(ctx: OpContext, id: string): GraphResponse {
  requirePermission(ctx.claims.roles, PERMISSIONS.agentDelete);
  const agent = addressed(ctx, id, ['agentIdentity']);
  checkManager(ctx, agent, PERMISSIONS.agentDelete);
  ctx.env.store.softDelete(agent);
  return noContent();
}

function listSponsors(ctx: OpContext, id: string): GraphResponse {
  requirePermission(ctx.claims.roles, PERMISSIONS.agentSponsorsRead);
  const agent = addressed(ctx, id, ['agentIdentity']);
  const { store } = ctx.env;
  const sponsors = store.sponsorIds(agent.id).flatMap((sid) => store.live(sid) ?? []);
  return json(200, { '@odata.context': `${ctx.env.graphUrl}/${ctx.version}/$metadata#directoryObjects`, value: directoryObjects(ctx, sponsors) });
}

function addSponsor(ctx: OpContext, id: string): GraphResponse {
  requirePermission(ctx.claims.roles, PERMISSIONS.agentSponsorsWrite);
  const agent = addressed(ctx, id, ['agentIdentity']);
  const body = bodyObject(ctx);
  const sponsorId = refId(body['@odata.id']);
  validateSponsor(ctx, sponsorId);
  const current = ctx.env.store.sponsors.get(agent.id) ?? [];
  if (current.includes(sponsorId)) {
    throw badRequest("One or more added object references already exist for the following modified properties: 'sponsors'.");
  }
  checkSponsorLimits(ctx, [...current, sponsorId]);
  ctx.env.store.sponsors.set(agent.id, [...current, sponsorId]);
  return noContent();
}

function removeSponsor(ctx: OpContext, id: string, sponsorIdRaw: string): GraphResponse {
  requirePermission(ctx.claims.roles, PERMISSIONS.agentSponsorsWrite);
  const agent = addressed(ctx, id, ['agentIdentity']);
  const sponsorId = decodeURIComponent(sponsorIdRaw).toLowerCase();
  const current = ctx.env.store.sponsors.get(agent.id) ?? [];
  if (!current.includes(sponsorId)) {
    if (!ctx.env.store.live(sponsorId)) throw notFound(sponsorId);
    throw badRequest("One or more removed object references do not exist for the following modified properties: 'sponsors'.");
  }
  if (current.length === 1) {
    throw badRequest('An agent identity must have at least one sponsor. Add another sponsor before removing this one.');
  }
  ctx.env.store.sponsors.set(
    agent.id,
    current.filter((s) => s !== sponsorId),
  );
  return noContent();
}

const CAST = '/servicePrincipals/microsoft.graph.agentIdentity';
const ITEM = '/servicePrincipals/{id}/microsoft.graph.agentIdentity';

export const agentIdentityRoutes: Route[] = [
  route('POST', CAST, (ctx) => createAgentIdentity(ctx)),
  route('GET', CAST, (ctx) => list(ctx)),
  route('GET', ITEM, (ctx, [id]) => getAgentIdentity(ctx, id as string)),
  route('PATCH', ITEM, (ctx, [id]) => patchAgentIdentity(ctx, id as string)),
  route('DELETE', ITEM, (ctx, [id]) => deleteAgentIdentity(ctx, id as string)),
  route('GET', `${ITEM}/sponsors`, (ctx, [id]) => listSponsors(ctx, id as string)),
  route('POST', `${ITEM}/sponsors/$ref`, (ctx, [id]) => addSponsor(ctx, id as string)),
  route('DELETE', `${ITEM}/sponsors/{id}/$ref`, (ctx, [id, sid]) => removeSponsor(ctx, id as string, sid as string)),
];
