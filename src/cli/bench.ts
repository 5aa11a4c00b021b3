import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { BenchError } from '../bench/bench-error.js';
import { runBlockTrace } from '../bench/block-trace/handoff.js';
import { formatChecks, formatSideBySide, formatTraceTable, rowAgrees } from '../bench/block-trace/report.js';
import { specLabel, type TraceSpec } from '../bench/block-trace/run.js';
import { writeCharts, type WrittenChart } from '../bench/charts.js';
import { BACKGROUND_IO_CLASSES, IO_SCHEDULERS, parseBenchOptions, type BenchSelection, type RawBenchOptions } from '../bench/options.js';
import { BACKGROUND_PATTERNS, formatInterference, INTERFERENCE_CLASSES, runInterference } from '../bench/interference.js';
import { ARRIVAL_PROCESSES } from '../bench/open-loop.js';
import { COLUMN_NOTES, formatCurves, formatReport, formatTargets } from '../bench/report.js';
import { runSuite } from '../bench/suite.js';
import { formatConsoleTable, TABLE_HEADER, tableRows } from '../bench/table.js';
import { FILESYSTEMS, PEERS, PREALLOC_MODES, STRATEGIES } from '../bench/cell.js';
import { watchLaunchers } from './launcher-watch.js';
import { parseArgs } from './parse-args.js';
import { existingDir, writableDir } from './path-checks.js';
import { reapEarlierRuns } from './reap-earlier-runs.js';

const program = new Command('bench')
  .description('The throughput suite: every WAL durability strategy on real filesystems, side by side with real peers, in one run.')
  .option('--full', 'the whole matrix (strategies x writers 1,4,16,64 x sizes 256B,1KiB,4KiB,1MiB x preallocation x filesystems); takes hours')
  .option('--strategy <list>', `comma list of: ${STRATEGIES.join(', ')}, group (= group-fdatasync), all`)
  .option('--writers <list>', 'comma list of writer counts, e.g. 1,4,16,64')
  .option('--size <list>', 'comma list of entry sizes, e.g. 256,1k,4k,1m')
  .option('--fs <list>', `comma list of: ${FILESYSTEMS.join(', ')}, ext4 (= ext4-ordered), all; loop images need root`)
  .option('--prealloc <list>', `comma list of: ${PREALLOC_MODES.join(', ')}, all`)
  .option(
    '--writer-threads <list>',
    'comma list: 0 = all writer loops on the main event loop, T = spread over T worker_threads sharing the WAL (default 0; --full: 0,4)',
  )
  .option('--peers <list>', `comma list of: ${PEERS.join(', ')}, all, none`)
  .option('--duration <seconds>', 'measured seconds per cell, split over the rounds', '3')
  .option('--rounds <n>', 'slices per cell, interleaved with the other cells', '4')
  .addOption(new Option('--background-io <class>', 'competing background writer in this ionice class').choices(BACKGROUND_IO_CLASSES as unknown as string[]))
  .option('--cpu-load <list>', 'comma list of busy-process counts to run beside the cells; every cell runs once per count (0 = quiet; default 0)')
  .option('--offered <list>', 'open loop: comma list of offered rates in commits/s, spread over the writers; latency from each scheduled arrival')
  .addOption(new Option('--arrivals <process>', 'open loop: arrival process (default poisson)').choices(ARRIVAL_PROCESSES as unknown as string[]))
  .option('--seed <n>', 'open loop: seed of the arrival schedule (default 1)')
  .option(
    '--interference',
    'instead of the matrix: WAL commit latency beside background writers (seq/rand, buffered/O_DIRECT) in each ionice class, per scheduler, on one loop image (root)',
  )
  .option(
    '--block-trace',
    'instead of the matrix: one short run per strategy under blktrace on the device under the filesystem (microVM), counted per commit beside dm-log-writes and diskstats (root)',
  )
  .option('--commits <n>', 'with --block-trace: acknowledged commits per strategy (default 32)')
  .option('--strace', "with --block-trace: run the WAL under strace -f and keep one commit's syscalls")
  .option('--schedulers <list>', `with --interference: comma list of ${IO_SCHEDULERS.join(', ')} (default bfq,mq-deadline)`)
  .option('--dir <path>', 'run the host cells in a directory on any device (NVMe, SATA, HDD); its model, write cache, rotational and scheduler are recorded')
  .option('--out <dir>', 'output directory (default: results/bench-<timestamp>)')
  .option('--work-dir <dir>', 'where cells write (host fs) and loop images live', '.cache/bench')
  .option('--no-charts', 'skip the SVG charts')
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

