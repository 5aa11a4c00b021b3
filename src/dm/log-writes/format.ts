import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

// The dm-log-writes on-disk format, checked against the kernel (drivers/md/dm-log-writes.c) and
// its reference reader (xfstests src/log-writes/log-writes.c):
//
//   log    = super-block entry*
//   super  = le64 magic, le64 version, le64 nr_entries, le32 sectorsize, zero padding
//            (one sectorsize block at byte 0; log_super() memsets the rest of the block)
//   entry  = header-block data
//   header = le64 sector, le64 nr_sectors, le64 flags, le64 data_len, then for a MARK the
//            data_len label bytes (no NUL), then zero padding to one sectorsize block
//   data   = nr_sectors * sectorsize bytes, absent for DISCARD (the kthread does not advance
//            next_sector for discards), and empty for marks and empty flushes (nr_sectors 0)
//
// The first entry starts at byte `sectorsize` (ctr: next_sector = sectorsize >> 9). sector and
// nr_sectors count sectorsize units (bio_to_dev_sectors), not 512-byte units. The super block's
// nr_entries is rewritten only after a FUA or MARK entry and at teardown (log_super is called for
// those alone), so a log copied from a live device may hold more complete entries than it says;
// like xfstests we trust nr_entries by default and can optionally scan beyond it.

/** The super block magic, "rhswfsj" read as a little-endian integer. */
export const LOG_WRITES_MAGIC = 0x6a736677736872n;
export const LOG_WRITES_VERSION = 1n;

/** Entry flags (LOG_*_FLAG in the kernel). */
export const LogFlag = {
  FLUSH: 1 << 0,
  FUA: 1 << 1,
  DISCARD: 1 << 2,
  MARK: 1 << 3,
  METADATA: 1 << 4,
} as const;
const KNOWN_FLAGS = LogFlag.FLUSH | LogFlag.FUA | LogFlag.DISCARD | LogFlag.MARK | LogFlag.METADATA;

/** Size of struct log_write_entry (and the offset of a mark's label in its header block). */
export const ENTRY_HEADER_BYTES = 32;
/** Size of struct log_write_super without padding. */
const SUPER_BYTES = 28;

export type LogWritesErrorCode =
  | 'LOG_OPEN_FAILED'
  | 'LOG_TRUNCATED_SUPER'
  | 'LOG_BAD_MAGIC'
  | 'LOG_BAD_VERSION'
  | 'LOG_BAD_SECTOR_SIZE'
  | 'LOG_TRUNCATED_HEADER'
  | 'LOG_TRUNCATED_DATA'
  | 'LOG_MALFORMED_ENTRY';

