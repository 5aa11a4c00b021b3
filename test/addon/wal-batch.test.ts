// One event-loop turn's appends reach the core as one batch (issue 16: one N-API call, one lock,
// one wake-up per turn). What a caller can see must not change: each append copies its payload at
// the call, sequences follow call order, sync() and close() cover appends made in the same turn,
// and a refusal rejects exactly the appends it refused.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Wal, WalError } from '../../src/wal/index.js';
import { segmentHeader, tempDirs } from './wal-fixture.js';

const dir = tempDirs();

async function readAll(wal: Wal): Promise<string[]> {
  const out: string[] = [];
  for await (const e of wal.entries()) out.push(e.payload.toString());
  return out;
}

describe('appends batched per event-loop turn', () => {
  for (const groupCommit of [false, true]) {
    it(`copy at the call: a buffer reused at once keeps each append's bytes (groupCommit ${groupCommit})`, async () => {
      const wal = await Wal.open(dir(), { strategy: 'fdatasync', groupCommit, segmentSize: 1 << 20 });
      const buf = Buffer.alloc(8);
      const pending: Promise<number>[] = [];
      for (let i = 0; i < 300; i++) {
        buf.write(`e${String(i).padStart(7, '0')}`);
        pending.push(wal.append(buf));
      }
      const seqs = await Promise.all(pending);
      expect(seqs).toEqual(seqs.map((_, i) => i + 1));
      expect(await readAll(wal)).toEqual(seqs.map((_, i) => `e${String(i).padStart(7, '0')}`));
      await wal.close();
    });
  }

  it('sync() in the same turn covers the appends before it', async () => {
    const wal = await Wal.open(dir(), { strategy: 'none', segmentSize: 1 << 20 });
    const appends = [wal.append(Buffer.from('a')), wal.append(Buffer.from('b'))];
    await wal.sync();
    expect(wal.durableSeq()).toBe(2);
    expect(await Promise.all(appends)).toEqual([1, 2]);
    await wal.close();
  });

  it('close() in the same turn writes the appends before it; they resolve and survive a reopen', async () => {
    const d = dir();
    const wal = await Wal.open(d, { strategy: 'fdatasync', groupCommit: true, segmentSize: 1 << 20 });
    const appends = Array.from({ length: 10 }, (_, i) => wal.append(Buffer.from(`x${i}`)));
    const closed = wal.close();
    expect(await Promise.all(appends)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    await closed;
    const again = await Wal.open(d, { segmentSize: 1 << 20 });
    expect(await readAll(again)).toEqual(Array.from({ length: 10 }, (_, i) => `x${i}`));
    await again.close();
  });

  it('a batch that reaches the last sequence: the appends that fit resolve, the rest reject with WAL_OUT_OF_RANGE', async () => {
    const d = dir();
    const max = BigInt(Number.MAX_SAFE_INTEGER);
    writeFileSync(path.join(d, `${(max - 1n).toString().padStart(20, '0')}.wal`), Buffer.concat([segmentHeader(max - 1n), Buffer.alloc(60 * 1024)]));
    const wal = await Wal.open(d, { segmentSize: 64 * 1024 });
    const settled = await Promise.allSettled([1, 2, 3].map((i) => wal.append(Buffer.from(`n${i}`))));
    expect(settled[0]).toEqual({ status: 'fulfilled', value: Number.MAX_SAFE_INTEGER - 1 });
    expect(settled[1]).toEqual({ status: 'fulfilled', value: Number.MAX_SAFE_INTEGER });
    expect(settled[2]?.status).toBe('rejected');
    const err = (settled[2] as PromiseRejectedResult).reason as WalError;
    expect(err).toBeInstanceOf(WalError);
    expect(err.code).toBe('WAL_OUT_OF_RANGE');
    await wal.close();
  });
});
