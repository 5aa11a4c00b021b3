import type { WorkloadEvent } from '../workload/events.js';
import type { RecoveredDigest } from './recovered.js';

// The history a WAL's second life is judged against: recover after a crash, append more, crash (or
// reopen) again. What the first recovery returned was read back from the device after the crash,
// so the user has been shown it: a later life may lose none of it (short of a truncate of its
// own). It enters as appended entries under a durable watermark at the last recovered seq. The
// first life's other events are left out: they were judged at the first recovery, and the seqs
// it appended but did not recover are appended anew, with other payloads, by the second life.
// The second life's own events follow verbatim, its `started` first, so its strategy (which may
// differ from the first life's) decides what its acknowledgements promise.

/** History of a second life: the first recovery as durable entries, then the second life's events. */
export function secondLifeHistory(first: readonly WorkloadEvent[], recovered: readonly RecoveredDigest[], second: readonly WorkloadEvent[]): WorkloadEvent[] {
  const sizes = new Map<number, number>();
  for (const e of first) if (e.type === 'appended') sizes.set(e.seq, e.size);
  const started = second.find((e) => e.type === 'started') ?? first.find((e) => e.type === 'started');
  const out: WorkloadEvent[] = started === undefined ? [] : [started];
  for (const r of recovered) out.push({ type: 'appended', seq: r.seq, digest: r.digest, size: sizes.get(r.seq) ?? 0 });
  const last = recovered[recovered.length - 1];
  if (last !== undefined) out.push({ type: 'durable', seq: last.seq });
  for (const e of second) if (e !== started) out.push(e);
  return out;
}
