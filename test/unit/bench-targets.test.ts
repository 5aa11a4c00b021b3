import { describe, expect, it } from 'vitest';
import { cellId, cellLabel, type Cell, type PeerName, type StrategyName } from '../../src/bench/cell.js';
import type { CellResult, FsReport, Metrics } from '../../src/bench/results.js';
import {
  ceilingTargets,
  computeTargets,
  flushPassThroughChecks,
  floorTargets,
  groupTargets,
  loneWriterTargets,
  peerTargets,
  preallocTargets,
  referenceWal,
} from '../../src/bench/targets.js';
import { tableRows } from '../../src/bench/table.js';

function metrics(opsPerSec: number, p99Us = 300, devices: Metrics['devices'] = []): Metrics {
  return {
    ops: opsPerSec * 3,
    seconds: 3,
    slices: 3,
    opsPerSec,
    mbPerSec: (opsPerSec * 4096) / 1e6,
    durableAck: true,
    latency: { source: 'histogram', meanUs: p99Us / 2, p50Us: p99Us / 3, p99Us, p999Us: p99Us * 2, maxUs: p99Us * 4, curve: null },
    devices,
    cpuUsPerOp: 10,
  };
}

function wal(
  strategy: StrategyName,
  writers: number,
  opsPerSec: number,
  opts: { prealloc?: 'zero' | 'none' | 'recycle'; p99?: number; fs?: Cell['fs']; devices?: Metrics['devices']; cpuLoad?: number } = {},
): CellResult {
  const c = {
    kind: 'wal' as const,
    fs: opts.fs ?? 'host',
    strategy,
    writers,
    size: 4096,
    prealloc: opts.prealloc ?? 'zero',
    threads: 0,
    ...(opts.cpuLoad ? { cpuLoad: opts.cpuLoad } : {}),
  };
  const cell = { ...c, id: cellId(c) };
  return { ...cell, label: cellLabel(cell), status: 'measured', metrics: metrics(opsPerSec, opts.p99, opts.devices) };
}

function peer(p: PeerName, writers: number, opsPerSec: number, size = 4096): CellResult {
  const c = { kind: 'peer' as const, fs: 'host' as const, peer: p, writers, size };
  const cell = { ...c, id: cellId(c) };
  return { ...cell, label: cellLabel(cell), status: 'measured', metrics: metrics(opsPerSec) };
}

const dev = (device: string, writesPerCommit: number, flushesPerCommit: number, ops = 300): Metrics['devices'][number] => ({
  device,
  writes: writesPerCommit * ops,
  sectors: writesPerCommit * ops * 8,
  flushes: flushesPerCommit * ops,
  writesPerCommit,
  kibPerCommit: writesPerCommit * 4,
  flushesPerCommit,
});

