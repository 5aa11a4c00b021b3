import type { HistoryFacts } from './history.js';
import type { RecoveredDigest } from './recovered.js';
import { EVIDENCE_LIMIT, seqList, type CheckResult, type SeqList } from './verdict-types.js';

export interface DigestMismatch {
  seq: number;
  expected: string;
  actual: string;
}

export type IntegrityVerdict = CheckResult<
  { checked: number },
  {
    checked: number;
    /** Recovered seqs no `appended` event ever announced. */
    neverAppended: SeqList;
    /** Recovered entries whose payload differs from what was appended under that seq. */
    mismatched: { first: DigestMismatch[]; count: number };
    /** Seqs recovery returned more than once. */
    duplicated: SeqList;
  }
>;

// Integrity: each recovered payload is exactly what was appended under its seq, no seq appears
// that was never appended, and none appears twice. A torn tail that recovery returned instead of
// cutting shows up here as a mismatch.
export function checkIntegrity(facts: HistoryFacts, recovered: readonly RecoveredDigest[]): IntegrityVerdict {
  const neverAppended: number[] = [];
  const mismatched: DigestMismatch[] = [];
  const duplicated = new Set<number>();
  const seen = new Set<number>();
  for (const entry of recovered) {
    if (seen.has(entry.seq)) duplicated.add(entry.seq);
    seen.add(entry.seq);
    const appended = facts.appended.get(entry.seq);
    if (appended === undefined) neverAppended.push(entry.seq);
    else if (appended.digest !== entry.digest) mismatched.push({ seq: entry.seq, expected: appended.digest, actual: entry.digest });
  }
  if (neverAppended.length === 0 && mismatched.length === 0 && duplicated.size === 0) {
    return { status: 'held', checked: recovered.length };
  }
  mismatched.sort((a, b) => a.seq - b.seq);
  return {
    status: 'violated',
    checked: recovered.length,
    neverAppended: seqList(neverAppended),
    mismatched: { first: mismatched.slice(0, EVIDENCE_LIMIT), count: mismatched.length },
    duplicated: seqList(duplicated),
  };
}
