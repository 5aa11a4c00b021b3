import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { run } from '../run.js';
import type { BackgroundIo } from './options.js';

const WRITER = fileURLToPath(new URL('./background-writer.ts', import.meta.url));

// ionice's class numbers (ionice(1)): 1 realtime, 2 best-effort, 3 idle.
export const IONICE_CLASS: Record<Exclude<BackgroundIo, 'none'>, string> = { realtime: '1', 'best-effort': '2', idle: '3' };

export interface BackgroundLoad {
  pid: number;
  stop(): Promise<void>;
}

// Starts the competing writer on `dir` and puts it in the given I/O class. ionice classes only
// change anything under an I/O scheduler that honours them (bfq); the report records the disk's
// scheduler so a reader can tell.
export async function startBackgroundIo(dir: string, cls: Exclude<BackgroundIo, 'none'>): Promise<BackgroundLoad> {
  // The same node and loader flags as this process (tsx), so the TypeScript writer runs as is.
  const child: ChildProcess = spawn(process.execPath, [...process.execArgv, WRITER, dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start the background writer');
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await run('ionice', ['-c', IONICE_CLASS[cls], '-p', String(pid)]);
  } catch (err) {
    child.kill('SIGKILL');
    await exited;
    throw err;
  }
  return {
    pid,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
