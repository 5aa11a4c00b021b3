import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { countQueued, noCounts, parseBlkparse } from '../../src/bench/block-trace/blkparse.js';
import { agreement } from '../../src/bench/block-trace/counts.js';

// The agreement rules on the counters one real run measured (test/fixtures/blktrace/README.md:
// 8 fsync commits in the microVM), and that they catch a counter that is off.

const trace = countQueued(parseBlkparse(readFileSync(path.resolve(import.meta.dirname, '..', 'fixtures', 'blktrace', 'dm-wal-fsync.txt'), 'utf8')));
// What dm-log-writes and diskstats counted in the same window of that run.
const logWrites = { ...noCounts(), writes: 32, writeKiB: 160, flushes: 8, emptyFlushes: 8, fua: 16 };
const dm = { writes: 40, sectors: 320, flushes: 0 };
const loop = { writes: 32, sectors: 320, flushes: 24 };

describe('block-trace agreement rules', () => {
  it('reads the fsync trace: per commit the entry, two journal blocks and a PREFLUSH|FUA commit block', () => {
    expect(trace).toEqual({ writes: 32, writeKiB: 160, flushes: 8, emptyFlushes: 0, fua: 8, flushFuaWithData: 8, reads: 0 });
  });

  it('finds the three views of that run in agreement', () => {
    const checks = agreement({ trace, logWrites, dm, loop, loopHasFua: false });
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect(checks.map((c) => c.what)).toContain('diskstats loop flushes');
  });

  it('reports a counter that is off, by name', () => {
    const off = agreement({ trace, logWrites: { ...logWrites, fua: 8 }, dm: { ...dm, writes: 32 }, loop, loopHasFua: false });
    expect(off.filter((c) => !c.ok).map((c) => c.what)).toEqual(['log-writes FUA entries', 'diskstats dm writes']);
  });

  it('expects one loop flush per PREFLUSH only when the loop queue takes FUA itself', () => {
    const withFua = agreement({ trace, logWrites, dm, loop: { ...loop, flushes: 8 }, loopHasFua: true });
    expect(withFua.find((c) => c.what === 'diskstats loop flushes')).toMatchObject({ expected: 8, ok: true });
  });
});
