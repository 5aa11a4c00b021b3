import { readFileSync } from 'node:fs';
import { runTool } from './tool.js';

// PostgreSQL keeps a small System V shared-memory segment as its interlock (one server per data
// directory) and names it on line 7 of postmaster.pid ("key shmid"). A server killed with SIGKILL
// never removes it; the next server on the same directory would, but a throwaway cluster has no
// next server, so the segment would outlive the run. (Its dynamic segments are set to mmap files
// inside the data directory, which go with the directory: pgbench.ts's server settings.)

/** The segment a PostgreSQL pid file names, or undefined (no file, no such line). */
export function pidFileSegment(pidFile: string): { key: number; id: number } | undefined {
  try {
    const fields = (readFileSync(pidFile, 'utf8').split('\n')[6] ?? '').trim().split(/\s+/).map(Number);
    const [key, id] = fields;
    return fields.length === 2 && Number.isSafeInteger(key) && Number.isSafeInteger(id) ? { key: key!, id: id! } : undefined;
  } catch {
    return undefined;
  }
}

// /proc/sysvipc/shm, one row per segment: key shmid perms size cpid lpid nattch ...
function attachments(segment: { key: number; id: number }): number | undefined {
  for (const line of readFileSync('/proc/sysvipc/shm', 'utf8').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/).map(Number);
    if (f[0] === segment.key && f[1] === segment.id) return f[6];
  }
  return undefined;
}

/**
 * Remove the segment once no process has it attached (the killed server's children exit on their
 * own when they see the postmaster gone). A segment with the same id but another key is someone
 * else's and is left alone. Returns whether the segment is gone.
 */
export async function removeDetachedSegment(segment: { key: number; id: number }, waitMs = 5000): Promise<boolean> {
  const until = Date.now() + waitMs;
  for (;;) {
    const n = attachments(segment);
    if (n === undefined) return true;
    if (n === 0) {
      await runTool('ipcrm', ['-m', String(segment.id)]);
      return attachments(segment) === undefined;
    }
    if (Date.now() >= until) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}
