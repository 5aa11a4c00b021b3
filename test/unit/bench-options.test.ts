import { describe, expect, it } from 'vitest';
import { BenchError } from '../../src/bench/bench-error.js';
import { buildMatrix, roundOrder } from '../../src/bench/matrix.js';
import { defaultOutDir, parseBenchOptions, parseSize } from '../../src/bench/options.js';
import { PEERS, splitStrategy, STRATEGIES } from '../../src/bench/cell.js';

const NOW = new Date('2026-11-22T05:06:07.089Z');

function badOption(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BenchError);
    expect((err as BenchError).code).toBe('BAD_OPTION');
    return (err as BenchError).message;
  }
  throw new Error('expected a BAD_OPTION error');
}

describe('bench option validation', () => {
  it('defaults: nothing selected explicitly, every peer, 3 s over 4 rounds, a timestamped results dir', () => {
    const s = parseBenchOptions({}, NOW, '/p');
    expect(s).toMatchObject({
      full: false,
      strategies: null,
      writers: null,
      sizes: null,
      filesystems: null,
      preallocs: null,
      durationMs: 3000,
      rounds: 4,
      backgroundIo: 'none',
    });
    expect(s.peers).toEqual([...PEERS]);
    expect(s.outDir).toBe('/p/results/bench-2026-11-22T05-06-07Z');
    expect(defaultOutDir(NOW, '/x')).toBe('/x/results/bench-2026-11-22T05-06-07Z');
  });

  it('parses lists, aliases and sizes', () => {
    const s = parseBenchOptions(
      { strategy: 'fdatasync,group', writers: '64,1,4,4', size: '4k,256,1MiB', fs: 'host,ext4', peers: 'none', duration: '1.5', rounds: '1' },
      NOW,
      '/p',
    );
    expect(s.strategies).toEqual(['fdatasync', 'group-fdatasync']);
    expect(s.writers).toEqual([1, 4, 64]);
    expect(s.sizes).toEqual([256, 4096, 1024 * 1024]);
    expect(s.filesystems).toEqual(['host', 'ext4-ordered']);
    expect(s.peers).toEqual([]);
    expect(s.durationMs).toBe(1500);
    expect(parseBenchOptions({ strategy: 'all' }).strategies).toEqual([...STRATEGIES]);
  });

  it('suite labels map to WAL options: group commit, the sync_file_range hint, several syncs in flight', () => {
    expect(parseBenchOptions({ strategy: 'group-fdatasync-depth4' }).strategies).toEqual(['group-fdatasync-depth4']);
    expect(splitStrategy('group-fdatasync-depth4')).toEqual({ strategy: 'fdatasync', groupCommit: true, syncFileRange: false, syncDepth: 4 });
    expect(splitStrategy('group-direct')).toEqual({ strategy: 'direct', groupCommit: true, syncFileRange: false, syncDepth: 1 });
    expect(splitStrategy('fdatasync-sfr')).toEqual({ strategy: 'fdatasync', groupCommit: false, syncFileRange: true, syncDepth: 1 });
    expect(splitStrategy('periodic')).toEqual({ strategy: 'periodic', groupCommit: false, syncFileRange: false, syncDepth: 1 });
  });

  it('rejects bad values with a message naming the option and what it accepts', () => {
    expect(badOption(() => parseBenchOptions({ strategy: 'fsync,turbo' }))).toMatch(/--strategy: unknown value "turbo" \(allowed: fsync, .*group/);
    expect(badOption(() => parseBenchOptions({ writers: '0' }))).toMatch(/--writers must be a whole number from 1 to 4096, got "0"/);
    expect(badOption(() => parseBenchOptions({ writers: '1,,4' }))).toMatch(/no empty items/);
    expect(badOption(() => parseBenchOptions({ writers: 'four' }))).toMatch(/--writers must be a whole number/);
    expect(badOption(() => parseBenchOptions({ size: '4q' }))).toMatch(/--size "4q"/);
    expect(badOption(() => parseBenchOptions({ size: '64m' }))).toMatch(/between 1 byte and 4 MiB/);
    expect(badOption(() => parseBenchOptions({ fs: 'zfs' }))).toMatch(/--fs: unknown value "zfs"/);
    expect(badOption(() => parseBenchOptions({ duration: '-1' }))).toMatch(/--duration/);
    expect(badOption(() => parseBenchOptions({ duration: '0.2', rounds: '3' }))).toMatch(/under 100 ms per slice/);
    expect(badOption(() => parseBenchOptions({ rounds: '0' }))).toMatch(/--rounds/);
    expect(badOption(() => parseBenchOptions({ backgroundIo: 'loud' }))).toMatch(/--background-io/);
    expect(badOption(() => parseBenchOptions({ schedulers: 'bfq' }))).toMatch(/--schedulers goes with --interference/);
    expect(badOption(() => parseBenchOptions({ interference: true, schedulers: 'cfq' }))).toMatch(/--schedulers: unknown value "cfq"/);
    expect(badOption(() => parseBenchOptions({ interference: true, fs: 'host' }))).toMatch(/needs a loop-image filesystem/);
    expect(badOption(() => parseBenchOptions({ interference: true, fs: 'xfs,btrfs' }))).toMatch(/one loop-image filesystem/);
    expect(parseBenchOptions({ interference: true }).interference).toEqual({ schedulers: ['bfq', 'mq-deadline'] });
    expect(badOption(() => parseBenchOptions({ dir: '/mnt/nvme', fs: 'xfs' }))).toMatch(/--dir PATH is where the host cells write/);
    expect(badOption(() => parseBenchOptions({ dir: '/mnt/nvme', interference: true }))).toMatch(/leave out --dir/);
    expect(parseBenchOptions({ dir: 'nvme' }, NOW, '/p').dir).toBe('/p/nvme');
    expect(badOption(() => parseBenchOptions({ cpuLoad: 'x' }))).toMatch(/--cpu-load must be a whole number from 0 to 64/);
    expect(badOption(() => parseBenchOptions({ offered: '0' }))).toMatch(/--offered must be a whole number from 1/);
    expect(badOption(() => parseBenchOptions({ offered: '100', writerThreads: '4' }))).toMatch(/main event loop only/);
    expect(badOption(() => parseBenchOptions({ arrivals: 'bursty' }))).toMatch(/--arrivals: unknown value "bursty" \(allowed: poisson, fixed\)/);
  });

  it('--cpu-load and --offered multiply the cells: every cell per load, WAL and open-loop peers per rate', () => {
    const sel = parseBenchOptions({
      strategy: 'group-fdatasync',
      writers: '1',
      prealloc: 'recycle',
      peers: 'raw-floor,sqlite',
      cpuLoad: '0,2',
      offered: '100,1000',
    });
    expect(sel).toMatchObject({ cpuLoads: [0, 2], offered: [100, 1000], arrivals: 'poisson', seed: 1 });
    const ids = buildMatrix(sel).map((c) => c.id);
    expect(ids).toEqual([
      'host/wal/group-fdatasync/recycle/w1/4KiB/r100',
      'host/wal/group-fdatasync/recycle/w1/4KiB/r1000',
      'host/peer/raw-floor/w1/4KiB',
      'host/peer/sqlite/w1/4KiB/r100',
      'host/peer/sqlite/w1/4KiB/r1000',
      'host/wal/group-fdatasync/recycle/w1/4KiB/cpu2/r100',
      'host/wal/group-fdatasync/recycle/w1/4KiB/cpu2/r1000',
      'host/peer/raw-floor/w1/4KiB/cpu2',
      'host/peer/sqlite/w1/4KiB/cpu2/r100',
      'host/peer/sqlite/w1/4KiB/cpu2/r1000',
    ]);
  });

  it('--block-trace: one spec per strategy (group commit with 8 writers), and refuses what a block trace does not take', () => {
    const specs = parseBenchOptions({ blockTrace: true }).blockTrace?.specs ?? [];
    expect(specs.map((s) => `${s.strategy}${s.groupCommit ? '+group' : ''}:${s.writers}:${s.commits}`)).toEqual([
      'fsync:1:32',
      'fdatasync:1:32',
      'dsync:1:32',
      'direct:1:32',
      'periodic:1:32',
      'none:1:32',
      'fdatasync+group:8:32',
    ]);
    const one = parseBenchOptions({ blockTrace: true, strategy: 'group-dsync', commits: '5', writers: '3', strace: true }).blockTrace?.specs;
    expect(one).toEqual([{ strategy: 'dsync', groupCommit: true, commits: 5, writers: 3, strace: true }]);
    for (const raw of [
      { blockTrace: true, fs: 'ext4' },
      { blockTrace: true, commits: '0' },
      { blockTrace: true, strategy: 'fdatasync-sfr' },
      { commits: '5' },
      { strace: true },
    ]) {
      expect(() => parseBenchOptions(raw), JSON.stringify(raw)).toThrow(BenchError);
    }
  });

  it('reads sizes the way people write them', () => {
    expect([parseSize('256'), parseSize('256B'), parseSize('1k'), parseSize('4KiB'), parseSize('1m'), parseSize('1MiB')]).toEqual([
      256, 256, 1024, 4096, 1048576, 1048576,
    ]);
  });
});

describe('matrix building', () => {
  const base = { full: false, strategies: null, writers: null, sizes: null, filesystems: null, preallocs: null, peers: [...PEERS] };

  it('default: host fs, 4 KiB, every strategy at 1 writer, group commit at 1/4/16/64 recycling and zero-filled, prealloc none vs zero, peers at matching writer counts', () => {
    const cells = buildMatrix(base);
    const wal = cells.filter((c) => c.kind === 'wal');
    expect(new Set(cells.map((c) => c.fs))).toEqual(new Set(['host']));
    expect(
      wal.filter((c) => c.kind === 'wal' && !c.strategy.startsWith('group-')).map((c) => c.kind === 'wal' && `${c.strategy}/${c.prealloc}/${c.writers}`),
    ).toEqual([
      'fsync/zero/1',
      'fdatasync/recycle/1',
      'fdatasync/zero/1',
      'fdatasync/none/1',
      'dsync/zero/1',
      'direct/zero/1',
      'periodic/zero/1',
      'none/zero/1',
      'fdatasync-sfr/zero/1',
    ]);
    expect(wal.filter((c) => c.kind === 'wal' && c.strategy === 'group-fdatasync').map((c) => c.kind === 'wal' && `${c.prealloc}/${c.writers}`)).toEqual([
      'recycle/1',
      'zero/1',
      'recycle/4',
      'zero/4',
      'recycle/16',
      'zero/16',
      'recycle/64',
      'zero/64',
    ]);
    const peers = cells.filter((c) => c.kind === 'peer');
    const at = (p: string): number[] => peers.filter((c) => c.kind === 'peer' && c.peer === p).map((c) => c.writers);
    expect(at('raw-floor')).toEqual([1, 4, 16, 64]); // at N: the group-commit ceiling
    expect(at('sqlite')).toEqual([1]);
    expect(at('leveldb')).toEqual([1, 4, 16, 64]);
    expect(at('pgbench')).toEqual([1, 4, 16, 64]);
    expect(peers.find((c) => c.kind === 'peer' && c.peer === 'pg_test_fsync')?.size).toBe(8192);
    expect(new Set(cells.map((c) => c.id)).size).toBe(cells.length);
  });

  it('--full is the whole product: 12 strategies x 4 writers x 4 sizes x 4 preallocations x 10 filesystems, plus 4 worker threads', () => {
    const wal = buildMatrix({ ...base, full: true, peers: [] });
    expect(wal).toHaveLength(12 * 4 * 4 * 4 * 10 + 12 * 3 * 4 * 4 * 10); // 4 threads at 4, 16, 64 writers
  });

  it('worker-thread counts multiply the WAL cells, never with more threads than writers', () => {
    const cells = buildMatrix({ ...base, strategies: ['group-fdatasync'], writers: [1, 64], preallocs: ['zero'], writerThreads: [0, 4], peers: [] });
    expect(cells.map((c) => c.id)).toEqual([
      'host/wal/group-fdatasync/zero/w1/4KiB',
      'host/wal/group-fdatasync/zero/w64/4KiB',
      'host/wal/group-fdatasync/zero/w64/4KiB/t4',
    ]);
    expect(badOption(() => parseBenchOptions({ writerThreads: '65' }))).toMatch(/--writer-threads must be a whole number from 0 to 64/);
    expect(parseBenchOptions({ writerThreads: '4,0' }).writerThreads).toEqual([0, 4]);
  });

  it('explicit options replace the preset on their axis, and peers follow the WAL writer counts', () => {
    const cells = buildMatrix({ ...base, strategies: ['fsync'], writers: [16], sizes: [1024], filesystems: ['xfs'], peers: ['raw-floor', 'leveldb'] });
    expect(cells.map((c) => c.id)).toEqual(['xfs/wal/fsync/zero/w16/1KiB', 'xfs/peer/raw-floor/w16/1KiB', 'xfs/peer/leveldb/w16/1KiB']);
  });

  it('interleaves: each round runs every cell once, odd rounds backwards, the run-once peer only in the middle round', () => {
    const cells = buildMatrix(base);
    const r0 = roundOrder(cells, 0, 3);
    const r1 = roundOrder(cells, 1, 3);
    const r2 = roundOrder(cells, 2, 3);
    const pg = (r: typeof cells): number => r.filter((c) => c.kind === 'peer' && c.peer === 'pg_test_fsync').length;
    expect([pg(r0), pg(r1), pg(r2)]).toEqual([0, 1, 0]);
    expect(r0).toHaveLength(cells.length - 1);
    expect(r1.filter((c) => !(c.kind === 'peer' && c.peer === 'pg_test_fsync')).map((c) => c.id)).toEqual([...r0].reverse().map((c) => c.id));
    // The WAL at 1 writer sits next to the peers it is compared with.
    const ids = r0.map((c) => c.id);
    expect(Math.abs(ids.indexOf('host/wal/fdatasync/zero/w1/4KiB') - ids.indexOf('host/peer/raw-floor/w1/4KiB'))).toBeLessThan(12);
  });
});
