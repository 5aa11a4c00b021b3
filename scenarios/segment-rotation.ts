import { entrySpan, SEGMENT_HEADER_BYTES, type Scenario } from '../src/crash/plan/scenario.js';

// A power cut while the WAL moves from one segment to the next: small segments, and the cut is
// placed within a few entries of a segment boundary (before or after it), where a new segment file
// is being renamed into place, its header written and the previous one's tail synced.
export const segmentRotation: Scenario = {
  name: 'segment-rotation',
  summary: 'power cut within a few entries of a segment rotation',
  plan(random) {
    const segmentSize = 64 * 1024;
    // Large entries keep a segment to a few dozen of them: under TCG a syncing strategy manages
    // about 50 appends a second, and the rotation should come within seconds.
    const maxPayload = random.pick([1024, 2048, 4096]);
    const usable = segmentSize - SEGMENT_HEADER_BYTES;
    const boundary = random.int(1, 3) * usable;
    // Up to three average entries on either side of the boundary.
    const jitter = random.int(-3, 3) * entrySpan((3 * maxPayload) / 4);
    return {
      workload: { segmentSize, writers: random.int(1, 4), minPayload: maxPayload / 2, maxPayload },
      steps: [{ kind: 'wait', until: { kind: 'bytes', bytes: Math.max(1, boundary + jitter) } }],
      freshFilesystemAfter: false,
    };
  },
};
