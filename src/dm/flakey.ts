import { release } from 'node:os';
import { DeviceError } from './device-error.js';
import type { DmTableLine } from './dm-table.js';
import { dmLoad, dmResume, dmResumeIfSuspended, dmSuspend } from './dmsetup.js';

// dm-flakey's optional features (drivers/md/dm-flakey.c). Which exist depends on the kernel:
// error_reads needs 6.4+, random_*_corrupt 6.5+; an older kernel rejects the table and dmsetup's
// error says so.
export type FlakeyFeature =
  | { kind: 'drop_writes' }
  | { kind: 'error_writes' }
  | { kind: 'error_reads' }
  | { kind: 'corrupt_bio_byte'; nthByte: number; direction: 'r' | 'w'; value: number; flags: number }
  | { kind: 'random_read_corrupt'; probability: number }
  | { kind: 'random_write_corrupt'; probability: number };

// First kernel release with each feature (REFERENCES.md); the rest predate any kernel we run on.
const FEATURE_SINCE: Partial<Record<FlakeyFeature['kind'], [number, number]>> = {
  error_reads: [6, 4],
  random_read_corrupt: [6, 5],
  random_write_corrupt: [6, 5],
};

// Whether the running kernel's dm-flakey has a feature, judged from its release ("6.1.0-56-amd64").
// Lets a caller skip a scenario with a reason instead of failing at `dmsetup load`.
export function flakeyFeatureSupported(kind: FlakeyFeature['kind'], kernelRelease = release()): boolean {
  const since = FEATURE_SINCE[kind];
  if (!since) return true;
  const m = /^(\d+)\.(\d+)/.exec(kernelRelease);
  if (!m) return false;
  const [major, minor] = [Number(m[1]), Number(m[2])];
  return major > since[0] || (major === since[0] && minor >= since[1]);
}

export interface FlakeyTableOptions {
  /** The underlying block device. */
  device: string;
  /** Length in 512-byte sectors. */
  sectors: number;
  /** Start offset on the underlying device, in sectors. */
  offset?: number;
  /** Seconds of normal behaviour, then downSecs of faults, repeating. */
  upSecs: number;
  downSecs: number;
  features?: readonly FlakeyFeature[];
}

function checkInt(what: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER): void {
  if (!Number.isSafeInteger(v) || v < min || v > max) throw new DeviceError('BAD_ARGUMENT', `flakey ${what} ${v} must be an integer in [${min}, ${max}]`);
}

function featureWords(f: FlakeyFeature): (string | number)[] {
  switch (f.kind) {
    case 'drop_writes':
    case 'error_writes':
    case 'error_reads':
      return [f.kind];
    case 'corrupt_bio_byte':
      checkInt('corrupt_bio_byte byte index', f.nthByte, 1);
      checkInt('corrupt_bio_byte value', f.value, 0, 255);
      checkInt('corrupt_bio_byte flags', f.flags, 0, 0xffffffff);
      return [f.kind, f.nthByte, f.direction, f.value, f.flags];
    case 'random_read_corrupt':
    case 'random_write_corrupt':
      // The kernel counts probability out of 1,000,000,000.
      checkInt(`${f.kind} probability`, f.probability, 0, 1_000_000_000);
      return [f.kind, f.probability];
  }
}

// The table line of a flakey device. num_features counts argument WORDS, not features
// (corrupt_bio_byte contributes 5), which is the mistake this function exists to prevent.
export function flakeyTable(o: FlakeyTableOptions): DmTableLine[] {
  checkInt('length', o.sectors, 1);
  checkInt('offset', o.offset ?? 0, 0);
  checkInt('up interval', o.upSecs, 0);
  checkInt('down interval', o.downSecs, 0);
  if (o.upSecs + o.downSecs === 0) throw new DeviceError('BAD_ARGUMENT', 'flakey up + down interval must be positive');
  const features = o.features ?? [];
  const kinds = features.map((f) => f.kind);
  if (kinds.includes('drop_writes') && kinds.includes('error_writes')) {
    throw new DeviceError('BAD_ARGUMENT', 'flakey drop_writes and error_writes exclude each other');
  }
  if (new Set(kinds).size !== kinds.length) throw new DeviceError('BAD_ARGUMENT', `flakey feature listed twice: ${kinds.join(', ')}`);
  const words = features.flatMap(featureWords);
  const args: (string | number)[] = [o.device, o.offset ?? 0, o.upSecs, o.downSecs];
  if (words.length > 0) args.push(words.length, ...words);
  return [{ start: 0, length: o.sectors, target: 'flakey', args }];
}

// Every I/O passes: up forever (down interval 0), as xfstests' FLAKEY_ALLOW_WRITES.
export function flakeyPassThroughTable(device: string, sectors: number): DmTableLine[] {
  return flakeyTable({ device, sectors, upSecs: 1, downSecs: 0 });
}

// The power cut: from now on writes vanish (drop_writes) or fail (error_writes); reads still work.
// Up interval 0 means "down" from the first second on, as xfstests' FLAKEY_DROP_WRITES.
export function flakeyFaultTable(device: string, sectors: number, mode: 'drop_writes' | 'error_writes' = 'drop_writes'): DmTableLine[] {
  return flakeyTable({ device, sectors, upSecs: 0, downSecs: 180, features: [{ kind: mode }] });
}

