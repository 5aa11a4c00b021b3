// One worker_thread of a threaded WAL cell: attaches to the WAL the main thread opened, runs its
// share of the writer loops between the main thread's "go" and the end time it sends, and posts
// back its op count and latency histogram (compressed HDR encoding).
import { randomBytes } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import * as hdr from 'hdr-histogram-js';
import { Wal, type WalShareToken } from '../wal/index.js';
import { newHistogram } from './latency.js';
import { runWriterLoops, type Recycler } from './wal-writer-loops.js';

export interface ThreadWriterData {
  token: WalShareToken;
  loops: number;
  size: number;
  /** Set on one thread only in recycle cells: it truncates for everyone. */
  recyclePerSegment: number | null;
}
export type ThreadWriterMessage = { type: 'ready' } | { type: 'done'; ops: number; histogram: string } | { type: 'error'; message: string };

const port = parentPort!;
const data = workerData as ThreadWriterData;
const wal = Wal.attach(data.token);
const payload = randomBytes(data.size);
try {
  for (let i = 0; i < 4; i++) await wal.append(payload);
  port.postMessage({ type: 'ready' } satisfies ThreadWriterMessage);
  const { endNs } = await new Promise<{ endNs: string }>((resolve) => port.once('message', resolve));
  const hist = newHistogram();
  const recycler: Recycler | undefined = data.recyclePerSegment === null ? undefined : { perSegment: data.recyclePerSegment, truncatedTo: 0, busy: false };
  const ops = await runWriterLoops(wal, payload, data.loops, BigInt(endNs), hist, recycler);
  await wal.close();
  port.postMessage({ type: 'done', ops, histogram: hdr.encodeIntoCompressedBase64(hist) } satisfies ThreadWriterMessage);
} catch (err) {
  port.postMessage({ type: 'error', message: err instanceof Error ? err.message : String(err) } satisfies ThreadWriterMessage);
}
