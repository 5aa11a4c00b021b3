import { randomBytes } from 'node:crypto';
import { splitStrategy, type WalCell } from './cell.js';
import { newHistogram } from './latency.js';
import { deviceWindow, type Slice } from './slice.js';
import type { SliceContext } from './slice-context.js';

// Segment size for every WAL cell: small enough that a slice crosses segment boundaries (so
// zero-filling and recycling are paid inside the measurement, as in real use), large enough that
// a 4 MiB entry fits.
export const SEGMENT_BYTES = 16 * 1024 * 1024;
// The periodic strategy's sync interval: PostgreSQL's wal_writer_delay is 200 ms, etcd-style
// batching uses 10 ms or less; 10 ms bounds loss to a small window while still batching.
export const PERIOD_MS = 10;
// Appends before timing starts, so one-time costs (first segment open, lazy native set-up) stay out.
const WARMUP_APPENDS = 16;

type WalModule = typeof import('../wal/index.js');

// The WAL is a native addon: load it lazily so a missing build fails the WAL cells with its
// reason instead of failing the whole suite at import time (the peers still run).
async function loadWal(): Promise<WalModule> {
  return import('../wal/index.js');
}

// Fills and frees two segments before timing, so a recycle cell starts with segments to reuse
// (otherwise a short slice would end before the first truncate and measure plain 'zero').
async function primeRecycling(wal: InstanceType<WalModule['Wal']>): Promise<void> {
  const big = randomBytes(1024 * 1024);
  let last = 0;
  for (let written = 0; written < 2 * SEGMENT_BYTES; written += big.length) last = await wal.append(big);
  await wal.truncate(last);
}

// Runs one slice of a WAL cell: N concurrent append loops on this event loop, each awaiting its
// own append before the next (how a Node server uses a log), for the slice's duration.
// Latency is append-call to acknowledgement; for periodic and none that acknowledgement is not
// durability (see ARCHITECTURE.md), and the report says so.
export async function runWalSlice(cell: WalCell, ctx: SliceContext): Promise<Slice> {
  const { Wal } = await loadWal();
  const { strategy, groupCommit } = splitStrategy(cell.strategy);
  const recycle = cell.prealloc === 'recycle';
  const wal = await Wal.open(ctx.dir, {
    strategy,
    groupCommit,
    segmentSize: SEGMENT_BYTES,
    preallocate: cell.prealloc === 'recycle' ? 'zero' : cell.prealloc,
    // The WAL recycles by default; every other mode turns it off so each column measures one thing.
    recycle,
    ...(strategy === 'periodic' ? { periodMs: PERIOD_MS } : {}),
  });
  try {
    const payloads = Array.from({ length: cell.writers }, () => randomBytes(cell.size));
    for (let i = 0; i < WARMUP_APPENDS; i++) await wal.append(payloads[0]!);
    if (recycle) await primeRecycling(wal);

    // In recycle mode the log is kept short the way a checkpointer would: once a segment's worth
    // of entries is behind the newest, everything but the last half segment is truncated.
    const perSegment = Math.max(1, Math.floor(SEGMENT_BYTES / (cell.size + 16)));
    let truncatedTo = 0;
    let truncating = false;

    const hist = newHistogram();
    let ops = 0;
    const io = deviceWindow(ctx.devices);
    const cpu0 = process.cpuUsage();
    const t0 = process.hrtime.bigint();
    const end = t0 + BigInt(ctx.durationMs) * 1_000_000n;
    const writer = async (payload: Uint8Array): Promise<void> => {
      while (process.hrtime.bigint() < end) {
        const s = process.hrtime.bigint();
        const seq = await wal.append(payload);
        hist.recordValue(Number(process.hrtime.bigint() - s));
        ops++;
        if (recycle && !truncating && seq - truncatedTo > perSegment) {
          truncating = true;
          truncatedTo = seq - Math.floor(perSegment / 2);
          await wal.truncate(truncatedTo);
          truncating = false;
        }
      }
    };
    await Promise.all(payloads.map(writer));
    const elapsedNs = Number(process.hrtime.bigint() - t0);
    const cpu = process.cpuUsage(cpu0);
    const devices = io.finish();
    return { ops, bytes: ops * cell.size, elapsedNs, latency: hist, devices, cpuUs: cpu.user + cpu.system };
  } finally {
    await wal.close();
  }
}
