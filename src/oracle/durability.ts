import { ackPromise } from '../strategy/index.js';
import { requiredSeqs, type HistoryFacts } from './history.js';
import type { RecoveredDigest } from './recovered.js';
import { seqList, type CheckResult, type SeqList } from './verdict-types.js';

/** What the strategy promised to keep across a crash. */
export type DurabilityPromise = 'acked-durable' | 'watermark' | 'none';

export function promiseOf(facts: HistoryFacts): DurabilityPromise {
  const ack = ackPromise(facts.strategy);
  return ack === 'durable' ? 'acked-durable' : ack;
}

export type DurabilityVerdict = CheckResult<
  { promise: DurabilityPromise; required: number },
  {
    promise: DurabilityPromise;
    required: number;
    /** Every required seq that recovery did not return. */
    missing: SeqList;
    /** Of those, the ones required because their ack meant durable. */
    missingAcked: SeqList;
    /** Of those, the ones required because a durable watermark covered them. */
    missingBelowWatermark: SeqList;
    watermark: number | null;
  }
>;

// Durability: every entry the contract made durable (acked under a durable strategy, or at or
// below the last published watermark) is present. `none` requires nothing.
export function checkDurability(facts: HistoryFacts, recovered: readonly RecoveredDigest[]): DurabilityVerdict {
  const promise = promiseOf(facts);
  const required = requiredSeqs(facts);
  const present = new Set(recovered.map((entry) => entry.seq));
  const missingAcked: number[] = [];
  const missingBelowWatermark: number[] = [];
  for (const [seq, reason] of required) {
    if (present.has(seq)) continue;
    (reason === 'acked-durable' ? missingAcked : missingBelowWatermark).push(seq);
  }
  if (missingAcked.length === 0 && missingBelowWatermark.length === 0) {
    return { status: 'held', promise, required: required.size };
  }
  return {
    status: 'violated',
    promise,
    required: required.size,
    missing: seqList([...missingAcked, ...missingBelowWatermark]),
    missingAcked: seqList(missingAcked),
    missingBelowWatermark: seqList(missingBelowWatermark),
    watermark: facts.watermark,
  };
}
