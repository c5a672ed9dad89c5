// Bearer tokens: 32 random bytes, shown once, stored as SHA-256 (a high-entropy secret needs no
// slow hash; the hash only has to make a stolen database useless for authentication).

import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { invalidValue, ScimError } from '../scim/errors.js';
import { SCOPES, type Scope } from '../resources/context.js';
import type { Store } from '../store/types.js';

export const TOKEN_PREFIX = 'art_';

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export function parseScopes(text: string | string[]): Scope[] {
  const list = (Array.isArray(text) ? text : text.split(/[\s,]+/)).map((s) => s.trim()).filter(Boolean);
  if (list.length === 0) throw invalidValue(`at least one scope is required (${SCOPES.join(', ')})`);
  for (const s of list) {
    if (!SCOPES.includes(s as Scope)) throw invalidValue(`unknown scope "${s}" (known: ${SCOPES.join(', ')})`);
  }
  return [...new Set(list)] as Scope[];
}

export interface NewToken {
  id: string;
  name: string;
  token: string;
  scopes: Scope[];
}

export async function createToken(
  store: Store,
  name: string,
  scopes: Scope[],
  userId?: string,
  now: Date = new Date(),
): Promise<NewToken> {
  if (!/^[A-Za-z0-9._@-]{1,64}$/.test(name)) {
    throw invalidValue('token name: 1-64 characters of letters, digits, ".", "_", "@" or "-"');
  }
  const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
  const id = randomUUID();
  await store.tokens.create({
    id,
    name,
    hash: hashToken(token),
    scopes,
    created: now.toISOString(),
    ...(userId ? { userId } : {}),
  });
  return { id, name, token, scopes };
}

/** First start: an admin token, printed once, so that the two-command quickstart works. */
export async function ensureBootstrapToken(store: Store): Promise<NewToken | undefined> {
  if ((await store.tokens.count()) > 0) return undefined;
  try {
    return await createToken(store, 'bootstrap-admin', ['admin']);
  } catch (e) {
    // Another instance on the same database created it first: that one prints it.
    if (e instanceof ScimError && e.status === 409) return undefined;
    throw e;
  }
}
