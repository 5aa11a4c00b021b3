import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import * as hdr from 'hdr-histogram-js';
import { BenchError } from './bench-error.js';
import { splitStrategy, type WalCell } from './cell.js';
import { newHistogram, type LatencyHistogram } from './latency.js';
import { deviceWindow, type Slice } from './slice.js';
import type { SliceContext } from './slice-context.js';
import type { ThreadWriterData, ThreadWriterMessage } from './wal-thread-writer.js';
import { runOpenLoop } from './open-loop.js';
import { recycle, runWriterLoops, type Recycler } from './wal-writer-loops.js';

// Segment size for every WAL cell (the WAL's default is 64 MiB): small enough that a slice crosses
// segment boundaries, so preparing and recycling segments is paid inside the measurement as in
// real use, and each slice's set-up (zero-filling the first segment) matches the raw floor's
// 16 MiB fill; large enough for a 4 MiB entry.
export const SEGMENT_BYTES = 16 * 1024 * 1024;
// The periodic strategy's sync interval (also the WAL's default): loss bounded to 10 ms of appends.
export const PERIOD_MS = 10;
// Appends before timing starts, so one-time costs (first segment open, lazy native set-up) stay out.
const WARMUP_APPENDS = 16;
const THREAD_BOOT = fileURLToPath(new URL('./wal-thread-boot.mjs', import.meta.url));

type WalModule = typeof import('../wal/index.js');
type Wal = InstanceType<WalModule['Wal']>;

// The WAL is a native addon: load it lazily so a missing build fails the WAL cells with its
// reason instead of failing the whole suite at import time (the peers still run).
async function loadWal(): Promise<WalModule> {
  return import('../wal/index.js');
}

// Loads the WAL and its native addon once, before the first cell: a missing build then fails
// every WAL cell with one clear reason, and a rebuild of the addon file during the run cannot
// change the code being measured half-way (the loaded module stays in this process).
export async function prepareWal(): Promise<{ status: 'ready' } | { status: 'failed'; reason: string }> {
  try {
    const wal = await loadWal();
    wal.nativeModule();
    return { status: 'ready' };
  } catch (err) {
    return { status: 'failed', reason: err instanceof Error ? err.message : String(err) };
  }
}

// Fills and frees two segments before timing, so a recycle cell starts with segments to reuse
// (otherwise a short slice would end before the first truncate and measure plain 'zero').
async function primeRecycling(wal: Wal): Promise<void> {
  const big = randomBytes(1024 * 1024);
  let last = 0;
  for (let written = 0; written < 2 * SEGMENT_BYTES; written += big.length) last = await wal.append(big);
  await wal.truncate(last);
}

function entriesPerSegment(size: number): number {
  return Math.max(1, Math.floor(SEGMENT_BYTES / (size + 16)));
}

interface Timed {
  ops: number;
  hist: LatencyHistogram;
  /** Open loop only: arrivals never issued. */
  missed?: number;
}

// All writer loops on this event loop.
async function onEventLoop(wal: Wal, cell: WalCell, endNs: bigint): Promise<Timed> {
  const hist = newHistogram();
  const recycler: Recycler | undefined = cell.prealloc === 'recycle' ? { perSegment: entriesPerSegment(cell.size), truncatedTo: 0, busy: false } : undefined;
  const payload = randomBytes(cell.size);
  const ops = await runWriterLoops(wal, payload, cell.writers, endNs, hist, recycler);
  return { ops, hist };
}

// Open loop on this event loop: commits issued on the schedule (open-loop.ts), latency from each
// one's scheduled arrival.
async function openLoop(wal: Wal, cell: WalCell, ctx: SliceContext): Promise<Timed> {
  const hist = newHistogram();
  const recycler: Recycler | undefined = cell.prealloc === 'recycle' ? { perSegment: entriesPerSegment(cell.size), truncatedTo: 0, busy: false } : undefined;
  const payload = randomBytes(cell.size);
  const plan = {
    writers: cell.writers,
    offeredPerSec: cell.offered ?? 1,
    durationMs: ctx.durationMs,
    arrivals: ctx.arrivals?.process ?? 'poisson',
    seed: ctx.arrivals?.seed ?? 1,
  };
  const out = await runOpenLoop(plan, hist, async () => {
    const seq = await wal.append(payload);
    if (recycler) await recycle(wal, recycler, seq);
  });
  return { ops: out.ops, hist, missed: out.missed };
}

