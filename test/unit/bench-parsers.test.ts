import { describe, expect, it } from 'vitest';
import { counterDelta, mountOf, parseDiskstats, perCommit } from '../../src/bench/diskstats.js';
import { parseFioJson, fioArgs } from '../../src/bench/peers/fio.js';
import { parsePgTestFsync, pgTestFsyncFdatasync } from '../../src/bench/peers/pg-test-fsync.js';
import { parsePgbenchSummary, recordPgbenchLog } from '../../src/bench/peers/pgbench.js';
import { parseRawFloorOutput } from '../../src/bench/peers/raw-floor.js';
import { newHistogram } from '../../src/bench/latency.js';
import { BenchError } from '../../src/bench/bench-error.js';
import type { MountEntry } from '../../src/dm/index.js';

// Captured on this machine kind (kernel 6.18): 17 columns after the name, flushes included.
const DISKSTATS = `   7       0 loop0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
 254       0 vda 33997 12314 2447866 15340 7794 21085 1328456 3698 0 5624 19462 5440 21 239056 385 692 38
 253       0 zram0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
`;

describe('diskstats parsing', () => {
  it('reads writes (col 8), sectors written (col 10) and flushes (col 19) by device name', () => {
    const m = parseDiskstats(DISKSTATS);
    expect(m.get('vda')).toEqual({ writes: 7794, sectors: 1328456, flushes: 692 });
    expect(m.get('loop0')).toEqual({ writes: 0, sectors: 0, flushes: 0 });
  });

  it('reports flushes as null on kernels without the flush columns (14 columns)', () => {
    const old = '   8       0 sda 100 0 800 10 50 5 400 20 0 30 30\n';
    expect(parseDiskstats(old).get('sda')).toEqual({ writes: 50, sectors: 400, flushes: null });
  });

  it('computes deltas and per-commit figures (sectors are 512 bytes)', () => {
    const d = counterDelta({ writes: 10, sectors: 100, flushes: 5 }, { writes: 30, sectors: 180, flushes: 15 });
    expect(d).toEqual({ writes: 20, sectors: 80, flushes: 10 });
    expect(perCommit(d, 10)).toEqual({ writesPerCommit: 2, kibPerCommit: 4, flushesPerCommit: 1 });
    expect(perCommit({ writes: 1, sectors: 8, flushes: null }, 1).flushesPerCommit).toBeNull();
  });

  it('finds the mount holding a path by the longest mount-point prefix, not a string prefix', () => {
    const m = (mountPoint: string, devId: string): MountEntry => ({ devId, mountPoint, fsType: 'ext4', source: '/dev/x', options: 'rw' });
    const table = [m('/', '254:0'), m('/mnt/a', '7:0'), m('/mnt/ab', '7:1')];
    expect(mountOf('/mnt/ab/x', table)?.devId).toBe('7:1');
    expect(mountOf('/mnt/a/x', table)?.devId).toBe('7:0');
    expect(mountOf('/mnt/abc', table)?.devId).toBe('254:0');
    expect(mountOf('/mnt/a', table)?.devId).toBe('7:0');
  });
});

// pg_test_fsync -s 1 on this machine, verbatim.
const PG_TEST_FSYNC = `1 second per test
O_DIRECT supported on this platform for open_datasync and open_sync.

Compare file sync methods using one 8kB write:
(in wal_sync_method preference order, except fdatasync is Linux's default)
        open_datasync                      7009.306 ops/sec     143 usecs/op
        fdatasync                          5464.770 ops/sec     183 usecs/op
        fsync                              5128.251 ops/sec     195 usecs/op
        fsync_writethrough                              n/a
        open_sync                          5473.349 ops/sec     183 usecs/op

Compare file sync methods using two 8kB writes:
(in wal_sync_method preference order, except fdatasync is Linux's default)
        open_datasync                      2722.793 ops/sec     367 usecs/op
        fdatasync                          7960.491 ops/sec     126 usecs/op
        fsync                              7805.469 ops/sec     128 usecs/op
        fsync_writethrough                              n/a
        open_sync                          3896.610 ops/sec     257 usecs/op

Compare open_sync with different write sizes:
(This is designed to compare the cost of writing 16kB in different write
open_sync sizes.)
         1 * 16kB open_sync write          7577.507 ops/sec     132 usecs/op
         2 *  8kB open_sync writes         3838.179 ops/sec     261 usecs/op

Test if fsync on non-write file descriptor is honored:
(If the times are similar, fsync() can sync data written on a different
descriptor.)
        write, fsync, close                6532.720 ops/sec     153 usecs/op
        write, close, fsync                5966.684 ops/sec     168 usecs/op

Non-sync'ed 8kB writes:
        write                           2657327.392 ops/sec       0 usecs/op
`;

