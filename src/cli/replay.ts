import { closeSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Command, Option } from 'commander';
import {
  closeLog,
  flagNames,
  iterateEntries,
  LogIndex,
  LogWritesError,
  openLog,
  type LogFile,
  enumerateStates,
  stateFromId,
  StateMaterialiser,
  visibleMarks,
  type EnumerateOptions,
  createZeroImage,
  parseTarget,
  ReplayError,
  Replayer,
  formatTarget,
} from '../dm/log-writes/index.js';
import { parseArgs, parseInteger } from './parse-args.js';
import { existingFile, pathOption, writableFile } from './path-checks.js';
import { reapEarlierRuns } from './reap-earlier-runs.js';
import { watchLaunchers } from './launcher-watch.js';

// pnpm replay --log FILE --to <entry N|mark NAME|flush N|fua N|end|state ID> --out IMAGE [--list] [--states]
// The counterpart of xfstests' replay-log: materialise a recorded device at one point of its
// dm-log-writes log onto a fresh zeroed image file (no root, no device-mapper needed). Beyond it:
// `--states` lists the crash states (src/dm/crash-states.ts) and `--to state ID` materialises one,
// the command a failing crash state is reported with.

const USAGE_EXIT = 2;

// The largest image replay will make: beyond it a typo (a T for a G) would fill the disk.
const MAX_IMAGE_BYTES = 2 ** 44;

function parseSize(text: string): number {
  const match = /^(\d+)([kmgt]?)(i?b)?$/i.exec(text.trim());
  if (match === null) throw new ReplayError('REPLAY_BAD_TARGET', `--size ${JSON.stringify(text)}: expected bytes, optionally with K, M, G or T`);
  const unit = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[(match[2] as string).toLowerCase()] as number;
  const bytes = Number(match[1]) * unit;
  if (!Number.isSafeInteger(bytes) || bytes < 1 || bytes > MAX_IMAGE_BYTES)
    throw new ReplayError('REPLAY_BAD_TARGET', `--size ${JSON.stringify(text)}: must be from 1 byte to 16 TiB`);
  return bytes;
}

function listEntries(io: Output, log: LogFile, beyondSuper: boolean): void {
  const out: string[] = [`${'index'.padStart(8)}  ${'flags'.padEnd(22)} ${'sector'.padStart(12)} ${'sectors'.padStart(9)} ${'bytes'.padStart(11)}  mark`];
  for (const entry of iterateEntries(log, { beyondSuper })) {
    const label = entry.mark === null ? '' : entry.mark;
    const beyond = entry.beyondSuper ? '  (beyond super nr_entries)' : '';
    out.push(
      `${String(entry.index).padStart(8)}  ${flagNames(entry.flags).padEnd(22)} ${String(entry.sector).padStart(12)} ${String(entry.nrSectors).padStart(9)} ${String(entry.dataBytes).padStart(11)}  ${label}${beyond}`,
    );
    // Flush in batches so a million-entry log streams instead of building one giant string.
    if (out.length >= 4096) io.stdout(`${out.splice(0).join('\n')}\n`);
  }
  if (out.length > 0) io.stdout(`${out.join('\n')}\n`);
}

function count(option: string, text: string, max: number): number {
  const r = parseInteger(option, text, 0, max);
  if (!r.ok) throw new ReplayError('REPLAY_BAD_TARGET', r.message);
  return r.value;
}

// Writes an image through a temporary file in the same directory, renamed over `out` only once it
// is complete: a replay that fails halfway (an unknown mark, a corrupt entry) leaves an existing
// image as it was instead of a partial one.
function writeImage<T>(out: string, write: (path: string) => T): T {
  const tmp = path.join(path.dirname(out), `.${path.basename(out)}.partial-${process.pid}`);
  try {
    const result = write(tmp);
    renameSync(tmp, out);
    return result;
  } catch (error) {
    rmSync(tmp, { force: true });
    throw error;
  }
}

