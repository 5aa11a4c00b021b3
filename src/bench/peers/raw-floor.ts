import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run, RunError } from '../../run.js';
import { BenchError } from '../bench-error.js';
import type { PeerCell } from '../cell.js';
import { newHistogram } from '../latency.js';
import { deviceWindow, readCpu, type Slice } from '../slice.js';
import type { SliceContext } from '../slice-context.js';
import type { PeerDriver, Readiness } from './peer-driver.js';

const SOURCE = fileURLToPath(new URL('./raw-floor.c', import.meta.url));

export interface RawFloorOutput {
  /** pwrite+fdatasync steps; each made `batch` entries durable. */
  ops: number;
  batch: number;
  elapsedNs: number;
  /** One per step. */
  latenciesNs: number[];
}

// Parses raw-floor's stdout: "ops N ns E batch B", then one latency in nanoseconds per step.
export function parseRawFloorOutput(text: string): RawFloorOutput {
  const lines = text.trim().split('\n');
  const head = /^ops (\d+) ns (\d+) batch (\d+)$/.exec(lines[0] ?? '');
  if (!head) throw new BenchError('PARSE_FAILED', `raw-floor printed ${JSON.stringify((lines[0] ?? '').slice(0, 80))}, expected "ops N ns E batch B"`);
  const latenciesNs = lines.slice(1).map(Number);
  const ops = Number(head[1]);
  if (latenciesNs.length !== ops || latenciesNs.some((n) => !Number.isFinite(n) || n < 0)) {
    throw new BenchError('PARSE_FAILED', `raw-floor reported ${ops} ops but printed ${latenciesNs.length} valid latencies`);
  }
  return { ops, batch: Number(head[3]), elapsedNs: Number(head[2]), latenciesNs };
}

// Compiles raw-floor.c once per source version into the cache dir (named by the source's hash,
// so an edit recompiles and a stale binary is never used).
export async function compileRawFloor(cacheDir: string): Promise<string> {
  const source = readFileSync(SOURCE);
  const hash = createHash('sha256').update(source).digest('hex').slice(0, 12);
  mkdirSync(cacheDir, { recursive: true });
  const binary = join(cacheDir, `raw-floor-${hash}`);
  if (!existsSync(binary)) await run('cc', ['-O2', '-Wall', '-o', binary, SOURCE]);
  return binary;
}

// The floor: a C loop of pwrite + fdatasync over a zero-filled, preallocated file. At N writers it
// is the disk's ceiling for group commit: N entries per pwrite, one fdatasync for all of them, and
// nothing else (no collecting, acknowledging or waking): what N writers could reach at best.
export class RawFloorDriver implements PeerDriver {
  readonly peer = 'raw-floor' as const;
  readonly describe =
    'C loop: pwrite + fdatasync over a zero-filled preallocated file (1 writer: the best a single writer can do; N writers: N entries per pwrite + one fdatasync, the ceiling of group commit)';
  private binary: string | undefined;

  constructor(private readonly cacheDir: string) {}

  async prepare(): Promise<Readiness> {
    try {
      this.binary = await compileRawFloor(this.cacheDir);
      return { status: 'ready' };
    } catch (err) {
      if (err instanceof RunError)
        return { status: 'skipped', reason: err.code === 'COMMAND_NOT_FOUND' ? 'no C compiler (cc) on PATH' : `cc failed: ${err.message}` };
      throw err;
    }
  }

  async slice(cell: PeerCell, ctx: SliceContext): Promise<Slice> {
    if (!this.binary) throw new BenchError('PEER_FAILED', 'raw-floor was not prepared');
    // Big enough that the loop rarely wraps. The fill runs before the device window opens, so
    // its writes do not count against the commits.
    const file = join(ctx.dir, 'floor.dat');
    await run(this.binary, ['fill', file, String(Math.max(16 * 1024 * 1024, cell.size * 64 * cell.writers))]);
    const io = deviceWindow(ctx.devices);
    const cpu0 = readCpu();
    const { stdout } = await run(this.binary, ['run', file, String(cell.size), String(ctx.durationMs), String(cell.writers)]);
    const cpu1 = readCpu();
    const devices = io.finish();
    const out = parseRawFloorOutput(stdout);
    if (out.batch !== cell.writers) throw new BenchError('PARSE_FAILED', `raw-floor ran batches of ${out.batch}, asked for ${cell.writers}`);
    // Every commit of a step waited the step's whole latency.
    const hist = newHistogram();
    for (const ns of out.latenciesNs) hist.recordValueWithCount(ns, out.batch);
    const commits = out.ops * out.batch;
    return { ops: commits, bytes: commits * cell.size, elapsedNs: out.elapsedNs, latency: hist, devices, cpuUs: cpu1.childrenUs - cpu0.childrenUs };
  }

  async close(): Promise<void> {}
}
