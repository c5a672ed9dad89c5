// The "coworker profile" of an agent and its credential metadata: consistency rules beyond what
// the schema's types can say (R11, R12 within one agent, R22, budgets, policies, memory). Pure.

import { invalid, type Json, ms, objects, str, type Violation } from './util.js';

const CURRENCY = /^[A-Z]{3}$/;

export function profileViolations(agent: Json, g: Json, agentId: string | undefined): Violation[] {
  const out: Violation[] = [];
  // R22: third-party agents say who provides them, where they run, how risky they are and when the vendor was reviewed.
  const provider = g.provider as Json | undefined;
  if (provider?.thirdParty === true) {
    const missing = [
      str(provider.organization) === undefined ? 'provider.organization' : undefined,
      str(g.platform) === undefined ? 'platform' : undefined,
      str(g.riskTier) === undefined ? 'riskTier' : undefined,
      str(provider.vendorReviewedAt) === undefined ? 'provider.vendorReviewedAt' : undefined,
    ].filter((x): x is string => x !== undefined);
    if (missing.length > 0) out.push(invalid(`a third-party agent (provider.thirdParty) needs ${missing.join(', ')} (R22)`));
  }
  // R11: high-risk agents do not use static API keys.
  const creds = objects(g.credentials);
  if ((g.riskTier === 'high' || g.riskTier === 'critical') && creds.some((c) => c.type === 'apiKey' && c.status !== 'revoked')) {
    out.push(invalid(`a ${String(g.riskTier)}-risk agent cannot register an apiKey credential; use a federated or certificate credential (R11)`));
  }
  // R12 inside one agent: one entry per credential id and thumbprint.
  const seenIds = new Set<string>();
  const seenPrints = new Set<string>();
  for (const c of creds) {
    const id = str(c.credentialId);
    if (id !== undefined) {
      if (seenIds.has(id)) out.push(invalid(`credentials: credentialId "${id}" is listed twice`));
      seenIds.add(id);
    }
    const tp = str(c.keyThumbprint);
    if (tp !== undefined) {
      if (seenPrints.has(tp.toLowerCase())) out.push(invalid('credentials: a keyThumbprint is listed twice'));
      seenPrints.add(tp.toLowerCase());
    }
    const created = ms(c.createdAt);
    const expires = ms(c.expiresAt);
    if (created !== undefined && expires !== undefined && expires <= created) {
      out.push(invalid(`credentials: "${id ?? '?'}" expires before it was created`));
    }
  }
  const from = ms(g.validFrom);
  const until = ms(g.validUntil);
  if (from !== undefined && until !== undefined && until <= from) out.push(invalid('validUntil must be after validFrom'));
  const parent = agent.parent as Json | undefined;
  if (parent && agentId !== undefined && parent.value === agentId) out.push(invalid('parent: an agent cannot be its own parent'));
  for (const [i, p] of objects(g.actionPolicies).entries()) {
    if (typeof p.limitAmount === 'number' && p.limitAmount < 0) out.push(invalid(`actionPolicies[${i}].limitAmount cannot be negative`));
    if (p.limitCurrency !== undefined && !CURRENCY.test(String(p.limitCurrency))) {
      out.push(invalid(`actionPolicies[${i}].limitCurrency must be an ISO 4217 code such as "EUR"`));
    }
    if (p.limitCurrency !== undefined && p.limitAmount === undefined) out.push(invalid(`actionPolicies[${i}]: limitCurrency needs limitAmount`));
  }
  const actions = objects(g.actionPolicies).map((p) => String(p.action));
  const dupAction = actions.find((a, i) => actions.indexOf(a) !== i);
  if (dupAction !== undefined) out.push(invalid(`actionPolicies: action "${dupAction}" has two policies`));
  const budget = g.budget as Json | undefined;
  if (budget) {
    if (budget.amount !== undefined && (typeof budget.amount !== 'number' || budget.amount < 0)) out.push(invalid('budget.amount cannot be negative'));
    if (budget.currency !== undefined && !CURRENCY.test(String(budget.currency))) out.push(invalid('budget.currency must be an ISO 4217 code such as "EUR"'));
    if ((budget.limitType === 'tokens' || budget.limitType === 'requests') && budget.currency !== undefined) {
      out.push(invalid(`budget: a ${String(budget.limitType)} budget has no currency`));
    }
  }
  const memory = g.memoryPolicy as Json | undefined;
  if (memory) {
    const retains = Array.isArray(memory.retains) ? (memory.retains as unknown[]) : [];
    if (retains.includes('none') && retains.length > 1) out.push(invalid('memoryPolicy.retains: "none" excludes every other value'));
    if (typeof memory.retentionDays === 'number' && memory.retentionDays < 0) out.push(invalid('memoryPolicy.retentionDays cannot be negative'));
    if (retains.includes('none') && typeof memory.retentionDays === 'number' && memory.retentionDays > 0) {
      out.push(invalid('memoryPolicy: an agent that retains nothing has no retentionDays'));
    }
  }
  const skills = objects(g.skills).map((s) => `${String(s.type)}:${String(s.name).toLowerCase()}`);
  const dupSkill = skills.find((s, i) => skills.indexOf(s) !== i);
  if (dupSkill !== undefined) out.push(invalid(`skills: "${dupSkill.split(':').slice(1).join(':')}" is listed twice`));
  return out;
}