function listStates(io: Output, index: LogIndex, options: EnumerateOptions): void {
  const enumeration = enumerateStates(index, options);
  const out: string[] = [];
  for (const state of enumeration) {
    const marks = visibleMarks(index, state);
    out.push(
      `${state.id.padEnd(28)} ${state.kind.padEnd(6)} base ${String(state.base).padStart(7)}  writes ${String(state.writes.length).padStart(4)}  marks ${String(marks.length).padStart(5)}  ${marks[marks.length - 1] ?? ''}`,
    );
    if (out.length >= 4096) io.stdout(`${out.splice(0).join('\n')}\n`);
  }
  if (out.length > 0) io.stdout(`${out.join('\n')}\n`);
  io.stdout(`coverage ${JSON.stringify(enumeration.coverage)}\n`);
}

// Reads and checks the command line; returns the exit status of a command that ends there (usage,
// --help) or the work to do. Nothing is read or written before the work runs.
function prepare(io: Output, argv: string[]): number | (() => number) {
  const program = new Command()
    .name('pnpm replay')
    .description('Materialise a dm-log-writes recording at one point onto a fresh zeroed image file.')
    .requiredOption('--log <file>', 'the dm-log-writes log file', pathOption(existingFile, '--log'))
    .addOption(new Option('--to <point...>', 'where to stop: "entry N" (0-based, inclusive), "mark NAME", "flush N" or "fua N" (1-based), or "end"'))
    .option('--out <image>', 'image file to create (replaced once complete; must not be a device)', pathOption(writableFile, '--out'))
    .option('--size <bytes>', 'image size (K/M/G suffixes); default: the end of the highest sector the log touches')
    .option('--list', 'print every entry: index, flags, sector, length, mark label')
    .option('--beyond-super', 'also read complete entries past the super block nr_entries (a log copied from a live device)')
    .option('--states', 'list the crash states (persistence points, volatile-cache subsets, torn writes) and their coverage')
    .option('--after-mark <label>', 'with --states: only states after this mark (e.g. the one that ends mkfs)')
    .option('--exhaustive <n>', 'with --states: epochs of at most n volatile writes get every subset', '8')
    .option('--samples <n>', 'with --states: random subsets for larger epochs', '64')
    .option('--tears <n>', 'with --states: tear points per volatile write', '8')
    .option('--torn-per-epoch <n>', 'with --states: torn states per epoch at most (seeded sample beyond)', '64')
    .option('--seed <n>', 'with --states: seed of the random subsets', '1')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr });
  const usage = parseArgs(program, argv.slice(2), 'replay');
  if (usage !== undefined) return usage;
  const opts = program.opts<{
    log: string;
    to?: string[];
    out?: string;
    size?: string;
    list?: boolean;
    beyondSuper?: boolean;
    states?: boolean;
    afterMark?: string;
    exhaustive: string;
    samples: string;
    tears: string;
    tornPerEpoch: string;
    seed: string;
  }>();
  if (opts.to === undefined && !opts.list && !opts.states)
    throw new ReplayError('REPLAY_BAD_TARGET', 'nothing to do: give --to POINT --out IMAGE, --list or --states');
  if (opts.to !== undefined && opts.out === undefined) throw new ReplayError('REPLAY_BAD_OUTPUT', '--to needs --out IMAGE');
  const point = opts.to?.join(' ').trim();
  const stateId = point !== undefined && /^state[\s:]/.test(point) ? point.slice(6).trim() : null;
  if (point === '') throw new ReplayError('REPLAY_BAD_TARGET', '--to needs a point: entry N, mark NAME, flush N, fua N, end or state ID');
  const target = point === undefined || stateId !== null ? null : parseTarget(point);
  const sizeBytes = opts.size === undefined ? null : parseSize(opts.size);
  const beyondSuper = opts.beyondSuper === true;
  const stateOptions: EnumerateOptions = {
    // An exhaustive epoch has 2^n subsets: past 16 that is no longer a listing.
    exhaustiveLimit: count('--exhaustive', opts.exhaustive, 16),
    randomSubsets: count('--samples', opts.samples, 1_000_000),
    tearsPerWrite: count('--tears', opts.tears, 4096),
    tornPerEpoch: count('--torn-per-epoch', opts.tornPerEpoch, 1_000_000),
    seed: count('--seed', opts.seed, 2 ** 32 - 1),
    ...(opts.afterMark !== undefined ? { afterMark: opts.afterMark } : {}),
  };
  return () =>
    work(io, opts.log, {
      list: opts.list === true,
      states: opts.states === true,
      out: opts.out,
      sizeText: opts.size,
      sizeBytes,
      stateId,
      target,
      beyondSuper,
      stateOptions,
    });
}

