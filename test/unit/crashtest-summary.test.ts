import { describe, expect, it } from 'vitest';
import { formatSummaryTable, runVerdict, summaryRows } from '../../src/crash/summary.js';
import type { WalTrialOutcome as TrialOutcome } from '../../src/crash/outcome.js';
import { exitCodeOf, withErrors } from '../../src/crash/results.js';
import { judgeCrash, type RecoveredEntry } from '../../src/oracle/index.js';
import { payloadDigest, type Strategy, type WorkloadEvent } from '../../src/workload/events.js';

// Verdicts come from the real oracle over small synthetic histories: the summary must count what
// the oracle found, and turn "a weak strategy never lost anything" into its own verdict.

function payload(seq: number): Buffer {
  return Buffer.from(`entry-${seq}`);
}

function history(strategy: Strategy, appended: number, acked: number, watermark?: number): WorkloadEvent[] {
  const events: WorkloadEvent[] = [{ type: 'started', strategy, groupCommit: false, periodMs: strategy === 'periodic' ? 100 : null, pid: 1 }];
  for (let seq = 1; seq <= appended; seq++) events.push({ type: 'appended', seq, digest: payloadDigest(payload(seq)), size: payload(seq).length });
  for (let seq = 1; seq <= acked; seq++) events.push({ type: 'acked', seq });
  if (watermark !== undefined) events.push({ type: 'durable', seq: watermark });
  return events;
}

function recovered(upTo: number): RecoveredEntry[] {
  return Array.from({ length: upTo }, (_, i) => ({ seq: i + 1, payload: payload(i + 1) }));
}

function line(
  strategy: Strategy,
  scenario: string,
  appended: number,
  acked: number,
  got: number,
  watermark?: number,
): Pick<TrialOutcome, 'strategy' | 'groupCommit' | 'scenario' | 'status' | 'verdict'> {
  const verdict = judgeCrash({ history: history(strategy, appended, acked, watermark), recovered: recovered(got) });
  return { strategy, groupCommit: false, scenario, status: verdict.status, verdict };
}

describe('crashtest summary', () => {
  it('sums one strategy and holds when nothing acknowledged was lost', () => {
    const rows = summaryRows([line('fdatasync', 'random-cut', 10, 8, 9), line('fdatasync', 'random-cut', 5, 5, 5)]);
    expect(rows).toEqual([
      expect.objectContaining({
        strategy: 'fdatasync',
        scenario: 'random-cut',
        trials: 2,
        appended: 15,
        acked: 13,
        recovered: 14,
        ackedButLost: 0,
        lostBeyondContract: 0,
        trialsWithLoss: 1,
        verdict: 'held',
      }),
    ]);
    expect(runVerdict(rows)).toBe('held');
  });

  it('is violated when an acknowledged entry of a durable strategy is gone', () => {
    const rows = summaryRows([line('fsync', 'random-cut', 10, 8, 6)]);
    expect(rows[0]).toMatchObject({ ackedButLost: 2, lostBeyondContract: 2, violatedTrials: 1, verdict: 'violated' });
    expect(runVerdict(rows)).toBe('violated');
  });

  it('says the crash was not real when none never lost anything, and held once it did', () => {
    expect(runVerdict(summaryRows([line('none', 'random-cut', 10, 10, 10), line('none', 'truncate', 4, 4, 4)]))).toBe('crash-not-real');
    expect(runVerdict(summaryRows([line('none', 'random-cut', 10, 10, 10), line('none', 'truncate', 4, 4, 1)]))).toBe('held');
  });

  it('judges periodic loss against its watermark', () => {
    // Lost 7..10 after watermark 6: inside the window.
    expect(summaryRows([line('periodic', 'random-cut', 10, 10, 6, 6)])[0]).toMatchObject({ verdict: 'held', ackedButLost: 4, lostBeyondContract: 0 });
    // Lost 5..10 with watermark 6: seq 5 and 6 were promised.
    expect(summaryRows([line('periodic', 'random-cut', 10, 10, 4, 6)])[0]).toMatchObject({ verdict: 'violated', lostBeyondContract: 2 });
  });

  it('breaks several scenarios down and adds a total row judged on all of them', () => {
    const rows = summaryRows([line('none', 'random-cut', 10, 10, 3), line('none', 'fsync-failure', 4, 4, 4), line('fsync', 'random-cut', 3, 3, 3)]);
    expect(rows.map((r) => `${r.strategy}/${r.scenario}/${r.verdict}`)).toEqual([
      'none/random-cut/held',
      'none/fsync-failure/crash-not-real',
      'none/all/held',
      'fsync/random-cut/held',
    ]);
    // A scenario that alone lost nothing does not make the strategy's crash unreal.
    expect(runVerdict(rows)).toBe('held');
  });

  it('prints every column and the verdict', () => {
    const table = formatSummaryTable(summaryRows([line('fsync', 'random-cut', 10, 8, 6), line('fdatasync', 'random-cut', 3, 3, 3)]));
    const [header, rule, first, second] = table.split('\n');
    for (const column of ['strategy', 'trials', 'appended', 'acknowledged', 'recovered', 'acked-but-lost', 'beyond contract', 'verdict'])
      expect(header).toContain(column);
    expect(rule).toMatch(/^-+( +-+)+$/);
    expect(first).toMatch(/^fsync +random-cut +1 +10 +8 +6 +2 +2 +1 +VIOLATED \(1\)$/);
    expect(second).toMatch(/held$/);
  });
});

describe('a run with trials that could not be judged', () => {
  it('is an error only when nothing was violated: a violation shown elsewhere stands', () => {
    expect(withErrors('held', 1)).toBe('error');
    expect(withErrors('held', 0)).toBe('held');
    expect(withErrors('violated', 2)).toBe('violated');
    expect(withErrors('crash-not-real', 1)).toBe('crash-not-real');
    expect(exitCodeOf('error')).toBe(2);
  });
});