// Starts the worker threads of a threaded cell and waits until each has attached and warmed up;
// `go(endNs)` then releases them all at once and collects their results.
async function startThreads(wal: Wal, cell: WalCell): Promise<{ go(endNs: bigint): Promise<Timed> }> {
  const workers: Worker[] = [];
  const token = wal.share();
  const nextMessage = (w: Worker): Promise<ThreadWriterMessage> =>
    new Promise((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    });
  try {
    for (let t = 0; t < cell.threads; t++) {
      // Writer loops spread as evenly as possible over the threads.
      const loops = Math.floor(cell.writers / cell.threads) + (t < cell.writers % cell.threads ? 1 : 0);
      const data: ThreadWriterData = {
        token,
        loops,
        size: cell.size,
        recyclePerSegment: cell.prealloc === 'recycle' && t === 0 ? entriesPerSegment(cell.size) : null,
      };
      workers.push(new Worker(THREAD_BOOT, { workerData: data }));
    }
    const ready = await Promise.all(workers.map(nextMessage));
    const bad = ready.find((m) => m.type === 'error');
    if (bad?.type === 'error') throw new BenchError('SETUP_FAILED', `a writer thread failed to start: ${bad.message}`);
  } catch (err) {
    await Promise.all(workers.map((w) => w.terminate()));
    throw err;
  }
  return {
    async go(endNs: bigint): Promise<Timed> {
      const done = workers.map(nextMessage);
      for (const w of workers) w.postMessage({ endNs: endNs.toString() });
      const results = await Promise.all(done);
      await Promise.all(workers.map((w) => w.terminate()));
      const hist = newHistogram();
      let ops = 0;
      for (const r of results) {
        if (r.type === 'error') throw new BenchError('SETUP_FAILED', `a writer thread failed: ${r.message}`);
        if (r.type !== 'done') continue;
        ops += r.ops;
        hist.add(hdr.decodeFromCompressedBase64(r.histogram, 64, false));
      }
      return { ops, hist };
    },
  };
}

// Runs one slice of a WAL cell: N concurrent append loops, each awaiting its own append before the
// next (how a Node server uses a log), on this event loop or spread over worker_threads sharing
// the WAL, for the slice's duration. Latency is append call to acknowledgement; for periodic and
// none that acknowledgement is not durability (see ARCHITECTURE.md), and the report says so.
export async function runWalSlice(cell: WalCell, ctx: SliceContext): Promise<Slice> {
  const { Wal } = await loadWal();
  const { strategy, groupCommit, syncFileRange, syncDepth } = splitStrategy(cell.strategy);
  const wal = await Wal.open(ctx.dir, {
    strategy,
    groupCommit,
    ...(syncFileRange ? { syncFileRange } : {}),
    ...(syncDepth !== 1 ? { syncDepth } : {}),
    segmentSize: SEGMENT_BYTES,
    preallocate: cell.prealloc === 'recycle' ? 'zero' : cell.prealloc,
    // The WAL recycles by default; every other mode turns it off so each column measures one thing.
    recycle: cell.prealloc === 'recycle',
    ...(strategy === 'periodic' ? { periodMs: PERIOD_MS } : {}),
  });
  try {
    const warm = randomBytes(cell.size);
    for (let i = 0; i < WARMUP_APPENDS; i++) await wal.append(warm);
    if (cell.prealloc === 'recycle') await primeRecycling(wal);
    const threads = cell.threads > 0 ? await startThreads(wal, cell) : undefined;

    // CPU covers every thread of the process: the writer threads and the WAL's native threads.
    const io = deviceWindow(ctx.devices);
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const endNs = t0 + BigInt(ctx.durationMs) * 1_000_000n;
    const { ops, hist, missed } =
      cell.offered !== undefined ? await openLoop(wal, cell, ctx) : threads ? await threads.go(endNs) : await onEventLoop(wal, cell, endNs);
    const elapsedNs = Number(process.hrtime.bigint() - t0);
    const cpu = process.cpuUsage(cpu0);
    const devices = io.finish();
    return { ops, bytes: ops * cell.size, elapsedNs, latency: hist, devices, cpuUs: cpu.user + cpu.system, ...(missed === undefined ? {} : { missed }) };
  } finally {
    await wal.close();
  }
}
