import { closeSync, fstatSync, ftruncateSync, lstatSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { LogFlag, iterateEntries, type IterateOptions, type IteratedEntry, type LogEntry, type LogFile } from './format.js';

// Materialise the logged device at a point of a dm-log-writes log onto a zeroed image file.
//
// Starting from zeros (a fresh sparse file) and only ever moving forward is what keeps "stale data
// from the future" out of a replayed state: xfstests' known pain when a prefix is replayed onto a
// device that already holds later writes. The Replayer keeps a cursor, so replaying to a later
// point applies only the entries in between.
//
// I/O here is synchronous on purpose: replay is a batch step between mounts, nothing else runs on
// the event loop meanwhile, and avoiding a promise per chunk keeps it at disk speed.

export type ReplayErrorCode = 'REPLAY_BAD_TARGET' | 'REPLAY_TARGET_NOT_FOUND' | 'REPLAY_BACKWARDS' | 'REPLAY_BAD_OUTPUT' | 'REPLAY_IO';

export class ReplayError extends Error {
  override readonly name = 'ReplayError';
  constructor(
    readonly code: ReplayErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * A point in the log. `entry N` is 0-based and inclusive (entries 0..N applied); `flush N` and
 * `fua N` count from 1 (the Nth FLUSH / FUA entry, inclusive); `mark NAME` is the first mark with
 * that label; `end` is every entry.
 */
export type ReplayTarget =
  { kind: 'entry'; n: number } | { kind: 'mark'; name: string } | { kind: 'flush'; n: number } | { kind: 'fua'; n: number } | { kind: 'end' };

/** Parse "entry 12", "mark ack-5", "flush 3", "fua 1" or "end" (also "kind:value"). */
export function parseTarget(text: string): ReplayTarget {
  const trimmed = text.trim();
  const match = /^(entry|mark|flush|fua)[\s:]+(.+)$/.exec(trimmed);
  if (trimmed === 'end') return { kind: 'end' };
  if (match === null) {
    throw new ReplayError('REPLAY_BAD_TARGET', `bad replay point ${JSON.stringify(text)}: expected "entry N", "mark NAME", "flush N", "fua N" or "end"`);
  }
  const kind = match[1] as 'entry' | 'mark' | 'flush' | 'fua';
  const value = (match[2] as string).trim();
  if (kind === 'mark') return { kind, name: value };
  if (!/^\d+$/.test(value)) throw new ReplayError('REPLAY_BAD_TARGET', `bad replay point ${JSON.stringify(text)}: ${kind} needs a whole number`);
  const n = Number(value);
  if (kind !== 'entry' && n < 1) throw new ReplayError('REPLAY_BAD_TARGET', `bad replay point ${JSON.stringify(text)}: ${kind} counts from 1`);
  return { kind, n };
}

export function formatTarget(target: ReplayTarget): string {
  switch (target.kind) {
    case 'end':
      return 'end';
    case 'mark':
      return `mark ${target.name}`;
    default:
      return `${target.kind} ${target.n}`;
  }
}

const COPY_CHUNK = 1 << 20;

/** Copies data and zeroes ranges into an image file, reusing one buffer. */
export class ImageWriter {
  private readonly buffer = Buffer.alloc(COPY_CHUNK);
  private readonly zeros = Buffer.alloc(COPY_CHUNK);
  /** Bytes of entry data written so far (discards not counted). */
  bytesWritten = 0;

  constructor(
    readonly fd: number,
    private readonly log: LogFile,
  ) {}

  /**
   * Apply one entry: write its data at its sector, or zero its range for a discard. `limitBytes`
   * writes only the first bytes of the data (a torn write); marks and empty flushes do nothing.
   */
  apply(entry: LogEntry, limitBytes = Infinity): void {
    const offset = entry.sector * this.log.super.sectorSize;
    if ((entry.flags & LogFlag.DISCARD) !== 0) {
      this.zero(offset, Math.min(entry.nrSectors * this.log.super.sectorSize, limitBytes));
      return;
    }
    this.copy(entry.dataOffset, offset, Math.min(entry.dataBytes, limitBytes));
  }

  /** Copy `length` bytes from the log at `from` to the image at `to`. */
  copy(from: number, to: number, length: number): void {
    this.copyBetween(this.log.fd, from, to, length);
  }

  /** Copy `length` bytes from another file (e.g. a base image) at `from` to the image at `to`. */
  copyBetween(sourceFd: number, from: number, to: number, length: number): void {
    let done = 0;
    while (done < length) {
      const want = Math.min(COPY_CHUNK, length - done);
      const got = readSync(sourceFd, this.buffer, 0, want, from + done);
      // Reading past the end of a sparse base image yields nothing: that range is zeros.
      const chunk = got === 0 ? this.zeros.subarray(0, want) : this.buffer.subarray(0, got);
      writeFully(this.fd, chunk, to + done);
      done += chunk.length;
    }
    this.bytesWritten += length;
  }

  /** Write zeros over [offset, offset + length) of the image, as a discard reads back. */
  zero(offset: number, length: number): void {
    // Past the end of the file everything already reads as zero; writing zeros there would only
    // grow the file (a discard of a whole 1 TB device, say), so stop at the current size.
    const size = fstatSync(this.fd).size;
    const end = Math.min(offset + length, size);
    for (let at = offset; at < end; at += COPY_CHUNK) writeFully(this.fd, this.zeros.subarray(0, Math.min(COPY_CHUNK, end - at)), at);
  }
}

function writeFully(fd: number, data: Buffer, position: number): void {
  let done = 0;
  while (done < data.length) done += writeSync(fd, data, done, data.length - done, position + done);
}

/** Open `path` as a fresh zero-filled (sparse) image of `sizeBytes`; refuses anything but a regular file. */
export function createZeroImage(path: string, sizeBytes: number): number {
  let existing: ReturnType<typeof lstatSync> | undefined;
  try {
    existing = lstatSync(path);
  } catch {
    existing = undefined;
  }
  // Replaying over a block device or through a symlink by mistake would destroy real data.
  if (existing !== undefined && !existing.isFile()) {
    throw new ReplayError('REPLAY_BAD_OUTPUT', `${path} exists and is not a regular file: replay writes image files only`);
  }
  // Unlink rather than truncate an old image: ext4's auto_da_alloc starts writeback of a file
  // truncated to zero and rewritten, which made every crash state wait for the disk.
  if (existing !== undefined) unlinkSync(path);
  let fd: number;
  try {
    fd = openSync(path, 'w+');
    ftruncateSync(fd, sizeBytes);
  } catch (error) {
    throw new ReplayError('REPLAY_BAD_OUTPUT', `cannot create image ${path}: ${(error as Error).message}`, { cause: error });
  }
  return fd;
}

export interface ReplayProgress {
  /** Entries applied so far: the index of the next entry to apply. */
  position: number;
  flushes: number;
  fuas: number;
  /** The last entry applied, or null before the first. */
  last: LogEntry | null;
  bytesWritten: number;
}

/**
 * Replays one log onto one image, forward only. Create it with a fresh image (createZeroImage);
 * each replayTo applies the entries between the current cursor and the target.
 */
export class Replayer {
  private readonly entries: Generator<IteratedEntry>;
  private exhausted = false;
  private readonly marksSeen = new Set<string>();
  private readonly writer: ImageWriter;
  private readonly progress: ReplayProgress = { position: 0, flushes: 0, fuas: 0, last: null, bytesWritten: 0 };

  constructor(
    readonly log: LogFile,
    imageFd: number,
    options: IterateOptions = {},
  ) {
    this.entries = iterateEntries(log, options);
    this.writer = new ImageWriter(imageFd, log);
  }

  get state(): Readonly<ReplayProgress> {
    return { ...this.progress, bytesWritten: this.writer.bytesWritten };
  }

  /** Apply entries up to and including the target point; throws if it lies behind the cursor. */
  replayTo(target: ReplayTarget): Readonly<ReplayProgress> {
    if (this.reached(target)) {
      throw new ReplayError(
        'REPLAY_BACKWARDS',
        `cannot replay backwards to ${formatTarget(target)}: already at entry ${this.progress.position} (start again from a zeroed image)`,
      );
    }
    for (;;) {
      const entry = this.next();
      if (entry === null) {
        if (target.kind === 'end') return this.state;
        throw new ReplayError(
          'REPLAY_TARGET_NOT_FOUND',
          `${this.log.path}: ${formatTarget(target)} is not in the log (${this.progress.position} entries, ${this.progress.flushes} flushes, ${this.progress.fuas} FUAs)`,
        );
      }
      this.writer.apply(entry);
      this.progress.position++;
      if ((entry.flags & LogFlag.FLUSH) !== 0) this.progress.flushes++;
      if ((entry.flags & LogFlag.FUA) !== 0) this.progress.fuas++;
      if (entry.mark !== null) this.marksSeen.add(entry.mark);
      this.progress.last = entry;
      if (this.hit(target, entry)) return this.state;
    }
  }

  // Whether the target is already behind the cursor (replaying to it would need to go back).
  private reached(target: ReplayTarget): boolean {
    switch (target.kind) {
      case 'entry':
        return target.n < this.progress.position;
      case 'flush':
        return target.n <= this.progress.flushes;
      case 'fua':
        return target.n <= this.progress.fuas;
      case 'mark':
        return this.marksSeen.has(target.name);
      case 'end':
        return false;
    }
  }

  private hit(target: ReplayTarget, entry: LogEntry): boolean {
    switch (target.kind) {
      case 'entry':
        return entry.index === target.n;
      case 'flush':
        return (entry.flags & LogFlag.FLUSH) !== 0 && this.progress.flushes === target.n;
      case 'fua':
        return (entry.flags & LogFlag.FUA) !== 0 && this.progress.fuas === target.n;
      case 'mark':
        return entry.mark === target.name;
      case 'end':
        return false;
    }
  }

  private next(): IteratedEntry | null {
    if (this.exhausted) return null;
    const step = this.entries.next();
    if (step.done === true) {
      this.exhausted = true;
      return null;
    }
    return step.value;
  }
}

/** Convenience: replay a log onto a new zeroed image at `imagePath` up to `target`. */
export function replayToImage(
  log: LogFile,
  imagePath: string,
  target: ReplayTarget,
  options: IterateOptions & { sizeBytes?: number } = {},
): Readonly<ReplayProgress> {
  const fd = createZeroImage(imagePath, options.sizeBytes ?? 0);
  try {
    return new Replayer(log, fd, options).replayTo(target);
  } finally {
    closeSync(fd);
  }
}
