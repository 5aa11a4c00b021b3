import type { Scenario } from '../src/crash/plan/scenario.js';

// A transient write error, as fsyncgate meets it: writes to the blocks of the WAL's files fail
// with EIO for a moment while the rest of the device and every flush work. The kernel marks the
// failed pages clean, so a WAL that retries its fdatasync sees the retry "succeed" (nothing left
// to write, the flush passes) and acknowledges data that exists only in the page cache. The power
// cut and the remount that follow drop that cache, and whatever was acknowledged after the error
// is gone: acknowledged-but-lost. A correct WAL fails at the first error and refuses from then on.
// Segments of 1 MiB keep the writes of the fault window inside the faulted (current) segment.
export const transientEio: Scenario = {
  name: 'transient-eio',
  summary: "writes to the WAL's blocks fail briefly (EIO, flushes work), then heal; cut: a retried fdatasync must not ack",
  plan(random) {
    return {
      workload: { writers: random.int(1, 3), minPayload: 512, maxPayload: 4096, segmentSize: 1 << 20, continueAfterFailure: true },
      steps: [
        { kind: 'wait', until: { kind: 'appended', count: random.int(8, 60) } },
        { kind: 'fail-wal-blocks' },
        { kind: 'wait', until: { kind: 'failed', timeoutMs: 3000 } },
        // Long enough for a buggy WAL to retry and acknowledge a few more.
        { kind: 'pause', ms: random.int(200, 600) },
        { kind: 'heal' },
        { kind: 'pause', ms: random.int(200, 600) },
      ],
      freshFilesystemAfter: true,
    };
  },
};
