import path from 'node:path';
import type { Coverage, CrashState } from '../../dm/log-writes/index.js';
import type { CrashVerdict } from '../../oracle/index.js';
import type { Recovery } from '../writer/recover.js';
import type { RecordingMeta } from '../record/session.js';
import { againstExpectation, type ExpectedOutcome } from './expected-verdict.js';

// What a check of a recording's crash states says, built from its results in enumeration order
// and nothing else: a run with any number of jobs, a resumed run, and shards merged from their
// stores (merge.ts) all go through summariseStates, so equal results give an equal report.

/** What a state's result says of the state itself. */
export interface StateFacts {
  id: string;
  kind: CrashState['kind'];
  epoch: number;
  marksVisible: number;
  lastMark: string | null;
}

/**
 * One checked state. `unmountable`: the filesystem itself refused the image (say a superblock
 * write torn at 512 bytes, which a disk with 4 KiB atomic sectors would not produce): there is no
 * WAL to judge, and it is counted apart, neither a WAL violation nor a pass.
 */
export type StateResult =
  | (StateFacts & {
      status: 'held' | 'violated';
      reasons: string[];
      verdict: CrashVerdict;
      recovery: { status: Recovery['status']; entries: number; code?: string; corruption: string | null };
      /** The state's second life, when it had one: its verdict decides when the first life held. */
      secondLife?: 'held' | 'violated';
    })
  | (StateFacts & { status: 'unmountable'; reasons: string[] });

export type JudgedState = Extract<StateResult, { verdict: CrashVerdict }>;

/** Per epoch: what was checked there and what it gave. */
export interface EpochCoverage {
  epoch: number;
  prefix: number;
  subset: number;
  torn: number;
  violated: number;
  unmountable: number;
  secondLives: number;
}

/** The part of a check's report that depends on the results alone (no timings, no paths). */
export interface StatesSummary {
  checked: number;
  violatedStates: number;
  unmountableStates: number;
  /** The first unmountable states (at most 20). */
  unmountable: StateResult[];
  /** States that were also given a second life (SecondLifePolicy). */
  secondLives: number;
  /** The first violated states (at most 20), in enumeration order. */
  violations: JudgedState[];
  /**
   * A state that speaks for the recording in summaries: the first violated one; else the state
   * with the most acknowledgements visible that still lost something (a crash shown to be real at
   * its strictest), or the one with the most acknowledgements when none lost anything.
   */
  representative: JudgedState | null;
  epochs: EpochCoverage[];
}

export interface CheckTimings {
  materialiseMs: number;
  mountMs: number;
  recoverMs: number;
  /** The second lives' writer, remount and recovery. */
  secondLifeMs: number;
  judgeMs: number;
  totalMs: number;
}

export interface CheckReport extends StatesSummary {
  recording: string;
  /** sha256 of the recording's files (result-store.ts): the key its stored results go under. */
  recordingHash: string;
  meta: RecordingMeta;
  /** The whole enumeration's coverage (null when maxStates cut it short). */
  coverage: Coverage | null;
  /** This run's part of the states (--shard), or null for all of them. */
  shard: Shard | null;
  /** States whose result came from the store (judged by an earlier run), not checked again. */
  resumed: number;
  /** States checked by this run. */
  checkedNow: number;
  /** Set when the run was stopped before every state of its part was judged. */
  interrupted: boolean;
  jobs: number;
  /** Sums over the states this run checked (phases of different jobs overlap); totalMs is wall time. */
  timings: CheckTimings;
  /** States this run checked per second of wall time. */
  statesPerSecond: number;
  /** A whole-log replay onto a zeroed image before the states: data bytes and MB/s. */
  replayBytes: number;
  replayMBps: number;
}

/** One part of N of a recording's states: state number k (in enumeration order) is in part k mod N. */
export interface Shard {
  index: number;
  count: number;
}

/** Parse "I/N" (0 <= I < N); null when the text is not of that form. */
export function parseShard(text: string): Shard | null {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (m === null) return null;
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (!Number.isSafeInteger(count) || count < 1 || count > 1_000_000 || index >= count) return null;
  return { index, count };
}

/** The states of one shard, in enumeration order. */
export function statesOfShard<T>(states: readonly T[], shard: Shard | null): T[] {
  return shard === null ? [...states] : states.filter((_, k) => k % shard.count === shard.index);
}

function speaksLouder(a: JudgedState, b: JudgedState): boolean {
  const rank = (s: JudgedState) => [s.verdict.loss.lost > 0 ? 1 : 0, s.verdict.loss.acked, s.verdict.loss.lost];
  const [x, y] = [rank(a), rank(b)];
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return (x[i] as number) > (y[i] as number);
  return false;
}

/** The summary of results given in enumeration order. */
export function summariseStates(results: Iterable<StateResult>): StatesSummary {
  const summary: StatesSummary = {
    checked: 0,
    violatedStates: 0,
    unmountableStates: 0,
    unmountable: [],
    secondLives: 0,
    violations: [],
    representative: null,
    epochs: [],
  };
  const epochs = new Map<number, EpochCoverage>();
  let worst: JudgedState | null = null;
  for (const result of results) {
    summary.checked++;
    let epoch = epochs.get(result.epoch);
    if (epoch === undefined) {
      epoch = { epoch: result.epoch, prefix: 0, subset: 0, torn: 0, violated: 0, unmountable: 0, secondLives: 0 };
      epochs.set(result.epoch, epoch);
    }
    epoch[result.kind]++;
    if (result.status === 'unmountable') {
      summary.unmountableStates++;
      epoch.unmountable++;
      if (summary.unmountable.length < 20) summary.unmountable.push(result);
      continue;
    }
    if (result.secondLife !== undefined) {
      summary.secondLives++;
      epoch.secondLives++;
    }
    if (result.status === 'violated') {
      summary.violatedStates++;
      epoch.violated++;
      if (summary.violations.length < 20) summary.violations.push(result);
    } else if (worst === null || speaksLouder(result, worst)) {
      worst = result;
    }
  }
  summary.representative = summary.violations[0] ?? worst;
  summary.epochs = [...epochs.values()].sort((a, b) => a.epoch - b.epoch);
  return summary;
}

/** A recording's line in a campaign's JSON report: the same for a run, a resumed run and merged shards. */
export interface CampaignEntry extends StatesSummary {
  recording: string;
  recordingHash: string;
  coverage: Coverage | null;
  /** What the check means against what the recording is for, or 'partial' for a shard or a stopped run. */
  outcome: ExpectedOutcome['status'] | 'partial';
}

/** The campaign entry of a whole check (`complete`) or of a part of one. */
export function campaignEntry(
  r: StatesSummary & { recording: string; recordingHash: string; coverage: Coverage | null; meta: RecordingMeta },
  complete: boolean,
): CampaignEntry {
  const summary: StatesSummary = {
    checked: r.checked,
    violatedStates: r.violatedStates,
    unmountableStates: r.unmountableStates,
    unmountable: r.unmountable,
    secondLives: r.secondLives,
    violations: r.violations,
    representative: r.representative,
    epochs: r.epochs,
  };
  return {
    recording: path.basename(r.recording),
    recordingHash: r.recordingHash,
    coverage: r.coverage,
    ...summary,
    outcome: complete ? againstExpectation(r.meta, r.violatedStates > 0).status : 'partial',
  };
}
