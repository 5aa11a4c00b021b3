import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { CleanupStack } from '../../dm/cleanup-stack.js';
import { run } from '../../run.js';
import { runInVm, VmError } from '../../vm/index.js';
import { bundleEntries, PROJECT_ROOT } from '../../crash/bundle.js';
import { choosePlacement } from '../../crash/placement.js';
import { BenchError } from '../bench-error.js';
import { TRACE_LINE } from './report.js';
import type { TraceRunResults, TraceSpec } from './run.js';

// The host side of `bench --block-trace`: bundle the trace driver and its WAL writer (plain
// JavaScript: tsx costs seconds a process under TCG) with a snapshot of the addon, and run them
// where dm-log-writes exists: this kernel if it has the target, else one boot of the microVM
// sharing the project and the output directory. The bundle is on a cleanup stack from the start.

/** Trace every spec into outDir (results.json, one .blkparse.txt per strategy, .strace with strace). */
export async function runBlockTrace(specs: readonly TraceSpec[], outDir: string, onLine: (line: string) => void): Promise<TraceRunResults> {
  const placement = await choosePlacement('log-writes', false).catch((error: unknown) => {
    throw new BenchError('SETUP_FAILED', error instanceof Error ? error.message : String(error), { cause: error });
  });
  const stack = new CleanupStack();
  // A directory this run makes goes again if the run is interrupted or fails; kept once it holds results.
  const made = existsSync(outDir) ? undefined : stack.add({ kind: 'dir', path: outDir });
  mkdirSync(outDir, { recursive: true });
  try {
    const bundle = await bundleEntries({
      prefix: 'block-trace-',
      entries: ['src/bench/block-trace/trace-main.ts', 'src/bench/block-trace/trace-writer.ts'],
      addons: ['powercut_wal.node', 'powercut_dm.node'],
      stack,
    });
    const specsFile = path.join(bundle.dir, 'specs.json');
    writeFileSync(specsFile, JSON.stringify(specs));
    const env = { POWERCUT_NATIVE_BUILD: bundle.nativeBuild, POWERCUT_DM_NATIVE_BUILD: bundle.nativeBuild };
    const argv = [process.execPath, bundle.files['trace-main']!, specsFile, outDir];
    let tail = '';
    let pending = '';
    const onOutput = (text: string) => {
      tail = (tail + text).slice(-4000);
      pending += text;
      let nl: number;
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl).replace(/\r$/, '');
        pending = pending.slice(nl + 1);
        if (line.startsWith(TRACE_LINE)) onLine(line.slice(TRACE_LINE.length).trim());
      }
    };
    let exitCode: number;
    if (placement.where === 'host') {
      const r = await run(argv[0]!, argv.slice(1), { env, allowFailure: true });
      onOutput(`${r.stdout}\n${r.stderr}\n`);
      exitCode = r.exitCode;
    } else {
      const rel = path.relative(PROJECT_ROOT, outDir);
      const shares = rel.startsWith('..') || path.isAbsolute(rel) ? [PROJECT_ROOT, outDir] : [PROJECT_ROOT];
      try {
        ({ exitCode } = await runInVm(argv, { cwd: PROJECT_ROOT, shares, env, timeoutMs: 300_000 + specs.length * 240_000, onOutput }));
      } catch (error) {
        if (error instanceof VmError) throw new BenchError('SETUP_FAILED', `the microVM failed: ${error.message}`, { cause: error });
        throw error;
      }
    }
    const resultsFile = path.join(outDir, 'results.json');
    if (exitCode !== 0 || !existsSync(resultsFile)) {
      throw new BenchError(
        'SETUP_FAILED',
        `the block trace ${placement.where === 'vm' ? 'in the microVM ' : ''}exited with ${exitCode}: ${tail.trim().split('\n').slice(-6).join(' | ')}`,
      );
    }
    const results = JSON.parse(readFileSync(resultsFile, 'utf8')) as TraceRunResults;
    if (made !== undefined) stack.forget(made);
    return results;
  } finally {
    await stack.unwind();
  }
}
