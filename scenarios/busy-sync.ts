import type { Scenario } from '../src/crash/plan/scenario.js';

// Many writers that keep appending while each sync runs, with a short period: a periodic WAL
// syncs tens of times per recording, and every sync has entries written during it. A watermark
// taken after the sync instead of before (it covers entries the sync never wrote) or published
// before the sync returns is then shown by some crash state, not by the luck of one. For the
// syncing strategies it is a loaded stream (group commit forms batches of several); one sync per
// append needs no 250 of them (each is an epoch whose states are checked), so they record 60.
export const busySync: Scenario = {
  name: 'busy-sync',
  summary: 'many concurrent writers and short sync periods: appends land during every sync',
  plan(random, { strategy, groupCommit }) {
    const batches = strategy === 'periodic' || strategy === 'none' || groupCommit;
    return {
      workload: { writers: random.int(4, 8), minPayload: 256, maxPayload: 4096, periodMs: random.int(2, 8) },
      recordEntries: batches ? 250 : 60,
      steps: [{ kind: 'wait', until: { kind: 'appended', count: random.int(100, 400) } }],
      freshFilesystemAfter: false,
    };
  },
};
