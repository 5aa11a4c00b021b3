import type { CrashMode } from '../options.js';
import type { RowVerdict } from '../summary.js';
import { strategyLabel } from '../../strategy/index.js';
import type { CleanRun, Plant } from './plants.js';

// What the self-test found, judged and printed: pure functions from the outcome of each build's
// default run (written by job-main.ts) to a row per plant and per clean run, the table, the exit
// status, and the report CI sums with the vitest suites (scripts/test-summary.mjs).

/** One check of a build's default run, as the self-test keeps it. */
export interface CheckSummary {
  check: CrashMode;
  verdict: RowVerdict;
  trials: number;
  durationMs: number;
  /** The first violated trial: which scenario showed the bug, and why. */
  firstViolated: { strategy: string; scenario: string; index: number; reasons: string[] } | null;
  /** Trials of this check that could not be judged, and why (a failed recording). */
  errors: string[];
}

/** What one build's default run ended with (job-main.ts writes it, the runner reads it). */
export type JobOutcome =
  | { status: 'finished'; verdict: RowVerdict; checks: CheckSummary[]; notRun: CrashMode[]; durationMs: number }
  /** No verdict: the harness could not run the checks (the VM failed, a build is missing, ...). */
  | { status: 'error'; message: string; durationMs: number };

export type PlantRow = {
  kind: 'plant';
  plant: Plant;
  durationMs: number;
} & (
  | { status: 'caught'; by: CheckSummary; notRun: CrashMode[]; checks: CheckSummary[] }
  | { status: 'missed'; checks: CheckSummary[]; verdict: RowVerdict }
  | { status: 'error'; message: string }
);

export type CleanRow = {
  kind: 'clean';
  run: CleanRun;
  durationMs: number;
} & ({ status: 'held'; checks: CheckSummary[] } | { status: 'not-held'; verdict: RowVerdict; checks: CheckSummary[] } | { status: 'error'; message: string });

export type SelfTestRow = PlantRow | CleanRow;

/** Why a run without a violation has no verdict: its trials that could not be judged. */
function unjudged(checks: readonly CheckSummary[]): string {
  const errors = checks.flatMap((c) => c.errors.map((e) => `${NAMES[c.check]} ${e}`));
  return `${errors.length} trial(s) could not be judged, nothing was violated: ${errors.join('; ')}`;
}

/** A plant is caught when one of its checks was violated; the first such check caught it. */
export function plantRow(plant: Plant, outcome: JobOutcome): PlantRow {
  if (outcome.status === 'error') return { kind: 'plant', plant, durationMs: outcome.durationMs, status: 'error', message: outcome.message };
  const by = outcome.checks.find((c) => c.verdict === 'violated');
  if (by !== undefined) return { kind: 'plant', plant, durationMs: outcome.durationMs, status: 'caught', by, notRun: outcome.notRun, checks: outcome.checks };
  if (outcome.verdict === 'error') return { kind: 'plant', plant, durationMs: outcome.durationMs, status: 'error', message: unjudged(outcome.checks) };
  // crash-not-real (periodic never lost anything) is no catch: nothing showed the bug.
  return { kind: 'plant', plant, durationMs: outcome.durationMs, status: 'missed', checks: outcome.checks, verdict: outcome.verdict };
}

/** The clean build holds only on 'held': crash-not-real fails it, as it fails `crashtest`. */
export function cleanRow(run: CleanRun, outcome: JobOutcome): CleanRow {
  if (outcome.status === 'error') return { kind: 'clean', run, durationMs: outcome.durationMs, status: 'error', message: outcome.message };
  if (outcome.verdict === 'held') return { kind: 'clean', run, durationMs: outcome.durationMs, status: 'held', checks: outcome.checks };
  if (outcome.verdict === 'error') return { kind: 'clean', run, durationMs: outcome.durationMs, status: 'error', message: unjudged(outcome.checks) };
  return { kind: 'clean', run, durationMs: outcome.durationMs, status: 'not-held', verdict: outcome.verdict, checks: outcome.checks };
}

/** 0: every plant caught and the clean build held; 1: a plant missed or the clean build did not hold; 2: no verdict for some row (and no failure elsewhere). */
export function selfTestExitCode(rows: readonly SelfTestRow[]): 0 | 1 | 2 {
  if (rows.length === 0) return 2;
  if (rows.some((r) => r.status === 'missed' || r.status === 'not-held')) return 1;
  if (rows.some((r) => r.status === 'error')) return 2;
  return 0;
}

