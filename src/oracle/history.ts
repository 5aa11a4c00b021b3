import { ackPromise, SYNC_FAILURE_CODES } from '../strategy/index.js';
import type { Strategy, WorkloadEvent } from '../workload/events.js';

export type OracleInputErrorCode = 'ORACLE_NO_STRATEGY' | 'ORACLE_INCONSISTENT_HISTORY' | 'ORACLE_BAD_RECOVERED';

/** The oracle was given input it cannot judge: the history or the recovered list contradicts itself. */
export class OracleInputError extends Error {
  override readonly name = 'OracleInputError';
  constructor(
    readonly code: OracleInputErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const DEFAULT_SYNC_FAILURE_CODES: readonly string[] = SYNC_FAILURE_CODES;

/** What a history says once folded: everything the checks need, computed once. */
export interface HistoryFacts {
  strategy: Strategy;
  groupCommit: boolean;
  /** seq -> digest and size of every `appended` event. */
  appended: ReadonlyMap<number, { digest: string; size: number }>;
  /** Every appended seq, ascending. */
  appendedSeqs: readonly number[];
  acked: ReadonlySet<number>;
  /** The highest `durable` watermark seen, or null if none was published. */
  watermark: number | null;
  /** Highest beforeSeq of any truncate that was started: seqs below it may be legitimately gone. */
  truncationFloor: number | null;
  /** Seqs whose append failed. */
  failedSeqs: ReadonlySet<number>;
  /** Acks recorded after the WAL reported a sync failure (fsyncgate: must never happen). */
  ackedAfterSyncFailure: readonly { seq: number; failureCode: string; failureIndex: number; ackIndex: number }[];
}

export interface FoldOptions {
  /** Overrides the strategy of the `started` event (and makes a history without one judgeable). */
  strategy?: Strategy;
  groupCommit?: boolean;
  /**
   * `failed` codes that mean a write or sync failed: no ack may follow one. Default: the WAL's
   * codes for that (src/wal/errors.ts): WAL_IO, WAL_NO_SPACE, and WAL_FAILED (refusing after one).
   */
  syncFailureCodes?: readonly string[];
}

// Fold the event list into facts. Contradictions in the history itself (an ack for a seq never
// appended, one seq appended twice with different payloads) are the writer's bug, not a WAL
// verdict, so they throw instead of producing a misleading verdict.
export function foldHistory(history: readonly WorkloadEvent[], options: FoldOptions = {}): HistoryFacts {
  const appended = new Map<number, { digest: string; size: number }>();
  const appendedSeqs: number[] = [];
  const acked = new Set<number>();
  const failedSeqs = new Set<number>();
  const ackedAfterSyncFailure: HistoryFacts['ackedAfterSyncFailure'][number][] = [];
  const syncFailureCodes = new Set(options.syncFailureCodes ?? DEFAULT_SYNC_FAILURE_CODES);
  let firstSyncFailure: { code: string; index: number } | null = null;
  let strategy = options.strategy;
  let groupCommit = options.groupCommit;
  let watermark: number | null = null;
  let truncationFloor: number | null = null;

  history.forEach((event, index) => {
    switch (event.type) {
      case 'started':
        strategy ??= event.strategy;
        groupCommit ??= event.groupCommit;
        break;
      case 'appended': {
        const previous = appended.get(event.seq);
        if (previous !== undefined) {
          if (previous.digest !== event.digest) {
            throw new OracleInputError('ORACLE_INCONSISTENT_HISTORY', `seq ${event.seq} appended twice with different digests (event ${index})`);
          }
          break;
        }
        // No order is required between appends: writers on several threads announce their
        // seqs concurrently, so the lines of one seq and the next may arrive either way round.
        appended.set(event.seq, { digest: event.digest, size: event.size });
        appendedSeqs.push(event.seq);
        break;
      }
      case 'acked':
        if (!appended.has(event.seq)) {
          throw new OracleInputError('ORACLE_INCONSISTENT_HISTORY', `seq ${event.seq} acknowledged but never appended (event ${index})`);
        }
        acked.add(event.seq);
        if (firstSyncFailure !== null) {
          ackedAfterSyncFailure.push({ seq: event.seq, failureCode: firstSyncFailure.code, failureIndex: firstSyncFailure.index, ackIndex: index });
        }
        break;
      case 'durable':
        watermark = watermark === null ? event.seq : Math.max(watermark, event.seq);
        break;
      case 'failed':
        if (event.seq !== undefined) failedSeqs.add(event.seq);
        if (firstSyncFailure === null && syncFailureCodes.has(event.code)) firstSyncFailure = { code: event.code, index };
        break;
      case 'truncating':
      case 'truncated':
        truncationFloor = truncationFloor === null ? event.beforeSeq : Math.max(truncationFloor, event.beforeSeq);
        break;
    }
  });

  if (strategy === undefined) {
    throw new OracleInputError('ORACLE_NO_STRATEGY', 'the history has no started event and no strategy was given');
  }
  appendedSeqs.sort((a, b) => a - b);
  return {
    strategy,
    groupCommit: groupCommit ?? false,
    appended,
    appendedSeqs,
    acked,
    watermark,
    truncationFloor,
    failedSeqs,
    ackedAfterSyncFailure,
  };
}

/** Why the contract requires a seq to survive. */
export type RequiredReason = 'acked-durable' | 'below-watermark';

// The contract table of ARCHITECTURE.md as code: which appended seqs must be present after a crash.
// Seqs below the truncation floor are never required (a started truncate may have removed them).
export function requiredSeqs(facts: HistoryFacts): Map<number, RequiredReason> {
  const required = new Map<number, RequiredReason>();
  if (ackPromise(facts.strategy) === 'none') return required;
  const floor = facts.truncationFloor ?? -Infinity;
  const ackMeansDurable = ackPromise(facts.strategy) === 'durable';
  for (const seq of facts.appendedSeqs) {
    if (seq < floor) continue;
    // A failed append promised nothing (unless it was acknowledged anyway, which is its own bug).
    if (facts.failedSeqs.has(seq) && !facts.acked.has(seq)) continue;
    // A watermark covers every appended seq at or below it, acknowledged or not: the WAL said so.
    if (facts.watermark !== null && seq <= facts.watermark) required.set(seq, 'below-watermark');
    else if (ackMeansDurable && facts.acked.has(seq)) required.set(seq, 'acked-durable');
  }
  return required;
}