async function main(): Promise<number> {
  watchLaunchers();
  const usage = parseArgs(program, process.argv.slice(2));
  if (usage !== undefined) return usage;
  const raw = program.opts<RawBenchOptions>();
  const sel = parseBenchOptions(raw);
  // The results are written after the whole run (minutes; hours with --full): a directory that
  // cannot take them must stop the run before it starts, not lose it at the end.
  const dirCheck = sel.dir === null ? [] : [existingDir('--dir', sel.dir), writableDir('--dir', sel.dir)];
  for (const check of [writableDir('--out', sel.outDir), writableDir('--work-dir', sel.workDir), ...dirCheck]) {
    if (!check.ok) throw new BenchError('BAD_OPTION', check.message);
  }
  await reapEarlierRuns('bench');
  const command = ['pnpm bench', ...process.argv.slice(2)].join(' ');
  if (sel.interference) return interference(sel, sel.interference.schedulers, command);
  if (sel.blockTrace) return blockTrace(sel, sel.blockTrace.specs, command);

  const bar = new cliProgress.SingleBar(
    // Without a terminal (CI logs), a progress line every 10 s instead of a redrawn bar.
    {
      stream: process.stderr,
      format: '{bar} {value}/{total} slices | {eta_formatted} left | {what}',
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 20,
      noTTYOutput: true,
      notTTYSchedule: 10_000,
    },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  const results = await runSuite(
    sel,
    {
      onPhase: (text) => (started ? bar.update({ what: text }) : process.stderr.write(`${text}\n`)),
      onPlan: (total) => {
        // About half a second of set-up per slice (open, zero-fill, process start) on these machines.
        const minutes = (total * (sel.durationMs / sel.rounds + 500)) / 60_000;
        process.stderr.write(`${total} slices (${sel.rounds} rounds), about ${minutes < 1 ? '<1' : Math.round(minutes)} min\n`);
        bar.start(total, 0, { what: '' });
        started = true;
      },
      onSlice: (what) => bar.update({ what }),
      onSliceDone: () => bar.increment(),
    },
    command,
  ).finally(() => bar.stop());

  mkdirSync(sel.outDir, { recursive: true });
  writeFileSync(join(sel.outDir, 'results.json'), JSON.stringify(results, null, 2) + '\n');
  let charts: WrittenChart[] = [];
  if (sel.charts) charts = await writeCharts(results, join(sel.outDir, 'charts'));
  writeFileSync(join(sel.outDir, 'report.md'), formatReport(results, charts, 'charts'));

  process.stdout.write(`\n${formatConsoleTable(TABLE_HEADER, tableRows(results))}\n\n`);
  for (const note of COLUMN_NOTES) process.stdout.write(`  ${note}\n`);
  process.stdout.write(`\nTargets (ratios measured in this run)\n${formatTargets(results.targets).join('\n')}\n`);
  if (results.curves && results.curves.length > 0) process.stdout.write(`\nOpen loop: latency vs offered load\n${formatCurves(results.curves).join('\n')}\n`);
  process.stdout.write(`\nresults.json, report.md${charts.length ? ' and charts/' : ''} in ${sel.outDir}\n`);
  if (results.cleanupError !== undefined) {
    process.stderr.write(`bench: the run finished but cleanup failed: ${results.cleanupError}\n`);
    return 1;
  }
  return 0;
}

async function interference(sel: BenchSelection, schedulers: string[], command: string): Promise<number> {
  if (process.getuid?.() !== 0)
    throw new BenchError('BAD_OPTION', '--interference makes a loop image and switches its scheduler: run it as root (sudo pnpm bench --interference)');
  const results = await runInterference({
    fs: sel.filesystems?.[0] ?? 'ext4-ordered',
    schedulers,
    patterns: BACKGROUND_PATTERNS,
    classes: INTERFERENCE_CLASSES,
    durationMs: sel.durationMs,
    rounds: sel.rounds,
    workDir: sel.workDir,
    command,
    onCell: (label, done, total) => process.stderr.write(`[${done + 1}/${total}] ${label}\n`),
  });
  mkdirSync(sel.outDir, { recursive: true });
  writeFileSync(join(sel.outDir, 'interference.json'), JSON.stringify(results, null, 2) + '\n');
  const table = formatInterference(results);
  writeFileSync(join(sel.outDir, 'interference.md'), `# powercut interference report\n\nRun: \`${command}\`\n\n${table}\n`);
  process.stdout.write(`\n${table}\n\ninterference.json and interference.md in ${sel.outDir}\n`);
  return 0;
}

async function blockTrace(sel: BenchSelection, specs: TraceSpec[], command: string): Promise<number> {
  if (process.getuid?.() !== 0) throw new BenchError('BAD_OPTION', '--block-trace makes loop and dm devices: run it as root (sudo pnpm bench --block-trace)');
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  const started = new Date();
  process.stderr.write(`block trace: ${specs.map(specLabel).join(', ')}, ${specs[0]?.commits} commits each (load average ${load})\n`);
  const results = await runBlockTrace(specs, sel.outDir, (line) => process.stderr.write(`${line}\n`));
  const head = `\`${command}\` (${started.toISOString().slice(0, 16).replace('T', ' ')} UTC, kernel ${results.kernel}, ext4 on dm-log-writes over loop, 4 KiB commits; host load average ${load} at the start, ${loadavg()[0]?.toFixed(2)} at the end)`;
  const table = formatTraceTable(results);
  const sideBySide = formatSideBySide(results);
  writeFileSync(
    join(sel.outDir, 'block-trace.md'),
    `# powercut block trace\n\n${head}\n\n${table}\n\n\`\`\`\n${formatChecks(results)}\n\`\`\`\n${sideBySide === '' ? '' : `\n${sideBySide}`}`,
  );
  process.stdout.write(`\n${head}\n\n${table}\n\n${formatChecks(results)}\n\nresults.json, block-trace.md and the raw traces in ${sel.outDir}\n`);
  return results.rows.every(rowAgrees) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof BenchError) {
      process.stderr.write(`bench: ${err.message}\n`);
      process.exit(err.code === 'BAD_OPTION' ? 2 : 1);
    }
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
