import { randomInt } from 'node:crypto';
import path from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { PROJECT_ROOT } from '../project-root.js';
import { CrashError } from '../crash/index.js';
import {
  againstExpectation,
  asExpected,
  checkOneState,
  checkRecording,
  findRecordings,
  REGRESSIONS_DIR,
  runFuzz,
  type CheckReport,
} from '../crash/explore/index.js';
import { DeviceError, FS_VARIANT_NAMES, type FsVariantName } from '../dm/index.js';
import { parseStrategyList, STRATEGIES, type Strategy } from '../strategy/index.js';
import { watchLaunchers } from './launcher-watch.js';
import { exitWith, intOption, parseArgs } from './parse-args.js';
import { existingDir } from './path-checks.js';
import { reapEarlierRuns } from './reap-earlier-runs.js';

// sudo pnpm fuzz [--seed S] [--recordings N] [--runs M] [--strategy LIST] [--fs ext4|xfs|btrfs] [--from DIR] [--no-save]
// sudo pnpm fuzz --check DIR                   every crash state of the recordings under DIR
// sudo pnpm fuzz --recording DIR --state ID    one state again (the command a failure prints)
// Exit: 0 held, 1 a state violated the contract, 2 usage or environment error.

// Stated bounds: a recording costs about 20 s of microVM time, a checked state about 80 ms.
const MAX_RECORDINGS = 1000;
const MAX_RUNS = 10_000_000;
const MAX_SEED = 2 ** 31 - 1;

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
}

function printReport(r: CheckReport): void {
  const c = r.coverage;
  const out = process.stdout;
  out.write(
    `${r.recording}: ${r.meta.writer.strategy}${r.meta.spec.claimStrategy ? ` claiming ${r.meta.spec.claimStrategy}` : ''} on ${r.meta.spec.fs}, ${r.meta.entries} log entries, ${r.meta.marks} marks\n`,
  );
  if (c)
    out.write(
      `  coverage: ${c.epochs} epochs (${c.exhaustiveEpochs} exhaustive, ${c.sampledEpochs} sampled), ${c.persistencePoints} persistence points; states ${c.states} = ${c.prefixStates} prefix + ${c.subsetStates} subset + ${c.tornStates} torn; ${c.duplicatesSkipped} duplicates skipped, ${c.tornNotSampled} tears not sampled\n`,
    );
  const t = r.timings;
  out.write(
    `  ${r.checked} states in ${(t.totalMs / 1000).toFixed(1)} s = ${r.statesPerSecond.toFixed(1)} states/s (materialise ${(t.materialiseMs / 1000).toFixed(1)} s, mount+umount ${(t.mountMs / 1000).toFixed(1)} s, recover ${(t.recoverMs / 1000).toFixed(1)} s, judge ${(t.judgeMs / 1000).toFixed(1)} s); replay ${(r.replayBytes / 2 ** 20).toFixed(1)} MiB at ${r.replayMBps.toFixed(0)} MB/s\n`,
  );
  if (r.unmountableStates > 0) out.write(`  ${r.unmountableStates} states the filesystem refused to mount (first ${r.unmountable[0]?.id})\n`);
  const outcome = againstExpectation(r.meta, r.violatedStates > 0);
  const verdictLine = {
    held: 'held in every state',
    violated: `VIOLATED in ${r.violatedStates} states`,
    'caught-as-expected': `violated in ${r.violatedStates} states, AS EXPECTED (${r.meta.expected?.why ?? ''})`,
    missed: `MISSED: meant to be caught (${r.meta.expected?.why ?? ''}) but held in every state`,
  }[outcome.status];
  out.write(`  ${verdictLine}\n`);
  for (const v of r.violations.slice(0, 5)) out.write(`    ${v.id} (${v.lastMark ?? 'no mark'} visible): ${v.reasons.join('; ')}\n`);
}

async function fuzz(o: Opts): Promise<number> {
  if ((o.recording === undefined) !== (o.state === undefined)) throw new CrashError('BAD_OPTION', '--recording and --state go together');
  await reapEarlierRuns('fuzz');
  if (o.recording !== undefined && o.state !== undefined) {
    const r = await checkOneState(o.recording, o.state);
    process.stdout.write(`${o.state}: ${r.status}${r.reasons.length ? `: ${r.reasons.join('; ')}` : ''} (${r.lastMark ?? 'no mark'} visible)\n`);
    return r.status === 'violated' ? 1 : 0;
  }
  if (o.check !== undefined) {
    // Exit 1 on any surprise: a violation of a recording that must hold, or a recording meant to
    // be caught (meta.expected) that held.
    let surprise = false;
    for (const dir of findRecordings(o.check)) {
      const report = await checkRecording(dir);
      printReport(report);
      surprise ||= !asExpected(againstExpectation(report.meta, report.violatedStates > 0));
    }
    return surprise ? 1 : 0;
  }
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

async function main(argv: string[]): Promise<number> {
  watchLaunchers();
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
    .option('--check <dir>', 'check every crash state of the recordings under dir, with coverage and states/s', recordingsOption('--check'))
    .option('--recording <dir>', 'with --state: check one state of this recording', recordingsOption('--recording', true))
    .option('--state <id>', 'a state id (prefix@N, eK/subset/A,B, eK/torn/E@BYTES)')
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
