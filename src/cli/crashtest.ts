import { randomInt } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  checkModeBuilt,
  choosePlacement,
  ConsoleReporter,
  CrashError,
  exitCodeOf,
  formatSummaryTable,
  PROJECT_ROOT,
  ProtocolReporter,
  recheck,
  requireRoot,
  runInMicroVm,
  runMode,
  runDefaultChecks,
  formatCoverage,
  SCENARIO_NAMES,
  SCENARIOS,
  findScenario,
  subjectLabel,
  type RunOptions,
  type RowVerdict,
  type RunResults,
} from '../crash/index.js';
import { DeviceError, FS_VARIANT_NAMES, type FsVariantName } from '../dm/index.js';
import { groupCommitProblem, parseStrategyList, STRATEGIES, type Strategy } from '../strategy/index.js';
import { watchLaunchers } from './launcher-watch.js';
import { exitWith, intOption, parseArgs } from './parse-args.js';
import { reapEarlierRuns } from './reap-earlier-runs.js';
import { pathOption, writableDir, writableFile } from './path-checks.js';
import { runSelfTest } from '../crash/self-test/index.js';
import { targetCommand } from './target-command.js';
import { TARGET_NAMES } from '../targets/registry.js';

// sudo pnpm crashtest --strategy <s[,s...]|all> [--group-commit] [--scenario NAME|all] [--fs ext4|ext4-nojournal|xfs|btrfs|btrfs-nodatacow]
//                     [--trials N] [--seed S] [--trial I] [--vm] [--json FILE] [--mode flakey|log-writes]
// Without --mode: both checks (power cuts, then recorded crash states) and the fault classes covered.
// sudo pnpm crashtest recheck DIR
// sudo pnpm crashtest --self-test [--only plant,...] [--jobs N] [--seed S] [--json FILE]: every planted
// bug (native/plants.json) through the default checks of its strategy, and the clean build; exit
// 0 only when every plant is caught and the clean build holds (src/crash/self-test/).
// sudo pnpm crashtest --target sqlite|leveldb|postgres|exec|wal [--settings a,b|all] [--run CMD --check CMD --promise P [--devices 2]]:
// another program through the target protocol (src/targets, docs/crash/targets.md).
// Exit: 0 the contract held in every trial; 1 violated (or none/periodic never lost anything: the
// crash was not real); 2 usage or environment error, or a trial that could not be carried out.

// The seed is a 31-bit integer everywhere (a random default is drawn below 2^31 - 1).
const MAX_SEED = 2 ** 31 - 1;
const MAX_TRIALS = 100_000;

function strategyList(value: string): Strategy[] {
  const parsed = parseStrategyList(value);
  if (!parsed.ok) throw new InvalidArgumentError(parsed.message);
  return parsed.strategies;
}

interface CliOptions {
  strategy?: Strategy[];
  groupCommit?: boolean;
  scenario: string;
  fs: FsVariantName;
  trials?: number;
  seed?: number;
  trial?: number;
  vm?: boolean;
  json?: string;
  /** Unset: the default run (both checks, runDefaultChecks). */
  mode?: 'flakey' | 'log-writes';
  artifacts?: string;
  inVm?: boolean;
  resultsFile?: string;
  writerBundle?: string;
  command?: string;
  selfTest?: boolean;
  only?: string[];
  jobs?: number;
  target?: string;
  settings?: string;
  run?: string;
  check?: string;
  promise?: string;
  devices?: string;
  failFast?: boolean;
}

