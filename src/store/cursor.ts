// RFC 9865 cursors: opaque to clients, a keyset position (the last row's seq) to us.
// An empty cursor asks for the first page.

import { invalidValue } from '../scim/errors.js';

export function encodeCursor(seq: number): string {
  return Buffer.from(`s:${seq}`).toString('base64url');
}

export function decodeCursor(cursor: string): number {
  if (cursor === '') return 0;
  const m = /^s:(\d{1,18})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!m?.[1]) throw invalidValue(`cursor "${cursor.slice(0, 100)}" is not valid; start again with cursor=`);
  return Number(m[1]);
}
