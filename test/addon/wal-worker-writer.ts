// A worker_thread writer for test/addon/wal-workers.test.ts: attaches to the WAL its parent
// opened (Wal.attach(token)), appends `count` entries with `inFlight` concurrent appends, posts the
// sequences back, and detaches.
import { parentPort, workerData } from 'node:worker_threads';
import { Wal, type WalShareToken } from '../../src/wal/index.js';

const { token, worker, count, inFlight } = workerData as { token: WalShareToken; worker: number; count: number; inFlight: number };
const wal = Wal.attach(token);
const seqs: number[] = [];
let next = 0;
await Promise.all(
  Array.from({ length: inFlight }, async () => {
    while (next < count) {
      const i = next++;
      // The payload names its writer and index, so the parent can check every entry's origin.
      seqs.push(await wal.append(Buffer.from(`worker ${worker} entry ${i}`)));
    }
  }),
);
await wal.close();
parentPort!.postMessage(seqs);
