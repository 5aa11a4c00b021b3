import { release } from 'node:os';
import type { TrialOutcome, WalTrialOutcome } from './outcome.js';
import type { RunOptions } from './options.js';
import { runVerdict, summaryRows, type RowVerdict, type SummaryRow } from './summary.js';

// What a run produced, as written by --json and passed from the VM back to the host. A run of the
// WAL's modes has WalTrialOutcome trials; a target run (src/crash/target) TargetTrialOutcome ones.

export interface RunResults<T extends TrialOutcome = TrialOutcome> {
  format: 'powercut-crashtest-v1';
  startedAt: string;
  durationMs: number;
  mode: RunOptions['mode'];
  fs: RunOptions['fs'];
  seed: number;
  command: string;
  /** Where the trials ran: the host kernel, or the microVM's. */
  kernel: { release: string; inVm: boolean };
  trials: T[];
  /** Trials that could not be judged (a recording that failed), with why: no verdict for them. */
  errors: TrialError[];
  rows: SummaryRow[];
  verdict: RowVerdict;
}

/** A trial with no verdict: which one, and why it could not be judged. */
export interface TrialError {
  strategy: WalTrialOutcome['strategy'];
  groupCommit: boolean;
  scenario: string;
  index: number;
  reason: string;
}

/**
 * Exit status of a finished run: 0 held everywhere, 1 violated (or a crash shown not to be real),
 * 2 nothing violated but some trials could not be judged.
 */
export function exitCodeOf(verdict: RowVerdict): 0 | 1 | 2 {
  return verdict === 'held' ? 0 : verdict === 'error' ? 2 : 1;
}

/**
 * The verdict of judged trials and of those that could not be judged: a violation stands whatever
 * else failed (it was shown); otherwise a trial without a verdict makes the run's an error.
 */
export function withErrors(verdict: RowVerdict, errors: number): RowVerdict {
  return verdict === 'violated' || verdict === 'fs-failed' || verdict === 'crash-not-real' || errors === 0 ? verdict : 'error';
}

/** Assemble the results of a run from its trial records (and the trials that could not be judged). */
export function buildResults<T extends TrialOutcome>(
  fields: Omit<RunResults<T>, 'format' | 'rows' | 'verdict' | 'errors'> & { errors?: TrialError[] },
): RunResults<T> {
  const rows = summaryRows(fields.trials);
  const errors = fields.errors ?? [];
  return { format: 'powercut-crashtest-v1', ...fields, errors, rows, verdict: withErrors(rows.length === 0 ? 'held' : runVerdict(rows), errors.length) };
}

/** The results of a run of `options` on this kernel that started at `started` (ms since the epoch). */
export function finishRun<T extends TrialOutcome>(options: RunOptions, started: number, inVm: boolean, trials: T[]): RunResults<T> {
  return buildResults({
    startedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    mode: options.mode,
    fs: options.fs,
    seed: options.seed,
    command: options.command,
    kernel: { release: release(), inVm },
    trials,
  });
}
