import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CrashError } from './crash-error.js';
import { runFlakeyMode } from './flakey/mode.js';
import type { Reporter } from './reporter.js';
import type { RunOptions } from './options.js';
import type { RunResults } from './results.js';
import type { WalTrialOutcome } from './outcome.js';

// The one call that runs a crash mode. dm-log-writes mode (src/crash/record/mode.ts) is loaded
// lazily: it records in the VM and checks on the host, so the crashtest bundle that runs inside the
// VM must not carry it (nor esbuild, which it uses to bundle the recorder). A checkout or bundle
// without it refuses `--mode log-writes` with exit 2 rather than faking it.

const here = path.dirname(fileURLToPath(import.meta.url));

type ModeRunner = (options: RunOptions, reporter: Reporter, inVm: boolean) => Promise<RunResults<WalTrialOutcome>>;

/** The log-writes module's file, if it has been written (the .ts source under tsx). */
export function logWritesModule(): string | undefined {
  // The .ts source under tsx. The bundled crashtest in the VM has no such sibling: log-writes
  // checks its crash states on the host, never inside the VM.
  for (const name of [path.join('record', 'mode.ts')]) {
    const file = path.join(here, name);
    if (existsSync(file)) return file;
  }
  return undefined;
}

/** Whether a mode can run in this checkout (checked before any device or VM is touched). */
export function checkModeBuilt(mode: RunOptions['mode']): void {
  if (mode === 'log-writes' && logWritesModule() === undefined) {
    throw new CrashError('NOT_BUILT', '--mode log-writes is not built yet (src/crash/record/mode.ts); use --mode flakey');
  }
}

async function logWritesRunner(): Promise<ModeRunner> {
  const file = logWritesModule();
  if (file === undefined) throw new CrashError('NOT_BUILT', '--mode log-writes is not built yet');
  const mod = (await import(pathToFileURL(file).href)) as { runLogWritesMode?: ModeRunner };
  if (typeof mod.runLogWritesMode !== 'function') throw new CrashError('NOT_BUILT', `${file} does not export runLogWritesMode(options, reporter, inVm)`);
  return mod.runLogWritesMode;
}

/** Run the trials of `options.mode` on this kernel. */
export async function runMode(options: RunOptions, reporter: Reporter, inVm: boolean): Promise<RunResults<WalTrialOutcome>> {
  checkModeBuilt(options.mode);
  const runner = options.mode === 'flakey' ? runFlakeyMode : await logWritesRunner();
  return runner(options, reporter, inVm);
}
