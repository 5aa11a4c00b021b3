import { isAbsolute, resolve } from 'node:path';
import { parseInteger, parseSeconds, type Parsed } from '../cli/parse-args.js';
import { BenchError } from './bench-error.js';
import { FILESYSTEMS, PEERS, PREALLOC_MODES, STRATEGIES, type FsName, type PeerName, type PreallocMode, type StrategyName } from './cell.js';
import { ARRIVAL_PROCESSES, type ArrivalProcess } from './open-loop.js';
import { isStrategy } from '../strategy/index.js';
import type { TraceSpec } from './block-trace/run.js';

export const BACKGROUND_IO_CLASSES = ['none', 'idle', 'best-effort', 'realtime'] as const;
export type BackgroundIo = (typeof BACKGROUND_IO_CLASSES)[number];

// blk-mq's schedulers; the interference experiment compares a class-aware one (bfq) with the host disk's.
export const IO_SCHEDULERS = ['bfq', 'mq-deadline', 'kyber', 'none'] as const;
const DEFAULT_SCHEDULERS = ['bfq', 'mq-deadline'] as const;

// What the user asked for, validated. `null` means "not given": the preset (default or --full) decides.
export interface BenchSelection {
  full: boolean;
  strategies: StrategyName[] | null;
  writers: number[] | null;
  sizes: number[] | null;
  filesystems: FsName[] | null;
  preallocs: PreallocMode[] | null;
  /** Worker-thread counts for WAL cells (0 = the main event loop). */
  writerThreads: number[] | null;
  peers: PeerName[];
  /** Measured time per cell, summed over its rounds. */
  durationMs: number;
  /** Each cell runs in this many slices spread over the run, so drift on a noisy machine hits all cells alike. */
  rounds: number;
  backgroundIo: BackgroundIo;
  /** Run the interference experiment (src/bench/interference.ts) instead of the matrix, under these schedulers. */
  interference: { schedulers: string[] } | null;
  /** Block-trace one short run per strategy (src/bench/block-trace) instead of the matrix. */
  blockTrace: { specs: TraceSpec[] } | null;
  /** --dir: the `host` cells write under this directory (any device) instead of the work directory. */
  dir: string | null;
  /** Busy processes beside the cells: every cell runs once per count (0 = quiet). */
  cpuLoads: number[];
  /** Open loop: every WAL cell and every open-loop peer runs once per offered rate (commits/s); null: closed loop. */
  offered: number[] | null;
  arrivals: ArrivalProcess;
  seed: number;
  outDir: string;
  workDir: string;
  charts: boolean;
}

// The raw strings commander hands over (every option optional).
export interface RawBenchOptions {
  full?: boolean;
  strategy?: string;
  writers?: string;
  size?: string;
  fs?: string;
  prealloc?: string;
  writerThreads?: string;
  peers?: string;
  duration?: string;
  rounds?: string;
  backgroundIo?: string;
  interference?: boolean;
  schedulers?: string;
  blockTrace?: boolean;
  commits?: string;
  strace?: boolean;
  dir?: string;
  cpuLoad?: string;
  offered?: string;
  arrivals?: string;
  seed?: string;
  out?: string;
  workDir?: string;
  charts?: boolean;
}

function bad(message: string): never {
  throw new BenchError('BAD_OPTION', message);
}

function list(option: string, value: string): string[] {
  const items = value.split(',').map((s) => s.trim());
  if (items.length === 0 || items.some((s) => s === '')) bad(`${option} ${JSON.stringify(value)}: expected a comma-separated list with no empty items`);
  return items;
}

function unique<T>(items: T[]): T[] {
  return [...new Set(items)];
}

function oneOf<T extends string>(option: string, value: string, allowed: readonly T[], aliases: Record<string, readonly T[]> = {}): T[] {
  const alias = aliases[value];
  if (alias) return [...alias];
  if ((allowed as readonly string[]).includes(value)) return [value as T];
  const extra = Object.keys(aliases);
  bad(`${option}: unknown value ${JSON.stringify(value)} (allowed: ${[...allowed, ...extra].join(', ')})`);
}

