import type { HistoryFacts } from './history.js';
import { EVIDENCE_LIMIT, type CheckResult } from './verdict-types.js';

export type AcknowledgementVerdict = CheckResult<
  Record<never, never>,
  { ackedAfterSyncFailure: { first: HistoryFacts['ackedAfterSyncFailure'][number][]; count: number } }
>;

// After a failed sync the kernel may have dropped the dirty pages and marked them clean, so a
// retried sync "succeeds" without the data (fsyncgate, Rebello et al. ATC'20). A WAL must never
// acknowledge anything once it has reported a sync failure; this check holds it to that.
export function checkAcknowledgement(facts: HistoryFacts): AcknowledgementVerdict {
  const after = facts.ackedAfterSyncFailure;
  if (after.length === 0) return { status: 'held' };
  return { status: 'violated', ackedAfterSyncFailure: { first: after.slice(0, EVIDENCE_LIMIT), count: after.length } };
}
