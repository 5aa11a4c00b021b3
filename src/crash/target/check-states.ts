import { chmodSync, rmSync } from 'node:fs';
import path from 'node:path';
import { selectionOf } from './selection.js';
import {
  closeLog,
  enumerateStates,
  stateFromId,
  visibleMarks,
  type Coverage,
  type CrashState,
  type EnumerateOptions,
  type LogIndex,
} from '../../dm/log-writes/index.js';
import { CleanupStack } from '../../dm/index.js';
import { targetReasons, type TargetVerdict } from '../../oracle/target-verdict.js';
import type { Target, TargetSetting } from '../../targets/target.js';
import { CrashError } from '../crash-error.js';
import type { StateFacts } from '../explore/check-report.js';
import { unpackLog } from '../explore/check-states.js';
import { bundleEntries } from '../bundle.js';
import { StateSlots, type Slot } from '../explore/state-slots.js';
import { acksVisible, judgeTargetState, PREPARED_MARK, readTargetRecording, type TargetHistory, type TargetRecordingMeta } from './recording.js';
import { runCheck } from './trial.js';

// Every crash state of a target's recording (recording.ts), checked on this host: materialise the
// state, loop-mount it (the filesystem replays its journal), run the target's check on the data
// directory (the program's own recovery, read-back and integrity check: for the built-in targets
// the bundled program-main.mjs, for exec the user's --check), and judge what it printed with the
// target oracle against the acknowledgements whose marks the state shows (judgeTargetState).

/** How many states each epoch gets by default: the empty and the full subset, one random one, one tear. */
export const TARGET_ENUMERATION: EnumerateOptions = { exhaustiveLimit: 1, randomSubsets: 1, tearsPerWrite: 1, tornPerEpoch: 1 };

export type TargetStateResult = StateFacts & { acksVisible: number; reasons: string[] } & (
    { status: 'held' | 'violated'; verdict: TargetVerdict } | { status: 'unmountable' }
  );

/** An opened target recording: its meta, history, log (unzipped into a work directory) and the target it names. */
export class OpenTargetRecording {
  readonly meta: TargetRecordingMeta;
  readonly history: TargetHistory;
  readonly index: LogIndex;
  readonly workDir: string;
  readonly target: Target;
  readonly setting: TargetSetting;

  constructor(
    readonly dir: string,
    stack?: CleanupStack,
  ) {
    ({ meta: this.meta, history: this.history } = readTargetRecording(dir));
    const t = this.meta.spec.target;
    const selection = selectionOf(t, t.setting);
    this.target = selection.target;
    this.setting = selection.settings[0] as TargetSetting;
    ({ workDir: this.workDir, index: this.index } = unpackLog(dir, stack));
    // Searchable, not listable: a check whose server runs as a user of its own (postgres) must
    // reach the data directory on the slots' mounts in here.
    chmodSync(this.workDir, 0o711);
  }

  /** The index of the mark after which states start (prepare's data durable). */
  preparedMark(): number {
    const mark = this.index.markEntries().find((m) => m.label === PREPARED_MARK);
    if (mark === undefined) throw new CrashError('BAD_RECORDING', `${this.dir}: the log has no ${PREPARED_MARK} mark`);
    return mark.index;
  }

  close(): void {
    closeLog(this.index.log);
    rmSync(this.workDir, { recursive: true, force: true });
  }
}

/** Checks states of one open target recording, up to `jobs` at a time. */
export class TargetStateChecker {
  private readonly slots: StateSlots;
  readonly timings = { materialiseMs: 0, mountMs: 0, checkMs: 0 };

  constructor(
    private readonly rec: OpenTargetRecording,
    private readonly stack: CleanupStack,
    /** The built-in targets' program on this host (node and the bundled program-main.mjs). */
    private readonly program: string[],
    jobs = 1,
  ) {
    this.slots = new StateSlots(rec.index, rec.meta.deviceBytes, rec.workDir, rec.meta.spec.fs, stack, jobs, 'syscall', this.timings);
  }

  check(state: CrashState): Promise<TargetStateResult> {
    return this.slots.one(state, (slot, s) => this.judgeMounted(slot, s));
  }

  checkEach(states: readonly CrashState[], onResult: (result: TargetStateResult, position: number) => void, stop?: () => boolean): Promise<number> {
    return this.slots.each(states, (slot, s) => this.judgeMounted(slot, s), onResult, stop);
  }

  private async judgeMounted(slot: Slot, state: CrashState): Promise<TargetStateResult> {
    const { rec } = this;
    const marks = visibleMarks(rec.index, state);
    const visible = acksVisible(marks);
    const facts = {
      id: state.id,
      kind: state.kind,
      epoch: state.epoch,
      marksVisible: marks.length,
      lastMark: marks[marks.length - 1] ?? null,
      acksVisible: visible,
    };
    const reg = this.stack.add({ kind: 'mount', mountPoint: slot.mountPoint });
    const t0 = process.hrtime.bigint();
    try {
      try {
        await this.slots.mount(slot, true);
      } catch (cause) {
        const why = (cause as Error).message.split('\n')[0] ?? '';
        return { ...facts, status: 'unmountable', reasons: [`the ${rec.meta.spec.fs} image does not mount: ${why.slice(why.lastIndexOf(': ') + 2)}`] };
      } finally {
        this.timings.mountMs += Number(process.hrtime.bigint() - t0) / 1e6;
      }
      const t1 = process.hrtime.bigint();
      const dir = path.join(slot.mountPoint, rec.meta.dataDir);
      const commands = rec.target.commands(rec.setting, { dir, seed: rec.meta.spec.seed, program: this.program });
      // The check's group is on the stack above the mount: a Ctrl-C kills it (and a server it
      // started on the mount) before the mount goes.
      const track = (pid: number, label: string) => {
        const registration = this.stack.addProcess(pid, label, { group: true });
        return () => this.stack.forget(registration);
      };
      const { check } = await runCheck(commands.check, { ...process.env, POWERCUT_DATA: dir }, process.cwd(), track);
      this.timings.checkMs += Number(process.hrtime.bigint() - t1) / 1e6;
      const verdict = judgeTargetState(rec.history, marks, rec.setting.contract, check);
      return { ...facts, status: verdict.status, reasons: targetReasons(verdict), verdict };
    } finally {
      const t2 = process.hrtime.bigint();
      if (slot.mounted) await this.slots.unmount(slot);
      this.stack.forget(reg);
      this.timings.mountMs += Number(process.hrtime.bigint() - t2) / 1e6;
    }
  }

