import { randomInt } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { PROJECT_ROOT } from '../project-root.js';
import { CrashError } from '../crash/index.js';
import {
  asExpected,
  checkOneState,
  campaignEntry,
  checkRecording,
  findRecordings,
  mergeStores,
  parseShard,
  REGRESSIONS_DIR,
  ResultStore,
  runFuzz,
  type CampaignEntry,
  type Shard,
} from '../crash/explore/index.js';
import { DeviceError, FS_VARIANT_NAMES, type FsVariantName } from '../dm/index.js';
import { parseStrategyList, STRATEGIES, type Strategy } from '../strategy/index.js';
import { watchLaunchers } from './launcher-watch.js';
import { exitWith, intOption, parseArgs } from './parse-args.js';
import { existingDir, pathOption, writableDir, writableFile } from './path-checks.js';
import { formatSummary, runLine } from './check-report-text.js';
import { StateProgress } from './state-progress.js';
import { reapEarlierRuns } from './reap-earlier-runs.js';
import { checkOneTargetState } from '../crash/target/check-states.js';
import { isTargetRecording } from '../crash/target/recording.js';
import { runTargetFuzz } from '../crash/target/fuzz.js';
import { BUILTIN_TARGETS, forLogWrites, selectTarget } from '../targets/registry.js';

// sudo pnpm fuzz [--seed S] [--recordings N] [--runs M] [--strategy LIST] [--fs ext4|xfs|btrfs] [--from DIR] [--no-save]
// sudo pnpm fuzz --check DIR [--jobs N] [--store S] [--shard I/N] [--json F]
//                                              every crash state of the recordings under DIR
// pnpm fuzz merge STORE... [--json F]          the shards' stores as one report (docs/crash/scale.md)
// sudo pnpm fuzz --recording DIR --state ID    one state again (the command a failure prints)
// Exit: 0 held, 1 a state violated the contract, 2 usage or environment error; on SIGINT/SIGTERM it
// releases everything, then dies of the signal (130 / 143 in the shell); a --store keeps what was judged.

// Stated bounds: a recording costs about 20 s of microVM time, a checked state about 80 ms.
const MAX_RECORDINGS = 1000;
const MAX_RUNS = 10_000_000;
const MAX_SEED = 2 ** 31 - 1;
const MAX_JOBS = 64;

function shardOption(text: string): Shard {
  const shard = parseShard(text);
  if (shard === null) throw new InvalidArgumentError(`--shard must be I/N with 0 <= I < N (e.g. 0/4), got ${JSON.stringify(text)}`);
  return shard;
}

function strategies(value: string): Strategy[] {
  const parsed = parseStrategyList(value);
  if (!parsed.ok) throw new InvalidArgumentError(parsed.message);
  return parsed.strategies;
}

// A directory holding recordings, checked while the arguments are read: a mistyped path must not
// pass as "nothing to check" (exit 0 in CI) or fail after the start banner.
// `single`: the directory must be one recording itself, not a directory of them.
function recordingsOption(option: string, single = false): (text: string) => string {
  return (text) => {
    const dir = existingDir(option, text);
    if (!dir.ok) throw new InvalidArgumentError(dir.message);
    const found = findRecordings(dir.value);
    if (single ? found[0] !== dir.value : found.length === 0) {
      throw new InvalidArgumentError(
        `${option}: ${single ? `${text} is not a recording` : `no recordings under ${text}`} (a recording is a directory with a meta.json)`,
      );
    }
    return dir.value;
  };
}

/** As recordingsOption, for an option whose meaning depends on another (a bad-input error). */
function recordingsDir(option: string, text: string): string {
  try {
    return recordingsOption(option)(text);
  } catch (error) {
    throw new CrashError('BAD_OPTION', `option '${option} <dir>' argument '${text}' is invalid. ${(error as Error).message}`);
  }
}

interface Opts {
  seed?: number;
  recordings: number;
  runs: number;
  strategy: Strategy[];
  fs: FsVariantName;
  from?: string;
  save: boolean;
  check?: string;
  recording?: string;
  state?: string;
  jobs: number;
  store?: string;
  shard?: Shard;
  json?: string;
  target?: string;
  settings?: string;
  run?: string;
  promise?: string;
}

function writeJson(file: string | undefined, entries: CampaignEntry[]): void {
  if (file !== undefined) writeFileSync(file, `${JSON.stringify({ format: 'powercut-campaign-v1', recordings: entries }, null, 2)}\n`);
}

