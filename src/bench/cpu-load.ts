import { spawn, type ChildProcess } from 'node:child_process';

// CPU load beside a cell (`pnpm bench --cpu-load N`): N processes that only burn CPU, the way
// other tenants of a small shared machine do. Each is a plain node busy loop that checks every
// 50 ms whether its parent is still the suite and exits when it is not, so a suite killed with
// SIGKILL leaves none behind.
const BUSY = 'const p = process.ppid; for (;;) { const t = Date.now() + 50; while (Date.now() < t); if (process.ppid !== p) process.exit(0); }';

export interface CpuLoad {
  readonly pids: readonly number[];
  stop(): Promise<void>;
}

// Resolves once every process has started and had a moment to reach its loop (node's start-up).
export async function startCpuLoad(n: number): Promise<CpuLoad> {
  const children: ChildProcess[] = [];
  const exits: Promise<void>[] = [];
  for (let i = 0; i < n; i++) {
    const child = spawn(process.execPath, ['-e', BUSY], { stdio: 'ignore' });
    children.push(child);
    exits.push(new Promise<void>((resolve) => child.once('exit', () => resolve())));
  }
  await Promise.all(children.map((c) => new Promise<void>((resolve) => c.once('spawn', () => resolve()).once('error', () => resolve()))));
  await new Promise((resolve) => setTimeout(resolve, 150));
  return {
    pids: children.map((c) => c.pid ?? -1),
    async stop() {
      for (const c of children) c.kill('SIGKILL');
      await Promise.all(exits);
    },
  };
}
