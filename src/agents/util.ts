// Small pure helpers shared by the agent domain modules. No imports from outside src/agents/.

export type Json = Record<string, unknown>;

export const GOVERNANCE_URN = 'urn:agentroster:scim:schemas:extension:agent-governance:1.0:Agent';

export const DAY_MS = 86_400_000;

export function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export function objects(v: unknown): Json[] {
  return Array.isArray(v) ? v.filter(isObj) : [];
}

/** The governance extension object of an agent (a live reference; {} when absent). */
export function gov(agent: Json): Json {
  const g = agent[GOVERNANCE_URN];
  return isObj(g) ? g : {};
}

export function addDays(iso: string, days: number): string {
  return new Date(Date.parse(iso) + days * DAY_MS).toISOString();
}

export function ms(iso: unknown): number | undefined {
  if (typeof iso !== 'string') return undefined;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? undefined : t;
}

export function maxIso(...values: unknown[]): string | undefined {
  let best: number | undefined;
  for (const v of values) {
    const t = ms(v);
    if (t !== undefined && (best === undefined || t > best)) best = t;
  }
  return best === undefined ? undefined : new Date(best).toISOString();
}

/** A rule the caller broke: the glue turns it into a SCIM error (the domain knows no HTTP). */
export interface Violation {
  status: 400 | 403 | 409;
  scimType?: 'invalidValue' | 'uniqueness' | 'mutability';
  message: string;
}

export const invalid = (message: string): Violation => ({ status: 400, scimType: 'invalidValue', message });
export const forbidden = (message: string): Violation => ({ status: 403, message });
export const conflict = (message: string, scimType?: 'uniqueness'): Violation => ({
  status: 409,
  message,
  ...(scimType ? { scimType } : {}),
});
