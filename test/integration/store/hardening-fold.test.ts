// Issue 10, finding 6: case-insensitive comparison (caseExact false) gives the same answer on SQLite,
// on PostgreSQL and in the in-memory evaluator, for strings a fuzzer makes: every operator (eq ne co
// sw ew gt ge lt le), single-valued (expression-indexed and not) and multi-valued (resource_values
// and JSON scans) attributes, and sorting. Also: the migration that re-folds a database written
// with the old folds (PostgreSQL lower(), JS toLowerCase()).

import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareCodePoints, foldCase } from '../../../src/lib/case-fold.js';
import { compileFilter } from '../../../src/scim/filter/evaluate.js';
import { parseFilter } from '../../../src/scim/filter/parse.js';
import { loadRegistry } from '../../../src/scim/load-schemas.js';
import type { ResourceTypeInfo } from '../../../src/scim/registry.js';
import { PostgresStore } from '../../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../../src/store/sqlite/sqlite-store.js';
import type { Json, Store } from '../../../src/store/types.js';
import { dropSchema, freshSchema, PG_URL, postgresAvailable } from '../../helpers/postgres.js';

const registry = loadRegistry();
const USER = registry.resourceType('User')!;
const GROUP = registry.resourceType('Group')!;
const pg = await postgresAvailable();

/** Strings whose case folding differs between toLowerCase, SQL lower() and ICU/libc. */
export const TRICKY = [
  'İstanbul', 'istanbul', 'ISTANBUL', 'ıstanbul', 'i\u0307stanbul',
  'ß', 'ẞ', 'SS', 'ss', 'Straße', 'STRASSE',
  'ΟΔΟΣ', 'οδος', 'οδοσ', 'Σ', 'σ', 'ς',
  'ǅ', 'Ǆ', 'ǆ', 'Dž',
  'e\u0301', 'é', 'É', 'E\u0301',
  '\u212A', 'K', 'k', 'Ｋ', 'ｋ', 'ＡＢＣ', 'ａｂｃ',
  '😀', '😀x', 'x😀', '\uFF21', '𐐀', '𐐨', 'Ꭰ', 'ꭰ',
  '%', '_', '\\', 'a%b', 'a_b', 'axb', 'a\\b', '*', '?', '[a]', 'a*b',
  'ﬁ', 'FI', 'ſ', 'S', 'ϐ', 'Β', 'ϑ', 'Θ', 'ᲀ', 'В',
  "O'Brien", 'a b', ' ', '',
];

const LITERALS = ['İstanbul', 'istanbul', 'ı', 'I', 'ß', 'ẞ', 'ss', 'οδος', 'ΟΔΟΣ', 'σ', 'ς', 'ǅ', 'ǆ', 'e\u0301', 'é', '\u212A', 'k', 'Ｋ', '😀', '\uFF21', '𐐀', 'Ꭰ', '%', '_', '\\', 'a%', '_b', 'a\\', '*', '[a]', 'ﬁ', 'ſ', 'x', 'Z', ''];
const OPS = ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le'] as const;

function scopeOf(rt: ResourceTypeInfo) {
  return { attributes: rt.attributes, extensions: Object.fromEntries(rt.extensions.map((e) => [e.schema.id, e.schema.attributes])), coreSchema: rt.core.id };
}
const lit = (s: string) => JSON.stringify(s);

describe('foldCase', () => {
  it('is idempotent, keeps the length in code points, and is what the evaluator uses', () => {
    for (const s of TRICKY) {
      expect(foldCase(foldCase(s))).toBe(foldCase(s));
      expect([...foldCase(s)].length).toBe([...s].length);
    }
    expect(foldCase('İstanbul')).toBe('istanbul');
    expect(foldCase('ΟΔΟΣ')).toBe(foldCase('οδος'));
    expect(foldCase('\u212A')).toBe('k');
    expect(foldCase('ẞ')).toBe('ß');
    expect(foldCase('ǅ')).toBe('ǆ');
    expect(foldCase('ＡＢＣ')).toBe('ａｂｃ');
    expect(foldCase('ß')).not.toBe('ss'); // no one-to-many folding
  });
  it('orders by code point', () => {
    expect(compareCodePoints('\uFF21', '😀')).toBeLessThan(0); // UTF-16 code units say the opposite
    expect(compareCodePoints('a', 'b')).toBeLessThan(0);
    expect(compareCodePoints('ab', 'a')).toBeGreaterThan(0);
    expect(compareCodePoints('x', 'x')).toBe(0);
  });
});

interface Opened {
  name: string;
  store: Store;
  cleanup: () => Promise<void>;
}

async function openStores(): Promise<Opened[]> {
  const out: Opened[] = [];
  const path = join(mkdtempSync(join(tmpdir(), 'ar-fold-')), 'fold.db');
  const s = new SqliteStore(registry, { path });
  out.push({ name: 'SQLite', store: s, cleanup: async () => s.close() });
  if (pg) {
    const schema = freshSchema();
    const p = await PostgresStore.open(registry, { url: PG_URL, schema });
    out.push({ name: 'PostgreSQL', store: p, cleanup: async () => { await p.close(); await dropSchema(schema); } });
  }
  return out;
}

