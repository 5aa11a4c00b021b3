import type { RecordingMeta } from '../record/session.js';

// What a recording's check means against what the recording is for. Most recordings must hold in
// every crash state; a recording made to be caught (meta.expected, e.g. the writer that runs none
// and claims fsync) must be caught. Either surprise is a failure: a violation of a recording that
// must hold is a WAL bug, and a recording meant to be caught that holds shows a check that lost
// its power (which a plain "held" would hide).

export type ExpectedOutcome = { status: 'held' } | { status: 'caught-as-expected'; why: string } | { status: 'violated' } | { status: 'missed'; why: string };

/** Judge a recording's check (`violated`: any state violated) against what its meta expects. */
export function againstExpectation(meta: Pick<RecordingMeta, 'expected'>, violated: boolean): ExpectedOutcome {
  const expected = meta.expected;
  if (expected === undefined) return violated ? { status: 'violated' } : { status: 'held' };
  return violated ? { status: 'caught-as-expected', why: expected.why } : { status: 'missed', why: expected.why };
}

/** Whether the outcome is what a correct tree and working checks give. */
export function asExpected(outcome: ExpectedOutcome): boolean {
  return outcome.status === 'held' || outcome.status === 'caught-as-expected';
}
