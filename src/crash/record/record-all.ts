import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { run } from '../../run.js';
import { runInVm, VmError } from '../../vm/index.js';
import { CleanupStack } from '../../dm/cleanup-stack.js';
import { bundleEntries, PROJECT_ROOT } from '../bundle.js';
import { outcomeFile, RECORD_LINE, type RecordingMeta, type RecordOutcome, type RecordSpec } from './session.js';
import type { TargetRecordingMeta, TargetRecordSpec } from '../target/recording.js';
import { choosePlacement, type Placement } from '../placement.js';
import { CrashError } from '../crash-error.js';

// The host side of recording: bundle the recorder, its writer and the targets' program (plain JavaScript: under TCG tsx
// costs 6-8 s a process), snapshot both native addons next to them (a `pnpm build:native` in the
// same tree must not change the binaries mid-run), and run every spec in ONE process where
// dm-log-writes exists: this kernel if it has the target, else one boot of the microVM, whose
// output lands in a directory under the project root (shared read-write with the guest).

export interface RecordRunResult<M = RecordingMeta> {
  /** One per spec, in spec order; fewer when `stop` ended the run early. */
  outcomes: RecordOutcome<M>[];
  placement: Placement;
  wallMs: number;
  /** The run was ended by `stop` before every spec was recorded. */
  stopped: boolean;
}

export interface RecordAllOptions<M = RecordingMeta> {
  forceVm?: boolean;
  /** One line per recording, as it is made. */
  onLine?: (line: string) => void;
  /**
   * Spec `n` is recorded (or failed), its files complete: in the microVM as each recording ends,
   * so the host can check it while the next is made; on this kernel once all are made.
   */
  onRecorded?: (n: number, outcome: RecordOutcome<M>) => void;
  /** End the run early (the microVM is killed): the specs not yet recorded get no outcome. */
  stop?: AbortSignal;
}

const ADDONS = ['powercut_wal.node', 'powercut_dm.node'];

async function bundleRecorder(stack: CleanupStack): Promise<{ dir: string; main: string; nativeBuild: string }> {
  const out = await bundleEntries({
    prefix: 'record-',
    entries: ['src/crash/record/recorder-main.ts', 'src/crash/record/marked-writer.ts', 'src/targets/program-main.ts'],
    addons: ADDONS,
    stack,
  });
  return { dir: out.dir, main: out.files['recorder-main']!, nativeBuild: out.nativeBuild };
}

/**
 * Record every spec into outRoot/<spec.name>/ (outRoot must be inside the project when the VM
 * records: that is the directory the guest can write). `onLine` gets one line per recording.
 */
export function recordAll(specs: readonly RecordSpec[], outRoot: string, opts?: RecordAllOptions): Promise<RecordRunResult>;
/** Record target programs (src/crash/target/record.ts) the same way. */
export function recordAll(
  specs: readonly TargetRecordSpec[],
  outRoot: string,
  opts?: RecordAllOptions<TargetRecordingMeta>,
): Promise<RecordRunResult<TargetRecordingMeta>>;
export async function recordAll(
  specs: readonly (RecordSpec | TargetRecordSpec)[],
  outRoot: string,
  opts: RecordAllOptions<RecordingMeta> | RecordAllOptions<TargetRecordingMeta> = {},
): Promise<RecordRunResult<RecordingMeta | TargetRecordingMeta>> {
  const placement = await choosePlacement('log-writes', opts.forceVm ?? false);
  const rel = path.relative(PROJECT_ROOT, outRoot);
  if (placement.where === 'vm' && (rel.startsWith('..') || path.isAbsolute(rel))) {
    throw new CrashError('BAD_OPTION', `recordings made in the microVM must go under the project (${PROJECT_ROOT}), not ${outRoot}`);
  }
  mkdirSync(outRoot, { recursive: true });
  const started = Date.now();
  // On a cleanup stack (and so in its ledger): Ctrl-C or a SIGTERM removes the bundle, and after
  // a SIGKILL the next command does.
  const stack = new CleanupStack();
  const bundle = await bundleRecorder(stack).catch(async (error: unknown) => {
    await stack.unwind();
    throw error;
  });
  const env = { POWERCUT_NATIVE_BUILD: bundle.nativeBuild, POWERCUT_DM_NATIVE_BUILD: bundle.nativeBuild };
  const specsFile = path.join(bundle.dir, 'specs.json');
  writeFileSync(specsFile, JSON.stringify(specs));
  const onLine = opts.onLine ?? (() => undefined);
  // The recorder prints one line per spec, in spec order, after writing that spec's outcome file.
  const published: RecordOutcome<RecordingMeta | TargetRecordingMeta>[] = [];
  const onRecorded = opts.onRecorded as ((n: number, outcome: RecordOutcome<RecordingMeta | TargetRecordingMeta>) => void) | undefined;
  const publish = (): void => {
    const n = published.length;
    const outcome = JSON.parse(readFileSync(outcomeFile(outRoot, n), 'utf8')) as RecordOutcome<RecordingMeta | TargetRecordingMeta>;
    published.push(outcome);
    onRecorded?.(n, outcome);
  };
  try {
    const argv = [process.execPath, bundle.main, specsFile, outRoot];
    if (placement.where === 'host') {
      const r = await run(argv[0] as string, argv.slice(1), { env, allowFailure: true });
      for (const line of r.stdout.split('\n'))
        if (line.startsWith(RECORD_LINE)) {
          onLine(line.slice(RECORD_LINE.length).trim());
          publish();
        }
      if (r.exitCode === 2) throw new CrashError('RECORD_FAILED', `the recorder failed: ${r.stderr.trim()}`);
    } else {
      let pending = '';
      let output = '';
      const timeoutMs = 240_000 + specs.length * 120_000;
      try {
        const r = await runInVm(argv, {
          cwd: PROJECT_ROOT,
          shares: [PROJECT_ROOT],
          env,
          timeoutMs,
          onOutput: (text) => {
            output = (output + text).slice(-8000);
            pending += text;
            let nl: number;
            while ((nl = pending.indexOf('\n')) >= 0) {
              const line = pending.slice(0, nl).replace(/\r$/, '');
              pending = pending.slice(nl + 1);
              if (line.startsWith(RECORD_LINE)) {
                onLine(line.slice(RECORD_LINE.length).trim());
                publish();
              }
            }
          },
          ...(opts.stop ? { signal: opts.stop } : {}),
        });
        if (r.exitCode === 2 || !existsSync(path.join(outRoot, 'index.json'))) {
          throw new CrashError('RECORD_FAILED', `the recorder in the microVM exited with ${r.exitCode}: ${output.trim().split('\n').slice(-8).join(' | ')}`);
        }
      } catch (error) {
        if (error instanceof VmError && error.code === 'ABORTED') return { outcomes: published, placement, wallMs: Date.now() - started, stopped: true };
        if (error instanceof VmError) throw new CrashError('RECORD_FAILED', `the microVM failed: ${error.message}`, { cause: error });
        throw error;
      }
    }
    const outcomes = JSON.parse(readFileSync(path.join(outRoot, 'index.json'), 'utf8')) as RecordOutcome<RecordingMeta | TargetRecordingMeta>[];
    return { outcomes, placement, wallMs: Date.now() - started, stopped: false };
  } finally {
    await stack.unwind();
  }
}
