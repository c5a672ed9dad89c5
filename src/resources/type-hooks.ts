// The hooks of the core resource types: Users, Groups, Agents. Governance rules for agents
// (lifecycle transitions, sponsors, grants; resources/governance/) are composed after these.

import { invalidValue } from '../scim/errors.js';
import type { Json, Store } from '../store/types.js';
import type { ResourceHooks } from './hooks.js';

/** Users and Agents carry a readOnly `groups` attribute computed from Group memberships. */
async function addGroups(resources: Json[], store: Store): Promise<void> {
  const ids = resources.map((r) => r.id as string);
  const byMember = await store.groupsOf(ids);
  for (const r of resources) {
    const groups = byMember.get(r.id as string);
    if (groups && groups.length > 0) r.groups = groups.map((g) => ({ ...g, type: 'direct' }));
    else delete r.groups;
  }
}

export const userHooks: ResourceHooks = {
  decorate: addGroups,
};

const MEMBER_TYPES = ['User', 'Group', 'Agent'] as const;

export const groupHooks: ResourceHooks = {
  // RFC 7643 §4.2: members refer to existing Users and Groups (and here Agents). New member ids
  // are checked and typed; display is filled from the member when the client sent none.
  async finalize(next, { store, previous }) {
    const members = Array.isArray(next.members) ? (next.members as Json[]) : [];
    if (members.length === 0) return next;
    const known = new Map(
      Array.isArray(previous?.members) ? (previous.members as Json[]).map((m) => [String(m.value).toLowerCase(), m]) : [],
    );
    // A member that stays (PUT of the whole group, PATCH replace of `members`) usually comes back as
    // just {value}: keep the type and display found when it joined, or its $ref would point at /Users.
    for (const m of members) {
      const old = known.get(String(m.value).toLowerCase());
      if (!old) continue;
      if (m.type === undefined && old.type !== undefined) m.type = old.type;
      if (m.display === undefined && old.display !== undefined) m.display = old.display;
    }
    const fresh = members.filter((m) => !known.has(String(m.value).toLowerCase()));
    if (fresh.length === 0) return next;
    const found = new Map<string, { type: string; display?: string }>();
    // Agents last: an agent's User projection has the agent's id, and the member is the Agent.
    for (const type of MEMBER_TYPES) {
      const rows = await store.getMany(type, fresh.map((m) => String(m.value)));
      for (const r of rows) {
        const display = (r.data.displayName ?? r.data.userName ?? r.data.agentUserName) as string | undefined;
        found.set(r.id.toLowerCase(), display === undefined ? { type } : { type, display });
      }
    }
    for (const m of fresh) {
      const hit = found.get(String(m.value).toLowerCase());
      if (!hit) throw invalidValue(`members: no User, Group or Agent has id "${String(m.value)}"`);
      if (m.value === next.id) throw invalidValue('a group cannot be a member of itself');
      m.type = hit.type;
      if (m.display === undefined && hit.display !== undefined) m.display = hit.display;
    }
    return next;
  },
};

/**
 * The base Agent hooks: `groups` computed. Defaults and every governance rule are in
 * resources/governance/agent-hooks.ts, composed after these — including `active`, which is derived
 * there from lifecycleState after a written `active` has been read as lifecycle intent.
 */
export const agentHooks: ResourceHooks = {
  decorate: addGroups,
};
