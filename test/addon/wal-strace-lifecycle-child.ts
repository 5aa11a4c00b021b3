// Child process for test/host/wal-syscalls-directory.test.ts, run under strace: a WAL with small
// segments rotates several times, truncates (the first-seq file, segments removed or recycled),
// appends into recycled segments, truncates again, and closes. After each truncate resolves it
// stats a marker path, so the trace shows when the caller was told the truncate was done.
// argv: dir recycle(0|1)
import { statSync } from 'node:fs';
import { Wal } from '../../src/wal/index.js';

function mark(name: string): void {
  try {
    statSync(`/powercut-strace-${name}`);
  } catch {
    // ENOENT is the point: the syscall with this path is the marker.
  }
}

const [dir, recycle] = process.argv.slice(2);
// 64 KiB segments hold 14 entries of 4 KiB: 60 appends rotate four times.
const wal = await Wal.open(dir!, { strategy: 'fdatasync', segmentSize: 64 * 1024, preallocate: 'zero', recycle: recycle === '1' });
const payload = Buffer.alloc(4096, 0x42);
let last = 0;
for (let i = 0; i < 60; i++) last = await wal.append(payload);
await wal.truncate(last - 10);
mark('truncated-1');
for (let i = 0; i < 40; i++) last = await wal.append(payload);
await wal.truncate(last - 5);
mark('truncated-2');
await wal.close();
mark('closed');
