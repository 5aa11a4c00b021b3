import { realpathSync } from 'node:fs';
import { DeviceError } from './device-error.js';
import { readMountTable } from './mountinfo.js';
import { runTool } from './tool.js';

export type FsType = 'ext4' | 'xfs' | 'btrfs';

export interface MountOptions {
  fs?: FsType;
  /** Passed to mount -o, joined with commas (e.g. ['noatime', 'data=ordered']). */
  options?: readonly string[];
  readOnly?: boolean;
}

// Argument vector for mount(8); pure so it can be tested without root.
export function mountArgs(device: string, mountPoint: string, opts: MountOptions = {}): string[] {
  const args: string[] = [];
  if (opts.fs) args.push('-t', opts.fs);
  const o = [...(opts.readOnly ? ['ro'] : []), ...(opts.options ?? [])];
  for (const item of o) {
    if (item.length === 0 || /[\s]/.test(item)) throw new DeviceError('BAD_ARGUMENT', `mount option ${JSON.stringify(item)} is empty or has whitespace`);
  }
  if (o.length > 0) args.push('-o', o.join(','));
  args.push(device, mountPoint);
  return args;
}

// Mounts a block device on an existing directory. `failureExpected`: the caller takes a refusal
// as a result (a crash state the filesystem will not mount), so it is not logged as a warning.
export async function mount(device: string, mountPoint: string, opts: MountOptions = {}, failureExpected = false): Promise<void> {
  await runTool('mount', mountArgs(device, mountPoint, opts), { failureExpected });
}

// Unmounts a mount point; does nothing when nothing is mounted there (so teardown is idempotent).
// "Target is busy" is retried for a while: a process just killed (a writer on the mount) holds
// its files until it has finished exiting, which can take a moment on a loaded machine.
export async function umount(mountPoint: string, busyRetryMs = 3000): Promise<void> {
  const until = Date.now() + busyRetryMs;
  for (;;) {
    if (!isMountPoint(mountPoint)) return;
    try {
      await runTool('umount', [mountPoint]);
      return;
    } catch (err) {
      if (!(err instanceof DeviceError) || !/target is busy/i.test(err.message) || Date.now() >= until) throw err;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

function canonical(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

// Whether something is mounted on this directory.
export function isMountPoint(dir: string): boolean {
  const target = canonical(dir);
  return readMountTable().some((m) => m.mountPoint === target);
}

// Mount points where this block device (by path) is the source.
export function mountPointsOf(device: string): string[] {
  const dev = canonical(device);
  return readMountTable()
    .filter((m) => m.source.startsWith('/') && canonical(m.source) === dev)
    .map((m) => m.mountPoint);
}