const NAMES: Record<CrashMode, string> = { flakey: 'flakey', 'log-writes': 'log-writes' };

function minutes(ms: number): string {
  return `${(ms / 60_000).toFixed(1)} min`;
}

function checksText(checks: readonly CheckSummary[]): string {
  return checks.map((c) => `${NAMES[c.check]} ${c.verdict} (${c.trials} trials, ${minutes(c.durationMs)})`).join(', ');
}

/** The "by" column: which check caught it, the scenario of its first violated trial, what was skipped. */
function verdictText(row: SelfTestRow): string {
  switch (row.status) {
    case 'caught': {
      const skipped = row.notRun.length > 0 ? `; ${row.notRun.map((c) => NAMES[c]).join(', ')} not needed` : '';
      const v = row.by.firstViolated;
      return `caught by ${NAMES[row.by.check]}${v ? ` (first: ${v.scenario}, trial ${v.index})` : ''}${skipped}`;
    }
    case 'missed':
      return `MISSED: ${checksText(row.checks)}`;
    case 'held':
      return `held: ${checksText(row.checks)}`;
    case 'not-held': {
      const v = row.checks.find((c) => c.firstViolated !== null)?.firstViolated;
      return `NOT HELD (${row.verdict}): ${checksText(row.checks)}${v ? `; first ${v.strategy} ${v.scenario} trial ${v.index}: ${v.reasons.join('; ')}` : ''}`;
    }
    case 'error':
      return `ERROR (no verdict): ${row.message}`;
  }
}

/** The table the self-test prints: one row per plant, then the clean runs; the result column last (it is long). */
export function formatSelfTestTable(rows: readonly SelfTestRow[]): string {
  const cells = rows.map((r) =>
    r.kind === 'plant'
      ? [r.plant.name, r.plant.class, strategyLabel(r.plant.strategy, r.plant.groupCommit), minutes(r.durationMs), verdictText(r)]
      : ['clean build', 'must hold', r.run.strategies.map((s) => strategyLabel(s, r.run.groupCommit)).join(','), minutes(r.durationMs), verdictText(r)],
  );
  const all = [['build', 'class', 'strategy', 'wall', 'result'], ...cells];
  const widths = [0, 1, 2, 3].map((i) => Math.max(...all.map((c) => (c[i] ?? '').length)));
  return all.map((c) => c.map((v, i) => (i < 4 ? (i === 3 ? v.padStart(widths[i] ?? 0) : v.padEnd(widths[i] ?? 0)) : v)).join('  ')).join('\n');
}

/** The closing line: how many plants were caught and whether the clean build held. */
export function formatSelfTestVerdict(rows: readonly SelfTestRow[], wallMs: number): string {
  const plants = rows.filter((r) => r.kind === 'plant');
  const clean = rows.filter((r) => r.kind === 'clean');
  const caught = plants.filter((r) => r.status === 'caught').length;
  const held = clean.every((r) => r.status === 'held');
  const code = selfTestExitCode(rows);
  const word = code === 0 ? 'PASSED' : code === 1 ? 'FAILED' : 'NO VERDICT';
  return `self-test ${word}: ${caught} of ${plants.length} planted bugs caught, clean build ${held ? 'held' : 'did NOT hold'} (${minutes(wallMs)} wall)`;
}

/**
 * The self-test in CI's closing line: each row is a test (a plant passes when caught, a clean run
 * when it held), as the counters of a vitest JSON report (scripts/test-summary.mjs sums
 * numPassedTests, numFailedTests, numPendingTests, numTodoTests), with the rows beside them for
 * whoever reads the file.
 */
export function ciReport(rows: readonly SelfTestRow[], wallMs: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  const code = selfTestExitCode(rows);
  const passed = rows.filter((r) => r.status === 'caught' || r.status === 'held').length;
  return {
    // No rows is no verdict: one failure, so an empty self-test cannot read as a pass.
    numPassedTests: passed,
    numFailedTests: rows.length === 0 ? 1 : rows.length - passed,
    numPendingTests: 0,
    numTodoTests: 0,
    success: code === 0,
    selfTest: { exitCode: code, verdict: formatSelfTestVerdict(rows, wallMs), wallMs, ...extra, rows },
  };
}
