import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { runInVm, VmError } from '../vm/index.js';
import { CrashError } from './crash-error.js';
import { parseProtocolLine, type Reporter } from './reporter.js';
import type { RunOptions } from './options.js';
import type { RunResults } from './results.js';
import type { TrialOutcome, WalTrialOutcome } from './outcome.js';
import { CleanupStack } from '../dm/index.js';
import { bundleCrashtest, PROJECT_ROOT, useAddonSnapshot } from './bundle.js';

// The host half of a run in the microVM: bundle crashtest and the writer here (native speed), boot
// the VM once, run the bundled `crashtest --in-vm` inside it with the same, fully resolved options, turn its protocol lines
// back into progress on this terminal, and read its results file from a directory both share.

/** The argument vector of the run inside the VM. */
export function innerArgs(options: RunOptions, resultsFile: string, writerBundle: string): string[] {
  const args = [
    ...(options.target === undefined ? ['--strategy', options.strategies.join(','), '--scenario', options.scenarioName] : targetArgs(options.target)),
    '--fs',
    options.fs,
    '--trials',
    String(options.trials),
    '--seed',
    String(options.seed),
    '--mode',
    options.mode,
    '--artifacts',
    options.artifactsRoot,
    '--in-vm',
    '--results-file',
    resultsFile,
    '--writer-bundle',
    writerBundle,
    '--command',
    options.command,
  ];
  if (options.groupCommit) args.push('--group-commit');
  if (options.onlyTrial !== undefined) args.push('--trial', String(options.onlyTrial));
  if (options.stopAtViolation === true) args.push('--fail-fast');
  return args;
}

function targetArgs(t: NonNullable<RunOptions['target']>): string[] {
  if (t.exec !== undefined)
    return [
      '--target',
      'exec',
      '--run',
      t.exec.run,
      '--check',
      t.exec.check,
      '--promise',
      t.exec.promise,
      ...(t.exec.devices === undefined ? [] : ['--devices', t.exec.devices]),
    ];
  return ['--target', t.name, '--settings', t.settings.join(',')];
}

/** Whether `child` is `parent` or inside it. */
function within(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Run the trials inside the microVM; returns the results the run inside wrote. */
export async function runInMicroVm<T extends TrialOutcome = WalTrialOutcome>(options: RunOptions, reporter: Reporter): Promise<RunResults<T>> {
  // On the cleanup stack, so that Ctrl-C removes them too (the stack's signal handler unwinds it).
  const stack = new CleanupStack();
  const bundles = await bundleCrashtest(PROJECT_ROOT, stack);
  // POWERCUT_* variables reach the guest: the run inside loads the same addon snapshot.
  const restoreEnv = useAddonSnapshot(bundles);
  const scratchParent = path.join(PROJECT_ROOT, 'results', 'crashtest');
  mkdirSync(scratchParent, { recursive: true });
  mkdirSync(options.artifactsRoot, { recursive: true });
  const scratch = mkdtempSync(path.join(scratchParent, '.vm-'));
  stack.add({ kind: 'dir', path: scratch });
  const resultsFile = path.join(scratch, 'results.json');
  const shares = [PROJECT_ROOT];
  if (!within(PROJECT_ROOT, options.artifactsRoot)) shares.push(options.artifactsRoot);
  const argv = [process.execPath, bundles.cli, ...innerArgs(options, resultsFile, bundles.writer)];
  // Generous: a stuck VM is killed, but a slow TCG trial must not be.
  const subjects = options.target === undefined ? options.strategies.length : options.target.settings.length;
  const timeoutMs = 300_000 + subjects * (options.onlyTrial === undefined ? options.trials : 1) * 90_000;
  let pending = '';
  const onOutput = (text: string) => {
    pending += text;
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      const message = parseProtocolLine(line);
      if (message === null) process.stderr.write(`${line}\n`);
      else if (message.kind === 'begin') reporter.begin(message.total);
      else if (message.kind === 'trial') reporter.trial(message.outcome, message.at);
      else reporter.note(message.text);
    }
  };
  try {
    let exitCode: number;
    try {
      ({ exitCode } = await runInVm(argv, { cwd: PROJECT_ROOT, shares, timeoutMs, onOutput }));
    } catch (error) {
      if (error instanceof VmError) throw new CrashError('VM_FAILED', `the microVM failed: ${error.message}`, { cause: error });
      throw error;
    }
    if (pending.trim() !== '') process.stderr.write(`${pending}\n`);
    if (!existsSync(resultsFile)) {
      throw new CrashError('VM_FAILED', `the run inside the microVM ended with status ${exitCode} and wrote no results (its output is above)`);
    }
    return JSON.parse(readFileSync(resultsFile, 'utf8')) as RunResults<T>;
  } finally {
    reporter.end();
    restoreEnv();
    await stack.unwind();
  }
}
