import { rmSync } from 'node:fs';
import path from 'node:path';
import { dmTable, ensureTargets, formatTable, withDeviceLab } from '../../dm/index.js';
import { logger } from '../../log.js';
import { artifactName, saveFlakeyArtifacts } from '../artifacts.js';
import { DeviceStack } from './device-stack.js';
import { CrashError } from '../crash-error.js';
import type { Reporter } from '../reporter.js';
import { replayCommand, trialIndices, type RunOptions } from '../options.js';
import { finishRun, type RunResults } from '../results.js';
import type { WalTrialOutcome } from '../outcome.js';
import { planTrial } from '../plan/trial-plan.js';
import { runTrial, type TrialResult } from './trial.js';
import { WriterLauncher } from '../writer/launcher.js';
import { bundleCrashtest, siblingWriterBundle, useAddonSnapshot } from '../bundle.js';

const log = logger('crashtest');

// The trial loop of the dm-flakey mode: one device stack for the whole run, every strategy in
// turn, the seeded trials of each, an artifact directory for every violated trial.

async function keepArtifacts(devices: DeviceStack, result: TrialResult, options: RunOptions, runId: string): Promise<string> {
  const { outcome } = result;
  const dir = path.join(options.artifactsRoot, runId, artifactName(outcome));
  // The image is copied unmounted, so what is saved is what the next mount would see.
  await devices.unmount();
  let liveTable: string | undefined;
  try {
    liveTable = formatTable(await dmTable(devices.flakey.name));
  } catch (error) {
    log.warn({ err: error }, 'cannot read the live flakey table for the artifact');
  }
  saveFlakeyArtifacts(dir, {
    outcome,
    evidence: result.evidence,
    commands: { run: options.command, replay: replayCommand(options, outcome.strategy, outcome.index) },
    image: devices.image,
    liveTable,
  });
  await devices.mount();
  return dir;
}

/** The start of a dm-flakey run (the WAL's or a target's): the kernel has the target; the run's id names its artifacts. */
export async function beginFlakeyRun(options: Pick<RunOptions, 'seed'>): Promise<{ started: number; runId: string }> {
  const started = Date.now();
  const { missing } = await ensureTargets(['flakey']);
  if (missing.length > 0) throw new CrashError('NO_DEVICE_MAPPER', `this kernel has no dm-flakey target (dmsetup targets lacks: ${missing.join(', ')})`);
  return { started, runId: `${new Date(started).toISOString().replace(/[:.]/g, '-')}-seed${options.seed}` };
}

/** Run every trial of every strategy with dm-flakey power cuts on this kernel. */
export async function runFlakeyMode(options: RunOptions, reporter: Reporter, inVm: boolean): Promise<RunResults<WalTrialOutcome>> {
  const { started, runId } = await beginFlakeyRun(options);
  const indices = trialIndices(options);
  const total = indices.length * options.strategies.length;
  const trials: WalTrialOutcome[] = [];
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
      trialLoop: for (const strategy of options.strategies) {
        for (const index of indices) {
          position++;
          const plan = planTrial(options.seed, index, strategy, options.groupCommit, options.scenarios);
          const result = await runTrial(plan, { devices, writers, warmNext: position < total, scratchDir: lab.dir });
          const artifactDir = result.outcome.status !== 'held' ? await keepArtifacts(devices, result, options, runId) : null;
          rmSync(result.evidence.walCopy, { recursive: true, force: true });
          const outcome = { ...result.outcome, artifactDir };
          trials.push(outcome);
          reporter.trial(outcome, { position, total });
          if (options.stopAtViolation === true && outcome.status === 'violated') break trialLoop;
          if (plan.freshFilesystemAfter) await devices.freshFilesystem();
        }
      }
      await writers.dispose();
    });
  } finally {
    reporter.end();
    restoreEnv();
  }
  return finishRun(options, started, inVm, trials);
}
