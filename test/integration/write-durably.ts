import { closeSync, fsyncSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** Write `data` to dir/name, fsync it, then fsync the directory: the new name lives there too. */
export function writeDurably(dir: string, name: string, data: string): void {
  const fd = openSync(join(dir, name), 'w');
  writeSync(fd, data);
  fsyncSync(fd);
  closeSync(fd);
  // Without the directory's fsync the file may be durable but unreachable.
  const dfd = openSync(dir, 'r');
  fsyncSync(dfd);
  closeSync(dfd);
}
