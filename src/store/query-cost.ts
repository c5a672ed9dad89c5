// What the database indexes, in the terms of the filter cost model (src/scim/filter/cost.ts), and
// the store's errors for queries that run too long. Both stores use the classifier to tell a cheap
// list query (an index lookup) from one that may scan; the resource service uses it for the budget.

import { availableParallelism } from 'node:os';
import type { CostClassifier, CostTarget } from '../scim/filter/cost.js';
import { filterCost } from '../scim/filter/cost.js';
import type { AttrPath } from '../scim/filter/ast.js';
import { findAttribute, type ResourceTypeInfo, type SchemaRegistry } from '../scim/registry.js';
import { MULTI_VALUED_INDEXES, SINGLE_VALUED_INDEXES } from './indexes.js';
import type { ListQuery } from './types.js';

/**
 * Non-unique indexes whose equality still finds few rows: what IdPs match on (entra.md §4.2,
 * okta.md §4.1). The others (lifecycleState, userType, sponsor.value, entitlements.value) may
 * match a large share of the table.
 */
const SELECTIVE = new Set(['externalid', 'displayname', 'emails.value', 'members.value']);

function keyOf(schema: string | undefined, attr: string, sub?: string): string {
  return `${schema ? `${schema}:` : ''}${attr}${sub ? `.${sub}` : ''}`.toLowerCase();
}

function indexKeys(type: string, list: typeof SINGLE_VALUED_INDEXES): Map<string, CostTarget['index']> {
  const out = new Map<string, CostTarget['index']>();
  for (const i of list) {
    if (i.type !== type) continue;
    const k = keyOf(i.path.uri, i.path.attr, i.path.sub);
    out.set(k, i.unique ? 'unique' : SELECTIVE.has(k) ? 'selective' : 'indexed');
  }
  return out;
}

function computedGroups(rt: ResourceTypeInfo, extension: boolean, a: { name: string; mutability?: string }): boolean {
  return !extension && a.name === 'groups' && rt.type.name !== 'Group' && a.mutability === 'readOnly';
}

/** The classifier of one resource type, from the same index definitions that create the indexes. */
export function costClassifier(registry: SchemaRegistry, rt: ResourceTypeInfo): CostClassifier {
  const single = indexKeys(rt.type.name, SINGLE_VALUED_INDEXES);
  const multi = indexKeys(rt.type.name, MULTI_VALUED_INDEXES);
  const classify = (path: AttrPath, parent?: AttrPath): CostTarget | undefined => {
    if (parent) {
      const p = registry.resolve(rt, parent);
      const sub = p && findAttribute(p.attribute.subAttributes ?? [], path.attr);
      if (!p || !sub) return undefined;
      if (computedGroups(rt, p.extension, p.attribute)) return { index: sub.name === 'value' ? 'selective' : 'none', multi: false };
      const key = keyOf(p.extension ? p.schema : undefined, p.attribute.name, sub.name);
      // inside a value filter the multi-valued factor applies once, to the whole value filter
      return { index: (p.attribute.multiValued ? multi : single).get(key) ?? 'none', multi: false };
    }
    const r = registry.resolve(rt, path);
    if (!r) return undefined;
    const name = r.attribute.name;
    if (!r.extension && name === 'id') return { index: 'unique', multi: false };
    if (!r.extension && name === 'meta') {
      const s = r.subAttribute?.name;
      // created / lastModified are indexed columns; resourceType is a constant of the query
      return { index: s === 'created' || s === 'lastModified' || s === 'resourceType' ? 'indexed' : 'none', multi: false };
    }
    let sub = r.subAttribute?.name;
    if ((r.subAttribute ?? r.attribute).type === 'complex') sub = 'value';
    // `groups` of Users and Agents is computed from the Group member index
    if (computedGroups(rt, r.extension, r.attribute)) {
      return { index: sub === 'value' ? 'selective' : 'none', multi: true };
    }
    const key = keyOf(r.extension ? r.schema : undefined, name, sub);
    if (r.attribute.multiValued) return { index: multi.get(key) ?? 'none', multi: true };
    return { index: single.get(key) ?? 'none', multi: false };
  };
  return classify;
}

/** Attribute names an equality is cheap on, for "filter too expensive" details. */
export function indexedAttributeNames(rt: ResourceTypeInfo): string[] {
  const names = ['id'];
  for (const i of [...SINGLE_VALUED_INDEXES, ...MULTI_VALUED_INDEXES]) {
    if (i.type !== rt.type.name) continue;
    // extension attributes by their short name: the URN would drown the advice
    names.push(i.path.sub ? `${i.path.attr}.${i.path.sub}` : i.path.attr);
  }
  return names;
}

/**
 * A list query cheap at any table size: its filter is answered by a selective index lookup, or it
 * has no filter, no sort and a shallow page. Only these run on SQLite's main connection.
 */
export function isCheapList(classify: CostClassifier, q: ListQuery): boolean {
  if (q.count === 0 && q.withoutTotal) return true;
  if (q.filter) return filterCost(q.filter, classify).selective;
  return q.sort === undefined && (q.cursor !== undefined || q.startIndex <= 1000);
}

/** A read query ran past the statement time limit and was abandoned. */
export class QueryTimeout extends Error {
  constructor(readonly limitMs: number) {
    super(`the query took longer than ${limitMs} ms`);
    this.name = 'QueryTimeout';
  }
}

/** Every read worker is busy and the query waited too long for one. */
export class QueryBusy extends Error {
  constructor(readonly waitedMs: number) {
    super(`no read worker became free within ${waitedMs} ms`);
    this.name = 'QueryBusy';
  }
}

/**
 * How many list queries that may scan run at once: one per core the event loop does not need, at
 * least one, at most four. More would only take CPU from the requests that are cheap.
 */
export function defaultScanConcurrency(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

/**
 * At most `size` holders at a time; the others wait in order, each for at most `maxWaitMs`
 * (QueryBusy then), and at most `maxQueue` of them (QueryBusy at once beyond).
 */
export class ScanGate {
  #busy = 0;
  readonly #waiting: { grant: () => void; timer: NodeJS.Timeout }[] = [];

  constructor(
    readonly size: number,
    readonly maxWaitMs: number,
    readonly maxQueue = Math.max(16, size * 16),
  ) {}

  /** Resolves to the release function once it is this caller's turn. */
  acquire(): Promise<() => void> {
    const release = () => {
      const next = this.#waiting.shift();
      if (next) {
        clearTimeout(next.timer);
        next.grant();
      } else this.#busy--;
    };
    if (this.#busy < this.size) {
      this.#busy++;
      return Promise.resolve(release);
    }
    if (this.#waiting.length >= this.maxQueue) return Promise.reject(new QueryBusy(0));
    return new Promise((resolve, reject) => {
      const since = performance.now();
      const entry = {
        grant: () => resolve(release),
        timer: setTimeout(() => {
          const i = this.#waiting.indexOf(entry);
          if (i >= 0) this.#waiting.splice(i, 1);
          reject(new QueryBusy(Math.round(performance.now() - since)));
        }, this.maxWaitMs),
      };
      this.#waiting.push(entry);
    });
  }
}
