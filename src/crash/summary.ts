import { summariseTrials } from '../oracle/index.js';
import type { TargetTrialOutcome, WalTrialOutcome } from './outcome.js';
import { strategyLabel } from '../strategy/index.js';

// The summary of a run: one row per strategy (and per scenario when several ran), and the run's
// overall verdict. A weak strategy (none, periodic) that never lost anything means the power cut
// did not cut anything, which makes every other row meaningless too: that is its own verdict.

/** What the summary reads of a trial's outcome. */
type WalInput = Pick<WalTrialOutcome, 'strategy' | 'groupCommit' | 'scenario' | 'status' | 'verdict'> & { target?: undefined };
type TargetInput = Pick<TargetTrialOutcome, 'target' | 'scenario' | 'status'>;
type SummaryInput = WalInput | TargetInput;

// 'fs-failed': the WAL held, but the filesystem lost what it had made durable (fs-failure.ts).
/** 'error': nothing was violated, but some trials could not be judged (a recording failed). */
export type RowVerdict = 'held' | 'violated' | 'fs-failed' | 'crash-not-real' | 'error';

export interface SummaryRow {
  strategy: string;
  scenario: string;
  trials: number;
  appended: number;
  acked: number;
  recovered: number;
  ackedButLost: number;
  lostBeyondContract: number;
  trialsWithLoss: number;
  violatedTrials: number;
  /** Trials whose loss was the filesystem's (fsck repaired after the cut). */
  fsFailedTrials: number;
  verdict: RowVerdict;
  /** Target rows: trials whose check failed (a violation unless the contract allows it), phantoms, loss the contract allows. */
  damagedTrials?: number;
  phantoms?: number;
  allowedLoss?: number;
}

function row(lines: readonly SummaryInput[], scenario: string): SummaryRow {
  const targets = lines.filter((l): l is TargetInput => l.target !== undefined);
  if (targets.length > 0) return targetRow(targets, scenario);
  const s = summariseTrials(lines.filter((l): l is WalInput => l.target === undefined).map((l) => l.verdict));
  // A trial can be violated without a violated check (the WAL could not be opened at all).
  const violatedTrials = lines.filter((l) => l.status === 'violated').length;
  const fsFailedTrials = lines.filter((l) => l.status === 'fs-failed').length;
  const verdict: RowVerdict = violatedTrials > 0 ? 'violated' : fsFailedTrials > 0 ? 'fs-failed' : s.crashReality === 'not-shown' ? 'crash-not-real' : 'held';
  return {
    strategy: strategyLabel(s.strategy, s.groupCommit),
    scenario,
    trials: s.trials,
    appended: s.appended,
    acked: s.acked,
    recovered: s.recovered,
    ackedButLost: s.ackedButLost,
    lostBeyondContract: s.lostBeyondContract,
    trialsWithLoss: s.trialsWithLoss,
    violatedTrials,
    fsFailedTrials,
    verdict,
  };
}

// A target's row (issue 14): its loss, damage and phantoms over the trials of one setting. A weak
// setting that lost nothing is not a sign of an unreal crash here: a program may write back early.
function targetRow(lines: readonly TargetInput[], scenario: string): SummaryRow {
  const sum = (pick: (l: TargetInput) => number) => lines.reduce((n, l) => n + pick(l), 0);
  const first = lines[0] as TargetInput;
  const violatedTrials = lines.filter((l) => l.status === 'violated').length;
  return {
    strategy: `${first.target.name} ${first.target.setting}`,
    scenario,
    trials: lines.length,
    appended: sum((l) => l.target.verdict.loss.written),
    acked: sum((l) => l.target.verdict.loss.acked),
    recovered: sum((l) => l.target.verdict.loss.survived),
    ackedButLost: sum((l) => l.target.verdict.loss.ackedButLost),
    lostBeyondContract: sum((l) => l.target.verdict.loss.lostBeyondContract),
    trialsWithLoss: lines.filter((l) => l.target.verdict.loss.ackedButLost > 0).length,
    violatedTrials,
    fsFailedTrials: 0,
    verdict: violatedTrials > 0 ? 'violated' : 'held',
    damagedTrials: lines.filter((l) => l.target.verdict.corruption !== null).length,
    phantoms: sum((l) => l.target.verdict.loss.phantoms),
    allowedLoss: sum((l) => l.target.verdict.loss.allowedLoss),
  };
}

/** Rows per strategy: a per-scenario breakdown (when several scenarios ran), then the total. */
export function summaryRows(lines: readonly SummaryInput[]): SummaryRow[] {
  const byStrategy = new Map<string, SummaryInput[]>();
  for (const l of lines) {
    const key = l.target === undefined ? strategyLabel(l.strategy, l.groupCommit) : `${l.target.name} ${l.target.setting}`;
    byStrategy.set(key, [...(byStrategy.get(key) ?? []), l]);
  }
  const rows: SummaryRow[] = [];
  for (const group of byStrategy.values()) {
    const scenarios = [...new Set(group.map((l) => l.scenario))];
    if (scenarios.length > 1) {
      for (const scenario of scenarios)
        rows.push(
          row(
            group.filter((l) => l.scenario === scenario),
            scenario,
          ),
        );
      // Crash reality is a property of the strategy, not of one scenario: judged on the total.
      rows.push(row(group, 'all'));
    } else {
      rows.push(row(group, scenarios[0] ?? '-'));
    }
  }
  return rows;
}

/** The run's verdict: any violated trial wins; then a weak strategy that never lost data. */
export function runVerdict(rows: readonly SummaryRow[]): RowVerdict {
  const withTotal = new Set(rows.filter((r) => r.scenario === 'all').map((r) => r.strategy));
  const totals = rows.filter((r) => r.scenario === 'all' || !withTotal.has(r.strategy));
  if (rows.some((r) => r.verdict === 'violated')) return 'violated';
  if (rows.some((r) => r.verdict === 'fs-failed')) return 'fs-failed';
  if (totals.some((r) => r.verdict === 'crash-not-real')) return 'crash-not-real';
  return 'held';
}

const HEADER = ['strategy', 'scenario', 'trials', 'appended', 'acknowledged', 'recovered', 'acked-but-lost', 'beyond contract', 'trials w/ loss', 'verdict'];

/** The summary table as fixed-width text. */
export function formatSummaryTable(rows: readonly SummaryRow[]): string {
  const cells = rows.map((r) => [
    r.strategy,
    r.scenario,
    String(r.trials),
    String(r.appended),
    String(r.acked),
    String(r.recovered),
    String(r.ackedButLost),
    String(r.lostBeyondContract),
    String(r.trialsWithLoss),
    (r.verdict === 'violated'
      ? `VIOLATED (${r.violatedTrials})`
      : r.verdict === 'fs-failed'
        ? `FILESYSTEM FAILED (${r.fsFailedTrials})`
        : r.verdict === 'crash-not-real'
          ? 'CRASH NOT REAL'
          : 'held') + (r.damagedTrials ? ` (damaged in ${r.damagedTrials})` : ''),
  ]);
  const widths = HEADER.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  // Names and the verdict read left to right; numbers line up on the right.
  const align = (text: string, i: number) => (i < 2 || i === HEADER.length - 1 ? text.padEnd(widths[i] ?? 0) : text.padStart(widths[i] ?? 0));
  const line = (c: readonly string[]) => c.map(align).join('  ').trimEnd();
  return [line(HEADER), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.map(line)].join('\n');
}