describe('targets', () => {
  it('ceiling: group commit at 64 writers >= 0.85 of the raw floor at 64, as the WAL ships when measured', () => {
    const cells = [wal('group-fdatasync', 64, 170_000, { prealloc: 'recycle' }), wal('group-fdatasync', 64, 90_000), peer('raw-floor', 64, 200_000)];
    expect(ceilingTargets(cells)[0]).toMatchObject({ kind: 'group-ceiling', status: 'pass', value: 0.85 });
    expect(ceilingTargets(cells)[0]?.detail).toMatch(/^WAL \(prealloc recycle\) 170000\/s \/ ceiling 200000\/s = 0.85/);
    expect(ceilingTargets([wal('group-fdatasync', 64, 160_000), peer('raw-floor', 64, 200_000)])[0]).toMatchObject({ status: 'fail', value: 0.8 });
    expect(ceilingTargets([wal('group-fdatasync', 64, 160_000)])[0]?.status).toBe('not-measured');
  });

  it('lone writer: group commit at 1 writer >= 0.95 of plain fdatasync, judged at every CPU load of the run', () => {
    const cells = [
      wal('group-fdatasync', 1, 960),
      wal('fdatasync', 1, 1000),
      wal('group-fdatasync', 1, 800, { cpuLoad: 2 }),
      wal('fdatasync', 1, 1000, { cpuLoad: 2 }),
    ];
    const [quiet, loaded] = loneWriterTargets(cells);
    expect(quiet).toMatchObject({ kind: 'lone-writer', status: 'pass', value: 0.96 });
    expect(quiet?.title).toMatch(/quiet$/);
    expect(loaded).toMatchObject({ status: 'fail', value: 0.8 });
    expect(loaded?.title).toMatch(/cpu load 2$/);
    // Loaded cells never stand in for quiet ones in the other targets.
    expect(floorTargets([wal('fdatasync', 1, 1000, { cpuLoad: 2 }), peer('raw-floor', 1, 1000)])[0]?.status).toBe('not-measured');
  });

  it('floor: passes at >= 0.95 of the raw loop and fails below, with the numbers', () => {
    expect(floorTargets([wal('fdatasync', 1, 6650), peer('raw-floor', 1, 7000)])[0]).toMatchObject({ status: 'pass', value: 0.95 });
    const fail = floorTargets([wal('fdatasync', 1, 6000), peer('raw-floor', 1, 7000)])[0]!;
    expect(fail.status).toBe('fail');
    expect(fail.detail).toBe('WAL (prealloc zero) 6000/s / floor 7000/s = 0.86');
    expect(floorTargets([wal('fdatasync', 1, 6000)])[0]).toMatchObject({ status: 'not-measured', detail: 'raw floor not measured on host' });
    // The WAL as it ships (recycling) is the one judged when the run measured it.
    const shipped = floorTargets([wal('fdatasync', 1, 6000), wal('fdatasync', 1, 6900, { prealloc: 'recycle' }), peer('raw-floor', 1, 7000)])[0]!;
    expect(shipped).toMatchObject({ status: 'pass', detail: 'WAL (prealloc recycle) 6900/s / floor 7000/s = 0.99' });
  });

  it('group commit: throughput >= 30x and p99 <= 3x, each its own verdict', () => {
    const [speed, p99] = groupTargets([wal('group-fdatasync', 1, 5000, { p99: 400 }), wal('group-fdatasync', 64, 160_000, { p99: 1300 })]);
    expect(speed).toMatchObject({ kind: 'group-throughput', status: 'pass', value: 32 });
    expect(p99).toMatchObject({ kind: 'group-p99', status: 'fail', value: 3.25 });
    // Selected but failed: NOT MEASURED with the reason. Not selected at all: no line.
    const c64 = {
      kind: 'wal' as const,
      fs: 'host' as const,
      strategy: 'group-fdatasync' as const,
      writers: 64,
      size: 4096,
      prealloc: 'zero' as const,
      threads: 0,
    };
    const failed: CellResult = { ...c64, id: cellId(c64), label: 'wal group-fdatasync', status: 'failed', error: 'WAL_IO' };
    const missing = groupTargets([wal('group-fdatasync', 1, 5000), failed]);
    expect(missing.map((t) => t.status)).toEqual(['not-measured', 'not-measured']);
    expect(groupTargets([wal('group-fdatasync', 1, 5000)])).toEqual([]);
  });

  it('group commit: the raw floor at 64 writers, when measured, is reported as the disk ceiling', () => {
    const [speed] = groupTargets([wal('group-fdatasync', 1, 5000), wal('group-fdatasync', 64, 90_000), peer('raw-floor', 64, 160_000)]);
    expect(speed!.detail).toBe(
      '64 writers 90000/s / 1 writer (group-fdatasync, prealloc zero) 5000/s = 18.00x; disk ceiling (raw floor, 64 entries per fdatasync) 160000/s = 32.00x, the WAL at 56% of it',
    );
    expect(speed!.status).toBe('fail');
  });

  it('group commit: judged on the WAL as it ships (recycling) when both ends were measured so, never a mix', () => {
    const zero = [wal('group-fdatasync', 1, 4000, { p99: 800 }), wal('group-fdatasync', 64, 90_000, { p99: 1600 })];
    const recycle = [
      wal('group-fdatasync', 1, 5000, { prealloc: 'recycle', p99: 400 }),
      wal('group-fdatasync', 64, 120_000, { prealloc: 'recycle', p99: 1000 }),
    ];
    const [speed, p99] = groupTargets([...zero, ...recycle]);
    expect(speed).toMatchObject({ value: 24, status: 'fail' });
    expect(speed!.detail).toContain('(group-fdatasync, prealloc recycle)');
    expect(p99).toMatchObject({ value: 2.5, status: 'pass' });
    // Recycling measured at one end only: both ends from the zero-filled cells.
    const [mixed] = groupTargets([...zero, recycle[0]!]);
    expect(mixed).toMatchObject({ value: 22.5 });
    expect(mixed!.detail).toContain('prealloc zero');
  });

  it('peers: compared with fdatasync at 1 writer and group commit at more; ahead means peer/WAL < 1', () => {
    const cells = [
      wal('fdatasync', 1, 6000),
      wal('group-fdatasync', 1, 5800),
      wal('group-fdatasync', 16, 50_000),
      peer('leveldb', 1, 2300),
      peer('leveldb', 16, 60_000),
      peer('pgbench', 64, 9000),
    ];
    expect(referenceWal(cells, 'host', 1, 4096)?.strategy).toBe('fdatasync');
    expect(referenceWal(cells, 'host', 16, 4096)?.strategy).toBe('group-fdatasync');
    const t = peerTargets(cells);
    expect(t.map((x) => x.status)).toEqual(['pass', 'fail', 'not-measured']);
    expect(t[1]!.detail).toBe('leveldb 60000/s / WAL group-fdatasync (prealloc zero) 50000/s = 1.20');
    expect(t[2]!.detail).toMatch(/no WAL cell at 64 writers/);
  });

  it('pg_test_fsync (8 kB only) is compared with the WAL at 4 KiB, and says so', () => {
    const t = peerTargets([wal('fdatasync', 1, 6000), peer('pg_test_fsync', 1, 7000, 8192)]);
    expect(t[0]).toMatchObject({ status: 'fail' });
    expect(t[0]!.detail).toMatch(/pg_test_fsync writes 8 kB, the WAL 4KiB/);
  });

  it('a skipped peer is NOT MEASURED with its reason, never a pass', () => {
    const c = { kind: 'peer' as const, fs: 'host' as const, peer: 'pgbench' as const, writers: 1, size: 4096 };
    const skipped: CellResult = { ...c, id: cellId(c), label: 'pgbench', status: 'skipped', reason: 'postgresql-15 not installed' };
    expect(peerTargets([wal('fdatasync', 1, 6000), skipped])[0]).toMatchObject({ status: 'not-measured', detail: 'skipped: postgresql-15 not installed' });
  });

  it('preallocation: zero vs none on ext4 only, with the device I/Os per commit in the detail', () => {
    const fss: FsReport[] = [
      { name: 'host', status: 'ready', fsType: 'ext4' },
      { name: 'xfs', status: 'ready', fsType: 'xfs' },
    ];
    const cells = [wal('fdatasync', 1, 7000, { devices: [dev('vda', 1, 1)] }), wal('fdatasync', 1, 3400, { prealloc: 'none', devices: [dev('vda', 3, 1)] })];
    const [t] = preallocTargets(cells, fss);
    expect(preallocTargets(cells, fss)).toHaveLength(1);
    expect(t).toMatchObject({ status: 'pass' });
    expect(t!.value).toBeCloseTo(2.06, 2);
    expect(t!.detail).toContain('vda: 1.00 writes, 4.00 KiB, 1.00 flushes per commit');
    expect(t!.detail).toContain('vda: 3.00 writes, 12.00 KiB, 1.00 flushes per commit');
    const slow = preallocTargets([wal('fdatasync', 1, 4000), wal('fdatasync', 1, 3400, { prealloc: 'none' })], fss)[0]!;
    expect(slow.status).toBe('fail');
  });

  it("flush pass-through: the disk under a loop image must see at least the loop device's flushes", () => {
    const fss: FsReport[] = [
      { name: 'xfs', status: 'ready', fsType: 'xfs', device: 'loop2', loop: { device: 'loop2', directIo: true, disk: 'vda' } },
      { name: 'ext4-nobarrier', status: 'ready', fsType: 'ext4', device: 'loop3', loop: { device: 'loop3', directIo: true, disk: 'vda' } },
    ];
    const passes = flushPassThroughChecks([wal('fdatasync', 1, 100, { fs: 'xfs', devices: [dev('loop2', 1, 1), dev('vda', 3, 1)] })], fss);
    expect(passes[0]).toMatchObject({ status: 'pass' });
    const absorbed = flushPassThroughChecks([wal('fdatasync', 1, 100, { fs: 'xfs', devices: [dev('loop2', 1, 1), dev('vda', 1, 0)] })], fss);
    expect(absorbed[0]).toMatchObject({ status: 'fail' });
    const nobarrier = flushPassThroughChecks([wal('fdatasync', 1, 100, { fs: 'ext4-nobarrier', devices: [dev('loop3', 1, 0), dev('vda', 1, 0)] })], fss);
    expect(nobarrier.find((t) => t.title.startsWith('ext4-nobarrier'))).toMatchObject({ status: 'pass', title: 'ext4-nobarrier: no flushes sent (barrier=0)' });
    expect(nobarrier.find((t) => t.title.startsWith('xfs'))).toMatchObject({ status: 'not-measured' });
  });

  it('computeTargets lists every kind, and the table shows peer/WAL for peers', () => {
    const cells = [wal('fdatasync', 1, 6000), peer('raw-floor', 1, 6500), peer('sqlite', 1, 3000)];
    expect(new Set(computeTargets(cells, []).map((t) => t.kind))).toEqual(new Set(['floor', 'peer']));
    const rows = tableRows({ cells });
    expect(rows[2]!.at(-1)).toBe('0.50');
    expect(rows[1]!.at(-1)).toBe('1.08');
  });
});
