import { rmSync } from 'node:fs';
import { release } from 'node:os';
import path from 'node:path';
import { dmTable, ensureTargets, formatTable, withDeviceLab } from '../../dm/index.js';
import { logger } from '../../log.js';
import { saveArtifacts } from '../artifacts.js';
import { DeviceStack } from './device-stack.js';
import { CrashError } from '../crash-error.js';
import type { Reporter } from '../reporter.js';
import { replayCommand, trialIndices, type RunOptions } from '../options.js';
import { buildResults, type RunResults, type TrialRecord } from '../results.js';
import { strategyLabel } from '../../strategy/index.js';
import { planTrial } from '../plan/trial-plan.js';
import { runTrial, type TrialResult } from './trial.js';
import { WriterLauncher } from '../writer/launcher.js';
import { bundleCrashtest, siblingWriterBundle, useAddonSnapshot } from '../bundle.js';

const log = logger('crashtest');

// The trial loop of the dm-flakey mode: one device stack for the whole run, every strategy in
// turn, the seeded trials of each, an artifact directory for every violated trial.

function record(result: TrialResult, artifactDir: string | null): TrialRecord {
  const r = result.recovery;
  return {
    strategy: result.plan.strategy,
    groupCommit: result.plan.groupCommit,
    scenario: result.plan.scenario,
    index: result.plan.index,
    trialSeed: result.plan.trialSeed,
    status: result.status,
    reasons: result.reasons,
    notes: result.notes,
    verdict: result.verdict,
    recovery:
      r.status === 'recovered'
        ? { status: 'recovered', entries: r.entries.length, corruption: r.corruption }
        : { status: 'failed', entries: 0, code: r.code, message: r.message, corruption: r.corruption },
    durationMs: result.durationMs,
    timeline: result.timeline,
    artifactDir,
  };
}

async function keepArtifacts(devices: DeviceStack, result: TrialResult, options: RunOptions, runId: string): Promise<string> {
  const label = strategyLabel(result.plan.strategy, result.plan.groupCommit);
  const dir = path.join(options.artifactsRoot, runId, `${label}-trial-${result.plan.index}`);
  // The image is copied unmounted, so what is saved is what the next mount would see.
  await devices.unmount();
  let liveTable: string | undefined;
  try {
    liveTable = formatTable(await dmTable(devices.flakey.name));
  } catch (error) {
    log.warn({ err: error }, 'cannot read the live flakey table for the artifact');
  }
  saveArtifacts(dir, {
    result,
    runCommand: options.command,
    replayCommand: replayCommand(options, result.plan.strategy, result.plan.index),
    image: devices.image,
    liveTable,
  });
  await devices.mount();
  return dir;
}

/** Run every trial of every strategy with dm-flakey power cuts on this kernel. */
export async function runFlakeyMode(options: RunOptions, reporter: Reporter, inVm: boolean): Promise<RunResults> {
  const started = Date.now();
  const startedAt = new Date(started).toISOString();
  const { missing } = await ensureTargets(['flakey']);
  if (missing.length > 0) throw new CrashError('NO_DEVICE_MAPPER', `this kernel has no dm-flakey target (dmsetup targets lacks: ${missing.join(', ')})`);
  const runId = `${startedAt.replace(/[:.]/g, '-')}-seed${options.seed}`;
  const indices = trialIndices(options);
  const total = indices.length * options.strategies.length;
  const trials: TrialRecord[] = [];
  let restoreEnv = (): void => {};
  reporter.begin(total);
  try {
    await withDeviceLab(async (lab) => {
      // The VM's run gets the host's bundle; a run on this kernel makes its own, on the lab's
      // cleanup devices (removed at the end, also on Ctrl-C).
      let writer = options.writerBundle ?? siblingWriterBundle();
      if (writer === undefined) {
        const bundles = await bundleCrashtest();
        lab.stack.add({ kind: 'dir', path: bundles.dir });
        restoreEnv = useAddonSnapshot(bundles);
        writer = bundles.writer;
      }
      const devices = await DeviceStack.create(lab, options.fs);
      const writers = new WriterLauncher(writer, lab);
      let position = 0;
      for (const strategy of options.strategies) {
        for (const index of indices) {
          position++;
          const plan = planTrial(options.seed, index, strategy, options.groupCommit, options.scenarios);
          const result = await runTrial(plan, { devices, writers, warmNext: position < total, scratchDir: lab.dir });
          const artifactDir = result.status === 'violated' ? await keepArtifacts(devices, result, options, runId) : null;
          rmSync(result.walCopy, { recursive: true, force: true });
          const rec = record(result, artifactDir);
          trials.push(rec);
          const loss = result.verdict.loss;
          reporter.trial({
            strategy: strategyLabel(strategy, options.groupCommit),
            position,
            total,
            index,
            scenario: plan.scenario,
            trialSeed: plan.trialSeed,
            status: result.status,
            appended: loss.appended,
            acked: loss.acked,
            recovered: loss.recovered,
            lost: loss.lost,
            ackedButLost: loss.ackedButLost,
            lostBeyondContract: loss.lostBeyondContract,
            durationMs: result.durationMs,
            reasons: result.reasons,
            notes: result.notes,
            artifactDir,
          });
          if (plan.freshFilesystemAfter) await devices.freshFilesystem();
        }
      }
      await writers.dispose();
    });
  } finally {
    reporter.end();
    restoreEnv();
  }
  return buildResults({
    startedAt,
    durationMs: Date.now() - started,
    mode: 'flakey',
    fs: options.fs,
    seed: options.seed,
    command: options.command,
    kernel: { release: release(), inVm },
    trials,
  });
}
