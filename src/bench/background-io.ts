import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { processStartTime, type CleanupStack } from '../dm/index.js';
import { BenchError } from './bench-error.js';
import type { BackgroundIo } from './options.js';

// Competing background I/O: fio in a separate process, started under `ionice -c CLASS` (ionice
// sets the class and execs fio, whose job processes inherit it), the way a compaction, a backup
// or a bulk load competes with a log for the disk. fio because it does O_DIRECT with aligned
// buffers and reports what it wrote; the patterns are the four corners of "what else is writing".
export const BACKGROUND_PATTERNS = ['seq-buffered', 'seq-direct', 'rand-buffered', 'rand-direct'] as const;
export type BackgroundPattern = (typeof BACKGROUND_PATTERNS)[number];
export type IoClass = Exclude<BackgroundIo, 'none'>;

// ionice's class numbers (ionice(1)): 1 realtime, 2 best-effort, 3 idle.
export const IONICE_CLASS: Record<IoClass, string> = { realtime: '1', 'best-effort': '2', idle: '3' };

const FILE_BYTES = 256 * 1024 * 1024;

// fio's job for a pattern: sequential 1 MiB or random 64 KiB writes over a 256 MiB file, through
// the page cache with an fdatasync every 8 MiB (so the data reaches the disk in the writer's own
// context, not only the flusher's) or with O_DIRECT; until stopped (SIGTERM makes fio print its JSON).
export function backgroundFioArgs(dir: string, pattern: BackgroundPattern): string[] {
  const seq = pattern.startsWith('seq');
  const direct = pattern.endsWith('direct');
  const bs = seq ? 1024 * 1024 : 64 * 1024;
  return [
    '--name=background',
    `--filename=${join(dir, 'background-io.dat')}`,
    `--size=${FILE_BYTES}`,
    `--bs=${bs}`,
    `--rw=${seq ? 'write' : 'randwrite'}`,
    `--direct=${direct ? 1 : 0}`,
    ...(direct ? [] : [`--fdatasync=${(8 * 1024 * 1024) / bs}`]),
    '--ioengine=psync',
    '--time_based',
    '--runtime=86400',
    '--output-format=json',
  ];
}

export interface BackgroundOutcome {
  /** Bytes fio wrote and over how long (its own account, from start to stop). */
  bytes: number;
  runtimeMs: number;
  mbPerSec: number;
}

export interface BackgroundLoad {
  pid: number;
  /** Stops fio and returns what it wrote. */
  stop(): Promise<BackgroundOutcome>;
}

function parseOutcome(stdout: string): BackgroundOutcome {
  const start = stdout.indexOf('{');
  try {
    const job = (JSON.parse(stdout.slice(Math.max(start, 0))) as { jobs: { write: { io_bytes: number }; job_runtime: number }[] }).jobs[0];
    if (!job) throw new Error('no job');
    const bytes = job.write.io_bytes;
    const runtimeMs = job.job_runtime;
    return { bytes, runtimeMs, mbPerSec: runtimeMs > 0 ? bytes / 1e6 / (runtimeMs / 1000) : 0 };
  } catch (err) {
    throw new BenchError('PARSE_FAILED', `the background fio printed no usable JSON: ${stdout.slice(0, 200)}`, { cause: err });
  }
}

// Starts the competing writer on `dir` in the given I/O class. A class only changes anything under
// an I/O scheduler that honours it (bfq); the suite records each device's scheduler so a reader can tell.
export function startBackgroundIo(dir: string, cls: IoClass, pattern: BackgroundPattern = 'seq-buffered'): Promise<BackgroundLoad> {
  const child = spawn('ionice', ['-c', IONICE_CLASS[cls], ...(cls === 'idle' ? [] : ['-n', '4']), 'fio', ...backgroundFioArgs(dir, pattern)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    child.once('error', (err) => reject(new BenchError('SETUP_FAILED', `could not start the background writer (ionice fio): ${err.message}`)));
    child.once('spawn', () => {
      const pid = child.pid!;
      // fio exits at once on a bad option or a directory it cannot write: give it a moment to fail.
      const early = setTimeout(() => {
        resolve({
          pid,
          async stop() {
            child.kill('SIGTERM');
            await exited;
            return parseOutcome(stdout);
          },
        });
      }, 300);
      void exited.then((code) => {
        clearTimeout(early);
        reject(new BenchError('SETUP_FAILED', `the background writer exited at once (code ${code}): ${stderr.trim().slice(-300) || stdout.slice(0, 300)}`));
      });
    });
  });
}

// The writer goes on the run's cleanup stack: killed on teardown (also on Ctrl-C or when only
// this process is signalled) before the filesystem it writes to is unmounted.
export function trackBackground(stack: CleanupStack, load: BackgroundLoad): void {
  const startTime = processStartTime(load.pid);
  if (startTime !== undefined) stack.add({ kind: 'process', pid: load.pid, startTime, label: 'background fio' });
}