function toRunOptions(o: CliOptions, argv: readonly string[]): RunOptions {
  if (!o.strategy) throw new CrashError('BAD_OPTION', '--strategy is required: one of ' + STRATEGIES.join(', ') + ', a comma-separated list, or all');
  const groupProblem = o.groupCommit ? groupCommitProblem(o.strategy, '--group-commit') : undefined;
  if (groupProblem !== undefined) throw new CrashError('BAD_OPTION', groupProblem);
  const scenarios = o.scenario === 'all' ? SCENARIOS : [findScenario(o.scenario)].filter((s) => s !== undefined);
  if (scenarios.length === 0) throw new CrashError('BAD_OPTION', `unknown scenario ${o.scenario}; choose from ${SCENARIO_NAMES.join(', ')} or all`);
  if (o.trial !== undefined && o.seed === undefined) throw new CrashError('BAD_OPTION', '--trial replays one trial of a seeded run: give --seed too');
  return {
    strategies: o.strategy,
    groupCommit: o.groupCommit ?? false,
    scenarios,
    scenarioName: o.scenario,
    fs: o.fs,
    trials: o.trials ?? DEFAULT_TRIALS,
    seed: o.seed ?? randomInt(0, 2 ** 31 - 1),
    onlyTrial: o.trial,
    mode: o.mode ?? 'flakey',
    artifactsRoot: path.resolve(o.artifacts ?? path.join(PROJECT_ROOT, 'results', 'crashtest')),
    command: o.command ?? ['sudo pnpm crashtest', ...argv].join(' '),
    writerBundle: o.writerBundle,
    ...(o.jobs !== undefined ? { stateJobs: o.jobs } : {}),
    ...(o.failFast === true ? { stopAtViolation: true } : {}),
  };
}

/** Trials per strategy when one --mode is given without --trials. */
const DEFAULT_TRIALS = 20;

function printResults(results: RunResults, options: RunOptions): void {
  const minutes = (results.durationMs / 60_000).toFixed(1);
  process.stdout.write(`\n${formatSummaryTable(results.rows)}\n\n`);
  const where = results.kernel.inVm ? `in the microVM (kernel ${results.kernel.release})` : `on kernel ${results.kernel.release}`;
  process.stdout.write(`${results.trials.length} trials on ${results.fs} ${where}, seed ${results.seed}, ${minutes} min\n`);
  const withTotal = new Set(results.rows.filter((r) => r.scenario === 'all').map((r) => r.strategy));
  for (const row of results.rows) {
    const isTotal = row.scenario === 'all' || !withTotal.has(row.strategy);
    if (isTotal && row.verdict === 'crash-not-real') {
      process.stdout.write(`${row.strategy}: never lost any data in ${row.trials} trials: the crash was not real (the power cut did not cut anything)\n`);
    }
  }
  const violated = results.trials.filter((t) => t.status !== 'held');
  for (const t of violated)
    process.stdout.write(
      `${t.status === 'fs-failed' ? 'FILESYSTEM FAILED' : 'VIOLATED'} ${subjectLabel(t)} trial ${t.index} (${t.scenario}): ${t.reasons.join('; ')}\n    artifacts: ${t.artifactDir ?? '-'}\n`,
    );
  for (const e of results.errors) process.stdout.write(`ERROR ${e.strategy} trial ${e.index} (${e.scenario}): no verdict: ${e.reason}\n`);
  process.stdout.write(`verdict: ${verdictSentence(results.verdict, 'trial')} (replay with --seed ${options.seed})\n`);
}

function verdictSentence(verdict: RowVerdict, unit: 'trial' | 'check'): string {
  switch (verdict) {
    case 'held':
      return `the contract held in every ${unit}`;
    case 'violated':
      return 'the contract was VIOLATED';
    case 'fs-failed':
      return 'the WAL held, but the FILESYSTEM FAILED: fsck repaired it after a cut and the repair took data the WAL had made durable';
    case 'crash-not-real':
      return 'the crash was not real';
    case 'error':
      return 'NO VERDICT: nothing was violated, but some trials could not be judged (ERROR lines above)';
  }
}

