import { readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { randomInt } from 'node:crypto';
import path from 'node:path';
import {
  choosePlacement,
  ConsoleReporter,
  CrashError,
  exitCodeOf,
  formatSummaryTable,
  PROJECT_ROOT,
  ProtocolReporter,
  requireRoot,
  runInMicroVm,
  type RunOptions,
  type RunResults,
  type TargetTrialOutcome,
} from '../crash/index.js';
import { runTargetMode } from '../crash/target/mode.js';
import { BUILTIN_TARGETS, forLogWrites, selectTarget, type TargetSelection } from '../targets/registry.js';
import { tableRows, writeTable, type TableRow } from './target-table.js';
import { formatPromise } from '../targets/contract.js';
import { reapEarlierRuns } from './reap-earlier-runs.js';

// `crashtest --target NAME` for a target other than the WAL (issue 14): the options are checked
// here before anything is touched (exit 2 on an unknown target or setting), then the trials run
// where dm-flakey is (the microVM on this machine kind), and the summary is printed as for the WAL.

/** Trials per setting when --trials is not given: a few minutes per target. */
export const TARGET_DEFAULT_TRIALS = 5;
/**
 * Recordings per setting in `--target all` without --trials: one checks every crash state of its
 * trial (12-250 states here): 12 sqlite recordings took 3.0 min at load 1.5-4.4 (6 settings x 2 trials).
 */
export const TARGET_ALL_LOG_WRITES_TRIALS = 1;

export interface TargetCliOptions {
  target: string;
  settings?: string;
  run?: string;
  check?: string;
  promise?: string;
  devices?: string;
  strategy?: unknown;
  groupCommit?: boolean;
  scenario: string;
  mode?: string;
  fs: RunOptions['fs'];
  trials?: number;
  seed?: number;
  trial?: number;
  vm?: boolean;
  json?: string;
  artifacts?: string;
  inVm?: boolean;
  resultsFile?: string;
  command?: string;
}

const leftOut = (why: string) => process.stderr.write(`crashtest: left out of log-writes: ${why}\n`);

/** Refuse the WAL's options with a target, and resolve the selection (throws BAD_OPTION). */
export function checkTargetOptions(o: TargetCliOptions): TargetSelection {
  const walOnly: [string, boolean][] = [
    ['--strategy', o.strategy !== undefined],
    ['--group-commit', o.groupCommit !== undefined],
    ['--scenario', o.scenario !== 'all'],
  ];
  const given = walOnly.filter(([, set]) => set).map(([flag]) => flag);
  if (given.length > 0)
    throw new CrashError(
      'BAD_OPTION',
      `${given.join(', ')} ${given.length > 1 ? 'go' : 'goes'} with the WAL (--strategy or --target wal), not --target ${o.target}`,
    );
  if (o.trial !== undefined && o.seed === undefined) throw new CrashError('BAD_OPTION', '--trial replays one trial of a seeded run: give --seed too');
  const chosen = selectTarget(o);
  // An exec target's one setting is the command line's own (--promise, --devices): named too.
  const named = o.settings !== undefined || chosen.exec !== undefined;
  const selection = o.mode === 'log-writes' ? forLogWrites(chosen, named, leftOut) : chosen;
  // Checked here, on the host: the microVM runs the host's own programs.
  const missing = selection.target.unavailable?.();
  if (missing !== undefined) throw new CrashError('MISSING_TOOL', `--target ${selection.target.name}: ${missing}`);
  return selection;
}

export function runOptions(o: TargetCliOptions, selection: TargetSelection, argv: readonly string[]): RunOptions {
  return {
    strategies: [],
    groupCommit: false,
    scenarios: [],
    scenarioName: 'power-cut',
    fs: o.fs,
    trials: o.trials ?? selection.target.defaultTrials ?? TARGET_DEFAULT_TRIALS,
    seed: o.seed ?? randomInt(0, 2 ** 31 - 1),
    onlyTrial: o.trial,
    mode: o.mode === 'log-writes' ? 'log-writes' : 'flakey',
    artifactsRoot: path.resolve(o.artifacts ?? path.join(PROJECT_ROOT, 'results', 'crashtest')),
    command: o.command ?? ['sudo pnpm crashtest', ...argv].join(' '),
    writerBundle: undefined,
    target: { name: selection.target.name, settings: selection.settings.map((s) => s.name), ...(selection.exec ? { exec: selection.exec } : {}) },
  };
}

/**
 * Run the trials of one target: power cuts where dm-flakey is, or recordings where dm-log-writes
 * is with their crash states checked here; the results as for the WAL.
 */
export async function runTarget(options: RunOptions, forceVm: boolean): Promise<RunResults<TargetTrialOutcome>> {
  const reporter = new ConsoleReporter();
  if (options.mode === 'log-writes') {
    // Loaded on demand: it records through a bundle of its own, which the crashtest bundle in the VM never needs.
    const { runTargetLogWritesMode } = await import('../crash/target/log-writes-mode.js');
    return runTargetLogWritesMode(options, reporter, forceVm);
  }
  const placement = await choosePlacement('flakey', forceVm);
  if (placement.where === 'vm') process.stderr.write(`crashtest: running in the microVM (${placement.reason})\n`);
  return placement.where === 'vm' ? runInMicroVm<TargetTrialOutcome>(options, reporter) : runTargetMode(options, reporter, false);
}

export function printTargetResults(results: RunResults<TargetTrialOutcome>, seed: number): void {
  process.stdout.write(`\n${formatSummaryTable(results.rows)}\n\n`);
  const where = results.kernel.inVm ? `in the microVM (kernel ${results.kernel.release})` : `on kernel ${results.kernel.release}`;
  process.stdout.write(`${results.trials.length} trials on ${results.fs} ${where}, seed ${seed}, ${(results.durationMs / 60_000).toFixed(1)} min\n`);
  for (const t of results.trials.filter((x) => x.status === 'violated'))
    process.stdout.write(
      `CONTRACT BROKEN ${t.target.name} ${t.target.setting} trial ${t.index} (promise ${formatPromise(t.target.contract.promise)}, ${t.target.contract.says}; ${t.target.contract.cite}): ${t.reasons.join('; ')}\n    artifacts: ${t.artifactDir ?? '-'}\n`,
    );
  const verdict = results.verdict === 'held' ? 'every setting kept its documented contract' : 'a setting broke its documented contract';
  process.stdout.write(`verdict: ${verdict} (replay with --seed ${seed})\n`);
}

// `--target all`: every built-in target with its default settings (or --settings of each), one run
// (one VM boot) per target and mode, then the table; a target this machine cannot run, or one
// without the mode asked for, is left out, saying why. A setting that broke its contract is a
// finding the table reports, with its artifacts: the command exits 0 once the table is complete.
async function allTargets(o: TargetCliOptions, argv: readonly string[]): Promise<number> {
  if (o.run !== undefined || o.check !== undefined || o.promise !== undefined || o.devices !== undefined)
    throw new CrashError('BAD_OPTION', '--target all runs the built-in targets: --run, --check, --promise and --devices go with --target exec');
  if (o.trial !== undefined) throw new CrashError('BAD_OPTION', '--trial replays one trial of one target: give --target NAME');
  // --settings names settings of any built-in target; a target none of them belongs to is left out.
  const wanted = o.settings === undefined || o.settings === 'all' ? undefined : o.settings.split(',').map((s) => s.trim());
  const unknown = wanted?.filter((n) => !BUILTIN_TARGETS.some((t) => t.settings.some((s) => s.name === n))) ?? [];
  if (unknown.length > 0)
    throw new CrashError('BAD_OPTION', `unknown setting ${unknown.join(', ')} for --target all; each target's settings are in docs/crash/targets.md`);
  const selections = BUILTIN_TARGETS.flatMap((t) => {
    const mine = wanted?.filter((n) => t.settings.some((s) => s.name === n));
    if (mine !== undefined && mine.length === 0) return [];
    const missing = t.unavailable?.();
    if (missing !== undefined) {
      process.stderr.write(`crashtest: target ${t.name} left out: ${missing}\n`);
      return [];
    }
    // Without the mode: the settings a mode lacks are left out below, for that mode only.
    return [checkTargetOptions({ ...o, mode: undefined, target: t.name, settings: mine?.join(',') })];
  });
  requireRoot();
  await reapEarlierRuns('crashtest');
  const seed = o.seed ?? randomInt(0, 2 ** 31 - 1);
  const rows: TableRow[] = [];
  const all: RunResults<TargetTrialOutcome>[] = [];
  const started = Date.now();
  // Without --mode both: power cuts, then recordings (TARGET_ALL_LOG_WRITES_TRIALS each unless
  // --trials says otherwise: a recording checks every crash state of its trial).
  const modes = o.mode === undefined ? (['flakey', 'log-writes'] as const) : ([o.mode === 'log-writes' ? 'log-writes' : 'flakey'] as const);
  for (const mode of modes) {
    for (const chosen of selections) {
      const trials = o.trials ?? (mode === 'log-writes' ? TARGET_ALL_LOG_WRITES_TRIALS : undefined);
      // A setting named in --settings that a mode lacks runs in the other mode only.
      const selection = mode === 'log-writes' ? forLogWrites(chosen, false, leftOut) : chosen;
      if (selection.settings.length === 0) continue;
      const options = runOptions({ ...o, seed, mode, trials }, selection, argv);
      process.stderr.write(
        `crashtest: target ${selection.target.name}, mode ${mode}, ${selection.settings.length} settings (${selection.settings.map((s) => s.name).join(', ')}), ${options.trials} trials each, seed ${seed}\n`,
      );
      const results = await runTarget(options, o.vm ?? false);
      printTargetResults(results, seed);
      all.push(results);
      rows.push(...tableRows(results, selection.settings));
    }
  }
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  const heading = `crashtest --target all, ${new Date(started).toISOString().slice(0, 16)} UTC, seed ${seed}, ${o.fs}, ${((Date.now() - started) / 60_000).toFixed(1)} min in all, load average ${load}`;
  const md = writeTable(path.join(PROJECT_ROOT, 'results', 'crashtest'), rows, heading, all);
  process.stdout.write(`\n${readFileSync(md, 'utf8')}\n(table: ${md})\n`);
  if (o.json) writeFileSync(o.json, `${JSON.stringify({ rows, results: all }, null, 2)}\n`);
  const broken = rows.filter((r) => r.verdict !== 'held');
  for (const r of broken)
    process.stdout.write(`finding: ${r.target} ${r.setting} broke its documented contract (${r.cite}); artifacts: ${r.artifacts.join(', ')}\n`);
  return 0;
}

export async function targetCommand(o: TargetCliOptions, argv: readonly string[]): Promise<number> {
  if (o.target === 'all' && !o.inVm) return allTargets(o, argv);
  const selection = checkTargetOptions(o);
  const options = runOptions(o, selection, argv);
  requireRoot();
  if (o.inVm) {
    if (!o.resultsFile) throw new CrashError('BAD_OPTION', '--in-vm needs --results-file');
    const results = await runTargetMode(options, new ProtocolReporter(), true);
    writeFileSync(o.resultsFile, JSON.stringify(results));
    return exitCodeOf(results.verdict);
  }
  await reapEarlierRuns('crashtest');
  const trials = options.onlyTrial === undefined ? `${options.trials} trials` : `trial ${options.onlyTrial}`;
  process.stderr.write(
    `crashtest: target ${selection.target.name}, settings ${selection.settings.map((s) => s.name).join(', ')}, ${trials} each, ${options.fs}, mode ${options.mode}, seed ${options.seed}\n`,
  );
  const results = await runTarget(options, o.vm ?? false);
  printTargetResults(results, options.seed);
  if (o.json) writeFileSync(o.json, `${JSON.stringify(results, null, 2)}\n`);
  return exitCodeOf(results.verdict);
}