/** A dm-log-writes log that cannot be read: which entry, at which byte offset, and why. */
export class LogWritesError extends Error {
  override readonly name = 'LogWritesError';
  constructor(
    readonly code: LogWritesErrorCode,
    message: string,
    /** Index of the offending entry (0-based), when the problem is in an entry. */
    readonly entryIndex?: number,
    /** Byte offset in the log file where the offending structure starts. */
    readonly offset?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface LogSuper {
  /** Entries the kernel last recorded as logged (see the note on nr_entries above). */
  nrEntries: number;
  /** The logged device's logical block size: the unit of sector, nr_sectors and header blocks. */
  sectorSize: number;
}

/** One logged write, flush, discard or mark. */
export interface LogEntry {
  index: number;
  /** Byte offset of the entry's header block in the log file. */
  headerOffset: number;
  /** Byte offset of the entry's data in the log file (header offset + one sector). */
  dataOffset: number;
  /** First device sector written, in sectorSize units. */
  sector: number;
  /** Sectors written (or discarded), in sectorSize units. */
  nrSectors: number;
  flags: number;
  /** Bytes of data that follow the header in the log: 0 for discards, marks and empty flushes. */
  dataBytes: number;
  /** The label of a MARK entry; null for every other entry. */
  mark: string | null;
}

/** An open log file: its size and super block. */
export interface LogFile {
  path: string;
  fd: number;
  size: number;
  super: LogSuper;
}

export function hasFlag(entry: { flags: number }, flag: number): boolean {
  return (entry.flags & flag) !== 0;
}

/** A short human form of an entry's flags, e.g. "FLUSH|FUA" or "WRITE" for none. */
export function flagNames(flags: number): string {
  const names = (Object.keys(LogFlag) as (keyof typeof LogFlag)[]).filter((name) => (flags & LogFlag[name]) !== 0);
  return names.length === 0 ? 'WRITE' : names.join('|');
}

/** Open a dm-log-writes log and validate its super block. Close it with closeLog. */
export function openLog(path: string): LogFile {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error) {
    throw new LogWritesError('LOG_OPEN_FAILED', `cannot open log ${path}: ${(error as Error).message}`, undefined, undefined, { cause: error });
  }
  try {
    const size = fstatSync(fd).size;
    const head = Buffer.alloc(SUPER_BYTES);
    const got = readSync(fd, head, 0, SUPER_BYTES, 0);
    if (got < SUPER_BYTES) {
      throw new LogWritesError(
        'LOG_TRUNCATED_SUPER',
        `${path}: ${size} bytes is too short for a dm-log-writes super block (${SUPER_BYTES} bytes)`,
        undefined,
        0,
      );
    }
    const magic = head.readBigUInt64LE(0);
    if (magic !== LOG_WRITES_MAGIC) {
      throw new LogWritesError(
        'LOG_BAD_MAGIC',
        `${path}: not a dm-log-writes log (magic 0x${magic.toString(16)}, expected 0x${LOG_WRITES_MAGIC.toString(16)})`,
        undefined,
        0,
      );
    }
    const version = head.readBigUInt64LE(8);
    if (version !== LOG_WRITES_VERSION) {
      throw new LogWritesError('LOG_BAD_VERSION', `${path}: dm-log-writes version ${version} is not supported (expected ${LOG_WRITES_VERSION})`, undefined, 8);
    }
    const nrEntries = head.readBigUInt64LE(16);
    const sectorSize = head.readUInt32LE(24);
    // A logical block size is a power of two from 512 bytes up; 64 KiB bounds any real device.
    if (sectorSize < 512 || sectorSize > 65536 || (sectorSize & (sectorSize - 1)) !== 0) {
      throw new LogWritesError('LOG_BAD_SECTOR_SIZE', `${path}: sector size ${sectorSize} is not a power of two between 512 and 65536`, undefined, 24);
    }
    if (nrEntries > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new LogWritesError('LOG_TRUNCATED_SUPER', `${path}: nr_entries ${nrEntries} is impossibly large`, undefined, 16);
    }
    if (size < sectorSize) {
      throw new LogWritesError(
        'LOG_TRUNCATED_SUPER',
        `${path}: ${size} bytes is shorter than the super block's own sector (${sectorSize} bytes)`,
        undefined,
        0,
      );
    }
    return { path, fd, size, super: { nrEntries: Number(nrEntries), sectorSize } };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

export function closeLog(log: LogFile): void {
  closeSync(log.fd);
}

// Reads from the log through a 1 MiB window: headers are read one by one, in file order, and one
// readSync per header would cost a syscall per entry on a log of millions of entries.
class WindowReader {
  private window: Buffer = Buffer.alloc(0);
  private windowStart = 0;
  private readonly buffer: Buffer;

  constructor(
    private readonly log: LogFile,
    windowBytes = 1 << 20,
  ) {
    this.buffer = Buffer.alloc(Math.max(windowBytes, log.super.sectorSize));
  }

  /** Up to `length` bytes at `offset` (fewer at end of file); valid until the next call. */
  read(offset: number, length: number): Buffer {
    const end = offset + length;
    if (offset < this.windowStart || end > this.windowStart + this.window.length) {
      const got = readSync(this.log.fd, this.buffer, 0, this.buffer.length, offset);
      this.window = this.buffer.subarray(0, got);
      this.windowStart = offset;
    }
    return this.window.subarray(offset - this.windowStart, Math.min(end, this.windowStart + this.window.length) - this.windowStart);
  }
}

export interface IterateOptions {
  /**
   * Keep reading complete, valid entries after the super block's nr_entries (a log copied from a
   * live device, see above). Reading stops quietly at the first header that is not a valid entry
   * (stale bytes or zeros past the real end) or at end of file; such entries get `beyondSuper`.
   */
  beyondSuper?: boolean;
}

/** An entry as iterated: beyondSuper marks entries past the super block's nr_entries. */
export type IteratedEntry = LogEntry & { beyondSuper: boolean };

/**
 * Iterate the entries of an open log in order, streaming: only header blocks are read, so a
 * multi-GB log never sits in memory. A malformed entry within nr_entries throws a LogWritesError
 * naming the entry index and byte offset.
 */
export function* iterateEntries(log: LogFile, options: IterateOptions = {}): Generator<IteratedEntry> {
  const reader = new WindowReader(log);
  const { sectorSize, nrEntries } = log.super;
  let offset = sectorSize;
  for (let index = 0; ; index++) {
    const beyondSuper = index >= nrEntries;
    if (beyondSuper && !options.beyondSuper) return;
    if (beyondSuper && offset >= log.size) return;
    let entry: LogEntry;
    try {
      entry = decodeEntry(log, reader.read(offset, sectorSize), index, offset);
    } catch (error) {
      if (beyondSuper && error instanceof LogWritesError) return;
      throw error;
    }
    yield { ...entry, beyondSuper };
    offset = entry.dataOffset + entry.dataBytes;
  }
}

function decodeEntry(log: LogFile, header: Buffer, index: number, offset: number): LogEntry {
  const { sectorSize } = log.super;
  const where = `entry ${index} at byte ${offset}`;
  if (header.length < sectorSize) {
    throw new LogWritesError(
      'LOG_TRUNCATED_HEADER',
      `${log.path}: ${where}: the log ends ${header.length} bytes into the ${sectorSize}-byte header block`,
      index,
      offset,
    );
  }
  const sector = header.readBigUInt64LE(0);
  const nrSectors = header.readBigUInt64LE(8);
  const flagsBig = header.readBigUInt64LE(16);
  const dataLen = header.readBigUInt64LE(24);
  const malformed = (why: string): LogWritesError => new LogWritesError('LOG_MALFORMED_ENTRY', `${log.path}: ${where}: ${why}`, index, offset);
  if ((flagsBig & ~BigInt(KNOWN_FLAGS)) !== 0n) throw malformed(`unknown flag bits 0x${flagsBig.toString(16)}`);
  const flags = Number(flagsBig);
  // The kernel never logs a plain write of no sectors (map() skips such bios): all zeros here is
  // what xfstests calls a "suspect all zeroes entry", typically the unwritten end of a log device.
  if (flags === 0 && nrSectors === 0n) throw malformed('no flags and no sectors (an all-zero header: past the end of the log?)');
  const maxSectors = BigInt(Math.floor(Number.MAX_SAFE_INTEGER / sectorSize));
  if (sector > maxSectors || nrSectors > maxSectors || sector + nrSectors > maxSectors) throw malformed(`sector ${sector} + ${nrSectors} is out of range`);

  let mark: string | null = null;
  let padFrom = ENTRY_HEADER_BYTES;
  if ((flags & LogFlag.MARK) !== 0) {
    // log_mark: label = kstrndup(data, sectorsize - 32 - 1), data_len = strlen(label), no sectors.
    if (nrSectors !== 0n) throw malformed(`a mark with ${nrSectors} sectors`);
    if (dataLen > BigInt(sectorSize - ENTRY_HEADER_BYTES - 1)) throw malformed(`mark label length ${dataLen} exceeds ${sectorSize - ENTRY_HEADER_BYTES - 1}`);
    const label = header.subarray(ENTRY_HEADER_BYTES, ENTRY_HEADER_BYTES + Number(dataLen));
    if (label.includes(0)) throw malformed('mark label contains a NUL byte');
    mark = label.toString('utf8');
    padFrom += label.length;
  }
  // write_metadata() zero-fills the block after the header (and label): anything else there means
  // we are not looking at a header, e.g. a wrong offset after a corrupted length.
  const nonZero = header.subarray(padFrom).findIndex((byte) => byte !== 0);
  if (nonZero >= 0) throw malformed(`non-zero byte in the header block's padding at byte ${offset + padFrom + nonZero}`);

  const dataBytes = (flags & LogFlag.DISCARD) !== 0 ? 0 : Number(nrSectors) * sectorSize;
  const dataOffset = offset + sectorSize;
  if (dataOffset + dataBytes > log.size) {
    throw new LogWritesError(
      'LOG_TRUNCATED_DATA',
      `${log.path}: ${where}: ${dataBytes} bytes of data expected at byte ${dataOffset}, but the log ends at byte ${log.size}`,
      index,
      offset,
    );
  }
  return { index, headerOffset: offset, dataOffset, sector: Number(sector), nrSectors: Number(nrSectors), flags, dataBytes, mark };
}

/**
 * A compact in-memory index of a log's entries (typed arrays, about 30 bytes an entry), for the
 * random access crash-state enumeration needs. Data stays in the file.
 */
export class LogIndex {
  readonly length: number;
  private constructor(
    readonly log: LogFile,
    private readonly headerOffsets: Float64Array,
    private readonly sectors: Float64Array,
    private readonly nrSectorsOf: Float64Array,
    private readonly flagsOf: Uint8Array,
    private readonly marks: ReadonlyMap<number, string>,
    /** Entries found past the super block's nr_entries (only with beyondSuper). */
    readonly beyondSuper: number,
  ) {
    this.length = flagsOf.length;
  }

  /** Read every entry header of an open log into an index. */
  static build(log: LogFile, options: IterateOptions = {}): LogIndex {
    let capacity = 1024;
    let headerOffsets = new Float64Array(capacity);
    let sectors = new Float64Array(capacity);
    let nrSectorsOf = new Float64Array(capacity);
    let flagsOf = new Uint8Array(capacity);
    const marks = new Map<number, string>();
    let count = 0;
    let beyond = 0;
    for (const entry of iterateEntries(log, options)) {
      if (count === capacity) {
        capacity *= 2;
        headerOffsets = grow(headerOffsets, new Float64Array(capacity));
        sectors = grow(sectors, new Float64Array(capacity));
        nrSectorsOf = grow(nrSectorsOf, new Float64Array(capacity));
        flagsOf = grow(flagsOf, new Uint8Array(capacity));
      }
      headerOffsets[count] = entry.headerOffset;
      sectors[count] = entry.sector;
      nrSectorsOf[count] = entry.nrSectors;
      flagsOf[count] = entry.flags;
      if (entry.mark !== null) marks.set(count, entry.mark);
      if (entry.beyondSuper) beyond++;
      count++;
    }
    return new LogIndex(log, headerOffsets.slice(0, count), sectors.slice(0, count), nrSectorsOf.slice(0, count), flagsOf.slice(0, count), marks, beyond);
  }

  get sectorSize(): number {
    return this.log.super.sectorSize;
  }

  /** The entry at `index` (0-based); throws RangeError outside the log. */
  entry(index: number): LogEntry {
    if (!Number.isInteger(index) || index < 0 || index >= this.length) throw new RangeError(`entry ${index} is outside the log (0..${this.length - 1})`);
    const flags = this.flagsOf[index] as number;
    const nrSectors = this.nrSectorsOf[index] as number;
    const headerOffset = this.headerOffsets[index] as number;
    return {
      index,
      headerOffset,
      dataOffset: headerOffset + this.sectorSize,
      sector: this.sectors[index] as number,
      nrSectors,
      flags,
      dataBytes: (flags & LogFlag.DISCARD) !== 0 ? 0 : nrSectors * this.sectorSize,
      mark: this.marks.get(index) ?? null,
    };
  }

  flags(index: number): number {
    return this.flagsOf[index] ?? 0;
  }

  /** Every mark, in log order. */
  markEntries(): { index: number; label: string }[] {
    return [...this.marks].map(([index, label]) => ({ index, label })).sort((a, b) => a.index - b.index);
  }

  /** Bytes the replayed device must have at least: the end of the highest sector touched. */
  deviceBytesNeeded(): number {
    let end = 0;
    for (let i = 0; i < this.length; i++) end = Math.max(end, ((this.sectors[i] as number) + (this.nrSectorsOf[i] as number)) * this.sectorSize);
    return end;
  }
}

function grow<T extends Float64Array | Uint8Array>(from: T, to: T): T {
  to.set(from);
  return to;
}
