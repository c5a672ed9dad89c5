// The custom user type "AI Agent" and its profile schema, created or brought up to date on first use
// (once per process; concurrent callers share the one attempt; a failure is retried next time).
//
// - POST /api/v1/meta/types/user {name, displayName, description} → oty…; its schema is the osc… id
//   of `_links.schema` (not the type id). `name` is read-only once created (okta.md §1.3).
// - POST /api/v1/meta/schemas/user/{schemaId} is a partial update of custom properties. Enum
//   properties go over raw HTTP: the SDK's `UserSchemaAttribute._enum` serialises each string as an
//   object, which Okta rejects.
// - agentrosterId is UNIQUE_VALIDATED: a second user can never carry the same agent id, whatever its
//   login (the second guard against duplicates, next to the deterministic login).

import type { OktaApi } from './api.js';
import { oktaFailure, toSyncError } from './errors.js';
import type { OktaSettings } from './settings.js';

export interface PropertyDef {
  title: string;
  description: string;
  type: 'string';
  enum?: string[];
  unique?: boolean;
  maxLength?: number;
}

export const ENVIRONMENTS = ['production', 'staging', 'development', 'test'];
export const RISK_TIERS = ['low', 'medium', 'high', 'critical'];
export const AUTONOMY_LEVELS = ['advisory', 'humanInTheLoop', 'humanOnTheLoop', 'autonomous'];

/** The custom profile attributes of the AI Agent user type (docs/okta.md lists them). */
export const AGENT_PROPERTIES: Record<string, PropertyDef> = {
  agentrosterId: {
    title: 'agentroster agent id',
    description: 'id of the agent in agentroster (SCIM /Agents/{id}); set by agentroster, unique',
    type: 'string',
    unique: true,
    maxLength: 128,
  },
  agentPurpose: { title: 'Purpose', description: 'business purpose of the agent, shown to reviewers', type: 'string', maxLength: 1024 },
  agentSponsorEmail: { title: 'Sponsor email', description: 'e-mail of the accountable human sponsor (the manager)', type: 'string', maxLength: 256 },
  agentSponsorName: { title: 'Sponsor', description: 'display name of the accountable sponsor', type: 'string', maxLength: 256 },
  agentEnvironment: { title: 'Environment', description: 'environment the agent runs in', type: 'string', enum: ENVIRONMENTS },
  agentRiskTier: { title: 'Risk tier', description: 'risk tier of the agent', type: 'string', enum: RISK_TIERS },
  agentAutonomyLevel: { title: 'Autonomy level', description: 'how independently the agent acts', type: 'string', enum: AUTONOMY_LEVELS },
};

export interface AgentUserType {
  typeId: string;
  schemaId: string;
}

type Json = Record<string, unknown>;

function needsUpdate(have: Json | undefined, want: PropertyDef): boolean {
  if (!have) return true;
  if (have.type !== want.type || have.title !== want.title) return true;
  const he = Array.isArray(have.enum) ? (have.enum as unknown[]).map(String) : undefined;
  if (JSON.stringify(he) !== JSON.stringify(want.enum)) return true;
  if (want.unique && have.unique !== 'UNIQUE_VALIDATED' && have.unique !== true) return true;
  return false;
}

export class AgentSchema {
  #ready: Promise<AgentUserType> | undefined;
  #value: AgentUserType | undefined;

  constructor(
    private readonly api: OktaApi,
    private readonly s: OktaSettings,
  ) {}

  /** the type, once known (undefined before the first ensure()) */
  get current(): AgentUserType | undefined {
    return this.#value;
  }

  ensure(): Promise<AgentUserType> {
    this.#ready ??= this.#ensure().then(
      (v) => (this.#value = v),
      (e: unknown) => {
        this.#ready = undefined;
        throw e;
      },
    );
    return this.#ready;
  }

  async #findType(): Promise<{ id: string; schemaHref?: string } | undefined> {
    const list = await this.api.raw<Json[]>('GET', '/api/v1/meta/types/user');
    for (const t of list.body ?? []) {
      if (String(t.name).toLowerCase() !== this.s.userTypeName.toLowerCase()) continue;
      const links = t._links as { schema?: { href?: string } } | undefined;
      return { id: String(t.id), ...(links?.schema?.href ? { schemaHref: links.schema.href } : {}) };
    }
    return undefined;
  }

  async #ensure(): Promise<AgentUserType> {
    try {
      let t = await this.#findType();
      if (!t) {
        try {
          const created = await this.api.call((c) =>
            c.userTypeApi.createUserType({
              userType: {
                name: this.s.userTypeName,
                displayName: this.s.userTypeDisplayName,
                description: 'AI agents (non-human identities) managed by agentroster; each has an accountable human sponsor as manager',
              },
            }),
          );
          const links = created._links as unknown as { schema?: { href?: string } } | undefined;
          t = { id: String(created.id), ...(links?.schema?.href ? { schemaHref: links.schema.href } : {}) };
        } catch (e) {
          // another instance created it at the same moment
          if (!oktaFailure(e)?.alreadyExists) throw e;
          t = await this.#findType();
          if (!t) throw e;
        }
      }
      const schemaId = t.schemaHref?.split('/').pop() ?? `osc${t.id.slice(3)}`;
      const schema = await this.api.raw<Json>('GET', `/api/v1/meta/schemas/user/${schemaId}`);
      const custom = ((schema.body?.definitions as Json | undefined)?.custom as Json | undefined)?.properties as Record<string, Json> | undefined;
      const changes: Record<string, unknown> = {};
      for (const [name, def] of Object.entries(AGENT_PROPERTIES)) {
        if (!needsUpdate(custom?.[name], def)) continue;
        changes[name] = {
          ...def,
          mutability: 'READ_WRITE',
          scope: 'NONE',
          // agents never sign in; only admins and agentroster change these
          permissions: [{ principal: 'SELF', action: 'READ_ONLY' }],
        };
      }
      if (Object.keys(changes).length > 0) {
        await this.api.raw('POST', `/api/v1/meta/schemas/user/${schemaId}`, { definitions: { custom: { id: '#custom', type: 'object', properties: changes } } });
      }
      return { typeId: t.id, schemaId };
    } catch (e) {
      throw toSyncError(e, `preparing the Okta user type "${this.s.userTypeName}" and its profile schema`, 'types');
    }
  }
}
