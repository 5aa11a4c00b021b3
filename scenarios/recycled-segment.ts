import { entrySpan, SEGMENT_HEADER_BYTES, type Scenario } from '../src/crash/plan/scenario.js';

// Segments freed by truncate are recycled for new ones, and every entry has the same size, so
// the stale entries left in a recycled file start exactly where new entries start: a recovery
// that takes a stale entry for a new one (its header and checksum are valid) returns old data
// after the new. 64 KiB segments hold 30 entries of 2032-byte payloads; a truncate every 10-20
// acknowledgements keeping at most 4 frees each segment soon after the next begins, and the cut
// comes after the third to fifth truncate, in a recycled segment. A recording runs 100 appends:
// four segments, the third and fourth in recycled files.
export const recycledSegment: Scenario = {
  name: 'recycled-segment',
  summary: 'power cut in a recycled segment whose stale entries line up with the new ones',
  plan(random) {
    const segmentSize = 64 * 1024;
    const payload = 2032;
    if ((segmentSize - SEGMENT_HEADER_BYTES) % entrySpan(payload) !== 0) throw new RangeError('entries must tile the segment');
    return {
      workload: { segmentSize, writers: 1, minPayload: payload, maxPayload: payload, truncateEvery: random.int(10, 20), truncateKeep: random.int(0, 4) },
      recordEntries: 100,
      steps: [{ kind: 'wait', until: { kind: 'truncating', count: random.int(3, 5), thenAppended: random.int(0, 30) } }],
      freshFilesystemAfter: false,
    };
  },
};
