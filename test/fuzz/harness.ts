// The property-based fuzz suite of issue 10 ("Make the class impossible"), run on one store.
//
// Three properties drive the real HTTP app (a listening server, requests sent byte for byte):
//   filters  generated filters over the registered attributes and operators, and mutations of them;
//   queries  sortBy / sortOrder / startIndex / count / attributes / excludedAttributes / cursor;
//   writes   POST / PUT / PATCH bodies for /Users, /Groups and /Agents: half of them valid edits
//            (arbitraries.ts validEdit) that must succeed, so the governance rules, the PATCH engine,
//            the projection and the audit log are exercised; the rest the same edits, then mutated.
// Oracles, on every case:
//   - no 5xx;
//   - every 4xx is a SCIM error body (RFC 7644 §3.12, scimType on every 400);
//   - after a failed write the resource answers GET exactly as before (body, ETag, meta.version), a
//     failed POST created nothing, and no audit event was written;
//   - a filter's list result equals what the in-memory evaluator (src/scim/filter) selects from the
//     same resources as GET shows them with every returnable attribute (`returned: "request"` ones
//     too); a filter the evaluator rejects is a 400 invalidFilter;
//   - a value-filtered path in `attributes` never silently drops the attribute.
// A case never stops the run: every violation is counted and the first example of each distinct
// failure is shrunk afterwards (fast-check replays the run by seed and path, then shrinks it).

import fc from 'fast-check';
import { compileFilter } from '../../src/scim/filter/evaluate.js';
import { parseFilter } from '../../src/scim/filter/parse.js';
import type { Filter } from '../../src/scim/filter/ast.js';
import type { ResourceTypeInfo } from '../../src/scim/registry.js';
import { ScimError } from '../../src/scim/errors.js';
import { type TestApp, AGENT_URN, ENTERPRISE_URN, GOV_URN, GROUP_URN, PATCH_URN, USER_URN } from '../helpers/test-app.js';
import {
  b64,
  COUNT_VALUES,
  CURSOR_VALUES,
  deepValue,
  filterMutation,
  type KnownIds,
  type LiteralPools,
  mutateFilter,
  NASTY_STRINGS,
  pathsOf,
  type PathInfo,
  toJsonText,
  validEdit,
  type ValidEdit,
  validFilter,
  weirdValue,
} from './arbitraries.js';
import { FUZZ } from './config.js';
import { curlOf, encodeQueryValue, type FuzzRequest, type FuzzResponse, notScimError, send, type TokenKind } from './http.js';

type Json = Record<string, unknown>;

export const ENT_URN = 'urn:ietf:params:scim:schemas:core:2.0:Entitlement';
const SEARCH_URN = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';

export type Category =
  | '5xx'
  | '4xx-not-scim'
  | 'changed-after-4xx'
  | 'audit-after-failure'
  | 'evaluator-mismatch'
  | 'projection-drops-data';

export const CATEGORIES: Category[] = ['5xx', '4xx-not-scim', 'changed-after-4xx', 'audit-after-failure', 'evaluator-mismatch', 'projection-drops-data'];

export interface Violation {
  category: Category;
  request: FuzzRequest;
  status: number;
  /** what went wrong, for the report */
  detail: string;
  /** groups violations that are the same failure */
  signature: string;
}

export interface Failure {
  property: string;
  first: Violation;
  hits: number;
  /** run index in the generation phase (fast-check path) */
  index: number;
  minimal?: Violation;
  counterexamplePath?: string;
  shrunk: boolean;
}

export interface Counts {
  cases: number;
  requests: number;
  byCategory: Record<Category, number>;
  /** filters the server refused explicitly by a documented limit while the evaluator accepted them */
  refusedByLimit: number;
  /** HTTP statuses seen, per property */
  statuses: Record<string, Record<number, number>>;
}

const PROP_TIMEOUT = 0;

/** memoryPolicy of seeded agent i (index), when it has one */
const MEMORY_POLICIES: (Json | undefined)[] = [
  { retains: ['taskState', 'userPreferences'], reviewers: ['Rita', 'ann'] },
  undefined,
  { retains: ['none'], retentionDays: 0 },
  { retains: ['conversationHistory'], retentionDays: 30 },
  undefined,
  { retains: [], reviewers: [], retentionDays: 7 },
  { retains: ['userPreferences', 'taskState', 'conversationHistory'], reviewers: [''] },
  undefined,
  { reviewers: ['ANN', 'İstanbul'] },
  undefined,
];

/** actionPolicies of seeded agent i (index), when it has some */
const ACTION_POLICIES: (Json[] | undefined)[] = [
  undefined,
  [{ action: 'pay', mode: 'requireApproval', approvers: ['ann'] }],
  [
    { action: 'read', mode: 'allow' },
    { action: 'refund', mode: 'requireApproval', approvers: ['Ann', 'bob', 'straße'], limitAmount: 100 },
  ],
  undefined,
  [{ action: 'x', mode: 'deny', approvers: [] }],
  [
    { action: 'y', mode: 'requireApproval', approvers: [''] },
    { action: 'z', mode: 'allow', approvers: ['zed', 'ann b'] },
  ],
  undefined,
  [{ action: 'pay', mode: 'allow', approvers: ['İstanbul', 'ß', 'ann'] }],
  [{ action: 'read', mode: 'allow' }],
  undefined,
];

/** One store under fuzz: the app, its seeded data, the counters. */
export class StoreFuzzer {
  readonly name: string;
  readonly t: TestApp;
  readonly counts: Counts = {
    cases: 0,
    requests: 0,
    byCategory: Object.fromEntries(CATEGORIES.map((c) => [c, 0])) as Record<Category, number>,
    refusedByLimit: 0,
    statuses: {},
  };
  #property = 'seed';
  readonly failures = new Map<string, Failure>();
  tokens!: Record<Exclude<TokenKind, 'none'>, string>;
  ids!: KnownIds & { sponsor: string; victimUser: string; victimGroup: string; victimAgent: string };
  /** GET representation of every resource of each type, after seeding */
  snapshot = new Map<string, Json[]>();
  #rid = 0;
  #auditSeq = 0;
  /** makes every POSTed name unique, so that valid POSTs are not 409s */
  #uniq = 0;
  /** generated writes meant to be valid, and how many of them succeeded (2xx) */
  readonly writes = { valid: 0, validOk: 0, total: 0, ok: 0 };

  constructor(name: string, t: TestApp) {
    this.name = name;
    this.t = t;
  }

  get registry() {
    return this.t.registry;
  }

  rt(name: string): ResourceTypeInfo {
    const rt = this.registry.resourceType(name);
    if (!rt) throw new Error(`no resource type ${name}`);
    return rt;
  }

