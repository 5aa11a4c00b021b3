import { cpSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { judgeTarget, targetReasons, type CheckReport } from '../../oracle/target-verdict.js';
import { DATA2_ENV, parseCheckOutput } from '../../targets/protocol.js';
import type { Command, Target, TargetSetting, TrialCommands } from '../../targets/target.js';
import { deriveSeed, seededRandom } from '../../workload/seeded-random.js';
import { CrashError } from '../crash-error.js';
import type { DeviceStack, TableSwap } from '../flakey/device-stack.js';
import type { TargetTrialOutcome, TimelineEntry } from '../outcome.js';
import { trialSeed } from '../plan/trial-plan.js';
import { ProgramChild, runToEnd } from './program-child.js';

// One power cut of a target program with dm-flakey, start to verdict:
//   fresh data directory -> prepare (then syncfs) -> run -> first ack -> a seeded delay ->
//   SIGSTOP the program's group -> drop_writes -> SIGKILL -> remount -> check -> target oracle.
// The order and its reasons are the WAL trial's (src/crash/flakey/trial.ts): the program is
// frozen before the cut, so every acknowledgement it wrote happened before the power went.

/** How long a program may take to acknowledge its first operation, and a check to finish. */
export const ACK_TIMEOUT_MS = 60_000;
export const CHECK_TIMEOUT_MS = 60_000;
// The first prepare of a postgres run makes its template cluster: initdb takes tens of seconds under TCG.
const PREPARE_TIMEOUT_MS = 180_000;

export interface TargetTrialContext {
  devices: DeviceStack;
  /** The built-in targets' program: argv prefix (node and the bundle). */
  program: string[];
  scratchDir: string;
  /** Registers a process on the lab's cleanup stack; returns its release. */
  track: TrackProcess;
}

export interface TargetEvidence {
  rawLines: string;
  programOutput: string;
  check: { stdout: string; stderr: string };
  dataCopy: string;
  /** A setting with two devices: the copy of its directory on the second one. */
  dataCopy2?: string;
  tables: TableSwap[];
}

/** The delay from the first acknowledgement to the cut: log-uniform over 20 ms - 4 s, from the trial seed. */
export function cutDelayMs(seed: number): number {
  const r = seededRandom(deriveSeed(seed, 'target-cut', 0));
  return Math.round(20 * Math.pow(200, r.next()));
}

export function tail(text: string, lines = 3): string {
  return text.trim().split('\n').slice(-lines).join(' | ').slice(0, 500) || 'no output';
}

/** Registers a running command's process group on the cleanup stack; returns its release. */
export type TrackProcess = (pid: number, label: string) => () => void;

/** Run the target's prepare, if it has one, and make what it made durable; whether it ran. */
export async function prepareTarget(
  name: string,
  commands: TrialCommands,
  env: NodeJS.ProcessEnv,
  cwd: string,
  dir: string,
  track?: TrackProcess,
): Promise<boolean> {
  if (commands.prepare === undefined) return false;
  const p = await runToEnd(commands.prepare, env, cwd, PREPARE_TIMEOUT_MS, track);
  if (p.code !== 0) throw new CrashError('TRIAL_SETUP_FAILED', `${name} prepare failed (exit ${p.code ?? p.signal}): ${tail(p.stderr)}`);
  // What prepare made is durable before the workload starts: losing it would be no finding. Both
  // filesystems of a setting with two devices (sync -f syncs the filesystem of each file named).
  const dirs = [dir, ...(env[DATA2_ENV] === undefined ? [] : [env[DATA2_ENV]])];
  const s = await runToEnd({ argv: ['sync', '-f', ...dirs], display: 'sync -f' }, env, dir, PREPARE_TIMEOUT_MS);
  if (s.code !== 0) throw new CrashError('TRIAL_SETUP_FAILED', `sync -f ${dirs.join(' ')} failed: ${tail(s.stderr)}`);
  return true;
}

/** Wait for the program's first acknowledgement; a clear error when it ends, stalls or writes what does not parse. */
export async function awaitFirstAck(child: ProgramChild): Promise<void> {
  const first = await child.waitForAcks(1, ACK_TIMEOUT_MS);
  const bad = child.badLine();
  if (bad !== undefined) throw new CrashError('WRITER_FAILED', `the run command wrote a line to fd 3 that does not parse: ${bad}`);
  if (first === 'exited') {
    const e = child.exited;
    throw new CrashError(
      'WRITER_FAILED',
      `the run command exited (code ${e?.code ?? '-'}, signal ${e?.signal ?? '-'}) before acknowledging anything: ${tail(child.stderr)}`,
    );
  }
  if (first === 'timed-out')
    throw new CrashError('WRITER_FAILED', `the run command acknowledged nothing on fd 3 within ${ACK_TIMEOUT_MS / 1000} s: ${tail(child.stderr)}`);
}

/** Run the check command after recovery; its report (a harness error when it is not found or prints what does not parse). */
export async function runCheck(
  command: Command,
  env: NodeJS.ProcessEnv,
  cwd: string,
  track?: TrackProcess,
): Promise<{ check: CheckReport; output: { stdout: string; stderr: string } }> {
  const c = await runToEnd(command, env, cwd, CHECK_TIMEOUT_MS, track);
  if (c.code === 127) throw new CrashError('CHECK_FAILED', `the check command was not found (exit 127): ${tail(c.stderr)}`);
  const parsed = parseCheckOutput(c.stdout);
  if (!parsed.ok) throw new CrashError('CHECK_FAILED', parsed.message);
  const check: CheckReport = c.timedOut
    ? { status: 'timed-out', message: `the check did not finish within ${CHECK_TIMEOUT_MS / 1000} s`, survivors: parsed.survivors }
    : c.code === 0
      ? { status: 'intact', message: null, survivors: parsed.survivors }
      : { status: 'damaged', message: `check exit ${c.code ?? c.signal}: ${tail(c.stderr, 1)}`, survivors: parsed.survivors };
  return { check, output: { stdout: c.stdout, stderr: c.stderr } };
}

export async function runTargetTrial(
  target: Target,
  setting: TargetSetting,
  runSeed: number,
  index: number,
  ctx: TargetTrialContext,
): Promise<{ outcome: TargetTrialOutcome; evidence: TargetEvidence }> {
  const { devices } = ctx;
  const started = Date.now();
  const seed = trialSeed(runSeed, index);
  const timeline: TimelineEntry[] = [];
  const mark = (what: string) => timeline.push({ atMs: Date.now() - started, what });
  const notes: string[] = [];
  const count = setting.devices ?? 1;
  if (devices.devices !== count) throw new Error(`setting ${setting.name} needs a stack of ${count} devices, not ${devices.devices}`);
  devices.startTrial();
  await devices.mount();
  const name = `target-${index}`;
  for (let v = 0; v < count; v++) rmSync(path.join(devices.mountPointOf(v), name), { recursive: true, force: true });
  const dir = devices.makeTrialDir(name);
  // The second device's directory ($POWERCUT_DATA2): same name, on the other filesystem.
  const dir2 = count === 2 ? devices.makeTrialDir(name, 1) : undefined;
  // POWERCUT_SCRATCH: outside the device, kept across the run's trials, removed with the run (the
  // postgres target keeps its initdb template there); searchable by a server's own user.
  const scratch = path.join(ctx.scratchDir, 'program-scratch');
  mkdirSync(scratch, { recursive: true, mode: 0o711 });
  const env = { ...process.env, POWERCUT_DATA: dir, POWERCUT_SCRATCH: scratch, ...(dir2 === undefined ? {} : { [DATA2_ENV]: dir2 }) };
  // Commands run where crashtest was started (the project root in the VM), so relative paths work.
  const cwd = process.cwd();
  const commands = target.commands(setting, { dir, seed, program: ctx.program });

  if (await prepareTarget(target.name, commands, env, cwd, dir, ctx.track)) mark('prepared and synced');
  await devices.preloadCut();
  const delay = cutDelayMs(seed);
  const child = ProgramChild.spawn(commands.run, env, cwd, started);
  const untrack = ctx.track(child.pid, `${target.name} program`);
  mark(`program started: ${commands.run.display}`);
  let cutAtMs: number;
  try {
    await awaitFirstAck(child);
    mark(`first acknowledgement; cut in ${delay} ms`);
    await Promise.race([new Promise((resolve) => setTimeout(resolve, delay)), child.waitForAcks(Number.MAX_SAFE_INTEGER, delay)]);
    if (child.exited !== undefined) notes.push(`the program exited by itself before the cut (code ${child.exited.code ?? '-'})`);
    await child.freeze();
    cutAtMs = Date.now() - started;
    child.capStamps(cutAtMs);
    await devices.cutPower();
    mark(`POWER CUT: table drop_writes${count === 2 ? ' (both devices: one flakey device under both)' : ''} (${child.acks.length} acknowledgements so far)`);
  } finally {
    await child.kill();
    untrack();
  }
  const badLate = child.badLine();
  if (badLate !== undefined) throw new CrashError('WRITER_FAILED', `the run command wrote a line to fd 3 that does not parse: ${badLate}`);
  mark(`program killed; ${child.acks.length} acknowledgements, ${child.intents.length} announced`);
  await devices.unmount();
  await devices.heal();
  await devices.mount();
  mark('remounted on the pass-through table');
  if (dir2 !== undefined) {
    // A program that left the second device empty did not test two devices: no verdict on that.
    const entries = readdirSync(dir2);
    if (entries.length === 0)
      throw new CrashError('WRITER_FAILED', `setting ${setting.name} keeps data on two devices, but the program left $${DATA2_ENV} (${dir2}) empty`);
    mark(`second device ($${DATA2_ENV}) after the cut: ${entries.join(', ')}`);
  }

  const dataCopy = path.join(ctx.scratchDir, `${name}-data`);
  rmSync(dataCopy, { recursive: true, force: true });
  cpSync(dir, dataCopy, { recursive: true });
  const dataCopy2 = dir2 === undefined ? undefined : path.join(ctx.scratchDir, `${name}-data2`);
  if (dir2 !== undefined && dataCopy2 !== undefined) {
    rmSync(dataCopy2, { recursive: true, force: true });
    cpSync(dir2, dataCopy2, { recursive: true });
  }
  const { check, output: c } = await runCheck(commands.check, env, cwd, ctx.track);
  mark(`check: ${check.status}, ${check.survivors.size} keys`);
  const verdict = judgeTarget({ acks: child.acks, intents: child.intents, cutAtMs, contract: setting.contract, check });
  if (verdict.corruption !== null && setting.contract.mayCorrupt) notes.push(`damaged, which the contract allows: ${verdict.corruption}`);
  if (verdict.loss.unknownSurvivors > 0)
    notes.push(`${verdict.loss.unknownSurvivors} surviving keys were never acknowledged (the program announces no operations with "~" lines)`);
  for (const d of [dir, dir2]) if (d !== undefined) rmSync(d, { recursive: true, force: true });
  const outcome: TargetTrialOutcome = {
    mode: 'flakey',
    scenario: 'power-cut',
    index,
    trialSeed: seed,
    status: verdict.status,
    reasons: targetReasons(verdict),
    notes,
    durationMs: Date.now() - started,
    timeline,
    artifactDir: null,
    target: {
      name: target.name,
      setting: setting.name,
      contract: setting.contract,
      verdict,
      run: commands.run.display,
      check: commands.check.display,
      states: 1,
    },
  };
  return {
    outcome,
    evidence: {
      rawLines: child.rawLines,
      programOutput: child.stderr,
      check: { stdout: c.stdout, stderr: c.stderr },
      dataCopy,
      ...(dataCopy2 === undefined ? {} : { dataCopy2 }),
      tables: [...devices.swaps],
    },
  };
}
