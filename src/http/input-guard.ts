// The protocol edge's checks on what a client sends, done once before any route sees it:
// - JSON bodies: nesting depth (code after parsing recurses; a 4 KB body of 2,000 brackets used to
//   overflow the stack) and strings no store can hold (U+0000, lone surrogates: PostgreSQL 500s);
// - the URL: the same strings in query parameters and path segments.
// Errors name where the problem is (a JSON path, a parameter name), never the offending value.

import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { invalidValue, ScimError, type ScimType } from '../scim/errors.js';
import { unstorableCharacter } from '../scim/text.js';

/** Deepest JSON nesting accepted in a request body (objects and arrays; SCIM needs about 6). */
export const DEFAULT_MAX_JSON_DEPTH = 64;

export type JsonProblem =
  | { kind: 'depth'; maxDepth: number }
  | { kind: 'character'; path: string; inMemberName: boolean; what: string };

interface Frame {
  value: unknown;
  depth: number;
  parent: Frame | undefined;
  key: string | number | undefined;
}

/**
 * One iterative pass over a parsed JSON value (an explicit stack, so no input can overflow it):
 * the first problem found, or undefined. Containers count as one level each: `{}` is depth 1.
 */
export function checkJson(root: unknown, maxDepth: number): JsonProblem | undefined {
  const stack: Frame[] = [{ value: root, depth: root !== null && typeof root === 'object' ? 1 : 0, parent: undefined, key: undefined }];
  while (stack.length > 0) {
    const f = stack.pop()!;
    const v = f.value;
    if (typeof v === 'string') {
      const what = unstorableCharacter(v);
      if (what !== undefined) return { kind: 'character', path: jsonPath(f), inMemberName: false, what };
      continue;
    }
    if (v === null || typeof v !== 'object') continue;
    if (f.depth > maxDepth) return { kind: 'depth', maxDepth };
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push(child(v[i], f, i));
      continue;
    }
    const keys = Object.keys(v);
    for (let i = keys.length - 1; i >= 0; i--) {
      const k = keys[i]!;
      const what = unstorableCharacter(k);
      if (what !== undefined) return { kind: 'character', path: jsonPath(f), inMemberName: true, what };
      stack.push(child((v as Record<string, unknown>)[k], f, k));
    }
  }
  return undefined;
}

function child(value: unknown, parent: Frame, key: string | number): Frame {
  return { value, depth: value !== null && typeof value === 'object' ? parent.depth + 1 : parent.depth, parent, key };
}

const PLAIN_KEY = /^[A-Za-z_$][A-Za-z0-9_$]*$/;
const MAX_KEY_SHOWN = 80;

/** `$.emails[0].value`; member names are the client's own, shown (truncated) so it can find the spot. */
function jsonPath(f: Frame): string {
  const parts: string[] = [];
  for (let x: Frame | undefined = f; x?.parent !== undefined; x = x.parent) {
    const k = x.key!;
    if (typeof k === 'number') parts.push(`[${k}]`);
    else if (PLAIN_KEY.test(k) && k.length <= MAX_KEY_SHOWN) parts.push(`.${k}`);
    else parts.push(`[${JSON.stringify(k.length <= MAX_KEY_SHOWN ? k : `${k.slice(0, MAX_KEY_SHOWN)}…`)}]`);
  }
  return `$${parts.reverse().join('')}`;
}

/** The ScimError for a problem found in a request body; a filter in a SearchRequest is `invalidFilter`. */
export function bodyProblemError(p: JsonProblem, searchRequest: boolean): ScimError {
  if (p.kind === 'depth') return new ScimError(400, `JSON nested deeper than ${p.maxDepth} levels`, 'invalidSyntax');
  const where = p.inMemberName ? `a member name in ${p.path}` : p.path;
  const scimType: ScimType = searchRequest && /^\$\.filter$/i.test(p.path) && !p.inMemberName ? 'invalidFilter' : 'invalidValue';
  return new ScimError(400, `the request body contains ${p.what} at ${where}; such text cannot be stored`, scimType);
}

export interface JsonBodyOptions {
  types: string[];
  limit: number;
  maxDepth: number;
}

/** express.json, then the depth and text checks of checkJson on what it parsed. */
export function guardedJsonParser(o: JsonBodyOptions): RequestHandler {
  const parse = express.json({ type: o.types, limit: o.limit, strict: true });
  return (req: Request, res: Response, next: NextFunction) => {
    parse(req, res, (err?: unknown) => {
      if (err !== undefined) return next(err);
      const body: unknown = req.body;
      if (body !== null && typeof body === 'object') {
        const problem = checkJson(body, o.maxDepth);
        if (problem) return next(bodyProblemError(problem, /\/\.search\/?$/i.test(req.path)));
      }
      next();
    });
  };
}

const KNOWN_PARAMS = new Map(
  ['filter', 'sortBy', 'sortOrder', 'startIndex', 'count', 'cursor', 'attributes', 'excludedAttributes'].map((n) => [n.toLowerCase(), n]),
);

/**
 * Query parameters and path segments with text no store can hold: 400 before any route runs.
 * URLSearchParams and decodeURIComponent decode invalid UTF-8 to U+FFFD or throw, so in practice
 * this is `%00`; checking decoded text keeps it right whatever the decoder does.
 */
export function urlGuard(): RequestHandler {
  return (req: Request, _res: Response, next: NextFunction) => {
    const url = req.originalUrl;
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (/%00/i.test(path)) return next(invalidValue('the request path contains U+0000 (NUL); such text cannot be stored'));
    if (q < 0) return next();
    for (const [k, v] of new URLSearchParams(url.slice(q + 1))) {
      const what = unstorableCharacter(k) ?? unstorableCharacter(v);
      if (what === undefined) continue;
      const name = KNOWN_PARAMS.get(k.toLowerCase());
      const scimType: ScimType = name === 'filter' ? 'invalidFilter' : 'invalidValue';
      const which = name === undefined ? 'a query parameter' : `the query parameter "${name}"`;
      return next(new ScimError(400, `${which} contains ${what}; such text cannot be stored or matched`, scimType));
    }
    next();
  };
}