// "4096", "4k", "4KiB", "1m", "1MiB", "256B" -> bytes.
export function parseSize(text: string): number {
  const m = /^(\d+)\s*(b|k|kb|kib|m|mb|mib)?$/i.exec(text.trim());
  if (!m) bad(`--size ${JSON.stringify(text)}: expected a byte count like 256, 4k, 4KiB or 1MiB`);
  const n = Number(m[1]);
  const unit = (m[2] ?? 'b').toLowerCase();
  const bytes = unit.startsWith('k') ? n * 1024 : unit.startsWith('m') ? n * 1024 * 1024 : n;
  // An entry must fit well inside one of the suite's 16 MiB segments; 4 MiB is already far
  // beyond a sensible log entry.
  if (!Number.isSafeInteger(bytes) || bytes < 1 || bytes > 4 * 1024 * 1024) bad(`--size ${JSON.stringify(text)}: must be between 1 byte and 4 MiB`);
  return bytes;
}

function value<T>(parsed: Parsed<T>): T {
  if (!parsed.ok) bad(parsed.message);
  return parsed.value;
}

// A comma list of whole numbers in [min, max], sorted, without repeats.
function parseIntegers(option: string, text: string, min: number, max: number): number[] {
  return unique(list(option, text).map((item) => value(parseInteger(option, item, min, max)))).sort((a, b) => a - b);
}

// A timestamped directory under results/, so runs never overwrite each other.
export function defaultOutDir(now: Date, cwd: string): string {
  const stamp = now
    .toISOString()
    .replace(/[:.]/g, '-')
    .replace(/-\d{3}Z$/, 'Z');
  return resolve(cwd, 'results', `bench-${stamp}`);
}

// The strategies a block trace covers by default: every strategy, and group commit over fdatasync.
const BLOCK_TRACE_DEFAULT: readonly StrategyName[] = ['fsync', 'fdatasync', 'dsync', 'direct', 'periodic', 'none', 'group-fdatasync'];
// Options of the matrix that mean nothing to a block trace (its own ext4 on dm-log-writes, 4 KiB).
const NOT_WITH_BLOCK_TRACE = ['full', 'size', 'fs', 'prealloc', 'writerThreads', 'peers', 'backgroundIo', 'interference', 'dir', 'cpuLoad', 'offered'] as const;

// One spec per strategy: plain strategies with one writer (a commit is then one append), group
// commit with 8 concurrent writers (so a sync carries several), or --writers N for all.
function blockTraceSpecs(raw: RawBenchOptions, strategies: StrategyName[] | null): TraceSpec[] {
  for (const key of NOT_WITH_BLOCK_TRACE) {
    if (raw[key] !== undefined)
      bad(`--block-trace runs its own ext4 on dm-log-writes in the microVM; leave out --${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`);
  }
  const commits = raw.commits === undefined ? 32 : value(parseInteger('--commits', raw.commits, 1, 10_000));
  const writers = raw.writers === undefined ? null : value(parseInteger('--writers', raw.writers, 1, 64));
  // `all` means every strategy of the WAL here, not the matrix's variants (the sync_file_range hint, sync depth).
  return (raw.strategy?.trim() === 'all' || strategies === null ? BLOCK_TRACE_DEFAULT : strategies).map((name) => {
    const group = name.startsWith('group-');
    const strategy = group ? name.slice('group-'.length) : name;
    if (!isStrategy(strategy)) bad(`--block-trace traces the WAL's strategies and group commit over them, not ${name}`);
    return { strategy, groupCommit: group, commits, writers: writers ?? (group ? 8 : 1), strace: raw.strace === true };
  });
}

