import { promiseOf, type DurabilityPromise } from './durability.js';
import { requiredSeqs, type HistoryFacts } from './history.js';
import type { RecoveredDigest } from './recovered.js';
import type { CheckResult } from './verdict-types.js';

/** The loss accounting of one crash: what the summary table of crashtest prints per trial. */
export interface LossNumbers {
  appended: number;
  acked: number;
  /** Distinct seqs recovery returned. */
  recovered: number;
  /** Appended seqs at or above the truncation floor that recovery did not return. */
  lost: number;
  /** Appended seqs below the truncation floor that are gone: removed by truncate, not lost. */
  truncatedAway: number;
  /** Acknowledged seqs (at or above the truncation floor) that recovery did not return. */
  ackedButLost: number;
  /** Lost seqs the contract required to survive: must be 0. */
  lostBeyondContract: number;
  /** The last durable watermark seen, or null. */
  watermark: number | null;
  /** Lost seqs above the watermark (periodic: the loss window). */
  lostAfterWatermark: number;
}

export type ExpectationVerdict = CheckResult<
  { promise: DurabilityPromise; loss: LossNumbers; lossObserved: boolean },
  { promise: DurabilityPromise; loss: LossNumbers; lossObserved: true }
>;

/** Count what a crash lost, against the history. */
export function lossNumbers(facts: HistoryFacts, recovered: readonly RecoveredDigest[]): LossNumbers {
  const present = new Set(recovered.map((entry) => entry.seq));
  const floor = facts.truncationFloor ?? -Infinity;
  let lost = 0;
  let truncatedAway = 0;
  let ackedButLost = 0;
  let lostAfterWatermark = 0;
  for (const seq of facts.appendedSeqs) {
    if (present.has(seq)) continue;
    if (seq < floor) {
      truncatedAway++;
      continue;
    }
    lost++;
    if (facts.acked.has(seq)) ackedButLost++;
    if (facts.watermark === null || seq > facts.watermark) lostAfterWatermark++;
  }
  let lostBeyondContract = 0;
  for (const seq of requiredSeqs(facts).keys()) if (!present.has(seq)) lostBeyondContract++;
  return {
    appended: facts.appendedSeqs.length,
    acked: facts.acked.size,
    recovered: present.size,
    lost,
    truncatedAway,
    ackedButLost,
    lostBeyondContract,
    watermark: facts.watermark,
    lostAfterWatermark,
  };
}

// The strategy's expectation: how much was lost, and whether the loss stayed inside the promise
// (none: any loss; periodic: only after the last watermark; the rest: nothing acknowledged).
export function checkExpectation(facts: HistoryFacts, recovered: readonly RecoveredDigest[]): ExpectationVerdict {
  const promise = promiseOf(facts);
  const loss = lossNumbers(facts, recovered);
  if (loss.lostBeyondContract === 0) return { status: 'held', promise, loss, lossObserved: loss.lost > 0 };
  return { status: 'violated', promise, loss, lossObserved: true };
}
