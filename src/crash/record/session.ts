import { closeSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import { fsyncPath } from '../../dm/fsync-path.js';
import { release } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { FS_VARIANTS, type DeviceLab, type FsType, type FsVariantName, type LogWritesDevice } from '../../dm/index.js';
import { closeLog, LogIndex, openLog } from '../../dm/log-writes/index.js';
import { isStrategy, type Strategy } from '../../workload/events.js';
import { parseWriterConfig, WRITER_DEFAULTS, type WriterConfig } from '../../workload/writer-config.js';
import type { MarkMethod, MarkStats } from './marker.js';
import type { RecordWriterOptions } from './marked-writer.js';
import type { WorkloadShape } from '../plan/scenario.js';
import { WriterChild } from '../writer/child.js';
import { CrashError } from '../crash-error.js';

// One recording, made where dm-log-writes exists (the microVM here): a fresh data image under a
// log-writes device, mkfs and mount THROUGH it (replay starts from zeros, so the filesystem's own
// creation must be in the log), the WAL directory made durable, the mark `mkfs` (crash states
// start after it), the writer with a mark after every promise, umount, a final mark, and the log
// copied out with the history and what is needed to judge it again anywhere:
//   DIR/log.bin.gz   the dm-log-writes log (gzip: mkfs and preallocation are mostly zeros)
//   DIR/events.jsonl the writer's event stream, verbatim
//   DIR/meta.json    RecordingMeta

/** What to record: everything the run decides; the result is a function of it and the kernel. */
export interface RecordSpec {
  /** Directory name of the recording under the output root. */
  name: string;
  strategy: Strategy;
  groupCommit: boolean;
  /** A deliberately wrong writer: the history claims this strategy while the WAL runs `strategy`. */
  claimStrategy: Strategy | null;
  /** The filesystem variant (src/dm/fs-variant.ts); recordings made before variants hold a plain type, which is a variant too. */
  fs: FsVariantName;
  /** Size of the logged device; default per fs (DEFAULT_IMAGE_BYTES). */
  imageBytes?: number;
  seed: number;
  scenario: string;
  workload: WorkloadShape;
  /** How the marks sent from JS reach the log (all of them, or only truncates under publishMarks). */
  markMethod: MarkMethod;
  /**
   * Acks and watermarks are marked by the native core where it publishes them (WAL option
   * publishMarks), not from JS after the fact: promises made before their sync are caught
   * deterministically. Absent in recordings made before the option existed (JS marks only).
   */
  publishMarks?: boolean;
  /** What checking this recording must find when it is not `held` (a deliberately wrong writer). */
  expected?: ExpectedVerdict;
}

/**
 * A recording made to be caught (say a writer whose history claims fsync while the WAL runs none):
 * checks report it as expected when they find the violation, and fail when they do not, because
 * a check that no longer catches it has lost its power.
 */
export interface ExpectedVerdict {
  verdict: 'violated';
  why: string;
}

export interface RecordingMeta extends LogFacts {
  format: 'powercut-recording-v1';
  spec: RecordSpec;
  /** The writer's full configuration (the WAL directory as it was on the recorded filesystem). */
  writer: WriterConfig;
  /** WAL directory relative to the filesystem's root. */
  walDir: string;
  writerExit: { code: number | null; signal: string | null };
  writerStderr: string;
  recordedAt: string;
  durationMs: number;
  /** Set when the recording is meant to be caught (see ExpectedVerdict); absent: it must hold. */
  expected?: ExpectedVerdict;
  /**
   * Each started truncate has its `truncating-<before>` mark in the log before any of its writes
   * (ioctl marks are synchronous and sent before truncate() is called). Absent in recordings made
   * before: there a started truncate excuses loss in every state, also in states before it began.
   */
  truncatingMarked?: boolean;
}

/** Prefix of the recorder's one line per recording on stdout (the host picks these out). */
export const RECORD_LINE = 'powercut-record:';

/** What became of one spec (record-main.ts writes these to OUT_ROOT/index.json). */
export type RecordOutcome<M = RecordingMeta> = { status: 'recorded'; meta: M } | { status: 'failed'; name: string; message: string };

/** Where the recorder leaves spec `n`'s outcome as soon as it is made (before its RECORD_LINE). */
export function outcomeFile(outRoot: string, n: number): string {
  return path.join(outRoot, '.outcomes', `${n}.json`);
}

/** ext4 at the size the issue measures; xfs and btrfs refuse to be much smaller. */
export const DEFAULT_IMAGE_BYTES: Record<FsType, number> = { ext4: 64 << 20, xfs: 320 << 20, btrfs: 256 << 20 };
/** The log device: sparse, so only what is logged costs memory in the VM's tmpfs. */
const LOG_DEVICE_BYTES = 1 << 30;
const WAL_DIR = 'wal';
const WRITER_LIMIT_MS = 180_000;

/** The super block's nr_entries, read from the log image (the kernel rewrites it after a mark). */
function superEntries(logImage: string): number {
  const log = openLog(logImage);
  try {
    return log.super.nrEntries;
  } finally {
    closeLog(log);
  }
}

/** What saveLog read back from the log it copied. */
export interface SavedLog {
  logBytes: number;
  sectorSize: number;
  entries: number;
  marks: number;
}

/** What every recording's meta says of its log and where it was made (the WAL's and a target's). */
export interface LogFacts extends SavedLog {
  kernel: string;
  deviceBytes: number;
  markStats: MarkStats;
}

export function logFacts(log: SavedLog, deviceBytes: number, markStats: MarkStats): LogFacts {
  return { kernel: release(), ...log, deviceBytes, markStats };
}

/**
 * Copy the log of `lw` (after its last mark) out of `logImage` into out/log.bin.gz, and parse what
 * was copied: a recording that does not read back is not a recording.
 */
export async function saveLog(lw: LogWritesDevice, logImage: string, out: string): Promise<SavedLog> {
  // The kernel logs the mark and rewrites the super block on its own thread: wait until the
  // super block counts every entry the target reports, so the copy is a complete log.
  const status = await lw.status();
  const deadline = Date.now() + 20_000;
  while (superEntries(logImage) < status.entries) {
    if (Date.now() > deadline) throw new CrashError('RECORD_FAILED', `the log's super block still lags the ${status.entries} entries dm reports after 20 s`);
    await new Promise((r) => setTimeout(r, 20));
  }
  const logBytes = (status.highestSector + 1) * 512;
  const bytes = Buffer.alloc(logBytes);
  const fd = openSync(logImage, 'r');
  try {
    for (let off = 0; off < logBytes;) {
      const n = readSync(fd, bytes, off, logBytes - off, off);
      if (n === 0) throw new CrashError('RECORD_FAILED', `the log image ends at ${off} of ${logBytes} bytes`);
      off += n;
    }
  } finally {
    closeSync(fd);
  }
  writeFileSync(path.join(out, 'log.bin.gz'), gzipSync(bytes, { level: 6 }));
  const log = openLog(logImage);
  try {
    const index = LogIndex.build(log);
    return { logBytes, sectorSize: index.sectorSize, entries: index.length, marks: index.markEntries().length };
  } finally {
    closeLog(log);
  }
}

/** A filesystem made and mounted THROUGH a fresh log-writes device (replay starts from zeros, so mkfs must be in the log). */
export async function loggedFilesystem(
  lab: DeviceLab,
  name: string,
  fs: FsVariantName,
  bytes: number | undefined,
  dirName: string,
): Promise<{ lw: LogWritesDevice; logImage: string; mnt: string; imageBytes: number; dir: string }> {
  const variant = FS_VARIANTS[fs];
  const imageBytes = bytes ?? DEFAULT_IMAGE_BYTES[variant.fs];
  const data = await lab.loop(await lab.image(`${name}-data.img`, imageBytes));
  const logImage = await lab.image(`${name}-log.img`, LOG_DEVICE_BYTES);
  const logDevice = await lab.loop(logImage);
  const lw = await lab.logWrites(data, logDevice, `lw-${process.pid % 10000}-${name}`.slice(0, 60));
  await lab.mkfs(lw.path, { fs: variant.fs, extraArgs: variant.mkfsArgs });
  const mnt = await lab.mount(lw.path, { fs: variant.fs, options: variant.mountOptions });
  // The subject's directory made durable before the mark `mkfs`: crash states start after it,
  // and a state without the directory would judge an empty subject.
  const dir = path.join(mnt, dirName);
  mkdirSync(dir);
  fsyncPath(dir);
  fsyncPath(mnt);
  await lw.mark('mkfs');
  return { lw, logImage, mnt, imageBytes, dir };
}

/** Record one run in `lab` (which must be on a kernel with dm-log-writes) into outRoot/spec.name. */
export async function recordOnce(lab: DeviceLab, spec: RecordSpec, writerScript: string, outRoot: string): Promise<RecordingMeta> {
  const started = Date.now();
  const { lw, logImage, mnt, imageBytes, dir: walDir } = await loggedFilesystem(lab, spec.name, spec.fs, spec.imageBytes, WAL_DIR);

  const out = path.join(outRoot, spec.name);
  mkdirSync(out, { recursive: true });
  const statsFile = path.join(lab.dir, `${spec.name}-marks.json`);
  const writer = parseWriterConfig({
    ...WRITER_DEFAULTS,
    ...spec.workload,
    dir: walDir,
    strategy: spec.strategy,
    groupCommit: spec.groupCommit,
    seed: spec.seed,
    maxMs: WRITER_LIMIT_MS,
  });
  const record: RecordWriterOptions = {
    dmName: lw.name,
    markMethod: spec.markMethod,
    claimStrategy: spec.claimStrategy,
    statsFile,
    publishMarks: spec.publishMarks ?? false,
  };
  // The child reads `record` next to the writer fields (parseWriterConfig ignores it).
  const child = WriterChild.spawn(writerScript, { ...writer, record } as WriterConfig);
  const registration = lab.trackProcess(child.pid, 'record-writer');
  try {
    const outcome = await Promise.race([
      child.ended().then(() => 'ended' as const),
      new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), WRITER_LIMIT_MS + 30_000).unref()),
    ]);
    if (outcome === 'timeout') throw new CrashError('RECORD_FAILED', `the writer of ${spec.name} did not finish within ${WRITER_LIMIT_MS / 1000} s`);
  } finally {
    await child.kill();
    lab.stack.forget(registration);
  }
  const exit = child.exited ?? { code: null, signal: null };
  if (exit.code !== 0) {
    throw new CrashError(
      'RECORD_FAILED',
      `the writer of ${spec.name} exited with ${exit.code ?? exit.signal}: ${child.stderr.trim().split('\n').slice(-5).join(' | ') || 'no output'}`,
    );
  }
  const markStats = JSON.parse(readFileSync(statsFile, 'utf8')) as MarkStats;
  await lab.umount(mnt);
  await lw.mark('end');
  const log = await saveLog(lw, logImage, out);
  writeFileSync(path.join(out, 'events.jsonl'), child.rawEvents);
  const meta: RecordingMeta = {
    format: 'powercut-recording-v1',
    spec: { ...spec, imageBytes },
    writer,
    walDir: WAL_DIR,
    ...logFacts(log, imageBytes, markStats),
    writerExit: { code: exit.code, signal: exit.signal },
    writerStderr: child.stderr.slice(-4000),
    recordedAt: new Date(started).toISOString(),
    durationMs: Date.now() - started,
    ...(spec.expected ? { expected: spec.expected } : {}),
    // dmsetup marks lag behind the event (a process each): a truncate's writes may precede its mark.
    truncatingMarked: spec.markMethod === 'ioctl',
  };
  writeFileSync(path.join(out, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
  return meta;
}

/** Read and check a recording's meta.json. */
export function readRecordingMeta(dir: string): RecordingMeta {
  let meta: RecordingMeta;
  try {
    meta = JSON.parse(readFileSync(path.join(dir, 'meta.json'), 'utf8')) as RecordingMeta;
  } catch (cause) {
    throw new CrashError('BAD_RECORDING', `${dir} is not a recording (meta.json: ${(cause as Error).message})`, { cause });
  }
  if (meta.format !== 'powercut-recording-v1' || !isStrategy(meta.writer?.strategy) || typeof meta.deviceBytes !== 'number') {
    throw new CrashError('BAD_RECORDING', `${dir}/meta.json is not a powercut-recording-v1 file`);
  }
  const e = meta.expected as unknown;
  if (
    e !== undefined &&
    (typeof e !== 'object' || e === null || (e as ExpectedVerdict).verdict !== 'violated' || typeof (e as ExpectedVerdict).why !== 'string')
  ) {
    throw new CrashError('BAD_RECORDING', `${dir}/meta.json: expected must be { verdict: 'violated', why: string }`);
  }
  return meta;
}
