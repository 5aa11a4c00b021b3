import { cpSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { stateFromId, type CrashState, type LogIndex } from '../../dm/log-writes/index.js';
import { CleanupStack, type FsVariantName } from '../../dm/index.js';
import type { Strategy } from '../../workload/events.js';
import { PROJECT_ROOT } from '../bundle.js';
import { checkRecording, OpenRecording, StateChecker } from './check-states.js';
import type { StateResult } from './check-report.js';
import { againstExpectation, asExpected, type ExpectedOutcome } from './expected-verdict.js';
import { readRecordingMeta } from '../record/session.js';
import { stateCommands } from '../record/mode.js';
import { recordAll } from '../record/record-all.js';
import { resolveChoice, specOf, stateChoiceArb, stateSpace, workloadArb, type StateChoice, type StateSpace } from './fuzz-space.js';
import { CrashError } from '../crash-error.js';
import { strategyFileLabel } from '../../strategy/index.js';

// `pnpm fuzz`: recording is the expensive step (a microVM run under TCG, ~20 s each), checking a
// state the cheap one (one loop mount on the host, ~80 ms). So the fuzzer records a BOUNDED number
// of generated workloads, all in one VM boot (or takes existing recordings with --from), and then
// runs fast-check over crash-state choices across them. A failing state shrinks to a minimal one
// (first recording, first epoch, fewest surviving writes, earliest tear), is printed with the seed
// and the commands to look at it again, and is saved as a regression fixture.

export const REGRESSIONS_DIR = path.join(PROJECT_ROOT, 'test', 'fixtures', 'recordings', 'regressions');

export interface FuzzOptions {
  seed: number;
  /** Workloads to record (ignored with `from`). */
  recordings: number;
  /** State choices to check. */
  runs: number;
  strategies: readonly Strategy[];
  fs: FsVariantName;
  /** Use the recordings under this directory (each a dir with meta.json) instead of recording. */
  from?: string;
  /** Where new recordings go. */
  outRoot: string;
  /** Save a failing state as a regression fixture here (null: do not save). */
  regressionsDir: string | null;
  /** Crash states checked at once (default 1). */
  jobs?: number;
  log: (line: string) => void;
}

/** A recording meant to be caught (meta.expected), checked apart from the fuzzed ones. */
export interface ExpectedCheck {
  recording: string;
  outcome: ExpectedOutcome;
}

export type FuzzResult =
  | { status: 'held'; recordings: string[]; runs: number; unmountable: number; statesPerSecond: number; expected: ExpectedCheck[] }
  /** A recording meant to be caught held in every persistence point: the checks lost their power. */
  | { status: 'missed'; recordings: string[]; expected: ExpectedCheck[] }
  | {
      status: 'violated';
      recordings: string[];
      seed: number;
      path: string;
      recording: string;
      state: StateResult;
      commands: string[];
      savedAs: string | null;
    };

/** Recording directories under `root` (itself, or its subdirectories with a meta.json). */
export function findRecordings(root: string): string[] {
  if (existsSync(path.join(root, 'meta.json'))) return [root];
  if (!existsSync(root)) throw new CrashError('BAD_OPTION', `${root} does not exist`);
  return readdirSync(root, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(path.join(root, d.name, 'meta.json')))
    .map((d) => path.join(root, d.name))
    .sort();
}

async function makeRecordings(options: FuzzOptions): Promise<string[]> {
  if (options.from !== undefined) return findRecordings(path.resolve(options.from));
  const choices = fc.sample(workloadArb(options.strategies), { seed: options.seed, numRuns: options.recordings });
  const specs = choices.map((c, i) => specOf(c, `fuzz-${options.seed}-${i}-${strategyFileLabel(c.strategy, c.groupCommit)}`, options.fs));
  options.log(`fuzz: recording ${specs.length} generated workloads (one microVM boot)`);
  const { outcomes, wallMs } = await recordAll(specs, options.outRoot, { onLine: (l) => options.log(`  recorded ${l}`) });
  const failed = outcomes.find((o) => o.status === 'failed');
  if (failed?.status === 'failed') throw new CrashError('RECORD_FAILED', `recording ${failed.name} failed: ${failed.message}`);
  options.log(`fuzz: ${specs.length} recordings in ${(wallMs / 1000).toFixed(0)} s`);
  return specs.map((s) => path.join(options.outRoot, s.name));
}

/** One recording as the fuzzer draws states of it: its log, state space, and how a state is judged. */
export interface FuzzSubject<R> {
  index: LogIndex;
  space: StateSpace;
  check(state: CrashState): Promise<R>;
  checkEach(states: readonly CrashState[], onResult: (result: R, position: number) => void): Promise<number>;
}

interface Open extends FuzzSubject<StateResult> {
  rec: OpenRecording;
  checker: StateChecker;
}

// A recording meant to be caught would fail the property on its first state, and fast-check would
// report that as the result: it is checked on its own instead (its persistence points, which is
// where the committed one is caught), and must be caught.
async function checkExpected(dirs: readonly string[], log: (line: string) => void): Promise<ExpectedCheck[]> {
  const checks: ExpectedCheck[] = [];
  for (const dir of dirs) {
    const report = await checkRecording(dir, { enumerate: { prefixOnly: true } });
    const outcome = againstExpectation(report.meta, report.violatedStates > 0);
    log(
      `fuzz: ${dir} is meant to be caught (${report.meta.expected?.why ?? ''}): ${outcome.status} in ${report.violatedStates} of ${report.checked} persistence points`,
    );
    checks.push({ recording: dir, outcome });
  }
  return checks;
}

// fast-check runs a property one value at a time; the values of a seeded run are known ahead
// (fc.sample with the same seed draws them), so they are checked first with every job busy, each
// recording's states in the order of their base image (it only moves forward), and the property
// then reads the results. A state fast-check draws beyond them (while shrinking) is checked then.
// A state's result depends on the state alone, so the verdicts are those of one job.
async function checkAhead<R>(open: readonly FuzzSubject<R>[], choices: readonly StateChoice[], results: Map<string, R>, key: (c: StateChoice) => string) {
  for (const [n, o] of open.entries()) {
    const mine = choices
      .filter((c) => c.recording % open.length === n)
      .map((choice) => ({ choice, state: resolveChoice(o.index, o.space, choice) }))
      .sort((a, b) => a.state.base - b.state.base);
    await o.checkEach(
      mine.map((m) => m.state),
      (result, position) => results.set(key((mine[position] as (typeof mine)[number]).choice), result),
    );
  }
}

/** What fast-check made of the state choices: held, or the minimal failing state it shrank to. */
export type FuzzOutcome<R> =
  { failed: false; runs: number; unmountable: number; statesPerSecond: number } | { failed: true; seed: number; path: string; subject: number; result: R };

/**
 * fast-check over crash-state choices across `open` (each a recording), `runs` of them from
 * `seed`; a state `violated` fails the property and is shrunk to a minimal one.
 */
export async function fuzzStates<R>(
  open: readonly FuzzSubject<R>[],
  seed: number,
  runs: number,
  violated: (r: R) => boolean,
  unmountable: (r: R) => boolean,
): Promise<FuzzOutcome<R>> {
  let checked = 0;
  let unmountableStates = 0;
  const started = Date.now();
  const last = new Map<string, R>();
  const key = (c: StateChoice) => JSON.stringify(c);
  const judge = async (choice: StateChoice): Promise<R> => {
    const o = open[choice.recording % open.length] as FuzzSubject<R>;
    return last.get(key(choice)) ?? (await o.check(resolveChoice(o.index, o.space, choice)));
  };
  await checkAhead(open, fc.sample(stateChoiceArb(), { seed, numRuns: runs }), last, key);
  const details = await fc.check(
    fc.asyncProperty(stateChoiceArb(), async (choice) => {
      const result = await judge(choice);
      checked++;
      if (unmountable(result)) unmountableStates++;
      last.set(key(choice), result);
      return !violated(result);
    }),
    { seed, numRuns: runs, endOnFailure: false },
  );
  if (!details.failed || details.counterexample === null)
    return { failed: false, runs: checked, unmountable: unmountableStates, statesPerSecond: checked / ((Date.now() - started) / 1000) };
  const [choice] = details.counterexample;
  return { failed: true, seed: details.seed, path: details.counterexamplePath ?? '', subject: choice.recording % open.length, result: await judge(choice) };
}

/** Run the fuzzer; never throws for a WAL verdict (that is the result), only for harness problems. */
export async function runFuzz(options: FuzzOptions): Promise<FuzzResult> {
  const all = await makeRecordings(options);
  const meantToBeCaught = all.filter((dir) => readRecordingMeta(dir).expected !== undefined);
  const dirs = all.filter((dir) => !meantToBeCaught.includes(dir));
  const expected = await checkExpected(meantToBeCaught, options.log);
  if (!expected.every((e) => asExpected(e.outcome))) return { status: 'missed', recordings: all, expected };
  if (dirs.length === 0)
    throw new CrashError('BAD_OPTION', meantToBeCaught.length > 0 ? 'no recordings to fuzz besides those meant to be caught' : 'no recordings to fuzz');
  const stack = new CleanupStack();
  const open: Open[] = [];
  try {
    for (const dir of dirs) {
      const rec = new OpenRecording(dir, stack);
      const mkfs = rec.index.markEntries().find((m) => m.label === 'mkfs');
      if (mkfs === undefined) throw new CrashError('BAD_RECORDING', `${dir}: the log has no mkfs mark`);
      const checker = new StateChecker(rec, stack, 'sampled', options.jobs ?? 1);
      open.push({
        rec,
        checker,
        index: rec.index,
        space: stateSpace(rec.index, mkfs.index),
        check: (state) => checker.check(state),
        checkEach: (states, onResult) => checker.checkEach(states, onResult),
      });
    }
    const outcome = await fuzzStates(
      open,
      options.seed,
      options.runs,
      (r) => r.status === 'violated',
      (r) => r.status === 'unmountable',
    );
    if (!outcome.failed)
      return { status: 'held', recordings: dirs, runs: outcome.runs, unmountable: outcome.unmountable, statesPerSecond: outcome.statesPerSecond, expected };
    const o = open[outcome.subject] as Open;
    const state = outcome.result;
    const details = { seed: outcome.seed, counterexamplePath: outcome.path };
    const dir = o.rec.dir;
    let savedAs: string | null = null;
    if (options.regressionsDir !== null) {
      savedAs = path.join(options.regressionsDir, `${path.basename(dir)}-${state.id.replace(/[^A-Za-z0-9@-]+/g, '_')}`);
      mkdirSync(savedAs, { recursive: true });
      for (const f of ['log.bin.gz', 'events.jsonl', 'meta.json']) cpSync(path.join(dir, f), path.join(savedAs, f));
      // A deliberately wrong writer must stay caught; a real WAL bug must stay fixed.
      const expect = o.rec.meta.spec.claimStrategy !== null ? 'violated' : 'held';
      writeFileSync(
        path.join(savedAs, 'regression.json'),
        `${JSON.stringify({ stateId: state.id, expect, seed: details.seed, path: details.counterexamplePath, reasons: state.reasons }, null, 2)}\n`,
      );
    }
    return {
      status: 'violated',
      recordings: dirs,
      seed: details.seed,
      path: details.counterexamplePath,
      recording: dir,
      state,
      commands: stateCommands(savedAs ?? dir, state.id),
      savedAs,
    };
  } finally {
    for (const o of open) o.checker.close();
    await stack.unwind();
    for (const o of open) o.rec.close();
  }
}

/** Check one named state of one recording (the command a failure prints). */
export async function checkOneState(dir: string, stateId: string): Promise<StateResult> {
  const stack = new CleanupStack();
  const rec = new OpenRecording(dir, stack);
  const checker = new StateChecker(rec, stack);
  try {
    let state;
    try {
      state = stateFromId(rec.index, stateId);
    } catch (error) {
      throw new CrashError('BAD_OPTION', (error as Error).message, { cause: error });
    }
    return await checker.check(state);
  } finally {
    checker.close();
    await stack.unwind();
    rec.close();
  }
}
