// Child of wal-planted.test.ts: runs one scenario against the addon POWERCUT_NATIVE_BUILD points
// at (a planted build or the real one) in a fresh directory, and prints what recovery gave back
// as one JSON line. A separate process per build: an addon, once loaded, stays loaded.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Wal, WalError, nativeModule } from '../../src/wal/index.js';
import { parseSegment, payloadFor, segmentFiles, segmentHeader } from './wal-format.js';

const [scenario, dir] = process.argv.slice(2) as [string, string];
const SMALL = { segmentSize: 64 * 1024 } as const;

async function entries(options: object = SMALL): Promise<{ seqs: number[]; exact: boolean; tornBytes: number } | { code: string }> {
  try {
    const wal = await Wal.open(dir, options);
    const seqs: number[] = [];
    let exact = true;
    for await (const e of wal.entries()) {
      seqs.push(e.seq);
      if (!e.payload.equals(payloadFor(e.seq, 300))) exact = false;
    }
    const tornBytes = wal.recovery.tornBytes;
    await wal.close();
    return { seqs, exact, tornBytes };
  } catch (e) {
    return { code: e instanceof WalError ? e.code : String(e) };
  }
}

async function writeFive(): Promise<string> {
  const wal = await Wal.open(dir, { ...SMALL, strategy: 'none' });
  for (let i = 1; i <= 5; i++) await wal.append(payloadFor(i, 300));
  await wal.close();
  return segmentFiles(dir)[0]!;
}

const out: Record<string, unknown> = { planted: nativeModule().planted };
if (scenario === 'torn-tail-second-life') {
  // A torn tail after entry 5, recovered; then a second life: one more append, reopen.
  const seg = await writeFive();
  const buf = readFileSync(seg);
  const end = parseSegment(seg).entries.at(-1)!;
  buf.fill(0xab, end.offset + end.span, end.offset + end.span + 100);
  writeFileSync(seg, buf);
  const wal = await Wal.open(dir, SMALL);
  out.firstTorn = wal.recovery.tornBytes;
  await wal.append(payloadFor(6, 300));
  await wal.close();
  out.after = await entries();
} else if (scenario === 'flipped-last-entry') {
  // A flipped payload byte in the last entry: a torn tail, never a payload.
  const seg = await writeFive();
  const last = parseSegment(seg).entries.at(-1)!;
  const buf = readFileSync(seg);
  buf[last.offset + 16 + 10] = buf[last.offset + 16 + 10]! ^ 0x40;
  writeFileSync(seg, buf);
  out.after = await entries();
} else if (scenario === 'stale-entry-lines-up') {
  // A recycled file become segment 10 whose first slot still holds a valid stale entry 3.
  const payload = payloadFor(10, 300);
  const entry = Buffer.alloc(16 + 304);
  entry.writeUInt32LE(300, 0);
  entry.writeBigUInt64LE(3n, 8);
  payload.copy(entry, 16);
  const crc = nativeModule().crc32c(Buffer.concat([entry.subarray(0, 4), entry.subarray(8, 16), payload]));
  entry.writeUInt32LE(crc, 4);
  writeFileSync(path.join(dir, '00000000000000000010.wal'), Buffer.concat([segmentHeader(10n), entry, Buffer.alloc(60 * 1024)]));
  out.after = await entries();
}
process.stdout.write(`${JSON.stringify(out)}\n`);
