import { execa, type Options as ExecaOptions } from 'execa';
import { logger } from './log.js';

const log = logger('run');

// What went wrong running a system tool: it was missing, or it exited non-zero (or was killed).
export type RunErrorCode = 'COMMAND_NOT_FOUND' | 'COMMAND_FAILED' | 'COMMAND_TIMEOUT';

export class RunError extends Error {
  override readonly name = 'RunError';
  constructor(
    readonly code: RunErrorCode,
    message: string,
    readonly command: string,
    readonly exitCode: number | undefined,
    readonly stderr: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

export interface RunOptions {
  /** Environment additions (merged over process.env). */
  env?: Record<string, string>;
  /** Kill the command after this many milliseconds. */
  timeoutMs?: number;
  /** Data for the command's stdin. */
  input?: string | Uint8Array;
  /** Working directory. */
  cwd?: string;
  /** Resolve with the result instead of throwing when the exit status is non-zero. */
  allowFailure?: boolean;
  /**
   * A failure here is one of the answers the caller expects (it still throws): logged at debug,
   * not as a warning, so an expected outcome does not read as a fault in the user's log.
   */
  failureExpected?: boolean;
}

// The one way powercut runs a system tool (dmsetup, losetup, mkfs, mount, qemu, fio, ...):
// it logs the command line, its stderr and its exit status, and turns failure into a RunError
// whose message carries the tool's own words, so a user sees why, not a stack trace.
export async function run(command: string, args: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  const line = [command, ...args].join(' ');
  const execaOptions: ExecaOptions = {
    reject: false,
    stripFinalNewline: true,
    env: options.env,
    timeout: options.timeoutMs,
    input: options.input,
    cwd: options.cwd,
  };
  const started = Date.now();
  const result = await execa(command, args, execaOptions);
  const stdout = String(result.stdout ?? '');
  const stderr = String(result.stderr ?? '');
  const exitCode = result.exitCode ?? -1;
  log.debug({ cmd: line, exitCode, stderr: stderr || undefined, ms: Date.now() - started }, 'ran');
  if (result.failed) {
    const notFound = (result.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
    if (notFound) {
      throw new RunError('COMMAND_NOT_FOUND', `${command}: command not found (is it installed? try 'pnpm doctor')`, line, undefined, '', {
        cause: result.cause,
      });
    }
    if (result.timedOut) {
      throw new RunError('COMMAND_TIMEOUT', `${line}: timed out after ${options.timeoutMs} ms`, line, undefined, stderr);
    }
    if (options.allowFailure && result.exitCode !== undefined) {
      log.debug({ cmd: line, exitCode }, 'failure allowed');
      return { stdout, stderr, exitCode };
    }
    const why = stderr.trim() || stdout.trim() || (result.signal ? `killed by ${result.signal}` : `exit status ${exitCode}`);
    if (options.failureExpected) log.debug({ cmd: line, exitCode, stderr }, 'command failed (an answer the caller expects)');
    else log.warn({ cmd: line, exitCode, stderr }, 'command failed');
    throw new RunError('COMMAND_FAILED', `${line}: ${why}`, line, result.exitCode, stderr);
  }
  return { stdout, stderr, exitCode };
}
