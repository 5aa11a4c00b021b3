import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PG_BIN_DIR } from '../../src/bench/peers/pg-test-fsync.js';
import { SyntheticLog } from '../fixtures/log-writes/synthetic-log.js';
import { until } from './until.js';
import { pidFileSegment } from '../../src/dm/sysv-shm.js';

// Issue 13: SIGKILL of bench left the pgbench peer's PostgreSQL server running (pg_ctl puts it in
// a session of its own); later bench, crashtest and fuzz runs did not reap it, only doctor --fix.
// The server is now in the ledger from before it starts, and every command reaps the ledgers of
// killed runs first. The reaper also removes the server's System V interlock segment (named in
// postmaster.pid), which a SIGKILLed server cannot remove itself.

const ROOT = resolve(import.meta.dirname, '../..');
const tmp = mkdtempSync(join(tmpdir(), 'powercut-pgbench-kill-'));
// The server runs as the postgres user, which must reach its cluster under here.
chmodSync(tmp, 0o755);
const env = { ...process.env, POWERCUT_LEDGER_DIR: join(tmp, 'ledgers') };
const work = join(tmp, 'work');
const log = join(tmp, 'synthetic.log');
writeFileSync(log, new SyntheticLog().fill(2, 2, 7).flush().toBuffer());
const hasPg = existsSync(join(PG_BIN_DIR, 'pg_ctl'));
const why = !hasPg ? 'PostgreSQL 15 not installed' : spawnSync('id', ['-u', 'postgres']).status !== 0 ? "no 'postgres' user" : undefined;

function pidFile(): string | undefined {
  // The host "filesystem" of the suite is a directory under the work dir.
  const host = join(work, 'host');
  if (!existsSync(host)) return undefined;
  const d = readdirSync(host).find((n) => n.startsWith('pgbench-cluster-'));
  return d === undefined ? undefined : join(host, d, 'postmaster.pid');
}

function postmasterPid(): number | undefined {
  try {
    const file = pidFile();
    return file === undefined ? undefined : Number(readFileSync(file, 'utf8').split('\n')[0]);
  } catch {
    return undefined; // not started yet
  }
}

const segmentExists = (s: { key: number; id: number }) =>
  readFileSync('/proc/sysvipc/shm', 'utf8')
    .split('\n')
    .slice(1)
    .some((line) => {
      const f = line.trim().split(/\s+/).map(Number);
      return f[0] === s.key && f[1] === s.id;
    });

const alive = (pid: number) => {
  try {
    return !/\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
};

let server: number | undefined;
afterAll(() => {
  if (server !== undefined && alive(server)) process.kill(server, 'SIGKILL');
  rmSync(tmp, { recursive: true, force: true });
});

describe.skipIf(why !== undefined)(`bench's PostgreSQL server${why ? ` (skipped: ${why})` : ''}`, () => {
  it('PgbenchServerOfAKilledBenchIsReapedByTheNextCommand', async () => {
    const args = [
      '--import',
      'tsx',
      'src/cli/bench.ts',
      '--peers',
      'pgbench',
      '--strategy',
      'none',
      '--duration',
      '30',
      '--rounds',
      '1',
      '--fs',
      'host',
      '--no-charts',
      '--out',
      join(tmp, 'out'),
      '--work-dir',
      work,
    ];
    const bench = spawn(process.execPath, args, { cwd: ROOT, env, stdio: 'ignore' });
    const exited = new Promise<void>((r) => bench.on('exit', () => r()));
    expect(await until(() => (server = postmasterPid()) !== undefined && alive(server), 90_000), 'the server never started').toBe(true);
    // postmaster.pid gains its 7th line (the shared-memory key and id) once the server is up.
    expect(await until(() => pidFileSegment(pidFile()!) !== undefined, 30_000), 'postmaster.pid never named its segment').toBe(true);
    const segment = pidFileSegment(pidFile()!)!;
    bench.kill('SIGKILL');
    await exited;
    expect(alive(server!), 'the server runs on after SIGKILL of bench (its own session)').toBe(true);
    const next = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/replay.ts', '--log', log, '--list'], { cwd: ROOT, env, encoding: 'utf8' });
    expect(next.status).toBe(0);
    expect(next.stderr).toMatch(/replay: released what an earlier run \(pid \d+, killed\) left behind: .*postgres \(pgbench peer\)/);
    expect(await until(() => !alive(server!), 10_000), `postgres ${server} still running`).toBe(true);
    expect(segmentExists(segment), `shared-memory segment ${segment.id} left behind`).toBe(false);
  }, 150_000);
});
