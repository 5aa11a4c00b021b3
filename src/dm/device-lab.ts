import { closeSync, ftruncateSync, mkdirSync, mkdtempSync, openSync, realpathSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deviceSectors } from './blockdev.js';
import { CleanupStack, withCleanup, type Registration } from './cleanup-stack.js';
import { DeviceError } from './device-error.js';
import { guardDevice, type RealDeviceConsent } from './device-guard.js';
import { checkDmName, linearTable, mapperPath, type DmTableLine } from './dm-table.js';
import { dmCreate } from './dmsetup.js';
import { FlakeyDevice, flakeyPassThroughTable } from './flakey.js';

export { FlakeyDevice };
import { attachLoop, type LoopOptions } from './losetup.js';
import { logWritesMark, logWritesStatus, logWritesTable, type LogWritesStatus } from './log-writes/table.js';
import { mkfs, type MkfsOptions } from './mkfs.js';
import { mount, type MountOptions } from './mount.js';

// Every dm device we make carries this prefix and our pid, so a look at `dmsetup ls` tells ours
// from anyone else's, and tests can assert that nothing of ours is left.
export const DM_NAME_PREFIX = 'powercut-';
// Image directories start with this (under the work dir, default the OS temp dir).
export const LAB_DIR_PREFIX = 'powercut-lab-';

export interface DeviceLabOptions {
  /** Parent of the lab's own directory (images, mount points). Default: os.tmpdir(). */
  workDir?: string;
  /** Share a stack with other resources of the run; default: a stack of the lab's own. */
  stack?: CleanupStack;
  /** Consent for adoptDevice() of a real block device (option + confirmation). */
  consent?: RealDeviceConsent;
}

// A log-writes device made by a lab.
export class LogWritesDevice {
  constructor(
    readonly name: string,
    readonly path: string,
    readonly dataDevice: string,
    readonly logDevice: string,
    private readonly remove?: () => Promise<void>,
  ) {}

  /** Removes the device now. The kernel then appends the mark `dm-log-writes-end` and writes
   *  the final super block, so the log is complete; anything mounted on it must be unmounted. */
  async teardown(): Promise<void> {
    if (!this.remove) throw new DeviceError('BAD_ARGUMENT', `${this.name}: not made by a DeviceLab, remove it with dmRemove`);
    await this.remove();
  }

  mark(label: string): Promise<void> {
    return logWritesMark(this.name, label);
  }

  status(): Promise<LogWritesStatus> {
    return logWritesStatus(this.name);
  }
}

// The harness's workbench: makes image files, loop devices, filesystems, mounts and dm devices,
// registering each on its cleanup stack before it exists, and applies the safety rule (only our
// own images and what we built on them, unless a real device was adopted with consent).
/** An image file name the lab accepts: letters, digits, `.`, `_` and `-` (no path, no shell word). */
export function checkImageName(name: string): void {
  if (!/^[A-Za-z0-9._-]+$/.test(name)) throw new DeviceError('BAD_ARGUMENT', `image name ${JSON.stringify(name)}: letters, digits, . _ -`);
}

export class DeviceLab {
  readonly dir: string;
  readonly stack: CleanupStack;
  private readonly ownsStack: boolean;
  private readonly ownedImages = new Set<string>();
  private readonly ownedDevices = new Set<string>();
  private readonly mounts = new Map<string, Registration>();
  private readonly dmDevices = new Map<string, Registration>();
  private readonly consent: RealDeviceConsent | undefined;
  private counter = 0;

  constructor(opts: DeviceLabOptions = {}) {
    this.stack = opts.stack ?? new CleanupStack();
    this.ownsStack = opts.stack === undefined;
    this.consent = opts.consent;
    const parent = realpathSync(opts.workDir ?? tmpdir());
    // mkdtemp and registration are both synchronous: no await between them, no leak window.
    this.dir = mkdtempSync(join(parent, LAB_DIR_PREFIX));
    this.stack.add({ kind: 'dir', path: this.dir });
  }

  /** A dm name unique to this process: powercut-<pid>-<base>. */
  dmName(base: string): string {
    const name = `${DM_NAME_PREFIX}${process.pid}-${base}`;
    checkDmName(name);
    return name;
  }

