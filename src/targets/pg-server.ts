import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { PG_BIN_DIR } from '../bench/peers/pg-test-fsync.js';

// A PostgreSQL 15 server for the postgres target (src/targets/postgres.ts), started directly (not
// through pg_ctl, which would detach it from us) as the unprivileged `postgres` user, with no TCP:
// it listens on an abstract unix socket of its own (nothing on any filesystem to clean up).
//
// It runs inside new PID and IPC namespaces (`unshare --pid --ipc --fork`), where the postmaster
// is process 1. That is what makes a SIGKILL of the target's process group leave nothing behind:
//   - every backend calls setsid() (so the group kill misses them) and outlives a killed
//     postmaster for a while; when the init of a PID namespace dies, the kernel kills every other
//     process in it, and the postmaster's exit completes only once they are all gone;
//   - the System V segment PostgreSQL keeps as its interlock outlives a SIGKILLed postmaster;
//     in an IPC namespace of its own it goes when the namespace's last process does.
// The postmaster stays in the process group of whoever started it (unshare and setpriv do not
// change it), so the harness's group kill (src/crash/target/program-child.ts) reaches it.
// The cost: PostgreSQL's own interlock (postmaster.pid's pid, the SysV segment) cannot see a
// server in another namespace, so a second server on the same directory is never started while
// the first one lives (each trial's run is killed and reaped before its check starts).

export const PG_USER = 'postgres';
export const pgBin = (tool: string): string => path.join(PG_BIN_DIR, tool);

/** Why this machine cannot run the postgres target, or undefined when it can. */
export function pgUnavailable(): string | undefined {
  for (const tool of ['initdb', 'postgres', 'psql', 'pg_amcheck']) {
    if (!existsSync(pgBin(tool))) return `${pgBin(tool)} not found (apt-get install postgresql-15, or pnpm run doctor --fix)`;
  }
  try {
    if (
      !readFileSync('/etc/passwd', 'utf8')
        .split('\n')
        .some((l) => l.startsWith(`${PG_USER}:`))
    )
      return `there is no '${PG_USER}' user to run the server as (the postgresql-15 package creates it)`;
  } catch {
    return 'cannot read /etc/passwd';
  }
  if (!existsSync('/usr/bin/unshare') || !existsSync('/usr/bin/setpriv')) return 'unshare and setpriv (util-linux) are needed to contain the server';
  return undefined;
}

/** uid and gid of the postgres user (from /etc/passwd: no tool to run). */
export function pgOwner(): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith(`${PG_USER}:`));
  const [, , uid, gid] = (line ?? '').split(':');
  if (uid === undefined || gid === undefined) throw new Error(`no ${PG_USER} user in /etc/passwd`);
  return { uid: Number(uid), gid: Number(gid) };
}

/**
 * argv that runs a PostgreSQL program as the postgres user in PID and IPC namespaces of its own
 * (see above): the server, and initdb too, whose single-user backend makes a SysV segment that a
 * kill halfway would otherwise leave in this namespace (a CI run showed one).
 */
export function contained(argv: string[]): string[] {
  return ['unshare', '--pid', '--ipc', '--fork', '--kill-child', '--', ...asPgUser(argv)];
}

/** argv prefix that runs a command as the postgres user (the caller is root). */
export function asPgUser(argv: string[]): string[] {
  return ['setpriv', `--reuid=${PG_USER}`, `--regid=${PG_USER}`, '--init-groups', '--', ...argv];
}

/** How a client (psql, pg_amcheck) reaches a server on `socket` (an abstract socket name, "@..."). */
export function clientArgs(socket: string): string[] {
  return ['-h', socket, '-U', PG_USER, '-d', 'postgres'];
}

// The postmaster's pid as seen from here: the one child of unshare (found by its parent pid).
function childOf(ppid: number): number | undefined {
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === ppid) return Number(name);
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

export class PgServer {
  private exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  /** Resolves once the server (and every process of its namespace) is gone. */
  readonly stopped: Promise<void>;
  private captured = '';

  private constructor(
    private readonly child: ChildProcess,
    readonly dataDir: string,
    readonly socket: string,
  ) {
    this.stopped = new Promise((resolve) =>
      child.on('close', (code, signal) => {
        this.exitInfo = { code, signal };
        resolve();
      }),
    );
    child.stderr?.setEncoding('utf8').on('data', (c: string) => (this.captured = (this.captured + c).slice(-32 * 1024)));
  }

  /**
   * Start a server on `dataDir` (crash recovery runs if it was not shut down cleanly).
   * `log`: 'inherit' sends the server's log to our stderr (the harness keeps the run's output);
   * 'capture' keeps it for `logTail()` (the check reports why a server refused to start).
   */
  static start(dataDir: string, log: 'inherit' | 'capture', extra: string[] = []): PgServer {
    const socket = `@powercut-pg-${process.pid}-${randomBytes(4).toString('hex')}`;
    const argv = contained([pgBin('postgres'), '-D', dataDir, '-c', `unix_socket_directories=${socket}`, '-c', 'listen_addresses=', ...extra]);
    const child = spawn(argv[0] ?? 'unshare', argv.slice(1), { stdio: ['ignore', 'ignore', log === 'inherit' ? 'inherit' : 'pipe'] });
    return new PgServer(child, dataDir, socket);
  }

  /** The server's log (the last 32 KiB; captured servers only). */
  get log(): string {
    return this.captured;
  }

  /** The last lines of the server's log, on one line (captured servers only). */
  logTail(lines = 5): string {
    return this.captured.trim().split('\n').slice(-lines).join(' | ');
  }

  /** Whether the server exited, and how. */
  get exit(): { code: number | null; signal: NodeJS.Signals | null } | undefined {
    return this.exitInfo;
  }

  /**
   * Wait until the server accepts connections: postmaster.pid's status line says "ready" (what
   * pg_ctl -w reads), in the file this server wrote. Resolves 'exited' when the server stopped first (refused to start).
   */
  async ready(timeoutMs: number): Promise<'ready' | 'exited' | 'timed-out'> {
    const until = Date.now() + timeoutMs;
    for (;;) {
      if (this.exitInfo !== undefined) return 'exited';
      try {
        // Line 5 names the socket: ours, not that of a server the crash left in the file.
        const lines = readFileSync(path.join(this.dataDir, 'postmaster.pid'), 'utf8').split('\n');
        if (lines[4] === this.socket && (lines[7] ?? '').trim() === 'ready') return 'ready';
      } catch {
        // not written yet
      }
      if (Date.now() > until) return 'timed-out';
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  /** Signal the postmaster (SIGINT: fast shutdown; SIGKILL: the crash) and wait until every server process is gone. */
  async stop(signal: 'SIGINT' | 'SIGKILL'): Promise<void> {
    const unshare = this.child.pid;
    // unshare forks the postmaster at once; until it has, there is nothing to signal but unshare
    // (its --kill-child reaches a child that has not yet become the postgres user: the kernel
    // clears a parent-death signal when the uid changes, hence the search for the postmaster).
    for (let i = 0; this.exitInfo === undefined && unshare !== undefined && i < 100; i++) {
      const postmaster = childOf(unshare);
      try {
        process.kill(postmaster ?? unshare, postmaster === undefined ? 'SIGKILL' : signal);
      } catch {
        // gone meanwhile
      }
      if (postmaster !== undefined) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await this.stopped;
  }
}
