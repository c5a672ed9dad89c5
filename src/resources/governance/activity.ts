// Usage evidence (R05, R09, R21): POST /Agents/{id}/activity ingests that an agent was seen — a
// token issued, an API call, a sign-in — from the platform or an IdP log. It moves lastActivityAt
// (inactivity), the lastUsedAt of the grants it used (recommendRevoke in certifications) and
// lastAuthentication (interactive use of an agent identity suggests a human behind it).
// Activity is coarse on purpose: a write happens at most every ACTIVITY_GRANULARITY_MS per agent
// unless something new is reported, so a busy agent does not churn versions and audit events.

import { findSecrets } from '../../agents/secrets.js';
import { gov, isObj, type Json, ms, objects } from '../../agents/util.js';
import { normalizeDateTime } from '../../scim/datetime.js';
import { invalidValue, notFound } from '../../scim/errors.js';
import type { RequestContext } from '../context.js';
import type { ResourceService } from '../service.js';
import { GOV } from './common.js';

export const ACTIVITY_GRANULARITY_MS = 5 * 60_000;
const KINDS = ['tokenIssued', 'apiCall', 'signIn'];

export async function recordActivity(service: ResourceService, id: string, body: unknown, ctx: RequestContext, now: Date): Promise<void> {
  if (!isObj(body)) throw invalidValue('the request body must be a JSON object');
  const secret = findSecrets(body)[0];
  if (secret) throw invalidValue(`${secret.where} looks like a secret (${secret.kind}) (R10)`);
  const at = body.at === undefined ? now.toISOString() : typeof body.at === 'string' ? normalizeDateTime(body.at) : undefined;
  if (at === undefined) throw invalidValue('"at" must be an xsd:dateTime');
  if (Date.parse(at) > now.getTime() + 5 * 60_000) throw invalidValue('"at" is in the future');
  const kind = body.kind ?? 'apiCall';
  if (typeof kind !== 'string' || !KINDS.includes(kind)) throw invalidValue(`"kind" must be one of ${KINDS.join(', ')}`);
  if (body.interactive !== undefined && typeof body.interactive !== 'boolean') throw invalidValue('"interactive" must be a boolean');
  if (body.source !== undefined && (typeof body.source !== 'string' || body.source.length > 200)) throw invalidValue('"source" must be a short string');
  const used = body.entitlements === undefined ? [] : body.entitlements;
  if (!Array.isArray(used) || used.some((v) => typeof v !== 'string')) throw invalidValue('"entitlements" must be an array of entitlement values');
  if (!(await service.store.get('Agent', id))) throw notFound(`Agent "${id}" not found`);
  const t = Date.parse(at);
  const newer = (prev: unknown) => {
    const p = ms(prev);
    return p === undefined || t - p >= ACTIVITY_GRANULARITY_MS;
  };
  await service.modify(
    'Agent',
    id,
    (a) => {
      const g: Json = { ...gov(a) };
      let changed = false;
      if (g.lifecycleState === 'retired') return a;
      if (newer(g.lastActivityAt)) {
        g.lastActivityAt = at;
        changed = true;
      }
      if (kind === 'signIn' || body.interactive === true) {
        const prev = isObj(g.lastAuthentication) ? g.lastAuthentication : {};
        const interactive = body.interactive === true;
        if (newer(prev.at) || (interactive && prev.humanUseSuspected !== true)) {
          g.lastAuthentication = {
            at,
            interactive,
            ...(typeof body.source === 'string' ? { source: body.source } : {}),
            // R21: an agent identity used interactively suggests a human is using it
            humanUseSuspected: interactive || prev.humanUseSuspected === true,
          };
          changed = true;
        }
      }
      const next: Json = { ...a, [GOV]: g };
      if (used.length > 0) {
        next.entitlements = objects(a.entitlements).map((e) => {
          if (!(used as string[]).includes(String(e.value)) || !newer(e.lastUsedAt)) return e;
          changed = true;
          return { ...e, lastUsedAt: at };
        });
      }
      return changed ? next : a;
    },
    ctx,
    { action: 'activity', reason: `activity: ${kind}${typeof body.source === 'string' ? ` (${body.source})` : ''}` },
  );
}
