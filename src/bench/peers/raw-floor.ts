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
  ops: number;
  elapsedNs: number;
  latenciesNs: number[];
}

// Parses raw-floor's stdout: "ops N ns E", then one latency in nanoseconds per line.
export function parseRawFloorOutput(text: string): RawFloorOutput {
  const lines = text.trim().split('\n');
  const head = /^ops (\d+) ns (\d+)$/.exec(lines[0] ?? '');
  if (!head) throw new BenchError('PARSE_FAILED', `raw-floor printed ${JSON.stringify((lines[0] ?? '').slice(0, 80))}, expected "ops N ns E"`);
  const latenciesNs = lines.slice(1).map(Number);
  const ops = Number(head[1]);
  if (latenciesNs.length !== ops || latenciesNs.some((n) => !Number.isFinite(n) || n < 0)) {
    throw new BenchError('PARSE_FAILED', `raw-floor reported ${ops} ops but printed ${latenciesNs.length} valid latencies`);
  }
  return { ops, elapsedNs: Number(head[2]), latenciesNs };
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

// The floor: a C loop of pwrite + fdatasync over a zero-filled, preallocated file.
export class RawFloorDriver implements PeerDriver {
  readonly peer = 'raw-floor' as const;
  readonly describe = 'C loop: pwrite + fdatasync over a zero-filled preallocated file (the best a single writer can do)';
  private binary: string | undefined;

  constructor(private readonly cacheDir: string) {}

  async prepare(): Promise<Readiness> {
    try {
      this.binary = await compileRawFloor(this.cacheDir);
      return { status: 'ready' };
    } catch (err) {
      if (err instanceof RunError) return { status: 'skipped', reason: err.code === 'COMMAND_NOT_FOUND' ? 'no C compiler (cc) on PATH' : `cc failed: ${err.message}` };
      throw err;
    }
  }

  async slice(cell: PeerCell, ctx: SliceContext): Promise<Slice> {
    if (!this.binary) throw new BenchError('PEER_FAILED', 'raw-floor was not prepared');
    // Big enough that the loop rarely wraps. The fill runs before the device window opens, so
    // its writes do not count against the commits.
    const file = join(ctx.dir, 'floor.dat');
    await run(this.binary, ['fill', file, String(Math.max(16 * 1024 * 1024, cell.size * 64))]);
    const io = deviceWindow(ctx.devices);
    const cpu0 = readCpu();
    const { stdout } = await run(this.binary, ['run', file, String(cell.size), String(ctx.durationMs)]);
    const cpu1 = readCpu();
    const devices = io.finish();
    const out = parseRawFloorOutput(stdout);
    const hist = newHistogram();
    for (const ns of out.latenciesNs) hist.recordValue(ns);
    return { ops: out.ops, bytes: out.ops * cell.size, elapsedNs: out.elapsedNs, latency: hist, devices, cpuUs: cpu1.childrenUs - cpu0.childrenUs };
  }

  async close(): Promise<void> {}
}
