import type { FsckReport } from '../dm/index.js';
import type { CrashVerdict } from '../oracle/index.js';
import type { TrialStatus } from './fs-failure.js';
import type { TargetVerdict } from '../oracle/target-verdict.js';
import type { Contract } from '../targets/contract.js';
import { strategyLabel, type Strategy } from '../strategy/index.js';
import type { CrashMode } from './options.js';

// One trial's outcome, the one shape it keeps from the trial that judged it to the per-trial
// line, the summary table, the --json results, the VM hand-off and the artifact's verdict.json.
// Both modes produce it: a flakey trial from one power cut, a log-writes trial from every crash
// state of one recording (its verdict is the representative state's: the first violated one).
// A trial of the WAL carries its strategy and the WAL oracle's verdict; a trial of another target
// (issue 14, src/targets) carries `target` instead: its setting, contract and the target verdict.

export interface TimelineEntry {
  atMs: number;
  what: string;
}

interface OutcomeCommon {
  mode: CrashMode;
  scenario: string;
  /** The trial's index in the seeded run (0-based). */
  index: number;
  trialSeed: number;
  /** 'fs-failed': the loss is the filesystem's (fsck had to repair after the cut; src/crash/fs-failure.ts). */
  status: TrialStatus;
  /** Human-readable reasons when violated or fs-failed (one per violated check or recovery failure). */
  reasons: string[];
  /** Things worth knowing that are not violations (a trigger that timed out, states checked). */
  notes: string[];
  durationMs: number;
  /** What the harness did when, in ms from the trial's start. */
  timeline: TimelineEntry[];
  /** What fsck did before the mount after the cut (filesystems without a journal), else absent. */
  fsck?: FsckReport;
  /** Where a violated trial's evidence was saved (src/crash/artifacts.ts), else null. */
  artifactDir: string | null;
}

export interface WalTrialOutcome extends OutcomeCommon {
  strategy: Strategy;
  groupCommit: boolean;
  verdict: CrashVerdict;
  recovery: { status: 'recovered' | 'failed'; entries: number; code?: string; message?: string; corruption: { code: string; message: string } | null };
  target?: undefined;
}

export interface TargetTrialFacts {
  name: string;
  setting: string;
  contract: Contract;
  verdict: TargetVerdict;
  /** The run and check commands as shown (the built-in ones run the bundled program). */
  run: string;
  check: string;
  /** How many states this trial judged (1 for a power cut; every crash state of a recording). */
  states: number;
}

export interface TargetTrialOutcome extends OutcomeCommon {
  target: TargetTrialFacts;
}

export type TrialOutcome = WalTrialOutcome | TargetTrialOutcome;

export function isTargetOutcome(o: TrialOutcome): o is TargetTrialOutcome {
  return o.target !== undefined;
}

/** Where a finished trial stands in its run, for the per-trial line (1-based position). */
export interface TrialPosition {
  position: number;
  total: number;
}

/** What a trial tested, as its line and its summary row name it: the WAL's strategy, or TARGET SETTING. */
export function subjectLabel(o: TrialOutcome): string {
  return o.target === undefined ? strategyLabel(o.strategy, o.groupCommit) : `${o.target.name} ${o.target.setting}`;
}
