import type { Cell, FsName, PeerName } from './cell.js';
import { ackIsDurable, curveLabel, MEMORY_FILESYSTEMS } from './cell.js';
import { knee, type CurvePoint } from './open-loop.js';
import { perCommit, type PerCommit } from './diskstats.js';
import { summarize, type LatencySummary } from './latency.js';
import type { ReportedPercentiles, SliceTotal } from './slice.js';

// The schema of results.json; docs/bench/results-schema.md describes every field. Bump the
// version when a field changes meaning.
export const RESULTS_SCHEMA = 'powercut-bench/1';

export interface LatencyFigures {
  /** Where the figures come from: our own histogram of every commit, a tool's own percentiles, or a mean only. */
  source: 'histogram' | 'tool-percentiles' | 'tool-mean';
  meanUs: number | null;
  p50Us: number | null;
  p99Us: number | null;
  p999Us: number | null;
  maxUs: number | null;
  /** Distribution curve (histogram source only). */
  curve: LatencySummary['curve'] | null;
}

export interface DeviceFigures extends PerCommit {
  device: string;
  writes: number;
  sectors: number;
  flushes: number | null;
}

export interface Metrics {
  ops: number;
  seconds: number;
  slices: number;
  opsPerSec: number;
  mbPerSec: number;
  /** Whether an acknowledgement meant durability (false for WAL periodic and none). */
  durableAck: boolean;
  latency: LatencyFigures;
  /** Per commit on the cell's own device, then (loop images) on the disk under the image. */
  devices: DeviceFigures[];
  cpuUsPerOp: number | null;
  /** Open loop through the suite's scheduler: arrivals offered within the cell's slices that were never issued. */
  missed?: number;
}

export type CellResult =
  | (Cell & { status: 'measured'; label: string; metrics: Metrics })
  | (Cell & { status: 'skipped'; label: string; reason: string })
  | (Cell & { status: 'failed'; label: string; error: string });

export type MeasuredCell = Extract<CellResult, { status: 'measured' }>;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

// fio computes its own percentiles per run; they cannot be merged, so the cell shows the median
// of each percentile over its slices.
function fromToolPercentiles(list: ReportedPercentiles[], meanUs: number | null): LatencyFigures {
  return {
    source: 'tool-percentiles',
    meanUs,
    p50Us: median(list.map((p) => p.p50)),
    p99Us: median(list.map((p) => p.p99)),
    p999Us: median(list.map((p) => p.p999)),
    maxUs: Math.max(...list.map((p) => p.max)),
    curve: null,
  };
}

// Turns a cell's summed slices into its metrics. `deviceOrder` puts the cell's own device first.
export function toMetrics(cell: Cell, total: SliceTotal, deviceOrder: readonly string[]): Metrics {
  const seconds = total.elapsedNs / 1e9;
  const toolMean = total.reportedMeanUsWeighted > 0 && total.ops > 0 ? total.reportedMeanUsWeighted / total.ops : null;
  let latency: LatencyFigures;
  if (total.latency && total.latency.totalCount > 0) {
    const s = summarize(total.latency);
    latency = { source: 'histogram', meanUs: s.meanUs, p50Us: s.p50Us, p99Us: s.p99Us, p999Us: s.p999Us, maxUs: s.maxUs, curve: s.curve };
  } else if (total.reportedPercentiles.length > 0) {
    latency = fromToolPercentiles(total.reportedPercentiles, toolMean);
  } else {
    latency = { source: 'tool-mean', meanUs: toolMean, p50Us: null, p99Us: null, p999Us: null, maxUs: null, curve: null };
  }
  const devices: DeviceFigures[] = [];
  for (const name of deviceOrder) {
    const c = total.devices.get(name);
    if (c) devices.push({ device: name, ...c, ...perCommit(c, total.ops) });
  }
  return {
    ops: total.ops,
    seconds,
    slices: total.slices,
    opsPerSec: seconds > 0 ? total.ops / seconds : 0,
    mbPerSec: seconds > 0 ? total.bytes / seconds / 1e6 : 0,
    // In memory nothing survives a power cut, whatever the strategy promises.
    durableAck: !MEMORY_FILESYSTEMS.has(cell.fs) && (cell.kind === 'peer' || ackIsDurable(cell.strategy)),
    latency,
    devices,
    cpuUsPerOp: total.cpuUs === null || total.ops === 0 ? null : total.cpuUs / total.ops,
    ...(total.missed === null ? {} : { missed: total.missed }),
  };
}

