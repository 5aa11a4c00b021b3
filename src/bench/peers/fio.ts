import { join } from 'node:path';
import { run, RunError } from '../../run.js';
import { BenchError } from '../bench-error.js';
import type { PeerCell } from '../cell.js';
import { deviceWindow, readCpu, type Slice } from '../slice.js';
import type { SliceContext } from '../slice-context.js';
import type { PeerDriver, Readiness } from './peer-driver.js';

export interface FioResult {
  ops: number;
  bytes: number;
  runtimeMs: number;
  /** fio's sync (fdatasync) latency percentiles, in microseconds. */
  syncUs: { p50: number; p99: number; p999: number; max: number; mean: number };
}

function num(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new BenchError('PARSE_FAILED', `fio JSON: ${what} is missing or not a number`);
  return v;
}

// Parses `fio --output-format=json` for one job: writes done, bytes, runtime, and the latency
// percentiles of its fdatasync calls (jobs[].sync.lat_ns). fio may print warnings before the JSON.
export function parseFioJson(text: string): FioResult {
  const start = text.indexOf('{');
  let doc: unknown;
  try {
    doc = JSON.parse(start >= 0 ? text.slice(start) : text);
  } catch (err) {
    throw new BenchError('PARSE_FAILED', 'fio printed something that is not JSON', { cause: err });
  }
  const job = (doc as { jobs?: unknown[] }).jobs?.[0] as Record<string, unknown> | undefined;
  if (!job) throw new BenchError('PARSE_FAILED', 'fio JSON has no jobs');
  if (job.error !== undefined && job.error !== 0) throw new BenchError('PEER_FAILED', `fio job failed with error ${JSON.stringify(job.error)}`);
  const write = job.write as Record<string, unknown> | undefined;
  const sync = (job.sync as { lat_ns?: Record<string, unknown> } | undefined)?.lat_ns;
  if (!write || !sync) throw new BenchError('PARSE_FAILED', 'fio JSON job has no write or sync.lat_ns section');
  const pct = (sync.percentile ?? {}) as Record<string, unknown>;
  const at = (p: string): number => num(pct[p], `sync.lat_ns.percentile[${p}]`) / 1000;
  return {
    ops: num(write.total_ios, 'write.total_ios'),
    bytes: num(write.io_bytes, 'write.io_bytes'),
    runtimeMs: num(job.job_runtime, 'job_runtime'),
    syncUs: {
      p50: at('50.000000'),
      p99: at('99.000000'),
      p999: at('99.900000'),
      max: num(sync.max, 'sync.lat_ns.max') / 1000,
      mean: num(sync.mean, 'sync.lat_ns.mean') / 1000,
    },
  };
}

// fio's arguments for an append workload: a fresh file written sequentially, fdatasync after every
// write. fio lays out nothing in advance for a pure sequential write without overwrite=1, so every
// write extends the file, the case a log without preallocation is in.
export function fioArgs(file: string, size: number, durationMs: number): string[] {
  return [
    '--name=append',
    `--filename=${file}`,
    '--rw=write',
    `--bs=${size}`,
    '--ioengine=sync',
    '--fdatasync=1',
    '--fallocate=none',
    `--size=${Math.max(1024 * 1024 * 1024, size * 4096)}`,
    `--runtime=${Math.max(100, Math.round(durationMs))}ms`,
    '--output-format=json',
  ];
}

// fio, 4 KiB (or SIZE) append + fdatasync, one job.
export class FioDriver implements PeerDriver {
  readonly peer = 'fio' as const;
  readonly describe = "fio: sequential append to a fresh file, fdatasync after every write (latency = fio's sync latency)";

  async prepare(): Promise<Readiness> {
    try {
      await run('fio', ['--version']);
      return { status: 'ready' };
    } catch (err) {
      if (err instanceof RunError && err.code === 'COMMAND_NOT_FOUND') return { status: 'skipped', reason: 'fio not installed (apt-get install fio)' };
      throw err;
    }
  }

  async slice(cell: PeerCell, ctx: SliceContext): Promise<Slice> {
    const io = deviceWindow(ctx.devices);
    const cpu0 = readCpu();
    const { stdout } = await run('fio', fioArgs(join(ctx.dir, 'fio.dat'), cell.size, ctx.durationMs), { timeoutMs: ctx.durationMs + 120_000 });
    const cpu1 = readCpu();
    const devices = io.finish();
    const r = parseFioJson(stdout);
    return {
      ops: r.ops,
      bytes: r.bytes,
      elapsedNs: r.runtimeMs * 1e6,
      latency: null,
      devices,
      cpuUs: cpu1.childrenUs - cpu0.childrenUs,
      reportedMeanUs: r.syncUs.mean,
      reportedPercentilesUs: { p50: r.syncUs.p50, p99: r.syncUs.p99, p999: r.syncUs.p999, max: r.syncUs.max },
    };
  }

  async close(): Promise<void> {}
}
