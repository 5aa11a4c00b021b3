import { readFileSync } from 'node:fs';
import { addCounters, counterDelta, readCounters, type DiskCounters } from './diskstats.js';
import { newHistogram, type LatencyHistogram } from './latency.js';

// What one timed slice of one cell produced. Cells run in several slices (rounds); their
// slices add up to the cell's result.
export interface Slice {
  ops: number;
  bytes: number;
  elapsedNs: number;
  /** Null when the tool reports no per-operation latencies. */
  latency: LatencyHistogram | null;
  /** Device counters during the slice, by device name (the backing device, and the disk under a loop device). */
  devices: Map<string, DiskCounters>;
  /** CPU microseconds (user+system) spent by the measured code, or null when it cannot be attributed. */
  cpuUs: number | null;
  /** Mean latency a tool reported when it gives no distribution (pg_test_fsync, pgbench without a log). */
  reportedMeanUs?: number;
  /** Percentiles a tool computed itself (fio); they cannot be merged, only collected per slice. */
  reportedPercentilesUs?: ReportedPercentiles;
  /** Open loop: arrivals scheduled within the slice that were never issued. */
  missed?: number;
}

export interface ReportedPercentiles {
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

// The sum of a cell's slices.
export class SliceTotal {
  ops = 0;
  bytes = 0;
  elapsedNs = 0;
  slices = 0;
  latency: LatencyHistogram | null = null;
  devices = new Map<string, DiskCounters>();
  cpuUs: number | null = 0;
  reportedMeanUsWeighted = 0;
  reportedPercentiles: ReportedPercentiles[] = [];
  /** Null unless a slice counted its missed arrivals (open loop through the suite's scheduler). */
  missed: number | null = null;

  add(s: Slice): void {
    if (s.missed !== undefined) this.missed = (this.missed ?? 0) + s.missed;
    this.slices += 1;
    this.ops += s.ops;
    this.bytes += s.bytes;
    this.elapsedNs += s.elapsedNs;
    if (s.latency) {
      if (!this.latency) this.latency = newHistogram();
      this.latency.add(s.latency);
    }
    for (const [name, c] of s.devices) {
      const prev = this.devices.get(name);
      this.devices.set(name, prev ? addCounters(prev, c) : c);
    }
    this.cpuUs = this.cpuUs === null || s.cpuUs === null ? null : this.cpuUs + s.cpuUs;
    if (s.reportedMeanUs !== undefined) this.reportedMeanUsWeighted += s.reportedMeanUs * s.ops;
    if (s.reportedPercentilesUs) this.reportedPercentiles.push(s.reportedPercentilesUs);
  }
}

// Reads device counters around a piece of work: call once before, and `finish()` after.
export function deviceWindow(names: readonly string[]): { finish(): Map<string, DiskCounters> } {
  const before = readCounters(names);
  return {
    finish() {
      const after = readCounters(names);
      const out = new Map<string, DiskCounters>();
      for (const [name, b] of before) {
        const a = after.get(name);
        if (a) out.set(name, counterDelta(b, a));
      }
      return out;
    },
  };
}

// CPU time of this process and of the children it has waited for (/proc/self/stat fields 14-17,
// in clock ticks of 10 ms, so coarse for short slices). Children cover the external peers (fio, the raw loop, pg_test_fsync).
export interface CpuReading {
  selfUs: number;
  childrenUs: number;
}

const TICK_US = 10_000; // USER_HZ is 100 on Linux for every architecture's /proc interface

export function readCpu(): CpuReading {
  const u = process.cpuUsage();
  let childrenUs = 0;
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    // The command name (field 2) may hold spaces, so count from its closing parenthesis:
    // state is field 3, cutime 16, cstime 17.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    childrenUs = (Number(rest[13]) + Number(rest[14])) * TICK_US;
  } catch {
    childrenUs = 0;
  }
  return { selfUs: u.user + u.system, childrenUs };
}
