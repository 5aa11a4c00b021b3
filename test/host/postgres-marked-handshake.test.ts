import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgUnavailable } from '../../src/targets/pg-server.js';
import { MARKED_FD_ENV } from '../../src/targets/protocol.js';
import { until } from './until.js';

// The postgres workload in log-writes mode waits for the harness's `marked` reply before a client
// commits again (src/targets/postgres-program.ts, writeRowsInStep): a real server on this host,
// the program's fd 3 and fd 4 held by the test. Unanswered, the program stays in its first
// acknowledgement and no client is given a next statement; each reply lets one more through. (Before, psql wrote the
// acknowledgements itself and never read fd 4: its marks could lag its commits.)

const ROOT = path.resolve(import.meta.dirname, '../..');
const SETTING = 'sc-on.fsync-on.fpw-on.fdatasync';
const why = process.getuid?.() !== 0 ? 'needs root (the server runs as the postgres user)' : pgUnavailable();
let tmp = '';
let data = '';

function program(verb: 'prepare' | 'run', extra: string[] = []) {
  return ['--import', 'tsx', 'src/targets/program-main.ts', verb, 'postgres', SETTING, data, ...extra];
}

/** Processes of the postgres user, by /proc. */
function serverProcesses(): string[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .flatMap((pid) => {
      try {
        const status = readFileSync(`/proc/${pid}/status`, 'utf8');
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        return cmdline.includes(data) && /^Uid:\s+[1-9]/m.test(status) ? [pid] : [];
      } catch {
        return [];
      }
    });
}

describe.skipIf(why !== undefined)(`postgres workload, log-writes handshake${why ? ` (skipped: ${why})` : ''}`, () => {
  let child: ChildProcess | undefined;
  beforeAll(async () => {
    tmp = mkdtempSync(path.join(tmpdir(), 'powercut-pg-handshake-'));
    chmodSync(tmp, 0o711); // the server's user must reach its data directory
    data = path.join(tmp, 'data');
    mkdirSync(data);
    await execa(process.execPath, program('prepare'), { cwd: ROOT, timeout: 120_000 });
  }, 150_000);
  afterAll(async () => {
    if (child?.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await until(() => serverProcesses().length === 0, 10_000);
    rmSync(tmp, { recursive: true, force: true });
  });

  it('no client commits again before its acknowledgement is marked', { timeout: 120_000 }, async () => {
    child = spawn(process.execPath, program('run', ['7']), {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'],
      env: { ...process.env, [MARKED_FD_ENV]: '4' },
      detached: true,
    });
    let stderr = '';
    child.stderr?.setEncoding('utf8').on('data', (c: string) => (stderr = (stderr + c).slice(-4000)));
    const lines: string[] = [];
    (child.stdio[3] as Readable).setEncoding('utf8').on('data', (c: string) => lines.push(...c.split('\n').filter((l) => l !== '')));
    const replies = child.stdio[4] as Writable;
    const acks = () => lines.filter((l) => !l.startsWith('~ '));
    const intents = () => lines.filter((l) => l.startsWith('~ '));
    const client = (line: string | undefined) => /(c\d+)\./.exec(line ?? '')?.[1];

    // Unanswered: one acknowledgement, and the program waits in it. Each client was given one
    // statement; neither gets its next (a second client's echo that came meanwhile waits too:
    // its mark comes after the first one's, later than its commit, which is never wrong).
    await until(() => acks().length >= 1, 60_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(acks(), stderr).toHaveLength(1);
    expect(intents()).toHaveLength(2);
    const first = client(acks()[0]);

    // One reply: the first client is given its next statement, and the other's acknowledgement
    // goes through, to wait in its turn.
    replies.write('marked\n');
    await until(() => acks().length >= 2 && intents().length >= 3, 30_000);
    await new Promise((r) => setTimeout(r, 1500));
    expect(acks(), stderr).toHaveLength(2);
    expect(intents()).toHaveLength(3);
    expect(client(intents()[2])).toBe(first);
    expect(client(acks()[1])).not.toBe(first);

    // Answered as it goes, it runs on, one acknowledgement per reply.
    for (let i = 0; i < 20; i++) replies.write('marked\n');
    await until(() => acks().length >= 22, 30_000);
    await new Promise((r) => setTimeout(r, 1000));
    expect(acks()).toHaveLength(22);
  });
});
