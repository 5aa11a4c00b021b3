import type { FsckReport } from '../dm/index.js';
import type { CrashVerdict } from '../oracle/index.js';
import type { TrialStatus } from './fs-failure.js';
import type { Strategy } from '../strategy/index.js';
import type { CrashMode } from './options.js';

// One trial's outcome, the one shape it keeps from the trial that judged it to the per-trial
// line, the summary table, the --json results, the VM hand-off and the artifact's verdict.json.
// Both modes produce it: a flakey trial from one power cut, a log-writes trial from every crash
// state of one recording (its verdict is the representative state's: the first violated one).

export interface TimelineEntry {
  atMs: number;
  what: string;
}

export interface TrialOutcome {
  mode: CrashMode;
  strategy: Strategy;
  groupCommit: boolean;
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
  verdict: CrashVerdict;
  recovery: { status: 'recovered' | 'failed'; entries: number; code?: string; message?: string; corruption: { code: string; message: string } | null };
  durationMs: number;
  /** What the harness did when, in ms from the trial's start. */
  timeline: TimelineEntry[];
  /** What fsck did before the mount after the cut (filesystems without a journal), else absent. */
  fsck?: FsckReport;
  /** Where a violated trial's evidence was saved (src/crash/artifacts.ts), else null. */
  artifactDir: string | null;
}

/** Where a finished trial stands in its run, for the per-trial line (1-based position). */
export interface TrialPosition {
  position: number;
  total: number;
}
