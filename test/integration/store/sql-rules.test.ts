// The SQL translator (src/store/filter-sql.ts) and RFC 9865 cursors (src/store/cursor.ts), as a
// user sees them: which resources a filter lists, in which order sortBy lists them, what cursor pages
// hold, and which requests are a 400 with which scimType. Table-driven over a small fixed data set,
// on SQLite and on PostgreSQL (when reachable; test/helpers/postgres.ts). Every filter's answer is
// also checked against the in-memory evaluator (src/scim/filter/evaluate.ts), whose semantics the
// SQL must equal. Written to kill the surviving mutants of the "sql" mutation scope (issue 18).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileFilter } from '../../../src/scim/filter/evaluate.js';
import { parseFilter } from '../../../src/scim/filter/parse.js';
import { dropSchema, freshSchema, PG_URL, postgresAvailable } from '../../helpers/postgres.js';
import { agentBody, groupBody, userBody, type Json } from '../../helpers/resources.js';
import { buildTestApp, ENTERPRISE_URN, GOV_URN, scimError, type TestApp } from '../../helpers/test-app.js';

const q = (s: string) => encodeURIComponent(s);
const b64 = (s: string) => Buffer.from(s).toString('base64url');
const pgAvailable = await postgresAvailable();
const G = GOV_URN;
const E = ENTERPRISE_URN;

const stores: { name: string; env: () => Record<string, string>; skip: boolean }[] = [
  { name: 'SQLite', env: () => ({}), skip: false },
  { name: 'PostgreSQL', env: () => ({ AGENTROSTER_DATABASE_URL: PG_URL, AGENTROSTER_DATABASE_SCHEMA: freshSchema() }), skip: !pgAvailable },
];

/** The users, by name, created in this order (one second apart: meta.created orders them). */
const USERS: Record<string, Json> = {
  alice: {
    userName: 'Alice',
    displayName: 'Alice Anders',
    title: 'Engineer',
    active: true,
    name: { givenName: 'Alice', familyName: 'Anders' },
    emails: [
      { value: 'alice@x.org', type: 'work', primary: true },
      { value: 'a2@y.org', type: 'home' },
    ],
    phoneNumbers: [{ value: '+1-111', type: 'work' }],
    [E]: { employeeNumber: '001', manager: { value: 'boss-1' } },
  },
  bob: {
    userName: 'bob',
    displayName: 'bob',
    active: false,
    name: { givenName: 'Bob' },
    emails: [{ value: 'BOB@y.org', type: 'home' }],
    [E]: { employeeNumber: '002' },
  },
  carol: {
    userName: 'carol',
    title: 'Manager',
    phoneNumbers: [{ value: '+3-333', type: 'home' }],
  },
  dave: {
    userName: 'Dave',
    displayName: 'Dave',
    active: true,
    emails: [{ value: 'dave@x.org', type: 'work' }, { value: 'd2@x.org' }],
    [E]: { manager: { value: 'boss-2' } },
  },
  eve: {
    userName: 'eve',
    displayName: 'Zoë',
    nickName: 'zed',
    active: true,
  },
};

/** Agents (sponsor: carol), for integers and a second resource type. */
const AGENTS: Record<string, Json> = {
  'bot-a': { memoryPolicy: { retentionDays: 30, retains: ['taskState'] } },
  'bot-b': { memoryPolicy: { retentionDays: 7 } },
  'bot-c': {},
};

