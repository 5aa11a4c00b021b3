import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PEERS } from '../../src/bench/cell.js';
import type { BenchSelection } from '../../src/bench/options.js';
import { runSuite } from '../../src/bench/suite.js';
import { prepareWal } from '../../src/bench/wal-cell.js';

function hasCc(): boolean {
  try {
    execFileSync('cc', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

const walReady = (await prepareWal()).status === 'ready';

// The whole pipeline on real parts, as small as it gets: the WAL and the raw floor for 200 ms on
// this filesystem. Nothing about speed is asserted; what is checked is that both cells are
// measured, with latencies and device counters, and that the floor target is judged (not skipped).
describe.skipIf(!walReady || !hasCc())('bench suite end to end (needs the WAL addon and cc)', () => {
  // Under the project, not the OS temp dir: /tmp may be a tmpfs, which has no block device to count.
  mkdirSync(join(process.cwd(), '.cache'), { recursive: true });
  const workDir = mkdtempSync(join(process.cwd(), '.cache', 'bench-suite-test-'));
  afterAll(() => rmSync(workDir, { recursive: true, force: true }));

  // One strategy at 1 writer and the raw floor, 200 ms in one round.
  const selection = (over: Partial<BenchSelection>): BenchSelection => ({
    full: false,
    strategies: ['fdatasync'],
    writers: [1],
    sizes: [4096],
    filesystems: ['host'],
    preallocs: ['zero'],
    writerThreads: null,
    peers: PEERS.filter((p) => p === 'raw-floor'),
    durationMs: 200,
    rounds: 1,
    backgroundIo: 'none',
    interference: null,
    blockTrace: null,
    dir: null,
    cpuLoads: [0],
    offered: null,
    arrivals: 'poisson',
    seed: 1,
    outDir: join(workDir, 'out'),
    workDir,
    charts: false,
    ...over,
  });

  it('measures a WAL cell and the raw floor and judges the floor target', async () => {
    const sel = selection({});
    const phases: string[] = [];
    let slices = 0;
    const r = await runSuite(sel, { onPhase: (t) => phases.push(t), onPlan: () => {}, onSlice: () => {}, onSliceDone: () => slices++ }, 'test');
    expect(slices).toBe(2);
    expect(r.cleanupError).toBeUndefined();
    expect(r.cells.map((c) => `${c.id} ${c.status}`)).toEqual(['host/wal/fdatasync/zero/w1/4KiB measured', 'host/peer/raw-floor/w1/4KiB measured']);
    for (const c of r.cells) {
      if (c.status !== 'measured') continue;
      expect(c.metrics.ops).toBeGreaterThan(0);
      expect(c.metrics.latency.source).toBe('histogram');
      expect(c.metrics.latency.p50Us).toBeGreaterThan(0);
    }
    const floor = r.targets.find((t) => t.kind === 'floor');
    expect(floor?.status === 'pass' || floor?.status === 'fail').toBe(true);
    expect(phases).toContain('loading the WAL');
  });

  const shmRuns = (): string[] => readdirSync('/dev/shm').filter((n) => n.startsWith('powercut-bench-'));
  it.skipIf(!existsSync('/dev/shm'))('tmpfs: cells run in memory, acknowledge nothing durable, judge no target, and leave nothing in /dev/shm', async () => {
    const before = shmRuns();
    const sel = selection({ strategies: ['group-fdatasync'], filesystems: ['tmpfs'], outDir: join(workDir, 'out-tmpfs') });
    const r = await runSuite(sel, { onPhase: () => {}, onPlan: () => {}, onSlice: () => {}, onSliceDone: () => {} }, 'test');
    expect(r.cleanupError).toBeUndefined();
    expect(r.filesystems.find((f) => f.name === 'tmpfs')).toMatchObject({ status: 'ready', fsType: 'tmpfs' });
    expect(r.cells.map((c) => `${c.id} ${c.status}`)).toEqual(['tmpfs/wal/group-fdatasync/zero/w1/4KiB measured', 'tmpfs/peer/raw-floor/w1/4KiB measured']);
    for (const c of r.cells) {
      if (c.status !== 'measured') continue;
      expect(c.metrics.ops).toBeGreaterThan(0);
      expect(c.metrics.durableAck).toBe(false);
      expect(c.metrics.devices).toEqual([]);
    }
    expect(r.targets.filter((t) => t.title.startsWith('tmpfs'))).toEqual([]);
    expect(shmRuns()).toEqual(before);
  });
});
