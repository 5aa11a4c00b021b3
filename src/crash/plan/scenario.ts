import type { Strategy } from '../../workload/events.js';
import type { Random } from '../../workload/seeded-random.js';
import type { WriterConfig } from '../../workload/writer-config.js';

// What a crash scenario is: a workload shape for the writer and the steps the harness takes while
// it runs. Every scenario ends in the same power cut (see trial-runner.ts), so a scenario only says
// WHEN to cut and what to do to the device before. Scenarios are data produced from a seeded
// Random: the same seed gives the same plan, and a plan is saved with every violation.

/** A moment in the writer's event stream, counted from the start of the trial. */
export type Trigger =
  /** The `count`-th `appended` event. */
  | { kind: 'appended'; count: number }
  /** The `count`-th `acked` event. */
  | { kind: 'acked'; count: number }
  /** Appended entries occupy at least `bytes` on disk (entry header + payload, 8-byte aligned). */
  | { kind: 'bytes'; bytes: number }
  /** The `count`-th `truncating` event, then `thenAppended` more `appended` events. */
  | { kind: 'truncating'; count: number; thenAppended: number }
  /** The first `failed` event, or `timeoutMs` after this step began, whichever comes first. */
  | { kind: 'failed'; timeoutMs: number };

export type ScenarioStep =
  | { kind: 'wait'; until: Trigger }
  /** Let the writer run this long. */
  | { kind: 'pause'; ms: number }
  /** From now on every write to the device fails with EIO (dm-flakey error_writes). */
  | { kind: 'fail-writes' }
  /**
   * Writes to the blocks the WAL's files occupy now fail with EIO, while the rest of the device
   * and every flush work (a transient write error as the WAL sees it: the failed pages are clean
   * afterwards and a retried fdatasync succeeds without them).
   */
  | { kind: 'fail-wal-blocks' }
  /**
   * A second life: power cut, remount, recovery, and a new writer on the same WAL directory,
   * which recovers and appends more; the trial's final cut then judges both lives.
   */
  | { kind: 'restart' }
  /** Back to the pass-through table: the device works again. */
  | { kind: 'heal' };

/** Writer settings a scenario may choose (the run fixes dir, strategy, group commit and seed). */
export type WorkloadShape = Partial<Omit<WriterConfig, 'dir' | 'strategy' | 'groupCommit' | 'seed'>>;

export interface ScenarioPlan {
  workload: WorkloadShape;
  /**
   * Appends per dm-log-writes recording (default RECORD_ENTRIES there): enough to rotate and
   * recycle segments, or to sync many times, where the scenario needs that.
   */
  recordEntries?: number;
  /** Run in order while the writer runs; the power cut follows the last one. */
  steps: ScenarioStep[];
  /**
   * The scenario may leave the filesystem damaged (write errors reached its journal): the next
   * trial gets a fresh mkfs instead of reusing it.
   */
  freshFilesystemAfter: boolean;
}

export interface ScenarioContext {
  strategy: Strategy;
  groupCommit: boolean;
}

/** Steps that change the live device's table: only dm-flakey mode can carry them out. */
export function changesDevice(step: ScenarioStep): boolean {
  return step.kind === 'fail-writes' || step.kind === 'fail-wal-blocks' || step.kind === 'heal' || step.kind === 'restart';
}

/** A crash scenario: scenarios/<name>.ts exports one. */
export interface Scenario {
  /** kebab-case, as given to --scenario. */
  name: string;
  /** One line for --help and the report. */
  summary: string;
  /** The plan of one trial, from that trial's own random source. */
  plan(random: Random, context: ScenarioContext): ScenarioPlan;
}

/** Bytes an entry with this payload occupies in a segment (native/wal/format.h: EntrySpan). */
export function entrySpan(payloadBytes: number): number {
  return Math.ceil((16 + payloadBytes) / 8) * 8;
}

/** The segment header (format.h kSegmentHeaderSize): a segment holds this much less of entries. */
export const SEGMENT_HEADER_BYTES = 4096;
