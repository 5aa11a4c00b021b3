import type { CrashVerdict } from '../oracle/index.js';
import type { Strategy } from '../workload/events.js';
import type { RunOptions } from './options.js';
import { runVerdict, summaryRows, type RowVerdict, type SummaryRow } from './summary.js';

// What a run produced, as written by --json and passed from the VM back to the host.

export interface TrialRecord {
  strategy: Strategy;
  groupCommit: boolean;
  scenario: string;
  index: number;
  trialSeed: number;
  status: 'held' | 'violated';
  reasons: string[];
  notes: string[];
  verdict: CrashVerdict;
  recovery: { status: 'recovered' | 'failed'; entries: number; code?: string; message?: string; corruption: { code: string; message: string } | null };
  durationMs: number;
  /** What the harness did when, in ms from the trial's start. */
  timeline: { atMs: number; what: string }[];
  artifactDir: string | null;
}

export interface RunResults {
  format: 'powercut-crashtest-v1';
  startedAt: string;
  durationMs: number;
  mode: RunOptions['mode'];
  fs: RunOptions['fs'];
  seed: number;
  command: string;
  /** Where the trials ran: the host kernel, or the microVM's. */
  kernel: { release: string; inVm: boolean };
  trials: TrialRecord[];
  rows: SummaryRow[];
  verdict: RowVerdict;
}

/** Exit status of a finished run: 0 held everywhere, 1 violated (or a crash shown not to be real). */
export function exitCodeOf(verdict: RowVerdict): 0 | 1 {
  return verdict === 'held' ? 0 : 1;
}

/** Assemble the results of a run from its trial records. */
export function buildResults(fields: Omit<RunResults, 'format' | 'rows' | 'verdict'>): RunResults {
  const rows = summaryRows(fields.trials);
  return { format: 'powercut-crashtest-v1', ...fields, rows, verdict: rows.length === 0 ? 'held' : runVerdict(rows) };
}
