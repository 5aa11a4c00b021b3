import { judgeCrash, secondLifeHistory, type CrashVerdict, type RecoveredDigest } from '../../oracle/index.js';
import { parseEvents, type WorkloadEvent } from '../../workload/events.js';
import { SYNC_FAILURE_CODES } from '../../strategy/index.js';

// How a flakey trial's lives are judged, in one place for the trial and for `crashtest recheck`
// (which must judge a saved two-life trial the way the trial did, not as one long history).

/** What one recovery gave back: the entries, or why the WAL could not be opened. */
export type LifeRecovery = { status: 'recovered'; entries: RecoveredDigest[] } | { status: 'failed'; code: string; message: string };

/** A trial's first life, when the scenario gave the WAL a second one: its events and its recovery. */
export interface FirstLife {
  rawEvents: string;
  recovery: LifeRecovery;
}

export interface JudgedLives {
  verdict: CrashVerdict;
  history: WorkloadEvent[];
  /** The recovery that failed (the WAL gave nothing back), or null. */
  failedRecovery: { code: string; message: string } | null;
  /** '' for a one-life trial; which life a reason is about otherwise. */
  life: string;
}

// One life: the history against the final recovery. Two lives: the first life against its own
// recovery (a violation there is reported as the first life's), then the second life against the
// final recovery, with what the first recovery returned required to survive (secondLifeHistory).
// `secondRaw` is null when there was no second life to judge (its first recovery failed).
export function judgeLives(firstLife: FirstLife | undefined, secondRaw: string | null, final: LifeRecovery): JudgedLives {
  const judge = (history: WorkloadEvent[], recovery: LifeRecovery) =>
    judgeCrash({ history, recovered: recovery.status === 'recovered' ? recovery.entries : [], syncFailureCodes: SYNC_FAILURE_CODES });
  const failed = (r: LifeRecovery) => (r.status === 'failed' ? { code: r.code, message: r.message } : null);
  if (firstLife === undefined) {
    const history = parseEvents(secondRaw ?? '').events;
    return { verdict: judge(history, final), history, failedRecovery: failed(final), life: '' };
  }
  const first = parseEvents(firstLife.rawEvents).events;
  const firstVerdict = judge(first, firstLife.recovery);
  if (secondRaw === null || firstVerdict.status === 'violated' || firstLife.recovery.status === 'failed') {
    return { verdict: firstVerdict, history: first, failedRecovery: failed(firstLife.recovery), life: 'first life: ' };
  }
  const history = secondLifeHistory(first, firstLife.recovery.entries, parseEvents(secondRaw).events);
  return { verdict: judge(history, final), history, failedRecovery: failed(final), life: 'second life: ' };
}

/** The lives as an artifact keeps them (first-life.json), so recheck can judge them apart. */
export interface SavedLives {
  first: FirstLife;
  /** Whether the second life's events (history.ndjson after the first life's) were judged. */
  secondJudged: boolean;
}

/** Narrow a recovery to what judging needs (the artifact keeps no stats). */
export function lifeRecovery(r: LifeRecovery): LifeRecovery {
  return r.status === 'recovered' ? { status: 'recovered', entries: r.entries } : { status: 'failed', code: r.code, message: r.message };
}