// Exit 1 on any surprise: a violation of a recording that must hold, or a recording meant to be
// caught (meta.expected) that held. A shard cannot tell the second (its part may hold where
// another part is caught): only a violation of a recording that must hold counts there.
function surprising(entry: CampaignEntry, meantToBeCaught: boolean): boolean {
  if (entry.outcome === 'partial') return entry.violatedStates > 0 && !meantToBeCaught;
  return entry.outcome === 'violated' || entry.outcome === 'missed';
}

async function checkAll(o: Opts & { check: string }): Promise<number> {
  const store = o.store !== undefined ? new ResultStore(o.store) : undefined;
  const progress = new StateProgress();
  let stopping = false;
  // A signal also unwinds the cleanup stack (dm/cleanup-stack.ts): mounts released, and what the
  // store holds is what a resumed run skips.
  const stop = () => (stopping = true);
  process.once('SIGINT', stop).once('SIGTERM', stop);
  const entries: CampaignEntry[] = [];
  let surprise = false;
  for (const dir of findRecordings(o.check)) {
    const report = await checkRecording(dir, {
      jobs: o.jobs,
      ...(o.shard ? { shard: o.shard } : {}),
      ...(store ? { store } : {}),
      stop: () => stopping,
      onStart: ({ total, resumed }) => progress.begin(path.basename(dir), total, resumed),
      onState: (r) => progress.state(r.status === 'violated'),
    });
    progress.end();
    const complete = o.shard === undefined && !report.interrupted;
    process.stdout.write(formatSummary(report, complete, runLine(report)));
    const entry = campaignEntry(report, complete);
    entries.push(entry);
    surprise ||= surprising(entry, report.meta.expected !== undefined);
    if (report.interrupted) break;
  }
  writeJson(o.json, entries);
  return surprise ? 1 : 0;
}

function merge(argv: string[]): number {
  let run: (() => number) | undefined;
  const program = new Command('fuzz merge')
    .description("combine the stores of a campaign's shards (pnpm fuzz --check DIR --shard I/N --store STORE) into the report of an unsharded run")
    .argument('<stores...>', 'store directories, one per shard', (text: string, previous: string[] = []) => {
      const dir = existingDir('store', text);
      if (!dir.ok) throw new InvalidArgumentError(dir.message);
      return [...previous, dir.value];
    })
    .option('--json <file>', 'also write the report as JSON', pathOption(writableFile, '--json'))
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .action((stores: string[], opts: { json?: string }) => {
      run = () => {
        const merged = mergeStores(stores);
        let surprise = false;
        const entries = merged.map((m) => {
          process.stdout.write(formatSummary(m, true, `  merged from ${m.shards.length} store(s): shards ${m.shards.join(', ')}`));
          const entry = campaignEntry(m, true);
          surprise ||= surprising(entry, m.meta.expected !== undefined);
          return entry;
        });
        writeJson(opts.json, entries);
        return surprise ? 1 : 0;
      };
    });
  const usage = parseArgs(program, argv, 'fuzz merge');
  if (usage !== undefined) return usage;
  return run?.() ?? 2;
}

