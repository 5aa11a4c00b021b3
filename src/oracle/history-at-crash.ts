import { markLabel, type WorkloadEvent } from '../workload/events.js';

// The history as it stood at a crash state of a dm-log-writes recording. The writer marks the log
// right after writing each promise-making event (acked, durable, truncated; see markLabel), so a
// visible mark proves that its event, and every event the writer wrote before it, happened before
// the power went. Promise events after the last visible mark may or may not have happened; they are
// dropped, which is safe because the oracle's requirements only grow with promises. Events that
// make no promise (started, appended, failed, truncating) are kept whole: an `appended` the disk
// never saw requires nothing, and a started truncate only excuses missing entries.

/** The history cut to the promises made before a crash whose visible mark labels are given. */
export function historyAtCrash(history: readonly WorkloadEvent[], visibleMarks: Iterable<string>): WorkloadEvent[] {
  const visible = new Set(visibleMarks);
  let cut = -1;
  history.forEach((event, index) => {
    const label = markLabel(event);
    if (label !== null && visible.has(label)) cut = index;
  });
  return history.filter((event, index) => index <= cut || markLabel(event) === null);
}
