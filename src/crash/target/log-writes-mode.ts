import { readFileSync, rmSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { selectionOf } from './selection.js';
import { CleanupStack } from '../../dm/index.js';
import type { TargetSelection } from '../../targets/registry.js';
import { ARTIFACT_FILES, artifactName, saveRecordingArtifacts } from '../artifacts.js';
import { PROJECT_ROOT } from '../bundle.js';
import { CrashError } from '../crash-error.js';
import { trialIndices, type RunOptions } from '../options.js';
import type { TargetTrialOutcome } from '../outcome.js';
import { trialSeed } from '../plan/trial-plan.js';
import { startRecording, type RecordPipeline } from '../record/pipeline.js';
import { stateCommands } from '../record/mode.js';
import type { Reporter } from '../reporter.js';
import { buildResults, type RunResults } from '../results.js';
import { formatPromise } from '../../targets/contract.js';
import { bundleTargetProgram, checkTargetRecording, type TargetCheckReport } from './check-states.js';
import { targetReplayCommand } from './mode.js';
import type { TargetRecordingMeta, TargetRecordSpec } from './recording.js';

// `crashtest --target T --mode log-writes`: each trial is one RECORDING of the target's program on
// dm-log-writes with a mark after every acknowledgement (record.ts; all trials of a run in one
// microVM boot where this kernel lacks the target), and every crash state of it is checked HERE
// (check-states.ts), where loop mounts and the check's processes run at native speed. A trial is
// violated when any of its states is; its verdict is the state that speaks for it.

/** Acknowledgements per recording (unless the target says otherwise): every one is a mark, and each state runs the target's check. */
export const TARGET_RECORD_ACKS = 16;
/**
 * A window promise's recording runs on until its acknowledgements span this many windows: one
 * that ends inside its window never tests it (16 postgres commits with synchronous_commit off
 * took 234 ms in the microVM, its window is 600 ms; on a machine with device-mapper of its own
 * they come faster still).
 */
export const TARGET_RECORD_WINDOWS = 4;

/** The recording spec of one trial of one setting (the same seed gives the same workload). */
export function targetRecordSpec(options: Pick<RunOptions, 'fs' | 'seed'>, selection: TargetSelection, setting: string, index: number): TargetRecordSpec {
  const t = selection.target.name;
  const promise = selection.settings.find((s) => s.name === setting)?.contract.promise;
  return {
    kind: 'target',
    name: `${t}-${setting.replace(/[^A-Za-z0-9._-]+/g, '-')}-trial-${index}`,
    target: { name: t, settings: [setting], setting, ...(selection.exec ? { exec: selection.exec } : {}) },
    fs: options.fs,
    seed: trialSeed(options.seed, index),
    acks: selection.target.recordAcks ?? TARGET_RECORD_ACKS,
    ...(promise?.kind === 'window' ? { minSpanMs: TARGET_RECORD_WINDOWS * promise.ms } : {}),
  };
}

function outcomeOf(spec: TargetRecordSpec, selection: TargetSelection, index: number, report: TargetCheckReport, recordMs: number): TargetTrialOutcome {
  const rep = report.representative;
  if (rep === null)
    throw new CrashError(
      'TRIAL_SETUP_FAILED',
      `${spec.name}: no crash state could be judged (${report.checked} states, ${report.unmountableStates} unmountable)`,
    );
  const setting = selection.settings.find((s) => s.name === spec.target.setting) ?? selection.settings[0];
  if (setting === undefined) throw new Error(`no setting ${spec.target.setting}`);
  const cov = report.coverage;
  const notes = [
    `${report.checked} crash states checked at ${report.statesPerSecond.toFixed(1)} states/s (${cov.epochs} epochs, ${cov.prefixStates} prefix, ${cov.subsetStates} subset, ${cov.tornStates} torn)`,
  ];
  const acks = report.meta.markStats.marks;
  if (setting.contract.promise.kind === 'window' && acks > 1) {
    // Whether the recording could test the window at all: only an acknowledgement older than the
    // window at a state's last visible mark is required to survive.
    notes.push(`${acks} acknowledgements over ${report.acksSpanMs} ms (the window: ${setting.contract.promise.ms} ms)`);
  }
  if (report.allowedLossStates > 0)
    notes.push(
      `${report.allowedLossStates} of ${report.checked} states lost acknowledged keys the promise (${formatPromise(setting.contract.promise)}) allows`,
    );
  if (report.unmountableStates > 0) notes.push(`${report.unmountableStates} states the ${spec.fs} filesystem itself refused to mount`);
  if (report.meta.shortBecause !== null) notes.push(`recording cut short: ${report.meta.shortBecause}`);
  if (rep.verdict.corruption !== null && setting.contract.mayCorrupt) notes.push(`damaged, which the contract allows: ${rep.verdict.corruption}`);
  const first = report.violations[0];
  return {
    mode: 'log-writes',
    scenario: 'recorded',
    index,
    trialSeed: spec.seed,
    status: report.violatedStates > 0 ? 'violated' : 'held',
    reasons:
      first === undefined
        ? []
        : [
            `${report.violatedStates} of ${report.checked} crash states violated; first ${first.id} (${first.lastMark ?? 'no mark'} visible): ${first.reasons.join('; ')}`,
          ],
    notes,
    durationMs: Math.round(report.timings.totalMs + recordMs),
    timeline: [
      { atMs: 0, what: `recorded ${report.meta.entries} log entries, ${report.meta.marks} marks (${report.meta.markStats.marks} acknowledgements)` },
      { atMs: Math.round(recordMs), what: `checked ${report.checked} states, ${report.violatedStates} violated` },
    ],
    artifactDir: null,
    target: {
      name: selection.target.name,
      setting: setting.name,
      contract: setting.contract,
      verdict: rep.verdict,
      run: report.meta.commands.run,
      check: report.meta.commands.check,
      states: report.checked,
    },
  };
}

/** Record every trial of every setting (one VM boot), checking all crash states of each on this host as it is made. */
export async function runTargetLogWritesMode(options: RunOptions, reporter: Reporter, forceVm: boolean): Promise<RunResults<TargetTrialOutcome>> {
  const run = options.target;
  if (run === undefined) throw new Error('runTargetLogWritesMode needs options.target');
  const selection = selectionOf(run);
  const started = Date.now();
  const startedAt = new Date(started).toISOString();
  const runId = `${startedAt.replace(/[:.]/g, '-')}-seed${options.seed}`;
  const jobs = selection.settings.flatMap((setting) =>
    trialIndices(options).map((index) => ({ index, spec: targetRecordSpec(options, selection, setting.name, index) })),
  );
  const recordRoot = path.join(PROJECT_ROOT, 'results', 'crashtest', `.recordings-${runId}`);
  const stack = new CleanupStack();
  stack.add({ kind: 'dir', path: recordRoot });
  const trials: TargetTrialOutcome[] = [];
  const kernel = { release: '', inVm: false };
  reporter.begin(jobs.length);
  let pipeline: RecordPipeline<TargetRecordingMeta> | undefined;
  try {
    const program = await bundleTargetProgram(stack);
    reporter.note(`recording ${jobs.length} runs of ${selection.target.name} on dm-log-writes (a mark after every acknowledgement)`);
    // Each recording is checked as soon as it is made, while the microVM makes the next.
    pipeline = startRecording(
      jobs.map((j) => j.spec),
      recordRoot,
      { forceVm, onLine: (line) => reporter.note(`recorded ${line}`) },
    );
    for (const [n, job] of jobs.entries()) {
      const made = await pipeline.outcome(n);
      if (made === undefined) await pipeline.done; // the recorder failed: its error is the run's
      // A program that cannot be recorded (it exits early, acknowledges nothing, writes lines that
      // do not parse) is the same error as in a power cut: one line, exit 2.
      if (made === undefined || made.status === 'failed')
        throw new CrashError('WRITER_FAILED', `${job.spec.name}: ${made?.status === 'failed' ? made.message : 'no outcome from the recorder'}`);
      kernel.release = made.meta.kernel;
      const dir = path.join(recordRoot, job.spec.name);
      const report = await checkTargetRecording(dir, { program, jobs: options.stateJobs ?? availableParallelism() });
      const outcome = outcomeOf(job.spec, selection, job.index, report, made.meta.durationMs);
      let artifactDir: string | null = null;
      if (report.violatedStates > 0) {
        artifactDir = path.join(options.artifactsRoot, runId, artifactName(outcome));
        const saved = path.join(artifactDir, ARTIFACT_FILES.recording);
        saveRecordingArtifacts(artifactDir, {
          outcome,
          recording: dir,
          rawEvents: readFileSync(path.join(dir, 'lines.txt'), 'utf8'),
          checked: report.checked,
          violatedStates: report.violatedStates,
          states: report.violations.map((v) => ({ id: v.id, lastMark: v.lastMark, reasons: v.reasons, commands: stateCommands(saved, v.id) })),
          commands: { run: options.command, replay: targetReplayCommand(options, outcome.target.setting, job.index), recheck: false },
        });
      }
      const done = { ...outcome, artifactDir };
      trials.push(done);
      reporter.trial(done, { position: n + 1, total: jobs.length });
    }
    kernel.inVm = (await pipeline.done).placement.where === 'vm';
  } finally {
    await pipeline?.close();
    reporter.end();
    await stack.unwind();
    rmSync(recordRoot, { recursive: true, force: true });
  }
  return buildResults({
    startedAt,
    durationMs: Date.now() - started,
    mode: 'log-writes',
    fs: options.fs,
    seed: options.seed,
    command: options.command,
    kernel,
    trials,
  });
}
