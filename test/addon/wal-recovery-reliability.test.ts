// Recovery never throws away data it still owns (issue 13, first section): one test per case,
// each named for it and each failing before its fix.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Wal, WalError } from '../../src/wal/index.js';
import { flipBit, paddingRecords, parseSegment, payloadFor, segmentFiles, segmentHeader, tempDirs } from './wal-fixture.js';

const dir = tempDirs();
const MIB = { segmentSize: 1 << 20 } as const;

async function collect(wal: Wal): Promise<{ seq: number; payload: Buffer }[]> {
  const out: { seq: number; payload: Buffer }[] = [];
  for await (const e of wal.entries()) out.push({ seq: e.seq, payload: Buffer.from(e.payload) });
  return out;
}

async function rejection(p: Promise<unknown>): Promise<WalError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WalError);
  return err as WalError;
}

// The repro of issue 13: 18 entries of 1,000 bytes, truncate(12), close.
async function truncatedLog(d: string): Promise<string> {
  const wal = await Wal.open(d, { ...MIB, strategy: 'none' });
  await Promise.all(Array.from({ length: 18 }, (_, i) => wal.append(payloadFor(i + 1, 1000))));
  await wal.truncate(12);
  await wal.close();
  const [seg] = segmentFiles(d);
  return seg!;
}

async function expectLive(d: string, from: number, to: number, options: Parameters<typeof Wal.open>[1] = MIB): Promise<Wal> {
  const wal = await Wal.open(d, options);
  const got = await collect(wal);
  expect(got.map((e) => e.seq)).toEqual(Array.from({ length: to - from + 1 }, (_, i) => from + i));
  for (const e of got) expect(e.payload.equals(payloadFor(e.seq, 1000)), `payload of ${e.seq}`).toBe(true);
  return wal;
}

describe('WAL recovery keeps what it owns', () => {
  it('DamageBelowFirstSeq: a flipped byte in a truncated entry of a live segment is ignored; repair keeps every live entry', async () => {
    const d = dir();
    const seg = await truncatedLog(d);
    const e2 = parseSegment(seg).entries[1]!;
    flipBit(seg, e2.offset + 16 + 500);
    const wal = await expectLive(d, 12, 18);
    expect(wal.recovery).toMatchObject({ firstSeq: 12, lastSeq: 18, entries: 7 });
    await wal.close();
    const repaired = await expectLive(d, 12, 18, { ...MIB, repair: true });
    expect(repaired.recovery.repaired).toBeUndefined();
    // The log goes on where it was.
    expect(await repaired.append(payloadFor(19, 1000))).toBe(19);
    await repaired.close();
    const again = await expectLive(d, 12, 19);
    await again.close();
  });

  it('DamageBelowFirstSeqHeader: a zeroed header of a truncated entry is ignored too', async () => {
    const d = dir();
    const seg = await truncatedLog(d);
    const e5 = parseSegment(seg).entries[4]!;
    const buf = readFileSync(seg);
    buf.fill(0, e5.offset, e5.offset + 16);
    writeFileSync(seg, buf);
    const wal = await expectLive(d, 12, 18);
    await wal.close();
  });

  it('DamageAtFirstSeq: damage in the first live entry is still mid-log corruption', async () => {
    const d = dir();
    const seg = await truncatedLog(d);
    flipBit(seg, parseSegment(seg).entries[11]!.offset + 16 + 3);
    const err = await rejection(Wal.open(d, MIB));
    expect(err.code).toBe('WAL_CORRUPTION');
    expect(err.seq).toBe(12);
  });

  it('DamagedDirectPadding: a flipped byte inside a direct padding record is skipped, not corruption', async () => {
    const d = dir();
    const wal = await Wal.open(d, { segmentSize: 1 << 20, strategy: 'direct' });
    for (let i = 1; i <= 10; i++) await wal.append(payloadFor(i, 1000));
    await wal.close();
    const [seg] = segmentFiles(d);
    const pads = paddingRecords(seg!);
    expect(pads.length).toBeGreaterThanOrEqual(9);
    // Inside the first padding record: once in its (zero) filler, once in its header.
    flipBit(seg!, pads[0]!.offset + 16 + 40);
    flipBit(seg!, pads[1]!.offset + 2);
    const reopened = await expectLive(d, 1, 10, { segmentSize: 1 << 20, strategy: 'direct' });
    await reopened.close();
    const repaired = await expectLive(d, 1, 10, { segmentSize: 1 << 20, repair: true });
    expect(repaired.recovery.repaired).toBeUndefined();
    await repaired.close();
  });
});

