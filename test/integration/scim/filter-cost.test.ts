// Issue 10, finding 2: a valid but expensive filter (hundreds of `co` comparisons) is refused with
// 400 invalidFilter "filter too expensive: …" before it reaches the database, on every list door;
// the filters identity providers and IGA tools send stay well within the budget.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildTestApp, GOV_URN, scimError, type TestApp } from '../../helpers/test-app.js';
import { createUser } from '../../helpers/resources.js';

const SEARCH_URN = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';
const q = (s: string) => encodeURIComponent(s);
/** The filter of the issue: 500 `co` comparisons (the most the parser accepts). */
const FIVE_HUNDRED_CO = Array.from({ length: 500 }, (_, i) => `title co "${i}"`).join(' or ');
/** Under the comparison cap, over the cost budget: 11 × co (10 each) = 110 > 100. */
const ELEVEN_CO = Array.from({ length: 11 }, (_, i) => `displayName co "x${i}"`).join(' or ');
const TOO_EXPENSIVE = /^filter too expensive: .*eq.*indexed attribute.*userName/;

describe('filter cost limit', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await buildTestApp();
    await createUser(t, 'bjensen@example.com', { externalId: 'bjensen', displayName: 'Barbara Jensen', title: 'Engineer' });
  });
  afterAll(async () => t.close());

  it('refuses the 500-co filter of the issue with 400 invalidFilter on GET, POST /.search and the root /.search', async () => {
    const get = await t.http.get(`/Users?filter=${q(FIVE_HUNDRED_CO)}`);
    expect(get.status).toBe(400);
    expect(get.body).toEqual(scimError(400, 'invalidFilter', /^filter too expensive: 500 comparisons, the limit is 100; /));

    const search = await t.http.post('/Users/.search', { schemas: [SEARCH_URN], filter: FIVE_HUNDRED_CO });
    expect(search.status).toBe(400);
    expect(search.body).toEqual(scimError(400, 'invalidFilter', TOO_EXPENSIVE));

    const root = await t.http.post('/.search', { schemas: [SEARCH_URN], filter: FIVE_HUNDRED_CO });
    expect(root.status).toBe(400);
    expect(root.body).toEqual(scimError(400, 'invalidFilter', TOO_EXPENSIVE));
  });

  it('refuses a filter under the comparison cap whose co/sw/ew comparisons cost more than the budget', async () => {
    for (const type of ['Users', 'Agents', 'Groups']) {
      const res = await t.http.get(`/${type}?filter=${q(ELEVEN_CO)}`);
      expect(res.status, type).toBe(400);
      expect(res.body).toEqual(scimError(400, 'invalidFilter', /^filter too expensive: cost 110 \(11 comparisons, 11 of them co\/sw\/ew\) is over the limit of 100; /));
    }
    // the IGA view's lists go through the same service
    const view = await t.http.get(`/agents-view/Users?filter=${q(ELEVEN_CO)}`);
    expect(view.status).toBe(400);
    expect(view.body).toEqual(scimError(400, 'invalidFilter', /^filter too expensive: /));
  });

  it('counts a not () once however deeply it is nested, and prices the comparisons under it as scans', async () => {
    // 5 co under one not: 5 × 10 × 2 = 100, at the limit; deeper nesting adds nothing
    const five = Array.from({ length: 5 }, (_, i) => `title co "${i}"`).join(' or ');
    expect((await t.http.get(`/Users?filter=${q(`not (not (not (${five})))`)}`)).status).toBe(200);
    const six = Array.from({ length: 6 }, (_, i) => `title co "${i}"`).join(' or ');
    expect((await t.http.get(`/Users?filter=${q(`not (${six})`)}`)).status).toBe(400);
  });

  it('accepts what identity providers and IGA tools send', async () => {
    const filters = [
      'userName eq "bjensen@example.com"',
      'externalId eq "bjensen"',
      'displayName eq "Barbara Jensen"',
      'userName eq "a@x" or userName eq "b@x" or externalId eq "c" or displayName eq "d"',
      'meta.lastModified gt "2025-01-01T00:00:00Z"',
      'userType eq "Agent" and meta.lastModified ge "2025-01-01T00:00:00Z"',
      'emails[type eq "work"].value eq "bjensen@example.com"',
      'emails[type eq "work" and value eq "bjensen@example.com"]',
      'userName eq "bjensen@example.com" and (title co "Eng" or displayName co "Bar" or name.familyName co "Jen")',
      'displayName co "Bar" or title sw "Eng" or name.familyName ew "sen"',
      'active eq true and title eq "Engineer"',
    ];
    for (const f of filters) {
      const res = await t.http.get(`/Users?filter=${q(f)}`);
      expect(res.status, `${f}: ${JSON.stringify(res.body)}`).toBe(200);
    }
    const groups = ['displayName eq "Admins"', 'id eq "x" and members[value eq "y"]', 'externalId eq "g1"'];
    for (const f of groups) expect((await t.http.get(`/Groups?filter=${q(f)}`)).status, f).toBe(200);
    const agents = [
      'agentUserName eq "build-bot"',
      `${GOV_URN}:lifecycleState eq "active" and ${GOV_URN}:sponsor.value eq "u1"`,
      'entitlements[value eq "docs.read"]',
      // the most expensive filter the benchmark sends: exactly at the default budget
      Array.from({ length: 10 }, (_, i) => `displayName co "x${i}"`).join(' or '),
    ];
    for (const f of agents) expect((await t.http.get(`/Agents?filter=${q(f)}`)).status, f).toBe(200);
  });
});

describe('filter cost limit settings', () => {
  it('AGENTROSTER_MAX_FILTER_COST and AGENTROSTER_MAX_FILTER_COMPARISONS set the budget', async () => {
    const t = await buildTestApp({ env: { AGENTROSTER_MAX_FILTER_COST: '9', AGENTROSTER_MAX_FILTER_COMPARISONS: '3' } });
    try {
      const co = await t.http.get(`/Users?filter=${q('title co "x"')}`);
      expect(co.status).toBe(400);
      expect(co.body).toEqual(scimError(400, 'invalidFilter', /^filter too expensive: cost 10 .* over the limit of 9; /));
      expect((await t.http.get(`/Users?filter=${q('userName eq "a" or userName eq "b" or userName eq "c"')}`)).status).toBe(200);
      const four = await t.http.get(`/Users?filter=${q('userName eq "a" or userName eq "b" or userName eq "c" or userName eq "d"')}`);
      expect(four.body).toEqual(scimError(400, 'invalidFilter', /^filter too expensive: 4 comparisons, the limit is 3; /));
    } finally {
      await t.close();
    }
  });
});
