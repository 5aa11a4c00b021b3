import { createRequire } from 'node:module';
import path from 'node:path';
import { nativeBuildDir } from '../project-root.js';
import { DeviceError } from './device-error.js';
import type { FsType } from './mount.js';

// Loop-mount an image file and unmount it by syscall (native/dm/loop-mount.cc): what
// `mount -o loop IMAGE DIR` and `umount DIR` do, without two processes per mount. Crash-state
// checking mounts every state of a recording; the tools cost ~40 ms a pair in process start-up
// alone on these machines, the syscalls ~2 ms. The loop device is attached with autoclear and the
// unmount is its last close, so each mount starts from a fresh device with an empty page cache.
// Register the mount point on a cleanup stack before calling loopMount, as for mount().

interface MountAddon {
  loopMount(image: string, target: string, fstype: string, data: string): Promise<string>;
  unmount(target: string): Promise<void>;
  restoreFromBase(baseFd: number, imageFd: number, size: number, blockBytes: number, dirty: Uint8Array): RestoreStats;
}

/** What restoreFromBase did, in blocks. */
export interface RestoreStats {
  compared: number;
  copied: number;
  punched: number;
}

let addon: MountAddon | undefined;

function mountAddon(): MountAddon {
  if (addon !== undefined) return addon;
  const file = path.join(nativeBuildDir(), 'Release', 'powercut_mount.node');
  try {
    addon = createRequire(import.meta.url)(file) as MountAddon;
  } catch (cause) {
    throw new DeviceError('TOOL_FAILED', `cannot load the loop-mount addon ${file}: run 'pnpm build:native'`, { cause });
  }
  return addon;
}

/** A failed mount: the kernel's errno and its name (EUCLEAN: the filesystem found corruption). */
export class LoopMountError extends DeviceError {
  constructor(
    message: string,
    readonly errno: number,
  ) {
    super('TOOL_FAILED', message);
  }
}

function rethrow(error: unknown): never {
  const e = error as Error & { errno?: number };
  throw new LoopMountError(e.message, e.errno ?? 0);
}

/** Attach `image` to a free loop device and mount it on `mountPoint`; resolves to the device. */
export async function loopMount(image: string, mountPoint: string, opts: { fs: FsType; options?: readonly string[] }): Promise<string> {
  const data = (opts.options ?? []).join(',');
  if (/\s/.test(data)) throw new DeviceError('BAD_ARGUMENT', `mount options ${JSON.stringify(data)} have whitespace`);
  try {
    return await mountAddon().loopMount(image, mountPoint, opts.fs, data);
  } catch (error) {
    rethrow(error);
  }
}

const EBUSY = 16;

/** Unmount `mountPoint` (its loop device detaches itself); "busy" is retried for `busyRetryMs`. */
export async function loopUnmount(mountPoint: string, busyRetryMs = 3000): Promise<void> {
  const until = Date.now() + busyRetryMs;
  for (;;) {
    try {
      await mountAddon().unmount(mountPoint);
      return;
    } catch (error) {
      if ((error as { errno?: number }).errno !== EBUSY || Date.now() >= until) rethrow(error);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

/**
 * Make the image open on `imageFd` equal to the base image on `baseFd` (both `size` bytes on
 * tmpfs or another filesystem with SEEK_DATA and hole punching). `dirty` has one byte per
 * `blockBytes` block, nonzero where the base may hold data; the base is a hole everywhere else.
 * Dirty blocks are compared and rewritten where they differ, other blocks the image holds are
 * punched out: whatever a mount wrote to the image, it is the base again, at the cost of reading
 * the base's data instead of copying all of it (native/dm/loop-mount.h).
 */
export function restoreFromBase(baseFd: number, imageFd: number, size: number, blockBytes: number, dirty: Uint8Array): RestoreStats {
  if (dirty.length * blockBytes < size)
    throw new DeviceError('BAD_ARGUMENT', `a map of ${dirty.length} blocks of ${blockBytes} bytes does not cover ${size} bytes`);
  try {
    return mountAddon().restoreFromBase(baseFd, imageFd, size, blockBytes, dirty);
  } catch (error) {
    throw new DeviceError('TOOL_FAILED', `cannot restore a state image from its base: ${(error as Error).message}`, { cause: error });
  }
}