  // Creates an image file of `bytes` in the lab directory. 'sparse' (ftruncate) is instant;
  // 'zero' writes every byte, so later writes overwrite allocated blocks as on a real disk.
  // eslint-disable-next-line @typescript-eslint/require-await -- async so bad arguments reject like every other lab call
  async image(name: string, bytes: number, fill: 'sparse' | 'zero' = 'sparse'): Promise<string> {
    checkImageName(name);
    if (!Number.isSafeInteger(bytes) || bytes <= 0 || bytes % 512 !== 0)
      throw new DeviceError('BAD_ARGUMENT', `image size ${bytes} must be a positive multiple of 512`);
    const path = join(this.dir, name);
    this.stack.add({ kind: 'file', path });
    const fd = openSync(path, 'wx');
    try {
      if (fill === 'zero') {
        const chunk = Buffer.alloc(1 << 20);
        for (let off = 0; off < bytes; off += chunk.length) writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - off), off);
      } else {
        ftruncateSync(fd, bytes);
      }
    } finally {
      closeSync(fd);
    }
    this.ownedImages.add(path);
    return path;
  }

  // Attaches one of our images to a loop device.
  async loop(imagePath: string, opts: LoopOptions = {}): Promise<string> {
    if (!this.ownedImages.has(imagePath)) throw new DeviceError('NOT_OWNED', `refusing to attach ${imagePath}: not an image this lab created`);
    this.stack.add({ kind: 'loop', backingFile: imagePath });
    const device = await this.stack.track(attachLoop(imagePath, opts));
    this.ownedDevices.add(realpathSync(device));
    return device;
  }

  // Makes a device that is not ours usable by this lab: needs consent (option + confirmation)
  // and is refused while mounted or held, consent or not. It is never released by the lab.
  adoptDevice(device: string): string {
    const canonical = guardDevice(device, {
      ownedImages: this.ownedImages,
      ownedDevices: new Set(),
      consent: this.consent ?? { allowRealDevice: false, confirmed: false },
    });
    this.ownedDevices.add(canonical);
    return canonical;
  }

  private guard(device: string): string {
    return guardDevice(device, { ownedImages: this.ownedImages, ownedDevices: this.ownedDevices });
  }

  async mkfs(device: string, opts: MkfsOptions): Promise<void> {
    this.guard(device);
    await this.stack.track(mkfs(device, opts));
  }

  // Mounts a device of ours on a fresh directory in the lab (or `at`) and returns the mount point.
  async mount(device: string, opts: MountOptions & { at?: string } = {}): Promise<string> {
    this.guard(device);
    const mountPoint = opts.at ?? join(this.dir, `mnt-${++this.counter}`);
    mkdirSync(mountPoint, { recursive: true });
    const reg = this.stack.add({ kind: 'mount', mountPoint: realpathSync(mountPoint) });
    await this.stack.track(mount(device, mountPoint, opts));
    this.mounts.set(realpathSync(mountPoint), reg);
    return realpathSync(mountPoint);
  }

  // Unmounts now (e.g. between the crash and the recovery mount); the directory stays.
  async umount(mountPoint: string): Promise<void> {
    const key = realpathSync(mountPoint);
    const reg = this.mounts.get(key);
    if (!reg) throw new DeviceError('NOT_OWNED', `${mountPoint} was not mounted by this lab`);
    await this.stack.release(reg);
    this.mounts.delete(key);
  }

  // Creates a dm device named powercut-<pid>-<base> over devices of ours.
  async createDm(base: string, table: readonly DmTableLine[], devices: readonly string[]): Promise<{ name: string; path: string }> {
    for (const d of devices) this.guard(d);
    const name = this.dmName(base);
    this.dmDevices.set(name, this.stack.add({ kind: 'dm', name }));
    await this.stack.track(dmCreate(name, table));
    const path = mapperPath(name);
    this.ownedDevices.add(realpathSync(path));
    return { name, path };
  }

  // Removes a dm device of this lab now (resuming it first if suspended).
  async removeDm(name: string): Promise<void> {
    const reg = this.dmDevices.get(name);
    if (!reg) throw new DeviceError('NOT_OWNED', `${name} is not a device-mapper device of this lab`);
    await this.stack.release(reg);
    this.dmDevices.delete(name);
  }

  // A flakey device over `device`, passing everything through until powerCut().
  async flakey(device: string, base = 'flakey'): Promise<FlakeyDevice> {
    const sectors = await deviceSectors(device);
    const { name, path } = await this.createDm(base, flakeyPassThroughTable(device, sectors), [device]);
    return new FlakeyDevice(name, path, device, sectors);
  }

  // A linear device: `sectors` of `device` (one of ours) from `offset` on, a slice of it as a
  // block device of its own (two of them over one flakey device are two "partitions" of one disk).
  async linear(device: string, offset: number, sectors: number, base: string): Promise<{ name: string; path: string }> {
    return this.createDm(base, linearTable(device, offset, sectors), [device]);
  }

  // A log-writes device writing through to `device` and logging to `logDevice`.
  async logWrites(device: string, logDevice: string, base = 'logw'): Promise<LogWritesDevice> {
    const sectors = await deviceSectors(device);
    const { name, path } = await this.createDm(base, logWritesTable(device, logDevice, sectors), [device, logDevice]);
    return new LogWritesDevice(name, path, device, logDevice, () => this.removeDm(name));
  }

  // Puts a running process on the stack: it is SIGKILLed on teardown, before anything it may
  // hold open (a mount, a device) is released below it.
  // `group`: the process leads its own process group, which is killed whole (see Resource).
  trackProcess(pid: number, label: string, opts: { group?: boolean } = {}): Registration {
    return this.stack.addProcess(pid, label, opts);
  }

  // Releases everything this lab made, in reverse order (only when the lab owns its stack;
  // a shared stack is unwound by its owner).
  async dispose(): Promise<void> {
    if (this.ownsStack) await this.stack.unwind();
  }
}

// Runs fn with a fresh lab on a fresh stack, and always unwinds it (see withCleanup).
export function withDeviceLab<T>(fn: (lab: DeviceLab) => Promise<T>, opts: Omit<DeviceLabOptions, 'stack'> = {}): Promise<T> {
  return withCleanup((stack) => fn(new DeviceLab({ ...opts, stack })));
}
