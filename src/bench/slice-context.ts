import type { ArrivalProcess } from './open-loop.js';

// What every slice runner gets: a fresh empty directory on the cell's filesystem, the block
// devices to count, and how long to measure.
export interface SliceContext {
  /** Empty directory on the cell's filesystem, removed by the suite after the slice. */
  dir: string;
  /** Device names (as in /proc/diskstats) whose counters the slice reports. */
  devices: readonly string[];
  durationMs: number;
  /** Open-loop cells: how arrivals are scheduled (--arrivals, --seed). */
  arrivals?: { process: ArrivalProcess; seed: number };
}
