import { chmodSync, existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { selectionOf } from './selection.js';
import { fileURLToPath } from 'node:url';
import { withDeviceLab } from '../../dm/index.js';
import { artifactName, saveTargetArtifacts } from '../artifacts.js';
import { bundleCrashtest, useAddonSnapshot } from '../bundle.js';
import { DeviceStack, type DeviceCount } from '../flakey/device-stack.js';
import { beginFlakeyRun } from '../flakey/mode.js';
import { trialIndices, type RunOptions } from '../options.js';
import type { TargetTrialOutcome } from '../outcome.js';
import type { Reporter } from '../reporter.js';
import { finishRun, type RunResults } from '../results.js';
import { runTargetTrial } from './trial.js';

// The trial loop of a target run with dm-flakey power cuts: one device stack, every setting in
// turn, the seeded trials of each, an artifact for every trial whose setting broke its contract.

/** The command that replays one trial of a target run. */
export function targetReplayCommand(options: RunOptions, setting: string, index: number): string {
  const t = options.target;
  if (t === undefined) throw new Error('targetReplayCommand needs a target run');
  const what =
    t.exec !== undefined
      ? `--target exec --run ${JSON.stringify(t.exec.run)} --check ${JSON.stringify(t.exec.check)} --promise ${t.exec.promise}${t.exec.devices === undefined ? '' : ` --devices ${t.exec.devices}`}`
      : `--target ${t.name} --settings ${setting}`;
  return `sudo pnpm crashtest ${what}${options.mode === 'log-writes' ? ' --mode log-writes' : ''} --fs ${options.fs} --seed ${options.seed} --trial ${index}`;
}

/** The bundled program beside this module (a bundled crashtest), else undefined. */
function siblingProgram(): string | undefined {
  const file = path.join(path.dirname(fileURLToPath(import.meta.url)), 'program-main.mjs');
  return existsSync(file) ? file : undefined;
}

export async function runTargetMode(options: RunOptions, reporter: Reporter, inVm: boolean): Promise<RunResults<TargetTrialOutcome>> {
  const run = options.target;
  if (run === undefined) throw new Error('runTargetMode needs options.target');
  const selection = selectionOf(run);
  const { started, runId } = await beginFlakeyRun(options);
  const indices = trialIndices(options);
  const total = indices.length * selection.settings.length;
  const trials: TargetTrialOutcome[] = [];
  let restoreEnv = (): void => {};
  reporter.begin(total);
  try {
    await withDeviceLab(async (lab) => {
      let program = siblingProgram();
      if (program === undefined) {
        const bundles = await bundleCrashtest(undefined, lab.stack);
        restoreEnv = useAddonSnapshot(bundles);
        program = bundles.program;
      }
      // One stack per device count the settings ask for, each made when first needed and kept
      // for the run (a setting with pg_wal on a second device needs two filesystems, cut together).
      const stacks = new Map<DeviceCount, DeviceStack>();
      const stackFor = async (count: DeviceCount): Promise<DeviceStack> => {
        const made = stacks.get(count) ?? (await DeviceStack.create(lab, options.fs, count));
        stacks.set(count, made);
        return made;
      };
      // Searchable, not listable: a target's server that runs as a user of its own (postgres)
      // must reach its data directory on the mount and its scratch directory, both in here.
      chmodSync(lab.dir, 0o711);
      const track = (pid: number, label: string) => {
        // Target programs run detached, each in a group of its own (program-child.ts).
        const registration = lab.trackProcess(pid, label, { group: true });
        return () => lab.stack.forget(registration);
      };
      let position = 0;
      for (const setting of selection.settings) {
        for (const index of indices) {
          position++;
          const devices = await stackFor(setting.devices ?? 1);
          const { outcome, evidence } = await runTargetTrial(selection.target, setting, options.seed, index, {
            devices,
            program: [process.execPath, program],
            scratchDir: lab.dir,
            track,
          });
          let artifactDir: string | null = null;
          if (outcome.status === 'violated') {
            artifactDir = path.join(options.artifactsRoot, runId, artifactName(outcome));
            await devices.unmount();
            saveTargetArtifacts(artifactDir, {
              outcome,
              ...evidence,
              commands: { run: options.command, replay: targetReplayCommand(options, setting.name, index) },
              image: devices.image,
            });
            await devices.mount();
          }
          for (const copy of [evidence.dataCopy, evidence.dataCopy2]) if (copy !== undefined) rmSync(copy, { recursive: true, force: true });
          const done = { ...outcome, artifactDir };
          trials.push(done);
          reporter.trial(done, { position, total });
        }
      }
    });
  } finally {
    reporter.end();
    restoreEnv();
  }
  return finishRun(options, started, inVm, trials);
}
