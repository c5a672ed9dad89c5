/**
 * Groups (seeded) and their members: entitlements as group memberships.
 * Facts: group-post-members.md (204; 400 when already a member; 404 when the object doesn't exist),
 * group-delete-members.md, reference/entra.md §1.5.
 */
import { badRequest, notFound, type GraphResponse } from '../errors.js';
import { parseSelect, project, runList, type ListSpec } from '../odata.js';
import { PERMISSIONS, requirePermission } from '../permissions.js';
import type { DirectoryObject } from '../store.js';
import {
  addressed,
  bodyObject,
  collection,
  collectionUrl,
  directoryObjects,
  entity,
  noContent,
  referenced,
  refId,
  route,
  type OpContext,
  type Route,
} from './common.js';

const GROUP_SPEC: ListSpec = {
  type: 'group',
  filterable: {
    id: ['eq', 'in'],
    displayName: ['eq', 'startswith', 'in'],
    mailNickname: ['eq', 'startswith', 'in'],
    securityEnabled: ['eq'],
    mailEnabled: ['eq'],
    isAssignableToRole: ['eq'],
    'groupTypes/any': ['eq'],
  },
  maxPageSize: 999,
};

const MEMBERS_SPEC: ListSpec = { type: 'directoryObject', filterable: { id: ['eq', 'in'] }, maxPageSize: 999 };

const group = (ctx: OpContext, id: string): DirectoryObject => addressed(ctx, id, ['group']);

function listGroups(ctx: OpContext): GraphResponse {
  requirePermission(ctx.claims.roles, PERMISSIONS.groupRead);
  const { store } = ctx.env;
  const items = store
    .liveOfKinds(['group'])
    .filter((o) => store.isIndexed(o))
    .map((o) => store.render(o));
  return collection(ctx, 'groups', runList(items, { query: ctx.query, headers: ctx.headers, collectionUrl: collectionUrl(ctx), signer: ctx.env.signer }, GROUP_SPEC));
}

function listMembers(ctx: OpContext, id: string): GraphResponse {
  requirePermission(ctx.claims.roles, PERMISSIONS.groupRead);
  const g = group(ctx, id);
  const { store } = ctx.env;
  const members = store
    .memberIds(g.id)
    .flatMap((mid) => store.live(mid) ?? [])
    .sort((a, b) => (a.id < b.id ? -1 : 1));
  // members are heterogeneous: $select keeps the properties each member has
  const select = parseSelect(ctx.query);
  const q = new URLSearchParams(ctx.query);
  q.delete('$select');
  const items = directoryObjects(ctx, members).map((o) => {
    if (!select) return o;
    const out: Record<string, unknown> = { '@odata.type': o['@odata.type'] };
    for (const p of select) if (p in o) out[p] = o[p];
    return out;
  });
  const result = runList(items, { query: q, headers: ctx.headers, collectionUrl: collectionUrl(ctx), signer: ctx.env.signer }, MEMBERS_SPEC);
  if (select && result.nextLink) result.nextLink += `&$select=${encodeURIComponent(select.join(','))}`;
  return collection(ctx, 'directoryObjects', result);
}

function addMember(ctx: OpContext, id: string): GraphResponse {
  requirePermission(ctx.claims.roles, PERMISSIONS.groupMemberWrite);
  const g = group(ctx, id);
  const memberId = refId(bodyObject(ctx)['@odata.id']);
  const member = referenced(ctx, memberId);
  if (member.kind === 'application' || member.kind === 'agentIdentityBlueprint') throw badRequest(`Invalid object identifier '${memberId}'.`);
  const set = ctx.env.store.members.get(g.id) ?? new Set<string>();
  if (set.has(member.id)) {
    throw badRequest("One or more added object references already exist for the following modified properties: 'members'.");
  }
  set.add(member.id);
  ctx.env.store.members.set(g.id, set);
  return noContent();
}

function removeMember(ctx: OpContext, id: string, memberIdRaw: string): GraphResponse {
  requirePermission(ctx.claims.roles, PERMISSIONS.groupMemberWrite);
  const g = group(ctx, id);
  const memberId = decodeURIComponent(memberIdRaw).toLowerCase();
  const set = ctx.env.store.members.get(g.id);
  if (!set?.has(memberId)) {
    if (!ctx.env.store.live(memberId)) throw notFound(memberId);
    throw badRequest("One or more removed object references do not exist for the following modified properties: 'members'.");
  }
  set.delete(memberId);
  return noContent();
}

export const groupRoutes: Route[] = [
  route('GET', '/groups', (ctx) => listGroups(ctx)),
  route('GET', '/groups/{id}', (ctx, [id]) => {
    requirePermission(ctx.claims.roles, PERMISSIONS.groupRead);
    return entity(ctx, 'groups/$entity', project(ctx.env.store.render(group(ctx, id as string)), parseSelect(ctx.query), GROUP_SPEC));
  }),
  route('GET', '/groups/{id}/members', (ctx, [id]) => listMembers(ctx, id as string)),
  route('POST', '/groups/{id}/members/$ref', (ctx, [id]) => addMember(ctx, id as string)),
  route('DELETE', '/groups/{id}/members/{id}/$ref', (ctx, [id, mid]) => removeMember(ctx, id as string, mid as string)),
];
