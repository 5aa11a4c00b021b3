import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { processAlive, processStartTime } from '../dm/resource.js';
import { logger } from '../log.js';

const log = logger('launcher');

// `pnpm crashtest` is four processes: pnpm, `sh -c`, tsx's parent and the harness (tsx's child),
// plus sudo in front with `sudo pnpm ...`. A supervisor, `kill PID` or `docker stop` signals only
// the process it started: pnpm then exits at once without passing SIGTERM on, and the harness
// (with its VM, writers, loop devices and mounts) runs on unsupervised. pnpm cannot be changed,
// so the harness watches its launchers instead: when one of them is gone, it acts exactly as if
// the SIGTERM had reached it (the cleanup stack unwinds and the process dies of SIGTERM).
// Polling, because Node has no pidfd; 200 ms is nothing next to an unwind that takes seconds.

const POLL_MS = 200;
// What may stand between the user's command and the harness. Walking stops at anything else.
const CHAIN = new Set(['node', 'sh', 'dash', 'bash', 'tsx', 'sudo', 'pnpm', 'npm', 'npx']);

interface Proc {
  pid: number;
  startTime: string;
  comm: string;
  /** pnpm, npm or npx: the package runner that started a script (its comm is often "node"). */
  runner: boolean;
}

function readProc(pid: number): (Proc & { ppid: number }) | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    const startTime = processStartTime(pid);
    if (startTime === undefined) return undefined;
    const script = basename(argv[comm === 'node' ? 1 : 0] ?? '');
    const runner = /^(pnpm|npm|npx)$/.test(comm) || /^(pnpm|npm|npx)(\.c?js)?$|^(npm|npx)-cli\.js$/.test(script);
    return { pid, ppid, startTime, comm, runner };
  } catch {
    return undefined;
  }
}

/**
 * The processes between this one and the package runner that launched it (the parent first, the
 * runner and any sudo directly above it last); empty when no package runner started us (the bin
 * run directly, or inside the VM), where a signal reaches us without help.
 */
export function launcherChain(from: number = process.ppid): Proc[] {
  return walk(from).chain;
}

function walk(from: number): { chain: Proc[]; orphaned: boolean } {
  const chain: Proc[] = [];
  let pid = from;
  for (let depth = 0; depth < 16 && pid > 1; depth++) {
    const p = readProc(pid);
    if (p === undefined || !CHAIN.has(p.comm)) return { chain: runnerChain(chain), orphaned: false };
    chain.push({ pid: p.pid, startTime: p.startTime, comm: p.comm, runner: p.runner });
    pid = p.ppid;
  }
  return { chain: runnerChain(chain), orphaned: pid === 1 };
}

function runnerChain(chain: Proc[]): Proc[] {
  let top = -1;
  chain.forEach((p, i) => {
    if (p.runner) top = i;
  });
  if (top < 0) return [];
  while (chain[top + 1]?.comm === 'sudo') top++;
  return chain.slice(0, top + 1);
}

let watching: NodeJS.Timeout | undefined;

// Starts watching the launcher chain (once per process); its loss is delivered as SIGTERM.
export function watchLaunchers(): void {
  if (watching !== undefined) return;
  const { chain, orphaned } = walk(process.ppid);
  // Started by a package runner's script (pnpm sets npm_lifecycle_event) whose chain already ends
  // at init: the runner was signalled while we were still loading, before there was anything to
  // watch (the interruption matrix hit this with a SIGTERM one second in).
  if (chain.length === 0 && orphaned && process.env.npm_lifecycle_event !== undefined) {
    log.warn('the package runner that launched this process is already gone: stopping as on SIGTERM');
    process.kill(process.pid, 'SIGTERM');
    return;
  }
  if (chain.length === 0) return;
  watching = setInterval(() => {
    const gone = chain.find((p) => !processAlive(p.pid, p.startTime));
    if (gone === undefined) return;
    clearInterval(watching);
    log.warn({ pid: gone.pid, comm: gone.comm }, 'the process that launched this one is gone: stopping as on SIGTERM');
    process.kill(process.pid, 'SIGTERM');
  }, POLL_MS);
  // Watching must not keep a finished command alive.
  watching.unref();
}
