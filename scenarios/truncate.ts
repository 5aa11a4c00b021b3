import type { Scenario } from '../src/crash/plan/scenario.js';

// A power cut during truncate: the writer truncates away all but a few acknowledged entries every
// N acknowledgements, on small segments so whole segment files are removed (or recycled), and the
// cut comes right at, or a few appends after, a truncate began. Entries below a started truncate
// may be gone; everything else the contract covers must survive, and the rest must stay a prefix.
export const truncate: Scenario = {
  name: 'truncate',
  summary: 'power cut while truncate removes old segments',
  plan(random) {
    return {
      workload: {
        segmentSize: 64 * 1024,
        writers: random.int(1, 4),
        minPayload: 64,
        maxPayload: 1024,
        truncateEvery: random.int(8, 32),
        truncateKeep: random.int(0, 32),
      },
      steps: [{ kind: 'wait', until: { kind: 'truncating', count: random.int(1, 3), thenAppended: random.int(0, 4) } }],
      freshFilesystemAfter: false,
    };
  },
};
