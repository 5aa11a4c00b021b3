// The WAL's on-disk format read and written independently of the core (native/FORMAT.md), so tests
// can find entries in segment files and damage them on purpose; and temporary directories. No
// vitest import: child processes of the tests use it too (wal-fixture.ts adds what needs vitest).
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { nativeModule } from '../../src/wal/index.js';

export const SEGMENT_HEADER = 4096;
export const ENTRY_HEADER = 16;

/** A fresh empty directory under $TMPDIR; remove it with cleanup(). */
export function tempDir(prefix = 'wal-test-'): string {
  return mkdtempSync(path.join(process.env.POWERCUT_TEST_TMP ?? tmpdir(), prefix));
}

export function cleanup(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

export function segmentFiles(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => /^\d{20}\.wal$/.test(n))
    .sort()
    .map((n) => path.join(dir, n));
}

/** Ready spares: a `spare-*.tmp` is one still being preallocated, not yet a spare. */
export function spareFiles(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.startsWith('spare-') && !n.endsWith('.tmp'));
}

export interface FoundEntry {
  seq: number;
  offset: number; // of the header
  length: number; // payload bytes
  span: number; // bytes on disk, padding included
}

// Entries of one segment as the format defines them, stopping at the first invalid one.
export function parseSegment(file: string): { firstSeq: number; entries: FoundEntry[] } {
  const buf = readFileSync(file);
  const firstSeq = Number(buf.readBigUInt64LE(16));
  const crc32c = (bytes: Uint8Array): number => nativeModule().crc32c(bytes);
  const entries: FoundEntry[] = [];
  let pos = SEGMENT_HEADER;
  let expect = firstSeq;
  while (pos + ENTRY_HEADER <= buf.length) {
    const length = buf.readUInt32LE(pos);
    const crc = buf.readUInt32LE(pos + 4);
    const seq = Number(buf.readBigUInt64LE(pos + 8));
    if (length === 0 && crc === 0 && seq === 0) break;
    if (pos + ENTRY_HEADER + length > buf.length) break;
    const covered = Buffer.concat([buf.subarray(pos, pos + 4), buf.subarray(pos + 8, pos + 16), buf.subarray(pos + 16, pos + 16 + length)]);
    if (crc32c(covered) !== crc) break;
    const span = Math.ceil((ENTRY_HEADER + length) / 8) * 8;
    if (seq !== 0) {
      if (seq !== expect) break;
      entries.push({ seq, offset: pos, length, span });
      expect++;
    }
    pos += span;
  }
  return { firstSeq, entries };
}

/** Every entry of every segment in the directory, with its file. */
export function allEntries(dir: string): (FoundEntry & { file: string })[] {
  return segmentFiles(dir).flatMap((file) => parseSegment(file).entries.map((e) => ({ ...e, file })));
}

/** A payload whose bytes depend on seed, so a wrong payload never equals the right one by accident. */
export function payloadFor(seed: number, length: number): Buffer {
  const b = Buffer.alloc(length);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

/** Valid entries with a sequence below `firstSeq` at aligned offsets from `from`: stale ones of a recycled file. */
export function staleEntriesAfter(file: string, from: number): number[] {
  const buf = readFileSync(file);
  const crc32c = (bytes: Uint8Array): number => nativeModule().crc32c(bytes);
  const { firstSeq } = parseSegment(file);
  const found: number[] = [];
  for (let pos = from; pos + ENTRY_HEADER <= buf.length; pos += 8) {
    const length = buf.readUInt32LE(pos);
    const seq = Number(buf.readBigUInt64LE(pos + 8));
    if (seq < 1 || seq >= firstSeq || pos + ENTRY_HEADER + length > buf.length) continue;
    const covered = Buffer.concat([buf.subarray(pos, pos + 4), buf.subarray(pos + 8, pos + 16 + length)]);
    if (crc32c(covered) === buf.readUInt32LE(pos + 4)) found.push(seq);
  }
  return found;
}

export const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;

/** Flips bit `bit` of the byte at `offset` in `file` (damage on purpose). */
export function flipBit(file: string, offset: number, bit = 0): void {
  const fd = openSync(file, 'r+');
  try {
    const b = Buffer.alloc(1);
    readSync(fd, b, 0, 1, offset);
    b[0] = b[0]! ^ (1 << bit);
    writeSync(fd, b, 0, 1, offset);
  } finally {
    closeSync(fd);
  }
}

/** A valid 4096-byte segment header for `firstSeq` (native/FORMAT.md), for hand-made directories. */
export function segmentHeader(firstSeq: bigint): Buffer {
  const b = Buffer.alloc(SEGMENT_HEADER);
  b.writeBigUInt64LE(0x4745534c41574350n, 0);
  b.writeUInt32LE(1, 8);
  b.writeUInt32LE(SEGMENT_HEADER, 12);
  b.writeBigUInt64LE(firstSeq, 16);
  b.writeUInt32LE(8, 24);
  b.writeUInt32LE(nativeModule().crc32c(b.subarray(0, 32)), 32);
  return b;
}

/** Padding records (seq 0) of a segment, valid ones only, in file order: { offset, span }. */
export function paddingRecords(file: string): { offset: number; span: number }[] {
  const buf = readFileSync(file);
  const crc32c = (bytes: Uint8Array): number => nativeModule().crc32c(bytes);
  const out: { offset: number; span: number }[] = [];
  let pos = SEGMENT_HEADER;
  while (pos + ENTRY_HEADER <= buf.length) {
    const length = buf.readUInt32LE(pos);
    const crc = buf.readUInt32LE(pos + 4);
    const seq = buf.readBigUInt64LE(pos + 8);
    if (length === 0 && crc === 0 && seq === 0n) break;
    if (pos + ENTRY_HEADER + length > buf.length) break;
    const covered = Buffer.concat([buf.subarray(pos, pos + 4), buf.subarray(pos + 8, pos + 16 + length)]);
    if (crc32c(covered) !== crc) break;
    const span = Math.ceil((ENTRY_HEADER + length) / 8) * 8;
    if (seq === 0n) out.push({ offset: pos, span });
    pos += span;
  }
  return out;
}