export interface FsReport {
  name: FsName;
  status: 'ready' | 'skipped';
  reason?: string;
  fsType?: string;
  mountOptions?: string;
  device?: string;
  loop?: { device: string; directIo: boolean | undefined; disk: string | undefined };
}

export interface PeerReport {
  peer: PeerName;
  fs: FsName;
  status: 'ready' | 'skipped';
  reason?: string;
  describe: string;
}

export type TargetStatus = 'pass' | 'fail' | 'not-measured';

export interface TargetResult {
  /** Which of the targets (floor, group-throughput, group-p99, peer, prealloc) or checks (flush-pass-through). */
  kind: 'floor' | 'group-throughput' | 'group-p99' | 'group-ceiling' | 'lone-writer' | 'peer' | 'prealloc' | 'flush-pass-through';
  title: string;
  status: TargetStatus;
  /** The measured ratio (or count), when measured. */
  value: number | null;
  /** The rule, e.g. ">= 0.95". */
  rule: string;
  /** The numbers behind the verdict, or why it could not be measured. */
  detail: string;
}

export interface OpenLoopCurve {
  /** The cell label without its rate (strategy or peer, preallocation, CPU load). */
  what: string;
  fs: FsName;
  writers: number;
  size: number;
  points: CurvePoint[];
  /** Highest offered rate whose p99 stays within 2x of the lightest load's (open-loop.ts, knee()). */
  knee: number | null;
}

// One curve per (filesystem, label, writers, size) of the open-loop cells, points by offered rate.
export function openLoopCurves(cells: readonly CellResult[]): OpenLoopCurve[] {
  const curves = new Map<string, OpenLoopCurve>();
  for (const c of cells) {
    if (c.status !== 'measured' || c.offered === undefined) continue;
    const what = curveLabel(c);
    const key = `${c.fs}|${what}|${c.writers}|${c.size}`;
    let curve = curves.get(key);
    if (!curve) {
      curve = { what, fs: c.fs, writers: c.writers, size: c.size, points: [], knee: null };
      curves.set(key, curve);
    }
    curve.points.push({
      offered: c.offered,
      achievedPerSec: c.metrics.opsPerSec,
      p50Us: c.metrics.latency.p50Us,
      p99Us: c.metrics.latency.p99Us,
      p999Us: c.metrics.latency.p999Us,
      missed: c.metrics.missed ?? null,
    });
  }
  for (const curve of curves.values()) {
    curve.points.sort((a, b) => a.offered - b.offered);
    curve.knee = knee(curve.points);
  }
  return [...curves.values()];
}

export interface BenchResults {
  schema: typeof RESULTS_SCHEMA;
  startedAt: string;
  finishedAt: string;
  command: string;
  host: {
    kernel: string;
    cpus: number;
    node: string;
    disk: string | undefined;
    writeCache: string | undefined;
    scheduler: string | undefined;
    /** 1-minute load average at the start and at the end of the run: how busy the machine was. */
    loadAvg: [number, number];
  };
  options: {
    full: boolean;
    durationMs: number;
    rounds: number;
    backgroundIo: string;
    /** Busy processes beside the cells: every cell ran once per count (its cpuLoad field; 0 = quiet). */
    cpuLoads?: number[];
    /** Open-loop offered rates (commits/s), or null for a closed-loop run; with the arrival process and seed. */
    offered?: number[] | null;
    arrivals?: string;
    seed?: number;
    walSegmentBytes: number;
    periodicMs: number;
  };
  filesystems: FsReport[];
  peers: PeerReport[];
  cells: CellResult[];
  targets: TargetResult[];
  /** Open loop: one latency-vs-offered-load curve per strategy or peer (empty for a closed-loop run). */
  curves?: OpenLoopCurve[];
  /** Present when something the run made could not be released (the message says what). */
  cleanupError?: string;
}
