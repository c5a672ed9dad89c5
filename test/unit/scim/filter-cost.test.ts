// The static filter cost model (src/scim/filter/cost.ts), table-driven: filter × a fixed classifier →
// cost, comparisons, co/sw/ew count, and whether an index lookup makes the query selective/indexed;
// then the budget check's limits and messages. The classifier stands in for the store's
// (src/store/query-cost.ts): which attributes are indexed is data here, so every weight is visible.

import { describe, expect, it } from 'vitest';
import type { AttrPath } from '../../../src/scim/filter/ast.js';
import { checkFilterBudget, filterCost, FILTER_COST_WEIGHTS, type CostClassifier, type CostTarget, type FilterCost } from '../../../src/scim/filter/cost.js';
import { parseFilter } from '../../../src/scim/filter/parse.js';
import { ScimError } from '../../../src/scim/errors.js';

const TOP: Record<string, CostTarget> = {
  username: { index: 'unique', multi: false },
  externalid: { index: 'selective', multi: false },
  lifecyclestate: { index: 'indexed', multi: false },
  title: { index: 'none', multi: false },
  emails: { index: 'none', multi: true },
  'emails.value': { index: 'none', multi: true },
  members: { index: 'selective', multi: true },
  'members.value': { index: 'selective', multi: true },
  'members.display': { index: 'none', multi: true },
  tags: { index: 'indexed', multi: true },
};

/** Inside a value filter, as the store does: the multi-valued factor applies once, to the whole value filter. */
const INSIDE: Record<string, Record<string, CostTarget>> = {
  emails: { type: { index: 'none', multi: false }, value: { index: 'none', multi: false } },
  members: { value: { index: 'selective', multi: false }, display: { index: 'none', multi: false } },
};

const classify: CostClassifier = (path: AttrPath, parent?: AttrPath) => {
  if (parent) return INSIDE[parent.attr.toLowerCase()]?.[path.attr.toLowerCase()];
  return TOP[`${path.attr}${path.sub ? `.${path.sub}` : ''}`.toLowerCase()];
};

const costOf = (filter: string): FilterCost => filterCost(parseFilter(filter), classify);

type Row = [filter: string, cost: number, comparisons: number, patterns: number, selective: boolean, indexed: boolean];

describe('filterCost', () => {
  it('uses the documented weights', () => {
    expect(FILTER_COST_WEIGHTS).toEqual({ lookup: 1, range: 2, scan: 5, pattern: 10, not: 2, multi: 2, narrowed: 0.1 });
  });

  it.each<Row>([
    // one comparison on a single-valued attribute
    ['userName eq "a"', 1, 1, 0, true, true], // unique index: a lookup that finds one row
    ['externalId eq "a"', 1, 1, 0, true, true], // selective index
    ['lifecycleState eq "active"', 1, 1, 0, false, true], // index, but many rows may match
    ['userName gt "a"', 2, 1, 0, false, false], // a range walks part of the index
    ['userName ge "a"', 2, 1, 0, false, false],
    ['userName lt "a"', 2, 1, 0, false, false],
    ['lifecycleState le "a"', 2, 1, 0, false, false],
    ['userName ne "a"', 5, 1, 0, false, false], // ne reads every row
    ['userName pr', 5, 1, 0, false, false],
    ['userName eq null', 5, 1, 0, false, false],
    ['userName ne null', 5, 1, 0, false, false],
    ['userName co "a"', 10, 1, 1, false, false], // patterns: no index serves them
    ['userName sw "a"', 10, 1, 1, false, false],
    ['userName ew "a"', 10, 1, 1, false, false],
    ['title eq "a"', 5, 1, 0, false, false], // unindexed: every row's JSON
    ['title gt "a"', 5, 1, 0, false, false],
    ['title co "a"', 10, 1, 1, false, false],
    ['bogus eq "a"', 0, 1, 0, false, false], // unknown to the classifier: costs nothing here
    ['bogus co "a"', 0, 1, 0, false, false],
    ['bogus pr', 0, 1, 0, false, false],
    // multi-valued: unindexed ones are unnested per row (×2), indexed ones are not
    ['emails.value eq "a"', 10, 1, 0, false, false],
    ['emails.value gt "a"', 10, 1, 0, false, false],
    ['emails.value ne "a"', 10, 1, 0, false, false],
    ['emails.value pr', 10, 1, 0, false, false],
    ['emails eq null', 10, 1, 0, false, false],
    ['emails.value co "a"', 20, 1, 1, false, false],
    ['emails sw "a"', 20, 1, 1, false, false],
    ['members.value eq "u1"', 1, 1, 0, true, true],
    ['tags eq "x"', 1, 1, 0, false, true],
    ['members.value gt "u1"', 2, 1, 0, false, false],
    ['members.value pr', 5, 1, 0, false, false],
    ['members.value ne "u1"', 5, 1, 0, false, false],
    ['members.value co "u1"', 10, 1, 1, false, false],
    ['members.display eq "x"', 10, 1, 0, false, false],
    // not: indexes no longer apply (×2), once however deep
    ['not (userName eq "a")', 2, 1, 0, false, false],
    ['not (lifecycleState eq "a")', 2, 1, 0, false, false],
    ['not (title co "a")', 20, 1, 1, false, false],
    ['not (not (title co "a"))', 20, 1, 1, false, false],
    ['not (title co "a" or not (title co "b"))', 40, 2, 2, false, false],
    ['not (title co "a" and not (title co "b"))', 40, 2, 2, false, false],
    ['not (members[value eq "u1"])', 2, 1, 0, false, false],
    // or: the sum; selective/indexed only when every branch is
    ['userName eq "a" or externalId eq "b"', 2, 2, 0, true, true],
    ['userName eq "a" or lifecycleState eq "b"', 2, 2, 0, false, true],
    ['userName eq "a" or title eq "b"', 6, 2, 0, false, false],
    ['title co "a" or title sw "b" or userName ew "c"', 30, 3, 3, false, false],
    // and: the other operands run only on the rows a selective lookup found
    ['userName eq "a" and title co "x"', 2, 2, 1, true, true],
    ['title co "x" and userName eq "a"', 2, 2, 1, true, true],
    ['userName eq "a" and title co "x" and emails.value co "y"', 4, 3, 2, true, true],
    ['lifecycleState eq "a" and title co "x"', 11, 2, 1, false, true],
    ['userName gt "a" and title co "x"', 12, 2, 1, false, false],
    ['title co "x" and emails.value co "y"', 30, 2, 2, false, false],
    // the cheapest selective operand is the anchor
    ['(userName eq "a" or externalId eq "b") and externalId eq "c" and title co "x"', 2.2, 4, 1, true, true],
    ['externalId eq "c" and (userName eq "a" or externalId eq "b") and title co "x"', 2.2, 4, 1, true, true],
    ['(userName eq "a" or externalId eq "b") and title co "x"', 3, 3, 1, true, true],
    // value filters: the inner filter is classified against its parent; an unindexed
    // multi-valued parent is unnested per row (×2) unless an indexed equality narrows first
    ['emails[type eq "work"]', 10, 1, 0, false, false],
    ['emails[type eq "work" and value co "@x"]', 30, 2, 1, false, false],
    ['members[value eq "u1"]', 1, 1, 0, true, true],
    ['members[value gt "u1"]', 4, 1, 0, false, false],
    ['members[display co "x"]', 20, 1, 1, false, false],
    ['members[value eq "u1" and display co "x"]', 2, 2, 1, true, true],
    ['members[value eq "u1" or display eq "x"]', 12, 2, 0, false, false],
    ['bogus[x eq "1"]', 0, 1, 0, false, false],
    ['userName eq "a" and emails[type eq "work"]', 2, 2, 0, true, true],
  ])('%s → cost %d, %d comparisons, %d patterns, selective %s, indexed %s', (filter, cost, comparisons, patterns, selective, indexed) => {
    const c = costOf(filter);
    expect(c.cost).toBeCloseTo(cost, 9);
    expect({ comparisons: c.comparisons, patterns: c.patterns, selective: c.selective, indexed: c.indexed }).toEqual({
      comparisons,
      patterns,
      selective,
      indexed,
    });
  });

  it('passes the value-filter attribute as the parent of the paths inside it, and no parent outside', () => {
    const calls: [AttrPath, AttrPath | undefined][] = [];
    filterCost(parseFilter('userName eq "a" and emails[type eq "work"]'), (path, parent) => {
      calls.push([path, parent]);
      return classify(path, parent);
    });
    expect(calls).toEqual([
      [{ attr: 'userName' }, undefined],
      [{ attr: 'emails' }, undefined],
      [{ attr: 'type' }, { attr: 'emails' }],
    ]);
  });
});

