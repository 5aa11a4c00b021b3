// Open-loop load (`pnpm bench --offered R1,R2,...`): commits arrive on a schedule, whatever the
// log is doing, the way requests reach a server. The offered rate is spread over the writers, each
// with its own seeded arrival stream (Poisson, or a fixed interval); a writer issues each commit at
// its scheduled time, or as soon as its previous commit is acknowledged when it has fallen behind,
// and its latency is counted from the scheduled arrival, so time spent queued behind a slow commit
// is counted too (no coordinated omission). This is pgbench --rate's model: its per-transaction
// latency plus schedule lag is the same figure. Arrivals still unissued when the slice ends are
// counted as `missed` (the load the log could not take), not dropped silently.
import { mulberry32 } from '../seeded-random.js';
import type { LatencyHistogram } from './latency.js';

export const ARRIVAL_PROCESSES = ['poisson', 'fixed'] as const;
export type ArrivalProcess = (typeof ARRIVAL_PROCESSES)[number];

export interface OpenLoopPlan {
  writers: number;
  /** Commits per second offered in total, spread evenly over the writers. */
  offeredPerSec: number;
  durationMs: number;
  arrivals: ArrivalProcess;
  seed: number;
}

export interface OpenLoopOutcome {
  ops: number;
  elapsedNs: number;
  /** Arrivals scheduled within the slice that were never issued (the writer was still behind). */
  missed: number;
}

// The seeded generator behind the arrival schedule, so a run's arrival times can be reproduced.
export const seededRandom = mulberry32;

// Gaps between one writer's arrivals, in milliseconds: exponential (Poisson arrivals) or constant.
export function arrivalGaps(kind: ArrivalProcess, perSec: number, seed: number): () => number {
  const mean = 1000 / perSec;
  if (kind === 'fixed') return () => mean;
  const random = seededRandom(seed);
  return () => -Math.log(1 - random()) * mean;
}

// Wakes writers at their scheduled times: setTimeout while the next arrival is more than 2 ms
// away (timers are only good to about a millisecond), setImmediate turns closer to it, so an
// arrival is issued within tens of microseconds of its time while the event loop is free.
class Dispatcher {
  #waiting: { due: number; wake: () => void }[] = [];
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity; // when the pending timer fires
  #immediate = false;

  wait(due: number): Promise<void> {
    return new Promise((wake) => {
      this.#waiting.push({ due, wake });
      this.#schedule();
    });
  }

  // Makes sure a tick comes in time for the earliest waiter (an arrival earlier than the pending
  // timer moves it forward).
  #schedule(): void {
    if (this.#immediate || this.#waiting.length === 0) return;
    let next = Infinity;
    for (const w of this.#waiting) next = Math.min(next, w.due);
    const ahead = next - performance.now();
    if (ahead > 2) {
      const at = next - 1.5;
      if (at >= this.#timerAt) return;
      clearTimeout(this.#timer);
      this.#timerAt = at;
      this.#timer = setTimeout(this.#tick, at - performance.now());
    } else {
      clearTimeout(this.#timer);
      this.#timerAt = Infinity;
      this.#immediate = true;
      setImmediate(this.#tick);
    }
  }

  readonly #tick = (): void => {
    this.#immediate = false;
    this.#timerAt = Infinity;
    const now = performance.now();
    const keep: { due: number; wake: () => void }[] = [];
    for (const w of this.#waiting) {
      if (w.due <= now) w.wake();
      else keep.push(w);
    }
    this.#waiting = keep;
    this.#schedule();
  };
}

// Runs one open-loop slice: `commit(writer, i)` is each commit (awaited when it returns a promise),
// its latency from the scheduled arrival recorded in nanoseconds into `hist`.
export async function runOpenLoop(
  plan: OpenLoopPlan,
  hist: LatencyHistogram,
  commit: (writer: number, i: number) => Promise<unknown> | void,
): Promise<OpenLoopOutcome> {
  const dispatcher = new Dispatcher();
  const perWriter = plan.offeredPerSec / plan.writers;
  const start = performance.now() + 1;
  const end = start + plan.durationMs;
  let ops = 0;
  let missed = 0;
  let last = start;
  const writer = async (w: number): Promise<void> => {
    // Each writer's stream has its own seed, derived from the run's, so streams do not correlate.
    const gap = arrivalGaps(plan.arrivals, perWriter, plan.seed * 1000 + w);
    let due = start + gap();
    for (let i = 0; due < end; i++) {
      const now = performance.now();
      if (now >= end) {
        // Behind schedule when the slice ends: what is still due was offered and not taken.
        for (; due < end; due += gap()) missed++;
        break;
      }
      if (due > now) await dispatcher.wait(due);
      const pending = commit(w, i);
      if (pending) await pending;
      const done = performance.now();
      hist.recordValue(Math.max(1, Math.round((done - due) * 1e6)));
      ops++;
      last = Math.max(last, done);
      due += gap();
    }
  };
  await Promise.all(Array.from({ length: plan.writers }, (_, w) => writer(w)));
  return { ops, elapsedNs: Math.round((Math.max(last, Math.min(end, performance.now())) - start) * 1e6), missed };
}

// A point whose achieved rate is below this share of its offered rate is saturated.
const SATURATED = 0.9;

export interface CurvePoint {
  offered: number;
  achievedPerSec: number;
  p50Us: number | null;
  p99Us: number | null;
  p999Us: number | null;
  /** Arrivals never issued (null where the tool does not say: pgbench). */
  missed: number | null;
}

// The knee of a latency-vs-offered-load curve: the highest offered rate whose p99 stays within
// `factor` times the p99 at the lightest offered rate, walking up from the lightest and stopping
// at the first rate past it (a lucky point beyond an overload does not move the knee). Null
// without a measured lightest point, and null when the lightest load was already more than the
// log could take (under 90% of it achieved): its p99 is then the queue's, not a baseline.
export function knee(points: readonly CurvePoint[], factor = 2): number | null {
  const sorted = [...points].filter((p) => p.p99Us !== null).sort((a, b) => a.offered - b.offered);
  const lightest = sorted[0];
  const base = lightest?.p99Us;
  if (lightest === undefined || base === undefined || base === null || lightest.achievedPerSec < SATURATED * lightest.offered) return null;
  let best: number | null = null;
  for (const p of sorted) {
    if ((p.p99Us as number) > factor * base) break;
    best = p.offered;
  }
  return best;
}
