import type { TargetRecordingMeta, TargetRecordSpec } from '../target/recording.js';
import { recordAll, type RecordRunResult } from './record-all.js';
import type { RecordingMeta, RecordOutcome, RecordSpec } from './session.js';

// Recordings checked as they are made: the recorder runs (one microVM boot) while the host checks
// each recording it has finished, in spec order, and the run can be stopped at any point (a
// violation under --fail-fast, a check that failed): the microVM is then killed and the specs not
// yet recorded get no outcome. One loop for the WAL's log-writes mode and the targets'.

export interface RecordPipeline<M> {
  /**
   * Spec `n`'s outcome once its files are complete. Undefined when the recorder ended without it:
   * stopped, or failed (then `done` rejects with why).
   */
  outcome(n: number): Promise<RecordOutcome<M> | undefined>;
  /** The recorder's whole run; rejects with its error. */
  readonly done: Promise<RecordRunResult<M>>;
  /** Stop the recorder (the microVM is killed) and wait until it is gone; never throws. */
  close(): Promise<void>;
}

export interface PipelineOptions {
  forceVm?: boolean;
  onLine?: (line: string) => void;
}

export function startRecording(specs: readonly RecordSpec[], outRoot: string, opts?: PipelineOptions): RecordPipeline<RecordingMeta>;
export function startRecording(specs: readonly TargetRecordSpec[], outRoot: string, opts?: PipelineOptions): RecordPipeline<TargetRecordingMeta>;
export function startRecording(
  specs: readonly (RecordSpec | TargetRecordSpec)[],
  outRoot: string,
  opts: PipelineOptions = {},
): RecordPipeline<RecordingMeta | TargetRecordingMeta> {
  type M = RecordingMeta | TargetRecordingMeta;
  const stop = new AbortController();
  const made: (RecordOutcome<M> | undefined)[] = [];
  let ended = false;
  let wake: (() => void) | undefined;
  const options = {
    ...(opts.forceVm !== undefined ? { forceVm: opts.forceVm } : {}),
    ...(opts.onLine ? { onLine: opts.onLine } : {}),
    onRecorded: (n: number, outcome: RecordOutcome<M>) => {
      made[n] = outcome;
      wake?.();
    },
    stop: stop.signal,
  };
  // recordAll's overloads are per spec kind; the specs here are all of one kind.
  const started = (recordAll as (s: typeof specs, o: string, x: typeof options) => Promise<RecordRunResult<M>>)(specs, outRoot, options);
  const done = started.then((r) => {
    // On this kernel the outcomes come only now.
    r.outcomes.forEach((o, n) => (made[n] ??= o));
    return r;
  });
  const settled = done.finally(() => {
    ended = true;
    wake?.();
  });
  // Observed by whoever awaits `done`; a failure while nobody waits must not go unhandled.
  settled.catch(() => undefined);
  return {
    async outcome(n) {
      while (made[n] === undefined && !ended) await new Promise<void>((resolve) => (wake = resolve));
      return made[n];
    },
    done,
    async close() {
      stop.abort();
      await settled.catch(() => undefined);
    },
  };
}