  async request(req: FuzzRequest, main = false): Promise<FuzzResponse> {
    this.counts.requests++;
    const res = await send(this.t.origin, this.tokens, req, `fuzz-${this.name}-${++this.#rid}`);
    if (main) {
      const h = (this.counts.statuses[this.#property] ??= {});
      h[res.status] = (h[res.status] ?? 0) + 1;
    }
    return res;
  }

  // ── seeding ──────────────────────────────────────────────────────────────────────────────────

  async seed(): Promise<void> {
    this.tokens = {
      admin: this.t.adminToken,
      read: await this.t.tokenWith(['scim.read'], 'fuzz-read'),
      revoke: await this.t.tokenWith(['scim.read', 'scim.revoke'], 'fuzz-revoke'),
    };
    const create = async (path: string, body: Json): Promise<string> => {
      this.t.clock.advance(61_000);
      const res = await this.request({ method: 'POST', path, body: JSON.stringify(body) });
      if (res.status !== 201) throw new Error(`seeding ${path} failed: ${res.status} ${res.text}`);
      return (res.body as Json).id as string;
    };
    const users: string[] = [];
    const nasty = NASTY_STRINGS.filter((s) => !/[\u0000\ud800-\udfff]/.test(s) && s.trim() !== '');
    for (let i = 0; i < 36; i++) {
      const word = nasty[i % nasty.length]!;
      users.push(
        await create('/Users', {
          schemas: [USER_URN, ENTERPRISE_URN],
          userName: `u${i}-${['alpha', 'Beta', 'GAMMA', 'İstanbul', 'straße'][i % 5]}`,
          ...(i % 3 === 0 ? {} : { displayName: i % 4 === 0 ? word : `Person ${word} ${i % 5}` }),
          ...(i % 4 === 0 ? { externalId: `EXT-${i}` } : {}),
          active: i % 2 === 0, // writeArbitrary's valid edits take owners from the active (even) ones
          ...(i % 5 === 0 ? {} : { emails: [{ value: `p${i}@${['example.com', 'Corp.example', 'x_y.org'][i % 3]}`, type: i % 2 ? 'work' : 'home', ...(i % 6 === 1 ? { primary: true } : {}) }] }),
          ...(i % 9 === 0 ? { title: '' } : i % 2 ? { title: `${word}-T${i % 4}` } : {}),
          ...(i % 7 === 0 ? { name: { givenName: word, familyName: `F${i}` } } : {}),
          ...(i % 8 === 3 ? { phoneNumbers: [{ value: `+1-555-${1000 + i}`, type: 'work' }, { value: `555${i}` }] } : {}),
          ...(i % 2 ? { [ENTERPRISE_URN]: { employeeNumber: String(1000 + i), department: word, ...(i > 1 ? { manager: { value: users[0] } } : {}) } } : {}),
        }),
      );
    }
    const groups: string[] = [];
    for (let i = 0; i < 5; i++) {
      groups.push(
        await create('/Groups', {
          schemas: [GROUP_URN],
          displayName: `${['Ops', 'İstanbul team', 'straße', 'SS', '%_'][i]} ${i}`,
          members: users.filter((_, k) => k % (i + 2) === 0).slice(0, 6).map((value) => ({ value })),
        }),
      );
    }
    const entitlements: string[] = [];
    for (let i = 0; i < 4; i++) {
      await create('/Entitlements', { schemas: [ENT_URN], value: `ent.${i}`, display: `Entitlement ${nasty[i]}` });
      entitlements.push(`ent.${i}`);
    }
    const sponsor = users[0]!;
    const agents: string[] = [];
    for (let i = 0; i < 10; i++) {
      agents.push(
        await create('/Agents', {
          schemas: [AGENT_URN, GOV_URN],
          agentUserName: `agent-${i}${['', '.x', '_y', '-z'][i % 4]}`,
          ...(i % 2 ? { displayName: `Agent ${nasty[(i * 3) % nasty.length]}` } : {}),
          ...(i % 3 ? { description: `does ${nasty[i % nasty.length]} things` } : {}),
          ...(i % 3 === 1 ? { owners: [{ value: sponsor, type: 'user' }] } : {}),
          entitlements: Array.from({ length: i % 4 }, (_, k) => ({ value: `ent.${(i + k) % 4}`, ...(k === 0 ? { primary: true } : {}) })),
          [GOV_URN]: {
            sponsor: { value: users[(i % 3) * 2]! },
            purpose: `purpose ${i} ${nasty[(i * 5) % nasty.length]}`,
            environment: ['production', 'test', 'development'][i % 3],
            autonomyLevel: ['advisory', 'humanInTheLoop', 'humanOnTheLoop'][i % 3],
            ...(i % 2 ? { reviewIntervalDays: 30 + i * 7 } : {}),
            ...(i % 4 === 2 ? { coSponsors: [{ value: groups[0], type: 'group' }] } : {}),
            ...(i % 5 === 3 ? { ownerTeam: { value: groups[1] } } : {}),
            // multi-valued sub-attributes: arrays in a complex value (retains folds, reviewers and
            // approvers are case exact), empty arrays, "" (not present), approvers only in a later policy
            ...(MEMORY_POLICIES[i] ? { memoryPolicy: MEMORY_POLICIES[i] } : {}),
            ...(ACTION_POLICIES[i] ? { actionPolicies: ACTION_POLICIES[i] } : {}),
          },
        }),
      );
    }
    await create('/Roles', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Role'], value: 'role.a', display: 'Role İ' }).catch(() => '');
    const victimUser = await create('/Users', {
      schemas: [USER_URN, ENTERPRISE_URN],
      userName: 'victim-user',
      displayName: 'Victim',
      emails: [{ value: 'victim@example.com', type: 'work', primary: true }],
      [ENTERPRISE_URN]: { employeeNumber: '42', manager: { value: sponsor } },
    });
    const victimGroup = await create('/Groups', { schemas: [GROUP_URN], displayName: 'victim-group', members: [{ value: victimUser }, { value: users[1]! }] });
    const victimAgent = await create('/Agents', {
      schemas: [AGENT_URN, GOV_URN],
      agentUserName: 'victim-agent',
      displayName: 'Victim agent',
      owners: [{ value: sponsor, type: 'user' }],
      entitlements: [{ value: 'ent.0' }],
      [GOV_URN]: {
        sponsor: { value: sponsor },
        coSponsors: [{ value: users[2]!, type: 'user' }],
        purpose: 'being fuzzed',
        environment: 'test',
        autonomyLevel: 'advisory',
      },
    });
    this.ids = { users, groups, agents, entitlements, sponsor, victimUser, victimGroup, victimAgent };
    for (const type of ['User', 'Group', 'Agent', 'Entitlement', 'Role', 'AuditEvent']) this.snapshot.set(type, await this.listAll(type));
    await this.#advanceAudit();
  }

  /**
   * Every resource of a type as GET shows it (admin token), with every returnable attribute: the
   * filter oracle must see what the store filters on, including `returned: "request"` attributes
   * such as the governance extension's `attestation`, which a plain GET leaves out.
   */
  async listAll(type: string): Promise<Json[]> {
    const out: Json[] = [];
    const rt = this.rt(type);
    const endpoint = rt.type.endpoint;
    const attributes = [
      ...rt.attributes.map((a) => a.name),
      ...rt.extensions.flatMap((e) => e.schema.attributes.map((a) => `${e.schema.id}:${a.name}`)),
    ];
    for (let start = 1; ; start += 1000) {
      const res = await this.request({
        method: 'POST',
        path: `${endpoint}/.search`,
        body: JSON.stringify({ schemas: [SEARCH_URN], attributes, startIndex: start, count: 1000 }),
      });
      if (res.status !== 200) throw new Error(`listing ${endpoint}: ${res.status} ${res.text}`);
      const page = ((res.body as Json).Resources ?? []) as Json[];
      out.push(...page);
      if (page.length < 1000) return out;
    }
  }

  /** seq of the newest audit event */
  async #advanceAudit(): Promise<void> {
    for (;;) {
      const page = await this.t.store.auditEvents(this.#auditSeq, 1000);
      if (page.length === 0) return;
      this.#auditSeq = page[page.length - 1]!.seq;
    }
  }

  idNames(): Record<string, string> {
    const out: Record<string, string> = {
      sponsor: this.ids.sponsor,
      victimUser: this.ids.victimUser,
      victimGroup: this.ids.victimGroup,
      victimAgent: this.ids.victimAgent,
    };
    this.ids.users.forEach((id, i) => (out[`user${i}`] ??= id));
    this.ids.groups.forEach((id, i) => (out[`group${i}`] = id));
    this.ids.agents.forEach((id, i) => (out[`agent${i}`] = id));
    return out;
  }

  /** a stable name for a path with ids in it */
  template(path: string): string {
    let p = path;
    for (const id of [...this.ids.users, ...this.ids.groups, ...this.ids.agents, this.ids.victimUser, this.ids.victimGroup, this.ids.victimAgent]) {
      p = p.split(id).join('{id}');
    }
    return p.replace(/\?.*$/, '');
  }

  /** The server's own words for a 5xx: the logged error of that request. */
  serverError(res: FuzzResponse): string {
    const line = this.t
      .logs()
      .reverse()
      .find((l) => l.requestId === res.requestId && l.err !== undefined);
    const err = line?.err as { type?: string; message?: string; stack?: string } | undefined;
    if (!err) return (res.body as Json | undefined)?.detail as string ?? res.text.slice(0, 200);
    const at = err.stack?.split('\n').find((s) => s.includes('/src/'))?.trim().replace(/^at /, '').replace(/\(.*\/src\//, '(src/') ?? '';
    return `${err.type ?? 'Error'}: ${(err.message ?? '').slice(0, 160)} ${at}`;
  }

  // ── the oracles shared by all properties ─────────────────────────────────────────────────────

  /** no 5xx; every 4xx a SCIM error */
  checkResponse(req: FuzzRequest, res: FuzzResponse, out: Violation[]): void {
    const where = `${req.method} ${this.template(req.path)}`;
    if (res.status >= 500) {
      const detail = this.serverError(res);
      out.push({ category: '5xx', request: req, status: res.status, detail, signature: `5xx|${where}|${res.status}|${normalize(detail)}` });
    }
    if (res.status >= 400) {
      const why = notScimError(res);
      if (why) out.push({ category: '4xx-not-scim', request: req, status: res.status, detail: `${why}; body ${res.text.slice(0, 200)}`, signature: `4xx-not-scim|${where}|${res.status}|${normalize(why)}` });
    }
  }

  // ── property runner ──────────────────────────────────────────────────────────────────────────

  /**
   * Runs `check` on `runs` generated inputs without stopping at a failure, records every
   * violation, then shrinks the first example of each distinct failure. Returns the failures.
   */
  async run<T>(property: string, arb: fc.Arbitrary<T>, check: (input: T) => Promise<Violation[]>): Promise<Failure[]> {
    let index = 0;
    this.#property = property;
    const mine = new Map<string, Failure>();
    const started = Date.now();
    const result = await fc.check(
      fc.asyncProperty(arb, async (input) => {
        const here = index++;
        this.counts.cases++;
        let vs: Violation[];
        try {
          vs = await check(input);
        } catch (e) {
          vs = [{ category: '5xx', request: { method: 'GET', path: '(harness)' }, status: 0, detail: String((e as Error).stack ?? e), signature: `harness|${String((e as Error).message).slice(0, 80)}` }];
        }
        for (const v of vs) {
          this.counts.byCategory[v.category]++;
          const key = `${property}|${v.signature}`;
          const f = mine.get(key);
          if (f) f.hits++;
          else mine.set(key, { property, first: v, hits: 1, index: here, shrunk: false });
        }
        return true;
      }),
      {
        seed: FUZZ.seed,
        numRuns: FUZZ.runs,
        timeout: PROP_TIMEOUT || undefined,
        ...(FUZZ.timeLimitMs > 0 ? { interruptAfterTimeLimit: FUZZ.timeLimitMs, markInterruptAsFailure: false } : {}),
      },
    );
    const generationMs = Date.now() - started;
    this.#property = `${property} (shrinking)`;
    let shrinks = 0;
    for (const [key, f] of mine) {
      if (shrinks++ >= FUZZ.shrinkMax) break;
      const sig = f.first.signature;
      let last: Violation | undefined;
      const r = await fc.check(
        fc.asyncProperty(arb, async (input) => {
          let vs: Violation[];
          try {
            vs = await check(input);
          } catch {
            return true;
          }
          const hit = vs.find((v) => v.signature === sig);
          if (hit) last = hit;
          return hit === undefined;
        }),
        { seed: FUZZ.seed, path: String(f.index), numRuns: 1, interruptAfterTimeLimit: FUZZ.shrinkMs, markInterruptAsFailure: false },
      );
      if (r.failed && last) {
        f.minimal = last;
        f.counterexamplePath = r.counterexamplePath ?? String(f.index);
        f.shrunk = true;
      }
      this.failures.set(key, f);
    }
    for (const [key, f] of mine) if (!this.failures.has(key)) this.failures.set(key, f);
    console.log(
      `[fuzz] ${this.name} ${property}: ${index} cases in ${(generationMs / 1000).toFixed(1)} s` +
        `${result.interrupted ? ' (time limit reached)' : ''}, ${mine.size} distinct failures`,
    );
    return [...mine.values()];
  }

  // ── property 1: filters ──────────────────────────────────────────────────────────────────────

  filterArbitrary(): fc.Arbitrary<{ type: string; text: string; via: 'get' | 'search' }> {
    const perType = ['User', 'Group', 'Agent', 'Entitlement', 'AuditEvent'].map((type) => {
      const rt = this.rt(type);
      const pools = poolsOf(this.snapshot.get(type) ?? []);
      const valid = validFilter(withValues(pathsOf(rt), this.snapshot.get(type) ?? []), pools);
      const text = fc.oneof(
        { weight: 6, arbitrary: valid },
        { weight: 3, arbitrary: fc.tuple(valid, filterMutation).map(([f, m]) => mutateFilter(f, m)) },
        { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
      );
      return fc.record({ type: fc.constant(type), text, via: fc.constantFrom('get' as const, 'search' as const) });
    });
    return fc.oneof({ weight: 4, arbitrary: perType[0]! }, { weight: 1, arbitrary: perType[1]! }, { weight: 3, arbitrary: perType[2]! }, { weight: 1, arbitrary: perType[3]! }, { weight: 1, arbitrary: perType[4]! });
  }

  async checkFilter(c: { type: string; text: string; via: 'get' | 'search' }): Promise<Violation[]> {
    const rt = this.rt(c.type);
    const endpoint = rt.type.endpoint;
    const req: FuzzRequest =
      c.via === 'get'
        ? { method: 'GET', path: endpoint, query: [['filter', c.text], ['count', '1000']] }
        : { method: 'POST', path: `${endpoint}/.search`, body: JSON.stringify({ schemas: [SEARCH_URN], filter: c.text, count: 1000 }) };
    const res = await this.request(req, true);
    const out: Violation[] = [];
    this.checkResponse(req, res, out);
    if (res.status >= 500) return out;
    // the in-memory evaluator on the same resources, given the text the server received (a lone
    // surrogate cannot travel in a URL: its WTF-8 bytes arrive as U+FFFD)
    const received = c.via === 'get' ? (new URLSearchParams(`f=${encodeQueryValue(c.text)}`).get('f') ?? '') : c.text;
    let ast: Filter | undefined;
    const evaluate = (): string[] | ScimError => {
      const all = this.snapshot.get(c.type) ?? [];
      // list-request.ts: a blank filter is no filter
      if (received.trim() === '') return all.map((r) => String(r.id)).sort();
      try {
        ast = parseFilter(received);
        const pred = compileFilter(ast, {
          attributes: rt.attributes,
          extensions: Object.fromEntries(rt.extensions.map((e) => [e.schema.id, e.schema.attributes])),
          coreSchema: rt.core.id,
        });
        return all.filter((r) => pred(r)).map((r) => String(r.id)).sort();
      } catch (e) {
        if (e instanceof ScimError) return e;
        throw e;
      }
    };
    const expected = evaluate();
    const body = res.body as Json | undefined;
    const mismatch = (kind: string, detail: string) => {
      const feature = ast ? features(ast) : '';
      out.push({ category: 'evaluator-mismatch', request: req, status: res.status, detail, signature: `mismatch|${c.type}|${kind}|${feature}` });
    };
    if (expected instanceof ScimError) {
      if (res.status === 200) mismatch('server-accepts', `the evaluator rejects it (${expected.scimType}: ${expected.message}) but the server answered 200 with ${String(body?.totalResults)} results`);
      else if (res.status === 400 && body?.scimType !== 'invalidFilter' && body?.scimType !== 'invalidValue') {
        mismatch('scimType', `a filter the parser rejects as ${expected.scimType} got scimType ${String(body?.scimType)}`);
      }
      return out;
    }
    if (res.status === 200) {
      const got = (((body?.Resources ?? []) as Json[]).map((r) => String(r.id))).sort();
      if (JSON.stringify(got) !== JSON.stringify(expected) || body?.totalResults !== expected.length) {
        const extra = got.filter((id) => !expected.includes(id));
        const missing = expected.filter((id) => !got.includes(id));
        mismatch('results', `server returned ${got.length} (totalResults ${String(body?.totalResults)}), evaluator ${expected.length}; extra ${JSON.stringify(this.describeIds(c.type, extra))}, missing ${JSON.stringify(this.describeIds(c.type, missing))}`);
      }
      return out;
    }
    if (res.status === 400 && allowedRefusal(received, body)) {
      this.counts.refusedByLimit++;
      return out;
    }
    mismatch('server-rejects', `the evaluator accepts it (${expected.length} results) but the server answered ${res.status} ${String(body?.scimType)}: ${String(body?.detail).slice(0, 200)}`);
    return out;
  }

  describeIds(type: string, ids: string[]): string[] {
    const byId = new Map((this.snapshot.get(type) ?? []).map((r) => [String(r.id), r]));
    return ids.slice(0, 3).map((id) => {
      const r = byId.get(id);
      return String(r?.userName ?? r?.agentUserName ?? r?.displayName ?? r?.value ?? id);
    });
  }

  // ── property 2: query parameters ─────────────────────────────────────────────────────────────

  queryArbitrary(): fc.Arbitrary<QueryCase> {
    const types = ['User', 'Group', 'Agent', 'Entitlement', 'AuditEvent'];
    return fc.constantFrom(...types).chain((type) => {
      const rt = this.rt(type);
      const paths = pathsOf(rt).map((p) => p.text);
      const complex = pathsOf(rt).filter((p) => p.def === p.top && p.def.type === 'complex' && p.def.multiValued).map((p) => p.text);
      const valueFiltered = complex.length
        ? fc.tuple(fc.constantFrom(...complex), fc.constantFrom('type eq "work"', 'value pr', 'primary eq true', 'value co "a"', 'nope eq 1'), fc.option(fc.constantFrom('value', 'type', 'display'))).map(
            ([a, f, s]) => `${a}[${f}]${s ? `.${s}` : ''}`,
          )
        : fc.constant('emails[type eq "work"]');
      const attrItem = fc.oneof(
        { weight: 4, arbitrary: fc.constantFrom(...paths) },
        { weight: 2, arbitrary: valueFiltered },
        { weight: 1, arbitrary: fc.constantFrom('meta', 'meta.resourceType', 'schemas', 'id', '', ' ', 'urn:nope:x', 'a..b', '[', 'emails[', '$ref', 'urn:ietf:params:scim:schemas:core:2.0:User', GOV_URN) },
        { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 10 }) },
      );
      const attrList = fc.array(attrItem, { minLength: 1, maxLength: 3 }).map((a) => a.join(','));
      // multi-valued sub-attributes (an array in each complex value) sort by their first value
      const nested = pathsOf(rt).filter((p) => p.def !== p.top && p.def.multiValued).map((p) => p.text);
      const sortBy = fc.oneof(
        { weight: 5, arbitrary: fc.constantFrom(...paths, 'meta.resourceType', 'meta.created', 'meta.lastModified', 'meta.version', 'meta.location', 'meta', 'id', 'groups', 'groups.display') },
        { weight: 1, arbitrary: nested.length ? fc.constantFrom(...nested) : fc.constant('id') },
        { weight: 1, arbitrary: fc.constantFrom('emails[type eq "work"].value', 'nope', 'urn:nope:x', '', '(', 'userName desc', '$ref') },
        { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 10 }) },
      );
      const cursor = fc.oneof(
        { weight: 3, arbitrary: fc.constantFrom(...CURSOR_VALUES) },
        { weight: 1, arbitrary: fc.tuple(fc.integer({ min: -3, max: 100 }), fc.anything({ maxDepth: 2 })).map(([seq, key]) => b64([seq, key])) },
        { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 16 }) },
      );
      const cursorOrNot = fc.option(cursor, { freq: 3 });
      const params = fc.record(
        {
          sortBy,
          sortOrder: fc.oneof({ weight: 4, arbitrary: fc.constantFrom('ascending', 'descending') }, { weight: 1, arbitrary: fc.constantFrom('DESCENDING', 'asc', '', 'x') }),
          startIndex: fc.oneof({ weight: 3, arbitrary: fc.constantFrom('1', '2', '5', '40') }, { weight: 1, arbitrary: fc.constantFrom(...COUNT_VALUES) }),
          count: fc.oneof({ weight: 3, arbitrary: fc.constantFrom('3', '10', '100') }, { weight: 1, arbitrary: fc.constantFrom(...COUNT_VALUES) }),
          attributes: attrList,
          excludedAttributes: attrList,
          cursor: cursorOrNot.map((x) => x ?? undefined),
          filter: fc.constantFrom('id pr', 'meta.lastModified gt "2026-01-01T00:00:00Z"', 'displayName co "a"'),
        },
        { requiredKeys: [] },
      );
      return fc.record({
        type: fc.constant(type),
        target: fc.constantFrom('list' as const, 'list' as const, 'one' as const, 'search' as const),
        params,
        pick: fc.nat(),
        searchTypes: fc.boolean(),
        upper: fc.boolean(),
      });
    });
  }

