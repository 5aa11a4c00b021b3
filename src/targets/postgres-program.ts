import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { appendFileSync, chmodSync, chownSync, existsSync, mkdirSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { run } from '../run.js';
import { deriveSeed } from '../workload/seeded-random.js';
import { clientArgs, contained, pgBin, pgOwner, PgServer } from './pg-server.js';
import { parsePgSetting, pgSettingConf } from './postgres.js';
import type { BuiltinProgram, WorkloadReport } from './target.js';
import { ACK_FD, DATA2_ENV } from './protocol.js';
import { operations } from './values.js';

// The postgres target's program half (src/targets/postgres.ts has the settings and contracts):
//   prepare  a cluster with the table, shut down cleanly, and the setting's postgresql.conf lines;
//            with pg_wal on a second device, pg_wal moved to $POWERCUT_DATA2 and symlinked;
//   run      the server on the data directory and CLIENTS psql processes, each inserting (or
//            overwriting) rows of its own keys, one autocommit statement each. Each statement is
//            announced ("~ KEY DIGEST") before psql is given it, and followed by `\echo KEY DIGEST`,
//            which psql prints (and flushes before it runs the next statement) only once the
//            statement's COMMIT returned, straight onto fd 3: that line is the acknowledgement;
//   check    the server on what the crash left (its crash recovery), every row read back
//            (key -> digest of the value, computed by the server) and pg_amcheck over the database;
//            a server that refuses to start, a read that fails or a complaint of pg_amcheck is damage.

const CLIENTS = 2;
const START_TIMEOUT_MS = 45_000;
const QUERY_TIMEOUT_MS = 45_000;

// Common to every setting. Small shared buffers and WAL limits make the bgwriter and checkpoints
// write data pages during a few seconds of load (with one-megabyte WAL segments, initdb's
// --wal-segsize=1, the image stays small); autovacuum off spares the emulated CPU; dynamic
// shared memory as files in the data directory (a SIGKILLed server cannot remove /dev/shm files).
const COMMON_CONF = [
  "listen_addresses = ''",
  'dynamic_shared_memory_type = mmap',
  'autovacuum = off',
  'shared_buffers = 16MB',
  'max_connections = 20',
  'checkpoint_timeout = 30s',
  'min_wal_size = 2MB',
  'max_wal_size = 4MB',
];

const TABLE_SQL = 'CREATE TABLE kv (k text PRIMARY KEY, v bytea NOT NULL); CREATE EXTENSION amcheck;';

function settingOf(name: string) {
  const s = parsePgSetting(name);
  if (s === undefined) throw new Error(`not a postgres setting: ${name}`);
  return s;
}

function ownForServer(dir: string): void {
  const { uid, gid } = pgOwner();
  chownSync(dir, uid, gid);
  chmodSync(dir, 0o700);
}

function psql(socket: string, sql: string) {
  return run(pgBin('psql'), [...clientArgs(socket), '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-At', '-F', ' ', '-c', sql], {
    timeoutMs: QUERY_TIMEOUT_MS,
    allowFailure: true,
  });
}

/** initdb into `dir` (empty, owned by the server user), the table made, shut down cleanly. */
async function makeCluster(dir: string): Promise<void> {
  // -k: data checksums, so a damaged page is reported rather than read; --no-sync: the harness
  // syncs the prepared directory itself.
  const [cmd = 'unshare', ...args] = contained([
    pgBin('initdb'),
    '-D',
    dir,
    '-k',
    '--no-sync',
    '--wal-segsize=1',
    '-A',
    'trust',
    '-U',
    'postgres',
    '-E',
    'UTF8',
    '--locale=C',
  ]);
  const init = await run(cmd, args, { timeoutMs: 300_000, allowFailure: true });
  if (init.exitCode !== 0) throw new Error(`initdb failed: ${init.stderr.trim().split('\n').slice(-2).join(' | ')}`);
  appendFileSync(path.join(dir, 'postgresql.conf'), `\n# powercut\n${COMMON_CONF.join('\n')}\n`);
  const server = PgServer.start(dir, 'capture');
  try {
    const state = await server.ready(START_TIMEOUT_MS);
    if (state !== 'ready') throw new Error(`the new cluster's server ${state === 'exited' ? 'exited' : 'did not start'}: ${server.logTail()}`);
    const made = await psql(server.socket, TABLE_SQL);
    if (made.exitCode !== 0) throw new Error(`creating the table failed: ${made.stderr.trim()}`);
    await server.stop('SIGINT');
    if (server.exit?.code !== 0) throw new Error(`the new cluster's server did not shut down cleanly: ${server.logTail()}`);
  } finally {
    await server.stop('SIGKILL');
  }
}

// initdb costs tens of seconds under the microVM's emulation: a run makes one cluster in its
// scratch directory ($POWERCUT_SCRATCH, outside the device, removed with the run) and each trial
// copies it. Made under a temporary name and renamed, so a run killed halfway leaves no template
// that a later trial would trust.
async function template(scratch: string): Promise<string> {
  const base = path.join(scratch, 'postgres-template');
  const ready = path.join(base, 'data');
  if (existsSync(ready)) return ready;
  mkdirSync(base, { recursive: true });
  chmodSync(base, 0o711);
  const building = path.join(base, `building-${process.pid}`);
  rmSync(building, { recursive: true, force: true });
  mkdirSync(building);
  ownForServer(building);
  await makeCluster(building);
  renameSync(building, ready);
  return ready;
}

/**
 * Move the (shut down) cluster's pg_wal to the second device and leave a symlink in its place:
 * PostgreSQL's documented way of putting the WAL on another disk (src/targets/postgres.ts).
 */
async function moveWal(dir: string): Promise<void> {
  const second = process.env[DATA2_ENV];
  if (second === undefined || second === '') throw new Error(`pg_wal on a second device needs $${DATA2_ENV}`);
  ownForServer(second);
  const from = path.join(dir, 'pg_wal');
  const to = path.join(second, 'pg_wal');
  // Another filesystem: rename(2) cannot cross it; mv copies (keeping owner and modes) and removes.
  const mv = await run('mv', [from, to], { timeoutMs: 120_000, allowFailure: true });
  if (mv.exitCode !== 0) throw new Error(`moving pg_wal to ${second} failed: ${mv.stderr.trim()}`);
  symlinkSync(to, from);
}

function statement(key: string, op: { value: Buffer; digest: string }): string {
  return (
    `INSERT INTO kv (k, v) VALUES ('${key}', '\\x${op.value.toString('hex')}') ON CONFLICT (k) DO UPDATE SET v = EXCLUDED.v;\n` + `\\echo ${key} ${op.digest}\n`
  );
}

async function writeRows(client: ReturnType<typeof spawn>, seed: number, prefix: string, report: WorkloadReport): Promise<void> {
  const stdin = client.stdin;
  if (stdin === null) throw new Error('psql has no stdin');
  const exited = once(client, 'exit');
  for (const op of operations(seed)) {
    if (client.exitCode !== null || client.signalCode !== null) return;
    const key = `${prefix}${op.key}`;
    // Announced here, before psql can read the statement: an announcement relayed from psql's
    // output could still sit in our pipe when the harness freezes us, while the row committed.
    report.intent(key, op.digest);
    if (!stdin.write(statement(key, op))) await Promise.race([once(stdin, 'drain'), exited]);
  }
}

// In log-writes mode (report.marked) psql gets one statement at a time: its `\echo` comes back to
// us, we acknowledge it (report.ack returns once the harness has put the mark into the device's
// log), and only then does psql get the next one. So no commit of this client starts before the
// mark of its previous one is in the log, and a state that shows a mark shows every write that
// commit made before it returned. Nothing is frozen in this mode, so an acknowledgement waiting
// in our pipe cannot be lost to the count (the concern of writeRows above).
async function writeRowsInStep(client: ReturnType<typeof spawn>, seed: number, prefix: string, report: WorkloadReport): Promise<void> {
  const { stdin, stdout } = client;
  if (stdin === null || stdout === null) throw new Error('psql has no stdin or stdout');
  const echoes = createInterface({ input: stdout })[Symbol.asyncIterator]();
  for (const op of operations(seed)) {
    const key = `${prefix}${op.key}`;
    report.intent(key, op.digest);
    stdin.write(statement(key, op));
    const echo = await echoes.next();
    if (echo.done === true) return; // psql exited: its exit says why
    if (echo.value !== `${key} ${op.digest}`) throw new Error(`psql client ${prefix} printed ${JSON.stringify(echo.value)}, not the echo of ${key}`);
    report.ack(key, op.digest);
  }
}

function startClient(socket: string, seed: number, index: number, report: WorkloadReport): Promise<never> {
  // psql's output is the acknowledgement pipe itself (one whole line per write, so the clients'
  // lines and our announcements do not interleave): relayed through us, a committed row's line
  // could still sit in our pipe when the harness freezes the group, and be lost to the count.
  // In log-writes mode it comes to us instead (writeRowsInStep).
  const stdout = report.marked ? 'pipe' : ACK_FD;
  const client = spawn(pgBin('psql'), [...clientArgs(socket), '-X', '-q', '-v', 'ON_ERROR_STOP=1'], { stdio: ['pipe', stdout, 'inherit'] });
  client.stdin?.on('error', () => undefined); // EPIPE once psql has exited: the exit says why
  const write = report.marked ? writeRowsInStep : writeRows;
  const failed = write(client, deriveSeed(seed, 'postgres-client', index), `c${index}.`, report);
  return new Promise((_, reject) => {
    failed.catch(reject);
    client.on('exit', (code, signal) => reject(new Error(`psql client ${index} exited (code ${code ?? '-'}, signal ${signal ?? '-'})`)));
  });
}

export const postgresProgram: BuiltinProgram = {
  async prepare(dir, setting) {
    const conf = pgSettingConf(settingOf(setting));
    ownForServer(dir);
    const scratch = process.env.POWERCUT_SCRATCH;
    if (scratch === undefined) await makeCluster(dir);
    else {
      const from = await template(scratch);
      const cp = await run('cp', ['-a', `${from}/.`, dir], { timeoutMs: 120_000, allowFailure: true });
      if (cp.exitCode !== 0) throw new Error(`copying the template cluster failed: ${cp.stderr.trim()}`);
    }
    appendFileSync(path.join(dir, 'postgresql.conf'), `# setting ${setting}\n${conf.join('\n')}\n`);
    if (settingOf(setting).walDevice) await moveWal(dir);
  },

  async workload(dir, setting, seed, report) {
    settingOf(setting);
    // The server's log goes to our stderr: the harness keeps it with the trial.
    const server = PgServer.start(dir, 'inherit');
    const state = await server.ready(START_TIMEOUT_MS);
    if (state !== 'ready') throw new Error(`postgres ${state === 'exited' ? 'exited' : 'did not accept connections'} before the workload started`);
    const exited = new Promise<never>((_, reject) => void server.stopped.then(() => reject(new Error('the postgres server exited during the workload'))));
    // Runs until the harness kills the process group (the server with it, src/targets/pg-server.ts).
    await Promise.race([exited, ...Array.from({ length: CLIENTS }, (_, i) => startClient(server.socket, seed, i, report))]);
  },

  async check(dir, setting) {
    settingOf(setting);
    const survivors = new Map<string, string>();
    const server = PgServer.start(dir, 'capture');
    let damage: string | null = null;
    const started = Date.now();
    const took: string[] = [];
    const lap = (what: string) => took.push(`${what} ${((Date.now() - started) / 1000).toFixed(1)} s`);
    try {
      const state = await server.ready(START_TIMEOUT_MS);
      lap('started');
      if (state !== 'ready') {
        damage =
          state === 'exited'
            ? `postgres refused to start on the recovered data directory: ${server.logTail(2)}`
            : `postgres did not accept connections within ${START_TIMEOUT_MS / 1000} s of starting on the recovered data directory`;
        return { survivors, damage };
      }
      const rows = await psql(server.socket, "SELECT k, left(encode(sha256(v), 'hex'), 16) FROM kv");
      if (rows.exitCode !== 0) return { survivors, damage: (damage = `reading the rows failed: ${rows.stderr.trim().split('\n')[0] ?? ''}`) };
      for (const line of rows.stdout.split('\n')) {
        const [k, d] = line.split(' ');
        if (k !== undefined && d !== undefined) survivors.set(k, d);
      }
      lap('rows read');
      // Every table and index of the database (system catalogs included), heap against index.
      const amcheck = await run(pgBin('pg_amcheck'), [...clientArgs(server.socket), '--heapallindexed'], { timeoutMs: QUERY_TIMEOUT_MS, allowFailure: true });
      lap('pg_amcheck done');
      if (amcheck.exitCode !== 0)
        damage = `pg_amcheck exit ${amcheck.exitCode}: ${(amcheck.stdout.trim() || amcheck.stderr.trim()).split('\n').slice(0, 2).join(' | ')}`;
      return { survivors, damage };
    } finally {
      await server.stop('SIGKILL');
      // The recovery's log, for the trial's check.txt (the damage line comes after it).
      process.stderr.write(`${server.log}postgres check: ${took.join(', ')}\n`);
    }
  },
};
