import { describe, expect, it } from 'vitest';
import { judgeCrash } from '../../src/oracle/index.js';
import { secondLifeHistory } from '../../src/oracle/second-life.js';
import type { WorkloadEvent } from '../../src/workload/events.js';

const d = (n: number) => n.toString(16).padStart(64, '0');
const started = (strategy: 'none' | 'fdatasync'): WorkloadEvent => ({ type: 'started', strategy, groupCommit: false, periodMs: null, pid: 1 });
const append = (seq: number, digest = d(seq)): WorkloadEvent[] => [
  { type: 'appended', seq, digest, size: 10 },
  { type: 'acked', seq },
];
// First life: strategy none, 1..5 appended and acked, the crash kept 1..3.
const first: WorkloadEvent[] = [started('none'), ...[1, 2, 3, 4, 5].flatMap((s) => append(s))];
const recovered1 = [1, 2, 3].map((seq) => ({ seq, digest: d(seq) }));
// Second life: fdatasync, reappends 4 and 5 with other payloads.
const second: WorkloadEvent[] = [started('fdatasync'), ...append(4, d(400)), ...append(5, d(500))];

describe('the history of a second life', () => {
  const history = secondLifeHistory(first, recovered1, second);

  it('holds when the first recovery and every second-life ack survive', () => {
    const recovered = [...recovered1, { seq: 4, digest: d(400) }, { seq: 5, digest: d(500) }];
    expect(judgeCrash({ history, recovered }).status).toBe('held');
  });

  it('an entry the first recovery returned and the second life lost is a durability violation, whatever the first strategy promised', () => {
    const recovered = [
      { seq: 1, digest: d(1) },
      { seq: 2, digest: d(2) },
    ];
    const v = judgeCrash({ history, recovered });
    expect(v.status).toBe('violated');
    expect(v.violated).toContain('durability');
  });

  it('a tail counted but not cut: stale first-life bytes returned under a reused seq fail integrity', () => {
    const recovered = [...recovered1, { seq: 4, digest: d(4) }, { seq: 5, digest: d(500) }];
    const v = judgeCrash({ history, recovered });
    expect(v.violated).toContain('integrity');
  });

  it('the second life judges by its own strategy: its acks are durable under fdatasync', () => {
    const v = judgeCrash({ history, recovered: recovered1 });
    expect(v.strategy).toBe('fdatasync');
    expect(v.loss.ackedButLost).toBe(2);
    expect(v.status).toBe('violated');
  });

  it('the first life events it does not recover are left out (no seq appended twice with two payloads)', () => {
    expect(history.filter((e) => e.type === 'appended').map((e) => (e.type === 'appended' ? e.seq : -1))).toEqual([1, 2, 3, 4, 5]);
    expect(history[0]).toEqual(started('fdatasync'));
  });
});
