// What every resource operation knows about its caller, independent of HTTP.

import type { Actor } from '../store/types.js';

export type Scope = 'scim.read' | 'scim.write' | 'scim.revoke' | 'agents.approve' | 'admin';
export const SCOPES: readonly Scope[] = ['scim.read', 'scim.write', 'scim.revoke', 'agents.approve', 'admin'];

export interface RequestContext {
  actor: Actor;
  scopes: ReadonlySet<Scope>;
  requestId: string;
  /** public base URL of the SCIM API, e.g. https://host/scim/v2 (no trailing slash) */
  baseUrl: string;
  /** why the caller makes this change (X-Audit-Reason), recorded in the audit event */
  reason?: string;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };
