import { spawn } from 'node:child_process';
import { fsyncPath } from '../../dm/fsync-path.js';
import { openMarker } from '../../crash/record/marker.js';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { blkparse, Blktrace, blktraceUnavailable } from '../../dm/blktrace.js';
import { DeviceError } from '../../dm/device-error.js';
import { BenchError } from '../bench-error.js';
import { withDeviceLab, type DeviceLab } from '../../dm/device-lab.js';
import { closeLog, LogIndex, openLog } from '../../dm/log-writes/index.js';
import { strategyFileLabel, strategyLabel, type Strategy } from '../../strategy/index.js';
import { blockDeviceOfNode, counterDelta, readCounters, type DiskCounters } from '../diskstats.js';
import { countQueued, parseBlkparse, type TraceCounts } from './blkparse.js';
import { agreement, logWritesCounts, logWritesWindow, type Check } from './counts.js';
import { commitMarkPath, type TraceWriterConfig } from './trace-protocol.js';

// One block-traced run per strategy, where dm-log-writes and blktrace exist (the microVM): a fresh
// ext4 on dm-log-writes over a loop device; the WAL opens and commits once (its set-up stays out
// of the window); the device goes quiet; then blktrace on the dm device, a log-writes mark and a
// diskstats reading open the window, the WAL makes N commits, the device goes quiet again, and
// the same three close it. The
// three views of the window are counted per acknowledged commit and checked against each other
// (counts.ts). With `strace`, the WAL runs under strace -f and one commit's syscalls are kept.

export interface TraceSpec {
  strategy: Strategy;
  groupCommit: boolean;
  commits: number;
  writers: number;
  strace: boolean;
}

export interface TraceRow {
  label: string;
  spec: TraceSpec;
  acked: number;
  windowMs: number;
  trace: TraceCounts;
  logWrites: TraceCounts;
  diskstats: { dm: DiskCounters; loop: DiskCounters; dmName: string; loopName: string; loopHasFua: boolean };
  checks: Check[];
  /** The syscalls of one commit of writer 0 (the middle one), as strace printed them; null without strace. */
  syscalls: string[] | null;
  /** Where the blkparse text and the strace output were kept (relative to the output directory). */
  files: { blkparse: string; strace: string | null };
}

export interface TraceRunResults {
  kernel: string;
  fs: string;
  payloadBytes: number;
  rows: TraceRow[];
}

/** The syscalls a strace of the WAL shows (the wal-syscalls tests' set, plus renames and the marker's stat). */
export const TRACED_SYSCALLS = [
  'fsync',
  'fdatasync',
  'sync_file_range',
  'pwrite64',
  'pwritev',
  'pwritev2',
  'write',
  'openat',
  'rename',
  'renameat2',
  'fallocate',
  'ftruncate',
  'statx',
  'newfstatat',
];

const PAYLOAD = 4096;
const SEGMENT = 1 << 20;
const DATA_BYTES = 64 << 20;
const LOG_BYTES = 1 << 30;
const PERIOD_MS = 20;
const STEP_LIMIT_MS = 120_000;
// ext4 zeroes its inode tables in the background after mount (ext4lazyinit), which would write
// into the window; noinit_itable turns that off, nothing else.
const MOUNT_OPTIONS = ['noinit_itable'];
// mkfs.ext4 picks 1 KiB blocks for a filesystem this small; 4 KiB is what any real one has.
const MKFS_ARGS = ['-b', '4096'];

/** The label of a spec in tables and file names. */
export function specLabel(s: TraceSpec): string {
  return s.groupCommit ? `${strategyLabel(s.strategy, true)} x${s.writers}` : strategyLabel(s.strategy, false);
}

function kernelName(node: string): string {
  const dev = blockDeviceOfNode(node);
  if (dev === undefined) throw new DeviceError('BAD_ARGUMENT', `${node} is not a block device`);
  return dev.name;
}

function counters(names: readonly string[]): DiskCounters[] {
  const all = readCounters(names);
  return names.map((n) => {
    const c = all.get(n);
    if (c === undefined) throw new DeviceError('PARSE_FAILED', `${n} is not in /proc/diskstats`);
    return c;
  });
}

// Waits until the device has written nothing for `quietMs` (the WAL's spare segment being
// zero-filled, the journal's commit of the directory): the window should hold the commits only.
async function quiesce(name: string, quietMs = 1500, limitMs = 30_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  let last = counters([name])[0]!;
  let since = Date.now();
  while (Date.now() - since < quietMs) {
    if (Date.now() > deadline) return;
    await new Promise((r) => setTimeout(r, 100));
    const now = counters([name])[0]!;
    if (now.writes !== last.writes) {
      last = now;
      since = Date.now();
    }
  }
}

/** The syscalls strace printed between commit i's two marks, markers and node's own noise left out. */
export function commitSyscalls(straceLines: readonly string[], i: number): string[] {
  const begin = straceLines.findIndex((l) => l.includes(commitMarkPath('begin', i)));
  const end = straceLines.findIndex((l) => l.includes(commitMarkPath('end', i)));
  if (begin < 0 || end < begin) return [];
  return straceLines.slice(begin + 1, end).filter((l) => /\.wal>|wal>|fdatasync|fsync|sync_file_range/.test(l) && !l.includes('/powercut-commit-'));
}

// A line-by-line conversation with the writer child (trace-writer.ts).
class WriterTalk {
  private readonly lines: AsyncIterator<string>;
  stderr = '';
  constructor(private readonly child: ReturnType<typeof spawn>) {
    this.lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    child.stderr!.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
  }

  async expect(prefix: string): Promise<string> {
    const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), STEP_LIMIT_MS).unref());
    const next = await Promise.race([this.lines.next(), timeout]);
    if (next === 'timeout') throw new DeviceError('TOOL_FAILED', `the WAL writer did not say "${prefix}" within ${STEP_LIMIT_MS / 1000} s`);
    if (next.done === true || !next.value.startsWith(prefix))
      throw new DeviceError('TOOL_FAILED', `the WAL writer said ${JSON.stringify(next.value ?? 'nothing')} instead of "${prefix}": ${this.stderr.trim()}`);
    return next.value;
  }

  say(word: string): void {
    this.child.stdin!.write(`${word}\n`);
  }
}

/** Trace one spec in `lab`; `writer` is node's arguments before the config (the trace-writer script); files go to outDir. */
export async function traceOne(lab: DeviceLab, spec: TraceSpec, writer: readonly string[], outDir: string): Promise<TraceRow> {
  const file = spec.groupCommit ? `${strategyFileLabel(spec.strategy, true)}-x${spec.writers}` : spec.strategy;
  const data = await lab.loop(await lab.image(`${file}-data.img`, DATA_BYTES));
  const logImage = await lab.image(`${file}-log.img`, LOG_BYTES);
  const lw = await lab.logWrites(data, await lab.loop(logImage), `trace-${file}`);
  await lab.mkfs(lw.path, { fs: 'ext4', extraArgs: MKFS_ARGS });
  const mnt = await lab.mount(lw.path, { fs: 'ext4', options: MOUNT_OPTIONS });
  const walDir = path.join(mnt, 'wal');
  mkdirSync(walDir);
  fsyncPath(walDir);
  fsyncPath(mnt);
  const dmName = kernelName(lw.path);
  const loopName = kernelName(data);
  const loopHasFua = readFileSync(`/sys/block/${loopName}/queue/fua`, 'utf8').trim() === '1';

  const config: TraceWriterConfig = {
    dir: walDir,
    strategy: spec.strategy,
    groupCommit: spec.groupCommit,
    commits: spec.commits,
    writers: spec.writers,
    payloadBytes: PAYLOAD,
    segmentSize: SEGMENT,
    periodMs: PERIOD_MS,
  };
  const straceFile = spec.strace ? path.join(outDir, `${file}.strace`) : null;
  const node = [process.execPath, ...writer, JSON.stringify(config)];
  const argv = straceFile === null ? node : ['strace', '-f', '-qq', '-y', '-o', straceFile, '-e', `trace=${TRACED_SYSCALLS.join(',')}`, ...node];
  // Its own process group: strace and the node under it are killed together on an unwind.
  const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  if (child.pid === undefined) throw new DeviceError('TOOL_FAILED', `cannot start ${argv[0]}`);
  const registration = lab.trackProcess(child.pid, 'trace-writer', { group: true });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const talk = new WriterTalk(child);
  let row: Omit<TraceRow, 'syscalls'>;
  try {
    await talk.expect('ready');
    await quiesce(dmName);
    const trace = await Blktrace.start(lab.stack, lw.path, lab.dir, file);
    // The mark by ioctl (about 1 ms under TCG; dmsetup message takes 0.5-0.9 s, long enough for a
    // journal commit to fall between the mark and the diskstats reading beside it).
    const marker = openMarker(lw.name, 'ioctl');
    marker.mark('trace-begin');
    const [dm0, loop0] = counters([dmName, loopName]);
    const started = Date.now();
    talk.say('go');
    const acked = Number((await talk.expect('done ')).slice(5));
    const windowMs = Date.now() - started;
    // What the commits set going (the journal's commit, a spare segment's zero-fill) ends inside
    // the window too, so that all three views close on a quiet device, not on I/O in flight.
    await quiesce(dmName);
    marker.mark('trace-end');
    const [dm1, loop1] = counters([dmName, loopName]);
    await marker.close();
    await trace.stop();
    talk.say('close');
    const code = await exited;
    if (code !== 0) throw new DeviceError('TOOL_FAILED', `the WAL writer exited with ${code}: ${talk.stderr.trim()}`);
    const text = await blkparse(lab.dir, file);
    writeFileSync(path.join(outDir, `${file}.blkparse.txt`), text);
    await lab.umount(mnt);
    // Removing the device makes the kernel write the log's final super block: the log is complete.
    await lw.teardown();
    const log = openLog(logImage);
    let lwCounts: TraceCounts;
    try {
      const index = LogIndex.build(log);
      lwCounts = logWritesCounts(index, 'trace-begin', 'trace-end');
      writeFileSync(path.join(outDir, `${file}.log-writes.txt`), `${logWritesWindow(index, 'trace-begin', 'trace-end').join('\n')}\n`);
    } finally {
      closeLog(log);
    }
    const traced = countQueued(parseBlkparse(text));
    const dm = counterDelta(dm0!, dm1!);
    const loop = counterDelta(loop0!, loop1!);
    row = {
      label: specLabel(spec),
      spec,
      acked,
      windowMs,
      trace: traced,
      logWrites: lwCounts,
      diskstats: { dm, loop, dmName, loopName, loopHasFua },
      checks: agreement({ trace: traced, logWrites: lwCounts, dm, loop, loopHasFua }),
      files: { blkparse: `${file}.blkparse.txt`, strace: straceFile === null ? null : path.basename(straceFile) },
    };
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    lab.stack.forget(registration);
  }
  const syscalls = straceFile === null ? null : commitSyscalls(readFileSync(straceFile, 'utf8').split('\n'), Math.floor(spec.commits / spec.writers / 2));
  return { ...row, syscalls };
}

/** Trace every spec, each on a fresh device stack released before the next; `onRow` as each ends. */
export async function traceAll(
  specs: readonly TraceSpec[],
  writer: readonly string[],
  outDir: string,
  onRow: (row: TraceRow) => void = () => undefined,
): Promise<TraceRunResults> {
  const why = blktraceUnavailable();
  if (why !== undefined) throw new BenchError('SETUP_FAILED', `cannot take a block trace here: ${why}`);
  mkdirSync(outDir, { recursive: true });
  const rows: TraceRow[] = [];
  for (const spec of specs) {
    const row = await withDeviceLab((lab) => traceOne(lab, spec, writer, outDir));
    rows.push(row);
    onRow(row);
  }
  return { kernel: release(), fs: 'ext4', payloadBytes: PAYLOAD, rows };
}
