import { describe, expect, it } from 'vitest';
import { historyAtCrash, historyAtPublishedMarks, judgeCrash } from '../../src/oracle/index.js';
import type { WorkloadEvent } from '../../src/workload/events.js';

const d = (n: number) => n.toString(16).padStart(64, '0');
// Group commit, 4 writers: batch {1} is published (native marks ack-1, durable-1), then batch
// {2,3,4} (ack-4, durable-4); JS learns of the watermark once, coalesced, and reports `durable 4`
// before the acks of batch {1}. Seen in a real recording (fdatasync+group, seed 4).
const history: WorkloadEvent[] = [
  { type: 'started', strategy: 'fdatasync', groupCommit: true, periodMs: null, pid: 1 },
  ...[1, 2, 3, 4].map((seq): WorkloadEvent => ({ type: 'appended', seq, digest: d(seq), size: 10 })),
  { type: 'durable', seq: 4 },
  ...[1, 2, 3, 4].map((seq): WorkloadEvent => ({ type: 'acked', seq })),
];

describe('history at a crash state under native publish marks', () => {
  it('keeps exactly the promises a visible mark covers, whatever the event order', () => {
    const cut = historyAtPublishedMarks(history, ['mkfs', 'ack-1', 'durable-1']);
    expect(cut.filter((e) => e.type === 'acked').map((e) => (e.type === 'acked' ? e.seq : 0))).toEqual([1]);
    expect(cut.some((e) => e.type === 'durable')).toBe(false);
    expect(judgeCrash({ history: cut, recovered: [{ seq: 1, digest: d(1) }] }).status).toBe('held');
  });

  it('the position rule would hold that state to durable 4 (the false violation it had)', () => {
    const byPosition = historyAtCrash(history, ['mkfs', 'ack-1', 'durable-1']);
    expect(judgeCrash({ history: byPosition, recovered: [{ seq: 1, digest: d(1) }] }).status).toBe('violated');
  });

  it('a later mark covers every lower seq; a promise made before its data is durable is still held to', () => {
    const cut = historyAtPublishedMarks(history, ['ack-4', 'durable-4']);
    expect(cut.filter((e) => e.type === 'acked')).toHaveLength(4);
    const v = judgeCrash({ history: cut, recovered: [{ seq: 1, digest: d(1) }] });
    expect(v.status).toBe('violated');
    expect(v.loss.lostBeyondContract).toBe(3);
  });

  it('JS-marked events (truncated) are kept when their own mark is visible', () => {
    const h: WorkloadEvent[] = [...history, { type: 'truncating', beforeSeq: 3 }, { type: 'truncated', beforeSeq: 3 }];
    expect(historyAtPublishedMarks(h, ['ack-4']).some((e) => e.type === 'truncated')).toBe(false);
    expect(historyAtPublishedMarks(h, ['ack-4', 'truncated-3']).some((e) => e.type === 'truncated')).toBe(true);
    expect(historyAtPublishedMarks(h, []).some((e) => e.type === 'truncating')).toBe(true);
  });
});
