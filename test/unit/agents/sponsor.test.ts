// Sponsors (R01–R03): who may sponsor or co-sponsor an agent, what is stored about them, and who
// takes over when a sponsor leaves.

import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY } from '../../../src/agents/policy.js';
import {
  afterDeparture,
  afterReturn,
  chooseSuccessor,
  coSponsorViolation,
  type Person,
  sponsorValue,
  sponsorViolation,
  successorCandidates,
  withoutCoSponsor,
} from '../../../src/agents/sponsor.js';
import { GOVERNANCE_URN as G, type Json } from '../../../src/agents/util.js';

const person = (id: string, o: Partial<Person> = {}): Person => ({ id, kind: 'human', active: true, ...o });
const agent = (gov: Json): Json => ({ id: 'a1', agentUserName: 'bot', [G]: { lifecycleState: 'active', ...gov } });
const AT = '2026-05-01T00:00:00.000Z';

describe('R01: who may be a sponsor or a co-sponsor', () => {
  it.each([
    ['an active human', person('u1'), undefined, undefined],
    ['the agent itself', person('a1'), 'sponsor: an agent cannot sponsor itself; the sponsor must be a human User (R01)', 'coSponsors: "a1" is an agent; co-sponsors are human Users or Groups'],
    ['another agent', person('a2', { kind: 'agent' }), 'sponsor: "a2" is an agent; the sponsor must be a human User (R01)', 'coSponsors: "a2" is an agent; co-sponsors are human Users or Groups'],
    ['a group', person('g1', { kind: 'group' }), 'sponsor: "g1" is a Group; the sponsor must be one human User (R01) — add groups to coSponsors', undefined],
    ['an inactive group (groups are always fine as co-sponsors)', person('g2', { kind: 'group', active: false }), 'sponsor: "g2" is a Group; the sponsor must be one human User (R01) — add groups to coSponsors', undefined],
    ['an inactive human', person('u2', { active: false }), 'sponsor: User "u2" is not active (R01)', 'coSponsors: User "u2" is not active'],
    ['nobody', person('x', { kind: 'missing', active: false }), 'sponsor: no User has id "x" (R01: the sponsor must be an active human User)', 'coSponsors: no User or Group has id "x"'],
    ['the sponsor again', person('u-s'), undefined, 'coSponsors: "u-s" is already the sponsor'],
  ] as const)('%s', (_label, p, asSponsor, asCoSponsor) => {
    expect(sponsorViolation(p, 'a1')?.message).toBe(asSponsor);
    expect(coSponsorViolation(p, 'a1', 'u-s')?.message).toBe(asCoSponsor);
    if (asSponsor) expect(sponsorViolation(p, 'a1')?.status).toBe(400);
  });

  it('an agent not created yet has no id to compare with', () => {
    expect(sponsorViolation(person('u1'), undefined)).toBeUndefined();
    expect(coSponsorViolation(person('u1'), undefined, undefined)).toBeUndefined();
  });
});

describe('sponsorValue', () => {
  it('the reference and the readOnly facts IGA correlates on, with a status', () => {
    expect(sponsorValue(person('u1', { display: 'U', email: 'u@x', employeeNumber: '7', externalId: 'hr-7', managerId: 'm' }), 'active')).toEqual({
      value: 'u1',
      display: 'U',
      email: 'u@x',
      employeeNumber: '7',
      externalId: 'hr-7',
      status: 'active',
    });
    expect(sponsorValue(person('u1'), 'departed')).toEqual({ value: 'u1', status: 'departed' });
  });
});

