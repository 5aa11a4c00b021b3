import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { CrashError } from '../crash-error.js';
import {
  FS_VARIANTS,
  fileExtents,
  formatTable,
  fsckBeforeMount,
  mergeRanges,
  regionFaultTable,
  type DeviceLab,
  type FlakeyDevice,
  type FsckReport,
  type FsType,
  type FsVariantName,
  type SectorRange,
} from '../../dm/index.js';

/** How often the WAL directory is listed again when a file went between the listing and its FIEMAP. */
const EXTENT_LISTING_ATTEMPTS = 5;

/**
 * The sectors of every file in `dir` while the writer keeps running in it: a spare segment can be
 * renamed into place (or a segment removed) between readdir and filefrag, so a file that is gone
 * by then makes the directory be listed again; its blocks are the WAL's under the new name.
 */
async function extentsOfDir(dir: string): Promise<SectorRange[]> {
  for (let attempt = 1; ; attempt++) {
    const ranges: SectorRange[] = [];
    let vanished: string | undefined;
    for (const name of readdirSync(dir)) {
      const file = path.join(dir, name);
      try {
        ranges.push(...(await fileExtents(file)));
      } catch (error) {
        if (existsSync(file)) throw error;
        vanished = name;
        break;
      }
    }
    if (vanished === undefined) return ranges;
    if (attempt === EXTENT_LISTING_ATTEMPTS)
      throw new CrashError('TRIAL_SETUP_FAILED', `the WAL's files kept changing while their extents were read (${vanished} went ${attempt} times)`);
  }
}

// The device stack every trial of a run shares: one image file, one loop device, one flakey
// device over it, one filesystem, one mount point. Under TCG making these costs seconds (mkfs,
// image), so they are built once; each trial works in a fresh directory on the same filesystem,
// and the filesystem is re-made only after a scenario that may have damaged it. Every table swap
// goes through FlakeyDevice (src/dm/flakey.ts), the project's one power-cut API.
//
// With two devices (a target setting that puts part of its data on a second device, as postgres
// with pg_wal elsewhere), the flakey device is split by two dm-linear devices, each with its own
// filesystem: two block devices, two filesystems, like two partitions of one disk. One flakey
// table switch then cuts both at the same instant by construction: the suspend waits for every
// bio already inside the flakey device (from either linear device) to complete, holds every later
// one, and the resume lets them meet the drop_writes table, so the disk state is "everything
// completed before the suspend, nothing after", the same instant for both filesystems. (Two
// flakey devices suspended one after the other would give a consistent state too, since I/O
// held on a suspended device is unacknowledged, but it needs two suspends per cut and per heal,
// and a stack of one flakey device has no window between them to argue about.)
// Suspending the flakey device never freezes the filesystems above it (they sit on the linear
// devices, which are not suspended), so the cut needs no --nolockfs there, though it keeps it.

/** Image sizes: xfs refuses filesystems under 300 MiB, btrfs under about 110 MiB. */
const IMAGE_BYTES: Record<FsType, number> = {
  ext4: 128 * 1024 * 1024,
  xfs: 320 * 1024 * 1024,
  btrfs: 256 * 1024 * 1024,
};

/** One table swap of a trial, kept for the artifact (dm-tables.txt). */
export interface TableSwap {
  atMs: number;
  what: 'pass-through' | 'drop_writes' | 'error_writes' | 'wal-blocks-fail';
  table: string;
}

/** How many filesystems a stack holds, each on a block device of its own; both cut at one instant. */
export type DeviceCount = 1 | 2;

/** One filesystem of the stack: the block device it is made on and where it is mounted. */
interface Volume {
  device: string;
  mountPoint: string;
  mountedAt: string | undefined;
}

export class DeviceStack {
  /** This trial's table swaps, for its artifact. */
  readonly swaps: TableSwap[] = [];
  private epoch = Date.now();

  private constructor(
    readonly lab: DeviceLab,
    readonly fs: FsVariantName,
    readonly image: string,
    readonly loop: string,
    readonly flakey: FlakeyDevice,
    private readonly volumes: Volume[],
  ) {}

  /**
   * Build the stack in `lab` (which registers every piece on its cleanup stack). `devices` 2: the
   * image is twice the size and its halves are two linear devices over the one flakey device.
   */
  static async create(lab: DeviceLab, fs: FsVariantName, devices: DeviceCount = 1): Promise<DeviceStack> {
    const tag = devices === 1 ? '' : '-2dev';
    const image = await lab.image(`crash-${fs}${tag}.img`, devices * IMAGE_BYTES[FS_VARIANTS[fs].fs], 'sparse');
    const loop = await lab.loop(image);
    const flakey = await lab.flakey(loop, `crash${tag}`);
    const volumes: Volume[] = [];
    if (devices === 1) volumes.push({ device: flakey.path, mountPoint: path.join(lab.dir, 'mnt'), mountedAt: undefined });
    else {
      // Halves on 4 KiB boundaries (8 sectors), the second device's filesystem aligned as the first.
      const half = Math.floor(flakey.sectors / 16) * 8;
      for (const [i, offset] of [0, half].entries()) {
        const linear = await lab.linear(flakey.path, offset, i === 0 ? half : flakey.sectors - half, `crash${tag}-${i + 1}`);
        volumes.push({ device: linear.path, mountPoint: path.join(lab.dir, `mnt${tag}-${i + 1}`), mountedAt: undefined });
      }
    }
    const stack = new DeviceStack(lab, fs, image, loop, flakey, volumes);
    await stack.freshFilesystem();
    return stack;
  }

