// Competing background I/O for `pnpm bench --background-io CLASS`: a separate process that keeps
// the disk busy with large buffered writes and a data sync every 8 MiB, the way a compaction or a
// backup would. Started and killed by background-io.ts; its I/O class is set with ionice.
import { fdatasyncSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: background-writer DIR\n');
  process.exit(2);
}
const CHUNK = Buffer.alloc(1024 * 1024, 0xa5);
const FILE_BYTES = 256 * 1024 * 1024;
const fd = openSync(join(dir, 'background-io.dat'), 'w');
let off = 0;
// Synchronous on purpose: this process has nothing else to do, and a tight loop is the load.
// It never yields to the event loop, so it installs no signal handler: SIGTERM's default action
// ends it, and the suite removes its file with the work directory.
for (;;) {
  writeSync(fd, CHUNK, 0, CHUNK.length, off);
  off = (off + CHUNK.length) % FILE_BYTES;
  if (off % (8 * 1024 * 1024) === 0) fdatasyncSync(fd);
}
