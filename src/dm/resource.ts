import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dmRemove, dmResumeIfSuspended, dmInfo } from './dmsetup.js';
import { detachLoop, loopsOf } from './losetup.js';
import { umount } from './mount.js';
import { readMountTable } from './mountinfo.js';
import { DeviceError } from './device-error.js';
import { pidFileSegment, removeDetachedSegment } from './sysv-shm.js';

// Everything the harness makes, described as data so a record of it survives the harness's own
// death (the ledger) and another process can release it. Each kind names what exists before the
// thing is made (a path, a name), so it can be registered BEFORE the tool runs: a kill between
// "made" and "registered" then leaks nothing. Releasing a resource that does not exist is a no-op.
export type Resource =
  | { kind: 'file'; path: string }
  | { kind: 'dir'; path: string }
  | { kind: 'loop'; backingFile: string }
  | { kind: 'dm'; name: string }
  | { kind: 'mount'; mountPoint: string }
  // `group`: the process leads a process group of its own (spawned detached), and the whole group
  // goes with it: a target's run command (`sh -c CMD`) has children the leader's kill would leave
  // running, holding files on the mount below.
  | { kind: 'process'; pid: number; startTime: string; label: string; group?: boolean }
  // A daemon that detaches into a session of its own and names itself in a pid file (PostgreSQL's
  // postmaster.pid): registered by that path before it starts, so a kill while it starts up leaks
  // nothing. Released by killing the pid the file names, if that process's command line still
  // contains `match` (a reused pid is left alone).
  | { kind: 'daemon'; pidFile: string; match: string; label: string };

export function describeResource(r: Resource): string {
  switch (r.kind) {
    case 'file':
      return `image ${r.path}`;
    case 'dir':
      return `directory ${r.path}`;
    case 'loop':
      return `loop devices over ${r.backingFile}`;
    case 'dm':
      return `dm device ${r.name}`;
    case 'mount':
      return `mount ${r.mountPoint}`;
    case 'process':
      return `process ${r.pid} (${r.label})`;
    case 'daemon':
      return `${r.label} named in ${r.pidFile}`;
  }
}

// Field 22 of /proc/PID/stat (undefined for a zombie or a missing process): the start time in clock ticks since boot. A pid plus its start
// time names one process for good; a pid alone may have been reused by the time we reap.
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const afterComm = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // A zombie has exited; only its parent's wait() is pending. It holds no device.
    if (afterComm[0] === 'Z') return undefined;
    return afterComm[19];
  } catch {
    return undefined;
  }
}

export function processAlive(pid: number, startTime: string): boolean {
  return processStartTime(pid) === startTime;
}

// Whether some loop device is backed by `file`, read from sysfs (no tool to run: callers poll).
function loopBackedBy(file: string): boolean {
  for (const dev of existsSync('/sys/block') ? readdirSync('/sys/block').filter((d) => d.startsWith('loop')) : []) {
    try {
      if (
        readFileSync(`/sys/block/${dev}/loop/backing_file`, 'utf8')
          .trim()
          .replace(/ \(deleted\)$/, '') === file
      )
        return true;
    } catch {
      // not attached (no loop/ directory) or detached meanwhile
    }
  }
  return false;
}

/**
 * Whether a ledgered resource still exists: synchronous and without running a tool, for tests and
 * scripts that poll for what a signalled run left behind.
 */
export function resourcePresent(r: Resource): boolean {
  switch (r.kind) {
    case 'process':
      return processAlive(r.pid, r.startTime);
    case 'dir':
    case 'file':
      return existsSync(r.path);
    case 'mount':
      return readMountTable().some((m) => m.mountPoint === r.mountPoint);
    case 'loop':
      return loopBackedBy(r.backingFile);
    case 'dm':
      return existsSync(`/dev/mapper/${r.name}`);
    case 'daemon':
      return daemonProcess(r) !== undefined;
  }
}

// The live process a daemon's pid file names, or undefined (no file, no process, a reused pid).
function daemonProcess(r: { pidFile: string; match: string }): { pid: number; startTime: string } | undefined {
  try {
    const pid = Number(readFileSync(r.pidFile, 'utf8').split('\n')[0]);
    if (!Number.isSafeInteger(pid) || pid <= 1) return undefined;
    if (!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(r.match)) return undefined;
    const startTime = processStartTime(pid);
    return startTime === undefined ? undefined : { pid, startTime };
  } catch {
    return undefined;
  }
}

/** SIGKILL a registered process, or its whole group when it leads one (throws ESRCH when gone). */
export function sigkillProcess(r: { pid: number; group?: boolean }): void {
  process.kill(r.group === true ? -r.pid : r.pid, 'SIGKILL');
}

async function killAndWait(r: { pid: number; startTime: string; group?: boolean }): Promise<void> {
  // Only while the leader is ours (same start time) is its pid our group's id.
  if (!processAlive(r.pid, r.startTime)) return;
  try {
    sigkillProcess(r);
  } catch {
    return; // already gone
  }
  // A process stuck in uninterruptible I/O on a device we are about to remove dies only
  // when that I/O completes; wait a little so the umount after us does not hit EBUSY.
  await waitFor(() => !processAlive(r.pid, r.startTime), 5000);
  if (r.group === true) await waitFor(() => !groupAlive(r.pid), 5000);
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false; // ESRCH: no member left
  }
}

async function waitFor(done: () => boolean, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (done()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return done();
}

// Runs before anything is released: a filesystem over a suspended dm device cannot be unmounted
// (umount blocks forever), so every suspended device of ours is resumed first.
export async function prepareRelease(r: Resource): Promise<void> {
  if (r.kind === 'dm') await dmResumeIfSuspended(r.name);
}

// Releases one resource; idempotent.
export async function releaseResource(r: Resource): Promise<void> {
  switch (r.kind) {
    case 'file':
      rmSync(r.path, { force: true });
      return;
    case 'dir': {
      // Never recurse into a mounted filesystem: if an unmount above failed, deleting "our"
      // directory would delete the contents of whatever is still mounted inside it.
      const prefix = r.path.endsWith('/') ? r.path : `${r.path}/`;
      const inside = readMountTable().find((m) => m.mountPoint === r.path || m.mountPoint.startsWith(prefix));
      if (inside) throw new DeviceError('CLEANUP_FAILED', `not removing ${r.path}: ${inside.mountPoint} is still mounted inside it`);
      rmSync(r.path, { force: true, recursive: true });
      return;
    }
    case 'loop':
      for (const dev of await loopsOf(r.backingFile)) await detachLoop(dev);
      return;
    case 'dm':
      if (await dmInfo(r.name)) await dmRemove(r.name);
      return;
    case 'mount':
      await umount(r.mountPoint);
      return;
    case 'process':
      await killAndWait(r);
      return;
    case 'daemon': {
      const daemon = daemonProcess(r);
      if (!daemon) return;
      // Read before the kill; only a server we killed leaves its segment (a stopped one removes it).
      const segment = pidFileSegment(r.pidFile);
      await killAndWait(daemon);
      if (segment && !(await removeDetachedSegment(segment))) {
        throw new DeviceError('CLEANUP_FAILED', `${r.label}: its shared-memory segment ${segment.id} is still attached after the kill`);
      }
      return;
    }
  }
}