  /** How many filesystems (block devices) the stack has. */
  get devices(): DeviceCount {
    return this.volumes.length as DeviceCount;
  }

  /** Where the first (or `volume`'s) filesystem is mounted. */
  mountPointOf(volume = 0): string {
    return this.volume(volume).mountPoint;
  }

  get mountPoint(): string {
    return this.mountPointOf(0);
  }

  /** The block device of each filesystem, in order. */
  get blockDevices(): string[] {
    return this.volumes.map((v) => v.device);
  }

  private volume(i: number): Volume {
    const v = this.volumes[i];
    if (v === undefined) throw new Error(`the device stack has no device ${i + 1} (it has ${this.volumes.length})`);
    return v;
  }

  get mounted(): boolean {
    return this.volumes.every((v) => v.mountedAt !== undefined);
  }

  /** Start a new trial's list of table swaps. */
  startTrial(): void {
    this.swaps.length = 0;
    this.epoch = Date.now();
  }

  private note(what: Exclude<TableSwap['what'], 'wal-blocks-fail'>): void {
    this.swaps.push({ atMs: Date.now() - this.epoch, what, table: formatTable(this.flakey.table(what)) });
  }

  /** mkfs on every device of the stack and mount them (unmounting first if needed). */
  async freshFilesystem(): Promise<void> {
    await this.unmount();
    const v = FS_VARIANTS[this.fs];
    for (const volume of this.volumes) await this.lab.mkfs(volume.device, { fs: v.fs, extraArgs: v.mkfsArgs });
    await this.mount();
  }

  async mount(): Promise<void> {
    const v = FS_VARIANTS[this.fs];
    for (const volume of this.volumes) {
      if (volume.mountedAt !== undefined) continue;
      volume.mountedAt = await this.lab.mount(volume.device, { fs: v.fs, options: v.mountOptions, at: volume.mountPoint });
    }
  }

  /** The mount after a cut: fsck first where the filesystem has no journal to replay (its report), else nothing. */
  async fsckAfterCut(volume = 0): Promise<FsckReport | undefined> {
    const v = FS_VARIANTS[this.fs];
    if (!v.fsckAfterCut) return undefined;
    const { device, mountedAt } = this.volume(volume);
    if (mountedAt !== undefined) throw new Error('fsck needs the crash filesystem unmounted');
    return fsckBeforeMount(device, v.fs);
  }

  /** Unmount every filesystem of the stack (the last device first). */
  async unmount(): Promise<void> {
    for (const volume of [...this.volumes].reverse()) {
      if (volume.mountedAt === undefined) continue;
      await this.lab.umount(volume.mountedAt);
      volume.mountedAt = undefined;
    }
  }

  /** Load the drop_writes table into the inactive slot: the cut then needs no load. */
  preloadCut(): Promise<void> {
    return this.flakey.preloadCut('drop_writes');
  }

  /** The power goes: from now on every write is dropped. */
  async cutPower(): Promise<void> {
    this.note('drop_writes');
    await this.flakey.powerCut('drop_writes');
  }

  /** Every write fails with EIO from now on (the filesystem stays mounted). */
  async failWrites(): Promise<void> {
    this.note('error_writes');
    await this.flakey.powerCut('error_writes');
  }

  /**
   * Writes to the blocks that the files in `dir` occupy now fail; the rest of the device and
   * flushes work. Returns the faulted ranges (none: the files have no blocks yet, nothing loaded).
   */
  async failBlocksOf(dir: string): Promise<SectorRange[]> {
    // FIEMAP gives sectors of the filesystem's device: those of the flakey device only when it is the one.
    if (this.volumes.length !== 1) throw new Error('failBlocksOf needs the one-device stack');
    const bad = mergeRanges(await extentsOfDir(dir));
    if (bad.length === 0) return bad;
    this.swaps.push({
      atMs: Date.now() - this.epoch,
      what: 'wal-blocks-fail',
      table: formatTable(regionFaultTable(this.flakey.underlying, this.flakey.sectors, bad)),
    });
    await this.flakey.loadRegionFault(bad);
    return bad;
  }

  /** Back to the pass-through table. */
  async heal(): Promise<void> {
    this.note('pass-through');
    await this.flakey.restore({ unmounted: this.volumes.every((v) => v.mountedAt === undefined) });
  }

  /** A new directory for one trial's WAL (or a target's data), on the first (or `volume`'s) filesystem, made durable before the writer starts. */
  makeTrialDir(name: string, volume = 0): string {
    const { mountedAt } = this.volume(volume);
    if (mountedAt === undefined) throw new Error('the crash filesystem is not mounted');
    const dir = path.join(mountedAt, name);
    mkdirSync(dir);
    // fsync the new directory and its parent: the power cut must not take the directory itself,
    // or recovery would find nothing to open and the trial would judge an empty WAL.
    for (const d of [dir, mountedAt]) {
      const fd = openSync(d, 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    return dir;
  }
}
