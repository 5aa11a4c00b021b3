import { existsSync } from 'node:fs';
import path from 'node:path';
import { CleanupStack, type FsVariantName } from '../../dm/index.js';
import type { TargetSelection } from '../../targets/registry.js';
import { CrashError } from '../crash-error.js';
import { findRecordings, fuzzStates, type FuzzSubject } from '../explore/fuzz.js';
import { stateSpace } from '../explore/fuzz-space.js';
import { stateCommands } from '../record/mode.js';
import { recordAll } from '../record/record-all.js';
import { bundleTargetProgram, OpenTargetRecording, TargetStateChecker, type TargetStateResult } from './check-states.js';
import { targetRecordSpec } from './log-writes-mode.js';
import { isTargetRecording } from './recording.js';

// `pnpm fuzz --target T [--settings S]`: as `pnpm fuzz` does for the WAL (src/crash/explore/fuzz.ts),
// a bounded number of recordings of the target's program (one microVM boot for all; the settings
// in turn, each with a seed of its own), then fast-check over crash-state choices across them: a
// state a setting's contract does not survive fails the property and shrinks to a minimal one
// (first recording, first epoch, fewest surviving writes, earliest tear), printed with the
// commands to look at it again. The recordings stay under outRoot: the failing one is the finding.
// With `from`, existing target recordings (say a crashtest artifact's recording/) are fuzzed instead.

export interface TargetFuzzOptions {
  seed: number;
  recordings: number;
  runs: number;
  /** What to record (not needed with `from`: each recording names its target). */
  selection?: TargetSelection;
  fs: FsVariantName;
  /** Fuzz the target recordings under this directory instead of recording. */
  from?: string;
  outRoot: string;
  jobs: number;
  log: (line: string) => void;
}

export type TargetFuzzResult =
  | { status: 'held'; recordings: string[]; runs: number; unmountable: number; statesPerSecond: number }
  | { status: 'violated'; recordings: string[]; seed: number; path: string; recording: string; state: TargetStateResult; commands: string[] };

async function makeRecordings(o: TargetFuzzOptions): Promise<string[]> {
  if (o.from !== undefined) {
    const found = findRecordings(path.resolve(o.from)).filter(isTargetRecording);
    if (found.length === 0) throw new CrashError('BAD_OPTION', `no target recordings under ${o.from}`);
    return found;
  }
  const selection = o.selection;
  if (selection === undefined) throw new Error('runTargetFuzz needs a selection to record');
  const settings = selection.settings;
  const specs = Array.from({ length: o.recordings }, (_, i) =>
    targetRecordSpec({ fs: o.fs, seed: o.seed }, selection, (settings[i % settings.length] ?? settings[0])?.name ?? '', i),
  );
  o.log(`fuzz: recording ${specs.length} runs of ${selection.target.name} (one microVM boot)`);
  const { outcomes, wallMs } = await recordAll(specs, o.outRoot, { onLine: (l) => o.log(`  recorded ${l}`) });
  const failed = outcomes.find((r) => r.status === 'failed');
  if (failed?.status === 'failed') throw new CrashError('WRITER_FAILED', `recording ${failed.name} failed: ${failed.message}`);
  o.log(`fuzz: ${specs.length} recordings in ${(wallMs / 1000).toFixed(0)} s`);
  return specs.map((s) => path.join(o.outRoot, s.name)).filter((d) => existsSync(d));
}

/** Run the target fuzzer; a broken contract is the result, only harness problems throw. */
export async function runTargetFuzz(o: TargetFuzzOptions): Promise<TargetFuzzResult> {
  const dirs = await makeRecordings(o);
  const stack = new CleanupStack();
  const open: { rec: OpenTargetRecording; checker: TargetStateChecker }[] = [];
  try {
    const program = await bundleTargetProgram(stack);
    const subjects: FuzzSubject<TargetStateResult>[] = [];
    for (const dir of dirs) {
      const rec = new OpenTargetRecording(dir, stack);
      const checker = new TargetStateChecker(rec, stack, program, o.jobs);
      open.push({ rec, checker });
      subjects.push({
        index: rec.index,
        space: stateSpace(rec.index, rec.preparedMark()),
        check: (state) => checker.check(state),
        checkEach: (states, onResult) => checker.checkEach(states, onResult),
      });
    }
    const outcome = await fuzzStates(
      subjects,
      o.seed,
      o.runs,
      (r) => r.status === 'violated',
      (r) => r.status === 'unmountable',
    );
    if (!outcome.failed)
      return { status: 'held', recordings: dirs, runs: outcome.runs, unmountable: outcome.unmountable, statesPerSecond: outcome.statesPerSecond };
    const recording = (open[outcome.subject] as (typeof open)[number]).rec.dir;
    return {
      status: 'violated',
      recordings: dirs,
      seed: outcome.seed,
      path: outcome.path,
      recording,
      state: outcome.result,
      commands: stateCommands(recording, outcome.result.id),
    };
  } finally {
    for (const x of open) x.checker.close();
    await stack.unwind();
    for (const x of open) x.rec.close();
  }
}
