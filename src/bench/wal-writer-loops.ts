import type { Wal } from '../wal/index.js';
import type { LatencyHistogram } from './latency.js';

// The truncation policy of recycle cells: once a segment's worth of entries is behind the newest,
// everything but the last half segment is truncated, the way a checkpointer keeps a log short.
export interface Recycler {
  perSegment: number;
  truncatedTo: number;
  busy: boolean;
}

// Runs `loops` concurrent append loops until the monotonic clock passes `endNs`, each awaiting its
// own append before the next, recording append-to-acknowledgement latency in nanoseconds.
// Returns the number of acknowledged appends. Used on the main event loop and in worker_threads.
export async function runWriterLoops(
  wal: Wal,
  payload: Uint8Array,
  loops: number,
  endNs: bigint,
  hist: LatencyHistogram,
  recycler?: Recycler,
): Promise<number> {
  let ops = 0;
  const writer = async (): Promise<void> => {
    while (process.hrtime.bigint() < endNs) {
      const s = process.hrtime.bigint();
      const seq = await wal.append(payload);
      hist.recordValue(Number(process.hrtime.bigint() - s));
      ops++;
      if (recycler) await recycle(wal, recycler, seq);
    }
  };
  await Promise.all(Array.from({ length: loops }, writer));
  return ops;
}

// Applies the truncation policy after the commit of `seq` (at most one truncate at a time).
export async function recycle(wal: Wal, recycler: Recycler, seq: number): Promise<void> {
  if (recycler.busy || seq - recycler.truncatedTo <= recycler.perSegment) return;
  recycler.busy = true;
  recycler.truncatedTo = seq - Math.floor(recycler.perSegment / 2);
  await wal.truncate(recycler.truncatedTo);
  recycler.busy = false;
}
