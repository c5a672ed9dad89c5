// R18: checks the audit log's hash chain from the first event to the last and names the first
// broken record exactly: which seq, and why (content changed, link broken, gap, bad start).

import { auditHash, GENESIS_HASH } from '../../store/audit-hash.js';
import type { AuditEvent, Store } from '../../store/types.js';

export type AuditVerdict =
  | { ok: true; count: number; lastSeq: number; headHash: string }
  | { ok: false; count: number; seq: number; reason: string };

export async function verifyAuditChain(store: Store, page = 1000): Promise<AuditVerdict> {
  let prev: AuditEvent | undefined;
  let count = 0;
  let after = 0;
  for (;;) {
    let events: AuditEvent[];
    let unreadable: { seq: number; reason: string } | undefined;
    try {
      events = await store.auditEvents(after, page);
    } catch (e) {
      // One bad row fails the whole page: verify the readable rows before it, then name the row.
      ({ events, unreadable } = await locateUnreadable(store, after, page, e));
    }
    for (const e of events) {
      const expectedSeq = prev ? prev.seq + 1 : 1;
      if (e.seq !== expectedSeq) {
        return {
          ok: false,
          count,
          seq: expectedSeq,
          reason: `seq ${expectedSeq} is missing: the log goes from ${prev ? `seq ${prev.seq}` : 'the start'} to seq ${e.seq} (records were removed)`,
        };
      }
      const expectedPrev = prev ? prev.hash : GENESIS_HASH;
      if (e.prevHash !== expectedPrev) {
        return {
          ok: false,
          count,
          seq: e.seq,
          reason: prev
            ? `prevHash does not match the hash of seq ${prev.seq}: seq ${prev.seq} was rewritten (with a recomputed hash) or seq ${e.seq}'s link was changed`
            : 'prevHash of the first record is not the genesis hash',
        };
      }
      const { hash, ...rest } = e;
      const recomputed = auditHash(rest);
      if (recomputed !== hash) {
        return { ok: false, count, seq: e.seq, reason: 'its content does not match its hash: the record was changed after it was written' };
      }
      prev = e;
      count++;
    }
    if (unreadable) return { ok: false, count, ...unreadable };
    if (events.length < page) break;
    after = events[events.length - 1]!.seq;
  }
  return { ok: true, count, lastSeq: prev?.seq ?? 0, headHash: prev?.hash ?? GENESIS_HASH };
}

const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e));

/**
 * After a page read failed: the readable rows in front of the first unreadable one (found by
 * bisecting the page size), and that row's seq. The store cannot hand over a row it cannot parse,
 * so its seq is inferred: if the read that skips seq s+1 succeeds, the bad row is exactly s+1.
 */
async function locateUnreadable(
  store: Store,
  after: number,
  page: number,
  error: unknown,
): Promise<{ events: AuditEvent[]; unreadable?: { seq: number; reason: string } }> {
  let good: AuditEvent[] = [];
  let lo = 0; // reading lo rows works
  let hi = page; // reading hi rows fails
  let cause = error;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    try {
      good = await store.auditEvents(after, mid);
      lo = mid;
      // fewer rows than asked, all readable: the failed read was not about a row (e.g. a dropped connection)
      if (good.length < mid) return { events: good };
    } catch (e) {
      hi = mid;
      cause = e;
    }
  }
  if (lo === 0) good = [];
  const last = good.length > 0 ? good[good.length - 1]!.seq : after;
  const seq = last + 1;
  let exact = false;
  try {
    await store.auditEvents(seq, 1);
    exact = true;
  } catch {
    // seq+1 is unreadable too, or seq is missing and the row after it unreadable
  }
  const reason = exact
    ? `seq ${seq} cannot be read: its stored record is corrupt (${messageOf(cause)})`
    : `the record after seq ${last} cannot be read (seq ${seq} is corrupt or missing, and so is the next): ${messageOf(cause)}`;
  return { events: good, unreadable: { seq, reason } };
}
