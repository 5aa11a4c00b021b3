import { newHistogram } from '../latency.js';
import { runOpenLoop } from '../open-loop.js';
import { deviceWindow, type Slice } from '../slice.js';
import type { SliceContext } from '../slice-context.js';

// Times an in-process peer: `writers` concurrent loops, each calling `commit(writer, i)` and
// waiting for it before the next, until the slice's time is up. A synchronous commit (SQLite) is
// not awaited, so it pays no promise round trip the real API would not. Device counters, CPU of
// this process and a latency histogram of every commit make the slice.
export async function timeCommits(
  ctx: SliceContext,
  size: number,
  writers: number,
  commit: (writer: number, i: number) => Promise<void> | void,
): Promise<Slice> {
  const hist = newHistogram();
  let ops = 0;
  const io = deviceWindow(ctx.devices);
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  const end = t0 + BigInt(ctx.durationMs) * 1_000_000n;
  const loop = async (w: number): Promise<void> => {
    for (let i = 0; process.hrtime.bigint() < end; i++) {
      const s = process.hrtime.bigint();
      const pending = commit(w, i);
      if (pending) await pending;
      hist.recordValue(Number(process.hrtime.bigint() - s));
      ops++;
    }
  };
  await Promise.all(Array.from({ length: writers }, (_, w) => loop(w)));
  const elapsedNs = Number(process.hrtime.bigint() - t0);
  const cpu = process.cpuUsage(cpu0);
  return { ops, bytes: ops * size, elapsedNs, latency: hist, devices: io.finish(), cpuUs: cpu.user + cpu.system };
}

// The same peer driven open loop (cell.offered commits/s over `writers`, open-loop.ts): the
// suite's scheduler issues each commit at its arrival time and counts latency from it, exactly as
// for the WAL's open-loop cells.
export async function timeOffered(
  ctx: SliceContext,
  size: number,
  writers: number,
  offered: number,
  commit: (writer: number, i: number) => Promise<void> | void,
): Promise<Slice> {
  const hist = newHistogram();
  const io = deviceWindow(ctx.devices);
  const cpu0 = process.cpuUsage();
  const plan = {
    writers,
    offeredPerSec: offered,
    durationMs: ctx.durationMs,
    arrivals: ctx.arrivals?.process ?? 'poisson',
    seed: ctx.arrivals?.seed ?? 1,
  } as const;
  const out = await runOpenLoop(plan, hist, commit);
  const cpu = process.cpuUsage(cpu0);
  return {
    ops: out.ops,
    bytes: out.ops * size,
    elapsedNs: out.elapsedNs,
    latency: hist,
    devices: io.finish(),
    cpuUs: cpu.user + cpu.system,
    missed: out.missed,
  };
}

// Loads an optional in-process peer module; a module that does not load (not installed, native
// part not built) is a skip with its reason.
export async function loadPeerModule<T>(name: string, load: () => Promise<T>): Promise<{ module: T } | { reason: string }> {
  try {
    return { module: await load() };
  } catch (err) {
    return { reason: `${name} does not load: ${(err as Error).message}` };
  }
}
