import { entrySpan, SEGMENT_HEADER_BYTES, type Scenario } from '../src/crash/scenario.js';

// A power cut while the WAL moves from one segment to the next: small segments, and the cut is
// placed within a few entries of a segment boundary (before or after it), where a new segment file
// is being renamed into place, its header written and the previous one's tail synced.
export const segmentRotation: Scenario = {
  name: 'segment-rotation',
  summary: 'power cut within a few entries of a segment rotation',
  plan(random) {
    const segmentSize = 64 * 1024;
    const maxPayload = random.pick([128, 512, 1024]);
    const usable = segmentSize - SEGMENT_HEADER_BYTES;
    const boundary = random.int(1, 4) * usable;
    // Up to four average entries on either side of the boundary.
    const jitter = random.int(-4, 4) * entrySpan(maxPayload / 2);
    return {
      workload: { segmentSize, writers: random.int(1, 4), minPayload: 1, maxPayload },
      steps: [{ kind: 'wait', until: { kind: 'bytes', bytes: Math.max(1, boundary + jitter) } }],
      freshFilesystemAfter: false,
    };
  },
};
