import type { Scenario } from '../src/crash/plan/scenario.js';

// A second life: power cut, remount, recovery, then a new writer on the same WAL appends more and
// the power goes again. Whatever the first recovery returned must survive the second crash, and
// the second life's promises hold as usual; a recovery that counts a torn tail but does not cut
// it lets the second life's entries sit next to the old tail's bytes, which the second recovery
// then misreads. Small segments put the second life across a rotation now and then.
export const secondLife: Scenario = {
  name: 'second-life',
  summary: 'recover after a power cut, append more, cut again: both lives judged',
  plan(random) {
    return {
      workload: { segmentSize: 64 * 1024, writers: random.int(1, 3), minPayload: 16, maxPayload: random.pick([512, 2048, 4096]) },
      steps: [
        { kind: 'wait', until: { kind: 'appended', count: random.int(10, 60) } },
        { kind: 'restart' },
        { kind: 'wait', until: { kind: 'appended', count: random.int(10, 60) } },
      ],
      freshFilesystemAfter: false,
    };
  },
};
