import { release } from 'node:os';
import type { TrialOutcome } from './outcome.js';
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
  rows: SummaryRow[];
  verdict: RowVerdict;
}

/** Exit status of a finished run: 0 held everywhere, 1 violated (or a crash shown not to be real). */
export function exitCodeOf(verdict: RowVerdict): 0 | 1 {
  return verdict === 'held' ? 0 : 1;
}

/** Assemble the results of a run from its trial records. */
export function buildResults<T extends TrialOutcome>(fields: Omit<RunResults<T>, 'format' | 'rows' | 'verdict'>): RunResults<T> {
  const rows = summaryRows(fields.trials);
  return { format: 'powercut-crashtest-v1', ...fields, rows, verdict: rows.length === 0 ? 'held' : runVerdict(rows) };
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
