import { closeSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { closeLog, flagNames, iterateEntries, LogIndex, LogWritesError, openLog, type LogFile } from '../dm/log-writes-format.js';
import { createZeroImage, parseTarget, ReplayError, Replayer, formatTarget } from '../dm/log-writes-replay.js';

// pnpm replay --log FILE --to <entry N|mark NAME|flush N|fua N|end> --out IMAGE [--list]
// The counterpart of xfstests' replay-log: materialise a recorded device at one point of its
// dm-log-writes log onto a fresh zeroed image file (no root, no device-mapper needed).

const USAGE_EXIT = 2;

function parseSize(text: string): number {
  const match = /^(\d+)([kmgt]?)(i?b)?$/i.exec(text.trim());
  if (match === null) throw new ReplayError('REPLAY_BAD_TARGET', `bad size ${JSON.stringify(text)}: expected bytes, optionally with K, M, G or T`);
  const unit = { '': 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 }[(match[2] as string).toLowerCase()] as number;
  return Number(match[1]) * unit;
}

function listEntries(log: LogFile, beyondSuper: boolean): void {
  const out: string[] = [`${'index'.padStart(8)}  ${'flags'.padEnd(22)} ${'sector'.padStart(12)} ${'sectors'.padStart(9)} ${'bytes'.padStart(11)}  mark`];
  for (const entry of iterateEntries(log, { beyondSuper })) {
    const label = entry.mark === null ? '' : entry.mark;
    const beyond = entry.beyondSuper ? '  (beyond super nr_entries)' : '';
    out.push(`${String(entry.index).padStart(8)}  ${flagNames(entry.flags).padEnd(22)} ${String(entry.sector).padStart(12)} ${String(entry.nrSectors).padStart(9)} ${String(entry.dataBytes).padStart(11)}  ${label}${beyond}`);
    // Flush in batches so a million-entry log streams instead of building one giant string.
    if (out.length >= 4096) process.stdout.write(`${out.splice(0).join('\n')}\n`);
  }
  if (out.length > 0) process.stdout.write(`${out.join('\n')}\n`);
}

function main(argv: string[]): void {
  const program = new Command()
    .name('pnpm replay')
    .description('Materialise a dm-log-writes recording at one point onto a fresh zeroed image file.')
    .requiredOption('--log <file>', 'the dm-log-writes log file')
    .addOption(new Option('--to <point...>', 'where to stop: "entry N" (0-based, inclusive), "mark NAME", "flush N" or "fua N" (1-based), or "end"'))
    .option('--out <image>', 'image file to create (overwritten; must not be a device)')
    .option('--size <bytes>', 'image size (K/M/G suffixes); default: the end of the highest sector the log touches')
    .option('--list', 'print every entry: index, flags, sector, length, mark label')
    .option('--beyond-super', 'also read complete entries past the super block nr_entries (a log copied from a live device)')
    .exitOverride()
    .configureOutput({ writeErr: (text) => process.stderr.write(text) });
  program.parse(argv);
  const opts = program.opts<{ log: string; to?: string[]; out?: string; size?: string; list?: boolean; beyondSuper?: boolean }>();
  if (opts.to === undefined && !opts.list) throw new ReplayError('REPLAY_BAD_TARGET', 'nothing to do: give --to POINT --out IMAGE, or --list');
  if (opts.to !== undefined && opts.out === undefined) throw new ReplayError('REPLAY_BAD_OUTPUT', '--to needs --out IMAGE');
  const target = opts.to === undefined ? null : parseTarget(opts.to.join(' '));
  const sizeBytes = opts.size === undefined ? null : parseSize(opts.size);
  const beyondSuper = opts.beyondSuper === true;

  const log = openLog(opts.log);
  try {
    if (opts.list) listEntries(log, beyondSuper);
    if (target === null || opts.out === undefined) return;
    const size = sizeBytes ?? LogIndex.build(log, { beyondSuper }).deviceBytesNeeded();
    const fd = createZeroImage(opts.out, size);
    const started = process.hrtime.bigint();
    try {
      const state = new Replayer(log, fd, { beyondSuper }).replayTo(target);
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const mb = state.bytesWritten / 1e6;
      process.stdout.write(
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

// `pnpm replay --list | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});

try {
  main(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // --help and --version end here too, with exit code 0.
    process.exitCode = error.exitCode === 0 ? 0 : USAGE_EXIT;
  } else if (error instanceof LogWritesError || error instanceof ReplayError) {
    process.stderr.write(`replay: ${error.message}\n`);
    process.exitCode = USAGE_EXIT;
  } else {
    process.stderr.write(`replay: ${(error as Error).message ?? String(error)}\n`);
    process.exitCode = 1;
  }
}
