import type { Scenario } from '../src/crash/plan/scenario.js';

// The plain power cut: the writer appends as fast as its strategy lets it, and the power goes at
// a random point of the stream (after a seeded number of appends). This is the scenario that
// shows `none` and `periodic` losing data and the syncing strategies losing nothing acknowledged.
export const randomCut: Scenario = {
  name: 'random-cut',
  summary: 'power cut at a random moment of a steady append stream',
  plan(random) {
    return {
      workload: { writers: random.int(1, 8), minPayload: 16, maxPayload: random.pick([256, 1024, 4096]) },
      steps: [{ kind: 'wait', until: { kind: 'appended', count: random.int(8, 150) } }],
      freshFilesystemAfter: false,
    };
  },
};
