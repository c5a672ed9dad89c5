// The people step of an agent write as tables: co-sponsors, owners and the owner team — who may be
// one (→ 400 with the reason), what the agent records about them (type, display), and that a kept
// entry is not re-judged. Sponsor rules (R01) are in sponsors.test.ts.

import { afterEach, describe, expect, it } from 'vitest';
import { buildGov, type Gov, GOV_URN, type Json } from './helpers.js';

const GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';

interface People {
  sponsor: string;
  alice: string;
  gone: string;
  group: string;
  bot: string;
}

async function people(g: Gov): Promise<People> {
  const sponsor = await g.user('sponsor', { displayName: 'The Sponsor' });
  const alice = await g.user('alice', { displayName: 'Alice' });
  const gone = await g.user('gone', { active: false });
  const group = (await g.t.http.post('/Groups', { schemas: [GROUP], displayName: 'Finance' })).body.id as string;
  const bot = (await g.agent('other-bot', { sponsor })).id as string;
  return { sponsor, alice, gone, group, bot };
}

describe('co-sponsors and owners: who may be one', () => {
  let g: Gov;
  afterEach(() => g.close());

  type Ref = keyof People | 'self' | 'unknown';
  const rows: { attr: 'coSponsors' | 'owners'; refs: Ref[]; status: number; detail?: RegExp; stored?: (p: People, self: string) => Json[] }[] = [
    { attr: 'coSponsors', refs: ['alice', 'group'], status: 200, stored: (p) => [{ value: p.alice, type: 'user', display: 'Alice' }, { value: p.group, type: 'group', display: 'Finance' }] },
    { attr: 'coSponsors', refs: ['gone'], status: 400, detail: /^coSponsors: User "[^"]+" is not active$/ },
    { attr: 'coSponsors', refs: ['unknown'], status: 400, detail: /^coSponsors: no User or Group has id "no-such-id"$/ },
    { attr: 'coSponsors', refs: ['bot'], status: 400, detail: /^coSponsors: "[^"]+" is an agent; co-sponsors are human Users or Groups$/ },
    { attr: 'coSponsors', refs: ['self'], status: 400, detail: /is an agent; co-sponsors are human Users or Groups/ },
    { attr: 'coSponsors', refs: ['sponsor'], status: 400, detail: /^coSponsors: "[^"]+" is already the sponsor$/ },
    { attr: 'owners', refs: ['alice', 'group'], status: 200, stored: (p) => [{ value: p.alice, type: 'user', display: 'Alice' }, { value: p.group, type: 'group', display: 'Finance' }] },
    { attr: 'owners', refs: ['sponsor'], status: 200, stored: (p) => [{ value: p.sponsor, type: 'user', display: 'The Sponsor' }] },
    { attr: 'owners', refs: ['gone'], status: 400, detail: /^owners: User "[^"]+" is not active$/ },
    { attr: 'owners', refs: ['unknown'], status: 400, detail: /^owners: no User or Group has id "no-such-id"$/ },
    { attr: 'owners', refs: ['bot'], status: 400, detail: /^owners: "[^"]+" is an agent; owners are Users or Groups$/ },
  ];

  it.each(rows)('$attr $refs → $status', async (row) => {
    g = await buildGov();
    const p = await people(g);
    const self = (await g.agent('people-bot', { sponsor: p.sponsor })).id as string;
    const id = (r: Ref) => (r === 'self' ? self : r === 'unknown' ? 'no-such-id' : p[r]);
    const value = row.refs.map((r) => ({ value: id(r) }));
    const path = row.attr === 'coSponsors' ? `${GOV_URN}:coSponsors` : 'owners';
    const res = await g.patch(`/Agents/${self}`, [{ op: 'add', path, value }]);
    expect(res.status, JSON.stringify(res.body)).toBe(row.status);
    if (row.detail) {
      expect(res.body.detail).toMatch(row.detail);
      const now = await g.get(self);
      expect(row.attr === 'owners' ? now.owners : (now[GOV_URN] as Json).coSponsors).toBeUndefined();
      return;
    }
    const stored = row.attr === 'owners' ? res.body.owners : (res.body[GOV_URN] as Json).coSponsors;
    expect((stored as Json[]).map(({ $ref: _r, ...rest }) => rest)).toEqual(row.stored!(p, self));
  });

  it('a co-sponsor listed twice is refused (PATCH add merges duplicates; a POST or PUT does not)', async () => {
    g = await buildGov();
    const p = await people(g);
    const res = await g.t.http.post('/Agents', g.agentBody('twice-bot', p.sponsor, {}, { coSponsors: [{ value: p.alice }, { value: p.alice }] }));
    expect(res.status).toBe(400);
    expect(res.body.detail).toMatch(/^coSponsors: "[^"]+" is listed twice$/);
  });

  it('at most 99 co-sponsors', async () => {
    g = await buildGov();
    const p = await people(g);
    const self = (await g.agent('crowded-bot', { sponsor: p.sponsor })).id as string;
    const ids: string[] = [];
    for (let i = 0; i < 100; i++) ids.push((await g.t.http.post('/Groups', { schemas: [GROUP], displayName: `Team ${i}` })).body.id as string);
    const over = await g.patch(`/Agents/${self}`, [{ op: 'add', path: `${GOV_URN}:coSponsors`, value: ids.map((value) => ({ value })) }]);
    expect(over.status).toBe(400);
    expect(over.body.detail).toMatch(/^coSponsors: at most 99/);
    const ok = await g.patch(`/Agents/${self}`, [{ op: 'add', path: `${GOV_URN}:coSponsors`, value: ids.slice(0, 99).map((value) => ({ value })) }]);
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(((ok.body[GOV_URN] as Json).coSponsors as Json[]).length).toBe(99);
  });

  it('a kept co-sponsor or owner who has since left is not re-judged on an unrelated edit', async () => {
    g = await buildGov({ env: { AGENTROSTER_SPONSOR_DEPARTURE_POLICY: 'none' } });
    const p = await people(g);
    const self = (await g.agent('loyal-bot', { sponsor: p.sponsor })).id as string;
    expect((await g.patch(`/Agents/${self}`, [{ op: 'add', path: 'owners', value: [{ value: p.alice }] }])).status).toBe(200);
    // alice leaves directly in the database (no cascade): the stored owner stays valid for other edits
    const row = (await g.t.store.get('User', p.alice))!;
    await g.t.store.commit({ writes: [{ kind: 'update', type: 'User', id: p.alice, data: { ...row.data, active: false }, at: g.t.clock.iso(), expectedVersion: row.version }], audit: [], outbox: [] });
    const edit = await g.patch(`/Agents/${self}`, [{ op: 'replace', path: 'description', value: 'still here' }]);
    expect(edit.status, JSON.stringify(edit.body)).toBe(200);
    expect((edit.body.owners as Json[]).map((o) => o.value)).toEqual([p.alice]);
  });

  it('the sponsor cannot also be listed as co-sponsor, even when both are written together', async () => {
    g = await buildGov();
    const p = await people(g);
    const self = (await g.agent('double-bot', { sponsor: p.sponsor, gov: { coSponsors: [{ value: p.alice }] } })).id as string;
    const swap = await g.patch(`/Agents/${self}`, [{ op: 'replace', path: `${GOV_URN}:sponsor`, value: { value: p.alice } }]);
    expect(swap.status).toBe(400);
    expect(swap.body.detail).toMatch(/is already the sponsor/);
  });
});

