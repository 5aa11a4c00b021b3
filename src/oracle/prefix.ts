import type { HistoryFacts } from './history.js';
import type { RecoveredDigest } from './recovered.js';
import { EVIDENCE_LIMIT, type CheckResult } from './verdict-types.js';

export interface Gap {
  /** The last seq before the hole. */
  after: number;
  /** The seq recovery returned next. */
  next: number;
}

export type PrefixVerdict = CheckResult<
  { first: number | null; last: number | null },
  {
    /** Recovery returned seqs out of ascending order: the first place it happened. */
    outOfOrder: { index: number; seq: number; previous: number } | null;
    /** Holes inside the recovered run: entries returned after a gap. */
    gaps: { first: Gap[]; count: number };
    /** The run does not start where it may: seqs before it vanished without a truncate covering them. */
    headMissing: { firstRecovered: number; latestAllowedStart: number } | null;
  }
>;

// Prefix: recovered seqs form one contiguous ascending run. It may start anywhere from the first
// appended seq up to the truncation floor (a started truncate may have removed older segments),
// and it may end anywhere (the tail after the last durable point may be cut), but nothing may be
// returned after a hole.
export function checkPrefix(facts: HistoryFacts, recovered: readonly RecoveredDigest[]): PrefixVerdict {
  if (recovered.length === 0) return { status: 'held', first: null, last: null };
  let outOfOrder: { index: number; seq: number; previous: number } | null = null;
  const gaps: Gap[] = [];
  let gapCount = 0;
  for (let index = 1; index < recovered.length; index++) {
    const previous = (recovered[index - 1] as RecoveredDigest).seq;
    const seq = (recovered[index] as RecoveredDigest).seq;
    if (seq <= previous) {
      outOfOrder ??= { index, seq, previous };
    } else if (seq > previous + 1) {
      gapCount++;
      if (gaps.length < EVIDENCE_LIMIT) gaps.push({ after: previous, next: seq });
    }
  }
  const firstRecovered = (recovered[0] as RecoveredDigest).seq;
  const firstAppended = facts.appendedSeqs[0];
  let headMissing: { firstRecovered: number; latestAllowedStart: number } | null = null;
  if (firstAppended !== undefined) {
    const latestAllowedStart = Math.max(firstAppended, facts.truncationFloor ?? firstAppended);
    if (firstRecovered > latestAllowedStart) headMissing = { firstRecovered, latestAllowedStart };
  }
  if (outOfOrder === null && gapCount === 0 && headMissing === null) {
    return { status: 'held', first: firstRecovered, last: (recovered[recovered.length - 1] as RecoveredDigest).seq };
  }
  return { status: 'violated', outOfOrder, gaps: { first: gaps, count: gapCount }, headMissing };
}