interface Work {
  list: boolean;
  states: boolean;
  out: string | undefined;
  sizeText: string | undefined;
  sizeBytes: number | null;
  stateId: string | null;
  target: ReturnType<typeof parseTarget> | null;
  beyondSuper: boolean;
  stateOptions: EnumerateOptions;
}

function work(io: Output, logPath: string, opts: Work): number {
  const { sizeBytes, stateId, target, beyondSuper, stateOptions } = opts;
  const log = openLog(logPath);
  try {
    if (opts.list) listEntries(io, log, beyondSuper);
    // Built whenever an image is made: an explicit --size is checked against what the log needs.
    const index = opts.states || opts.out !== undefined ? LogIndex.build(log, { beyondSuper }) : null;
    if (opts.states && index !== null) listStates(io, index, stateOptions);
    const out = opts.out;
    if (out === undefined || index === null) return 0;
    const needed = index.deviceBytesNeeded();
    if (sizeBytes !== null && sizeBytes < needed) {
      throw new ReplayError(
        'REPLAY_BAD_TARGET',
        `--size ${opts.sizeText} is smaller than the ${needed} bytes the log writes to (leave --size out to use that)`,
      );
    }
    const size = sizeBytes ?? needed;
    if (stateId !== null) {
      const state = stateFromId(index, stateId);
      const materialiser = new StateMaterialiser(index, size);
      try {
        writeImage(out, (tmp) => materialiser.materialise(state, tmp));
      } finally {
        materialiser.close();
      }
      io.stdout(`materialised crash state ${state.id} (${state.kind}, base ${state.base}, ${state.writes.length} writes on top) -> ${out} (${size} bytes)\n`);
      return 0;
    }
    if (target === null) return 0;
    const started = process.hrtime.bigint();
    const state = writeImage(out, (tmp) => {
      const fd = createZeroImage(tmp, size);
      try {
        return new Replayer(log, fd, { beyondSuper }).replayTo(target);
      } finally {
        closeSync(fd);
      }
    });
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    const mb = state.bytesWritten / 1e6;
    io.stdout(
      `replayed ${state.position} entries (${mb.toFixed(1)} MB of data, ${state.flushes} flushes, ${state.fuas} FUAs) to ${formatTarget(target)} ` +
        `in ${seconds.toFixed(3)} s (${(mb / Math.max(seconds, 1e-9)).toFixed(0)} MB/s) -> ${out} (${size} bytes)\n`,
    );
    return 0;
  } finally {
    closeLog(log);
  }
}

/** Where the command writes: the process's streams, or a test's buffers. */
export interface Output {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** Run `pnpm replay` with a full argv (node, script, arguments...: like process.argv); returns the exit code. */
export function runReplay(argv: string[], io: Output): number {
  const prepared = reported(io, () => prepare(io, argv));
  return typeof prepared === 'number' ? prepared : reported(io, prepared);
}

// Runs one step of the command, turning a failure into its one line and exit status.
function reported<T>(io: Output, step: () => T): T | number {
  try {
    return step();
  } catch (error) {
    if (error instanceof LogWritesError || error instanceof ReplayError || error instanceof RangeError) {
      io.stderr(`replay: ${error.message}\n`);
      return USAGE_EXIT;
    }
    io.stderr(`replay: ${(error as Error).message ?? String(error)}\n`);
    return 1;
  }
}

// Run only as a command, not when a test imports runReplay.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // `pnpm replay --list | head` closes the pipe early: that is the reader's choice, not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
  watchLaunchers();
  const io: Output = { stdout: (text) => process.stdout.write(text), stderr: (text) => process.stderr.write(text) };
  const prepared = reported(io, () => prepare(io, process.argv));
  if (typeof prepared === 'number') process.exitCode = prepared;
  else {
    reapEarlierRuns('replay').then(
      () => (process.exitCode = reported(io, prepared)),
      (error: unknown) => {
        io.stderr(`replay: ${error instanceof Error ? error.message : String(error)}\n`);
        process.exitCode = USAGE_EXIT;
      },
    );
  }
}