async function fuzz(o: Opts): Promise<number> {
  if (o.check !== undefined && o.target !== 'exec') o = { ...o, check: recordingsDir('--check', o.check) };
  if ((o.recording === undefined) !== (o.state === undefined)) throw new CrashError('BAD_OPTION', '--recording and --state go together');
  await reapEarlierRuns('fuzz');
  if (o.recording !== undefined && o.state !== undefined && isTargetRecording(o.recording)) {
    const r = await checkOneTargetState(o.recording, o.state);
    process.stdout.write(
      `${o.state}: ${r.status}${r.reasons.length ? `: ${r.reasons.join('; ')}` : ''} (${r.lastMark ?? 'no mark'} visible, ${r.acksVisible} acknowledgements)\n`,
    );
    return r.status === 'violated' ? 1 : 0;
  }
  if (o.recording !== undefined && o.state !== undefined) {
    const r = await checkOneState(o.recording, o.state);
    process.stdout.write(`${o.state}: ${r.status}${r.reasons.length ? `: ${r.reasons.join('; ')}` : ''} (${r.lastMark ?? 'no mark'} visible)\n`);
    return r.status === 'violated' ? 1 : 0;
  }
  if (o.target !== undefined || (o.from !== undefined && findRecordings(o.from).every(isTargetRecording))) return fuzzTarget(o, o.target);
  if (o.settings !== undefined) throw new CrashError('BAD_OPTION', '--settings goes with --target');
  if (o.run !== undefined || o.promise !== undefined) throw new CrashError('BAD_OPTION', '--run and --promise go with --target exec');
  if (o.check !== undefined) return checkAll({ ...o, check: o.check });
  if (o.store !== undefined || o.shard !== undefined || o.json !== undefined) throw new CrashError('BAD_OPTION', '--store, --shard and --json go with --check');
  const seed = o.seed ?? randomInt(0, 2 ** 31 - 1);
  process.stderr.write(
    `fuzz: seed ${seed}, ${o.from ? `recordings under ${o.from}` : `${o.recordings} recordings (${o.strategy.join(', ')}, ${o.fs})`}, ${o.runs} crash states\n`,
  );
  const result = await runFuzz({
    seed,
    recordings: o.recordings,
    runs: o.runs,
    strategies: o.strategy,
    fs: o.fs,
    ...(o.from !== undefined ? { from: o.from } : {}),
    outRoot: path.join(PROJECT_ROOT, 'results', 'fuzz', `seed-${seed}`),
    regressionsDir: o.save ? REGRESSIONS_DIR : null,
    jobs: o.jobs,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  if (result.status === 'missed') {
    for (const e of result.expected.filter((x) => !asExpected(x.outcome)))
      process.stdout.write(`fuzz: MISSED ${e.recording}: meant to be caught but held in every persistence point\n`);
    return 1;
  }
  if (result.status === 'held') {
    const caught = result.expected.length > 0 ? `; ${result.expected.length} recording(s) meant to be caught were caught as expected` : '';
    process.stdout.write(
      `fuzz: held in ${result.runs} crash states over ${result.recordings.length} recordings (${result.unmountable} unmountable), ${result.statesPerSecond.toFixed(1)} states/s (seed ${seed})${caught}\n`,
    );
    return 0;
  }
  process.stdout.write(
    `fuzz: VIOLATED (seed ${result.seed}, path ${result.path})\n  recording ${result.recording}\n  minimal state ${result.state.id} (${result.state.lastMark ?? 'no mark'} visible): ${result.state.reasons.join('; ')}\n` +
      `  again: pnpm fuzz --seed ${result.seed}${o.from ? ` --from ${o.from}` : ''} --runs ${o.runs}\n` +
      result.commands.map((c) => `  ${c}\n`).join('') +
      (result.savedAs ? `  saved as regression fixture ${result.savedAs}\n` : ''),
  );
  return 1;
}

// `fuzz --target T`: a target's recordings instead of the WAL's (src/crash/target/fuzz.ts). With
// --target exec, --run, --check and --promise are the exec target's, as in crashtest.
// With --from and no --target: the target recordings there, each judged by the target it names.
async function fuzzTarget(o: Opts, name: string | undefined): Promise<number> {
  const exec = name === 'exec';
  if ([exec ? undefined : o.check, o.recording, o.store, o.shard, o.json].some((v) => v !== undefined))
    throw new CrashError('BAD_OPTION', '--check, --recording, --store, --shard and --json go without --target');
  const chosen =
    name === undefined
      ? undefined
      : selectTarget({
          target: name,
          ...(o.settings !== undefined ? { settings: o.settings } : {}),
          ...(o.run !== undefined ? { run: o.run } : {}),
          ...(exec && o.check !== undefined ? { check: o.check } : {}),
          ...(o.promise !== undefined ? { promise: o.promise } : {}),
        });
  const selection =
    chosen === undefined ? undefined : forLogWrites(chosen, o.settings !== undefined, (why) => process.stderr.write(`fuzz: left out: ${why}\n`));
  const seed = o.seed ?? randomInt(0, 2 ** 31 - 1);
  process.stderr.write(
    `fuzz: seed ${seed}, ${selection === undefined ? `target recordings under ${o.from ?? ''}` : `${o.recordings} recordings of ${name} (${selection.settings.map((s) => s.name).join(', ')}, ${o.fs})`}, ${o.runs} crash states\n`,
  );
  const outRoot = path.join(PROJECT_ROOT, 'results', 'fuzz', `${name ?? 'target'}-seed-${seed}`);
  const result = await runTargetFuzz({
    seed,
    recordings: o.recordings,
    runs: o.runs,
    ...(selection !== undefined ? { selection } : {}),
    fs: o.fs,
    ...(o.from !== undefined ? { from: o.from } : {}),
    outRoot,
    jobs: o.jobs,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  if (result.status === 'held') {
    process.stdout.write(
      `fuzz: held in ${result.runs} crash states over ${result.recordings.length} target recordings (${result.unmountable} unmountable), ${result.statesPerSecond.toFixed(1)} states/s (seed ${seed})\n`,
    );
    return 0;
  }
  const s = result.state;
  process.stdout.write(
    `fuzz: CONTRACT BROKEN (seed ${result.seed}, path ${result.path})\n  recording ${result.recording}\n  minimal state ${s.id} (${s.lastMark ?? 'no mark'} visible, ${s.acksVisible} acknowledgements): ${s.reasons.join('; ')}\n` +
      `  again: pnpm fuzz --seed ${result.seed} --from ${o.from ?? path.dirname(result.recording)} --runs ${o.runs}\n` +
      result.commands.map((c) => `  ${c}\n`).join(''),
  );
  return 1;
}

async function main(argv: string[]): Promise<number> {
  watchLaunchers();
  if (argv[0] === 'merge') return merge(argv.slice(1));
  let run: Promise<number> | undefined;
  const program = new Command('fuzz')
    .description('record a bounded set of generated WAL workloads on dm-log-writes, then fuzz crash states over them (fast-check, shrinking)')
    .option('--seed <n>', 'seed of workloads and state choices (default: random, printed)', intOption('--seed', 0, MAX_SEED))
    .option(
      '--recordings <n>',
      `generated workloads to record, 1-${MAX_RECORDINGS} (one microVM boot for all)`,
      intOption('--recordings', 1, MAX_RECORDINGS),
      3,
    )
    .option('--runs <n>', `crash states to check, 1-${MAX_RUNS}`, intOption('--runs', 1, MAX_RUNS), 200)
    .addOption(new Option('--strategy <list>', 'strategies the workloads draw from, or all').argParser(strategies).default([...STRATEGIES]))
    .addOption(new Option('--fs <fs>', 'filesystem').choices([...FS_VARIANT_NAMES]).default('ext4'))
    .option('--from <dir>', 'fuzz existing recordings (e.g. test/fixtures/recordings) instead of recording', recordingsOption('--from'))
    .option('--no-save', 'do not save a failing state as a regression fixture')
    // Not parsed as a directory here: with --target exec it is the target's check command.
    .option('--check <dir>', 'check every crash state of the recordings under dir, with coverage and states/s (with --target exec: the check command)')
    .option('--recording <dir>', 'with --state: check one state of this recording', recordingsOption('--recording', true))
    .option('--state <id>', 'a state id (prefix@N, eK/subset/A,B, eK/torn/E@BYTES)')
    .option('--jobs <n>', `crash states checked at once, 1-${MAX_JOBS} (default: the number of CPUs)`, intOption('--jobs', 1, MAX_JOBS), availableParallelism())
    .option('--store <dir>', 'with --check: keep each judged state here; a repeated or interrupted run skips what it holds', pathOption(writableDir, '--store'))
    .option('--shard <I/N>', 'with --check: check only part I of N of every recording (merge the stores with pnpm fuzz merge)', shardOption)
    .option('--json <file>', 'with --check: also write the report as JSON', pathOption(writableFile, '--json'))
    .addOption(
      new Option('--target <name>', "fuzz a target's recordings instead of the WAL's (docs/crash/targets.md)").choices([
        ...BUILTIN_TARGETS.map((t) => t.name),
        'exec',
      ]),
    )
    .option('--settings <list>', "with --target: the target's settings the recordings cycle through (comma-separated, or all)")
    .option('--run <cmd>', 'with --target exec: the program (as for crashtest --target exec)')
    .option('--promise <p>', 'with --target exec: durable | window:MS | last:N | none (default durable)')
    .exitOverride()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .action((opts: Opts) => {
      run = fuzz(opts);
    });
  const usage = parseArgs(program, argv);
  if (usage !== undefined) return usage;
  return run ?? 2;
}

exitWith('fuzz', main(process.argv.slice(2)), [CrashError, DeviceError]);