// No --mode: power cuts and recorded crash states both, one VM boot each, and the fault classes
// the run covered.
async function defaultRun(o: CliOptions, options: RunOptions): Promise<number> {
  checkModeBuilt('log-writes');
  const { mode: _mode, trials: _trials, ...base } = options;
  const reporter = new ConsoleReporter();
  const names: Record<string, string> = { flakey: 'power cuts (dm-flakey)', 'log-writes': 'recorded crash states (dm-log-writes)' };
  const result = await runDefaultChecks(
    {
      ...base,
      ...(o.trials !== undefined ? { trials: o.trials } : {}),
      forceVm: o.vm ?? false,
      onCheck: (check, trials) => process.stderr.write(`crashtest: ${names[check]}, ${trials} trials per strategy\n`),
    },
    reporter,
  );
  for (const c of result.checks) {
    process.stdout.write(`\n== ${names[c.check]}: ${c.verdict} (${(c.durationMs / 60_000).toFixed(1)} min)`);
    printResults(c.results, { ...options, mode: c.check });
  }
  process.stdout.write(`\nfault classes this run covered:\n${formatCoverage(result.coverage).join('\n')}\n`);
  process.stdout.write(
    `verdict (all checks, ${(result.durationMs / 60_000).toFixed(1)} min): ${verdictSentence(result.verdict, 'check')} (replay with --seed ${options.seed})\n`,
  );
  if (o.json) writeFileSync(o.json, `${JSON.stringify(result, null, 2)}\n`);
  return exitCodeOf(result.verdict);
}

async function crashtest(o: CliOptions, argv: readonly string[]): Promise<number> {
  const options = toRunOptions(o, argv);
  checkModeBuilt(options.mode);
  requireRoot();
  // Inside the VM nothing of an earlier run can exist: the guest's /run is new at every boot.
  if (!o.inVm) await reapEarlierRuns('crashtest');
  if (o.mode === undefined && !o.inVm) {
    if (options.onlyTrial !== undefined) throw new CrashError('BAD_OPTION', '--trial replays one trial of one check: give --mode flakey or --mode log-writes');
    process.stderr.write(
      `crashtest: ${options.strategies.join(', ')}${options.groupCommit ? ' with group commit' : ''}, scenario ${options.scenarioName}, ${options.fs}, seed ${options.seed}: power cuts and recorded crash states\n`,
    );
    return defaultRun(o, options);
  }
  if (o.inVm) {
    // Inside the VM: run, write the results for the host, report through the console protocol.
    const results = await runMode(options, new ProtocolReporter(), true);
    if (!o.resultsFile) throw new CrashError('BAD_OPTION', '--in-vm needs --results-file');
    writeFileSync(o.resultsFile, JSON.stringify(results));
    return exitCodeOf(results.verdict);
  }
  // log-writes records in the microVM by itself (when this kernel lacks the target) and checks
  // the crash states here, at native speed: it never runs whole inside the VM.
  const placement = options.mode === 'log-writes' ? ({ where: 'host' } as const) : await choosePlacement('flakey', o.vm ?? false);
  const perStrategy = options.onlyTrial === undefined ? `${options.trials} trials` : `trial ${options.onlyTrial}`;
  process.stderr.write(
    `crashtest: ${options.strategies.join(', ')}${options.groupCommit ? ' with group commit' : ''}, ${perStrategy} each, scenario ${options.scenarioName}, ${options.fs}, mode ${options.mode}, seed ${options.seed}` +
      (placement.where === 'vm' ? `\ncrashtest: running in the microVM (${placement.reason})\n` : '\n'),
  );
  const reporter = new ConsoleReporter();
  const results = placement.where === 'vm' ? await runInMicroVm(options, reporter) : await runMode(options, reporter, false);
  printResults(results, options);
  if (o.json) writeFileSync(o.json, `${JSON.stringify(results, null, 2)}\n`);
  return exitCodeOf(results.verdict);
}

