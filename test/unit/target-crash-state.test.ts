import { describe, expect, it } from 'vitest';
import type { CheckReport } from '../../src/oracle/target-verdict.js';
import type { Contract, TargetPromise } from '../../src/targets/contract.js';
import { ackMark, acksVisible, judgeTargetState, type TargetHistory } from '../../src/crash/target/recording.js';

// A crash state of a target recording (issue 14, log-writes mode) is judged against the
// acknowledgements whose marks it shows, and its survivors against every operation of the whole
// recording: hand-made histories and mark lists, no device.

const contract = (promise: TargetPromise): Contract => ({ promise, mayCorrupt: false, says: 'test', cite: 'test' });
const intact = (entries: [string, string][]): CheckReport => ({ status: 'intact', message: null, survivors: new Map(entries) });

// a=1, b=2 acknowledged; then b=3 announced and acknowledged; then c=4 announced only.
const history: TargetHistory = {
  intents: [
    { key: 'a', digest: '1' },
    { key: 'b', digest: '2' },
    { key: 'b', digest: '3' },
    { key: 'c', digest: '4' },
  ],
  acks: [
    { key: 'a', digest: '1', atMs: 100 },
    { key: 'b', digest: '2', atMs: 200 },
    { key: 'b', digest: '3', atMs: 900 },
  ],
};
const marks = (n: number) => ['mkfs', 'prepared', ...Array.from({ length: n }, (_, i) => ackMark(i))];

describe('acksVisible', () => {
  it('counts the acknowledgements up to the highest visible ack mark, ignoring other marks', () => {
    expect(acksVisible(['mkfs', 'prepared'])).toBe(0);
    expect(acksVisible(marks(3))).toBe(3);
    expect(acksVisible([...marks(2), 'end'])).toBe(2);
    expect(acksVisible(['ack-x', 'acked-1'])).toBe(0);
  });
});

describe('judgeTargetState', () => {
  it('requires only the acknowledgements whose marks are visible', () => {
    // Nothing survived: before any ack mark that is no loss at all; after one, a durable violation.
    expect(judgeTargetState(history, marks(0), contract({ kind: 'durable' }), intact([])).status).toBe('held');
    const v = judgeTargetState(history, marks(1), contract({ kind: 'durable' }), intact([]));
    expect(v.status).toBe('violated');
    expect(v.evidence.lostBeyondContract).toEqual(['a']);
  });

  it('a value written after the last visible mark is no phantom, and an older value of a visible ack is loss', () => {
    // ack-0 and ack-1 visible (a=1, b=2); b holds 3 (written later, reached the disk first): held.
    expect(
      judgeTargetState(
        history,
        marks(2),
        contract({ kind: 'durable' }),
        intact([
          ['a', '1'],
          ['b', '3'],
          ['c', '4'],
        ]),
      ).status,
    ).toBe('held');
    // All three visible: b must hold 3, it holds 2 (its older acknowledged value): lost.
    const v = judgeTargetState(
      history,
      marks(3),
      contract({ kind: 'durable' }),
      intact([
        ['a', '1'],
        ['b', '2'],
      ]),
    );
    expect(v.evidence.lostBeyondContract).toEqual(['b']);
  });

  it('a value no operation of the recording wrote is a phantom, whatever marks are visible', () => {
    const v = judgeTargetState(history, marks(0), contract({ kind: 'none' }), intact([['a', '9']]));
    expect(v.violated).toEqual(['phantom']);
  });

  it('weak promises count loss as allowed; last:N and window:MS count from the visible acknowledgements', () => {
    expect(judgeTargetState(history, marks(3), contract({ kind: 'none' }), intact([])).loss).toMatchObject({ allowedLoss: 2, lostBeyondContract: 0 });
    // last:1 with two visible: a is required, b=2 (the last visible) may be lost.
    const last = judgeTargetState(history, marks(2), contract({ kind: 'last', n: 1 }), intact([['a', '1']]));
    expect(last.status).toBe('held');
    expect(judgeTargetState(history, marks(2), contract({ kind: 'last', n: 1 }), intact([['b', '2']])).evidence.lostBeyondContract).toEqual(['a']);
    // window:500, cut at the last visible ack (900 ms): a (100) and b=2 (200) are required, b=3 (900) is not.
    const w = judgeTargetState(
      history,
      marks(3),
      contract({ kind: 'window', ms: 500 }),
      intact([
        ['a', '1'],
        ['b', '2'],
      ]),
    );
    expect(w.loss).toMatchObject({ lostBeyondContract: 0, allowedLoss: 1 });
  });
});
