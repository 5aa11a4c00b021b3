import { coverageOf, type Coverage } from './coverage.js';
import { CrashError } from './crash-error.js';
import { runInMicroVm } from './vm-handoff.js';
import { runMode } from './modes.js';
import { choosePlacement } from './placement.js';
import type { CrashMode, RunOptions } from './options.js';
import type { Reporter } from './reporter.js';
import type { RunResults } from './results.js';
import type { WalTrialOutcome } from './outcome.js';
import type { RowVerdict } from './summary.js';
import { recordableScenarios } from './plan/recordable.js';
import { SCENARIOS } from './plan/registry.js';
import { PROJECT_ROOT } from '../project-root.js';
import { strategyLabel, type Strategy } from '../strategy/index.js';
import path from 'node:path';

// What `crashtest --strategy S` runs without --mode: both checks, because each catches classes
// the other cannot (docs/crash/detection.md). Power cuts (dm-flakey) reach write errors, a
// transient EIO that a retried fdatasync would hide, a second life after a real cut, and the
// missing directory fsync; recorded crash states (dm-log-writes) reach promises made before
// their sync, writes left in the volatile cache, torn writes, and (on the host) a second life on
// those states. One microVM boot for all power cuts, one for all recordings. This is also the
// entry point of the self-test: it returns a verdict per check.

/** One check of the default run and what it found. */
export interface CheckOutcome {
  check: CrashMode;
  verdict: RowVerdict;
  trials: number;
  /** The violated trials: which scenario, and why (their artifacts are in results.trials). */
  violated: { strategy: string; scenario: string; index: number; reasons: string[] }[];
  /** The trials that could not be judged, and why (results.errors). */
  errors: string[];
  durationMs: number;
  results: RunResults<WalTrialOutcome>;
}

export interface DefaultRunResult {
  /** violated if any check is; else crash-not-real if any is; else error if a trial could not be judged; else held. */
  verdict: RowVerdict;
  checks: CheckOutcome[];
  /** Checks of the plan left out because an earlier one was violated (stopAtViolation: a check stops at its first violated trial, the run at its first violated check). */
  notRun: CrashMode[];
  coverage: Coverage;
  durationMs: number;
}

export interface DefaultRunOptions extends Omit<RunOptions, 'mode' | 'trials'> {
  /** Trials per strategy of each check; default one per scenario the check can run. */
  trials?: number;
  /** Run the power cuts in the microVM even if this kernel has dm-flakey. */
  forceVm?: boolean;
  /** Called before each check starts (progress for a terminal or a self-test). */
  onCheck?: (check: CrashMode, trials: number) => void;
}

/**
 * The options of `crashtest --strategy S [--group-commit]` with no --mode and no --trials, for a
 * caller that runs the default checks itself (the self-test): every scenario, ext4, the seed given.
 */
export function defaultRunOptions(strategy: Strategy, opts: { groupCommit?: boolean; seed: number; artifactsRoot?: string }): DefaultRunOptions {
  const groupCommit = opts.groupCommit ?? false;
  return {
    strategies: [strategy],
    groupCommit,
    scenarios: SCENARIOS,
    scenarioName: 'all',
    fs: 'ext4',
    seed: opts.seed,
    onlyTrial: undefined,
    artifactsRoot: opts.artifactsRoot ?? path.join(PROJECT_ROOT, 'results', 'crashtest'),
    command: `sudo pnpm crashtest --strategy ${strategy}${groupCommit ? ' --group-commit' : ''} --seed ${opts.seed}`,
    writerBundle: undefined,
  };
}

/** The label of a default run's strategy in its results (fdatasync+group under group commit). */
export function defaultRunLabel(options: Pick<DefaultRunOptions, 'strategies' | 'groupCommit'>): string {
  return options.strategies.map((s) => strategyLabel(s, options.groupCommit)).join(',');
}

/** Which checks a default run makes, and how many trials of each (one per usable scenario). */
export function defaultPlan(
  options: Pick<DefaultRunOptions, 'scenarios' | 'scenarioName' | 'seed' | 'trials'>,
): { check: CrashMode; trials: number; scenarios: RunOptions['scenarios'] }[] {
  const plan: { check: CrashMode; trials: number; scenarios: RunOptions['scenarios'] }[] = [
    { check: 'flakey', trials: options.trials ?? options.scenarios.length, scenarios: options.scenarios },
  ];
  let recorded: RunOptions['scenarios'] = [];
  try {
    recorded = recordableScenarios(options);
  } catch (error) {
    // Only scenarios that need a live device fault: the recorded check has nothing to run.
    if (!(error instanceof CrashError && error.code === 'BAD_OPTION')) throw error;
  }
  if (recorded.length > 0) plan.push({ check: 'log-writes', trials: options.trials ?? recorded.length, scenarios: recorded });
  return plan;
}

function worst(verdicts: readonly RowVerdict[]): RowVerdict {
  if (verdicts.includes('violated')) return 'violated';
  if (verdicts.includes('fs-failed')) return 'fs-failed';
  if (verdicts.includes('crash-not-real')) return 'crash-not-real';
  if (verdicts.includes('error')) return 'error';
  return 'held';
}

/** Run the default checks for `options.strategies`; never throws for a WAL verdict, only for harness problems. */
export async function runDefaultChecks(options: DefaultRunOptions, reporter: Reporter): Promise<DefaultRunResult> {
  const started = Date.now();
  const checks: CheckOutcome[] = [];
  const notRun: CrashMode[] = [];
  for (const step of defaultPlan(options)) {
    if (options.stopAtViolation === true && checks.some((c) => c.verdict === 'violated')) {
      notRun.push(step.check);
      continue;
    }
    const { forceVm, onCheck, trials: _trials, ...base } = options;
    const runOptions: RunOptions = { ...base, mode: step.check, trials: step.trials, scenarios: step.scenarios, stateBudget: 'lean' };
    onCheck?.(step.check, step.trials);
    const t0 = Date.now();
    let results: RunResults<WalTrialOutcome>;
    if (step.check === 'flakey') {
      const placement = await choosePlacement('flakey', forceVm ?? false);
      results = placement.where === 'vm' ? await runInMicroVm(runOptions, reporter) : await runMode(runOptions, reporter, false);
    } else {
      results = await runMode(runOptions, reporter, false);
    }
    checks.push({
      check: step.check,
      verdict: results.verdict,
      trials: results.trials.length,
      violated: results.trials
        .filter((t) => t.status === 'violated')
        .map((t) => ({ strategy: t.strategy, scenario: t.scenario, index: t.index, reasons: t.reasons })),
      errors: results.errors.map((e) => `${strategyLabel(e.strategy, e.groupCommit)} trial ${e.index} (${e.scenario}): ${e.reason}`),
      durationMs: Date.now() - t0,
      results,
    });
  }
  const coverage = coverageOf(checks.flatMap((c) => c.results.trials.map((t) => ({ mode: c.check, scenario: t.scenario }))));
  return { verdict: worst(checks.map((c) => c.verdict)), checks, notRun, coverage, durationMs: Date.now() - started };
}