  close(): void {
    this.slots.close();
  }
}

export interface TargetCheckReport {
  recording: string;
  meta: TargetRecordingMeta;
  coverage: Coverage;
  checked: number;
  violatedStates: number;
  unmountableStates: number;
  /** States that lost acknowledged keys the contract allows (a weak setting shown weak). */
  allowedLossStates: number;
  /** The first violated states (at most 20), in enumeration order. */
  violations: TargetStateResult[];
  /**
   * The state that speaks for the recording: the first violated one, else the one with the most
   * acknowledgements visible that lost some (the contract allowed it), else the one with the most.
   */
  representative: (TargetStateResult & { status: 'held' | 'violated' }) | null;
  timings: { materialiseMs: number; mountMs: number; checkMs: number; totalMs: number };
  statesPerSecond: number;
  /** From the first acknowledgement to the last, as the recorder read them (what a window promise can be tested over). */
  acksSpanMs: number;
}

type Judged = TargetStateResult & { status: 'held' | 'violated' };

function louder(a: Judged, b: Judged): boolean {
  const rank = (s: Judged) => [s.verdict.loss.ackedButLost > 0 ? 1 : 0, s.verdict.loss.acked, s.verdict.loss.ackedButLost];
  const [x, y] = [rank(a), rank(b)];
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return (x[i] as number) > (y[i] as number);
  return false;
}

/** Check every crash state of the target recording in `dir` after its `prepared` mark. */
export async function checkTargetRecording(
  dir: string,
  options: { program: string[]; jobs?: number; enumerate?: EnumerateOptions; maxStates?: number; onState?: (r: TargetStateResult) => void },
): Promise<TargetCheckReport> {
  const stack = new CleanupStack();
  const rec = new OpenTargetRecording(dir, stack);
  let checker: TargetStateChecker | undefined;
  try {
    checker = new TargetStateChecker(rec, stack, options.program, options.jobs ?? 1);
    const enumeration = enumerateStates(rec.index, { ...TARGET_ENUMERATION, ...options.enumerate, after: rec.preparedMark() });
    const states = [...enumeration].slice(0, options.maxStates);
    const report: TargetCheckReport = {
      recording: dir,
      meta: rec.meta,
      coverage: enumeration.coverage,
      checked: 0,
      violatedStates: 0,
      unmountableStates: 0,
      allowedLossStates: 0,
      violations: [],
      representative: null,
      timings: { materialiseMs: 0, mountMs: 0, checkMs: 0, totalMs: 0 },
      statesPerSecond: 0,
      acksSpanMs: (rec.history.acks[rec.history.acks.length - 1]?.atMs ?? 0) - (rec.history.acks[0]?.atMs ?? 0),
    };
    let worst: Judged | null = null;
    const started = process.hrtime.bigint();
    await checker.checkEach(states, (r) => {
      report.checked++;
      options.onState?.(r);
      if (r.status === 'unmountable') {
        report.unmountableStates++;
        return;
      }
      if (r.verdict.loss.allowedLoss > 0) report.allowedLossStates++;
      if (r.status === 'violated') {
        report.violatedStates++;
        if (report.violations.length < 20) report.violations.push(r);
      } else if (worst === null || louder(r, worst)) worst = r;
    });
    const totalMs = Number(process.hrtime.bigint() - started) / 1e6;
    report.representative = (report.violations[0] as Judged | undefined) ?? worst;
    report.timings = { ...checker.timings, totalMs };
    report.statesPerSecond = report.checked / (totalMs / 1000);
    return report;
  } finally {
    checker?.close();
    await stack.unwind();
    rec.close();
  }
}

/** The built-in targets' program bundled for the checks on this host (plain JavaScript: a process per state). */
export async function bundleTargetProgram(stack: CleanupStack): Promise<string[]> {
  const out = await bundleEntries({ prefix: 'target-check-', entries: ['src/targets/program-main.ts'], addons: [], stack });
  return [process.execPath, out.files['program-main'] as string];
}

/** Check one named state of one target recording (the command a violated state prints). */
export async function checkOneTargetState(dir: string, stateId: string): Promise<TargetStateResult> {
  const stack = new CleanupStack();
  const rec = new OpenTargetRecording(dir, stack);
  let checker: TargetStateChecker | undefined;
  try {
    let state: CrashState;
    try {
      state = stateFromId(rec.index, stateId);
    } catch (error) {
      throw new CrashError('BAD_OPTION', (error as Error).message, { cause: error });
    }
    checker = new TargetStateChecker(rec, stack, await bundleTargetProgram(stack));
    return await checker.check(state);
  } finally {
    checker?.close();
    await stack.unwind();
    rec.close();
  }
}
