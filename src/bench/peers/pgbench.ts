import { appendFileSync, chmodSync, chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CleanupStack } from '../../dm/index.js';
import { run, RunError } from '../../run.js';
import { BenchError } from '../bench-error.js';
import type { PeerCell } from '../cell.js';
import { newHistogram, type LatencyHistogram } from '../latency.js';
import { deviceWindow, type Slice } from '../slice.js';
import type { SliceContext } from '../slice-context.js';
import { PG_BIN_DIR } from './pg-test-fsync.js';
import type { PeerDriver, Readiness } from './peer-driver.js';

export interface PgbenchSummary {
  transactions: number;
  tps: number;
  latencyAvgMs: number;
}

// Parses pgbench's summary ("number of transactions actually processed: N",
// "latency average = X ms", "tps = Y (without initial connection time)").
// When no transaction completed (every client still connecting when -T ran out), pgbench stops
// after the transaction count and prints no tps or latency: that is a summary of zero, not an error.
export function parsePgbenchSummary(text: string): PgbenchSummary {
  const tx = /number of transactions actually processed: (\d+)/.exec(text);
  if (tx && Number(tx[1]) === 0) return { transactions: 0, tps: 0, latencyAvgMs: 0 };
  const tps = /tps = ([\d.]+) \(without initial connection time\)/.exec(text);
  const lat = /latency average = ([\d.]+) ms/.exec(text);
  if (!tx || !tps || !lat)
    throw new BenchError('PARSE_FAILED', `pgbench printed no transaction count, tps or latency average; its output ends: ${text.slice(-400)}`);
  return { transactions: Number(tx[1]), tps: Number(tps[1]), latencyAvgMs: Number(lat[1]) };
}

// Records the per-transaction latencies of pgbench's -l log into a histogram. Each line is
// "client_id transaction_no time script_no time_epoch time_us" with `time` the latency in us;
// with --rate a seventh column is the schedule lag (scheduled start to actual start), which is
// added: open-loop latency counts from the scheduled arrival, as the suite's own scheduler does.
export function recordPgbenchLog(text: string, hist: LatencyHistogram): number {
  let n = 0;
  for (const line of text.split('\n')) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 6) continue;
    const us = Number(cols[2]) + (cols.length >= 7 ? Number(cols[6]) : 0);
    if (!Number.isFinite(us) || us < 0) continue;
    hist.recordValue(Math.round(us * 1000));
    n++;
  }
  return n;
}

// The server's settings: every commit durable (fsync=on, synchronous_commit=on, PostgreSQL's
// Linux default fdatasync), no TCP, nothing running in the background to disturb other cells.
export function pgbenchServerConf(socketDir: string): string {
  return [
    "listen_addresses = ''",
    `unix_socket_directories = '${socketDir}'`,
    'fsync = on',
    'synchronous_commit = on',
    'wal_sync_method = fdatasync',
    'full_page_writes = on',
    'autovacuum = off',
    'checkpoint_timeout = 1h',
    'max_wal_size = 4GB',
    'max_connections = 150',
    // Dynamic shared memory as files in the data directory, not /dev/shm/PostgreSQL.*: a server
    // killed with SIGKILL cannot remove them, and the directory goes with the run.
    'dynamic_shared_memory_type = mmap',
    '',
  ].join('\n');
}

// One INSERT per transaction. STORAGE EXTERNAL keeps large payloads uncompressed, so the bytes
// made durable are the entry size, as for the WAL.
export function pgbenchScript(size: number): string {
  return `INSERT INTO log (payload) VALUES (repeat('x', ${size}));\n`;
}

const SERVER_USER = 'postgres';

// PostgreSQL itself via pgbench: a throwaway cluster on the cell's filesystem, started once per
// run and stopped at the end; clients = writers. PostgreSQL refuses to run as root, so as root
// the server runs as the unprivileged `postgres` user (the package creates it).
export class PgbenchDriver implements PeerDriver {
  readonly peer = 'pgbench' as const;
  readonly describe = 'PostgreSQL 15 via pgbench: one INSERT per transaction, synchronous_commit=on, fsync=on; clients = writers';
  private dataDir: string | undefined;
  private socketDir: string | undefined;
  private started = false;

  constructor(
    private readonly fsDir: string,
    private readonly stack: CleanupStack,
  ) {}

  private asServerUser(cmd: string, args: string[]): Promise<unknown> {
    const isRoot = process.getuid?.() === 0;
    return isRoot ? run('runuser', ['-u', SERVER_USER, '--', cmd, ...args], { timeoutMs: 120_000 }) : run(cmd, args, { timeoutMs: 120_000 });
  }

