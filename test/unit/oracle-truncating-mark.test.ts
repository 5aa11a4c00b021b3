import { describe, expect, it } from 'vitest';
import { historyAtCrash, historyAtPublishedMarks, judgeCrash } from '../../src/oracle/index.js';
import type { WorkloadEvent } from '../../src/workload/events.js';

// A started truncate excuses the loss of the entries below it. In a crash state from before the
// truncate began it must not: there, entries 1-7 were acknowledged durable and nothing could
// remove them. Recordings that mark each truncate when it starts (truncatingMarked) tell the two
// states apart; older ones keep the truncate whole, which excuses the loss in both.

const d = (n: number) => n.toString(16).padStart(64, '0');
const seqs = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
const history: WorkloadEvent[] = [
  { type: 'started', strategy: 'fdatasync', groupCommit: false, periodMs: null, pid: 1 },
  ...seqs.flatMap((seq): WorkloadEvent[] => [
    { type: 'appended', seq, digest: d(seq), size: 10 },
    { type: 'acked', seq },
  ]),
  { type: 'truncating', beforeSeq: 8 },
];
// What recovery returned in the state: 1-7 gone (the bug), 8-10 there.
const recovered = [8, 9, 10].map((seq) => ({ seq, digest: d(seq) }));

describe('a started truncate counts only in states after it began', () => {
  for (const [name, cutAt] of [
    ['native publish marks', historyAtPublishedMarks],
    ['JS marks by position', historyAtCrash],
  ] as const) {
    it(`${name}: before its truncating mark the loss of acknowledged entries is a violation`, () => {
      const v = judgeCrash({ history: cutAt(history, ['ack-10'], { truncatingMarked: true }), recovered });
      expect(v.status).toBe('violated');
      expect(v.loss.lostBeyondContract).toBe(7);
    });

    it(`${name}: once its mark is visible the truncate excuses the entries below it`, () => {
      expect(judgeCrash({ history: cutAt(history, ['ack-10', 'truncating-8'], { truncatingMarked: true }), recovered }).status).toBe('held');
    });

    it(`${name}: a recording without truncating marks keeps the truncate whole (held either way)`, () => {
      expect(judgeCrash({ history: cutAt(history, ['ack-10']), recovered }).status).toBe('held');
    });
  }
});
