import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { DeviceError, DeviceLab, FS_VARIANTS, parseMountInfo, type CleanupStack, type FsType } from '../dm/index.js';
import { logger } from '../log.js';
import type { FsName } from './cell.js';
import { backingDevice, loopDirectIo, mountOf, type BlockDevice } from './diskstats.js';

const log = logger('bench-fs');

// How each loop-image filesystem is made and mounted.
// The journal-less variants come from the crash harness's table (src/dm/fs-variant.ts), so a bench
// figure and a crashtest verdict for the same name are about the same filesystem.
export const LOOP_FILESYSTEMS: Record<
  Exclude<FsName, 'host' | 'tmpfs'>,
  { fs: FsType; mkfsArgs?: readonly string[]; mountOptions: readonly string[]; why: string }
> = {
  'ext4-ordered': { fs: 'ext4', mountOptions: ['data=ordered'], why: "ext4's default: data written before the metadata that points at it is committed" },
  'ext4-journal': { fs: 'ext4', mountOptions: ['data=journal'], why: 'data goes through the journal too: every byte written twice' },
  'ext4-writeback': { fs: 'ext4', mountOptions: ['data=writeback'], why: 'metadata journalled, data ordering not enforced' },
  'ext4-nobarrier': { fs: 'ext4', mountOptions: ['barrier=0'], why: 'no cache flushes at all: fast and NOT durable on a volatile write cache' },
  'ext4-nojournal': FS_VARIANTS['ext4-nojournal'],
  xfs: FS_VARIANTS.xfs,
  btrfs: FS_VARIANTS.btrfs,
  'btrfs-nodatacow': FS_VARIANTS['btrfs-nodatacow'],
};

// Sparse, so it costs nothing until written; large enough for 1 MiB-entry cells and a PostgreSQL cluster.
const IMAGE_BYTES = 4 * 1024 * 1024 * 1024;

export interface ReadyFs {
  status: 'ready';
  name: FsName;
  /** The filesystem type as mounted (ext4, xfs, btrfs, ...). */
  fsType: string;
  /** The mount's per-mount options from mountinfo, plus the options the suite asked for. */
  mountOptions: string;
  /** Directory where this filesystem's cells make their work directories. */
  dir: string;
  /** The device whose counters are the cell's (vda for host, loopN for an image). */
  device: BlockDevice | undefined;
  /** For a loop image: the loop device and the disk its image file lives on, to show flushes pass through. */
  loop?: { device: string; directIo: boolean | undefined; image: string; disk: BlockDevice | undefined };
}

export type FsTarget = ReadyFs | { status: 'skipped'; name: FsName; reason: string };

// The device names a cell on this filesystem counts: its own device, and for a loop image also
// the disk under the image file (a flush that stops at the loop device never reaches the disk).
export function countedDevices(fs: ReadyFs): string[] {
  const names = new Set<string>();
  if (fs.device) names.add(fs.device.name);
  if (fs.loop?.disk) names.add(fs.loop.disk.name);
  return [...names];
}

function describeMount(dir: string, requested: readonly string[] = []): { fsType: string; mountOptions: string } {
  const m = mountOf(realpathSync(dir), parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8')));
  return { fsType: m?.fsType ?? 'unknown', mountOptions: [m?.options ?? '', ...requested].filter(Boolean).join(',') };
}

// Directories other users must traverse: the PostgreSQL peer's server runs as `postgres`.
function openUp(dir: string): void {
  chmodSync(dir, 0o755);
}

// The host's filesystem: a directory under the work dir, or (bench --dir PATH) a fresh directory
// of this run's own under PATH, on whatever device PATH is (removed by the cleanup stack).
export function hostFs(workDir: string, stack: CleanupStack, userDir?: string): ReadyFs {
  let dir: string;
  if (userDir === undefined) {
    dir = join(workDir, 'host');
    mkdirSync(dir, { recursive: true });
  } else {
    dir = mkdtempSync(join(userDir, 'powercut-bench-'));
    stack.add({ kind: 'dir', path: dir });
  }
  openUp(dir);
  return { status: 'ready', name: 'host', dir: realpathSync(dir), device: backingDevice(dir), ...describeMount(dir) };
}

// Memory: a directory of this run's own under /dev/shm (no root needed), removed by the cleanup
// stack. Skipped when /dev/shm is missing or is not a tmpfs.
const SHM = '/dev/shm';
export function tmpfsFs(stack: CleanupStack): FsTarget {
  if (!existsSync(SHM)) return { status: 'skipped', name: 'tmpfs', reason: `${SHM} does not exist` };
  const mount = describeMount(SHM);
  if (mount.fsType !== 'tmpfs') return { status: 'skipped', name: 'tmpfs', reason: `${SHM} is ${mount.fsType}, not tmpfs` };
  const dir = mkdtempSync(join(SHM, 'powercut-bench-'));
  stack.add({ kind: 'dir', path: dir });
  openUp(dir);
  return { status: 'ready', name: 'tmpfs', dir, device: undefined, ...mount };
}

// Makes a loop-image filesystem: a sparse image in the lab, a loop device with direct I/O (so
// the image's page cache does not absorb writes; a flush on the loop device becomes an fsync of
// the image file, which flushes the disk below), mkfs, mount.
async function loopFs(lab: DeviceLab, name: Exclude<FsName, 'host' | 'tmpfs'>): Promise<ReadyFs> {
  const spec = LOOP_FILESYSTEMS[name];
  const image = await lab.image(`${name}.img`, IMAGE_BYTES, 'sparse');
  const device = await lab.loop(image, { directIo: true });
  await lab.mkfs(device, { fs: spec.fs, ...(spec.mkfsArgs ? { extraArgs: spec.mkfsArgs } : {}) });
  const dir = await lab.mount(device, { fs: spec.fs, options: spec.mountOptions });
  openUp(dir);
  const loopName = device.replace('/dev/', '');
  return {
    status: 'ready',
    name,
    dir,
    device: backingDevice(dir),
    loop: { device: loopName, directIo: loopDirectIo(loopName), image, disk: backingDevice(lab.dir) },
    ...describeMount(dir, spec.mountOptions),
  };
}

// Prepares every filesystem the matrix needs; one that cannot be made is skipped with its reason.
export async function prepareFilesystems(names: readonly FsName[], workDir: string, stack: CleanupStack, userDir?: string): Promise<FsTarget[]> {
  const out: FsTarget[] = [];
  let lab: DeviceLab | undefined;
  for (const name of names) {
    if (name === 'host') {
      out.push(hostFs(workDir, stack, userDir));
      continue;
    }
    if (name === 'tmpfs') {
      out.push(tmpfsFs(stack));
      continue;
    }
    if (process.getuid?.() !== 0) {
      out.push({ status: 'skipped', name, reason: 'loop-image filesystems need root (losetup, mkfs, mount)' });
      continue;
    }
    try {
      mkdirSync(workDir, { recursive: true });
      lab ??= new DeviceLab({ workDir, stack });
      openUp(lab.dir);
      out.push(await loopFs(lab, name));
    } catch (err) {
      const reason = err instanceof DeviceError || err instanceof Error ? err.message : String(err);
      log.warn({ fs: name, err }, 'filesystem skipped');
      out.push({ status: 'skipped', name, reason });
    }
  }
  return out;
}
