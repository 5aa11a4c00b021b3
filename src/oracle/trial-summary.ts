import type { Strategy } from '../strategy/index.js';
import { WEAK_STRATEGIES } from '../strategy/index.js';
import type { CrashVerdict } from './verdict.js';

/** Totals over the trials of one strategy: one row of crashtest's summary table. */
export interface TrialSummary {
  strategy: Strategy;
  groupCommit: boolean;
  trials: number;
  appended: number;
  acked: number;
  recovered: number;
  ackedButLost: number;
  lostBeyondContract: number;
  /** Trials that lost at least one appended entry. */
  trialsWithLoss: number;
  violatedTrials: number;
  status: 'held' | 'violated';
  /**
   * Whether the trials showed the crash was real. A strategy that promises little (none,
   * periodic) must lose something in some trial, or the "power cut" did not cut anything.
   * 'not-applicable' for strategies whose correct behaviour is to lose nothing acknowledged.
   */
  crashReality: 'shown' | 'not-shown' | 'not-applicable';
}

/** Sum the verdicts of one strategy's trials (all verdicts must share strategy and group commit). */
export function summariseTrials(verdicts: readonly CrashVerdict[]): TrialSummary {
  const first = verdicts[0];
  if (first === undefined) throw new Error('summariseTrials needs at least one verdict');
  const mixed = verdicts.find((v) => v.strategy !== first.strategy || v.groupCommit !== first.groupCommit);
  if (mixed !== undefined) throw new Error(`summariseTrials got ${first.strategy} and ${mixed.strategy} verdicts: summarise one strategy at a time`);
  const sum = (pick: (v: CrashVerdict) => number): number => verdicts.reduce((total, v) => total + pick(v), 0);
  const trialsWithLoss = verdicts.filter((v) => v.loss.lost > 0).length;
  const violatedTrials = verdicts.filter((v) => v.status === 'violated').length;
  const weakPromise = WEAK_STRATEGIES.includes(first.strategy);
  return {
    strategy: first.strategy,
    groupCommit: first.groupCommit,
    trials: verdicts.length,
    appended: sum((v) => v.loss.appended),
    acked: sum((v) => v.loss.acked),
    recovered: sum((v) => v.loss.recovered),
    ackedButLost: sum((v) => v.loss.ackedButLost),
    lostBeyondContract: sum((v) => v.loss.lostBeyondContract),
    trialsWithLoss,
    violatedTrials,
    status: violatedTrials === 0 ? 'held' : 'violated',
    crashReality: !weakPromise ? 'not-applicable' : trialsWithLoss > 0 ? 'shown' : 'not-shown',
  };
}
