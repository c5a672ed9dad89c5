/**
 * Application permissions (the `roles` claim) each operation needs. A requirement is a list of
 * alternatives; each alternative is a set of roles that must all be present.
 *
 * Sources: the api-reference/{v1.0,beta}/includes/permissions/*.md files of
 * microsoftgraph/microsoft-graph-docs-contrib, summarised in reference/entra.md §1.3.
 * Higher-privileged "Directory.ReadWrite.All" style roles are added where the docs list them.
 */
import { forbidden } from './errors.js';

export type Requirement = string[][];

const any = (...roles: string[]): Requirement => roles.map((r) => [r]);

export const PERMISSIONS = {
  // agentIdentity (v1.0 tables; delete from the beta table)
  agentCreate: any('AgentIdentity.CreateAsManager', 'AgentIdentity.Create.All'),
  agentList: any('AgentIdentity.Read.All', 'AgentIdentity.ReadWrite.All'),
  agentGet: any('AgentIdentity.Read.All', 'AgentIdentity.CreateAsManager', 'AgentIdentity.ReadWrite.All', 'Application.Read.All'),
  agentUpdate: any('AgentIdentity.EnableDisable.All', 'AgentIdentity.CreateAsManager', 'AgentIdentity.ReadWrite.All'),
  agentDelete: any('AgentIdentity.DeleteRestore.All', 'AgentIdentity.CreateAsManager'),
  agentSponsorsWrite: any('AgentIdentity.ReadWrite.All'),
  agentSponsorsRead: any('AgentIdentity.Read.All', 'AgentIdentity.ReadWrite.All', 'AgentIdentity.CreateAsManager'),
  customSecurityAttributes: any('CustomSecAttributeAssignment.ReadWrite.All'),

  // servicePrincipal
  spRead: any('Application.Read.All', 'Application.ReadWrite.All', 'Application.ReadWrite.OwnedBy', 'Directory.Read.All', 'Directory.ReadWrite.All'),
  spWrite: any('Application.ReadWrite.All', 'Application.ReadWrite.OwnedBy', 'Directory.ReadWrite.All'),
  spDelta: any('Application.ReadWrite.OwnedBy', 'Application.Read.All', 'Application.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'),
  appRoleAssignmentWrite: [
    ['AppRoleAssignment.ReadWrite.All', 'Application.Read.All'],
    ['AppRoleAssignment.ReadWrite.All', 'Directory.Read.All'],
    ['AppRoleAssignment.ReadWrite.All', 'Application.ReadWrite.All'],
    ['AppRoleAssignment.ReadWrite.All', 'Directory.ReadWrite.All'],
  ] as Requirement,
  appRoleAssignmentRead: any('Application.Read.All', 'Application.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All', 'AppRoleAssignment.ReadWrite.All'),

  // application
  appRead: any('Application.Read.All', 'Application.ReadWrite.All', 'Application.ReadWrite.OwnedBy', 'Directory.Read.All', 'Directory.ReadWrite.All'),
  appWrite: any('Application.ReadWrite.All', 'Application.ReadWrite.OwnedBy', 'Directory.ReadWrite.All'),

  // user
  userRead: any('User.Read.All', 'User.ReadBasic.All', 'User.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'),
  userWrite: any('User.ReadWrite.All', 'Directory.ReadWrite.All'),

  // group
  groupRead: any('GroupMember.Read.All', 'Group.Read.All', 'Group.ReadWrite.All', 'Directory.Read.All', 'Directory.ReadWrite.All'),
  groupMemberWrite: any('GroupMember.ReadWrite.All', 'Group.ReadWrite.All', 'Directory.ReadWrite.All'),

  // directory
  directoryRead: any('Directory.Read.All', 'Directory.ReadWrite.All'),
} as const satisfies Record<string, Requirement>;

export function hasPermission(roles: readonly string[], req: Requirement): boolean {
  const have = new Set(roles.map((r) => r.toLowerCase()));
  return req.some((alt) => alt.every((r) => have.has(r.toLowerCase())));
}

/** Throws 403 Authorization_RequestDenied unless `roles` satisfies one of the requirements. */
export function requirePermission(roles: readonly string[], ...reqs: Requirement[]): void {
  if (!reqs.some((r) => hasPermission(roles, r))) throw forbidden();
}

/** Roles granted to the default emulator client: everything the connector could need. */
export const DEFAULT_CLIENT_ROLES = [
  'AgentIdentity.Create.All',
  'AgentIdentity.ReadWrite.All',
  'AgentIdentity.EnableDisable.All',
  'AgentIdentity.DeleteRestore.All',
  'Application.ReadWrite.All',
  'AppRoleAssignment.ReadWrite.All',
  'Directory.Read.All',
  'GroupMember.ReadWrite.All',
  'User.ReadWrite.All',
];
