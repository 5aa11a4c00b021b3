import { groupCommitApplies, isStrategy, STRATEGIES, SYNC_STRATEGIES, type Strategy } from '../strategy/index.js';
import { WalError } from './errors.js';

// Durability strategies and what an acknowledgement means for each: src/strategy (one place).
export { STRATEGIES, SYNC_STRATEGIES, type Strategy };
export type Preallocation = 'none' | 'fallocate' | 'zero';

export const PREALLOCATIONS: readonly Preallocation[] = ['none', 'fallocate', 'zero'];

/** Crash testing: where the native core sends a dm-log-writes mark for every promise it publishes. */
export interface PublishMarks {
  /** The dm-log-writes device's dm name (not a path), as `dmsetup message <name> 0 mark ...` takes. */
  dmName: string;
  /** The device-mapper control device, default /dev/mapper/control. */
  control?: string;
}

export interface WalOptions {
  /** Bytes per segment, default 64 MiB; a multiple of 4096 between 64 KiB and 4 GiB - 4 KiB. */
  segmentSize?: number;
  /** How a new segment file is prepared, default 'zero' (written with zeros once, then overwritten). */
  preallocate?: Preallocation;
  /** Reuse segment files freed by truncate, default true. */
  recycle?: boolean;
  /** Default 'fdatasync'. */
  strategy?: Strategy;
  /** fsync|fdatasync|dsync|direct only: batch concurrent appends into one write + one sync. Default false. */
  groupCommit?: boolean;
  /** periodic only: sync interval in milliseconds, default 10. */
  periodMs?: number;
  /** fdatasync|direct only: sync_file_range(WRITE) write-out hint before each fdatasync. */
  syncFileRange?: boolean;
  /** Cut the log at mid-log corruption (reported in recovery.repaired) instead of failing open. */
  repair?: boolean;
  /**
   * Inspect only, default false: nothing in the directory is created, written, removed or synced
   * (a read-only mount works). What recovery would cut (a torn tail, a repair) is cut in memory
   * only; append() and truncate() reject with WAL_READ_ONLY. Writers are kept out while it is open.
   */
  readOnly?: boolean;
  /**
   * Crash testing only, default null: the native thread that publishes a promise first sends the
   * mark `ack-<seq>` (every seq <= seq acknowledged) or `durable-<seq>` (the durable watermark) to
   * this dm-log-writes device (DM_TARGET_MSG ioctl), before the promise is visible to JS. So a
   * recording always has a crash state that shows a promise made before its sync completed. A mark
   * that cannot be sent fails the WAL (WAL_IO or WAL_PERMISSION). See native/dm/publish-marks.h.
   */
  publishMarks?: PublishMarks | null;
  /**
   * Group commit only: how many batches may be syncing at once, default 1 (one sync at a time).
   * Above 1, the next batch is written and synced while earlier ones still sync, each through its
   * own file descriptor; acknowledgements still follow batch order, and a failed sync fails every
   * later batch. Worth it on devices that run flushes in parallel (measure: `pnpm bench`).
   */
  syncDepth?: number;
  /** Microseconds the native committer busy-waits for work before sleeping, default 50 (0: never spin). */
  spinUs?: number;
  /**
   * Microseconds the JS event loop keeps polling instead of sleeping while 1 to 4 of this handle's
   * appends await acknowledgement, counted from the last append or acknowledgement; default 1000
   * (0: never poll). Waking a sleeping event loop costs tens of microseconds on a VM, a large share of one
   * fdatasync; polling spends CPU on the JS thread while it waits.
   */
  pollUs?: number;
}

export type ResolvedOptions = Required<Omit<WalOptions, 'publishMarks'>> & { publishMarks: Required<PublishMarks> | null };

const DEFAULTS: ResolvedOptions = {
  segmentSize: 64 * 1024 * 1024,
  preallocate: 'zero',
  recycle: true,
  strategy: 'fdatasync',
  groupCommit: false,
  periodMs: 10,
  syncFileRange: false,
  repair: false,
  readOnly: false,
  publishMarks: null,
  spinUs: 50,
  pollUs: 1000,
  syncDepth: 1,
};

const MIN_SEGMENT = 64 * 1024;
// Entry offsets are stored as u32 in the native index.
const MAX_SEGMENT = 4 * 1024 * 1024 * 1024 - 4096;

function invalid(message: string): WalError {
  return new WalError('WAL_INVALID_ARGUMENT', message);
}

function isInteger(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v);
}

// DM_NAME_LEN is 128 bytes with its NUL; a mark label must fit dm-log-writes' 512-byte block.
const DM_NAME_MAX = 127;