describe('R03: the successor of a departed sponsor', () => {
  const departed = person('s', { active: false, managerId: 'boss' });
  const people = new Map<string, Person>([
    ['g', person('g', { kind: 'group' })],
    ['gone', person('gone', { active: false })],
    ['agent', person('agent', { kind: 'agent' })],
    ['co', person('co')],
    ['co2', person('co2')],
    ['boss', person('boss')],
    ['s', departed],
    ['a1', person('a1')],
    ['lazy-boss', person('lazy-boss', { active: false })],
  ]);
  const policy = (...steps: ('promoteCoSponsor' | 'transferToManager')[]) => ({ ...DEFAULT_POLICY, sponsorDeparture: steps });
  it.each([
    ['the first active human co-sponsor', ['g', 'gone', 'agent', 'co', 'co2'], departed, policy('promoteCoSponsor', 'transferToManager'), 'promoteCoSponsor co'],
    ['the manager when no co-sponsor qualifies', ['g', 'gone', 'unknown'], departed, policy('promoteCoSponsor', 'transferToManager'), 'transferToManager boss'],
    ['the manager first when the policy says so', ['co'], departed, policy('transferToManager', 'promoteCoSponsor'), 'transferToManager boss'],
    ['the co-sponsor when the manager is inactive', ['co'], person('s', { active: false, managerId: 'lazy-boss' }), policy('transferToManager', 'promoteCoSponsor'), 'promoteCoSponsor co'],
    ['nobody when only the manager step applies and there is no manager', ['co'], person('s', { active: false }), policy('transferToManager'), undefined],
    ['nobody when the policy has no steps', ['co'], departed, policy(), undefined],
    ['never the departed sponsor or the agent itself', ['s', 'a1'], person('s', { active: true, managerId: 's' }), policy('promoteCoSponsor', 'transferToManager'), undefined],
    ['never an unknown manager', [], person('s', { active: false, managerId: 'nobody' }), policy('transferToManager'), undefined],
  ] as const)('%s', (_label, coSponsors, who, p, want) => {
    const a = agent({ sponsor: { value: 's' }, coSponsors: coSponsors.map((value) => ({ value })) });
    const s = chooseSuccessor(a, who, people, p);
    expect(s === undefined ? undefined : `${s.how} ${s.person.id}`).toBe(want);
  });

  it('successorCandidates: the co-sponsors with a value, then the manager', () => {
    const a = agent({ coSponsors: [{ value: 'c1' }, { display: 'no value' }, { value: 'c2' }] });
    expect(successorCandidates(a, person('s', { managerId: 'm' }))).toEqual(['c1', 'c2', 'm']);
    expect(successorCandidates(agent({}), person('s'))).toEqual([]);
  });
});

describe('R03: the agent after its sponsor left, or came back', () => {
  const a = agent({ sponsor: { value: 's', display: 'S', status: 'active' }, sponsorStatus: 'ok', coSponsors: [{ value: 'co' }, { value: 'g' }] });
  const departed = person('s', { active: false });

  it('with a successor: they become sponsor, pending confirmation; they leave the co-sponsors', () => {
    const g = afterDeparture({ ...a, [G]: { ...(a[G] as Json), sponsorDepartedAt: '2026-04-01T00:00:00Z' } }, departed, { how: 'promoteCoSponsor', person: person('co', { display: 'Co' }) }, AT)[G] as Json;
    expect(g.sponsor).toEqual({ value: 'co', display: 'Co', status: 'active' });
    expect(g.sponsorStatus).toBe('transferPending');
    expect(g.coSponsors).toEqual([{ value: 'g' }]);
    expect(g).not.toHaveProperty('sponsorDepartedAt');
    expect(g.lifecycleState).toBe('active');
  });

  it('the last co-sponsor promoted leaves no empty list', () => {
    const one = agent({ sponsor: { value: 's' }, coSponsors: [{ value: 'co' }] });
    const g = afterDeparture(one, departed, { how: 'promoteCoSponsor', person: person('co') }, AT)[G] as Json;
    expect(g).not.toHaveProperty('coSponsors');
  });

  it('without one: the sponsor is marked departed and the grace clock starts once', () => {
    const g = afterDeparture(a, departed, undefined, AT)[G] as Json;
    expect(g.sponsor).toEqual({ value: 's', display: 'S', status: 'departed' });
    expect(g.sponsorStatus).toBe('departed');
    expect(g.sponsorDepartedAt).toBe(AT);
    expect(g.coSponsors).toEqual([{ value: 'co' }, { value: 'g' }]);
    const again = afterDeparture({ ...a, [G]: g }, departed, undefined, '2026-06-01T00:00:00.000Z')[G] as Json;
    expect(again.sponsorDepartedAt).toBe(AT);
  });

  it('without one and without a stored sponsor: the departed person is recorded', () => {
    const g = afterDeparture(agent({}), departed, undefined, AT)[G] as Json;
    expect(g.sponsor).toEqual({ value: 's', status: 'departed' });
  });

  it('the original agent is not modified', () => {
    const before = JSON.stringify(a);
    afterDeparture(a, departed, undefined, AT);
    afterReturn(a, person('s'));
    withoutCoSponsor(a, 'co');
    expect(JSON.stringify(a)).toBe(before);
  });

  it('a returning sponsor makes the agent accountable again', () => {
    const left = afterDeparture(a, departed, undefined, AT);
    const g = afterReturn(left, person('s', { display: 'S again' }))[G] as Json;
    expect(g.sponsor).toEqual({ value: 's', display: 'S again', status: 'active' });
    expect(g.sponsorStatus).toBe('ok');
    expect(g).not.toHaveProperty('sponsorDepartedAt');
  });

  it('a co-sponsor who left is dropped; the last one leaves no empty list', () => {
    expect((withoutCoSponsor(a, 'co')[G] as Json).coSponsors).toEqual([{ value: 'g' }]);
    expect(withoutCoSponsor(withoutCoSponsor(a, 'co'), 'g')[G]).not.toHaveProperty('coSponsors');
    expect((withoutCoSponsor(a, 'nobody')[G] as Json).coSponsors).toEqual([{ value: 'co' }, { value: 'g' }]);
  });
});
