// N writers sharing one WAL from worker_threads (issue 3): every handle feeds the same native log
// and committer, sequences are unique and contiguous, group commit batches across threads, and a
// worker's close only detaches.
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { Wal } from '../../src/wal/index.js';
import { tempDirs } from './wal-fixture.js';

const writerFile = path.resolve(import.meta.dirname, 'wal-worker-boot.mjs');
const dir = tempDirs();

function runWorker(token: unknown, worker: number, count: number, inFlight: number): Promise<number[]> {
  return new Promise((resolve, reject) => {
    const w = new Worker(writerFile, { workerData: { token, worker, count, inFlight } });
    w.once('message', (seqs: number[]) => resolve(seqs));
    w.once('error', reject);
    w.once('exit', (code) => {
      if (code !== 0) reject(new Error(`worker ${worker} exited with ${code}`));
    });
  });
}

describe('WAL shared by worker_threads', () => {
  it('4 workers and the main thread append concurrently with group commit: unique, contiguous, intact', async () => {
    const d = dir();
    const wal = await Wal.open(d, { strategy: 'fdatasync', groupCommit: true, segmentSize: 1024 * 1024 });
    const token = wal.share();
    const perWorker = 150;
    const mainSeqs: Promise<number>[] = [];
    const workers = [1, 2, 3, 4].map((w) => runWorker(token, w, perWorker, 8));
    for (let i = 0; i < perWorker; i++) mainSeqs.push(wal.append(Buffer.from(`worker 0 entry ${i}`)));
    const all = [...(await Promise.all(mainSeqs)), ...(await Promise.all(workers)).flat()];
    expect(all.length).toBe(5 * perWorker);
    expect([...all].sort((a, b) => a - b)).toEqual(Array.from({ length: all.length }, (_, i) => i + 1));
    expect(wal.durableSeq()).toBe(all.length);
    // The workers detached; the log is still the main thread's to use and close.
    expect(await wal.append(Buffer.from('after'))).toBe(all.length + 1);
    await wal.close();

    const again = await Wal.open(d, { segmentSize: 1024 * 1024 });
    const seen = new Map<number, Set<number>>();
    for await (const { payload } of again.entries()) {
      const m = /^worker (\d) entry (\d+)$/.exec(payload.toString());
      if (m === null) continue;
      const set = seen.get(Number(m[1])) ?? new Set<number>();
      set.add(Number(m[2]));
      seen.set(Number(m[1]), set);
    }
    for (let w = 0; w <= 4; w++) expect(seen.get(w)?.size, `entries of writer ${w}`).toBe(perWorker);
    await again.close();
  });

  it('attaching to a closed WAL, or with a bad token, is a typed error', async () => {
    const d = dir();
    const wal = await Wal.open(d, { segmentSize: 65536 });
    const token = wal.share();
    await wal.close();
    expect(() => Wal.attach(token)).toThrow(expect.objectContaining({ code: 'WAL_CLOSED' }));
    expect(() => Wal.attach({ nope: 1 } as never)).toThrow(expect.objectContaining({ code: 'WAL_INVALID_ARGUMENT' }));
  });
});
