import { CrashError } from '../crash/crash-error.js';
import { parsePromise } from './contract.js';
import { execTarget } from './exec.js';
import { leveldbTarget } from './leveldb.js';
import { postgresTarget } from './postgres.js';
import { sqliteTarget } from './sqlite.js';
import { settingFlakeyOnly, type Target, type TargetSetting } from './target.js';

// The targets `crashtest --target` knows, and the one check of a target selection on the command
// line (exit 2 before any work on an unknown target or setting). `wal` is the native WAL through
// the harness's own writer: its settings are the durability strategies (--strategy), judged by the
// WAL oracle (src/oracle/verdict.ts), which checks more than a target's read-back can (prefix,
// acknowledgement order, second lives).

export const BUILTIN_TARGETS: readonly Target[] = [sqliteTarget, leveldbTarget, postgresTarget];
export const TARGET_NAMES = ['wal', ...BUILTIN_TARGETS.map((t) => t.name), 'exec', 'all'] as const;

/** An exec target as the command line gave it: what crosses into the VM and into its recordings. */
export interface ExecArgs {
  run: string;
  check: string;
  promise: string;
  /** '2': a second device ($POWERCUT_DATA2), cut at the same instant as the first. */
  devices?: string;
}

/** A target run after the command line was checked: the target and the settings to try. */
export interface TargetSelection {
  target: Target;
  settings: TargetSetting[];
  /** exec only: what to pass on to the run in the VM. */
  exec?: ExecArgs;
}

export interface TargetArgs {
  target: string;
  settings?: string;
  run?: string;
  check?: string;
  promise?: string;
  devices?: string;
}

/** The selection for `--target NAME` (not wal, not all); throws BAD_OPTION. */
export function selectTarget(a: TargetArgs): TargetSelection {
  if (a.target === 'exec') {
    if (a.run === undefined || a.check === undefined) throw new CrashError('BAD_OPTION', '--target exec needs --run CMD and --check CMD');
    if (a.settings !== undefined) throw new CrashError('BAD_OPTION', '--target exec takes --promise, not --settings');
    const promiseText = a.promise ?? 'durable';
    const parsed = parsePromise(promiseText);
    if (!parsed.ok) throw new CrashError('BAD_OPTION', parsed.message);
    if (a.devices !== undefined && a.devices !== '1' && a.devices !== '2') throw new CrashError('BAD_OPTION', `--devices ${a.devices}: 1 or 2`);
    const devices = a.devices === '2' ? 2 : 1;
    const target = execTarget({ run: a.run, check: a.check, promise: parsed.promise, devices });
    return { target, settings: [...target.settings], exec: { run: a.run, check: a.check, promise: promiseText, ...(devices === 2 ? { devices: '2' } : {}) } };
  }
  for (const [flag, value] of [
    ['--run', a.run],
    ['--check', a.check],
    ['--promise', a.promise],
    ['--devices', a.devices],
  ] as const) {
    if (value !== undefined) throw new CrashError('BAD_OPTION', `${flag} goes with --target exec`);
  }
  const target = BUILTIN_TARGETS.find((t) => t.name === a.target);
  if (target === undefined) throw new CrashError('BAD_OPTION', `unknown target ${JSON.stringify(a.target)}; choose from ${TARGET_NAMES.join(', ')}`);
  return { target, settings: selectSettings(target, a.settings) };
}

/** --settings a,b,c or all for a built-in target; without --settings its default ones (all when it names none). */
export function selectSettings(target: Target, text: string | undefined): TargetSetting[] {
  if (text === 'all' || (text === undefined && target.defaultSettings === undefined)) return [...target.settings];
  const names = text?.split(',').map((s) => s.trim()) ?? [...(target.defaultSettings ?? [])];
  return names.map((name) => {
    const setting = target.settings.find((s) => s.name === name);
    if (setting === undefined)
      throw new CrashError(
        'BAD_OPTION',
        `unknown ${target.name} setting ${JSON.stringify(name)}; choose from ${target.settings.map((s) => s.name).join(', ')} or all`,
      );
    return setting;
  });
}

/**
 * The selection as dm-log-writes recordings (crashtest --mode log-writes, fuzz) can take it: a
 * setting with dm-flakey power cuts only (settingFlakeyOnly) is refused when named (`named`), and
 * left out of the default ones (each said through `leftOut`; every built-in target's defaults
 * keep at least one, test/unit/target-postgres.test.ts).
 */
export function forLogWrites(selection: TargetSelection, named: boolean, leftOut: (why: string) => void): TargetSelection {
  const settings: TargetSetting[] = [];
  for (const s of selection.settings) {
    const why = settingFlakeyOnly(s);
    if (why === undefined) settings.push(s);
    else if (named) throw new CrashError('NOT_BUILT', why);
    else leftOut(why);
  }
  return { ...selection, settings };
}
