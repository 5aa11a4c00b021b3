import { closeSync, existsSync, ftruncateSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { LogFlag, type LogIndex } from './format.js';
import { createZeroImage, ImageWriter, Replayer } from './replay.js';
import { restoreFromBase } from '../loop-mount.js';
import { mulberry32 } from '../../seeded-random.js';

// Crash states of a dm-log-writes recording: every state the disk could have been left in.
//
// The model (from the kernel's logging order, see dm-log-writes.c): plain writes are logged when
// the next FLUSH completes, right before the FLUSH entry; FUA writes and marks are logged as they
// complete. So the log splits into epochs at FLUSH entries:
//
//   epoch 0 = entries [0, f1),  epoch j = entries [fj, fj+1),  last epoch = [flast, end)
//
// Entries before fj are durable once fj completed. Inside epoch j, FUA writes are durable when
// they complete; every other write (and discard) sat in a volatile cache that may have persisted
// any subset of them, in any order, possibly tearing one at a 512-byte boundary. A FLUSH entry
// that carries data without FUA is a PREFLUSH write: its data lands after the flush, so it is a
// volatile member of the epoch it opens.
//
// States:
// - prefix: the device after entries [0, p) at each persistence point (after each FLUSH, each FUA
//   and each mark) and at the end. The acknowledgements issued before the crash are the marks
//   before p.
// - subset: epoch j's durable base ([0, fj)) + all of its FUA writes + a subset of its volatile
//   writes (every subset up to a bound, seeded random ones beyond). The crash moment is just
//   before fj+1 completes, so every mark of the epoch had been issued: the oracle gets the most
//   acknowledgements any such state can be paired with, which is the strictest check.
// - torn: like subset with the volatile writes before one volatile write (in log order), and that
//   write cut after k*512 bytes: in-order write-back that died mid-write.
//
// States come out with nondecreasing `base`, so the applier replays the durable base forward only.
//
// A limit of the model, shared with CrashMonkey: a write that completed after FLUSH j+1 was
// submitted but before it completed is logged after that FLUSH, so it only ever appears in epoch
// j+1's states, although the cache could have persisted it alongside a subset of epoch j.

/** One entry applied on top of the base: whole, or only its first `bytes` (a torn write). */
export interface StateWrite {
  entry: number;
  bytes?: number;
}

export type CrashStateKind = 'prefix' | 'subset' | 'torn';
export type PersistenceReason = 'flush' | 'fua' | 'mark' | 'end';

/** A pure description of one crash state; materialise it with StateMaterialiser. */
export interface CrashState {
  /** Stable and unique within an enumeration, e.g. "prefix@12", "e3/subset/0,2", "e3/torn/7@1024". */
  id: string;
  kind: CrashStateKind;
  epoch: number;
  /** For prefix states: why this point persists something. */
  reason?: PersistenceReason;
  /** Entries [0, base) are applied in full and in order. */
  base: number;
  /** Then these, in order. */
  writes: StateWrite[];
  /** Marks at entry indexes below this had been issued when the power went. */
  visibleUntil: number;
}

export interface EnumerateOptions {
  /** Epochs with at most this many volatile writes get every subset (2^n states). Default 8. */
  exhaustiveLimit?: number;
  /** Random subsets drawn for larger epochs (besides the empty and the full set). Default 64. */
  randomSubsets?: number;
  /** Tear points per volatile write, spread evenly over its 512-byte boundaries. Default 8. */
  tearsPerWrite?: number;
  /** Torn states per epoch at most: beyond it a seeded random choice of (write, tear point). Default 64. */
  tornPerEpoch?: number;
  /** Seed of the random subsets: the same seed gives the same states. Default 1. */
  seed?: number;
  /**
   * Only states whose crash moment lies after this entry index, e.g. the index of a "mkfs done"
   * mark: before the filesystem exists on the device no state is worth mounting. Default -1.
   */
  after?: number;
  /** The same by label: the first mark with this label (e.g. "mkfs"); an error if there is none. */
  afterMark?: string;
  /** Turn off subsets and tears: persistence points only. */
  prefixOnly?: boolean;
  /** Skip states with an image already yielded (default true; false is for testing the key). */
  dedup?: boolean;
}

/** What an enumeration covered; complete once iteration has finished. */
export interface Coverage {
  entries: number;
  epochs: number;
  /** Epochs whose volatile writes were enumerated exhaustively / sampled at random. */
  exhaustiveEpochs: number;
  sampledEpochs: number;
  persistencePoints: number;
  prefixStates: number;
  subsetStates: number;
  tornStates: number;
  /** Torn variants left out by the tornPerEpoch bound. */
  tornNotSampled: number;
  /** States skipped because another state yields the same image with at least as many marks visible. */
  duplicatesSkipped: number;
  /** States yielded (prefix + subset + torn). */
  states: number;
}

const CHUNK = 512;

/** An iterable over crash states whose `coverage` fills in as it is iterated. */
export class CrashStateEnumeration implements Iterable<CrashState> {
  readonly coverage: Coverage;
  private readonly options: Required<EnumerateOptions>;

  constructor(
    private readonly index: LogIndex,
    options: EnumerateOptions = {},
  ) {
    let after = options.after ?? -1;
    if (options.afterMark !== undefined) {
      const mark = index.markEntries().find((m) => m.label === options.afterMark);
      if (mark === undefined) throw new RangeError(`the log has no mark ${JSON.stringify(options.afterMark)} to start crash states after`);
      after = Math.max(after, mark.index);
    }
    this.options = {
      afterMark: options.afterMark ?? '',
      exhaustiveLimit: options.exhaustiveLimit ?? 8,
      randomSubsets: options.randomSubsets ?? 64,
      tearsPerWrite: options.tearsPerWrite ?? 8,
      tornPerEpoch: options.tornPerEpoch ?? 64,
      seed: options.seed ?? 1,
      after,
      prefixOnly: options.prefixOnly ?? false,
      dedup: options.dedup ?? true,
    };
    if (this.options.exhaustiveLimit > 20) throw new RangeError('exhaustiveLimit above 20 means over a million states per epoch');
    this.coverage = {
      entries: index.length,
      epochs: 0,
      exhaustiveEpochs: 0,
      sampledEpochs: 0,
      persistencePoints: 0,
      prefixStates: 0,
      subsetStates: 0,
      tornStates: 0,
      tornNotSampled: 0,
      duplicatesSkipped: 0,
      states: 0,
    };
  }

  *[Symbol.iterator](): Generator<CrashState> {
    // Image key -> the most marks visible in a state yielded with that image. A state whose image
    // was already yielded with at least as many acknowledgements visible is skipped: the oracle's
    // requirements only grow with acknowledgements, so that earlier state checked more.
    const seen = new Map<string, number>();
    const index = this.index;
    const coverage = this.coverage;
    const markIndexes = index.markEntries().map((m) => m.index);
    const keyer = new ImageKeyer(index);
    const dedup = this.options.dedup;
    const emit = (state: CrashState): boolean => {
      if (!dedup) {
        coverage.states++;
        coverage[`${state.kind}States`]++;
        return true;
      }
      const key = keyer.key(state);
      const marks = countBelow(markIndexes, state.visibleUntil);
      const previous = seen.get(key);
      if (previous !== undefined && previous >= marks) {
        coverage.duplicatesSkipped++;
        return false;
      }
      seen.set(key, marks);
      coverage.states++;
      coverage[`${state.kind}States`]++;
      return true;
    };

    for (const epoch of epochsOf(index)) {
      coverage.epochs++;
      if (epoch.end > this.options.after && !this.options.prefixOnly) {
        for (const state of this.volatileStates(epoch)) if (emit(state)) yield state;
      }
      for (let i = epoch.start; i < epoch.end; i++) {
        const reason = persistenceReason(index.flags(i));
        if (reason === null) continue;
        coverage.persistencePoints++;
        if (i < this.options.after) continue;
        // A later persistence point with no write in between has the same image and sees at
        // least as many marks: that one is the state to check.
        if (dedup && laterPointSameImage(index, i)) {
          coverage.duplicatesSkipped++;
          continue;
        }
        const state: CrashState = { id: `prefix@${i + 1}`, kind: 'prefix', epoch: epoch.number, reason, base: i + 1, writes: [], visibleUntil: i + 1 };
        if (emit(state)) yield state;
      }
      if (epoch.end === index.length && index.length > this.options.after) {
        const state: CrashState = {
          id: `prefix@${index.length}`,
          kind: 'prefix',
          epoch: epoch.number,
          reason: 'end',
          base: index.length,
          writes: [],
          visibleUntil: index.length,
        };
        if (emit(state)) yield state;
      }
    }
  }

  private *volatileStates(epoch: Epoch): Generator<CrashState> {
    const { index, options, coverage } = this;
    const members = membersOf(index, epoch);
    const { volatile } = members;
    if (volatile.length === 0) return;
    const subsets: number[][] = [];
    if (volatile.length <= options.exhaustiveLimit) {
      coverage.exhaustiveEpochs++;
      for (let mask = 0; mask < 2 ** volatile.length; mask++) subsets.push(volatile.filter((_, bit) => (mask & (2 ** bit)) !== 0));
    } else {
      coverage.sampledEpochs++;
      const random = mulberry32(options.seed * 1_000_003 + epoch.number);
      subsets.push([], volatile);
      for (let n = 0; n < options.randomSubsets; n++) subsets.push(volatile.filter(() => random() < 0.5));
    }
    for (const subset of subsets) yield subsetState(members, subset);
    const tears = volatile.flatMap((torn) => tearPoints(index.entry(torn).dataBytes, options.tearsPerWrite).map((bytes) => ({ torn, bytes })));
    let chosen = tears;
    if (tears.length > options.tornPerEpoch) {
      // A seeded partial shuffle, then back into log order so the base still only moves forward.
      const random = mulberry32(options.seed * 2_000_003 + epoch.number);
      const pool = [...tears];
      for (let k = 0; k < options.tornPerEpoch; k++) {
        const pick = k + Math.floor(random() * (pool.length - k));
        [pool[k], pool[pick]] = [pool[pick] as (typeof pool)[number], pool[k] as (typeof pool)[number]];
      }
      chosen = pool.slice(0, options.tornPerEpoch).sort((a, b) => a.torn - b.torn || a.bytes - b.bytes);
      coverage.tornNotSampled += tears.length - chosen.length;
    }
    for (const { torn, bytes } of chosen) yield tornState(members, torn, bytes);
  }
}

/** An epoch's entries that change the device: durable (FUA) ones and volatile (cached) ones. */
interface EpochMembers {
  epoch: Epoch;
  durable: number[];
  volatile: number[];
}

function membersOf(index: LogIndex, epoch: Epoch): EpochMembers {
  const durable: number[] = [];
  const volatile: number[] = [];
  for (let i = epoch.start; i < epoch.end; i++) {
    if (!touches(index, i)) continue;
    ((index.flags(i) & LogFlag.FUA) !== 0 ? durable : volatile).push(i);
  }
  return { epoch, durable, volatile };
}

function volatileState(members: EpochMembers, kind: 'subset' | 'torn', id: string, writes: StateWrite[]): CrashState {
  const { epoch } = members;
  return { id: `e${epoch.number}/${kind}/${id}`, kind, epoch: epoch.number, base: epoch.start, writes, visibleUntil: epoch.end };
}

// All FUA writes of the epoch plus the chosen volatile ones, in log order: where writes overlap,
// the later one wins when both persisted.
function subsetState(members: EpochMembers, subset: readonly number[]): CrashState {
  const writes = [...members.durable, ...subset].sort((a, b) => a - b).map((entry) => ({ entry }));
  return volatileState(members, 'subset', subset.join(','), writes);
}

// In-order write-back that died inside `torn`: every epoch write before it, its first `bytes`,
// and the FUA writes after it (they had completed too: the crash moment is the epoch's end).
function tornState(members: EpochMembers, torn: number, bytes: number): CrashState {
  const before = [...members.durable, ...members.volatile]
    .filter((e) => e < torn)
    .sort((a, b) => a - b)
    .map((entry) => ({ entry }));
  const after = members.durable.filter((e) => e > torn).map((entry) => ({ entry }));
  return volatileState(members, 'torn', `${torn}@${bytes}`, [...before, { entry: torn, bytes }, ...after]);
}

/**
 * Rebuild a state from its id alone ("prefix@12", "e3/subset/4,6", "e3/torn/5@1024"), so a
 * failing state can be named in a replay command without re-running the enumeration (sampled
 * subsets depend on a seed; their ids list their members). Throws RangeError for an id that does
 * not describe a state of this log.
 */
export function stateFromId(index: LogIndex, id: string): CrashState {
  const epochs = [...epochsOf(index)];
  const prefix = /^prefix@(\d+)$/.exec(id);
  if (prefix !== null) {
    const base = Number(prefix[1]);
    if (base > index.length) throw new RangeError(`state ${id}: the log has ${index.length} entries`);
    const epoch = epochs.find((e) => base - 1 >= e.start && base - 1 < e.end)?.number ?? 0;
    const reason = base === index.length ? 'end' : (persistenceReason(index.flags(base - 1)) ?? undefined);
    return { id, kind: 'prefix', epoch, ...(reason !== undefined ? { reason } : {}), base, writes: [], visibleUntil: base };
  }
  const volatile = /^e(\d+)\/(subset|torn)\/(.*)$/.exec(id);
  const epoch = volatile === null ? undefined : epochs[Number(volatile[1])];
  if (volatile === null || epoch === undefined)
    throw new RangeError(
      `state ${JSON.stringify(id)}: expected prefix@N, eK/subset/A,B,... or eK/torn/E@BYTES for an epoch of this log (${epochs.length} epochs)`,
    );
  const members = membersOf(index, epoch);
  const rest = volatile[3] as string;
  if (volatile[2] === 'subset') {
    const subset = rest === '' ? [] : rest.split(',').map(Number);
    const stray = subset.find((e) => !members.volatile.includes(e));
    if (stray !== undefined)
      throw new RangeError(`state ${id}: entry ${stray} is not a volatile write of epoch ${epoch.number} (${members.volatile.join(',') || 'none'})`);
    return subsetState(members, subset);
  }
  const torn = /^(\d+)@(\d+)$/.exec(rest);
  const entry = torn === null ? NaN : Number(torn[1]);
  const bytes = torn === null ? NaN : Number(torn[2]);
  if (!members.volatile.includes(entry)) throw new RangeError(`state ${id}: entry ${rest} is not a volatile write of epoch ${epoch.number}`);
  if (!tearPoints(index.entry(entry).dataBytes, Infinity).includes(bytes))
    throw new RangeError(`state ${id}: ${bytes} is not a 512-byte boundary inside entry ${entry}`);
  return tornState(members, entry, bytes);
}

/** Enumerate the crash states of a log (see the model at the top of this file). */
export function enumerateStates(index: LogIndex, options: EnumerateOptions = {}): CrashStateEnumeration {
  return new CrashStateEnumeration(index, options);
}

interface Epoch {
  number: number;
  start: number;
  end: number;
}

function* epochsOf(index: LogIndex): Generator<Epoch> {
  let start = 0;
  let number = 0;
  for (let i = 0; i < index.length; i++) {
    if ((index.flags(i) & LogFlag.FLUSH) !== 0 && i > start) {
      yield { number: number++, start, end: i };
      start = i;
    }
  }
  if (index.length > 0) yield { number, start, end: index.length };
}

/** How many sorted indexes are below `limit`. */
function countBelow(sorted: readonly number[], limit: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if ((sorted[mid] as number) < limit) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

// Whether a persistence point after entry i (or the end of the log) comes before the next entry
// that changes the device.
function laterPointSameImage(index: LogIndex, i: number): boolean {
  for (let j = i + 1; j < index.length; j++) {
    if (touches(index, j)) return false;
    if (persistenceReason(index.flags(j)) !== null) return true;
  }
  // Only marks or nothing until the end: the 'end' state has this image and every mark.
  return i + 1 < index.length;
}

function persistenceReason(flags: number): PersistenceReason | null {
  if ((flags & LogFlag.FLUSH) !== 0) return 'flush';
  if ((flags & LogFlag.FUA) !== 0) return 'fua';
  if ((flags & LogFlag.MARK) !== 0) return 'mark';
  return null;
}

/** Bytes to keep of a write of `length` bytes: k*512 for 0 < k*512 < length, at most `limit`, evenly spread. */
export function tearPoints(length: number, limit: number): number[] {
  const cuts = Math.ceil(length / CHUNK) - 1;
  if (cuts <= 0 || limit <= 0) return [];
  if (cuts <= limit) return Array.from({ length: cuts }, (_, k) => (k + 1) * CHUNK);
  const picked = new Set<number>();
  for (let k = 0; k < limit; k++) picked.add((1 + Math.round((k * (cuts - 1)) / Math.max(limit - 1, 1))) * CHUNK);
  return [...picked].sort((a, b) => a - b);
}

// The identity of the image a state produces, computed without reading data: which entry's bytes
// end up in each 512-byte chunk of the device (its provenance), hashed. Equal provenance means an
// equal image; the converse may miss (two writes of identical bytes count as different), which only
// costs a redundant state. The hash is a sum of per-chunk hashes in two 32-bit lanes, so the base
// can be advanced one entry at a time and a state costs only the chunks of its own writes; with 64
// bits, a false match among a million states has odds of about 1 in 10^7.
export class ImageKeyer {
  private readonly owner = new Map<number, number>();
  private lane1 = 0;
  private lane2 = 0;
  private position = 0;

  constructor(private readonly index: LogIndex) {}

  /** The key of a state's image. Cheapest when called in nondecreasing `base` order. */
  key(state: CrashState): string {
    this.advance(state.base);
    const overlay = new Map<number, number>();
    for (const write of state.writes) this.chunksOf(write.entry, write.bytes, (chunk, who) => overlay.set(chunk, who));
    let lane1 = this.lane1;
    let lane2 = this.lane2;
    for (const [chunk, who] of overlay) {
      const before = this.owner.get(chunk);
      if (before !== undefined) {
        lane1 = (lane1 - chunkHash1(chunk, before)) >>> 0;
        lane2 = (lane2 - chunkHash2(chunk, before)) >>> 0;
      }
      if (who !== ZEROED) {
        lane1 = (lane1 + chunkHash1(chunk, who)) >>> 0;
        lane2 = (lane2 + chunkHash2(chunk, who)) >>> 0;
      }
    }
    return `${lane1.toString(16).padStart(8, '0')}${lane2.toString(16).padStart(8, '0')}`;
  }

  private advance(base: number): void {
    if (base < this.position) {
      this.owner.clear();
      this.lane1 = 0;
      this.lane2 = 0;
      this.position = 0;
    }
    for (; this.position < base; this.position++) {
      this.chunksOf(this.position, undefined, (chunk, who) => {
        const before = this.owner.get(chunk);
        if (before !== undefined) {
          this.lane1 = (this.lane1 - chunkHash1(chunk, before)) >>> 0;
          this.lane2 = (this.lane2 - chunkHash2(chunk, before)) >>> 0;
        }
        if (who === ZEROED) {
          this.owner.delete(chunk);
          return;
        }
        this.owner.set(chunk, who);
        this.lane1 = (this.lane1 + chunkHash1(chunk, who)) >>> 0;
        this.lane2 = (this.lane2 + chunkHash2(chunk, who)) >>> 0;
      });
    }
  }

  // Visit each 512-byte chunk an entry writes (its first `limit` bytes) with its owner id:
  // entry * 2^21 + chunk offset within the entry, or ZEROED for a discard.
  private chunksOf(i: number, limit: number | undefined, visit: (chunk: number, who: number) => void): void {
    const entry = this.index.entry(i);
    const discard = (entry.flags & LogFlag.DISCARD) !== 0;
    const length = Math.min(limit ?? Infinity, discard ? entry.nrSectors * this.index.sectorSize : entry.dataBytes);
    const first = (entry.sector * this.index.sectorSize) / CHUNK;
    for (let c = 0; c < length / CHUNK; c++) visit(first + c, discard ? ZEROED : i * 2 ** 21 + c);
  }
}

const ZEROED = -1;

function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function chunkHash1(chunk: number, who: number): number {
  return fmix32(Math.imul(chunk >>> 0, 0xcc9e2d51) ^ fmix32((who >>> 0) ^ Math.imul(Math.floor(who / 2 ** 32), 0x1b873593)) ^ Math.floor(chunk / 2 ** 32));
}

function chunkHash2(chunk: number, who: number): number {
  return fmix32(chunkHash1(chunk, who) ^ Math.imul((chunk >>> 0) + 0x9e3779b9, 0x27d4eb2f) ^ Math.floor(who / 2 ** 21));
}

function touches(index: LogIndex, i: number): boolean {
  return (index.flags(i) & LogFlag.DISCARD) !== 0 || index.entry(i).dataBytes > 0;
}

/** The labels of the marks issued before a state's crash moment, in log order. */
export function visibleMarks(index: LogIndex, state: CrashState): string[] {
  return index
    .markEntries()
    .filter((m) => m.index < state.visibleUntil)
    .map((m) => m.label);
}

/**
 * Produces the image of any crash state. It keeps a private base image replayed forward to the
 * states' `base` (states from enumerateStates never need to go back; if one does, the base is
 * rebuilt from zeros), and writes each requested state as a fresh file the caller may mount and
 * modify freely (a filesystem replays its journal on mount).
 *
 * A fresh file per state must not cost a full copy of the device: a 64 MiB image copied per state
 * caps the rate near 10 states/s here. The output starts sparse (all zeros) and receives only the
 * blocks of the base that any entry has written, tracked in a block map, then the state's writes.
 *
 * With `reuse`, an image this materialiser wrote before (the previous state of a checker's slot,
 * since mounted, journal-replayed and written to) is turned back into the base in place
 * (restoreFromBase: compare the base's blocks, rewrite those that differ, punch out the rest) and
 * then gets the state's writes: the same bytes as a fresh image, without allocating and copying
 * every block of the base again.
 */
export class StateMaterialiser {
  private readonly workDir: string;
  private readonly basePath: string;
  private baseFd: number;
  private replayer: Replayer;
  private position = 0;
  private readonly blockBytes: number;
  private readonly dirty: Uint8Array;

  constructor(
    private readonly index: LogIndex,
    /** Image size: the logged device's size (default: the end of the highest sector touched). */
    private readonly sizeBytes: number = index.deviceBytesNeeded(),
    workParent = '/tmp',
  ) {
    // 4 KiB blocks, coarser on huge devices so the map stays under 16 M entries.
    this.blockBytes = Math.max(4096, 2 ** Math.ceil(Math.log2(Math.max(sizeBytes, 1) / 2 ** 24)));
    this.dirty = new Uint8Array(Math.ceil(sizeBytes / this.blockBytes));
    this.workDir = mkdtempSync(join(workParent, 'powercut-states-'));
    this.basePath = join(this.workDir, 'base.img');
    this.baseFd = createZeroImage(this.basePath, sizeBytes);
    this.replayer = new Replayer(index.log, this.baseFd, { beyondSuper: index.beyondSuper > 0 });
  }

  /** Images this materialiser wrote, which `reuse` may rebuild in place. */
  private readonly written = new Set<string>();
  /** Blocks rewritten and punched by in-place rebuilds, and blocks compared (for the report). */
  readonly reuseStats = { images: 0, compared: 0, copied: 0, punched: 0 };

  /** Write the image of `state` to `imagePath` (created or overwritten; must not be a device). */
  materialise(state: CrashState, imagePath: string, options: { reuse?: boolean } = {}): void {
    this.advanceBase(state.base);
    if (options.reuse === true && this.written.has(imagePath) && existsSync(imagePath)) {
      const fd = openSync(imagePath, 'r+');
      try {
        const stats = restoreFromBase(this.baseFd, fd, this.sizeBytes, this.blockBytes, this.dirty);
        this.reuseStats.images++;
        this.reuseStats.compared += stats.compared;
        this.reuseStats.copied += stats.copied;
        this.reuseStats.punched += stats.punched;
        this.applyWrites(fd, state);
      } finally {
        closeSync(fd);
      }
      return;
    }
    const fd = createZeroImage(imagePath, this.sizeBytes);
    this.written.add(imagePath);
    try {
      const writer = new ImageWriter(fd, this.index.log);
      for (let block = 0; block < this.dirty.length; block++) {
        if (this.dirty[block] === 0) continue;
        let end = block + 1;
        while (end < this.dirty.length && this.dirty[end] === 1) end++;
        const from = block * this.blockBytes;
        writer.copyBetween(this.baseFd, from, from, Math.min(end * this.blockBytes, this.sizeBytes) - from);
        block = end;
      }
      this.applyWrites(fd, state, writer);
    } finally {
      closeSync(fd);
    }
  }

  private applyWrites(fd: number, state: CrashState, writer = new ImageWriter(fd, this.index.log)): void {
    for (const write of state.writes) writer.apply(this.index.entry(write.entry), write.bytes);
    // A write past the device's end would grow the file; the device cannot hold it either.
    ftruncateSync(fd, this.sizeBytes);
  }

  private advanceBase(base: number): void {
    if (base < this.position) {
      closeSync(this.baseFd);
      this.baseFd = createZeroImage(this.basePath, this.sizeBytes);
      this.replayer = new Replayer(this.index.log, this.baseFd, { beyondSuper: this.index.beyondSuper > 0 });
      this.dirty.fill(0);
      this.position = 0;
    }
    if (base > this.position) {
      this.replayer.replayTo({ kind: 'entry', n: base - 1 });
      for (let i = this.position; i < base; i++) {
        const entry = this.index.entry(i);
        if (entry.dataBytes === 0) continue;
        const start = entry.sector * this.index.sectorSize;
        const last = Math.min(Math.ceil((start + entry.dataBytes) / this.blockBytes), this.dirty.length);
        this.dirty.fill(1, Math.floor(start / this.blockBytes), last);
      }
      this.position = base;
    }
  }

  /** Remove the private base image. */
  close(): void {
    closeSync(this.baseFd);
    rmSync(this.workDir, { recursive: true, force: true });
  }
}
