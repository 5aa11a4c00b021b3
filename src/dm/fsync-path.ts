import { closeSync, fsyncSync, openSync } from 'node:fs';

/** fsync a file or directory by path (a directory's fsync makes the names in it durable). */
export function fsyncPath(p: string): void {
  const fd = openSync(p, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