describe('one answer for caseExact:false on every store and in the evaluator', () => {
  let stores: Opened[];
  const users: { id: string; data: Json }[] = [];
  const groups: { id: string; data: Json }[] = [];

  beforeAll(async () => {
    stores = await openStores();
    TRICKY.forEach((s, i) => {
      users.push({
        id: randomUUID(),
        data: {
          schemas: [USER.core.id],
          userName: `u${i}`,
          displayName: s, // expression index (scim_fold)
          nickName: s, // no index: folded in the query
          emails: [{ value: `${s}@x`, type: s }], // emails.value: resource_values; emails.type: JSON scan
        },
      });
      groups.push({ id: randomUUID(), data: { schemas: [GROUP.core.id], displayName: `g${s}`, members: [{ value: s === '' ? 'none' : s }] } });
    });
    const at = new Date().toISOString();
    for (const o of stores) {
      await o.store.commit({
        writes: [
          ...users.map((u) => ({ kind: 'insert' as const, type: 'User', id: u.id, data: u.data, at })),
          ...groups.map((g) => ({ kind: 'insert' as const, type: 'Group', id: g.id, data: g.data, at })),
        ],
        audit: [],
        outbox: [],
      });
    }
  }, 60_000);

  afterAll(async () => {
    for (const o of stores ?? []) await o.cleanup();
  });

  const idsOf = async (store: Store, rt: ResourceTypeInfo, filter: string) =>
    (await store.list(rt, { filter: parseFilter(filter), startIndex: 1, count: 1000, withoutTotal: true })).resources.map((r) => r.id).sort();

  it.each(['displayName', 'nickName', 'emails.value', 'emails.type'])('%s: every operator and tricky literal', async (attr) => {
    const scope = scopeOf(USER);
    const mismatches: string[] = [];
    for (const op of OPS) {
      for (const l of LITERALS) {
        const f = `${attr} ${op} ${lit(l)}`;
        const pred = compileFilter(parseFilter(f), scope);
        const expected = users.filter((u) => pred({ ...u.data, id: u.id })).map((u) => u.id).sort();
        for (const o of stores) {
          const got = await idsOf(o.store, USER, f);
          if (JSON.stringify(got) !== JSON.stringify(expected)) {
            const names = (ids: string[]) => ids.map((id) => TRICKY[users.findIndex((u) => u.id === id)]);
            mismatches.push(`${o.name}: ${f} → ${JSON.stringify(names(got))}, evaluator ${JSON.stringify(names(expected))}`);
          }
        }
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('members.value (indexed, folded at write time) and a value filter agree', async () => {
    const scope = scopeOf(GROUP);
    const mismatches: string[] = [];
    for (const l of LITERALS) {
      for (const f of [`members.value eq ${lit(l)}`, `members[value eq ${lit(l)}]`, `members[value sw ${lit(l)}]`, `not (members.value eq ${lit(l)})`]) {
        const pred = compileFilter(parseFilter(f), scope);
        const expected = groups.filter((g) => pred({ ...g.data, id: g.id })).map((g) => g.id).sort();
        for (const o of stores) {
          const got = await idsOf(o.store, GROUP, f);
          if (JSON.stringify(got) !== JSON.stringify(expected)) mismatches.push(`${o.name}: ${f}`);
        }
      }
    }
    expect(mismatches).toEqual([]);
  });

  it('the finding: displayName eq "İstanbul" finds the row on both stores, and ne does not', async () => {
    for (const o of stores) {
      const eq = await idsOf(o.store, USER, 'displayName eq "İstanbul"');
      const ne = await idsOf(o.store, USER, 'displayName ne "İstanbul"');
      const row = users[TRICKY.indexOf('İstanbul')]!.id;
      expect(eq, o.name).toContain(row);
      expect(ne, o.name).not.toContain(row);
      expect(eq.length + ne.length, o.name).toBe(users.length);
    }
  });

  it('sorting by a folded attribute gives the same order on both stores, in code point order of the folded values', async () => {
    for (const sortBy of ['displayName', 'nickName', 'emails.value']) {
      const orders: string[][] = [];
      for (const o of stores) {
        for (const descending of [false, true]) {
          const res = await o.store.list(USER, { sort: { path: parseFilterPath(sortBy), descending }, startIndex: 1, count: 1000 });
          const ids = res.resources.map((r) => r.id);
          if (!descending) orders.push(ids);
          // paging by cursor gives the same order
          const paged: string[] = [];
          let cursor = '';
          for (;;) {
            const page = await o.store.list(USER, { sort: { path: parseFilterPath(sortBy), descending }, startIndex: 1, count: 7, cursor });
            paged.push(...page.resources.map((r) => r.id));
            if (!page.nextCursor) break;
            cursor = page.nextCursor;
          }
          expect(paged, `${o.name} ${sortBy} ${descending}`).toEqual(ids);
        }
      }
      for (const ord of orders) expect(ord).toEqual(orders[0]);
      const key = (id: string) => {
        const u = users.find((x) => x.id === id)!;
        const v = sortBy === 'emails.value' ? ((u.data.emails as Json[])[0]!.value as string) : (u.data[sortBy] as string);
        return foldCase(v);
      };
      const keys = orders[0]!.map(key).filter((k) => k !== '');
      for (let i = 1; i < keys.length; i++) expect(compareCodePoints(keys[i - 1]!, keys[i]!), `${keys[i - 1]} <= ${keys[i]}`).toBeLessThanOrEqual(0);
    }
  });
});

function parseFilterPath(p: string) {
  const [attr, sub] = p.split('.');
  return sub ? { attr: attr!, sub } : { attr: attr! };
}

describe('migration 7 re-folds a database written with the old folds', () => {
  it('SQLite: rows and resource_values folded with toLowerCase are found with the new fold', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'ar-refold-')), 'old.db');
    const old = new SqliteStore(registry, { path, targetVersion: 6 });
    const db = old.raw();
    // what the old code wrote: toLowerCase folds in resource_values and (after re-registering the
    // old function) in the expression indexes
    db.function('scim_fold', { deterministic: true }, (s: unknown) => (typeof s === 'string' ? s.toLowerCase() : s));
    const id = randomUUID();
    const at = new Date().toISOString();
    db.prepare('INSERT INTO resources (type, id, data, version, created, last_modified) VALUES (?, ?, ?, 1, ?, ?)').run(
      'User', id, JSON.stringify({ schemas: [USER.core.id], userName: 'ΟΔΟΣ', displayName: 'İstanbul', emails: [{ value: 'ΟΔΟΣ@x' }] }), at, at,
    );
    db.prepare('INSERT INTO resource_values (type, id, attr, value) VALUES (?, ?, ?, ?)').run('User', id, 'emails.value', 'ΟΔΟΣ@x'.toLowerCase());
    await old.close();
    const store = new SqliteStore(registry, { path });
    for (const f of ['displayName eq "istanbul"', 'userName eq "οδοσ"', 'emails.value eq "οδοσ@x"', 'emails[value eq "ΟΔΟΣ@X"]']) {
      const res = await store.list(USER, { filter: parseFilter(f), startIndex: 1, count: 10 });
      expect(res.resources.map((r) => r.id), f).toEqual([id]);
    }
    expect(store.raw().prepare('PRAGMA integrity_check').get()).toEqual({ integrity_check: 'ok' });
    await store.close();
  });

  it.skipIf(!pg)('PostgreSQL: indexes built with lower() and values folded with toLowerCase are rebuilt', async () => {
    const schema = freshSchema();
    try {
      const old = await PostgresStore.open(registry, { url: PG_URL, schema, targetVersion: 6 });
      // what the old code built: lower() expression indexes
      const pool = old.pool();
      const idx = await pool.query(`SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = $1 AND indexdef LIKE '%scim_fold%'`, [schema]);
      for (const r of idx.rows as { indexname: string; indexdef: string }[]) {
        await pool.query(`DROP INDEX ${schema}.${r.indexname}`);
        await pool.query(r.indexdef.replaceAll(`${schema}.scim_fold(`, 'lower(').replaceAll('scim_fold(', 'lower('));
      }
      const id = randomUUID();
      const at = new Date().toISOString();
      await pool.query('INSERT INTO resources (type, id, data, version, created, last_modified) VALUES ($1, $2, $3, 1, $4, $4)', [
        'User', id, { schemas: [USER.core.id], userName: 'ΟΔΟΣ', displayName: 'İstanbul', emails: [{ value: 'ΟΔΟΣ@x' }] }, at,
      ]);
      await pool.query('INSERT INTO resource_values (type, id, attr, value) VALUES ($1, $2, $3, $4)', ['User', id, 'emails.value', 'ΟΔΟΣ@x'.toLowerCase()]);
      await old.close();
      const store = await PostgresStore.open(registry, { url: PG_URL, schema });
      for (const f of ['displayName eq "istanbul"', 'userName eq "οδοσ"', 'emails.value eq "οδοσ@x"', 'emails[value eq "ΟΔΟΣ@X"]']) {
        const res = await store.list(USER, { filter: parseFilter(f), startIndex: 1, count: 10 });
        expect(res.resources.map((r) => r.id), f).toEqual([id]);
      }
      const left = await store.pool().query(`SELECT count(*)::int AS n FROM pg_indexes WHERE schemaname = $1 AND indexdef LIKE '%lower(%'`, [schema]);
      expect(left.rows[0].n).toBe(0);
      await store.close();
    } finally {
      await dropSchema(schema);
    }
  });
});
