// The facts about each durability strategy, in one place: which strategies sync before they
// acknowledge, what an acknowledgement promises, whether group commit applies, and which error
// codes mean a write or sync failed. The WAL validates against these, the oracle judges by them,
// the bench and the crash harness name and label strategies with them. Plain TypeScript: naming a
// strategy never loads the native addon. Adding a strategy means one entry in FACTS (plus its
// native code and a FORMAT/contract line); everything else derives from it.

/** What append() resolving means to the caller. */
export type AckPromise =
  /** durable when the promise resolves (fsync, fdatasync, dsync, direct, group commit over them) */
  | 'durable'
  /** in the page cache; durable once a published durable watermark covers it (periodic) */
  | 'watermark'
  /** in the page cache, never promised durable (none) */
  | 'none';

interface StrategyFacts {
  /** What an acknowledgement promises. */
  ack: AckPromise;
  /** The WAL makes the entry durable itself before acknowledging, so group commit can batch it. */
  syncsBeforeAck: boolean;
  /** One line of the contract, for help texts and reports. */
  contract: string;
}

const FACTS = {
  fsync: { ack: 'durable', syncsBeforeAck: true, contract: 'write + fsync before each acknowledgement' },
  fdatasync: { ack: 'durable', syncsBeforeAck: true, contract: 'write + fdatasync before each acknowledgement' },
  dsync: { ack: 'durable', syncsBeforeAck: true, contract: 'O_DSYNC writes: durable when write() returns' },
  direct: { ack: 'durable', syncsBeforeAck: true, contract: 'O_DIRECT writes + fdatasync (flushes the device cache)' },
  periodic: { ack: 'watermark', syncsBeforeAck: false, contract: 'fdatasync every N ms; durable once the published watermark covers it' },
  none: { ack: 'none', syncsBeforeAck: false, contract: 'never synced: durable only if the kernel wrote it back in time' },
} as const satisfies Record<string, StrategyFacts>;

export type Strategy = keyof typeof FACTS;

/** The strategies that sync before they acknowledge (group commit applies to these). */
export type SyncStrategy = { [K in Strategy]: (typeof FACTS)[K]['syncsBeforeAck'] extends true ? K : never }[Strategy];

export const STRATEGIES: readonly Strategy[] = Object.keys(FACTS) as Strategy[];

/** Strategies whose acknowledgement means durable; group commit applies to these only. */
export const SYNC_STRATEGIES: readonly SyncStrategy[] = STRATEGIES.filter((s): s is SyncStrategy => FACTS[s].syncsBeforeAck);

/** Strategies that promise less than durability at the acknowledgement (a crash may lose acked entries). */
export const WEAK_STRATEGIES: readonly Strategy[] = STRATEGIES.filter((s) => FACTS[s].ack !== 'durable');

/** The WAL's error codes that mean a write or sync failed (fsyncgate: the WAL fails from then on). */
export const SYNC_FAILURE_CODES: readonly string[] = ['WAL_IO', 'WAL_FAILED', 'WAL_NO_SPACE'];

export function isStrategy(value: unknown): value is Strategy {
  return typeof value === 'string' && Object.hasOwn(FACTS, value);
}

export function ackPromise(strategy: Strategy): AckPromise {
  return FACTS[strategy].ack;
}

export function contractOf(strategy: Strategy): string {
  return FACTS[strategy].contract;
}

/** Whether group commit can run over `strategy`. */
export function groupCommitApplies(strategy: Strategy): boolean {
  return FACTS[strategy].syncsBeforeAck;
}

/** The label a run uses for a strategy: `fdatasync+group` under group commit. */
export function strategyLabel(strategy: Strategy, groupCommit: boolean): string {
  return groupCommit ? `${strategy}+group` : strategy;
}

/**
 * The same label as a file or device name can carry it (`fdatasync-group`): image and dm names
 * allow letters, digits, `.`, `_` and `-` only, so the `+` of strategyLabel cannot go there.
 */
export function strategyFileLabel(strategy: Strategy, groupCommit: boolean): string {
  return groupCommit ? `${strategy}-group` : strategy;
}

/** Parse a command line's strategy list (`a,b,c` or `all`); the error names the choices. */
export function parseStrategyList(value: string): { ok: true; strategies: Strategy[] } | { ok: false; message: string } {
  if (value.trim() === 'all') return { ok: true, strategies: [...STRATEGIES] };
  const names = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  const bad = names.filter((n) => !isStrategy(n));
  if (names.length === 0 || bad.length > 0) {
    return { ok: false, message: `unknown strategy ${bad.join(', ') || '(none)'}; choose from ${STRATEGIES.join(', ')} (comma-separated) or all` };
  }
  return { ok: true, strategies: [...new Set(names as Strategy[])] };
}

/** Why group commit cannot run over some of `strategies`, or undefined when it can over all. */
export function groupCommitProblem(strategies: readonly Strategy[], what = 'group commit'): string | undefined {
  const weak = strategies.filter((s) => !groupCommitApplies(s));
  return weak.length === 0 ? undefined : `${what} applies to ${SYNC_STRATEGIES.join(', ')}, not ${weak.join(', ')}`;
}