describe.each(stores)('SQL filter, sort and cursor rules on $name', ({ env, skip }) => {
  let t: TestApp;
  /** the agents live in an app of their own: agents are listed at /Users too */
  let ta: TestApp;
  let schema: string | undefined;
  let agentSchema: string | undefined;
  const id: Record<string, string> = {};
  const nameOf: Record<string, string> = {};
  const created: Record<string, string> = {};
  let users: Json[] = [];
  let agents: Json[] = [];

  const list = async (endpoint: string, query: string): Promise<Json> => {
    const res = await (endpoint === '/Agents' ? ta : t).http.get(`${endpoint}?${query}`);
    expect(res.status, `${endpoint}?${query}: ${JSON.stringify(res.body)}`).toBe(200);
    return res.body as Json;
  };

  /** The names a filter lists, sorted (the order is tested separately). */
  const names = async (endpoint: string, filter: string): Promise<string[]> => {
    const body = await list(endpoint, `filter=${q(filter)}&count=1000`);
    const rs = body.Resources as Json[];
    expect(body.totalResults).toBe(rs.length);
    return rs.map((r) => nameOf[String(r.id)] ?? String(r.id)).sort();
  };

  /** The names in the order the server lists them. */
  const ordered = async (endpoint: string, query: string): Promise<string[]> =>
    ((await list(endpoint, `${query}&count=1000`)).Resources as Json[]).map((r) => nameOf[String(r.id)] ?? String(r.id));

  /** What the in-memory evaluator selects from the same resources. */
  const evaluated = (type: 'User' | 'Agent', filter: string): string[] => {
    const rt = (type === 'User' ? t : ta).registry.resourceType(type)!;
    const pred = compileFilter(parseFilter(filter), {
      attributes: rt.attributes,
      extensions: Object.fromEntries(rt.extensions.map((e) => [e.schema.id, e.schema.attributes])),
      coreSchema: rt.core.id,
    });
    return (type === 'User' ? users : agents).filter((r) => pred(r)).map((r) => nameOf[String(r.id)] ?? String(r.id)).sort();
  };

  /** Every page of a cursor walk, as names. */
  const walk = async (endpoint: string, query: string, count: number): Promise<string[][]> => {
    const pages: string[][] = [];
    let cursor = '';
    for (let i = 0; i < 50; i++) {
      const body = await list(endpoint, `${query}&count=${count}&cursor=${q(cursor)}`);
      pages.push((body.Resources as Json[]).map((r) => nameOf[String(r.id)] ?? String(r.id)));
      if (typeof body.nextCursor !== 'string') return pages;
      cursor = body.nextCursor;
    }
    throw new Error('cursor walk did not end');
  };

  const status400 = async (path: string, scimType: string, detail: RegExp = /\S/) => {
    const res = await (path.startsWith('/Agents') ? ta : t).http.get(path);
    expect(res.status, `${path}: ${JSON.stringify(res.body)}`).toBe(400);
    expect(res.body).toEqual(scimError(400, scimType, detail));
  };

  beforeAll(async () => {
    if (skip) return;
    const e = env();
    schema = e.AGENTROSTER_DATABASE_SCHEMA;
    t = await buildTestApp({ env: e, clockStart: '2026-03-01T10:00:00.000Z' });
    for (const [name, extra] of Object.entries(USERS)) {
      t.clock.advance(1000);
      const res = await t.http.post('/Users', userBody(extra.userName as string, extra));
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      id[name] = res.body.id as string;
      nameOf[res.body.id as string] = name;
      created[name] = (res.body.meta as Json).created as string;
    }
    for (const [name, members] of Object.entries({ admins: ['alice', 'bob'], ops: ['alice', 'dave'] })) {
      const res = await t.http.post('/Groups', groupBody(name === 'admins' ? 'Admins' : 'Ops', members.map((m) => id[m]!)));
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      id[name] = res.body.id as string;
      nameOf[res.body.id as string] = name;
    }
    const ea = env();
    agentSchema = ea.AGENTROSTER_DATABASE_SCHEMA;
    ta = await buildTestApp({ env: ea, clockStart: '2026-03-01T10:00:00.000Z' });
    const sponsor = await ta.http.post('/Users', userBody('sponsor', { displayName: 'Sponsor' }));
    expect(sponsor.status, JSON.stringify(sponsor.body)).toBe(201);
    for (const [name, gov] of Object.entries(AGENTS)) {
      ta.clock.advance(1000);
      const res = await ta.http.post('/Agents', agentBody(name, sponsor.body.id as string, {}, gov));
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      id[name] = res.body.id as string;
      nameOf[res.body.id as string] = name;
    }
    const team = await ta.http.post('/Groups', groupBody('Bots', [id['bot-a']!]));
    expect(team.status, JSON.stringify(team.body)).toBe(201);
    id.bots = team.body.id as string;
    users = (await list('/Users', 'count=1000')).Resources as Json[];
    agents = (await list('/Agents', 'count=1000')).Resources as Json[];
  }, 60_000);

  afterAll(async () => {
    if (skip) return;
    await t?.close();
    await ta?.close();
    if (schema) await dropSchema(schema);
    if (agentSchema) await dropSchema(agentSchema);
  });

  // filter → the users it lists
  const USER_FILTERS: [string, string[]][] = [
    // simple attributes, caseExact false (folded) and the comparison operators on text
    ['userName eq "alice"', ['alice']],
    ['userName eq "ALICE"', ['alice']],
    ['userName ne "alice"', ['bob', 'carol', 'dave', 'eve']],
    ['userName sw "a"', ['alice']],
    ['userName ew "E"', ['alice', 'dave', 'eve']],
    ['userName co "AV"', ['dave']],
    ['userName gt "carol"', ['dave', 'eve']],
    ['userName ge "carol"', ['carol', 'dave', 'eve']],
    ['userName lt "bob"', ['alice']],
    ['userName le "bob"', ['alice', 'bob']],
    ['displayName gt "b"', ['bob', 'dave', 'eve']],
    ['displayName lt "zz"', ['alice', 'bob', 'dave', 'eve']],
    // a missing attribute: comparisons are false, ne and not() are true
    ['title eq "engineer"', ['alice']],
    ['title ne "engineer"', ['bob', 'carol', 'dave', 'eve']],
    ['not (title eq "engineer")', ['bob', 'carol', 'dave', 'eve']],
    ['not (title gt "a")', ['bob', 'dave', 'eve']],
    ['not (title pr)', ['bob', 'dave', 'eve']],
    ['title pr', ['alice', 'carol']],
    ['title eq null', ['bob', 'dave', 'eve']],
    ['title ne null', ['alice', 'carol']],
    ['nickName eq "ZED"', ['eve']],
    // logic
    ['title pr and active eq true', ['alice']],
    ['title pr or active eq true', ['alice', 'carol', 'dave', 'eve']],
    ['not (title pr or active eq true)', ['bob']],
    ['not (title pr and active eq true)', ['bob', 'carol', 'dave', 'eve']],
    ['(userName eq "bob" or userName eq "carol") and not (title pr)', ['bob']],
    // booleans
    ['active eq true', ['alice', 'dave', 'eve']],
    ['active eq false', ['bob']],
    ['active ne true', ['bob', 'carol']],
    ['active pr', ['alice', 'bob', 'dave', 'eve']],
    // single complex: sub-attributes, presence of the whole, value filters
    ['name.givenName eq "bob"', ['bob']],
    ['name.familyName pr', ['alice']],
    ['name pr', ['alice', 'bob']],
    ['not (name pr)', ['carol', 'dave', 'eve']],
    ['name eq null', ['carol', 'dave', 'eve']],
    ['name[givenName eq "alice"]', ['alice']],
    ['name[givenName pr and familyName pr]', ['alice']],
    ['name[givenName pr and not (familyName pr)]', ['bob']],
    ['name[not (givenName eq "alice")]', ['bob']],
    ['name[familyName ne "anders"]', ['bob']],
    ['name[familyName eq null]', ['bob']],
    ['name[familyName ne null]', ['alice']],
    [`${E}:employeeNumber eq "002"`, ['bob']],
    [`${E}:employeeNumber pr`, ['alice', 'bob']],
    [`${E}:manager.value eq "boss-2"`, ['dave']],
    [`${E}:manager eq "boss-1"`, ['alice']],
    [`${E}:manager pr`, ['alice', 'dave']],
    [`${E}:manager[value sw "boss"]`, ['alice', 'dave']],
    // multi-valued, indexed (emails.value) and not (phoneNumbers.value): ANY value
    ['emails eq "alice@x.org"', ['alice']],
    ['emails.value eq "bob@y.org"', ['bob']],
    ['emails.value ne "alice@x.org"', ['bob', 'carol', 'dave', 'eve']],
    ['emails.value ew "X.ORG"', ['alice', 'dave']],
    ['emails.value sw "d"', ['dave']],
    ['emails.value gt "c"', ['dave']],
    ['emails.type eq "home"', ['alice', 'bob']],
    ['emails.type ne "work"', ['bob', 'carol', 'eve']],
    ['emails.type pr', ['alice', 'bob', 'dave']],
    ['emails pr', ['alice', 'bob', 'dave']],
    ['emails eq null', ['carol', 'eve']],
    ['emails.primary eq true', ['alice']],
    ['phoneNumbers.value eq "+3-333"', ['carol']],
    ['phoneNumbers eq "+1-111"', ['alice']],
    ['phoneNumbers.type eq "work"', ['alice']],
    // value filters: the conditions hold for the SAME element
    ['emails[value eq "alice@x.org"]', ['alice']],
    ['emails[value eq "ALICE@X.ORG"]', ['alice']],
    ['emails[value eq "a2@y.org" and type eq "work"]', []],
    ['emails[value eq "a2@y.org" and type eq "home"]', ['alice']],
    ['emails[type eq "work" and value eq "a2@y.org"]', []],
    ['emails[value eq "nobody@x.org" or type eq "home"]', ['alice', 'bob']],
    ['emails[value ne "alice@x.org"]', ['alice', 'bob', 'dave']],
    ['emails[not (value eq "alice@x.org")]', ['alice', 'bob', 'dave']],
    ['emails[type eq null]', ['dave']],
    ['emails[type ne null and value sw "d"]', ['dave']],
    ['emails[type pr]', ['alice', 'bob', 'dave']],
    ['emails[primary eq true and type eq "work"]', ['alice']],
    ['phoneNumbers[value eq "+1-111" and type eq "home"]', []],
    ['phoneNumbers[type eq "home"]', ['carol']],
    ['not (emails[type eq "work"])', ['bob', 'carol', 'eve']],
    // computed groups, through Group membership
    ['groups eq "{admins}"', ['alice', 'bob']],
    ['groups.value eq "{ops}"', ['alice', 'dave']],
    ['groups.value ne "{admins}"', ['carol', 'dave', 'eve']],
    ['groups[value eq "{admins}"]', ['alice', 'bob']],
    ['groups.value eq "{^admins}"', ['alice', 'bob']],
    ['groups[value eq "{^admins}"]', ['alice', 'bob']],
    ['groups[value sw "{^admins}"]', ['alice', 'bob']],
    ['groups.value ne "{^admins}"', ['carol', 'dave', 'eve']],
    ['groups[value ne "{admins}"]', ['alice', 'dave']],
    ['groups[value eq "{admins}" and display eq "admins"]', ['alice', 'bob']],
    ['groups[value eq "{admins}" and display eq "ops"]', []],
    ['groups[not (value eq "{ops}")]', ['alice', 'bob']],
    ['groups.display eq "ADMINS"', ['alice', 'bob']],
    ['groups.display sw "o"', ['alice', 'dave']],
    ['groups.display ne "ops"', ['bob', 'carol', 'eve']],
    ['groups.type eq "direct"', ['alice', 'bob', 'dave']],
    ['groups pr', ['alice', 'bob', 'dave']],
    ['groups.value pr', ['alice', 'bob', 'dave']],
    ['groups.display pr', ['alice', 'bob', 'dave']],
    ['groups.type pr', ['alice', 'bob', 'dave']],
    ['groups eq null', ['carol', 'eve']],
    ['not (groups pr)', ['carol', 'eve']],
    ['groups[display pr]', ['alice', 'bob', 'dave']],
    ['groups[type eq null]', []],
    // columns: id and meta
    ['id eq "{bob}"', ['bob']],
    ['id ne "{bob}"', ['alice', 'carol', 'dave', 'eve']],
    ['id pr', ['alice', 'bob', 'carol', 'dave', 'eve']],
    ['meta.created gt "{created.carol}"', ['dave', 'eve']],
    ['meta.created ge "{created.carol}"', ['carol', 'dave', 'eve']],
    ['meta.created lt "{created.bob}"', ['alice']],
    ['meta.created le "{created.bob}"', ['alice', 'bob']],
    ['meta.created eq "{created.bob}"', ['bob']],
    ['meta.created eq "2026-03-01T10:00:02+00:00"', ['bob']],
    ['meta.created gt "2026-03-01T11:00:02+01:00"', ['carol', 'dave', 'eve']],
    ['meta.lastModified ge "{created.dave}"', ['dave', 'eve']],
    ['meta.created co "T10:00:03"', ['carol']],
    ['meta.created pr', ['alice', 'bob', 'carol', 'dave', 'eve']],
    ['meta.resourceType eq "User"', ['alice', 'bob', 'carol', 'dave', 'eve']],
    ['meta.resourceType ne "User"', []],
    ['meta.version sw "W/\\""', ['alice', 'bob', 'carol', 'dave', 'eve']],
    ['meta.version eq "W/\\"1\\""', ['alice', 'bob', 'carol', 'dave', 'eve']],
    ['meta.version eq "W/\\"2\\""', []],
    ['meta[created gt "{created.dave}"]', ['eve']],
    ['meta[created lt "{created.bob}" or resourceType eq "Group"]', ['alice']],
    ['meta[not (created gt "{created.alice}")]', ['alice']],
  ];

  const AGENT_FILTERS: [string, string[]][] = [
    [`${G}:memoryPolicy.retentionDays gt 10`, ['bot-a']],
    [`${G}:memoryPolicy.retentionDays ge 30`, ['bot-a']],
    [`${G}:memoryPolicy.retentionDays ge 7`, ['bot-a', 'bot-b']],
    [`${G}:memoryPolicy.retentionDays lt 30`, ['bot-b']],
    [`${G}:memoryPolicy.retentionDays le 7`, ['bot-b']],
    [`${G}:memoryPolicy.retentionDays eq 7`, ['bot-b']],
    [`${G}:memoryPolicy.retentionDays ne 7`, ['bot-a', 'bot-c']],
    [`${G}:memoryPolicy.retentionDays gt 7.5`, ['bot-a']],
    [`${G}:memoryPolicy pr`, ['bot-a', 'bot-b']],
    [`${G}:memoryPolicy.retains pr`, ['bot-a']],
    [`${G}:memoryPolicy[retentionDays lt 10]`, ['bot-b']],
    [`${G}:memoryPolicy[retains eq "TASKSTATE"]`, ['bot-a']],
    [`${G}:memoryPolicy[not (retentionDays lt 10)]`, ['bot-a']],
    ['meta.resourceType eq "Agent"', ['bot-a', 'bot-b', 'bot-c']],
    ['agentUserName sw "BOT-"', ['bot-a', 'bot-b', 'bot-c']],
    // Agent groups.value is caseExact (User groups.value is not)
    ['groups.value eq "{bots}"', ['bot-a']],
    ['groups.value eq "{^bots}"', []],
    ['groups[value eq "{^bots}"]', []],
    ['groups.value ne "{^bots}"', ['bot-a', 'bot-b', 'bot-c']],
  ];

  /** {name}: its id; {^name}: its id in upper case; {created.name}: its meta.created */
  const fill = (f: string) =>
    f.replace(/\{(created\.|\^)?(\w+)\}/g, (_, c: string | undefined, n: string) =>
      c === 'created.' ? created[n]! : c === '^' ? id[n]!.toUpperCase() : id[n]!,
    );

  describe.skipIf(skip)('filters list what the evaluator selects', () => {
    it.each(USER_FILTERS)('/Users %s', async (filter, expected) => {
      const f = fill(filter);
      expect(await names('/Users', f), f).toEqual(expected);
      expect(evaluated('User', f), `evaluator: ${f}`).toEqual(expected);
    });
    it.each(AGENT_FILTERS)('/Agents %s', async (filter, expected) => {
      const f = fill(filter);
      expect(await names('/Agents', f), f).toEqual(expected);
      expect(evaluated('Agent', f), `evaluator: ${f}`).toEqual(expected);
    });
  });

  describe.skipIf(skip)('filters that are a 400 invalidFilter', () => {
    it.each([
      ['/Users', 'title gt null', /null/],
      ['/Users', 'emails[type lt null]', /null/],
      ['/Users', 'groups.value gt null', /null/],
      ['/Users', 'active gt true', /boolean/],
      ['/Users', 'active eq "true"', /boolean/],
      ['/Users', 'emails[primary eq "x"]', /boolean/],
      ['/Agents', `${G}:memoryPolicy.retentionDays co 3`, /numeric/],
      ['/Agents', `${G}:memoryPolicy.retentionDays sw 3`, /numeric/],
      ['/Agents', `${G}:memoryPolicy.retentionDays ew 3`, /numeric/],
      ['/Agents', `${G}:memoryPolicy.retentionDays eq "7"`, /number/],
      ['/Users', 'meta.created gt 5', /dateTime/],
      ['/Users', 'meta.created gt "yesterday"', /xsd:dateTime/],
      ['/Users', 'x509Certificates.value gt "a"', /binary/],
      ['/Users', 'x509Certificates.value eq 5', /binary/],
      ['/Users', 'userName eq 5', /string/],
      ['/Users', 'userName eq true', /string/],
      ['/Users', 'nosuch eq "x"', /unknown attribute "nosuch"/],
      ['/Users', 'userName[value eq "x"]', /complex/],
      ['/Users', 'name.givenName[value eq "x"]', /sub-attribute/],
      ['/Users', 'emails[nosuch eq "x"]', /unknown sub-attribute/],
      ['/Users', 'emails[value.x eq "x"]', /not a sub-attribute/],
      ['/Users', 'meta eq "x"', /meta/],
      ['/Users', 'meta.location eq "x"', /meta\.location/],
      ['/Users', 'meta[location eq "x"]', /meta\.location/],
      ['/Users', 'meta[created.x eq "x"]', /not a sub-attribute/],
      ['/Users', 'emails.$ref eq "x"', /unknown attribute|computed/],
      ['/Users', 'emails[$ref pr]', /unknown sub-attribute|computed/],
      ['/Users', 'groups.$ref pr', /groups|computed/],
      ['/Users', 'groups[nosuch eq "x"]', /unknown sub-attribute/],
      ['/Users', 'groups.value eq 5', /string/],
      ['/Users', 'groups[value eq true]', /string/],
      ['/Users', 'name eq "x"', /complex/],
    ])('%s?filter=%s', async (endpoint, filter, detail) => {
      await status400(`${endpoint}?filter=${q(filter)}`, 'invalidFilter', detail);
    });
  });

  describe.skipIf(skip)('sortBy', () => {
    it.each([
      // text sorts folded (caseExact false), in code point order; missing values last in both directions
      ['sortBy=userName', ['alice', 'bob', 'carol', 'dave', 'eve']],
      ['sortBy=userName&sortOrder=descending', ['eve', 'dave', 'carol', 'bob', 'alice']],
      ['sortBy=displayName', ['alice', 'bob', 'dave', 'eve', 'carol']],
      ['sortBy=displayName&sortOrder=descending', ['eve', 'dave', 'bob', 'alice', 'carol']],
      ['sortBy=title', ['alice', 'carol', 'bob', 'dave', 'eve']],
      ['sortBy=title&sortOrder=descending', ['carol', 'alice', 'eve', 'dave', 'bob']],
      // equal keys keep creation order ascending, reverse it descending
      ['sortBy=active', ['bob', 'alice', 'dave', 'eve', 'carol']],
      ['sortBy=active&sortOrder=descending', ['eve', 'dave', 'alice', 'bob', 'carol']],
      ['sortBy=meta.created&sortOrder=descending', ['eve', 'dave', 'carol', 'bob', 'alice']],
      ['sortBy=meta.lastModified', ['alice', 'bob', 'carol', 'dave', 'eve']],
      ['sortBy=name.givenName', ['alice', 'bob', 'carol', 'dave', 'eve']],
      // multi-valued: the primary value, else the first
      ['sortBy=emails', ['alice', 'bob', 'dave', 'carol', 'eve']],
      ['sortBy=emails.type&sortOrder=descending', ['dave', 'alice', 'bob', 'eve', 'carol']],
      ['sortBy=phoneNumbers.value', ['alice', 'carol', 'bob', 'dave', 'eve']],
      [`sortBy=${E}:manager&sortOrder=descending`, ['dave', 'alice', 'eve', 'carol', 'bob']],
    ])('/Users?%s', async (query, expected) => {
      expect(await ordered('/Users', query)).toEqual(expected);
    });

    it.each([
      [`sortBy=${G}:memoryPolicy.retentionDays`, ['bot-b', 'bot-a', 'bot-c']],
      [`sortBy=${G}:memoryPolicy.retentionDays&sortOrder=descending`, ['bot-a', 'bot-b', 'bot-c']],
    ])('/Agents?%s', async (query, expected) => {
      expect(await ordered('/Agents', query)).toEqual(expected);
    });

    it.each([
      ['groups', /groups/],
      ['groups.value', /groups/],
      ['meta.location', /meta\.created/],
      ['meta.resourceType', /meta\.created/],
      ['name', /complex/],
    ])('sortBy=%s is a 400 invalidValue', async (sortBy, detail) => {
      await status400(`/Users?sortBy=${q(sortBy)}`, 'invalidValue', detail);
    });

    it('sortBy an unknown attribute is a 400 invalidFilter', async () => {
      await status400(`/Users?sortBy=nosuch`, 'invalidFilter', /sort by unknown attribute "nosuch"/);
      await status400(`/Users?sortBy=${q('emails.$ref')}`, 'invalidFilter', /sort by unknown attribute "emails.\$ref"/);
    });

    it('sortBy=id sorts by id in code point order, both directions', async () => {
      const byId = Object.keys(USERS).sort((a, b) => (id[a]! < id[b]! ? -1 : 1));
      expect(await ordered('/Users', 'sortBy=id')).toEqual(byId);
      expect(await ordered('/Users', 'sortBy=id&sortOrder=descending')).toEqual([...byId].reverse());
    });
  });

  describe.skipIf(skip)('cursor pages', () => {
    it.each([
      ['/Users', ''],
      ['/Users', 'sortBy=displayName'],
      ['/Users', 'sortBy=displayName&sortOrder=descending'],
      ['/Users', 'sortBy=title'],
      ['/Users', 'sortBy=title&sortOrder=descending'],
      ['/Users', 'sortBy=active'],
      ['/Users', 'sortBy=active&sortOrder=descending'],
      ['/Users', 'sortBy=meta.created&sortOrder=descending'],
      ['/Users', 'sortBy=emails'],
      ['/Users', 'filter=active eq true&sortBy=userName&sortOrder=descending'],
      ['/Agents', `sortBy=${G}:memoryPolicy.retentionDays`],
      ['/Agents', `sortBy=${G}:memoryPolicy.retentionDays&sortOrder=descending`],
    ])('%s?%s: the pages, in order, are the whole list', async (endpoint, query) => {
      const whole = await ordered(endpoint, query);
      for (const count of [1, 2]) {
        const pages = await walk(endpoint, query, count);
        expect(pages.flat(), `count=${count}`).toEqual(whole);
        expect(pages.every((p) => p.length <= count && p.length > 0)).toBe(true);
      }
    });

    it('a sort key is matched case-insensitively in the sort attribute', async () => {
      const first = await list('/Users', 'sortBy=displayName&count=2&cursor=');
      const next = await list('/Users', `sortBy=DISPLAYNAME&count=2&cursor=${q(first.nextCursor as string)}`);
      expect((next.Resources as Json[]).map((r) => nameOf[String(r.id)])).toEqual(['dave', 'eve']);
    });

    it('a cursor from another query shape is a 400 invalidCursor', async () => {
      const c = (await list('/Users', 'sortBy=displayName&count=1&cursor=')).nextCursor as string;
      const plain = (await list('/Users', 'count=1&cursor=')).nextCursor as string;
      const bad = [
        `/Users?sortBy=userName&cursor=${q(c)}`,
        `/Users?sortBy=displayName&sortOrder=descending&cursor=${q(c)}`,
        `/Users?cursor=${q(c)}`,
        `/Groups?sortBy=displayName&cursor=${q(c)}`,
        `/Users?sortBy=displayName&cursor=${q(plain)}`,
        `/Groups?cursor=${q(plain)}`,
      ];
      for (const path of bad) await status400(path, 'invalidCursor', /another resource type or sort order/);
    });

    /** A cursor the server issued for this query, with its body edited. */
    const forge = async (query: string, edit: (body: unknown[]) => unknown): Promise<string> => {
      const body = await list('/Users', `${query}&count=1&cursor=`);
      const decoded = JSON.parse(Buffer.from(body.nextCursor as string, 'base64url').toString()) as unknown[];
      return b64(JSON.stringify(edit(decoded)));
    };
    const key = (k: unknown) => (b: unknown[]) => [...b.slice(0, 3), k];

    it.each<[string, string, () => Promise<string> | string, RegExp]>([
      ['not base64url', '', () => 'a+b/c=', /not base64url/],
      ['not JSON', '', () => b64('{nope'), /not a cursor/],
      ['an object', '', () => b64('{"a":1}'), /unknown format/],
      ['another version', '', () => forge('', (b) => [2, ...b.slice(1)]), /unknown format/],
      ['an extra element', '', () => forge('', (b) => [...b, 1]), /unknown format/],
      ['a key on an unsorted query', '', () => forge('', (b) => [...b, 'x']), /unknown format/],
      ['no key on a sorted query', 'sortBy=displayName', () => forge('sortBy=displayName', (b) => b.slice(0, 3)), /unknown format/],
      ['two keys on a sorted query', 'sortBy=displayName', () => forge('sortBy=displayName', (b) => [...b, 'x']), /unknown format/],
      ['a negative seq', '', () => forge('', (b) => [b[0], b[1], -1]), /bad position/],
      ['a fractional seq', '', () => forge('', (b) => [b[0], b[1], 0.5]), /bad position/],
      ['a seq beyond 2^53', '', () => forge('', (b) => [b[0], b[1], 2 ** 53]), /bad position/],
      ['a string seq', '', () => forge('', (b) => [b[0], b[1], '1']), /bad position/],
      ['a number key on text', 'sortBy=displayName', () => forge('sortBy=displayName', key(1)), /not a string/],
      ['a NUL in a text key', 'sortBy=displayName', () => forge('sortBy=displayName', key('a\u0000')), /not a string/],
      ['a lone high surrogate', 'sortBy=displayName', () => forge('sortBy=displayName', key('a\ud800')), /not a string/],
      ['a lone low surrogate', 'sortBy=displayName', () => forge('sortBy=displayName', key('\udc00a')), /not a string/],
      ['a text key on a dateTime', 'sortBy=meta.created', () => forge('sortBy=meta.created', key('soon')), /not a dateTime/],
      ['a number key on a dateTime', 'sortBy=meta.created', () => forge('sortBy=meta.created', key(1)), /not a dateTime/],
      ['a NUL in a dateTime key', 'sortBy=meta.created', () => forge('sortBy=meta.created', key('2026-03-01T10:00:01Z\u0000')), /not a dateTime/],
      ['a number key on a boolean', 'sortBy=active', () => forge('sortBy=active', key(1)), /not a boolean/],
      ['a text key on a boolean', 'sortBy=active', () => forge('sortBy=active', key('true')), /not a boolean/],
    ])('%s is a 400 invalidCursor', async (_, query, cursor, detail) => {
      await status400(`/Users?${query}&cursor=${q(await cursor())}`, 'invalidCursor', detail);
    });

    it('a number key must be finite and a number', async () => {
      const query = `sortBy=${q(`${G}:memoryPolicy.retentionDays`)}`;
      const body = await list('/Agents', `${query}&count=1&cursor=`);
      const text = Buffer.from(body.nextCursor as string, 'base64url').toString();
      const decoded = JSON.parse(text) as unknown[];
      expect(decoded[3]).toBe(7);
      const infinite = b64(`${JSON.stringify(decoded.slice(0, 3)).slice(0, -1)},1e999]`);
      await status400(`/Agents?${query}&cursor=${infinite}`, 'invalidCursor', /not a number/);
      await status400(`/Agents?${query}&cursor=${b64(JSON.stringify([...decoded.slice(0, 3), '7']))}`, 'invalidCursor', /not a number/);
    });

    it('a boolean key reads back as a boolean, and a null key is accepted', async () => {
      const decode = (c: unknown) => JSON.parse(Buffer.from(c as string, 'base64url').toString()) as unknown[];
      const first = await list('/Users', 'sortBy=active&count=1&cursor=');
      expect(decode(first.nextCursor)[3]).toBe(false);
      const second = await list('/Users', `sortBy=active&count=1&cursor=${q(first.nextCursor as string)}`);
      expect(decode(second.nextCursor)[3]).toBe(true);
      const byTitle = await list('/Users', 'sortBy=title&count=3&cursor=');
      expect(decode(byTitle.nextCursor)[3]).toBeNull();
      const after = await list('/Users', `sortBy=title&count=10&cursor=${q(byTitle.nextCursor as string)}`);
      expect((after.Resources as Json[]).map((r) => nameOf[String(r.id)])).toEqual(['dave', 'eve']);
      // a null key for a row that had none, forged at the first position: every row without a key after it
      const forged = b64(JSON.stringify([...decode(byTitle.nextCursor).slice(0, 3)].map((v, i) => (i === 2 ? 0 : v)).concat([null])));
      const all = await list('/Users', `sortBy=title&count=10&cursor=${forged}`);
      expect((all.Resources as Json[]).map((r) => nameOf[String(r.id)])).toEqual(['bob', 'dave', 'eve']);
    });

    it('a long bad cursor is shown shortened in the message', async () => {
      const long = 'A'.repeat(100) + '!';
      await status400(`/Users?cursor=${q(long)}`, 'invalidCursor', new RegExp(`^cursor "${'A'.repeat(60)}…" is not valid`));
      await status400(`/Users?cursor=${q('x!')}`, 'invalidCursor', /^cursor "x!" is not valid for this query \(not base64url\); start again/);
    });
  });
});
