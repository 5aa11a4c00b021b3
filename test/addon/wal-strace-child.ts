// Child process for test/host/wal-syscalls.test.ts, run under strace: opens a WAL, marks the
// start and end of its appends with a stat of a marker path (visible in the trace), then closes.
// argv: dir strategy groupCommit(0|1) appends writers periodMs gapMs syncDepth
import { statSync } from 'node:fs';
import { Wal, type Strategy } from '../../src/wal/index.js';

function mark(name: string): void {
  try {
    statSync(`/powercut-strace-${name}`);
  } catch {
    // ENOENT is the point: the syscall with this path is the marker.
  }
}

const [dir, strategy, group, appends, writers, periodMs, gapMs, syncDepth] = process.argv.slice(2);
const wal = await Wal.open(dir!, {
  strategy: strategy as Strategy,
  groupCommit: group === '1',
  ...(strategy === 'periodic' ? { periodMs: Number(periodMs) } : {}),
  ...(group === '1' ? { syncDepth: Number(syncDepth) } : {}),
});
const payload = Buffer.alloc(4096, 0x42);
await wal.append(payload); // first append outside the window: lazy set-up stays out of it
const perWriter = Number(appends) / Number(writers);
const gap = Number(gapMs);
mark('begin');
await Promise.all(
  Array.from({ length: Number(writers) }, async () => {
    for (let i = 0; i < perWriter; i++) {
      await wal.append(payload);
      if (gap > 0) await new Promise((r) => setTimeout(r, gap));
    }
  }),
);
mark('end');
await wal.close();
