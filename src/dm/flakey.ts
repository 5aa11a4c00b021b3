import { release } from 'node:os';
import { DeviceError } from './device-error.js';
import type { DmTableLine } from './dm-table.js';
import { dmLoad, dmResume, dmSuspend } from './dmsetup.js';

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
  await dmSuspend(name, { noLockfs: true });
  try {
    await dmLoad(name, table);
  } finally {
    // Resume even when the load failed: a device left suspended hangs every I/O on it.
    await dmResume(name);
  }
}
