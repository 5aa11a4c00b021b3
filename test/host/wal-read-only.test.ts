// readOnly: inspect a log without writing anything (issue 13): a torn tail is cut in memory only,
// on a real read-only bind mount (needs root) and on a writable directory (files unchanged).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Wal, WalError } from '../../src/wal/index.js';
import { isRoot, payloadFor, segmentFiles, tempDirs } from '../addon/wal-fixture.js';

const dir = tempDirs();
const SMALL = { segmentSize: 64 * 1024 } as const;

// Five entries, then garbage after the last one (a torn tail recovery would cut), then a left-over
// first-seq.tmp (which a writable open deletes).
async function tornLog(d: string): Promise<void> {
  const wal = await Wal.open(d, { ...SMALL, strategy: 'none' });
  await Promise.all(Array.from({ length: 5 }, (_, i) => wal.append(payloadFor(i + 1, 300))));
  await wal.close();
  const [seg] = segmentFiles(d);
  const buf = readFileSync(seg!);
  const end = 4096 + 5 * Math.ceil((16 + 300) / 8) * 8;
  buf.fill(0xab, end, end + 100);
  writeFileSync(seg!, buf);
  appendFileSync(path.join(d, 'first-seq.tmp'), 'left over');
}

function snapshot(d: string): Map<string, Buffer> {
  return new Map(readdirSync(d).map((n) => [n, readFileSync(path.join(d, n))]));
}

async function expectReadable(d: string): Promise<void> {
  const wal = await Wal.open(d, { ...SMALL, readOnly: true });
  expect(wal.recovery).toMatchObject({ firstSeq: 1, lastSeq: 5, entries: 5, tornBytes: 100 });
  const seqs: number[] = [];
  for await (const e of wal.entries()) {
    expect(e.payload.equals(payloadFor(e.seq, 300))).toBe(true);
    seqs.push(e.seq);
  }
  expect(seqs).toEqual([1, 2, 3, 4, 5]);
  expect((await wal.read(3)).equals(payloadFor(3, 300))).toBe(true);
  const refused = await wal.append(Buffer.from('x')).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(refused).toBeInstanceOf(WalError);
  expect((refused as WalError).code).toBe('WAL_READ_ONLY');
  expect(((await wal.truncate(2).catch((e: unknown) => e)) as WalError).code).toBe('WAL_READ_ONLY');
  await wal.close();
}

describe('WAL readOnly', () => {
  it('ReadOnlyLeavesFilesAlone: a torn tail is cut in memory; nothing in the directory changes', async () => {
    const d = dir();
    await tornLog(d);
    const before = snapshot(d);
    await expectReadable(d);
    expect(snapshot(d)).toEqual(before);
  });

  it.skipIf(!isRoot)('ReadOnlyMount: a log that needs its tail cut is readable on a read-only bind mount (requires root)', async () => {
    const d = dir();
    const src = path.join(d, 'wal');
    const mnt = path.join(d, 'ro');
    mkdirSync(src);
    mkdirSync(mnt);
    await tornLog(src);
    const before = snapshot(src);
    execFileSync('mount', ['--bind', src, mnt]);
    try {
      execFileSync('mount', ['-o', 'remount,bind,ro', mnt]);
      const err = await Wal.open(mnt, SMALL).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((err as WalError).code).toBe('WAL_PERMISSION');
      await expectReadable(mnt);
    } finally {
      execFileSync('umount', [mnt]);
    }
    expect(snapshot(src)).toEqual(before);
  });
});
