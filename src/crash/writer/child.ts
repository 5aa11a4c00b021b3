import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { parseEvents, type WorkloadEvent } from '../../workload/events.js';
import { EVENT_FD, type WriterConfig } from '../../workload/writer-config.js';
import { CrashError } from '../crash-error.js';
import { watchChild, type WatchedChild } from './watch-child.js';
import { entrySpan, type Trigger } from '../plan/scenario.js';

// The writer as seen from the harness: a child process whose event pipe is read live (to know
// when a scenario's moment has come) and kept whole (the history the oracle judges).

const STDERR_LIMIT = 64 * 1024;

/** What the live stream has shown so far: the counters triggers are defined on. */
export interface StreamProgress {
  appended: number;
  acked: number;
  failed: number;
  truncating: number;
  durable: number | null;
  bytes: number;
}

export type WaitOutcome = 'reached' | 'writer-exited' | 'timed-out';

interface Waiter {
  reached: () => boolean;
  resolve: (outcome: WaitOutcome) => void;
}

/** The state letter of /proc/PID/stat (R, S, D, T, t, Z, ...), or undefined when gone. */
function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

export class WriterChild {
  readonly pid: number;
  readonly progress: StreamProgress = { appended: 0, acked: 0, failed: 0, truncating: 0, durable: null, bytes: 0 };
  /** The first `failed` events, for error messages. */
  readonly failures: WorkloadEvent[] = [];
  private readonly watched: WatchedChild;
  private waiters: Waiter[] = [];
  private readonly closed: Promise<void>;
  private truncatingAt: number[] = [];

  private constructor(private readonly child: ChildProcess) {
    if (child.pid === undefined) throw new CrashError('WRITER_FAILED', 'the writer process did not start');
    this.pid = child.pid;
    this.watched = watchChild(
      child,
      EVENT_FD,
      (lines) => this.onLines(lines),
      () => this.wake(),
      STDERR_LIMIT,
    );
    this.closed = this.watched.closed;
  }

  /** Start the bundled writer with `config`; events arrive on a pipe at EVENT_FD. */
  static spawn(bundle: string, config: WriterConfig, env: NodeJS.ProcessEnv = process.env): WriterChild {
    const child = spawn(process.execPath, [bundle, JSON.stringify(config)], {
      stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
      env,
    });
    return new WriterChild(child);
  }

  /** Start the bundled writer without a configuration: it loads and waits for start(). */
  static spawnIdle(bundle: string, env: NodeJS.ProcessEnv = process.env): WriterChild {
    const child = spawn(process.execPath, [bundle], { stdio: ['pipe', 'pipe', 'pipe', 'pipe'], env });
    return new WriterChild(child);
  }

  /** Hand an idle writer its configuration; false when it is no longer running. */
  start(config: WriterConfig): boolean {
    const stdin = this.child.stdin;
    if (this.watched.exit() !== undefined || stdin === null || stdin.destroyed) return false;
    // A writer that died meanwhile makes this an EPIPE: 'close' reports its exit, nothing to do here.
    stdin.on('error', () => undefined);
    stdin.end(`${JSON.stringify(config)}\n`);
    return true;
  }

  /** The raw event stream received so far (the whole of it once killed). */
  get rawEvents(): string {
    return this.watched.raw();
  }

  get stderr(): string {
    return this.watched.output();
  }

  get exited(): { code: number | null; signal: NodeJS.Signals | null } | undefined {
    return this.watched.exit();
  }

  private onLines(complete: string): void {
    for (const event of parseEvents(complete).events) this.count(event);
    this.wake();
  }

  private count(event: WorkloadEvent): void {
    const p = this.progress;
    switch (event.type) {
      case 'appended':
        p.appended++;
        p.bytes += entrySpan(event.size);
        break;
      case 'acked':
        p.acked++;
        break;
      case 'failed':
        p.failed++;
        if (this.failures.length < 5) this.failures.push(event);
        break;
      case 'truncating':
        p.truncating++;
        this.truncatingAt.push(p.appended);
        break;
      case 'durable':
        p.durable = p.durable === null ? event.seq : Math.max(p.durable, event.seq);
        break;
      default:
        break;
    }
  }

  private wake(): void {
    const still: Waiter[] = [];
    for (const w of this.waiters) {
      if (w.reached()) w.resolve('reached');
      else if (this.watched.exit() !== undefined) w.resolve('writer-exited');
      else still.push(w);
    }
    this.waiters = still;
  }

  private reachedTrigger(trigger: Trigger, failedBefore: number): boolean {
    const p = this.progress;
    switch (trigger.kind) {
      case 'appended':
        return p.appended >= trigger.count;
      case 'acked':
        return p.acked >= trigger.count;
      case 'bytes':
        return p.bytes >= trigger.bytes;
      case 'truncating': {
        const at = this.truncatingAt[trigger.count - 1];
        return at !== undefined && p.appended >= at + trigger.thenAppended;
      }
      case 'failed':
        return p.failed > failedBefore;
    }
  }

  /** Resolve when the trigger is reached, the writer exits, or `timeoutMs` passes. */
  waitFor(trigger: Trigger, timeoutMs: number): Promise<WaitOutcome> {
    const failedBefore = this.progress.failed;
    const limit = trigger.kind === 'failed' ? Math.min(trigger.timeoutMs, timeoutMs) : timeoutMs;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve('timed-out');
      }, limit);
      const waiter: Waiter = {
        reached: () => this.reachedTrigger(trigger, failedBefore),
        resolve: (outcome) => {
          clearTimeout(timer);
          resolve(outcome);
        },
      };
      if (waiter.reached()) return waiter.resolve('reached');
      if (this.watched.exit() !== undefined) return waiter.resolve('writer-exited');
      this.waiters.push(waiter);
    });
  }

  // Freezes the writer and returns once its main thread is really stopped. From then on it can
  // emit no event, so every ack in the history happened before the power cut that follows: an
  // ack the writer received from a device already dropping writes would be the device's lie, not
  // the WAL's, and must not be in the history. (A thread of its blocked in fdatasync stops when
  // the call returns; whatever it synced then is on disk, merely unacknowledged.)
  async freeze(timeoutMs = 10_000): Promise<void> {
    if (this.watched.exit() !== undefined) return;
    try {
      process.kill(this.pid, 'SIGSTOP');
    } catch {
      return; // already gone
    }
    const until = Date.now() + timeoutMs;
    for (;;) {
      const state = processState(this.pid);
      if (state === undefined || state === 'T' || state === 't' || state === 'Z') return;
      if (Date.now() > until) throw new CrashError('WRITER_STOP_TIMEOUT', `writer ${this.pid} did not stop within ${timeoutMs} ms (state ${state})`);
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
  }

  /** SIGKILL, then wait for the exit and the end of every pipe; returns the whole event stream. */
  async kill(): Promise<string> {
    if (this.watched.exit() === undefined) {
      try {
        process.kill(this.pid, 'SIGKILL');
      } catch {
        // already gone: 'close' follows
      }
    }
    await this.closed;
    return this.watched.raw();
  }

  /** Wait for the writer to end by itself (used when it exited before the cut). */
  async ended(): Promise<void> {
    await this.closed;
  }
}
