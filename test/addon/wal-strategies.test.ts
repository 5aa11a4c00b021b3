// Each durability strategy keeps its acknowledgement contract as far as a running process can
// observe it (the crash harness checks the rest): what append() resolving means, the durable
// watermark, and a round trip through close and reopen.
import { describe, expect, it } from 'vitest';
import { Wal, type WalOptions } from '../../src/wal/index.js';
import { payloadFor, tempDirs } from './wal-fixture.js';

const dir = tempDirs();

const SEG = 256 * 1024;
const variants: [string, WalOptions, boolean][] = [
  ['fsync', { strategy: 'fsync' }, true],
  ['fdatasync', { strategy: 'fdatasync' }, true],
  ['fdatasync + syncFileRange', { strategy: 'fdatasync', syncFileRange: true }, true],
  ['dsync', { strategy: 'dsync' }, true],
  ['direct', { strategy: 'direct' }, true],
  ['fsync + group commit', { strategy: 'fsync', groupCommit: true }, true],
  ['fdatasync + group commit', { strategy: 'fdatasync', groupCommit: true }, true],
  ['dsync + group commit', { strategy: 'dsync', groupCommit: true }, true],
  ['direct + group commit', { strategy: 'direct', groupCommit: true, syncFileRange: true }, true],
  // Several syncs in flight across segment rotations (256 KiB segments: a rotation every ~60 entries).
  ['fdatasync + group commit, 4 syncs in flight', { strategy: 'fdatasync', groupCommit: true, syncDepth: 4 }, true],
  ['fsync + group commit, 3 syncs in flight', { strategy: 'fsync', groupCommit: true, syncDepth: 3 }, true],
  ['direct + group commit, 4 syncs in flight', { strategy: 'direct', groupCommit: true, syncDepth: 4 }, true],
  ['dsync + group commit, 2 threads', { strategy: 'dsync', groupCommit: true, syncDepth: 2 }, true],
  ['periodic', { strategy: 'periodic', periodMs: 5 }, false],
  ['none', { strategy: 'none' }, false],
];

describe('WAL strategies', () => {
  for (const [name, options, durableAck] of variants) {
    it(`${name}: ${durableAck ? 'every acknowledged entry is durable at once' : 'acknowledged when written'}, and all survive reopen, across segments`, async () => {
      const d = dir();
      const wal = await Wal.open(d, { ...options, segmentSize: SEG });
      // Odd sizes cross block and segment boundaries (direct pads every write to a block).
      const payloads = Array.from({ length: 120 }, (_, i) => payloadFor(i + 1, (i * 997) % 6000));
      const seqs: number[] = [];
      const durableAtAck: number[] = [];
      await Promise.all(
        payloads.map(async (p) => {
          const seq = await wal.append(p);
          seqs.push(seq);
          durableAtAck.push(wal.durableSeq() - seq);
        }),
      );
      expect([...seqs].sort((a, b) => a - b)).toEqual(payloads.map((_, i) => i + 1));
      if (durableAck) expect(durableAtAck.every((d) => d >= 0)).toBe(true);
      for (const i of [0, 59, 119]) expect((await wal.read(i + 1)).equals(payloads[i]!)).toBe(true);
      await wal.close();
      const again = await Wal.open(d, { ...options, segmentSize: SEG });
      expect(again.recovery).toMatchObject({ lastSeq: 120, tornBytes: 0 });
      expect(again.recovery.segments).toBeGreaterThan(1);
      let n = 0;
      for await (const e of again.entries()) expect(e.payload.equals(payloads[n++]!)).toBe(true);
      expect(n).toBe(120);
      await again.close();
    });
  }

  it('periodic: the durable watermark advances on its own, in order, through onDurable and waitDurable', async () => {
    const wal = await Wal.open(dir(), { strategy: 'periodic', periodMs: 20, segmentSize: SEG });
    const seen: number[] = [];
    const off = wal.onDurable((seq) => seen.push(seq));
    let last = 0;
    for (let i = 0; i < 30; i++) last = await wal.append(payloadFor(i, 100));
    const t0 = Date.now();
    await wal.waitDurable(last);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(wal.durableSeq()).toBeGreaterThanOrEqual(last);
    expect(seen.length).toBeGreaterThan(0);
    expect(seen.at(-1)).toBe(last);
    expect([...seen].sort((a, b) => a - b)).toEqual(seen);
    off();
    await wal.append(Buffer.from('x'));
    await wal.sync();
    expect(seen.at(-1)).toBe(last); // unsubscribed
    await wal.close();
  });

  it('none: nothing becomes durable until sync(), which then covers everything appended', async () => {
    const wal = await Wal.open(dir(), { strategy: 'none', segmentSize: SEG });
    let last = 0;
    for (let i = 0; i < 20; i++) last = await wal.append(payloadFor(i, 100));
    let durableResolved = false;
    const waiting = wal.waitDurable(last).then(() => {
      durableResolved = true;
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(wal.durableSeq()).toBe(0);
    expect(durableResolved).toBe(false);
    await wal.sync();
    await waiting;
    expect(wal.durableSeq()).toBe(last);
    await wal.close();
  });

  it('fdatasync without group commit: many concurrent appends still each get their own sync and all resolve in order', async () => {
    const wal = await Wal.open(dir(), { strategy: 'fdatasync', segmentSize: SEG });
    const order: number[] = [];
    await Promise.all(Array.from({ length: 50 }, (_, i) => wal.append(payloadFor(i, 64)).then((s) => order.push(s))));
    expect(order).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    await wal.close();
  });
});
