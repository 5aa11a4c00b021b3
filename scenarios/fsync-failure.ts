import type { Scenario } from '../src/crash/plan/scenario.js';

// fsyncgate: the device starts failing writes (dm-flakey error_writes) under a running WAL. The
// WAL must fail the pending appends and then refuse everything: after the device heals, a retried
// fsync would "succeed" without the data (the kernel marked the pages clean), so any
// acknowledgement after the first failure is a violation. The writer keeps offering appends after
// the failure, before and after the heal; then the power is cut and everything acknowledged
// before the failure must be there after the remount.
export const fsyncFailure: Scenario = {
  name: 'fsync-failure',
  summary: 'writes fail with EIO (flakey error_writes), then heal: no ack after a failed sync',
  plan(random) {
    return {
      workload: { writers: random.int(1, 4), minPayload: 16, maxPayload: 1024, continueAfterFailure: true },
      steps: [
        { kind: 'wait', until: { kind: 'appended', count: random.int(8, 100) } },
        { kind: 'fail-writes' },
        { kind: 'wait', until: { kind: 'failed', timeoutMs: 3000 } },
        { kind: 'pause', ms: random.int(0, 300) },
        { kind: 'heal' },
        // Long enough for several periodic syncs and for a buggy WAL to retry and acknowledge.
        { kind: 'pause', ms: random.int(300, 800) },
      ],
      // Write errors reached the filesystem's journal too: do not build the next trial on it.
      freshFilesystemAfter: true,
    };
  },
};
