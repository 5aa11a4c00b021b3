import { Wal, WalError, type WalOptions } from '../wal/index.js';
import { payloadDigest, type WorkloadEvent } from './events.js';
import { PayloadSource } from './payload-source.js';
import type { WriterConfig } from './writer-config.js';

// The writer: drives one WAL with the configured strategy and reports every step as an event,
// in order, the moment it happens. It runs in a child process that the harness SIGKILLs at the
// power cut, so the event sink must be synchronous (see events.ts).
//
// Sequence numbers: append() hands out seqs synchronously, in call order, and resolves with the
// seq only at acknowledgement. The `appended` event must precede the call (the entry may reach the
// disk before the promise settles), so the writer predicts the seq: the recovered last seq + 1,
// then one more per call. A call the WAL refuses outright (WAL_FAILED, WAL_CLOSED: it never staged
// the entry) consumes no seq; such refusals can only form a suffix of the calls, because a WAL
// that refused once refuses everything after, so the prediction is corrected by counting them.

/** Codes of rejections that happen before the WAL stages the entry: no seq was consumed. */
const REFUSED_CODES = new Set(['WAL_FAILED', 'WAL_CLOSED']);

/** How the writer ended (when it was not killed first). */
export type WriterExit = { status: 'done'; appended: number; acked: number; failed: number } | { status: 'seq-mismatch'; expected: number; actual: number };

export type EventSink = (event: WorkloadEvent) => void;

function now(): number {
  return Date.now();
}

function walOptions(config: WriterConfig): WalOptions {
  return {
    strategy: config.strategy,
    groupCommit: config.groupCommit,
    segmentSize: config.segmentSize,
    preallocate: config.preallocate,
    ...(config.strategy === 'periodic' ? { periodMs: config.periodMs } : {}),
  };
}

function errorCode(error: unknown): string {
  if (error instanceof WalError) return error.code;
  return 'WRITER_UNEXPECTED';
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Run the workload against the WAL in config.dir until maxEntries or maxMs (or SIGKILL).
 * `walExtra`: WAL options the workload does not describe (a recording's publishMarks).
 */
export async function runWriter(config: WriterConfig, emit: EventSink, walExtra: Pick<WalOptions, 'publishMarks'> = {}): Promise<WriterExit> {
  const wal = await Wal.open(config.dir, { ...walOptions(config), ...walExtra });
  const announced = config.announceStrategy ?? config.strategy;
  emit({
    type: 'started',
    strategy: announced,
    // A lying writer claims a plain strategy: group commit is not part of the claim.
    groupCommit: config.announceStrategy === null ? config.groupCommit : false,
    periodMs: announced === 'periodic' ? config.periodMs : null,
    pid: process.pid,
    workload: {
      ...(config.announceStrategy !== null ? { actualStrategy: config.strategy } : {}),
      writers: config.writers,
      minPayload: config.minPayload,
      maxPayload: config.maxPayload,
      segmentSize: config.segmentSize,
      preallocate: config.preallocate,
      seed: config.seed,
      truncateEvery: config.truncateEvery,
      truncateKeep: config.truncateKeep,
      recovered: wal.recovery,
    },
    t: now(),
  });
  const unsubscribe = wal.onDurable((seq) => emit({ type: 'durable', seq, t: now() }));
  const payloads = new PayloadSource(config.seed, config.minPayload, config.maxPayload);
  const deadline = Date.now() + config.maxMs;
  let nextSeq = wal.recovery.lastSeq + 1;
  let calls = 0;
  let acked = 0;
  let failures = 0;
  let refused = 0;
  let stop = false;
  let mismatch: WriterExit | undefined;
  // Payloads announced under a seq the WAL never consumed: a later attempt under the same seq
  // must announce the same bytes, or the history would hold two digests for one seq.
  const unconsumed = new Map<number, Buffer>();
  // The truncate in flight (one at a time), in an object: it is set and cleared in callbacks.
  const inFlight: { truncate: Promise<void> | null } = { truncate: null };
  let floor = wal.recovery.firstSeq;

  const truncateIfDue = (seq: number): void => {
    if (config.truncateEvery === 0 || inFlight.truncate !== null || acked % config.truncateEvery !== 0) return;
    const beforeSeq = seq - config.truncateKeep;
    if (beforeSeq <= floor) return;
    emit({ type: 'truncating', beforeSeq, t: now() });
    inFlight.truncate = wal.truncate(beforeSeq).then(
      () => {
        floor = beforeSeq;
        inFlight.truncate = null;
        emit({ type: 'truncated', beforeSeq, t: now() });
      },
      (error: unknown) => {
        inFlight.truncate = null;
        failures++;
        emit({ type: 'failed', code: errorCode(error), message: `truncate(${beforeSeq}): ${errorMessage(error)}`, t: now() });
        if (!config.continueAfterFailure) stop = true;
      },
    );
  };

  // One append, announced first; returns false when the WAL rejected it.
  const appendOne = async (seq: number, payload: Buffer): Promise<boolean> => {
    calls++;
    emit({ type: 'appended', seq, digest: payloadDigest(payload), size: payload.length, t: now() });
    let got: number;
    try {
      got = await wal.append(payload);
    } catch (error) {
      failures++;
      const code = errorCode(error);
      if (REFUSED_CODES.has(code)) {
        refused++;
        unconsumed.set(seq, payload);
      }
      emit({ type: 'failed', seq, code, message: errorMessage(error), t: now() });
      return false;
    }
    if (got !== seq) {
      // The prediction is wrong: every later event would describe the wrong entries. Say so and stop.
      mismatch ??= { status: 'seq-mismatch', expected: seq, actual: got };
      emit({ type: 'failed', seq, code: 'WRITER_SEQ_MISMATCH', message: `append announced as seq ${seq} was acknowledged as seq ${got}`, t: now() });
      stop = true;
      return false;
    }
    acked++;
    emit({ type: 'acked', seq, t: now() });
    truncateIfDue(seq);
    return true;
  };

  const loop = async (): Promise<void> => {
    while (!stop && calls < config.maxEntries && Date.now() < deadline) {
      const seq = nextSeq++;
      const ok = await appendOne(seq, payloads.next(seq));
      if (!ok && !config.continueAfterFailure) stop = true;
      if (!ok && config.continueAfterFailure) return;
    }
  };

  await Promise.all(Array.from({ length: config.writers }, loop));

  // After a failure, one serial probe keeps asking the WAL to take more entries until the end:
  // the fsync-failure scenario wants to see whether it ever acknowledges again (it must not).
  if (config.continueAfterFailure && failures > 0 && mismatch === undefined) {
    nextSeq -= refused;
    while (!stop && Date.now() < deadline) {
      const seq = nextSeq;
      const payload = unconsumed.get(seq) ?? payloads.next(seq);
      refused = 0;
      const ok = await appendOne(seq, payload);
      if (ok || refused === 0) {
        unconsumed.delete(seq);
        nextSeq++;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  // A truncate still running reports its outcome before the writer closes: its event (and a
  // recording's mark for it) belongs to this run, not to a closed WAL and a released marker.
  await inFlight.truncate;
  unsubscribe();
  await wal.close().catch((error: unknown) => emit({ type: 'failed', code: errorCode(error), message: `close: ${errorMessage(error)}`, t: now() }));
  return mismatch ?? { status: 'done', appended: calls, acked, failed: failures };
}