// Swaps the live table of a flakey device: suspend WITHOUT freezing the filesystem (a freeze
// would sync it, and the power cut would lose nothing), load, resume. The integration test
// "flakey-nolockfs" shows the difference; do not "fix" this back to a plain suspend.
export async function swapFlakeyTable(name: string, table: readonly DmTableLine[]): Promise<void> {
  await suspended(name, () => dmLoad(name, table));
}

// The one failure rule for every table swap and power cut: whatever fails, the device is resumed
// before anything else happens to it (xfstests' _flakey_drop_and_remount resumes before the
// unmount), because a device left suspended hangs every later I/O on it, the unmount included.
// A failed suspend may or may not have suspended the device, so the device's own state decides:
// resuming a device that is not suspended would itself suspend it WITH a freeze (no --nolockfs),
// which syncs the filesystem, so it is never resumed blindly.
async function suspended(name: string, work: () => Promise<void>): Promise<void> {
  try {
    await dmSuspend(name, { noLockfs: true });
    await work();
  } catch (error) {
    await dmResumeIfSuspended(name).catch(() => undefined);
    throw error;
  }
  await dmResume(name);
}

export type FaultMode = 'drop_writes' | 'error_writes';

// A table whose `bad` ranges are dm-error and the rest pass-through flakey. dm-error, not flakey
// error_writes: flakey also fails the empty flush bios dm sends to every target that asks for
// them, so a region of error_writes would fail every fdatasync on the device. The error target
// asks for no flushes, so only writes (and reads) of the bad sectors fail and a flush succeeds:
// exactly the "write failed once, the device works again" that a retried fdatasync then hides.
export function regionFaultTable(device: string, sectors: number, bad: readonly { start: number; length: number }[]): DmTableLine[] {
  const lines: DmTableLine[] = [];
  let at = 0;
  for (const r of bad) {
    checkInt('bad range start', r.start, at, sectors - 1);
    checkInt('bad range length', r.length, 1, sectors - r.start);
    if (r.start > at) lines.push({ start: at, length: r.start - at, target: 'flakey', args: [device, at, 1, 0] });
    lines.push({ start: r.start, length: r.length, target: 'error', args: [] });
    at = r.start + r.length;
  }
  if (at < sectors) lines.push({ start: at, length: sectors - at, target: 'flakey', args: [device, at, 1, 0] });
  return lines;
}

// A flakey device: the only power-cut and restore API of the project. Table swaps cost a dmsetup
// process each (about a second under TCG), so a cut can be split: preloadCut() loads the fault
// table into the inactive slot while the workload runs (a load changes nothing until a resume),
// and powerCut() is then only suspend --nolockfs + resume.
export class FlakeyDevice {
  private preloaded: FaultMode | null = null;

  constructor(
    readonly name: string,
    readonly path: string,
    readonly underlying: string,
    readonly sectors: number,
  ) {}

  /** The table of a fault mode (or pass-through) over this device. */
  table(mode: FaultMode | 'pass-through'): DmTableLine[] {
    return mode === 'pass-through' ? flakeyPassThroughTable(this.underlying, this.sectors) : flakeyFaultTable(this.underlying, this.sectors, mode);
  }

  /** Load the fault table into the inactive slot now, so the cut itself needs no load. */
  async preloadCut(mode: FaultMode = 'drop_writes'): Promise<void> {
    await dmLoad(this.name, this.table(mode));
    this.preloaded = mode;
  }

  /** From now on writes are dropped (default) or fail: suspend --nolockfs, [load,] resume. */
  async powerCut(mode: FaultMode = 'drop_writes'): Promise<void> {
    const preloaded = this.preloaded === mode;
    this.preloaded = null;
    await suspended(this.name, preloaded ? () => Promise.resolve() : () => dmLoad(this.name, this.table(mode)));
  }

  /**
   * Back to pass-through (what xfstests does before the post-crash mount). `unmounted`: nothing is
   * mounted on the device, so nothing can be frozen and a plain load + resume swaps the table (one
   * dmsetup process less: about a second under TCG).
   */
  async restore(opts: { unmounted?: boolean } = {}): Promise<void> {
    this.preloaded = null;
    if (!opts.unmounted) {
      await swapFlakeyTable(this.name, this.table('pass-through'));
      return;
    }
    await dmLoad(this.name, this.table('pass-through'));
    await dmResume(this.name);
  }

  /**
   * Writes to the `bad` sector ranges (sorted, disjoint) fail with EIO; the rest of the device and
   * every flush keep working (regionFaultTable). restore() makes the whole device good again.
   */
  async loadRegionFault(bad: readonly { start: number; length: number }[]): Promise<void> {
    this.preloaded = null;
    await swapFlakeyTable(this.name, regionFaultTable(this.underlying, this.sectors, bad));
  }

  /** Any other flakey table over the same device (up/down intervals, corrupt_bio_byte, ...). */
  async load(opts: Omit<FlakeyTableOptions, 'device' | 'sectors'>): Promise<void> {
    this.preloaded = null;
    await swapFlakeyTable(this.name, flakeyTable({ ...opts, device: this.underlying, sectors: this.sectors }));
  }
}