// Turns commander's raw strings into a validated selection, or throws BenchError('BAD_OPTION')
// with a message that names the option and what it accepts.
export function parseBenchOptions(raw: RawBenchOptions, now: Date = new Date(), cwd: string = process.cwd()): BenchSelection {
  const strategies =
    raw.strategy === undefined
      ? null
      : unique(list('--strategy', raw.strategy).flatMap((s) => oneOf('--strategy', s, STRATEGIES, { all: STRATEGIES, group: ['group-fdatasync'] })));
  const filesystems =
    raw.fs === undefined ? null : unique(list('--fs', raw.fs).flatMap((s) => oneOf('--fs', s, FILESYSTEMS, { all: FILESYSTEMS, ext4: ['ext4-ordered'] })));
  const preallocs =
    raw.prealloc === undefined
      ? null
      : unique(list('--prealloc', raw.prealloc).flatMap((s) => oneOf('--prealloc', s, PREALLOC_MODES, { all: PREALLOC_MODES })));
  const peers =
    raw.peers === undefined
      ? [...PEERS]
      : raw.peers === 'none'
        ? []
        : unique(list('--peers', raw.peers).flatMap((s) => oneOf('--peers', s, PEERS, { all: PEERS })));
  const backgroundIo = raw.backgroundIo === undefined ? 'none' : (oneOf('--background-io', raw.backgroundIo, BACKGROUND_IO_CLASSES)[0] ?? 'none');
  const rounds = raw.rounds === undefined ? 4 : value(parseInteger('--rounds', raw.rounds, 1, 20));
  const durationMs = raw.duration === undefined ? 3000 : Math.round(value(parseSeconds('--duration', raw.duration.trim(), 0.1, 3600)) * 1000);
  if (durationMs / rounds < 100)
    bad(`--duration ${durationMs / 1000}s over ${rounds} rounds leaves under 100 ms per slice; raise --duration or lower --rounds`);
  if (raw.schedulers !== undefined && raw.interference !== true) bad('--schedulers goes with --interference');
  const schedulers =
    raw.schedulers === undefined
      ? [...DEFAULT_SCHEDULERS]
      : unique(list('--schedulers', raw.schedulers).flatMap((s) => oneOf('--schedulers', s, IO_SCHEDULERS)));
  if (raw.dir !== undefined && filesystems !== null && !filesystems.includes('host'))
    bad(`--dir PATH is where the host cells write: with --fs, include host (got ${filesystems.join(',')})`);
  if (raw.dir !== undefined && raw.interference === true) bad('--interference runs on a loop image of its own; leave out --dir');
  if (raw.interference === true) {
    if (filesystems !== null && filesystems.length !== 1) bad('--interference runs on one loop-image filesystem: give --fs one name');
    if (filesystems?.[0] === 'host' || filesystems?.[0] === 'tmpfs')
      bad(`--interference needs a loop-image filesystem (its scheduler is switched), not ${filesystems[0]}`);
    if (raw.backgroundIo !== undefined) bad('--interference runs every background class itself; leave out --background-io');
  }
  if (raw.blockTrace !== true && raw.commits !== undefined) bad('--commits goes with --block-trace');
  if (raw.blockTrace !== true && raw.strace === true) bad('--strace goes with --block-trace');
  const blockTrace = raw.blockTrace === true ? { specs: blockTraceSpecs(raw, strategies) } : null;
  const writerThreads = raw.writerThreads === undefined ? null : parseIntegers('--writer-threads', raw.writerThreads, 0, 64);
  const offered = raw.offered === undefined ? null : parseIntegers('--offered', raw.offered, 1, 10_000_000);
  // The scheduler issues every arrival from the main event loop.
  if (offered !== null && writerThreads !== null && writerThreads.some((t) => t !== 0))
    bad('--offered drives writers from the main event loop only: drop --writer-threads or give it 0');
  return {
    full: raw.full === true,
    strategies,
    writers: raw.writers === undefined || blockTrace !== null ? null : parseIntegers('--writers', raw.writers, 1, 4096),
    sizes: raw.size === undefined ? null : unique(list('--size', raw.size).map(parseSize)).sort((a, b) => a - b),
    filesystems,
    preallocs,
    // 0 = the main event loop.
    writerThreads,
    peers,
    durationMs,
    rounds,
    backgroundIo,
    interference: raw.interference === true ? { schedulers } : null,
    blockTrace,
    dir: raw.dir === undefined ? null : isAbsolute(raw.dir) ? raw.dir : resolve(cwd, raw.dir),
    cpuLoads: raw.cpuLoad === undefined ? [0] : parseIntegers('--cpu-load', raw.cpuLoad, 0, 64),
    offered,
    arrivals: raw.arrivals === undefined ? 'poisson' : (oneOf('--arrivals', raw.arrivals, ARRIVAL_PROCESSES)[0] ?? 'poisson'),
    seed: raw.seed === undefined ? 1 : value(parseInteger('--seed', raw.seed, 0, 2 ** 31 - 1)),
    outDir: raw.out === undefined ? defaultOutDir(now, cwd) : isAbsolute(raw.out) ? raw.out : resolve(cwd, raw.out),
    workDir: raw.workDir === undefined ? resolve(cwd, '.cache', 'bench') : resolve(cwd, raw.workDir),
    charts: raw.charts !== false,
  };
}
