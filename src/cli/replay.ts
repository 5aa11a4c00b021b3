import { closeSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { Command, CommanderError, Option } from 'commander';
import { closeLog, flagNames, iterateEntries, LogIndex, LogWritesError, openLog, type LogFile, enumerateStates, stateFromId, StateMaterialiser, visibleMarks, type EnumerateOptions, createZeroImage, parseTarget, ReplayError, Replayer, formatTarget } from '../dm/log-writes/index.js';

// pnpm replay --log FILE --to <entry N|mark NAME|flush N|fua N|end|state ID> --out IMAGE [--list] [--states]
// The counterpart of xfstests' replay-log: materialise a recorded device at one point of its
// dm-log-writes log onto a fresh zeroed image file (no root, no device-mapper needed). Beyond it:
// `--states` lists the crash states (src/dm/crash-states.ts) and `--to state ID` materialises one,
// the command a failing crash state is reported with.

const USAGE_EXIT = 2;

function parseSize(text: string): number {
  const match = /^(\d+)([kmgt]?)(i?b)?$/i.exec(text.trim());
  if (match === null) throw new ReplayError('REPLAY_BAD_TARGET', `bad size ${JSON.stringify(text)}: expected bytes, optionally with K, M, G or T`);
  const unit = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[(match[2] as string).toLowerCase()] as number;
  return Number(match[1]) * unit;
}

function listEntries(io: Output, log: LogFile, beyondSuper: boolean): void {
  const out: string[] = [`${'index'.padStart(8)}  ${'flags'.padEnd(22)} ${'sector'.padStart(12)} ${'sectors'.padStart(9)} ${'bytes'.padStart(11)}  mark`];
  for (const entry of iterateEntries(log, { beyondSuper })) {
    const label = entry.mark === null ? '' : entry.mark;
    const beyond = entry.beyondSuper ? '  (beyond super nr_entries)' : '';
    out.push(`${String(entry.index).padStart(8)}  ${flagNames(entry.flags).padEnd(22)} ${String(entry.sector).padStart(12)} ${String(entry.nrSectors).padStart(9)} ${String(entry.dataBytes).padStart(11)}  ${label}${beyond}`);
    // Flush in batches so a million-entry log streams instead of building one giant string.
    if (out.length >= 4096) io.stdout(`${out.splice(0).join('\n')}\n`);
  }
  if (out.length > 0) io.stdout(`${out.join('\n')}\n`);
}

function parseCount(name: string, text: string): number {
  if (!/^\d+$/.test(text)) throw new ReplayError('REPLAY_BAD_TARGET', `${name} must be a whole number, got ${JSON.stringify(text)}`);
  return Number(text);
}

function listStates(io: Output, index: LogIndex, options: EnumerateOptions): void {
  const enumeration = enumerateStates(index, options);
  const out: string[] = [];
  for (const state of enumeration) {
    const marks = visibleMarks(index, state);
    out.push(`${state.id.padEnd(28)} ${state.kind.padEnd(6)} base ${String(state.base).padStart(7)}  writes ${String(state.writes.length).padStart(4)}  marks ${String(marks.length).padStart(5)}  ${marks[marks.length - 1] ?? ''}`);
    if (out.length >= 4096) io.stdout(`${out.splice(0).join('\n')}\n`);
  }
  if (out.length > 0) io.stdout(`${out.join('\n')}\n`);
  io.stdout(`coverage ${JSON.stringify(enumeration.coverage)}\n`);
}

function main(io: Output, argv: string[]): void {
  const program = new Command()
    .name('pnpm replay')
    .description('Materialise a dm-log-writes recording at one point onto a fresh zeroed image file.')
    .requiredOption('--log <file>', 'the dm-log-writes log file')
    .addOption(new Option('--to <point...>', 'where to stop: "entry N" (0-based, inclusive), "mark NAME", "flush N" or "fua N" (1-based), or "end"'))
    .option('--out <image>', 'image file to create (overwritten; must not be a device)')
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
  program.parse(argv, { from: 'node' });
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
  if (opts.to === undefined && !opts.list && !opts.states) throw new ReplayError('REPLAY_BAD_TARGET', 'nothing to do: give --to POINT --out IMAGE, --list or --states');
  if (opts.to !== undefined && opts.out === undefined) throw new ReplayError('REPLAY_BAD_OUTPUT', '--to needs --out IMAGE');
  const point = opts.to?.join(' ').trim();
  const stateId = point !== undefined && /^state[\s:]/.test(point) ? point.slice(6).trim() : null;
  const target = point === undefined || stateId !== null ? null : parseTarget(point);
  const sizeBytes = opts.size === undefined ? null : parseSize(opts.size);
  const beyondSuper = opts.beyondSuper === true;
  const stateOptions: EnumerateOptions = {
    exhaustiveLimit: parseCount('--exhaustive', opts.exhaustive),
    randomSubsets: parseCount('--samples', opts.samples),
    tearsPerWrite: parseCount('--tears', opts.tears),
    tornPerEpoch: parseCount('--torn-per-epoch', opts.tornPerEpoch),
    seed: parseCount('--seed', opts.seed),
    ...(opts.afterMark !== undefined ? { afterMark: opts.afterMark } : {}),
  };

  const log = openLog(opts.log);
  try {
    if (opts.list) listEntries(io, log, beyondSuper);
    const index = opts.states || stateId !== null || (target !== null && sizeBytes === null) ? LogIndex.build(log, { beyondSuper }) : null;
    if (opts.states && index !== null) listStates(io, index, stateOptions);
    if (opts.out === undefined) return;
    const size = sizeBytes ?? (index as LogIndex).deviceBytesNeeded();
    if (stateId !== null) {
      const state = stateFromId(index as LogIndex, stateId);
      const materialiser = new StateMaterialiser(index as LogIndex, size);
      try {
        materialiser.materialise(state, opts.out);
      } finally {
        materialiser.close();
      }
      io.stdout(`materialised crash state ${state.id} (${state.kind}, base ${state.base}, ${state.writes.length} writes on top) -> ${opts.out} (${size} bytes)\n`);
      return;
    }
    if (target === null) return;
    const fd = createZeroImage(opts.out, size);
    const started = process.hrtime.bigint();
    try {
      const state = new Replayer(log, fd, { beyondSuper }).replayTo(target);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const mb = state.bytesWritten / 1e6;
      io.stdout(
        `replayed ${state.position} entries (${mb.toFixed(1)} MB of data, ${state.flushes} flushes, ${state.fuas} FUAs) to ${formatTarget(target)} ` +
          `in ${seconds.toFixed(3)} s (${(mb / Math.max(seconds, 1e-9)).toFixed(0)} MB/s) -> ${opts.out} (${size} bytes)\n`,
      );
    } finally {
      closeSync(fd);
    }
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
  try {
    main(io, argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here too, with exit code 0.
      return error.exitCode === 0 ? 0 : USAGE_EXIT;
    }
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
  process.exitCode = runReplay(process.argv, { stdout: (text) => process.stdout.write(text), stderr: (text) => process.stderr.write(text) });
}