describe('checkFilterBudget', () => {
  const INDEXED = ['id', 'userName', 'externalId'];
  const check = (filter: string, maxCost: number, maxComparisons: number) =>
    checkFilterBudget(parseFilter(filter), classify, { maxCost, maxComparisons }, INDEXED);
  const refusal = (fn: () => unknown): string => {
    try {
      fn();
    } catch (e) {
      expect(e).toBeInstanceOf(ScimError);
      const err = e as ScimError;
      expect({ status: err.status, scimType: err.scimType }).toEqual({ status: 400, scimType: 'invalidFilter' });
      return err.message;
    }
    throw new Error('expected the filter to be refused');
  };

  it('returns the cost of a filter within budget, including one exactly at each limit', () => {
    expect(check('title co "a" or title co "b"', 20, 2)).toEqual({ cost: 20, comparisons: 2, patterns: 2, selective: false, indexed: false });
    expect(check('userName eq "a"', 1, 1).selective).toBe(true);
  });

  it('refuses too many comparisons before looking at the cost, naming the indexed attributes', () => {
    const message = refusal(() => check('userName eq "a" or userName eq "b" or userName eq "c"', 1000, 2));
    expect(message).toContain('filter too expensive: 3 comparisons, the limit is 2; use fewer comparisons');
    expect(message).toContain('prefer "eq" on an indexed attribute (id, userName, externalId) over co/sw/ew');
    expect(message).toContain('combine the expensive part with such an equality using "and"');
  });

  it('refuses a cost over the limit, counting the patterns', () => {
    expect(refusal(() => check('title co "a" or title co "b"', 19, 10))).toContain(
      'filter too expensive: cost 20 (2 comparisons, 2 of them co/sw/ew) is over the limit of 19; use fewer comparisons',
    );
    expect(refusal(() => check('title eq "a" or title eq "b" or title co "c"', 19, 10))).toContain(
      'cost 20 (3 comparisons, 1 of them co/sw/ew) is over the limit of 19',
    );
  });

  it('refuses a cost over the limit without patterns, and rounds a fractional cost up', () => {
    expect(refusal(() => check('title eq "a" or title eq "b" or title eq "c"', 14, 10))).toContain(
      'filter too expensive: cost 15 (3 comparisons) is over the limit of 14',
    );
    // 1 + 12 × 0.1 = 2.2 > 2
    expect(refusal(() => check('(userName eq "a" or externalId eq "b") and externalId eq "c" and title co "x"', 2, 10))).toContain(
      'cost 3 (4 comparisons, 1 of them co/sw/ew) is over the limit of 2',
    );
  });
});