// The self-test runs the default checks itself: the options that narrow or pick a check would
// make it test less than `crashtest --strategy S` does, so they are refused with it.
async function selfTestCommand(o: CliOptions): Promise<number> {
  const given: [string, boolean][] = [
    ['--strategy', o.strategy !== undefined],
    ['--group-commit', o.groupCommit !== undefined],
    ['--mode', o.mode !== undefined],
    ['--scenario', o.scenario !== 'all'],
    ['--fs', o.fs !== 'ext4'],
    ['--trials', o.trials !== undefined],
    ['--trial', o.trial !== undefined],
    ['--vm', o.vm !== undefined],
    ['--artifacts', o.artifacts !== undefined],
    ['--fail-fast', o.failFast !== undefined],
  ];
  const refused = given.filter(([, set]) => set).map(([flag]) => flag);
  if (refused.length > 0)
    throw new CrashError(
      'BAD_OPTION',
      `--self-test runs the default checks of each plant's strategy; it takes --only, --jobs, --seed and --json, not ${refused.join(', ')}`,
    );
  return runSelfTest({ only: o.only, seed: o.seed ?? randomInt(0, 2 ** 31 - 1), jobs: o.jobs ?? 2, json: o.json });
}

async function recheckCommand(dir: string): Promise<number> {
  const r = await recheck(path.resolve(dir));
  const source =
    r.source === 'crash-states'
      ? `${r.states?.length ?? 0} saved crash states of the recording, materialised again`
      : r.source === 'wal-reopened'
        ? `the saved WAL reopened${r.matchesSavedList === false ? ' (it now returns something else than the trial saw)' : ''}`
        : `the saved recovered list (${r.reopenProblem ?? 'WAL not reopened'})`;
  process.stdout.write(`recheck ${dir}: judged ${source}\n`);
  for (const state of r.states ?? [])
    process.stdout.write(`  state ${state.id}: ${state.status}${state.reasons.length > 0 ? ` (${state.reasons.join('; ')})` : ''}\n`);
  for (const reason of r.reasons) process.stdout.write(`  ${reason}\n`);
  const loss = r.verdict.loss;
  process.stdout.write(
    `  appended ${loss.appended}, acked ${loss.acked}, recovered ${loss.recovered}, lost ${loss.lost} (acked ${loss.ackedButLost}, beyond contract ${loss.lostBeyondContract})\n`,
  );
  process.stdout.write(
    `verdict: ${r.status === 'held' ? 'held' : r.status === 'fs-failed' ? 'FILESYSTEM FAILED' : 'VIOLATED'} (the trial said: ${r.savedStatus ?? 'unknown'})\n`,
  );
  return r.status === 'held' ? 0 : 1;
}

