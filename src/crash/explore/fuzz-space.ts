import fc from 'fast-check';
import { stateFromId, tearPoints, type CrashState, LogFlag, type LogIndex } from '../../dm/log-writes/index.js';
import type { FsVariantName } from '../../dm/index.js';
import type { Strategy } from '../../workload/events.js';
import { groupCommitApplies } from '../../strategy/index.js';
import type { RecordSpec } from '../record/session.js';

// What `pnpm fuzz` draws: workloads to record (few: each is a run in the microVM) and crash-state
// choices over those recordings (many: each costs one loop mount on the host). A choice is plain
// numbers and booleans resolved against a recording's epochs, so fast-check shrinks a failing
// state toward the first recording, the first epoch, fewer surviving writes and earlier tears.

export interface WorkloadChoice {
  strategy: Strategy;
  /** Group commit (drawn for the strategies it applies to; false for the others). */
  groupCommit: boolean;
  writers: number;
  minPayload: number;
  payloadSpread: number;
  segmentSize: number;
  preallocate: 'none' | 'fallocate' | 'zero';
  truncateEvery: number;
  truncateKeep: number;
  maxEntries: number;
  periodMs: number;
  seed: number;
}

/** Workloads: entry sizes, writers, segment rotation (64 KiB segments fill in a few dozen entries), truncates. */
export function workloadArb(strategies: readonly Strategy[]): fc.Arbitrary<WorkloadChoice> {
  return fc
    .record({
      strategy: fc.constantFrom(...strategies),
      groupCommit: fc.boolean(),
      writers: fc.integer({ min: 1, max: 4 }),
      minPayload: fc.integer({ min: 0, max: 1024 }),
      payloadSpread: fc.integer({ min: 0, max: 6000 }),
      segmentSize: fc.constantFrom(64 * 1024, 128 * 1024),
      preallocate: fc.constantFrom('zero' as const, 'fallocate' as const, 'none' as const),
      truncateEvery: fc.oneof(fc.constant(0), fc.integer({ min: 4, max: 24 })),
      truncateKeep: fc.integer({ min: 0, max: 16 }),
      maxEntries: fc.integer({ min: 4, max: 40 }),
      periodMs: fc.integer({ min: 10, max: 200 }),
      seed: fc.nat({ max: 2 ** 31 - 1 }),
    })
    .map((c) => ({ ...c, groupCommit: c.groupCommit && groupCommitApplies(c.strategy) }));
}

/** The recording spec of a drawn workload. */
export function specOf(choice: WorkloadChoice, name: string, fs: FsVariantName): RecordSpec {
  return {
    name,
    strategy: choice.strategy,
    groupCommit: choice.groupCommit,
    claimStrategy: null,
    fs,
    seed: choice.seed,
    scenario: 'fuzz',
    markMethod: 'ioctl',
    publishMarks: true,
    workload: {
      writers: choice.writers,
      minPayload: choice.minPayload,
      maxPayload: choice.minPayload + choice.payloadSpread,
      segmentSize: choice.segmentSize,
      preallocate: choice.preallocate,
      truncateEvery: choice.truncateEvery,
      truncateKeep: choice.truncateKeep,
      maxEntries: choice.maxEntries,
      periodMs: choice.periodMs,
    },
  };
}

export type StateChoice =
  | { kind: 'prefix'; recording: number; point: number }
  | { kind: 'subset'; recording: number; epoch: number; keep: boolean[] }
  | { kind: 'torn'; recording: number; epoch: number; write: number; tear: number };

/** Crash-state choices: a persistence point, a subset of an epoch's cached writes, or a tear. */
export function stateChoiceArb(): fc.Arbitrary<StateChoice> {
  const recording = fc.nat({ max: 1_000 });
  return fc.oneof(
    fc.record({ kind: fc.constant('prefix' as const), recording, point: fc.nat() }),
    fc.record({ kind: fc.constant('subset' as const), recording, epoch: fc.nat(), keep: fc.array(fc.boolean(), { maxLength: 64 }) }),
    fc.record({ kind: fc.constant('torn' as const), recording, epoch: fc.nat(), write: fc.nat(), tear: fc.nat() }),
  );
}

/** A recording's crash-state structure after its `mkfs` mark (the model of src/dm/crash-states.ts). */
export interface StateSpace {
  /** Entry indexes whose completion persists something: FLUSH, FUA, mark. */
  points: number[];
  /** Per epoch (FLUSH to FLUSH) that ends after mkfs: its number and its volatile (cached) writes. */
  epochs: { number: number; volatile: number[] }[];
}

// The epoch split restated from crash-states.ts, which keeps it private; stateFromId checks every
// id built from it, so a drift between the two fails loudly instead of checking the wrong state.
export function stateSpace(index: LogIndex, after: number): StateSpace {
  const points: number[] = [];
  const epochs: StateSpace['epochs'] = [];
  let start = 0;
  let number = 0;
  const close = (end: number) => {
    if (end > after) {
      const volatile: number[] = [];
      for (let i = start; i < end; i++) {
        const flags = index.flags(i);
        const touches = (flags & LogFlag.DISCARD) !== 0 || index.entry(i).dataBytes > 0;
        if (touches && (flags & LogFlag.FUA) === 0) volatile.push(i);
      }
      epochs.push({ number, volatile });
    }
  };
  for (let i = 0; i < index.length; i++) {
    const flags = index.flags(i);
    if ((flags & LogFlag.FLUSH) !== 0 && i > start) {
      close(i);
      number++;
      start = i;
    }
    if (i > after && (flags & (LogFlag.FLUSH | LogFlag.FUA | LogFlag.MARK)) !== 0) points.push(i);
  }
  if (index.length > 0) close(index.length);
  return { points, epochs };
}

/** The state a choice names in this recording (numbers taken modulo what exists). */
export function resolveChoice(index: LogIndex, space: StateSpace, choice: StateChoice): CrashState {
  const fallback = stateFromId(index, `prefix@${index.length}`);
  if (choice.kind === 'prefix') {
    const point = space.points[choice.point % Math.max(space.points.length, 1)];
    return point === undefined ? fallback : stateFromId(index, `prefix@${point + 1}`);
  }
  const withWrites = space.epochs.filter((e) => e.volatile.length > 0);
  const epoch = withWrites[choice.epoch % Math.max(withWrites.length, 1)];
  if (epoch === undefined) return fallback;
  if (choice.kind === 'subset') {
    const kept = epoch.volatile.filter((_, i) => choice.keep[i] === true);
    return stateFromId(index, `e${epoch.number}/subset/${kept.join(',')}`);
  }
  const tearable = epoch.volatile.filter((e) => tearPoints(index.entry(e).dataBytes, Infinity).length > 0);
  const entry = tearable[choice.write % Math.max(tearable.length, 1)];
  if (entry === undefined) return stateFromId(index, `e${epoch.number}/subset/`);
  const cuts = tearPoints(index.entry(entry).dataBytes, Infinity);
  return stateFromId(index, `e${epoch.number}/torn/${entry}@${cuts[choice.tear % cuts.length]}`);
}
