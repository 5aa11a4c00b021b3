import { mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';
import { CleanupStack } from '../dm/index.js';
import { logger } from '../log.js';
import { BenchError } from './bench-error.js';
import { startBackgroundIo, type BackgroundLoad } from './background-io.js';
import { startCpuLoad } from './cpu-load.js';
import { cellLabel, type Cell, type FsName, type PeerName } from './cell.js';
import { ioScheduler, writeCacheMode } from './diskstats.js';
import { countedDevices, prepareFilesystems, type FsTarget, type ReadyFs } from './filesystems.js';
import { buildMatrix, roundOrder, runsOnce } from './matrix.js';
import type { BenchSelection } from './options.js';
import { FioDriver, LevelDbDriver, PgbenchDriver, PgTestFsyncDriver, RawFloorDriver, SqliteDriver, type PeerDriver, type Readiness } from './peers/index.js';
import { openLoopCurves, RESULTS_SCHEMA, toMetrics, type BenchResults, type CellResult, type FsReport, type PeerReport } from './results.js';
import { SliceTotal, type Slice } from './slice.js';
import { computeTargets } from './targets.js';
import { PERIOD_MS, prepareWal, runWalSlice, SEGMENT_BYTES } from './wal-cell.js';

const log = logger('bench');

// What the CLI wants to hear while the suite runs (the progress bar).
export interface SuiteHooks {
  onPhase(text: string): void;
  onPlan(totalSlices: number): void;
  onSlice(label: string): void;
  onSliceDone(): void;
}

function createDriver(peer: PeerName, fs: ReadyFs, cacheDir: string, stack: CleanupStack): PeerDriver {
  switch (peer) {
    case 'raw-floor':
      return new RawFloorDriver(cacheDir);
    case 'pg_test_fsync':
      return new PgTestFsyncDriver();
    case 'fio':
      return new FioDriver();
    case 'sqlite':
      return new SqliteDriver();
    case 'leveldb':
      return new LevelDbDriver();
    case 'pgbench':
      return new PgbenchDriver(fs.dir, stack);
  }
}

// How long a slice may take before the suite gives up on it: its measured time plus set-up
// (zero-filling a segment, starting threads, a pgbench connection storm) with a wide margin; the
// pg_test_fsync battery runs about 15 tests of the slice length.
export function sliceTimeoutMs(cell: Cell, sliceMs: number): number {
  const measured = runsOnce(cell) ? 20 * Math.max(1000, sliceMs) : Math.max(1000, sliceMs);
  return measured + 120_000;
}

// A cell that never finishes (a hung append, a tool that stops answering) must not hang the run:
// it is failed with a timeout and the suite moves on. The abandoned work is left to finish or
// die with the process.
function withTimeout<T>(work: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BenchError('CELL_TIMEOUT', `${what} did not finish within ${Math.round(ms / 1000)} s`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

// Paths under `dirs` that this process has open (/proc/self/fd).
function openFilesUnder(dirs: readonly string[]): string[] {
  if (dirs.length === 0) return [];
  const out: string[] = [];
  for (const fd of readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue;
    }
    if (dirs.some((d) => target.startsWith(d + '/'))) out.push(target);
  }
  return out;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function fsReport(f: FsTarget): FsReport {
  if (f.status === 'skipped') return { name: f.name, status: 'skipped', reason: f.reason };
  return {
    name: f.name,
    status: 'ready',
    fsType: f.fsType,
    mountOptions: f.mountOptions,
    device: f.device?.name,
    ...(f.loop ? { loop: { device: f.loop.device, directIo: f.loop.directIo, disk: f.loop.disk?.name } } : {}),
  };
}

// Runs the whole selection: prepares filesystems and peers, runs every cell in `rounds` slices
// in interleaved order, releases everything (also on error or Ctrl-C, through the cleanup stack),
// and returns the results with the targets computed from them.
export async function runSuite(sel: BenchSelection, hooks: SuiteHooks, command: string): Promise<BenchResults> {
  const startedAt = new Date().toISOString();
  const loadAtStart = loadavg()[0] ?? 0;
  const cells = buildMatrix(sel);
  if (cells.length === 0) throw new BenchError('BAD_OPTION', 'the selected options match no cell of the matrix');
  mkdirSync(sel.workDir, { recursive: true });
  const stack = new CleanupStack();
  const fsNames = [...new Set(cells.map((c) => c.fs))];
  const totals = new Map<string, SliceTotal>(cells.map((c) => [c.id, new SliceTotal()]));
  const failures = new Map<string, string>();
  const drivers = new Map<string, PeerDriver>();
  const readiness = new Map<string, Readiness>();
  const peerReports: PeerReport[] = [];
  let filesystems: FsTarget[] = [];
  let background: BackgroundLoad | undefined;
  let cleanupError: string | undefined;
  try {
    hooks.onPhase('preparing filesystems');
    filesystems = await prepareFilesystems(fsNames, sel.workDir, stack);
    const fsByName = new Map<FsName, FsTarget>(filesystems.map((f) => [f.name, f]));

    for (const fs of filesystems) {
      if (fs.status !== 'ready') continue;
      const peers = [...new Set(cells.filter((c) => c.kind === 'peer' && c.fs === fs.name).map((c) => (c.kind === 'peer' ? c.peer : null)))];
      for (const peer of peers) {
        if (peer === null) continue;
        hooks.onPhase(`preparing ${peer} on ${fs.name}`);
        const driver = createDriver(peer, fs, join(sel.workDir, 'cache'), stack);
        let ready: Readiness;
        try {
          ready = await driver.prepare();
        } catch (err) {
          ready = { status: 'skipped', reason: `could not be prepared: ${message(err)}` };
        }
        drivers.set(`${fs.name}/${peer}`, driver);
        readiness.set(`${fs.name}/${peer}`, ready);
        peerReports.push({ peer, fs: fs.name, describe: driver.describe, ...ready });
      }
    }

    if (cells.some((c) => c.kind === 'wal')) {
      hooks.onPhase('loading the WAL');
      const wal = await prepareWal();
      if (wal.status === 'failed') for (const c of cells) if (c.kind === 'wal') failures.set(c.id, wal.reason);
    }

    if (sel.backgroundIo !== 'none') {
      hooks.onPhase(`starting background I/O (${sel.backgroundIo})`);
      const dir = mkdtempSync(join(sel.workDir, 'background-'));
      stack.add({ kind: 'dir', path: dir });
      background = await startBackgroundIo(dir, sel.backgroundIo);
    }

    const plan = Array.from({ length: sel.rounds }, (_, r) => roundOrder(cells, r, sel.rounds));
    hooks.onPlan(plan.reduce((n, round) => n + round.length, 0));
    const sliceMs = Math.round(sel.durationMs / sel.rounds);

    for (const round of plan) {
      for (const cell of round) {
        hooks.onSlice(cellLabel(cell) + ` @ ${cell.fs} w${cell.writers}`);
        try {
          const fs = fsByName.get(cell.fs);
          if (fs?.status !== 'ready' || failures.has(cell.id)) continue;
          const driver = cell.kind === 'peer' ? drivers.get(`${cell.fs}/${cell.peer}`) : undefined;
          if (cell.kind === 'peer' && readiness.get(`${cell.fs}/${cell.peer}`)?.status !== 'ready') continue;
          const dir = mkdtempSync(join(fs.dir, 'cell-'));
          const dirReg = stack.add({ kind: 'dir', path: dir });
          // The busy processes run for this slice only, set-up included, and stop before the next.
          const load = cell.cpuLoad ? await startCpuLoad(cell.cpuLoad) : undefined;
          try {
            const ctx = {
              dir,
              devices: countedDevices(fs),
              durationMs: runsOnce(cell) ? Math.max(1000, sliceMs) : sliceMs,
              arrivals: { process: sel.arrivals, seed: sel.seed },
            };
            const work = cell.kind === 'wal' ? runWalSlice(cell, ctx) : driver!.slice(cell, ctx);
            const slice: Slice = await withTimeout(work, sliceTimeoutMs(cell, sliceMs), cell.id);
            totals.get(cell.id)!.add(slice);
          } catch (err) {
            log.warn({ cell: cell.id, err }, 'cell failed');
            failures.set(cell.id, message(err));
          } finally {
            await load?.stop();
            await stack.release(dirReg).catch((err: unknown) => log.warn({ err, dir }, 'could not remove a cell directory'));
          }
        } finally {
          hooks.onSliceDone();
        }
      }
    }
  } finally {
    hooks.onPhase('cleaning up');
    if (background) await background.stop();
    for (const d of drivers.values()) await d.close().catch((err: unknown) => log.warn({ err, peer: d.peer }, 'peer close failed'));
    // Files this process still holds on a filesystem keep its mount busy; name them, since the
    // cause is then a handle that was closed without releasing its files.
    const held = openFilesUnder(filesystems.filter((f): f is ReadyFs => f.status === 'ready' && f.loop !== undefined).map((f) => f.dir));
    if (held.length > 0) log.warn({ files: held }, 'files still open on a loop filesystem after every cell closed');
    // A resource that will not go (a busy mount) must not cost the measurements: the results are
    // still returned, with the failure in them, and the CLI exits non-zero after writing them.
    await stack.unwind().catch((err: unknown) => {
      cleanupError = message(err) + (held.length > 0 ? ` (this process still had open: ${held.join(', ')})` : '');
    });
  }

  const fsReports = filesystems.map(fsReport);
  const results: CellResult[] = cells.map((cell) => assemble(cell, filesystems, readiness, failures, totals.get(cell.id)!));
  const hostFs = filesystems.find((f): f is ReadyFs => f.status === 'ready' && f.name === 'host');
  const disk = hostFs?.device?.disk ?? filesystems.find((f): f is ReadyFs => f.status === 'ready' && f.loop?.disk !== undefined)?.loop?.disk?.disk;
  return {
    schema: RESULTS_SCHEMA,
    startedAt,
    finishedAt: new Date().toISOString(),
    command,
    host: {
      kernel: readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim(),
      cpus: cpus().length,
      node: process.version,
      disk,
      writeCache: disk ? writeCacheMode(disk) : undefined,
      scheduler: disk ? ioScheduler(disk) : undefined,
      loadAvg: [loadAtStart, loadavg()[0] ?? 0],
    },
    options: {
      full: sel.full,
      durationMs: sel.durationMs,
      rounds: sel.rounds,
      backgroundIo: sel.backgroundIo,
      cpuLoads: sel.cpuLoads,
      offered: sel.offered,
      arrivals: sel.arrivals,
      seed: sel.seed,
      walSegmentBytes: SEGMENT_BYTES,
      periodicMs: PERIOD_MS,
    },
    filesystems: fsReports,
    peers: peerReports,
    cells: results,
    targets: computeTargets(results, fsReports),
    curves: openLoopCurves(results),
    ...(cleanupError === undefined ? {} : { cleanupError }),
  };
}

function assemble(
  cell: Cell,
  filesystems: readonly FsTarget[],
  readiness: Map<string, Readiness>,
  failures: Map<string, string>,
  total: SliceTotal,
): CellResult {
  const label = cellLabel(cell);
  const fs = filesystems.find((f) => f.name === cell.fs);
  if (!fs || fs.status !== 'ready')
    return { ...cell, label, status: 'skipped', reason: `filesystem ${cell.fs} skipped: ${fs?.status === 'skipped' ? fs.reason : 'not prepared'}` };
  if (cell.kind === 'peer') {
    const r = readiness.get(`${cell.fs}/${cell.peer}`);
    if (r?.status === 'skipped') return { ...cell, label, status: 'skipped', reason: r.reason };
  }
  const failed = failures.get(cell.id);
  if (failed !== undefined) return { ...cell, label, status: 'failed', error: failed };
  if (total.slices === 0 || total.ops === 0) return { ...cell, label, status: 'failed', error: 'no operation completed' };
  return { ...cell, label, status: 'measured', metrics: toMetrics(cell, total, countedDevices(fs)) };
}