async function main(argv: string[]): Promise<number> {
  watchLaunchers();
  let run: Promise<number> | undefined;
  const program = new Command('crashtest')
    .description('pull the plug on a live WAL (dm-flakey power cuts), bring it back, and check each strategy kept its promise')
    .addOption(new Option('--strategy <list>', `durability strategy: ${STRATEGIES.join('|')}, a comma-separated list, or all`).argParser(strategyList))
    .option('--group-commit', 'group commit (fsync, fdatasync, dsync, direct)')
    .addOption(new Option('--scenario <name>', 'crash scenario; all = take them in turn').choices([...SCENARIO_NAMES, 'all']).default('all'))
    .addOption(new Option('--fs <fs>', 'filesystem under the WAL').choices([...FS_VARIANT_NAMES]).default('ext4'))
    .option(
      '--trials <n>',
      `trials per strategy, 1-${MAX_TRIALS} (with --mode: default ${DEFAULT_TRIALS}; without: one per scenario of each check)`,
      intOption('--trials', 1, MAX_TRIALS),
    )
    .option('--seed <s>', 'run seed (default: random, printed); the same seed replays the same trials', intOption('--seed', 0, MAX_SEED))
    .option('--trial <i>', 'replay only trial i of the seeded run (0-based)', intOption('--trial', 0, MAX_TRIALS - 1))
    .option('--vm', 'run in the microVM even if this kernel has dm-flakey')
    // Checked now: a --json that cannot be written would lose the results of the whole run.
    .option('--json <file>', 'write the full results as JSON', pathOption(writableFile, '--json'))
    .option('--fail-fast', 'stop at the first violated trial (without --mode: and skip the checks after it)')
    .addOption(new Option('--mode <mode>', 'only this check (default: both, power cuts then recorded crash states)').choices(['flakey', 'log-writes']))
    .option('--artifacts <dir>', 'where violated trials are saved (default: results/crashtest)', pathOption(writableDir, '--artifacts'))
    .option('--self-test', 'run every planted bug (native/plants.json) through the default checks of its strategy, and the clean build')
    .option('--only <plants>', 'with --self-test: only these plants (comma-separated)', (v: string) =>
      v
        .split(',')
        .map((n) => n.trim())
        .filter((n) => n !== ''),
    )
    .option(
      '--jobs <n>',
      'crash states of log-writes recordings checked at once (default: the number of CPUs); with --self-test: builds checked at once (default 2)',
      intOption('--jobs', 1, 64),
    )
    .addOption(new Option('--target <name>', 'crash-test another program through the target protocol (docs/crash/targets.md)').choices([...TARGET_NAMES]))
    .option('--settings <list>', "with --target: the target's settings to try (comma-separated, or all)")
    .option('--run <cmd>', 'with --target exec: the program; it works in $POWERCUT_DATA and acknowledges on fd 3')
    .option('--check <cmd>', 'with --target exec: run after the crash; prints KEY DIGEST per surviving key, exits non-zero if damaged')
    .option('--promise <p>', 'with --target exec: durable | window:MS | last:N | none (default durable)')
    .option('--devices <n>', 'with --target exec: 2 gives the program a second device ($POWERCUT_DATA2), cut at the same instant (default 1)')
    .addOption(new Option('--in-vm').hideHelp())
    .addOption(new Option('--results-file <file>').hideHelp())
    .addOption(new Option('--writer-bundle <file>').hideHelp())
    .addOption(new Option('--command <text>').hideHelp())
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .action((opts: CliOptions) => {
      if (opts.target === 'wal') {
        // The WAL is a target too: its settings are the strategies, run by the WAL's own path.
        if (opts.strategy !== undefined) run = Promise.reject(new CrashError('BAD_OPTION', '--target wal takes --settings (strategies), not --strategy'));
        else {
          const parsed = parseStrategyList(opts.settings ?? 'all');
          run = parsed.ok
            ? crashtest({ ...opts, strategy: parsed.strategies }, argv)
            : Promise.reject(new CrashError('BAD_OPTION', `--target wal --settings: ${parsed.message}`));
        }
      } else if (opts.target === undefined && [opts.settings, opts.run, opts.check, opts.promise, opts.devices].some((v) => v !== undefined))
        run = Promise.reject(new CrashError('BAD_OPTION', '--settings, --run, --check, --promise and --devices go with --target'));
      else if (opts.target !== undefined && opts.target !== 'wal' && opts.failFast !== undefined)
        run = Promise.reject(new CrashError('BAD_OPTION', `--fail-fast goes with the WAL (--strategy or --target wal), not --target ${opts.target}`));
      else if (opts.target !== undefined && opts.selfTest === undefined) run = targetCommand({ ...opts, target: opts.target }, argv);
      else if (opts.selfTest) run = selfTestCommand(opts);
      else if (opts.only !== undefined) run = Promise.reject(new CrashError('BAD_OPTION', '--only goes with --self-test'));
      else run = crashtest(opts, argv);
    });
  program
    .command('recheck')
    .description('judge a saved violation (an artifact directory) again')
    .argument('<dir>', 'artifact directory of a violated trial')
    .exitOverride()
    .action((dir: string) => {
      run = recheckCommand(dir);
    });
  const usage = parseArgs(program, argv);
  if (usage !== undefined) return usage;
  return run ?? 2;
}

// Known failures get one clear line (exit 2: no verdict was reached), never a stack trace.
exitWith('crashtest', main(process.argv.slice(2)), [CrashError, DeviceError], ' (POWERCUT_LOG_LEVEL=debug logs more)');
