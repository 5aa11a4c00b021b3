import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import cliProgress from 'cli-progress';
import { BenchError } from '../bench/bench-error.js';
import { writeCharts, type WrittenChart } from '../bench/charts.js';
import { BACKGROUND_IO_CLASSES, parseBenchOptions, type RawBenchOptions } from '../bench/options.js';
import { ARRIVAL_PROCESSES } from '../bench/open-loop.js';
import { COLUMN_NOTES, formatCurves, formatReport, formatTargets } from '../bench/report.js';
import { runSuite } from '../bench/suite.js';
import { formatConsoleTable, TABLE_HEADER, tableRows } from '../bench/table.js';
import { FILESYSTEMS, PEERS, PREALLOC_MODES, STRATEGIES } from '../bench/cell.js';
import { watchLaunchers } from './launcher-watch.js';
import { parseArgs } from './parse-args.js';
import { writableDir } from './path-checks.js';
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
  for (const check of [writableDir('--out', sel.outDir), writableDir('--work-dir', sel.workDir)]) {
    if (!check.ok) throw new BenchError('BAD_OPTION', check.message);
  }
  await reapEarlierRuns('bench');
  const command = ['pnpm bench', ...process.argv.slice(2)].join(' ');

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
