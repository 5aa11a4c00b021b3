import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';

// The pipes of a child the harness judges (the WAL's writer, a target's program): its event pipe
// read live, line by line, and kept whole; its stdout and stderr kept (the last `limit`
// characters); and its end, which comes after the process exited AND every pipe reached its end,
// so the history is whole by then.

export type ChildExit = { code: number | null; signal: NodeJS.Signals | null };

export interface WatchedChild {
  closed: Promise<void>;
  /** Everything read from the event pipe so far (all of it once closed). */
  raw(): string;
  /** stdout and stderr so far, interleaved, with a spawn error appended. */
  output(): string;
  /** How it ended, once every pipe is closed. */
  exit(): ChildExit | undefined;
}

/** `onLines` gets the complete lines of each chunk (with their newlines); a partial line waits for its end. */
export function watchChild(child: ChildProcess, fd: number, onLines: (lines: string) => void, onClose: () => void, limit = 64 * 1024): WatchedChild {
  let output = '';
  let raw = '';
  let pending = '';
  let exit: ChildExit | undefined;
  const events = child.stdio[fd] as Readable;
  events.setEncoding('utf8');
  events.on('data', (chunk: string) => {
    raw += chunk;
    pending += chunk;
    const nl = pending.lastIndexOf('\n');
    if (nl < 0) return;
    const complete = pending.slice(0, nl + 1);
    pending = pending.slice(nl + 1);
    onLines(complete);
  });
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-limit);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const closed = new Promise<void>((resolve) => {
    child.on('close', (code, signal) => {
      exit = { code, signal };
      onClose();
      resolve();
    });
  });
  child.on('error', (err) => {
    output += `\nspawn error: ${err.message}`;
  });
  return { closed, raw: () => raw, output: () => output, exit: () => exit };
}
