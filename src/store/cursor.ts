// RFC 9865 cursors: opaque to clients; to us a keyset position: the last row's sort key (when
// sorted) and its seq. An empty cursor asks for the first page.

import { invalidCursor } from '../scim/errors.js';

export interface CursorPosition {
  seq: number;
  /** the sort key of the last row (null: it had none); absent for the default order */
  key?: string | number | boolean | null;
}

export function encodeCursor(p: CursorPosition): string {
  return Buffer.from(JSON.stringify(p.key === undefined ? [p.seq] : [p.seq, p.key])).toString('base64url');
}

export function decodeCursor(cursor: string, sorted: boolean): CursorPosition | undefined {
  if (cursor === '') return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString());
  } catch {
    parsed = undefined;
  }
  const ok =
    Array.isArray(parsed) &&
    Number.isSafeInteger(parsed[0]) &&
    (sorted ? parsed.length === 2 && ['string', 'number', 'boolean'].includes(typeof parsed[1]) || parsed[1] === null : parsed.length === 1);
  if (!ok) {
    throw invalidCursor(`cursor "${cursor.slice(0, 100)}" is not valid for this query; start again with an empty cursor`);
  }
  const arr = parsed as [number, string | number | boolean | null];
  return sorted ? { seq: arr[0], key: arr[1] } : { seq: arr[0] };
}
