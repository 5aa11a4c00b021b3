import { closeSync, fsyncSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { dmLoad, dmResume, dmSuspend, flakeyFaultTable, flakeyPassThroughTable, formatTable, type DeviceLab, type FlakeyDevice, type FsType } from '../../dm/index.js';

// The device stack every trial of a run shares: one image file, one loop device, one flakey
// device over it, one filesystem, one mount point. Under TCG making these costs seconds (mkfs,
// image), so they are built once; each trial works in a fresh directory on the same filesystem,
// and the filesystem is re-made only after a scenario that may have damaged it.

/** Image sizes: xfs refuses filesystems under 300 MiB, btrfs under about 110 MiB. */
const IMAGE_BYTES: Record<FsType, number> = {
  ext4: 128 * 1024 * 1024,
  xfs: 320 * 1024 * 1024,
  btrfs: 256 * 1024 * 1024,
};

/** One table swap or device operation of a trial, kept for the artifact (dm-tables.txt). */
export interface TableRecord {
  atMs: number;
  what: 'pass-through' | 'drop_writes' | 'error_writes';
  table: string;
}

// Table swaps cost a dmsetup process each, about a second under TCG, so the power cut is split:
// the drop_writes table is loaded into the inactive slot ahead of time while the writer runs
// (loading changes nothing until a resume), and the cut itself is then only suspend --nolockfs
// and resume. After the unmount the filesystem is gone, so no freeze can sync anything: the
// pass-through table is restored by load + resume (resume suspends by itself).
export class CrashBench {
  private mountedAt: string | undefined;
  private preloaded: 'drop_writes' | null = null;
  readonly tables: TableRecord[] = [];
  private epoch = Date.now();

  private constructor(
    readonly lab: DeviceLab,
    readonly fs: FsType,
    readonly image: string,
    readonly loop: string,
    readonly flakey: FlakeyDevice,
    readonly mountPoint: string,
  ) {}

  /** Build the stack in `lab` (which registers every piece on its cleanup stack). */
  static async create(lab: DeviceLab, fs: FsType): Promise<CrashBench> {
    const image = await lab.image(`crash-${fs}.img`, IMAGE_BYTES[fs], 'sparse');
    const loop = await lab.loop(image);
    const flakey = await lab.flakey(loop, 'crash');
    const bench = new CrashBench(lab, fs, image, loop, flakey, path.join(lab.dir, 'mnt'));
    await bench.freshFilesystem();
    return bench;
  }

  get mounted(): boolean {
    return this.mountedAt !== undefined;
  }

  /** Start a new table record (one per trial). */
  resetRecord(): void {
    this.tables.length = 0;
    this.epoch = Date.now();
  }

  private note(what: TableRecord['what']): void {
    const table =
      what === 'pass-through' ? flakeyPassThroughTable(this.flakey.underlying, this.flakey.sectors) : flakeyFaultTable(this.flakey.underlying, this.flakey.sectors, what);
    this.tables.push({ atMs: Date.now() - this.epoch, what, table: formatTable(table) });
  }

  /** mkfs on the flakey device and mount it (unmounting first if needed). */
  async freshFilesystem(): Promise<void> {
    await this.unmount();
    await this.lab.mkfs(this.flakey.path, { fs: this.fs });
    await this.mount();
  }

  async mount(): Promise<void> {
    if (this.mountedAt !== undefined) return;
    this.mountedAt = await this.lab.mount(this.flakey.path, { fs: this.fs, at: this.mountPoint });
  }

  async unmount(): Promise<void> {
    if (this.mountedAt === undefined) return;
    await this.lab.umount(this.mountedAt);
    this.mountedAt = undefined;
  }

  /** Load the drop_writes table into the inactive slot: the cut then needs no load. */
  async preloadCut(): Promise<void> {
    await dmLoad(this.flakey.name, flakeyFaultTable(this.flakey.underlying, this.flakey.sectors, 'drop_writes'));
    this.preloaded = 'drop_writes';
  }

  /** The power goes: from now on every write is dropped (suspend --nolockfs, [load,] resume). */
  async cutPower(): Promise<void> {
    this.note('drop_writes');
    if (this.preloaded !== 'drop_writes') {
      await this.flakey.powerCut('drop_writes');
      return;
    }
    this.preloaded = null;
    // If the suspend fails, no resume: resuming a live device with a table in the inactive slot
    // would suspend it WITH a freeze, syncing the filesystem, and the cut would lose nothing.
    await dmSuspend(this.flakey.name, { noLockfs: true });
    await dmResume(this.flakey.name);
  }

  /** Every write fails with EIO from now on (with the filesystem mounted: swapFlakeyTable). */
  async failWrites(): Promise<void> {
    this.note('error_writes');
    this.preloaded = null;
    await this.flakey.powerCut('error_writes');
  }

  /** Back to the pass-through table. */
  async heal(): Promise<void> {
    this.note('pass-through');
    this.preloaded = null;
    if (this.mountedAt !== undefined) {
      await this.flakey.restore();
      return;
    }
    // Nothing mounted: nothing to freeze, so a plain load + resume swaps the table.
    await dmLoad(this.flakey.name, flakeyPassThroughTable(this.flakey.underlying, this.flakey.sectors));
    await dmResume(this.flakey.name);
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
