// The open-loop scheduler (issue 16): seeded arrivals, latency from the scheduled arrival (no
// coordinated omission), missed arrivals counted, and the knee of a curve.
import { describe, expect, it } from 'vitest';
import { newHistogram } from '../../src/bench/latency.js';
import { arrivalGaps, knee, runOpenLoop, seededRandom, type CurvePoint } from '../../src/bench/open-loop.js';

const point = (offered: number, p99Us: number | null): CurvePoint => ({ offered, achievedPerSec: offered, p50Us: p99Us, p99Us, p999Us: p99Us, missed: 0 });
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('open-loop arrivals', () => {
  it('are reproducible from the seed, and Poisson gaps average the rate', () => {
    const a = seededRandom(7);
    const b = seededRandom(7);
    expect(Array.from({ length: 5 }, a)).toEqual(Array.from({ length: 5 }, b));
    const gap = arrivalGaps('poisson', 1000, 3);
    const n = 20_000;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += gap();
    expect(sum / n).toBeGreaterThan(0.95);
    expect(sum / n).toBeLessThan(1.05);
    expect(arrivalGaps('fixed', 500, 1)()).toBe(2);
  });

  it('counts latency from the scheduled arrival: a writer that falls behind sees its queue in the latency', async () => {
    // One writer offered 1000/s (a commit due every ms) against commits that take 5 ms: the
    // system keeps up with a fifth of the load, so the nth commit waits about 4n ms behind
    // schedule. A closed loop (latency from the call) would report 5 ms for every one.
    const hist = newHistogram();
    const out = await runOpenLoop({ writers: 1, offeredPerSec: 1000, durationMs: 200, arrivals: 'fixed', seed: 1 }, hist, () => sleep(5));
    // At most 40 commits of 5 ms fit in 200 ms; fewer on a loaded machine, where a 5 ms timer fires late.
    expect(out.ops).toBeGreaterThan(2);
    expect(out.ops).toBeLessThan(60);
    expect(out.missed).toBeGreaterThan(100);
    expect(hist.maxValue / 1e6).toBeGreaterThan(100); // ms: the last commits waited most of the slice
    expect(hist.getValueAtPercentile(50) / 1e6).toBeGreaterThan(20);
  });

  it('under light load issues commits on time: latency is the commit itself', async () => {
    // 4 writers, 5 arrivals/s each (gaps of 200 ms on average): a dispatcher that let an earlier
    // arrival wait for a later one's timer showed median lateness of half a gap and more. The
    // bound leaves a loaded machine's scheduling tens of ms.
    const hist = newHistogram();
    const out = await runOpenLoop({ writers: 4, offeredPerSec: 20, durationMs: 1000, arrivals: 'poisson', seed: 2 }, hist, () => undefined);
    expect(out.ops).toBeGreaterThan(8);
    expect(out.missed).toBeLessThanOrEqual(1);
    expect(hist.getValueAtPercentile(50) / 1e6).toBeLessThan(50);
  });
});

describe('knee', () => {
  it('is the highest offered rate before the first whose p99 exceeds twice the lightest load', () => {
    expect(knee([point(1000, 100), point(5000, 150), point(10_000, 199), point(20_000, 900)])).toBe(10_000);
    // A lucky point past an overload does not move the knee.
    expect(knee([point(1000, 100), point(5000, 500), point(10_000, 150)])).toBe(1000);
    expect(knee([point(20_000, 900), point(1000, 100)])).toBe(1000);
    expect(knee([])).toBeNull();
    expect(knee([point(1000, null)])).toBeNull();
    // A lightest load already past what the log takes is no baseline.
    expect(knee([{ ...point(500, 900_000), achievedPerSec: 250 }, point(1000, 900_000)])).toBeNull();
  });
});
