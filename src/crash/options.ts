import type { FsVariantName } from '../dm/index.js';
import type { Strategy } from '../workload/events.js';
import type { Scenario } from './plan/scenario.js';
import type { ExecArgs } from '../targets/registry.js';

/** How the power cut is produced: dm-flakey table swaps, or (issue 6) dm-log-writes replay. */
export type CrashMode = 'flakey' | 'log-writes';

/** A crashtest run, after the command line was checked. */
export interface RunOptions {
  strategies: Strategy[];
  groupCommit: boolean;
  /** The scenarios trials cycle through (trial i runs scenarios[i % n]). */
  scenarios: readonly Scenario[];
  /** How the scenario selection was named on the command line ('all' or one name). */
  scenarioName: string;
  /** The filesystem under the WAL (src/dm/fs-variant.ts): ext4, ext4-nojournal, xfs, btrfs, btrfs-nodatacow. */
  fs: FsVariantName;
  trials: number;
  seed: number;
  /** Run only this trial index of the seeded sequence (a replay). */
  onlyTrial: number | undefined;
  mode: CrashMode;
  /** Parent of the artifact directories of violated trials. */
  artifactsRoot: string;
  /** The command line, for artifacts and reports. */
  command: string;
  /** The bundled writer to use (the host builds it before starting the VM). */
  writerBundle: string | undefined;
  /**
   * log-writes: how many crash states per epoch are checked. 'lean' (the default run, which must
   * fit its time budget): the empty and full subsets, 2 random ones and 2 tears per epoch;
   * 'by-length' (default): full for recordings of RECORD_ENTRIES appends, lean for longer ones.
   */
  stateBudget?: 'lean' | 'by-length';
  /** A run of a target other than the WAL (issue 14, src/crash/target): the strategies are unused then. */
  target?: TargetRun;
  /** log-writes: crash states checked at once (default: the number of CPUs); verdicts do not depend on it. */
  stateJobs?: number;
  /**
   * End the run at its first violated trial, and a default run at its first violated check
   * (`--fail-fast`; the self-test's plants: a planted bug caught once is caught, the trials after
   * it would only cost time). Without it every trial of every check is made.
   */
  stopAtViolation?: boolean;
}

/** A target run as it crosses into the VM: names only (src/targets/registry.ts resolves them). */
export interface TargetRun {
  name: string;
  settings: string[];
  exec?: ExecArgs;
}

/** The trial indices a run executes. */
export function trialIndices(options: Pick<RunOptions, 'trials' | 'onlyTrial'>): number[] {
  if (options.onlyTrial !== undefined) return [options.onlyTrial];
  return Array.from({ length: options.trials }, (_, i) => i);
}

/** The command that replays one trial of this run. */
export function replayCommand(options: RunOptions, strategy: Strategy, index: number): string {
  const parts = ['sudo pnpm crashtest', `--strategy ${strategy}`];
  if (options.mode !== 'flakey') parts.push(`--mode ${options.mode}`);
  if (options.groupCommit) parts.push('--group-commit');
  parts.push(`--scenario ${options.scenarioName}`, `--fs ${options.fs}`, `--seed ${options.seed}`, `--trial ${index}`);
  return parts.join(' ');
}
