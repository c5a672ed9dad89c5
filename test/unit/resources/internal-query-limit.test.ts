// A store limit hit by a query the server runs for its own rules (a governance count, a uniqueness
// check) is the server's load, not the client's filter: 503 with Retry-After, never a 500 and never
// "filter too expensive" for a request that sent no filter. The HTTP error handler asks this map
// for every error no route turned into a SCIM error.
import { describe, expect, it } from 'vitest';
import { internalQueryLimitError } from '../../../src/resources/service.js';
import { QueryBusy, QueryTimeout } from '../../../src/store/query-cost.js';

describe('internalQueryLimitError', () => {
  it.each([
    ['every read worker busy', new QueryBusy(2000)],
    ['the statement time limit reached', new QueryTimeout(5000)],
  ])('%s → 503 with Retry-After: 1', (_name, e) => {
    const err = internalQueryLimitError(e);
    expect(err?.status).toBe(503);
    expect(err?.scimType).toBeUndefined();
    expect(err?.message).toBe('the server is busy; retry shortly');
    expect(err?.headers).toEqual({ 'Retry-After': '1' });
  });

  it.each([new Error('boom'), new TypeError('x'), 'text', undefined])('leaves anything else to the generic 500 (%s)', (e) => {
    expect(internalQueryLimitError(e)).toBeUndefined();
  });
});
