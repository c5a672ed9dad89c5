// Text that no store can hold. PostgreSQL refuses U+0000 in text and jsonb and cannot encode a lone
// UTF-16 surrogate as UTF-8; SQLite stores both. Rejecting them once at the protocol edge makes both
// stores answer the same 400 instead of PostgreSQL's 500.

// Fast path: most strings contain neither NUL nor any surrogate, and this test is linear.
const SUSPECT = /[\u0000\ud800-\udfff]/;

/** Why `s` cannot be stored ("U+0000 (NUL)", "a lone UTF-16 surrogate"), or undefined when it can. */
export function unstorableCharacter(s: string): string | undefined {
  if (!SUSPECT.test(s)) return undefined;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0) return 'U+0000 (NUL)';
    if (c >= 0xd800 && c <= 0xdbff) {
      const d = s.charCodeAt(i + 1); // NaN past the end
      if (d >= 0xdc00 && d <= 0xdfff) {
        i++; // a well-formed pair
        continue;
      }
      return 'a lone UTF-16 surrogate';
    }
    if (c >= 0xdc00 && c <= 0xdfff) return 'a lone UTF-16 surrogate';
  }
  return undefined;
}