describe('pg_test_fsync parsing', () => {
  it('reads every measured line with its section, and leaves out n/a methods', () => {
    const rows = parsePgTestFsync(PG_TEST_FSYNC);
    expect(rows).toHaveLength(13);
    expect(rows.some((r) => r.method === 'fsync_writethrough')).toBe(false);
    expect(rows.find((r) => r.method === '2 *  8kB open_sync writes')).toMatchObject({ opsPerSec: 3838.179, usecsPerOp: 261 });
    expect(rows.at(-1)).toMatchObject({ section: "Non-sync'ed 8kB writes", method: 'write', opsPerSec: 2657327.392 });
  });

  it('picks fdatasync under "one 8kB write", not the two-write section', () => {
    expect(pgTestFsyncFdatasync(parsePgTestFsync(PG_TEST_FSYNC))).toMatchObject({ opsPerSec: 5464.77, usecsPerOp: 183 });
  });

  it('rejects output without measurements', () => {
    expect(() => parsePgTestFsync('could not open output file "x": Permission denied\n')).toThrow(BenchError);
  });
});

// fio-3.33 --output-format=json, trimmed to the fields the suite reads.
const FIO_JSON = `note: both iodepth >= 1 and synchronous I/O engine are selected, queue depth will be capped at 1
{"fio version": "fio-3.33", "jobs": [{"jobname": "t", "error": 0, "job_runtime": 1000, "write": {"io_bytes": 12136448, "total_ios": 2963, "iops": 2960.03996}, "sync": {"total_ios": 0, "lat_ns": {"min": 162541, "max": 1794602, "mean": 329207.253797, "N": 2963, "percentile": {"1.000000": 193536, "50.000000": 337920, "99.000000": 468992, "99.900000": 692224, "99.990000": 1794048}}}}]}`;

describe('fio JSON parsing', () => {
  it('reads writes, bytes, runtime and sync latency percentiles in microseconds, skipping a leading warning', () => {
    const r = parseFioJson(FIO_JSON);
    expect(r).toMatchObject({ ops: 2963, bytes: 12136448, runtimeMs: 1000 });
    expect(r.syncUs).toMatchObject({ p50: 337.92, p99: 468.992, p999: 692.224, max: 1794.602 });
    expect(r.syncUs.mean).toBeCloseTo(329.207, 3);
  });

  it('fails on a job error and on a missing sync section', () => {
    expect(() => parseFioJson('{"jobs":[{"error":5,"write":{},"sync":{"lat_ns":{}}}]}')).toThrow(/error 5/);
    expect(() => parseFioJson('{"jobs":[{"error":0,"write":{"total_ios":1}}]}')).toThrow(/sync/);
    expect(() => parseFioJson('fio: pid=0, err=2/file:filesetup.c')).toThrow(BenchError);
  });

  it('asks for an append workload: fdatasync per write, nothing laid out in advance', () => {
    const args = fioArgs('/d/f', 4096, 1500);
    expect(args).toEqual(expect.arrayContaining(['--rw=write', '--bs=4096', '--fdatasync=1', '--fallocate=none', '--runtime=1500ms', '--output-format=json']));
    expect(args.some((a) => a.startsWith('--overwrite'))).toBe(false);
  });
});

describe('pgbench parsing', () => {
  const OUT = `pgbench (15.14 (Debian 15.14-0+deb12u1))
transaction type: /tmp/x/insert.sql
scaling factor: 1
query mode: simple
number of clients: 4
number of threads: 4
maximum number of tries: 1
duration: 1 s
number of transactions actually processed: 6169
number of failed transactions: 0 (0.000%)
latency average = 0.648 ms
initial connection time = 6.112 ms
tps = 6172.839506 (without initial connection time)`;

  it('reads transactions, tps and mean latency', () => {
    expect(parsePgbenchSummary(OUT)).toEqual({ transactions: 6169, tps: 6172.839506, latencyAvgMs: 0.648 });
    expect(() => parsePgbenchSummary('pgbench: error: connection to server failed')).toThrow(BenchError);
    // Every client still connecting when -T ran out: pgbench stops after the count.
    expect(parsePgbenchSummary('number of clients: 64\nnumber of transactions actually processed: 0\nnumber of failed transactions: 0 (NaN%)\n')).toEqual({
      transactions: 0,
      tps: 0,
      latencyAvgMs: 0,
    });
  });

  it('records the per-transaction latency column (us) of the -l log in nanoseconds', () => {
    const h = newHistogram();
    const n = recordPgbenchLog('0 0 233 0 1763784000 123456\n0 1 1000 0 1763784000 124456\ngarbage\n', h);
    expect(n).toBe(2);
    expect(h.totalCount).toBe(2);
    expect(h.maxValue).toBeGreaterThanOrEqual(999_000);
    expect(h.minNonZeroValue).toBeLessThanOrEqual(233_100);
  });
});

describe('raw floor output parsing', () => {
  it('reads the op count, elapsed time and one latency per op', () => {
    expect(parseRawFloorOutput('ops 3 ns 1000 batch 1\n10\n20\n30\n')).toEqual({ ops: 3, batch: 1, elapsedNs: 1000, latenciesNs: [10, 20, 30] });
    expect(parseRawFloorOutput('ops 2 ns 1000 batch 64\n10\n20\n')).toMatchObject({ ops: 2, batch: 64 });
  });

  it('rejects a count that disagrees with the latencies printed', () => {
    expect(() => parseRawFloorOutput('ops 3 ns 1000 batch 1\n10\n20\n')).toThrow(/3 ops/);
    expect(() => parseRawFloorOutput('ops 1 ns 1000\n10\n')).toThrow(/expected "ops N ns E batch B"/);
    expect(() => parseRawFloorOutput('raw-floor: open: Permission denied')).toThrow(BenchError);
  });
});