describe('owner team', () => {
  let g: Gov;
  afterEach(() => g.close());

  const rows: { label: string; ref: 'group' | 'alice' | 'unknown'; status: number; detail?: RegExp }[] = [
    { label: 'a Group', ref: 'group', status: 200 },
    { label: 'a User', ref: 'alice', status: 400, detail: /^ownerTeam: "[^"]+" is not a Group$/ },
    { label: 'an unknown id', ref: 'unknown', status: 400, detail: /^ownerTeam: "no-such-id" is not a Group$/ },
  ];

  it.each(rows)('$label → $status', async (row) => {
    g = await buildGov();
    const p = await people(g);
    const value = row.ref === 'unknown' ? 'no-such-id' : p[row.ref];
    const self = (await g.agent('team-bot', { sponsor: p.sponsor })).id as string;
    const res = await g.patch(`/Agents/${self}`, [{ op: 'replace', path: `${GOV_URN}:ownerTeam`, value: { value, display: 'Claimed Name' } }]);
    expect(res.status, JSON.stringify(res.body)).toBe(row.status);
    if (row.detail) {
      expect(res.body.detail).toMatch(row.detail);
      return;
    }
    // the display is the Group's, not the client's
    expect((res.body[GOV_URN] as Json).ownerTeam).toMatchObject({ value, display: 'Finance' });
    // kept on later edits, even when the Group is renamed behind its back
    const grp = (await g.t.store.get('Group', p.group))!;
    await g.t.store.commit({ writes: [{ kind: 'update', type: 'Group', id: p.group, data: { ...grp.data, displayName: 'Renamed' }, at: g.t.clock.iso(), expectedVersion: grp.version }], audit: [], outbox: [] });
    const edit = await g.patch(`/Agents/${self}`, [{ op: 'replace', path: 'description', value: 'edited' }]);
    expect(edit.status).toBe(200);
    expect((edit.body[GOV_URN] as Json).ownerTeam).toMatchObject({ value, display: 'Finance' });
  });
});
