import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { ACK_FD, MARKED_FD, MARKED_FD_ENV, MARKED_LINE, parseProgramLine } from '../../targets/protocol.js';
import type { Command } from '../../targets/target.js';
import type { AckRecord } from '../../oracle/target-verdict.js';
import { CrashError } from '../crash-error.js';
import { watchChild, type WatchedChild } from '../writer/watch-child.js';

// A target's program as the harness sees it: started in a process group of its own (so a shell
// command's children freeze and die with it), its fd-3 lines parsed as they arrive and stamped
// with the time the harness read them (after the program's acknowledgement), its output kept.
// In log-writes mode (`markedReply`) each acknowledgement is answered on fd 4 once `onAck` (which
// puts its mark into the device's log) has returned: the protocol's reply (src/targets/protocol.ts).

const OUTPUT_LIMIT = 64 * 1024;

function groupState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

export class ProgramChild {
  readonly pid: number;
  readonly acks: AckRecord[] = [];
  readonly intents: { key: string; digest: string }[] = [];
  private bad: string | undefined;
  private readonly watched: WatchedChild;
  private readonly closed: Promise<void>;
  private waiters: (() => void)[] = [];
  /** Lines read after this moment carry this time instead (they were written before the cut). */
  private stampCap: number | undefined;

  private constructor(
    private readonly child: ChildProcess,
    private readonly epoch: number,
    readonly onAck?: (ack: AckRecord, position: number) => void,
  ) {
    if (child.pid === undefined) throw new CrashError('WRITER_FAILED', 'the target program did not start');
    this.pid = child.pid;
    this.watched = watchChild(
      child,
      ACK_FD,
      (lines) => this.onLines(lines),
      () => this.wake(),
      OUTPUT_LIMIT,
    );
    this.closed = this.watched.closed;
  }

  static spawn(
    command: Command,
    env: NodeJS.ProcessEnv,
    cwd: string,
    epoch: number,
    onAck?: (ack: AckRecord, position: number) => void,
    opts: { markedReply?: boolean } = {},
  ): ProgramChild {
    const [file = 'false', ...args] = command.argv;
    const reply = opts.markedReply === true;
    const stdio = reply ? (['ignore', 'pipe', 'pipe', 'pipe', 'pipe'] as const) : (['ignore', 'pipe', 'pipe', 'pipe'] as const);
    const child = spawn(file, args, { stdio: [...stdio], env: reply ? { ...env, [MARKED_FD_ENV]: String(MARKED_FD) } : env, cwd, detached: true });
    const replies = reply ? (child.stdio[MARKED_FD] as Writable | null) : null;
    // A program that closed fd 4 or ended: its replies have no reader, which is no error of its.
    replies?.on('error', () => undefined);
    const program = new ProgramChild(child, epoch, onAck);
    program.replies = replies;
    return program;
  }

  private replies: Writable | null = null;

  /**
   * Stop answering (the recording has what it needs): a program that waits for its answer stays
   * in its last acknowledgement until it is killed. The pipe stays open: at its end a program
   * would read EOF and might go on.
   */
  stopReplies(): void {
    this.replies = null;
  }

  /** Why the first fd-3 line that did not parse is wrong, if one did not (a method: it changes as lines arrive). */
  badLine(): string | undefined {
    return this.bad;
  }

  get rawLines(): string {
    return this.watched.raw();
  }

  get stderr(): string {
    return this.watched.output();
  }

  get exited(): { code: number | null; signal: NodeJS.Signals | null } | undefined {
    return this.watched.exit();
  }

  private onLines(complete: string): void {
    const now = Date.now() - this.epoch;
    const atMs = this.stampCap === undefined ? now : Math.min(now, this.stampCap);
    for (const line of complete.split('\n')) {
      const parsed = parseProgramLine(line);
      if (parsed === null) continue;
      if ('error' in parsed) {
        this.bad ??= parsed.error;
        continue;
      }
      if (parsed.kind === 'intent') this.intents.push({ key: parsed.key, digest: parsed.digest });
      else {
        const ack = { key: parsed.key, digest: parsed.digest, atMs };
        this.acks.push(ack);
        this.onAck?.(ack, this.acks.length - 1);
        if (this.replies !== null && this.replies.writable) this.replies.write(`${MARKED_LINE}\n`);
      }
    }
    this.wake();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  /** Resolve once `count` acknowledgements arrived, the program ended, or `timeoutMs` passed. */
  async waitForAcks(count: number, timeoutMs: number): Promise<'reached' | 'exited' | 'timed-out'> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      if (this.acks.length >= count) return 'reached';
      if (this.watched.exit() !== undefined) return 'exited';
      const left = until - Date.now();
      if (left <= 0) return 'timed-out';
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /**
   * SIGSTOP the whole group and wait until its leader is stopped: from then on nothing more is
   * acknowledged, so every line still in the pipe was written before the cut that follows.
   */
  async freeze(timeoutMs = 10_000): Promise<void> {
    if (this.watched.exit() !== undefined) return;
    try {
      process.kill(-this.pid, 'SIGSTOP');
    } catch {
      return;
    }
    const until = Date.now() + timeoutMs;
    for (;;) {
      const state = groupState(this.pid);
      if (state === undefined || state === 'T' || state === 't' || state === 'Z') break;
      if (Date.now() > until) throw new CrashError('WRITER_STOP_TIMEOUT', `target program ${this.pid} did not stop within ${timeoutMs} ms (state ${state})`);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }

  /** Lines read from now on were written before `atMs` (the cut). */
  capStamps(atMs: number): void {
    this.stampCap = atMs;
  }

  /** SIGKILL the group, wait for the exit and the end of every pipe. */
  async kill(): Promise<void> {
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await this.closed;
  }
}

/**
 * Run a command to its end (prepare, check) with a time limit; the group is killed at the limit.
 * `track` registers the group on the cleanup stack while it runs (a check that starts a server
 * on the mount must not outlive a Ctrl-C that unmounts it) and returns its release.
 */
export async function runToEnd(
  command: Command,
  env: NodeJS.ProcessEnv,
  cwd: string,
  timeoutMs: number,
  track?: (pid: number, label: string) => () => void,
): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string; timedOut: boolean }> {
  const [file = 'false', ...args] = command.argv;
  const child = spawn(file, args, { stdio: ['ignore', 'pipe', 'pipe'], env, cwd, detached: true });
  const untrack = child.pid !== undefined && track !== undefined ? track(child.pid, command.display) : () => undefined;
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c));
  child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr = (stderr + c).slice(-OUTPUT_LIMIT)));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // gone meanwhile
    }
  }, timeoutMs);
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => {
    child.on('close', (c, s) => resolve([c, s]));
    child.on('error', (err) => {
      stderr += `spawn error: ${err.message}`;
      resolve([127, null]);
    });
  });
  clearTimeout(timer);
  untrack();
  return { code, signal, stdout, stderr, timedOut };
}
