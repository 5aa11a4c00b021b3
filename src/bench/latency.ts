import * as hdr from 'hdr-histogram-js';

// Commit latencies are recorded in nanoseconds: `none` acknowledges in about a microsecond and
// would collapse into one bucket at microsecond resolution. 64-bit buckets with auto-resize keep
// multi-second stalls (a 1 MiB fsync on a busy disk) without clipping.
export type LatencyHistogram = hdr.Histogram;

export function newHistogram(): LatencyHistogram {
  return hdr.build({ bitBucketSize: 64, autoResize: true, lowestDiscernibleValue: 1, numberOfSignificantValueDigits: 3 });
}

// The percentiles the report draws as a distribution curve.
export const CURVE_PERCENTILES = [0, 50, 75, 90, 95, 99, 99.5, 99.9, 99.99, 100] as const;

export interface LatencySummary {
  count: number;
  meanUs: number;
  p50Us: number;
  p99Us: number;
  p999Us: number;
  maxUs: number;
  /** The distribution, for charts: microseconds at each of CURVE_PERCENTILES. */
  curve: { percentile: number; us: number }[];
}

const us = (ns: number): number => Math.round(ns / 10) / 100;

// Summarises a histogram of nanoseconds in microseconds (two decimals).
export function summarize(h: LatencyHistogram): LatencySummary {
  return {
    count: h.totalCount,
    meanUs: us(h.mean),
    p50Us: us(h.getValueAtPercentile(50)),
    p99Us: us(h.getValueAtPercentile(99)),
    p999Us: us(Math.min(h.maxValue, h.getValueAtPercentile(99.9))),
    maxUs: us(h.maxValue),
    // A bucket's reported value can exceed the exact maximum; clamp so the curve never overshoots it.
    curve: CURVE_PERCENTILES.map((p) => ({ percentile: p, us: us(Math.min(h.maxValue, h.getValueAtPercentile(p))) })),
  };
}
