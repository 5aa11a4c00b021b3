import type { Contract } from './contract.js';

// A target (issue 14): a program the harness crash-tests through one protocol
// (src/targets/protocol.ts, docs/crash/targets.md). Each one says
//   - its settings, each with the contract its own documentation gives it (and where it says so),
//   - the commands of one trial: an optional prepare (made durable before the workload starts),
//     the workload that reports each acknowledged operation on fd 3, and the check that runs
//     after the crash, prints KEY DIGEST per surviving key and exits non-zero on damage.
// The built-in targets run their workload and check in the bundled program (program-main.ts);
// `exec` runs the user's commands.

export interface TargetSetting {
  /** As named on the command line (--settings). */
  name: string;
  contract: Contract;
  /**
   * 2: the setting keeps part of its data on a second device ($POWERCUT_DATA2, src/targets/protocol.ts),
   * a filesystem of its own that the power cut takes at the same instant as the first. Default 1.
   */
  devices?: 1 | 2;
}

/** A command the harness starts: argv[0] is looked up on PATH. */
export interface Command {
  argv: string[];
  /** How it is shown in reports and artifacts. */
  display: string;
}

export interface TrialCommands {
  prepare?: Command;
  run: Command;
  check: Command;
}

export interface TrialContext {
  /** The data directory on the device under test ($POWERCUT_DATA). */
  dir: string;
  seed: number;
  /** The bundled program-main.mjs (or the .ts source under tsx). */
  program: string[];
}

export interface Target {
  name: string;
  /** One line for --help and the docs. */
  describe: string;
  settings: readonly TargetSetting[];
  /** The settings a run without --settings tries (all of them when absent). */
  defaultSettings?: readonly string[];
  /** Trials per setting without --trials (the harness's default when absent). */
  defaultTrials?: number;
  /**
   * Acknowledgements per dm-log-writes recording (TARGET_RECORD_ACKS when absent): each is a
   * mark, and every crash state of the recording runs the target's check.
   */
  recordAcks?: number;
  /** Why this machine cannot run the target (a missing program or user), or undefined. */
  unavailable?: () => string | undefined;
  commands(setting: TargetSetting, ctx: TrialContext): TrialCommands;
}

/**
 * Why a setting has dm-flakey power cuts only (no log-writes recordings, no fuzz), or undefined:
 * a recording logs one device, and a setting on two devices needs one log of both.
 */
export function settingFlakeyOnly(setting: TargetSetting): string | undefined {
  return (setting.devices ?? 1) === 2
    ? `setting ${setting.name} keeps its data on two devices, which have dm-flakey power cuts only so far (a recording logs one device)`
    : undefined;
}

/** A built-in target's half that runs in the program (program-main.ts), not in the harness. */
export interface BuiltinProgram {
  prepare(dir: string, setting: string): Promise<void>;
  /** Run until killed, calling `ack` after each acknowledged operation (and `intent` before it). */
  workload(dir: string, setting: string, seed: number, report: WorkloadReport): Promise<void>;
  /** Read back what survived; `damage` is why the data is not intact, or null. */
  check(dir: string, setting: string): Promise<{ survivors: Map<string, string>; damage: string | null }>;
}

export interface WorkloadReport {
  intent(key: string, digest: string): void;
  ack(key: string, digest: string): void;
  /**
   * Log-writes mode: `ack` returns only once the harness has put the acknowledgement's mark into
   * the device's log (src/targets/protocol.ts). A workload whose acknowledgements another process
   * writes (postgres: psql) must route them through `ack` then, or its marks lag its commits.
   */
  readonly marked: boolean;
}

/** A built-in target: its commands run the bundled program with the target's name and setting. */
export function builtinCommands(name: string, setting: TargetSetting, ctx: TrialContext): TrialCommands {
  const cmd = (verb: string, ...extra: string[]): Command => {
    const argv = [...ctx.program, verb, name, setting.name, ctx.dir, ...extra];
    return { argv, display: `powercut-target ${verb} ${name} ${setting.name} ${ctx.dir}${extra.length > 0 ? ` ${extra.join(' ')}` : ''}` };
  };
  return { prepare: cmd('prepare'), run: cmd('run', String(ctx.seed)), check: cmd('check') };
}
