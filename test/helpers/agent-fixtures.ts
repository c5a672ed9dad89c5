// Agents, state changes and catalogue entries written through the ResourceService, shared by the
// sync harnesses (Entra and Okta) so both drive the engine with the same kind of data.

import type { RequestContext } from '../../src/resources/context.js';
import type { ResourceService } from '../../src/resources/service.js';
import type { Json } from '../../src/store/types.js';

const AGENT_URN = 'urn:ietf:params:scim:schemas:core:2.0:Agent';
const GOV_URN = 'urn:agentroster:scim:schemas:extension:agent-governance:1.0:Agent';
const ENT_URN = 'urn:ietf:params:scim:schemas:core:2.0:Entitlement';
const ENT_GOV_URN = 'urn:agentroster:scim:schemas:extension:entitlement:1.0:Entitlement';
const PATCH_URN = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

export interface AgentFixtures {
  agent(name: string, sponsorId: string, gov?: Json, extra?: Json): Promise<string>;
  patch(id: string, ...ops: Json[]): Promise<void>;
  setState(id: string, state: string): Promise<void>;
  entitlement(value: string, mappings: Json[]): Promise<string>;
}

/**
 * @param govDefaults governance attributes every agent gets (the caller's may override them)
 * @param catalogueChanged called after a catalogue entry is written (connectors cache the catalogue)
 */
export function agentFixtures(
  service: ResourceService,
  ctx: () => RequestContext,
  govDefaults: Json,
  catalogueChanged: () => void,
): AgentFixtures {
  const patch = async (id: string, ...ops: Json[]) => {
    await service.patch('Agent', id, { schemas: [PATCH_URN], Operations: ops }, ctx());
  };
  return {
    async agent(name, sponsorId, gov = {}, extra = {}) {
      const body = {
        schemas: [AGENT_URN, GOV_URN],
        agentUserName: name,
        displayName: name,
        ...extra,
        [GOV_URN]: { sponsor: { value: sponsorId }, ...govDefaults, ...gov },
      };
      return (await service.create('Agent', body, ctx())).resource.id as string;
    },
    patch,
    setState: (id, state) => patch(id, { op: 'replace', path: `${GOV_URN}:lifecycleState`, value: state }),
    async entitlement(value, mappings) {
      const r = await service.create('Entitlement', { schemas: [ENT_URN, ENT_GOV_URN], value, display: value, [ENT_GOV_URN]: { mappings } }, ctx());
      catalogueChanged();
      return r.resource.id as string;
    },
  };
}
