import { mkdirSync, mkdtempSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { CleanupStack } from '../dm/index.js';
import { BenchError } from './bench-error.js';
import { BACKGROUND_PATTERNS, startBackgroundIo, trackBackground, type BackgroundOutcome, type BackgroundPattern, type IoClass } from './background-io.js';
import { cellId, type FsName, type WalCell } from './cell.js';
import { activeScheduler, classesCanAct, ioScheduler, offersScheduler, setScheduler } from './diskstats.js';
import { countedDevices, prepareFilesystems, type ReadyFs } from './filesystems.js';
import { summarize } from './latency.js';
import { SliceTotal } from './slice.js';
import { prepareWal, runWalSlice } from './wal-cell.js';

// `pnpm bench --interference`: what a competing writer does to the WAL's commit latency, and
// whether its ionice class changes that, under bfq and under mq-deadline (the host disk's; it
// orders by class too since Linux 5.14, with aging, which classesCanAct detects), on the SAME
// loop image in one run. Every cell is
// one WAL writer (fdatasync, 4 KiB, zero-filled segments) beside one background fio (a pattern
// in a class), or alone; cells run in rounds in alternating order, so drift hits all alike.

export const INTERFERENCE_CLASSES: readonly IoClass[] = ['idle', 'best-effort', 'realtime'];
export const INTERFERENCE_SCHEDULERS = ['bfq', 'mq-deadline'] as const;

// How long the background runs before the WAL starts measuring: fio's start and the page cache
// filling up (buffered patterns) are not the steady state.
const RAMP_MS = 1000;

export interface InterferenceCell {
  scheduler: string;
  pattern: BackgroundPattern | 'none';
  ioClass: IoClass | 'none';
}

export interface InterferenceRow extends InterferenceCell {
  status: 'measured' | 'failed';
  error?: string;
  /** Whether the class can act here: the scheduler, once active on the device, orders by class (classesCanAct). */
  classCanAct: boolean;
  wal?: { commits: number; opsPerSec: number; p50Us: number; p99Us: number; p999Us: number; maxUs: number };
  background?: BackgroundOutcome;
}

export interface InterferenceResults {
  schema: 'powercut-interference/1';
  startedAt: string;
  finishedAt: string;
  command: string;
  loadAvg: [number, number];
  fs: FsName;
  /** The filesystem's device (the loop device whose scheduler is switched), and the disk under the image. */
  device: string;
  disk: string | undefined;
  /** The scheduler line of every device involved, as found before the run (the bracketed one active). */
  schedulers: Record<string, string | undefined>;
  /** Schedulers asked for that this device does not offer (their cells are not run). */
  unavailable: string[];
  sliceMs: number;
  rounds: number;
  rows: InterferenceRow[];
}

export interface InterferenceOptions {
  fs: FsName;
  schedulers: readonly string[];
  patterns: readonly BackgroundPattern[];
  classes: readonly IoClass[];
  durationMs: number;
  rounds: number;
  workDir: string;
  command: string;
  onCell?: (label: string, done: number, total: number) => void;
}

export function interferenceCells(o: Pick<InterferenceOptions, 'schedulers' | 'patterns' | 'classes'>): InterferenceCell[] {
  const cells: InterferenceCell[] = [];
  for (const scheduler of o.schedulers) {
    cells.push({ scheduler, pattern: 'none', ioClass: 'none' });
    for (const pattern of o.patterns) for (const ioClass of o.classes) cells.push({ scheduler, pattern, ioClass });
  }
  return cells;
}

export const cellKey = (c: InterferenceCell): string => `${c.scheduler}/${c.pattern}/${c.ioClass}`;

const WAL_CELL: Omit<WalCell, 'id' | 'fs'> = { kind: 'wal', strategy: 'fdatasync', writers: 1, size: 4096, prealloc: 'zero', threads: 0 };

export async function runInterference(o: InterferenceOptions): Promise<InterferenceResults> {
  const startedAt = new Date().toISOString();
  const load0 = loadavg()[0] ?? 0;
  if (o.fs === 'host' || o.fs === 'tmpfs')
    throw new BenchError('BAD_OPTION', '--interference needs a loop-image filesystem (its scheduler is switched), not host or tmpfs');
  const wal = await prepareWal();
  if (wal.status === 'failed') throw new BenchError('SETUP_FAILED', `the WAL cannot be loaded: ${wal.reason}`);
  const stack = new CleanupStack();
  const rows = new Map<string, { total: SliceTotal; bg: BackgroundOutcome[]; error?: string }>();
  try {
    const [target] = await prepareFilesystems([o.fs], o.workDir, stack);
    if (target?.status !== 'ready' || !target.loop)
      throw new BenchError('SETUP_FAILED', `${o.fs} could not be prepared: ${target?.status === 'skipped' ? target.reason : 'no loop device'}`);
    const fs: ReadyFs = target;
    const loop = fs.loop!.device;
    const disk = fs.loop!.disk?.disk;
    const schedulers: Record<string, string | undefined> = { [loop]: ioScheduler(loop), ...(disk ? { [disk]: ioScheduler(disk) } : {}) };
    const original = activeScheduler(schedulers[loop]);
    const unavailable = o.schedulers.filter((s) => !offersScheduler(schedulers[loop], s));
    const cells = interferenceCells({ ...o, schedulers: o.schedulers.filter((s) => !unavailable.includes(s)) });
    const total = cells.length * o.rounds;
    const sliceMs = Math.round(o.durationMs / o.rounds);
    const walCell: WalCell = { ...WAL_CELL, fs: o.fs, id: cellId({ ...WAL_CELL, fs: o.fs }) };
    let done = 0;
    const classAware = new Map<string, boolean>();
    try {
      for (let round = 0; round < o.rounds; round++) {
        // Odd rounds backwards, so no cell always runs right after the same neighbour.
        const order = round % 2 === 0 ? cells : [...cells].reverse();
        let current: string | undefined;
        for (const cell of order) {
          o.onCell?.(cellKey(cell), done, total);
          const entry = rows.get(cellKey(cell)) ?? { total: new SliceTotal(), bg: [] };
          rows.set(cellKey(cell), entry);
          try {
            if (current !== cell.scheduler) {
              setScheduler(loop, cell.scheduler);
              current = cell.scheduler;
              classAware.set(cell.scheduler, classesCanAct(loop));
            }
            const dir = mkdtempSync(join(fs.dir, 'cell-'));
            const dirReg = stack.add({ kind: 'dir', path: dir });
            try {
              // The WAL wants a directory of its own: the background's file sits beside it.
              const [walDir, bgDir] = [join(dir, 'wal'), join(dir, 'background')];
              for (const d of [walDir, bgDir]) mkdirSync(d);
              const bg = cell.pattern === 'none' || cell.ioClass === 'none' ? undefined : await startBackgroundIo(bgDir, cell.ioClass, cell.pattern);
              if (bg) trackBackground(stack, bg);
              try {
                if (bg) await new Promise((r) => setTimeout(r, RAMP_MS));
                entry.total.add(await runWalSlice(walCell, { dir: walDir, devices: countedDevices(fs), durationMs: sliceMs }));
              } finally {
                if (bg) entry.bg.push(await bg.stop());
              }
            } finally {
              await stack.release(dirReg);
            }
          } catch (err) {
            entry.error = err instanceof Error ? err.message : String(err);
          }
          done++;
        }
      }
    } finally {
      if (original) setScheduler(loop, original);
    }
    const out: InterferenceRow[] = cells.map((cell) => {
      const r = rows.get(cellKey(cell))!;
      const classCanAct = classAware.get(cell.scheduler) ?? false;
      if (r.error !== undefined || !r.total.latency || r.total.ops === 0)
        return { ...cell, classCanAct, status: 'failed', error: r.error ?? 'no commit completed' };
      const s = summarize(r.total.latency);
      const bytes = r.bg.reduce((n, b) => n + b.bytes, 0);
      const ms = r.bg.reduce((n, b) => n + b.runtimeMs, 0);
      return {
        ...cell,
        classCanAct,
        status: 'measured',
        wal: {
          commits: r.total.ops,
          opsPerSec: r.total.ops / (r.total.elapsedNs / 1e9),
          p50Us: s.p50Us,
          p99Us: Math.min(s.p99Us, s.maxUs),
          p999Us: s.p999Us,
          maxUs: s.maxUs,
        },
        ...(r.bg.length > 0 ? { background: { bytes, runtimeMs: ms, mbPerSec: ms > 0 ? bytes / 1e6 / (ms / 1000) : 0 } } : {}),
      };
    });
    return {
      schema: 'powercut-interference/1',
      startedAt,
      finishedAt: new Date().toISOString(),
      command: o.command,
      loadAvg: [load0, loadavg()[0] ?? 0],
      fs: o.fs,
      device: loop,
      disk,
      schedulers,
      unavailable,
      sliceMs,
      rounds: o.rounds,
      rows: out,
    };
  } finally {
    await stack.unwind();
  }
}

const fmt = (n: number | undefined): string => (n === undefined ? '-' : n >= 100 ? String(Math.round(n)) : n.toFixed(1));

/** The table as markdown: one row per cell, WAL figures and the background's throughput side by side. */
export function formatInterference(r: InterferenceResults): string {
  const lines: string[] = [];
  lines.push(
    `WAL fdatasync, 1 writer, 4 KiB, on ${r.fs} (loop device ${r.device}, image on ${r.disk ?? '?'}); ${r.rounds} rounds of ${r.sliceMs} ms per cell; load average ${r.loadAvg[0].toFixed(1)} -> ${r.loadAvg[1].toFixed(1)}.`,
    `Schedulers before the run: ${Object.entries(r.schedulers)
      .map(([d, s]) => `${d}: ${s ?? '?'}`)
      .join('; ')}.`,
    '',
  );
  if (r.unavailable.length > 0) lines.push(`Not offered by ${r.device} (cells not run): ${r.unavailable.join(', ')}.`, '');
  lines.push('| scheduler | background | class | WAL commits/s | p50 us | p99 us | p99.9 us | max us | background MB/s | class can act |');
  lines.push('|---|---|---|---:|---:|---:|---:|---:|---:|---|');
  for (const row of r.rows) {
    const can = row.ioClass === 'none' ? '' : row.classCanAct ? 'yes' : `no: ${row.scheduler} here does not order by ionice class`;
    if (row.status === 'failed') {
      lines.push(`| ${row.scheduler} | ${row.pattern} | ${row.ioClass} | failed: ${row.error ?? '?'} | | | | | | ${can} |`);
      continue;
    }
    const w = row.wal!;
    lines.push(
      `| ${row.scheduler} | ${row.pattern} | ${row.ioClass} | ${fmt(w.opsPerSec)} | ${fmt(w.p50Us)} | ${fmt(w.p99Us)} | ${fmt(w.p999Us)} | ${fmt(w.maxUs)} | ${row.background ? fmt(row.background.mbPerSec) : '-'} | ${can} |`,
    );
  }
  lines.push(
    '',
    "The WAL runs in best-effort (the default class). Buffered patterns: most of their data is written back by the kernel flusher, whose I/O carries no class of the writer; only the fdatasync every 8 MiB writes in the writer's own context. Background MB/s is fio's own count from its start to its stop (the WAL slice plus a 1 s ramp).",
  );
  return lines.join('\n');
}

export { BACKGROUND_PATTERNS };
