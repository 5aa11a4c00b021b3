import { entrySpan, SEGMENT_HEADER_BYTES, type Scenario } from '../src/crash/plan/scenario.js';

// Segments freed by truncate are recycled for new ones, and every entry has the same size, so
// the stale entries left in a recycled file start exactly where new entries start: a recovery
// that takes a stale entry for a new one (its header and checksum are valid) returns old data
// after the new. 64 KiB segments hold 30 entries of 2032-byte payloads; a truncate every 10-20
// acknowledgements keeping at most 4 frees each segment soon after the next begins. The third
// segment may still be a fresh spare (prepared before the first was freed): the fourth and fifth
// (appends 91-150) are the recycled ones, so the cut comes at 95-145 appends and a recording runs
// 150. (A cut after the third truncate, at 62 appends, was measured to miss the planted bug.)
export const recycledSegment: Scenario = {
  name: 'recycled-segment',
  summary: 'power cut in a recycled segment whose stale entries line up with the new ones',
  plan(random) {
    const segmentSize = 64 * 1024;
    const payload = 2032;
    if ((segmentSize - SEGMENT_HEADER_BYTES) % entrySpan(payload) !== 0) throw new RangeError('entries must tile the segment');
    return {
      workload: { segmentSize, writers: 1, minPayload: payload, maxPayload: payload, truncateEvery: random.int(10, 20), truncateKeep: random.int(0, 4) },
      recordEntries: 150,
      steps: [{ kind: 'wait', until: { kind: 'appended', count: random.int(95, 145) } }],
      freshFilesystemAfter: false,
    };
  },
};