describe('WAL first-seq record', () => {
  async function logOf(d: string, count: number): Promise<void> {
    const wal = await Wal.open(d, { ...MIB, strategy: 'none' });
    await Promise.all(Array.from({ length: count }, (_, i) => wal.append(payloadFor(i + 1, 1000))));
    await wal.close();
  }

  it('FirstSeqChecksummed: one flipped bit anywhere in first-seq is WAL_CORRUPTION, never a plausible value', async () => {
    const d = dir();
    const wal = await Wal.open(d, { ...MIB, strategy: 'none' });
    await Promise.all(Array.from({ length: 10 }, (_, i) => wal.append(payloadFor(i + 1, 1000))));
    await wal.truncate(5);
    await wal.close();
    const file = path.join(d, 'first-seq');
    const good = readFileSync(file);
    for (let byte = 0; byte < good.length; byte++) {
      for (const bit of [0, 3, 7]) {
        writeFileSync(file, good);
        flipBit(file, byte, bit);
        const err = await rejection(Wal.open(d, MIB));
        expect(err.code, `byte ${byte} bit ${bit}`).toBe('WAL_CORRUPTION');
        expect(err.path).toBe(file);
      }
    }
    // Torn (short) record.
    writeFileSync(file, good.subarray(0, good.length - 1));
    expect((await rejection(Wal.open(d, MIB))).code).toBe('WAL_CORRUPTION');
    writeFileSync(file, good);
    const ok = await expectLive(d, 5, 10);
    await ok.close();
  });

  it('FirstSeqLegacyLayout: a decimal first-seq from an older version still opens', async () => {
    const d = dir();
    await logOf(d, 10);
    writeFileSync(path.join(d, 'first-seq'), '4\n');
    const wal = await expectLive(d, 4, 10);
    await wal.close();
  });

  it('FirstSeqOutOfRange: negative, overflowing, beyond 2^53 or past the end of the log is refused with WAL_OUT_OF_RANGE', async () => {
    const d = dir();
    await logOf(d, 10);
    const file = path.join(d, 'first-seq');
    for (const text of ['-1\n', '99999999999999999999999\n', '18446744073709551617\n', '9007199254740993\n', '12\n', '0x5\n', '\n']) {
      writeFileSync(file, text);
      const err = await rejection(Wal.open(d, MIB));
      expect(['WAL_OUT_OF_RANGE', 'WAL_CORRUPTION'], JSON.stringify(text)).toContain(err.code);
      if (text === '12\n' || text === '9007199254740993\n') expect(err.code).toBe('WAL_OUT_OF_RANGE');
    }
    // One past the last entry is in range: every entry truncated, the log goes on at 11.
    writeFileSync(file, '11\n');
    const wal = await Wal.open(d, MIB);
    expect(wal.recovery).toMatchObject({ firstSeq: 11, lastSeq: 10, entries: 0 });
    expect(await wal.append(Buffer.from('x'))).toBe(11);
    await wal.close();
  });

  it('SeqAtSafeIntegerBound: sequences stop at Number.MAX_SAFE_INTEGER with WAL_OUT_OF_RANGE, never lose precision', async () => {
    const d = dir();
    const max = BigInt(Number.MAX_SAFE_INTEGER);
    writeFileSync(path.join(d, `${max.toString().padStart(20, '0')}.wal`), Buffer.concat([segmentHeader(max), Buffer.alloc(60 * 1024)]));
    const wal = await Wal.open(d, { segmentSize: 64 * 1024 });
    expect(await wal.append(Buffer.from('last'))).toBe(Number.MAX_SAFE_INTEGER);
    expect((await rejection(wal.append(Buffer.from('one too many')))).code).toBe('WAL_OUT_OF_RANGE');
    await wal.close();
    // A segment named beyond the bound cannot be opened at all.
    const e = dir();
    writeFileSync(path.join(e, `${(max + 1n).toString().padStart(20, '0')}.wal`), segmentHeader(max + 1n));
    expect((await rejection(Wal.open(e, { segmentSize: 64 * 1024 }))).code).toBe('WAL_OUT_OF_RANGE');
  });
});
