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

export class DeviceStack {
  private mountedAt: string | undefined;
  /** This trial's table swaps, for its artifact. */
  readonly swaps: TableSwap[] = [];
  private epoch = Date.now();

  private constructor(
    readonly lab: DeviceLab,
    readonly fs: FsVariantName,
    readonly image: string,
    readonly loop: string,
    readonly flakey: FlakeyDevice,
    readonly mountPoint: string,
  ) {}

  /** Build the stack in `lab` (which registers every piece on its cleanup stack). */
  static async create(lab: DeviceLab, fs: FsVariantName): Promise<DeviceStack> {
    const image = await lab.image(`crash-${fs}.img`, IMAGE_BYTES[FS_VARIANTS[fs].fs], 'sparse');
    const loop = await lab.loop(image);
    const flakey = await lab.flakey(loop, 'crash');
    const stack = new DeviceStack(lab, fs, image, loop, flakey, path.join(lab.dir, 'mnt'));
    await stack.freshFilesystem();
    return stack;
  }

  get mounted(): boolean {
    return this.mountedAt !== undefined;
  }

  /** Start a new trial's list of table swaps. */
  startTrial(): void {
    this.swaps.length = 0;
    this.epoch = Date.now();
  }

  private note(what: Exclude<TableSwap['what'], 'wal-blocks-fail'>): void {
    this.swaps.push({ atMs: Date.now() - this.epoch, what, table: formatTable(this.flakey.table(what)) });
  }

  /** mkfs on the flakey device and mount it (unmounting first if needed). */
  async freshFilesystem(): Promise<void> {
    await this.unmount();
    const v = FS_VARIANTS[this.fs];
    await this.lab.mkfs(this.flakey.path, { fs: v.fs, extraArgs: v.mkfsArgs });
    await this.mount();
  }

  async mount(): Promise<void> {
    if (this.mountedAt !== undefined) return;
    const v = FS_VARIANTS[this.fs];
    this.mountedAt = await this.lab.mount(this.flakey.path, { fs: v.fs, options: v.mountOptions, at: this.mountPoint });
  }

  /** The mount after a cut: fsck first where the filesystem has no journal to replay (its report), else nothing. */
  async fsckAfterCut(): Promise<FsckReport | undefined> {
    const v = FS_VARIANTS[this.fs];
    if (!v.fsckAfterCut) return undefined;
    if (this.mountedAt !== undefined) throw new Error('fsck needs the crash filesystem unmounted');
    return fsckBeforeMount(this.flakey.path, v.fs);
  }

  async unmount(): Promise<void> {
    if (this.mountedAt === undefined) return;
    await this.lab.umount(this.mountedAt);
    this.mountedAt = undefined;
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
    await this.flakey.restore({ unmounted: this.mountedAt === undefined });
  }

  /** A new directory for one trial's WAL, made durable before the writer starts. */
  makeTrialDir(name: string): string {
    if (this.mountedAt === undefined) throw new Error('the crash filesystem is not mounted');
    const dir = path.join(this.mountedAt, name);
    mkdirSync(dir);
    // fsync the new directory and its parent: the power cut must not take the directory itself,
    // or recovery would find nothing to open and the trial would judge an empty WAL.
    for (const d of [dir, this.mountedAt]) {
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
