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
    try {
      events = await store.auditEvents(after, page);
    } catch (e) {
      return { ok: false, count, seq: after + 1, reason: `the record after seq ${after} cannot be read (${e instanceof Error ? e.message : String(e)})` };
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
    if (events.length < page) break;
    after = events[events.length - 1]!.seq;
  }
  return { ok: true, count, lastSeq: prev?.seq ?? 0, headHash: prev?.hash ?? GENESIS_HASH };
}