  async checkQuery(c: QueryCase): Promise<Violation[]> {
    const rt = this.rt(c.type);
    const endpoint = rt.type.endpoint;
    const rows = this.snapshot.get(c.type) ?? [];
    const params = Object.entries(c.params).filter(([, v]) => v !== undefined) as [string, string][];
    let req: FuzzRequest;
    if (c.target === 'search') {
      const body: Json = { schemas: [SEARCH_URN] };
      for (const [k, v] of params) {
        // a SearchRequest carries JSON types: numbers, arrays of attributes; sometimes the wrong ones
        if ((k === 'startIndex' || k === 'count') && c.searchTypes && /^-?\d+$/.test(v)) body[k] = Number(v);
        else if ((k === 'attributes' || k === 'excludedAttributes') && c.searchTypes) body[k] = v.split(',');
        else body[k] = v;
      }
      req = { method: 'POST', path: `${endpoint}/.search`, body: JSON.stringify(body) };
    } else if (c.target === 'one' && rows.length > 0) {
      const one = rows[c.pick % rows.length]!;
      req = { method: 'GET', path: `${endpoint}/${String(one.id)}`, query: params.filter(([k]) => k === 'attributes' || k === 'excludedAttributes') };
    } else {
      req = { method: 'GET', path: endpoint, query: params.map(([k, v]) => [c.upper ? k.toLowerCase() : k, v]) };
    }
    const res = await this.request(req, true);
    const out: Violation[] = [];
    this.checkResponse(req, res, out);
    // attributes=emails[type eq "work"] must not silently drop emails (issue 10, finding 10)
    const attrs = c.params.attributes;
    if (res.status === 200 && attrs !== undefined && c.params.excludedAttributes === undefined) {
      const body = res.body as Json;
      const returned = (c.target === 'one' ? [body] : ((body.Resources ?? []) as Json[])) ?? [];
      const byId = new Map(rows.map((r) => [String(r.id), r]));
      for (const item of attrs.split(',')) {
        const m = /^\s*([A-Za-z][\w$-]*)\[[^\]]*\](?:\.([A-Za-z$][\w$-]*))?\s*$/.exec(item);
        if (!m) continue;
        const name = m[1]!;
        // `changes[…].value` names `changes.value`: where `changes` has no such sub-attribute it is an
        // unknown name, ignored like `changes.value` itself (a tolerant reader, RFC 7644 §3.9)
        const def = rt.attributes.find((a) => a.name.toLowerCase() === name.toLowerCase());
        if (m[2] !== undefined && !def?.subAttributes?.some((s) => s.name.toLowerCase() === m[2]!.toLowerCase())) continue;
        for (const r of returned) {
          const full = byId.get(String(r.id));
          const key = full && Object.keys(full).find((k) => k.toLowerCase() === name.toLowerCase());
          if (!full || key === undefined || !present(full[key])) continue;
          if (!Object.keys(r).some((k) => k.toLowerCase() === name.toLowerCase())) {
            out.push({
              category: 'projection-drops-data',
              request: req,
              status: res.status,
              detail: `attributes=${attrs}: ${c.type} ${String(r.id)} has "${key}" but the response left it out`,
              signature: `projection|${c.type}|${normalize(item.replace(/\[.*$/, '[…]'))}`,
            });
            break;
          }
        }
      }
    }
    return out;
  }

  // ── property 3: writes ───────────────────────────────────────────────────────────────────────

  writeArbitrary(): fc.Arbitrary<WriteCase> {
    const weird = weirdValue(this.ids);
    const kinds = ['User', 'Group', 'Agent'] as const;
    return fc.constantFrom(...kinds).chain((kind) => {
      const rt = this.rt(kind);
      const paths = pathsOf(rt).map((p) => p.text);
      const pathText = fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom(...paths) },
        {
          weight: 2,
          arbitrary: fc.constantFrom(
            'emails[type eq "work"].value',
            'emails[type eq "work"]',
            'members[value eq "x"]',
            `members[value eq "${this.ids.users[1]}"]`,
            'owners[value eq ""]',
            `${GOV_URN}:coSponsors[type eq "user"]`,
            `${GOV_URN}:sponsor`,
            `${GOV_URN}:lifecycleState`,
            `${GOV_URN}:ownerTeam.value`,
            ENTERPRISE_URN,
            `${ENTERPRISE_URN}:manager`,
            'active',
            'meta.version',
            'id',
            'schemas',
            'name.givenName',
            'entitlements[value eq "ent.0"].primary',
          ),
        },
        { weight: 1, arbitrary: fc.constantFrom('', 'nope', 'emails[', 'emails[type eq]', 'a.b.c', 'urn:nope:x:y', '\u0000', '\ud800', 'emails[type eq "\u0000"]', `${'('.repeat(100)}`) },
        { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
      );
      const value = fc.oneof({ weight: 3, arbitrary: weird }, { weight: 2, arbitrary: validishValue(this.ids) });
      const mutation: fc.Arbitrary<BodyMutation> = fc.oneof(
        { weight: 5, arbitrary: fc.record({ kind: fc.constant('set' as const), path: pathText, value }) },
        { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }) },
        { weight: 1, arbitrary: fc.record({ kind: fc.constant('unknown' as const), name: fc.constantFrom('fooBar', 'urn:nope:ext:1.0:X', 'SCHEMAS', '__proto__', 'constructor', '', 'Meta'), value }) },
      );
      const op: fc.Arbitrary<PatchOpGen> = fc.record(
        {
          op: fc.oneof({ weight: 6, arbitrary: fc.constantFrom<unknown>('add', 'replace', 'remove', 'Add', 'Replace', 'Remove', 'REPLACE') }, { weight: 1, arbitrary: fc.constantFrom<unknown>('move', '', null, 3) }),
          path: pathText,
          value,
        },
        { requiredKeys: ['op'] },
      );
      const raw: fc.Arbitrary<RawBody> = fc.oneof(
        fc.constantFrom<RawBody>(
          { kind: 'text', text: '' },
          { kind: 'text', text: '{' },
          { kind: 'text', text: 'null' },
          { kind: 'text', text: '[]' },
          { kind: 'text', text: '"x"' },
          { kind: 'text', text: '{"schemas":' },
          { kind: 'text', text: '\ufeff{}' },
          { kind: 'text', text: '{"a":1,"a":2}' },
          { kind: 'text', text: '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"replace","path":"displayName","value":"\\ud800"}]}' },
          { kind: 'contentType', contentType: 'text/plain' },
          { kind: 'contentType', contentType: 'application/json; charset=latin1' },
          { kind: 'huge' },
        ),
        fc.tuple(fc.integer({ min: 100, max: 5000 }), fc.boolean()).map(([depth, array]) => ({ kind: 'deep' as const, depth, array })),
      );
      return fc.record({
        kind: fc.constant(kind),
        valid: fc.boolean(),
        edits: fc.array(validEdit(kind, this.ids, { gov: GOV_URN, enterprise: ENTERPRISE_URN, activeUsers: this.ids.users.filter((_, i) => i % 2 === 0) }), { minLength: 1, maxLength: 3 }),
        method: fc.constantFrom('POST' as const, 'PUT' as const, 'PATCH' as const, 'PATCH' as const),
        token: fc.oneof({ weight: 8, arbitrary: fc.constant<TokenKind>('admin') }, { weight: 1, arbitrary: fc.constantFrom<TokenKind>('read', 'revoke', 'none') }),
        mutations: fc.oneof(fc.constant<BodyMutation[]>([]), fc.array(mutation, { maxLength: 3 })),
        ops: fc.array(op, { minLength: 0, maxLength: 3 }),
        entra: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
        raw: fc.option(raw, { freq: 8 }),
        nonce: fc.nat({ max: 50 }),
      });
    });
  }

  async #postBase(kind: WriteCase['kind'], nonce: number): Promise<Json> {
    const n = `${nonce}-${++this.#uniq}`;
    switch (kind) {
      case 'User':
        return { schemas: [USER_URN], userName: `fz-${n}`, displayName: 'Fuzzed', active: true, emails: [{ value: `f${nonce}@example.com`, type: 'work' }] };
      case 'Group':
        return { schemas: [GROUP_URN], displayName: `fz-group-${n}`, members: [{ value: this.ids.users[1] }] };
      case 'Agent':
        return {
          schemas: [AGENT_URN, GOV_URN],
          agentUserName: `fz-agent-${n}`,
          owners: [{ value: this.ids.sponsor, type: 'user' }],
          [GOV_URN]: { sponsor: { value: this.ids.sponsor }, coSponsors: [{ value: this.ids.groups[0], type: 'group' }], purpose: 'fuzz', environment: 'test', autonomyLevel: 'advisory' },
        };
    }
  }

  victim(kind: WriteCase['kind']): string {
    return kind === 'User' ? this.ids.victimUser : kind === 'Group' ? this.ids.victimGroup : this.ids.victimAgent;
  }

  async checkWrite(c: WriteCase): Promise<Violation[]> {
    const rt = this.rt(c.kind);
    const endpoint = rt.type.endpoint;
    const target = c.method === 'POST' ? endpoint : `${endpoint}/${this.victim(c.kind)}`;
    // what a failed request must leave untouched
    const beforeGet = c.method === 'POST' ? undefined : await this.request({ method: 'GET', path: target });
    const beforeTotal = await this.total(endpoint);
    await this.#advanceAudit();
    const seqBefore = this.#auditSeq;

    // a valid case: admin token, the valid edits only; otherwise the edits, then the mutations
    const valid = c.valid;
    const token: TokenKind = valid ? 'admin' : c.token;
    let body: string | undefined;
    let contentType: string | undefined;
    if (valid) {
      if (c.method === 'PATCH') {
        body = toJsonText({ schemas: [PATCH_URN], Operations: c.edits.map((e) => ({ op: e.op, path: e.path, ...(e.value !== undefined ? { value: e.value } : {}) })) });
      } else {
        const base = c.method === 'PUT' && beforeGet?.status === 200 ? withoutMeta(beforeGet.body as Json) : await this.#postBase(c.kind, c.nonce);
        for (const e of c.edits) applyEdit(base, e);
        body = toJsonText(base);
      }
    } else if (c.raw?.kind === 'text') body = c.raw.text;
    else if (c.raw?.kind === 'deep') body = toJsonText(c.method === 'PATCH' ? { schemas: [PATCH_URN], Operations: [{ op: 'add', path: 'displayName', value: deepValue(c.raw.depth, c.raw.array) }] } : { ...(await this.#postBase(c.kind, c.nonce)), description: deepValue(c.raw.depth, c.raw.array) });
    else if (c.raw?.kind === 'huge') body = JSON.stringify({ ...(await this.#postBase(c.kind, c.nonce)), displayName: 'x'.repeat(1_100_000) });
    else {
      if (c.raw?.kind === 'contentType') contentType = c.raw.contentType;
      if (c.method === 'PATCH') {
        const edits: PatchOpGen[] = c.edits.map((e) => ({ op: e.op, path: e.path, ...(e.value !== undefined ? { value: e.value } : {}) }));
        const ops = [...edits, ...c.ops].map((o: PatchOpGen) => {
          const op: Json = { op: o.op };
          if (o.path !== undefined) op.path = o.path;
          if (o.value !== undefined) op.value = o.value;
          return op;
        });
        if (c.entra) ops.push({ op: 'Replace', path: 'active', value: 'False' });
        const patch: Json = { schemas: [PATCH_URN], Operations: ops };
        for (const m of c.mutations) if (m.kind === 'unknown') patch[m.name] = m.value;
        body = toJsonText(patch);
      } else {
        let base: Json;
        if (c.method === 'PUT' && beforeGet?.status === 200) base = withoutMeta(beforeGet.body as Json);
        else base = await this.#postBase(c.kind, c.nonce);
        for (const e of c.edits) applyEdit(base, e);
        if (c.entra) base.active = 'False';
        for (const m of c.mutations) applyMutation(base, m);
        body = toJsonText(base);
      }
    }
    const req: FuzzRequest = { method: c.method, path: target, body, token, ...(contentType ? { contentType } : {}) };
    const res = await this.request(req, true);
    const out: Violation[] = [];
    this.checkResponse(req, res, out);
    const ok = res.status >= 200 && res.status < 300;
    this.writes.total++;
    if (ok) this.writes.ok++;
    if (valid) {
      this.writes.valid++;
      if (ok) this.writes.validOk++;
      else if (process.env.FUZZ_DEBUG) console.log(`[fuzz] valid write refused: ${req.method} ${this.template(req.path)} ${res.status} ${String((res.body as Json | undefined)?.detail).slice(0, 200)} ${body?.slice(0, 300)}`);
    }
    if (ok) return out;
    const where = `${req.method} ${this.template(req.path)}`;
    // a failure leaves no trace: the resource as before, nothing created, no audit event
    if (beforeGet) {
      const after = await this.request({ method: 'GET', path: target });
      if (after.status !== beforeGet.status || after.etag !== beforeGet.etag || after.text !== beforeGet.text) {
        out.push({
          category: 'changed-after-4xx',
          request: req,
          status: res.status,
          detail: `${where} answered ${res.status} but GET changed: ETag ${beforeGet.etag} → ${after.etag}; ${firstDifference(beforeGet.body, after.body)}`,
          signature: `changed|${where}|${res.status}|${String((res.body as Json | undefined)?.scimType)}`,
        });
      }
    }
    const afterTotal = await this.total(endpoint);
    if (afterTotal !== beforeTotal) {
      out.push({
        category: 'changed-after-4xx',
        request: req,
        status: res.status,
        detail: `${where} answered ${res.status} but ${endpoint} totalResults went ${beforeTotal} → ${afterTotal}`,
        signature: `created|${where}|${res.status}`,
      });
    }
    const audit = await this.t.store.auditEvents(seqBefore, 10);
    if (audit.length > 0) {
      out.push({
        category: 'audit-after-failure',
        request: req,
        status: res.status,
        detail: `${where} answered ${res.status} but wrote audit events: ${audit.map((a) => `${a.action} ${a.resourceType}`).join(', ')}`,
        signature: `audit|${where}|${res.status}|${audit.map((a) => a.action).join(',')}`,
      });
      await this.#advanceAudit();
    }
    return out;
  }

  async total(endpoint: string): Promise<number | undefined> {
    const res = await this.request({ method: 'GET', path: endpoint, query: [['count', '0']] });
    return (res.body as Json | undefined)?.totalResults as number | undefined;
  }

  // ── report ───────────────────────────────────────────────────────────────────────────────────

  countsLine(): string {
    const c = this.counts;
    const b = c.byCategory;
    return (
      `[fuzz] ${this.name}: seed ${FUZZ.seed}, ${c.cases} cases (${c.requests} requests): ` +
      `5xx ${b['5xx']}, 4xx-without-SCIM-body ${b['4xx-not-scim']}, resources changed after a 4xx ${b['changed-after-4xx']}, ` +
      `audit events after a failure ${b['audit-after-failure']}, evaluator mismatches ${b['evaluator-mismatch']}, ` +
      `attributes dropping data ${b['projection-drops-data']} (filters refused by a documented limit: ${c.refusedByLimit}); ` +
      `writes ${this.writes.ok}/${this.writes.total} succeeded (meant valid: ${this.writes.validOk}/${this.writes.valid}); ` +
      `statuses ${Object.entries(c.statuses)
        .filter(([p]) => p !== 'seed' && !p.endsWith('(shrinking)'))
        .map(([p, h]) => `${p} {${Object.entries(h).map(([k, n]) => `${k}: ${n}`).join(', ')}}`)
        .join(' ')}`
    );
  }

  describeFailures(failures: Failure[]): string {
    const names = this.idNames();
    return failures
      .map((f, i) => {
        const v = f.minimal ?? f.first;
        return [
          `#${i + 1} [${this.name}] ${f.property}: ${v.category}, HTTP ${v.status} (${f.hits} hits)`,
          `   ${v.detail.slice(0, 400)}`,
          `   ${curlOf(v.request, names)}`,
          `   ${f.shrunk ? `minimal counterexample; replay: seed ${FUZZ.seed}, path "${f.counterexamplePath}"` : `first example (not shrunk); seed ${FUZZ.seed}, path "${f.index}"`}`,
        ].join('\n');
      })
      .join('\n');
  }
}

// ── helpers ────────────────────────────────────────────────────────────────────────────────────

export interface QueryCase {
  type: string;
  target: 'list' | 'one' | 'search';
  params: Partial<Record<'sortBy' | 'sortOrder' | 'startIndex' | 'count' | 'attributes' | 'excludedAttributes' | 'cursor' | 'filter', string>>;
  pick: number;
  searchTypes: boolean;
  upper: boolean;
}

export type BodyMutation =
  | { kind: 'set'; path: string; value: unknown }
  | { kind: 'delete'; pick: number }
  | { kind: 'unknown'; name: string; value: unknown };

export interface PatchOpGen {
  op: unknown;
  path?: string;
  value?: unknown;
}

export type RawBody =
  | { kind: 'text'; text: string }
  | { kind: 'contentType'; contentType: string }
  | { kind: 'huge' }
  | { kind: 'deep'; depth: number; array: boolean };

export interface WriteCase {
  kind: 'User' | 'Group' | 'Agent';
  /** a write meant to succeed: admin token, the valid edits only (no mutation, raw body or quirk) */
  valid: boolean;
  /** edits that keep the resource valid (arbitraries.ts validEdit); applied first in every case */
  edits: ValidEdit[];
  method: 'POST' | 'PUT' | 'PATCH';
  token: TokenKind;
  mutations: BodyMutation[];
  ops: PatchOpGen[];
  entra: boolean;
  raw: RawBody | null;
  nonce: number;
}

/** Values of the right shape for common attributes, so that mutations reach the deeper rules. */
function validishValue(ids: KnownIds): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.string({ maxLength: 12 }),
    fc.boolean(),
    fc.integer({ min: 0, max: 400 }),
    fc.constantFrom('active', 'suspended', 'retired', 'pending', 'production', 'advisory', 'work', 'user', 'group', '2027-01-01T00:00:00Z'),
    fc.constantFrom(...ids.users).map((value) => ({ value })),
    fc.constantFrom(...ids.users).map((value) => [{ value, type: 'user' }]),
    fc.constantFrom(...ids.groups).map((value) => [{ value, type: 'group' }]),
    fc.constantFrom(...ids.entitlements).map((value) => [{ value }]),
    fc.constant([{ value: 'x@example.com', type: 'work' }]),
  );
}

function withoutMeta(r: Json): Json {
  const { meta: _meta, ...rest } = r;
  return rest;
}

/** A ValidEdit applied to a whole body (POST, PUT), as the PATCH operation would change it. */
function applyEdit(body: Json, e: ValidEdit): void {
  const filtered = /^([^[]+)\[(\w+) eq "([^"]*)"\]$/.exec(e.path);
  if (filtered) {
    const [, attr, sub, v] = filtered as unknown as [string, string, string, string];
    const cur = body[attr];
    if (Array.isArray(cur)) {
      const left = cur.filter((x) => !(typeof x === 'object' && x !== null && (x as Json)[sub] === v));
      if (left.length) body[attr] = left;
      else delete body[attr];
    }
    return;
  }
  if (e.op === 'remove') {
    const [attr, sub] = e.path.startsWith('urn:') ? [e.path, undefined] : (e.path.split('.', 2) as [string, string | undefined]);
    if (sub === undefined) {
      if (e.path.startsWith('urn:')) {
        const colon = e.path.lastIndexOf(':');
        const ext = body[e.path.slice(0, colon)];
        if (typeof ext === 'object' && ext !== null) delete (ext as Json)[e.path.slice(colon + 1)];
      } else delete body[attr];
    }
    return;
  }
  if (e.op === 'add' && Array.isArray(e.value)) {
    // add to a multi-valued attribute appends (RFC 7644 §3.5.2.1)
    const colon = e.path.startsWith('urn:') ? e.path.lastIndexOf(':') : -1;
    const holder = colon > 0 ? ((body[e.path.slice(0, colon)] ??= {}) as Json) : body;
    const attr = colon > 0 ? e.path.slice(colon + 1) : e.path;
    const cur = holder[attr];
    const have = Array.isArray(cur) ? cur : [];
    const valueOf = (x: unknown) => (typeof x === 'object' && x !== null ? String((x as Json).value).toLowerCase() : undefined);
    const known = new Set(have.map(valueOf));
    holder[attr] = [...have, ...(e.value as unknown[]).filter((x) => !known.has(valueOf(x)))];
    return;
  }
  applyMutation(body, { kind: 'set', path: e.path, value: e.value });
}

function applyMutation(body: Json, m: BodyMutation): void {
  if (m.kind === 'unknown') {
    body[m.name] = m.value;
    return;
  }
  if (m.kind === 'delete') {
    const keys = Object.keys(body);
    if (keys.length) delete body[keys[m.pick % keys.length]!];
    return;
  }
  // set: "urn:…:attr.sub" or "attr.sub" or "attr"
  let holder: Json = body;
  let rest = m.path;
  const colon = rest.lastIndexOf(':');
  if (colon > 0 && rest.startsWith('urn:')) {
    const uri = rest.slice(0, colon);
    rest = rest.slice(colon + 1);
    if (typeof body[uri] !== 'object' || body[uri] === null || Array.isArray(body[uri])) body[uri] = {};
    holder = body[uri] as Json;
  }
  const [attr, sub] = rest.split('.', 2) as [string, string | undefined];
  if (sub === undefined) {
    holder[attr] = m.value;
    return;
  }
  const cur = holder[attr];
  if (Array.isArray(cur)) {
    if (cur.length === 0 || typeof cur[0] !== 'object' || cur[0] === null) cur[0] = {};
    (cur[0] as Json)[sub] = m.value;
  } else if (typeof cur === 'object' && cur !== null) {
    (cur as Json)[sub] = m.value;
  } else {
    holder[attr] = { [sub]: m.value };
  }
}

/**
 * The strings each multi-valued sub-attribute (`memoryPolicy.retains`, `actionPolicies.approvers`)
 * holds in `rows`, flattened as evaluate.ts lists them, on its PathInfo: the generator compares
 * these paths with their own values, not only with the pool of every string of the type.
 */
function withValues(paths: PathInfo[], rows: Json[]): PathInfo[] {
  return paths.map((p) => {
    if (p.def === p.top || !p.def.multiValued) return p;
    const found = new Set<string>();
    const flat = (v: unknown): unknown[] => (Array.isArray(v) ? v : v === undefined || v === null ? [] : [v]);
    for (const r of rows) {
      const holder = p.uri ? r[p.uri] : r;
      if (typeof holder !== 'object' || holder === null) continue;
      for (const el of flat((holder as Json)[p.top.name])) {
        if (typeof el !== 'object' || el === null) continue;
        for (const v of flat((el as Json)[p.def.name])) if (typeof v === 'string') found.add(v);
      }
    }
    return found.size ? { ...p, values: [...found].sort() } : p;
  });
}

/** Strings and numbers found in resources: literals worth comparing against. */
function poolsOf(rows: Json[]): LiteralPools {
  const strings = new Set<string>();
  const numbers = new Set<number>();
  const walk = (v: unknown, depth: number) => {
    if (depth > 6) return;
    if (typeof v === 'string') {
      if (v.length <= 80) strings.add(v);
    } else if (typeof v === 'number') numbers.add(v);
    else if (Array.isArray(v)) v.forEach((x) => walk(x, depth + 1));
    else if (typeof v === 'object' && v !== null) Object.values(v).forEach((x) => walk(x, depth + 1));
  };
  rows.forEach((r) => walk(r, 0));
  return { strings: [...strings].sort(), numbers: [...numbers].sort((a, b) => a - b) };
}

function present(v: unknown): boolean {
  if (v === undefined || v === null || v === '') return false;
  if (Array.isArray(v)) return v.length > 0;
  return true;
}

/**
 * Explicit refusals the issue asks for or the server documents, where the evaluator has no limit:
 * U+0000 / lone surrogates rejected at the edge (finding 3), the filter cost limit (finding 2),
 * attributes computed on read that the store cannot filter (`meta.location`, `groups.$ref`).
 */
function allowedRefusal(text: string, body: Json | undefined): boolean {
  const scimType = body?.scimType;
  const detail = String(body?.detail ?? '');
  if ((scimType === 'invalidFilter' || scimType === 'invalidValue') && /[\u0000\ud800-\udfff]/.test(text)) return true;
  if (scimType === 'invalidFilter' && /too expensive/i.test(detail)) return true;
  if (scimType === 'invalidFilter' && /cannot be used in a filter/i.test(detail)) return true;
  return false;
}

/** "attr op" pairs of a filter, for grouping evaluator mismatches by what they involve. */
function features(f: Filter): string {
  const out = new Set<string>();
  const walk = (x: Filter, prefix: string) => {
    switch (x.kind) {
      case 'and':
      case 'or':
        x.filters.forEach((y) => walk(y, prefix));
        break;
      case 'not':
        walk(x.filter, prefix);
        break;
      case 'present':
        out.add(`${prefix}${x.path.attr.toLowerCase()}${x.path.sub ? '.' + x.path.sub.toLowerCase() : ''} pr`);
        break;
      case 'compare':
        out.add(`${prefix}${x.path.attr.toLowerCase()}${x.path.sub ? '.' + x.path.sub.toLowerCase() : ''} ${x.op}`);
        break;
      case 'valuePath':
        walk(x.filter, `${x.path.attr.toLowerCase()}[]`);
        break;
    }
  };
  walk(f, '');
  return [...out].sort().slice(0, 4).join(',');
}

/** A detail text without the parts that vary between examples of one failure. */
function normalize(s: string): string {
  return s
    .replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '{id}')
    .replace(/"(?:[^"\\]|\\.)*"/g, '"…"')
    .replace(/\d+/g, 'N')
    .slice(0, 90);
}

function firstDifference(a: unknown, b: unknown, path = ''): string {
  if (JSON.stringify(a) === JSON.stringify(b)) return 'bodies equal';
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return `${path || '(root)'}: ${JSON.stringify(a)?.slice(0, 80)} → ${JSON.stringify(b)?.slice(0, 80)}`;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) {
    const x = (a as Json)[k];
    const y = (b as Json)[k];
    if (JSON.stringify(x) !== JSON.stringify(y)) return firstDifference(x, y, path ? `${path}.${k}` : k);
  }
  return 'bodies differ';
}
