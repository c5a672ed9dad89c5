// The static cost of a filter (issue 10, finding 2): a valid filter of hundreds of `co`
// comparisons makes the database scan every row once per comparison. Before a list query runs, its
// filter is scored here and refused when over budget, with a detail that says how to fix it.
//
// The score follows what the SQL translator (src/store/filter-sql.ts) does with each node:
// - an equality on an indexed attribute is an index lookup: cheap;
// - a range on an indexed attribute walks part of an index;
// - co / sw / ew, `ne`, `pr` and anything on an unindexed attribute read the JSON of every row;
// - `not` defeats indexes, a multi-valued attribute without an index is unnested per row;
// - an `and` holding a selective lookup evaluates its other operands only on the rows it found.
// Which attributes are indexed is the store's knowledge: the caller passes a classifier, so this
// module stays free of storage imports (design.md, "what may import what").

import { invalidFilter } from '../errors.js';
import type { AttrPath, Filter } from './ast.js';

/** How the database reaches the values of one attribute. */
export interface CostTarget {
  /**
   * `unique`/`selective`: an index whose equality finds a handful of rows (userName, externalId);
   * `indexed`: an index, but one value may match many rows (lifecycleState, userType);
   * `none`: no index, the JSON of every row is read.
   */
  index: 'unique' | 'selective' | 'indexed' | 'none';
  /** a multi-valued attribute (each value of each row is looked at) */
  multi: boolean;
}

/**
 * Classifies a comparison's attribute. `parent` is set inside a value filter (`emails[type eq …]`:
 * path `type`, parent `emails`). undefined: no such attribute (the translator rejects it, or a
 * root search skips the resource type), so it costs nothing here.
 */
export type CostClassifier = (path: AttrPath, parent?: AttrPath) => CostTarget | undefined;

/** Weights of one comparison, by what the database has to do for it. */
export const FILTER_COST_WEIGHTS = {
  /** eq on an indexed attribute */
  lookup: 1,
  /** gt/ge/lt/le on an indexed attribute */
  range: 2,
  /** eq/ne/gt/… on an unindexed attribute, any `ne`, `pr`, eq null: every row's JSON */
  scan: 5,
  /** co/sw/ew: a pattern match over every row (no index serves an expression pattern) */
  pattern: 10,
  /** `not (…)`: indexes no longer apply */
  not: 2,
  /** an unindexed multi-valued attribute (or value filter): every value of every row */
  multi: 2,
  /** share of the other operands of an `and` that holds a selective lookup */
  narrowed: 0.1,
} as const;

export interface FilterCost {
  cost: number;
  /** compare and present nodes */
  comparisons: number;
  /** co / sw / ew nodes */
  patterns: number;
  /** an index lookup bounds the rows to a handful: cheap at any table size */
  selective: boolean;
  /** an index equality narrows the rows (perhaps to many): no per-row unnesting of a value filter */
  indexed: boolean;
}

export function filterCost(f: Filter, classify: CostClassifier, parent?: AttrPath, negated = false): FilterCost {
  const W = FILTER_COST_WEIGHTS;
  const sub = (x: Filter, p = parent, n = negated) => filterCost(x, classify, p, n);
  switch (f.kind) {
    case 'compare':
    case 'present': {
      const t = classify(f.path, parent);
      const one = { comparisons: 1, patterns: 0, selective: false, indexed: false };
      if (!t) return { ...one, cost: 0 };
      if (f.kind === 'present' || f.value === null || f.op === 'ne') {
        return { ...one, cost: W.scan * (t.multi && t.index === 'none' ? W.multi : 1) };
      }
      if (f.op === 'co' || f.op === 'sw' || f.op === 'ew') {
        return { ...one, cost: W.pattern * (t.multi && t.index === 'none' ? W.multi : 1), patterns: 1 };
      }
      if (t.index !== 'none') {
        const eq = f.op === 'eq';
        return { ...one, cost: eq ? W.lookup : W.range, selective: eq && (t.index === 'unique' || t.index === 'selective'), indexed: eq };
      }
      return { ...one, cost: W.scan * (t.multi ? W.multi : 1) };
    }
    case 'not': {
      // once: a NOT inside a NOT adds one more NOT per row, not another lost index
      const inner = sub(f.filter, parent, true);
      return { ...inner, cost: negated ? inner.cost : inner.cost * W.not, selective: false, indexed: false };
    }
    case 'or': {
      const parts = f.filters.map((x) => sub(x));
      return { ...sum(parts), selective: parts.every((p) => p.selective), indexed: parts.every((p) => p.indexed) };
    }
    case 'and': {
      const parts = f.filters.map((x) => sub(x));
      const total = sum(parts);
      const anchors = parts.filter((p) => p.selective);
      const indexed = parts.some((p) => p.indexed);
      if (anchors.length === 0) return { ...total, selective: false, indexed };
      // The index finds a few rows; the other operands are evaluated on those rows only.
      const anchor = anchors.reduce((a, b) => (b.cost < a.cost ? b : a));
      const others = parts.filter((p) => p !== anchor).reduce((s, p) => s + p.cost, 0);
      return { ...total, cost: anchor.cost + others * W.narrowed, selective: true, indexed };
    }
    case 'valuePath': {
      const t = classify(f.path);
      const inner = sub(f.filter, f.path);
      // the translator looks an indexed equality up first, and unnests only the rows it found
      const factor = t?.multi && !inner.indexed ? W.multi : 1;
      return { ...inner, cost: inner.cost * factor };
    }
  }
}

function sum(parts: FilterCost[]): Omit<FilterCost, 'selective' | 'indexed'> {
  return {
    cost: parts.reduce((s, p) => s + p.cost, 0),
    comparisons: parts.reduce((s, p) => s + p.comparisons, 0),
    patterns: parts.reduce((s, p) => s + p.patterns, 0),
  };
}

export interface FilterBudget {
  /** highest accepted cost (FILTER_COST_WEIGHTS units: an indexed equality costs 1, a `co` 10) */
  maxCost: number;
  /** most compare/present nodes in one filter */
  maxComparisons: number;
}

/**
 * Throws 400 invalidFilter "filter too expensive: …" when the filter is over budget. `indexed`
 * names the attributes an equality is cheap on, for the detail. Returns the cost otherwise.
 */
export function checkFilterBudget(f: Filter, classify: CostClassifier, budget: FilterBudget, indexed: readonly string[]): FilterCost {
  const c = filterCost(f, classify);
  const advice =
    `use fewer comparisons, prefer "eq" on an indexed attribute (${indexed.join(', ')}) over co/sw/ew, "not" and unindexed attributes, ` +
    'or combine the expensive part with such an equality using "and"';
  if (c.comparisons > budget.maxComparisons) {
    throw invalidFilter(`filter too expensive: ${c.comparisons} comparisons, the limit is ${budget.maxComparisons}; ${advice}`);
  }
  if (c.cost > budget.maxCost) {
    const what = c.patterns > 0 ? `${c.comparisons} comparisons, ${c.patterns} of them co/sw/ew` : `${c.comparisons} comparisons`;
    throw invalidFilter(`filter too expensive: cost ${Math.ceil(c.cost)} (${what}) is over the limit of ${budget.maxCost}; ${advice}`);
  }
  return c;
}