function resolvePublishMarks(v: unknown): Required<PublishMarks> | null {
  if (v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw invalid('publishMarks must be { dmName, control? } or null');
  const { dmName, control, ...rest } = v as Record<string, unknown>;
  const extra = Object.keys(rest);
  if (extra.length > 0) throw invalid(`unknown publishMarks field '${extra[0]}' (known: dmName, control)`);
  if (typeof dmName !== 'string' || dmName.length === 0 || Buffer.byteLength(dmName) > DM_NAME_MAX || /[\s/\0]/.test(dmName)) {
    throw invalid(`publishMarks.dmName must be a dm device name of 1-${DM_NAME_MAX} bytes without whitespace or '/', got ${JSON.stringify(dmName)}`);
  }
  if (control !== undefined && (typeof control !== 'string' || control.length === 0 || control.includes('\0'))) {
    throw invalid(`publishMarks.control must be a path, got ${JSON.stringify(control)}`);
  }
  return { dmName, control: control ?? '/dev/mapper/control' };
}

// Checks every option and fills defaults; throws WalError('WAL_INVALID_ARGUMENT') naming the bad one.
export function resolveOptions(options: WalOptions | undefined): ResolvedOptions {
  if (options === undefined) return { ...DEFAULTS };
  if (typeof options !== 'object' || options === null) throw invalid('options must be an object');
  for (const key of Object.keys(options)) {
    if (!(key in DEFAULTS)) throw invalid(`unknown option '${key}' (known: ${Object.keys(DEFAULTS).join(', ')})`);
  }
  const o: ResolvedOptions = { ...DEFAULTS };
  for (const [key, value] of Object.entries(options) as [keyof WalOptions, unknown][]) {
    if (value !== undefined) (o as unknown as Record<string, unknown>)[key] = value;
  }
  if (!isInteger(o.segmentSize) || o.segmentSize < MIN_SEGMENT || o.segmentSize > MAX_SEGMENT || o.segmentSize % 4096 !== 0) {
    throw invalid(`segmentSize must be a multiple of 4096 between ${MIN_SEGMENT} and ${MAX_SEGMENT}, got ${String(o.segmentSize)}`);
  }
  if (!PREALLOCATIONS.includes(o.preallocate)) {
    throw invalid(`preallocate must be one of ${PREALLOCATIONS.join(', ')}, got ${String(o.preallocate)}`);
  }
  if (!isStrategy(o.strategy)) throw invalid(`strategy must be one of ${STRATEGIES.join(', ')}, got ${String(o.strategy)}`);
  for (const key of ['recycle', 'groupCommit', 'syncFileRange', 'repair', 'readOnly'] as const) {
    if (typeof o[key] !== 'boolean') throw invalid(`${key} must be a boolean, got ${String(o[key])}`);
  }
  if (o.groupCommit && !groupCommitApplies(o.strategy)) {
    throw invalid(`groupCommit applies to ${SYNC_STRATEGIES.join('|')} only, not '${o.strategy}'`);
  }
  if (!isInteger(o.periodMs) || o.periodMs < 1 || o.periodMs > 60_000) {
    throw invalid(`periodMs must be an integer between 1 and 60000, got ${String(o.periodMs)}`);
  }
  if (options.periodMs !== undefined && o.strategy !== 'periodic') {
    throw invalid(`periodMs applies to the 'periodic' strategy only, not '${o.strategy}'`);
  }
  if (o.syncFileRange && o.strategy !== 'fdatasync' && o.strategy !== 'direct') {
    throw invalid(`syncFileRange applies to 'fdatasync' and 'direct' only, not '${o.strategy}'`);
  }
  for (const key of ['spinUs', 'pollUs'] as const) {
    if (!isInteger(o[key]) || o[key] < 0 || o[key] > 100_000) {
      throw invalid(`${key} must be an integer between 0 and 100000, got ${String(o[key])}`);
    }
  }
  o.publishMarks = resolvePublishMarks(o.publishMarks);
  if (o.publishMarks !== null && o.readOnly) throw invalid('publishMarks makes no sense with readOnly (nothing is published)');
  if (!isInteger(o.syncDepth) || o.syncDepth < 1 || o.syncDepth > 16) {
    throw invalid(`syncDepth must be an integer between 1 and 16, got ${String(o.syncDepth)}`);
  }
  if (options.syncDepth !== undefined && !o.groupCommit) {
    throw invalid('syncDepth applies to group commit only (groupCommit: true)');
  }
  return o;
}
