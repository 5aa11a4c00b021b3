import { readFileSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { PROJECT_ROOT } from '../bundle.js';
import { checkRecording } from '../explore/check-states.js';
import type { CheckReport } from '../explore/check-report.js';
import type { EnumerateOptions } from '../../dm/log-writes/index.js';
import { CrashError } from '../crash-error.js';
import { startRecording } from './pipeline.js';
import type { RecordSpec } from './session.js';
import type { Reporter } from '../reporter.js';
import { replayCommand, type RunOptions } from '../options.js';
import { buildResults, type RunResults, type TrialError } from '../results.js';
import type { WalTrialOutcome } from '../outcome.js';
import { ARTIFACT_FILES, artifactName, saveRecordingArtifacts } from '../artifacts.js';
import type { Scenario } from '../plan/scenario.js';
import { recordableScenarios } from '../plan/recordable.js';
import { strategyFileLabel } from '../../strategy/index.js';
import { planTrial } from '../plan/trial-plan.js';

// crashtest --mode log-writes: every trial is one RECORDING (the writer on a dm-log-writes device,
// a mark after each promise; made in the microVM unless this kernel has the target, all trials of
// a run in one boot), and every crash state of it is checked HERE, where loop mounts run at native
// speed (check-states.ts). A trial is violated when any of its states is. The scenario gives the
// workload shape (segment size, payloads, writers, truncates); its trigger is irrelevant, since
// every moment of the run is a crash state.

/** Appends per recording: every ack is a mark and every state is mounted, so runs stay short. */
export const RECORD_ENTRIES = 24;

// A recording of hundreds of appends has hundreds of epochs: the full enumeration (every subset
// of small epochs, 64 random subsets and 64 tears per epoch) would mount tens of thousands of
// states. Such a recording is there for what its length reaches (rotation into recycled segments,
// many syncs under load), and per epoch the states that show a promise made too early or a stale
// entry are few: the empty and full subsets (none or all of the cached writes), one random one
// and one tear. Measured: a 400-append periodic recording (270 epochs) took 9 min on a loaded
// 2-CPU machine with 2 random subsets and 2 tears per epoch; the default run has 10 min in all.
const LONG_RECORDING_ENUMERATION: EnumerateOptions = { exhaustiveLimit: 1, randomSubsets: 1, tearsPerWrite: 1, tornPerEpoch: 1 };

/** How the states of a recording of `entries` appends are enumerated. */
export function enumerationFor(entries: number, budget: RunOptions['stateBudget'] = 'by-length'): EnumerateOptions {
  return budget === 'lean' || entries > RECORD_ENTRIES ? LONG_RECORDING_ENUMERATION : {};
}

/** The spec of one trial's recording (the same seed gives the same workload). */
export function trialSpec(options: RunOptions, strategy: RecordSpec['strategy'], index: number, scenarios: readonly Scenario[]): RecordSpec {
  const plan = planTrial(options.seed, index, strategy, options.groupCommit, scenarios);
  return {
    name: `${strategyFileLabel(strategy, options.groupCommit)}-trial-${index}`,
    strategy,
    groupCommit: options.groupCommit,
    claimStrategy: null,
    fs: options.fs,
    seed: plan.trialSeed,
    scenario: plan.scenario,
    workload: { ...plan.workload, maxEntries: plan.recordEntries ?? RECORD_ENTRIES },
    markMethod: 'ioctl',
    publishMarks: true,
  };
}

/** How to look at one failing state again. */
export function stateCommands(dir: string, stateId: string): string[] {
  return [
    `pnpm fuzz --recording ${dir} --state '${stateId}'`,
    `gunzip -k ${dir}/log.bin.gz && pnpm replay --log ${dir}/log.bin --to state '${stateId}' --out state.img`,
  ];
}

function trialOutcome(spec: RecordSpec, index: number, trialSeed: number, report: CheckReport, recordMs: number): WalTrialOutcome {
  const rep = report.representative;
  if (rep === null)
    throw new CrashError(
      'TRIAL_SETUP_FAILED',
      `${spec.name}: no crash state could be judged (${report.checked} states, ${report.unmountableStates} unmountable)`,
    );
  const cov = report.coverage;
  const notes = [
    `${report.checked} crash states checked at ${report.statesPerSecond.toFixed(1)} states/s` +
      (cov
        ? ` (${cov.epochs} epochs, ${cov.prefixStates} prefix, ${cov.subsetStates} subset, ${cov.tornStates} torn, ${cov.duplicatesSkipped} duplicates skipped)`
        : '') +
      `, ${report.secondLives} with a second life`,
  ];
  if (report.fsFailedStates > 0)
    notes.push(
      `${report.fsFailedStates} of ${report.checked} crash states lost data because fsck had to repair the ${spec.fs} image first (the filesystem's failure; first: ${report.fsFailures[0]?.id})`,
    );
  if (report.unmountableStates > 0)
    notes.push(`${report.unmountableStates} states the ${spec.fs} filesystem itself refused to mount (first: ${report.unmountable[0]?.id})`);
  const first = report.violations[0];
  const firstFs = report.fsFailures[0];
  const reasons =
    first !== undefined
      ? [
          `${report.violatedStates} of ${report.checked} crash states violated; first ${first.id} (${first.lastMark ?? 'no mark'} visible): ${first.reasons.join('; ')}`,
        ]
      : firstFs !== undefined
        ? [
            `${report.fsFailedStates} of ${report.checked} crash states lost data to the filesystem; first ${firstFs.id} (${firstFs.lastMark ?? 'no mark'} visible): ${firstFs.reasons.join('; ')}`,
          ]
        : [];
  return {
    mode: 'log-writes',
    strategy: spec.strategy,
    groupCommit: spec.groupCommit,
    scenario: spec.scenario,
    index,
    trialSeed,
    status: report.violatedStates > 0 ? 'violated' : report.fsFailedStates > 0 ? 'fs-failed' : 'held',
    reasons,
    notes,
    verdict: rep.verdict,
    recovery: {
      status: rep.recovery.status,
      entries: rep.recovery.entries,
      ...(rep.recovery.code ? { code: rep.recovery.code } : {}),
      corruption: rep.recovery.corruption ? { code: rep.recovery.corruption.split(':')[0] ?? '', message: rep.recovery.corruption } : null,
    },
    durationMs: Math.round(report.timings.totalMs + recordMs),
    timeline: [
      { atMs: 0, what: `recorded ${report.meta.entries} log entries, ${report.meta.marks} marks` },
      { atMs: Math.round(recordMs), what: `checked ${report.checked} states, ${report.violatedStates} violated` },
    ],
    artifactDir: null,
  };
}

/** Record every trial (one VM boot), then check all crash states of each on this host. */
export async function runLogWritesMode(options: RunOptions, reporter: Reporter, inVm: boolean): Promise<RunResults<WalTrialOutcome>> {
  const started = Date.now();
  const startedAt = new Date(started).toISOString();
  const runId = `${startedAt.replace(/[:.]/g, '-')}-seed${options.seed}`;
  const scenarios = recordableScenarios(options);
  const indices = options.onlyTrial === undefined ? Array.from({ length: options.trials }, (_, i) => i) : [options.onlyTrial];
  const jobs = options.strategies.flatMap((strategy) => indices.map((index) => ({ index, spec: trialSpec(options, strategy, index, scenarios) })));
  const recordRoot = path.join(PROJECT_ROOT, 'results', 'crashtest', `.recordings-${runId}`);
  reporter.begin(jobs.length);
  const trials: WalTrialOutcome[] = [];
  // A recording that failed, or whose states could not be judged, is reported and the run goes
  // on: the verdicts of the other recordings stand (a violation shown elsewhere is still caught).
  const errors: TrialError[] = [];
  const failed = (job: (typeof jobs)[number], reason: string): void => {
    errors.push({ strategy: job.spec.strategy, groupCommit: job.spec.groupCommit, scenario: job.spec.scenario, index: job.index, reason });
    reporter.note(`ERROR ${job.spec.name} (${job.spec.scenario}): no verdict: ${reason}`);
  };
  let kernel = '';
  let recordedInVm = inVm;
  // Each recording is checked here as soon as the microVM has made it, while it makes the next;
  // with stopAtViolation the microVM is stopped at the first violated recording.
  const pipeline = startRecording(
    jobs.map((j) => j.spec),
    recordRoot,
    { onLine: (line) => reporter.note(`recorded ${line}`) },
  );
  const recording = pipeline.done.catch((error: unknown) => {
    if (error instanceof CrashError)
      throw new CrashError(error.code === 'NO_DEVICE_MAPPER' ? 'NO_DEVICE_MAPPER' : 'TRIAL_SETUP_FAILED', error.message, { cause: error });
    throw error;
  });
  // Awaited when the recorder ends without an outcome, and at the end of the loop.
  recording.catch(() => undefined);
  try {
    reporter.note(`recording ${jobs.length} runs on dm-log-writes (acks and watermarks marked by the native core where it publishes them)`);
    let position = 0;
    for (const [n, job] of jobs.entries()) {
      position++;
      const outcomeMade = await pipeline.outcome(n);
      if (outcomeMade === undefined) await recording; // the recorder failed: its error is the run's
      if (outcomeMade === undefined || outcomeMade.status === 'failed') {
        failed(job, `the recording failed: ${outcomeMade?.status === 'failed' ? outcomeMade.message : 'no outcome'}`);
        continue;
      }
      kernel = outcomeMade.meta.kernel;
      const dir = path.join(recordRoot, job.spec.name);
      let report: CheckReport;
      let outcome: WalTrialOutcome;
      try {
        report = await checkRecording(dir, {
          enumerate: enumerationFor(job.spec.workload.maxEntries ?? RECORD_ENTRIES, options.stateBudget),
          jobs: options.stateJobs ?? availableParallelism(),
        });
        outcome = trialOutcome(job.spec, job.index, job.spec.seed, report, outcomeMade.meta.durationMs);
      } catch (error) {
        if (!(error instanceof CrashError)) throw error;
        failed(job, error.message);
        continue;
      }
      let artifactDir: string | null = null;
      if (report.violatedStates > 0 || report.fsFailedStates > 0) {
        const saveTo = path.join(options.artifactsRoot, runId, artifactName(outcome));
        saveRecordingArtifacts(saveTo, {
          outcome,
          recording: dir,
          rawEvents: readFileSync(path.join(dir, 'events.jsonl'), 'utf8'),
          checked: report.checked,
          violatedStates: report.violatedStates,
          states: [...report.violations, ...report.fsFailures].map((v) => ({
            id: v.id,
            status: v.status === 'fs-failed' ? ('fs-failed' as const) : ('violated' as const),
            ...(v.fsck ? { fsck: v.fsck } : {}),
            lastMark: v.lastMark,
            reasons: v.reasons,
            commands: stateCommands(path.join(saveTo, ARTIFACT_FILES.recording), v.id),
          })),
          commands: { run: options.command, replay: replayCommand(options, job.spec.strategy, job.index) },
        });
        artifactDir = saveTo;
      }
      const finished = { ...outcome, artifactDir };
      trials.push(finished);
      reporter.trial(finished, { position, total: jobs.length });
      if (options.stopAtViolation === true && finished.status === 'violated') break;
    }
    recordedInVm = inVm || (await recording).placement.where === 'vm';
  } finally {
    // A check that threw, or a violation under --fail-fast, leaves the microVM nothing to record for.
    await pipeline.close();
    reporter.end();
    rmSync(recordRoot, { recursive: true, force: true });
  }
  return buildResults({
    startedAt,
    durationMs: Date.now() - started,
    mode: 'log-writes',
    fs: options.fs,
    seed: options.seed,
    command: options.command,
    kernel: { release: kernel, inVm: recordedInVm },
    trials,
    errors,
  });
}