  async prepare(): Promise<Readiness> {
    for (const tool of ['initdb', 'pg_ctl', 'pgbench', 'psql']) {
      if (!existsSync(join(PG_BIN_DIR, tool))) return { status: 'skipped', reason: `${join(PG_BIN_DIR, tool)} not found (apt-get install postgresql-15)` };
    }
    const isRoot = process.getuid?.() === 0;
    let owner: { uid: number; gid: number } | undefined;
    if (isRoot) {
      try {
        const uid = Number((await run('id', ['-u', SERVER_USER])).stdout);
        const gid = Number((await run('id', ['-g', SERVER_USER])).stdout);
        owner = { uid, gid };
      } catch (err) {
        if (err instanceof RunError) return { status: 'skipped', reason: `running as root and there is no '${SERVER_USER}' user to run the server as` };
        throw err;
      }
    }
    this.dataDir = mkdtempSync(join(this.fsDir, 'pgbench-cluster-'));
    this.stack.add({ kind: 'dir', path: this.dataDir });
    // The socket path must stay under 107 bytes, so it lives in the OS temp dir, not on the fs.
    this.socketDir = mkdtempSync(join(tmpdir(), 'powercut-pg-'));
    this.stack.add({ kind: 'dir', path: this.socketDir });
    if (owner) {
      for (const d of [this.dataDir, this.socketDir]) chownSync(d, owner.uid, owner.gid);
    }
    chmodSync(this.dataDir, 0o700);
    const bin = (t: string): string => join(PG_BIN_DIR, t);
    // --no-sync: initdb's own files need no durability (the cluster is thrown away); every
    // measured commit still runs with fsync=on.
    await this.asServerUser(bin('initdb'), ['-D', this.dataDir, '-A', 'trust', '-U', SERVER_USER, '-E', 'UTF8', '--locale=C', '--no-sync']);
    appendFileSync(join(this.dataDir, 'postgresql.conf'), pgbenchServerConf(this.socketDir));
    const logFile = join(this.socketDir, 'server.log');
    // pg_ctl detaches the server into a session of its own: no signal of ours reaches it. It is on
    // the stack (and in its ledger) before it starts, so that neither Ctrl-C nor a SIGKILL of the
    // suite leaves it running, holding a mount busy (the next command reaps it).
    this.stack.add({ kind: 'daemon', pidFile: join(this.dataDir, 'postmaster.pid'), match: this.dataDir, label: 'postgres (pgbench peer)' });
    await this.asServerUser(bin('pg_ctl'), ['-D', this.dataDir, '-l', logFile, '-w', '-t', '60', 'start']);
    this.started = true;
    await run(bin('psql'), [
      '-h',
      this.socketDir,
      '-U',
      SERVER_USER,
      '-d',
      'postgres',
      '-v',
      'ON_ERROR_STOP=1',
      '-q',
      '-c',
      'CREATE TABLE log (seq bigserial PRIMARY KEY, payload text NOT NULL); ALTER TABLE log ALTER COLUMN payload SET STORAGE EXTERNAL;',
    ]);
    return { status: 'ready' };
  }

  async slice(cell: PeerCell, ctx: SliceContext): Promise<Slice> {
    if (!this.socketDir) throw new BenchError('PEER_FAILED', 'pgbench cluster was not prepared');
    const script = join(ctx.dir, 'insert.sql');
    writeFileSync(script, pgbenchScript(cell.size));
    // -T takes whole seconds. 16 and more clients get at least 2: under load their connection
    // storm can eat a whole second, leaving a slice with no transaction at all.
    const seconds = Math.max(cell.writers >= 16 ? 2 : 1, Math.round(ctx.durationMs / 1000));
    const prefix = join(ctx.dir, 'pgbench-log');
    const args = [
      '-h',
      this.socketDir,
      '-U',
      SERVER_USER,
      '-n',
      '-c',
      String(cell.writers),
      '-j',
      String(Math.min(cell.writers, 4)),
      '-T',
      String(seconds),
      '-f',
      script,
      '-l',
      `--log-prefix=${prefix}`,
      // Open loop: pgbench's own scheduler (Poisson arrivals over the clients).
      ...(cell.offered !== undefined ? ['--rate', String(cell.offered)] : []),
      'postgres',
    ];
    const io = deviceWindow(ctx.devices);
    const { stdout } = await run(join(PG_BIN_DIR, 'pgbench'), args, { cwd: ctx.dir, timeoutMs: seconds * 1000 + 120_000 });
    const devices = io.finish();
    const summary = parsePgbenchSummary(stdout);
    const hist = newHistogram();
    for (const f of readdirSync(ctx.dir).filter((n) => n.startsWith('pgbench-log'))) recordPgbenchLog(readFileSync(join(ctx.dir, f), 'utf8'), hist);
    return {
      ops: summary.transactions,
      bytes: summary.transactions * cell.size,
      // A slice with no transaction measured nothing: it adds no time either.
      elapsedNs: summary.transactions === 0 ? 0 : (summary.transactions / summary.tps) * 1e9,
      latency: hist.totalCount > 0 ? hist : null,
      devices,
      // The work happens in server processes that are not our children: no CPU figure.
      cpuUs: null,
      reportedMeanUs: summary.latencyAvgMs * 1000,
    };
  }

  async close(): Promise<void> {
    if (this.started && this.dataDir) {
      await this.asServerUser(join(PG_BIN_DIR, 'pg_ctl'), ['-D', this.dataDir, '-m', 'fast', '-w', 'stop']);
      this.started = false;
    }
    for (const d of [this.dataDir, this.socketDir]) if (d) rmSync(d, { recursive: true, force: true });
  }
}
