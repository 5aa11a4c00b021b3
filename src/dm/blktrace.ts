import { existsSync, readdirSync } from 'node:fs';
import { execa, type ResultPromise } from 'execa';
import type { CleanupStack, Registration } from './cleanup-stack.js';
import { DeviceError } from './device-error.js';
import { processStartTime } from './resource.js';
import { runTool } from './tool.js';

// blktrace and blkparse: a block trace of one device of ours, taken where the kernel allows it
// (BLKTRACESETUP needs CAP_SYS_ADMIN on the device's own kernel, and debugfs mounted: the
// microVM's init mounts it). The trace is written per CPU into a directory as NAME.blktrace.N.

const DEBUGFS_BLOCK = '/sys/kernel/debug/block';
const SETTLE_MS = 1000;

/** Why a block trace cannot be taken here, or undefined when it can. */
export function blktraceUnavailable(): string | undefined {
  if (!existsSync(DEBUGFS_BLOCK))
    return `debugfs is not mounted (${DEBUGFS_BLOCK} is missing; in the microVM: pnpm vm --prepare rebuilds an init that mounts it)`;
  return undefined;
}

/** A running blktrace; stop() ends it cleanly (SIGINT) so every per-CPU buffer is written out. */
export class Blktrace {
  private constructor(
    private readonly child: ResultPromise<{ reject: false; stdin: 'ignore' }>,
    private readonly stack: CleanupStack,
    private readonly registration: Registration,
    readonly dir: string,
    readonly name: string,
  ) {}

  /** Starts `blktrace -d device -D dir -o name` and returns once its per-CPU files exist. */
  static async start(stack: CleanupStack, device: string, dir: string, name: string): Promise<Blktrace> {
    const child = execa('blktrace', ['-d', device, '-D', dir, '-o', name], { reject: false, stdin: 'ignore' });
    const startTime = child.pid === undefined ? undefined : processStartTime(child.pid);
    if (child.pid === undefined || startTime === undefined) {
      const r = await child;
      throw new DeviceError('TOOL_FAILED', `blktrace -d ${device} did not start: ${String(r.stderr || r.stdout || r.exitCode).trim()}`);
    }
    const registration = stack.add({ kind: 'process', pid: child.pid, startTime, label: 'blktrace' });
    const trace = new Blktrace(child, stack, registration, dir, name);
    const deadline = Date.now() + 30_000;
    // blktrace opens one output file per CPU once the kernel's relay channels are set up.
    while (!readdirSync(dir).some((f) => f.startsWith(`${name}.blktrace.`))) {
      if (child.exitCode !== null || Date.now() > deadline) {
        const r = await trace.stop().catch(() => undefined);
        throw new DeviceError('TOOL_FAILED', `blktrace -d ${device} did not start tracing${r === undefined ? '' : `: ${r.trim()}`}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    // The files exist once the relay channels are set up, a moment before blktrace starts the
    // trace (BLKTRACESTART): a periodic WAL's first sync was missed in a run that began right away.
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    return trace;
  }

  /** Stops tracing and waits for blktrace to write its buffers out; returns its summary lines. */
  async stop(): Promise<string> {
    this.child.kill('SIGINT');
    const r = await this.child;
    this.stack.forget(this.registration);
    if (r.exitCode !== 0 && r.signal !== 'SIGINT')
      throw new DeviceError('TOOL_FAILED', `blktrace exited with ${r.exitCode ?? r.signal}: ${String(r.stderr).trim()}`);
    return String(r.stdout);
  }
}

/** blkparse's default text output of a trace written by Blktrace (all CPUs merged in time order). */
export async function blkparse(dir: string, name: string): Promise<string> {
  return (await runTool('blkparse', ['-i', name, '-D', dir], { timeoutMs: 120_000 })).stdout;
}
