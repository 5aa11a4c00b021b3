import { markLabel, type WorkloadEvent } from '../workload/events.js';

// The history as it stood at a crash state of a dm-log-writes recording. The writer marks the log
// right after writing each promise-making event (acked, durable, truncated; see markLabel), so a
// visible mark proves that its event, and every event the writer wrote before it, happened before
// the power went. Promise events after the last visible mark may or may not have happened; they are
// dropped, which is safe because the oracle's requirements only grow with promises. Events that
// make no promise (started, appended, failed) are kept whole: an `appended` the disk never saw
// requires nothing. A started truncate (truncating) is the other way round, it excuses: below.

// A started truncate excuses the loss of entries below its floor, so it must not count in a state
// from before it began: a floor from a truncate that began after the crash would excuse any loss
// of the entries below it, acknowledged or not, in every earlier state. Recordings whose
// truncates are marked when they start (`truncating-<before>`, RecordingMeta.truncatingMarked)
// keep a `truncating` event only when its mark is visible; older recordings cannot tell, and keep
// it whole (the reading they always had).

export interface CutOptions {
  /** The recording marks each truncate when it starts (RecordingMeta.truncatingMarked). */
  truncatingMarked?: boolean;
}

/** The mark label an event is judged by in a recording cut with these options (null: kept whole). */
function labelIn(event: WorkloadEvent, options: CutOptions): string | null {
  return event.type === 'truncating' && options.truncatingMarked !== true ? null : markLabel(event);
}

/** The history cut to the promises made before a crash whose visible mark labels are given. */
export function historyAtCrash(history: readonly WorkloadEvent[], visibleMarks: Iterable<string>, options: CutOptions = {}): WorkloadEvent[] {
  const visible = new Set(visibleMarks);
  let cut = -1;
  history.forEach((event, index) => {
    const label = labelIn(event, options);
    if (label !== null && visible.has(label)) cut = index;
  });
  return history.filter((event, index) => index <= cut || labelIn(event, options) === null);
}

// Recordings whose acks and watermarks are marked by the native core where it publishes them
// (WAL option publishMarks): `ack-N` says every seq <= N met its acknowledgement condition,
// `durable-N` that every seq <= N is durable, and the mark is in the log before any caller could
// learn of the promise. The writer's events cannot be cut by position then: the JS side learns of
// watermarks late and coalesced (one `durable 4` for two published batches) and may report it
// before the acks of earlier batches, so "everything written before the last visible event" would
// hold a state to promises whose marks it does not show. Each promise event is kept exactly when
// a visible mark covers it. Events still marked from JS (truncating-<before>, truncated-<before>)
// keep the position rule's meaning for themselves: kept when their own mark is visible.

/** The history cut to the promises covered by the visible native publish marks (publishMarks recordings). */
export function historyAtPublishedMarks(history: readonly WorkloadEvent[], visibleMarks: Iterable<string>, options: CutOptions = {}): WorkloadEvent[] {
  let acked = -1;
  let durable = -1;
  const others = new Set<string>();
  for (const label of visibleMarks) {
    const m = /^(ack|durable)-(\d+)$/.exec(label);
    if (m === null) others.add(label);
    else if (m[1] === 'ack') acked = Math.max(acked, Number(m[2]));
    else durable = Math.max(durable, Number(m[2]));
  }
  return history.filter((event) => {
    if (event.type === 'acked') return event.seq <= acked;
    if (event.type === 'durable') return event.seq <= durable;
    const label = labelIn(event, options);
    return label === null || others.has(label);
  });
}
