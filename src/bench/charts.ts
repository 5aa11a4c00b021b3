import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as vega from 'vega';
import * as vl from 'vega-lite';
import type { FsName } from './cell.js';
import { openLoopCurves, type BenchResults, type MeasuredCell } from './results.js';

type Spec = vl.TopLevelSpec;
const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';

export interface ChartSpec {
  /** File name without extension. */
  name: string;
  title: string;
  /** How to read it, for report.md and the README. */
  howToRead: string;
  spec: Spec;
}

// Closed-loop cells: open-loop ones have a chart of their own (openLoopChart).
function measured(r: Pick<BenchResults, 'cells'>): MeasuredCell[] {
  return r.cells.filter((c): c is MeasuredCell => c.status === 'measured' && c.offered === undefined);
}

// The filesystem most charts are drawn for: the host's own when it was measured.
function mainFs(cells: readonly MeasuredCell[]): FsName | undefined {
  return cells.some((c) => c.fs === 'host') ? 'host' : cells[0]?.fs;
}

// The size most charts are drawn for: 4 KiB when measured (the targets are all at 4 KiB).
function mainSize(cells: readonly MeasuredCell[]): number | undefined {
  return cells.some((c) => c.size === 4096) ? 4096 : cells[0]?.size;
}

function kindOf(c: MeasuredCell): string {
  if (c.kind === 'peer') return 'peer';
  return c.metrics.durableAck ? 'WAL (durable ack)' : 'WAL (ack not durable)';
}

// Throughput of every strategy and every peer at one writer, on one fs and size.
export function throughputChart(r: Pick<BenchResults, 'cells'>): ChartSpec | null {
  const m = measured(r);
  const fs = mainFs(m);
  const size = mainSize(m);
  const rows = m
    .filter(
      (c) =>
        c.fs === fs &&
        c.size === (c.kind === 'peer' && c.peer === 'pg_test_fsync' ? c.size : size) &&
        c.writers === 1 &&
        (c.kind === 'peer' || (c.prealloc === 'zero' && c.threads === 0)),
    )
    .map((c) => ({ what: c.label, opsPerSec: Math.round(c.metrics.opsPerSec), kind: kindOf(c) }));
  if (rows.length === 0) return null;
  const base = 10 ** Math.floor(Math.log10(Math.max(1, Math.min(...rows.map((r) => r.opsPerSec)))));
  // Room to the right of the longest bar for its label.
  const top = 10 ** Math.ceil(Math.log10(Math.max(...rows.map((r) => r.opsPerSec)) * 2));
  return {
    name: 'throughput-per-strategy',
    title: `Commits per second at 1 writer (${fs}, ${size} B entries)`,
    howToRead:
      'One bar per WAL strategy and per peer, one writer, log scale. Grey bars acknowledge before the data is durable (periodic, none): their speed is not comparable with the others. The raw floor is the best a single writer can do with pwrite+fdatasync.',
    spec: {
      $schema: SCHEMA,
      title: `Commits per second at 1 writer (${fs}, ${size} B entries, log scale)`,
      data: { values: rows },
      encoding: {
        y: { field: 'what', type: 'nominal', sort: '-x', title: null },
        // Bars need an explicit base on a log scale: the default zero baseline has no logarithm.
        x: { field: 'opsPerSec', type: 'quantitative', scale: { type: 'log', domain: [base, top] }, title: 'commits per second' },
      },
      layer: [
        {
          mark: { type: 'bar', tooltip: true },
          encoding: {
            x2: { datum: base },
            color: {
              field: 'kind',
              type: 'nominal',
              scale: { domain: ['WAL (durable ack)', 'WAL (ack not durable)', 'peer'], range: ['#1f77b4', '#bbbbbb', '#ff7f0e'] },
              title: null,
              legend: { labelLimit: 300 },
            },
          },
        },
        { mark: { type: 'text', align: 'left', dx: 3, fontSize: 10 }, encoding: { text: { field: 'opsPerSec', type: 'quantitative', format: ',' } } },
      ],
      width: 520,
    },
  };
}

// Commit latency distributions (percentile curves) of every cell with a histogram at one writer,
// plus group commit at its largest writer count.
export function latencyChart(r: Pick<BenchResults, 'cells'>): ChartSpec | null {
  const m = measured(r);
  const fs = mainFs(m);
  const size = mainSize(m);
  const onFs = m.filter((c) => c.fs === fs && c.size === size && c.metrics.latency.curve !== null && (c.kind === 'peer' || c.prealloc === 'zero'));
  const maxGroup = Math.max(0, ...onFs.filter((c) => c.kind === 'wal' && c.strategy.startsWith('group-')).map((c) => c.writers));
  const chosen = onFs.filter((c) => c.writers === 1 || (c.kind === 'wal' && c.strategy.startsWith('group-') && c.writers === maxGroup));
  const rows = chosen.flatMap((c) =>
    (c.metrics.latency.curve ?? []).map((p) => ({
      series: `${c.label} w${c.writers}`,
      kind: c.kind === 'wal' ? 'WAL' : 'peer',
      percentile: `p${p.percentile}`,
      us: Math.max(p.us, 0.1),
    })),
  );
  if (rows.length === 0) return null;
  return {
    name: 'latency-distributions',
    title: `Commit latency distributions (${fs}, ${size} B)`,
    howToRead:
      'Each line is one cell: commit latency (append call to acknowledgement, log scale) at increasing percentiles, left to right from the fastest commit to the slowest. Flat and low is good; a line that shoots up at p99.9 has stalls. fio and pg_test_fsync are not drawn: fio reports only its own percentiles of fdatasync (they are in the table), pg_test_fsync only means.',
    spec: {
      $schema: SCHEMA,
      title: `Commit latency by percentile (${fs}, ${size} B, log scale)`,
      data: { values: rows },
      mark: { type: 'line', point: true, tooltip: true },
      encoding: {
        x: { field: 'percentile', type: 'ordinal', sort: null, title: 'percentile' },
        y: { field: 'us', type: 'quantitative', scale: { type: 'log' }, title: 'latency (us)' },
        // Up to a dozen series: 20 colours so none repeats, full labels in the legend.
        color: { field: 'series', type: 'nominal', title: null, scale: { scheme: 'category20' }, legend: { labelLimit: 300 } },
        strokeDash: { field: 'kind', type: 'nominal', title: null, legend: { labelLimit: 300 } },
      },
      width: 520,
      height: 320,
    },
  };
}

// Throughput and p99 against writer count for everything measured at more than one writer count.
export function groupScalingChart(r: Pick<BenchResults, 'cells'>): ChartSpec | null {
  const m = measured(r);
  const fs = mainFs(m);
  const size = mainSize(m);
  // Segments as the WAL ships them (recycled) and fresh zero-filled ones; not the other modes.
  const onFs = m.filter((c) => c.fs === fs && c.size === size && (c.kind === 'peer' || c.prealloc === 'zero' || c.prealloc === 'recycle'));
  const counts = new Map<string, Set<number>>();
  for (const c of onFs) counts.set(c.label, (counts.get(c.label) ?? new Set()).add(c.writers));
  const rows = onFs
    .filter((c) => (counts.get(c.label)?.size ?? 0) > 1)
    .map((c) => ({ series: c.label, writers: c.writers, opsPerSec: Math.round(c.metrics.opsPerSec), p99Us: c.metrics.latency.p99Us }));
  if (rows.length === 0) return null;
  const x = {
    field: 'writers',
    type: 'quantitative' as const,
    scale: { type: 'log' as const, base: 2 },
    axis: { values: [...new Set(rows.map((r) => r.writers))] },
    title: 'writers',
  };
  return {
    name: 'group-commit-scaling',
    title: `Scaling with writers (${fs}, ${size} B)`,
    howToRead:
      "Top: commits per second as writers are added (both axes log). Group commit should climb steeply, since one fdatasync covers every writer waiting; a flat line means each commit still pays its own sync. raw-floor is the disk's ceiling: N entries written and fdatasynced at once with no CPU spent around them, which no group commit can beat. Bottom: p99 commit latency; the target is at most 3x the 1-writer p99 at 64 writers.",
    spec: {
      $schema: SCHEMA,
      title: `Scaling with writers (${fs}, ${size} B)`,
      data: { values: rows },
      vconcat: [
        {
          mark: { type: 'line', point: true, tooltip: true },
          encoding: {
            x,
            y: { field: 'opsPerSec', type: 'quantitative', scale: { type: 'log' }, title: 'commits per second' },
            color: { field: 'series', type: 'nominal', title: null, legend: { labelLimit: 400 } },
          },
          width: 480,
          height: 240,
        },
        {
          mark: { type: 'line', point: true, tooltip: true },
          encoding: {
            x,
            y: { field: 'p99Us', type: 'quantitative', scale: { type: 'log' }, title: 'p99 commit latency (us)' },
            color: { field: 'series', type: 'nominal', title: null, legend: { labelLimit: 400 } },
          },
          width: 480,
          height: 200,
        },
      ],
    },
  };
}

// Filesystem x strategy heatmap: WAL commits per second at one writer.
export function fsMatrixChart(r: Pick<BenchResults, 'cells'>): ChartSpec | null {
  const m = measured(r);
  const size = mainSize(m);
  const rows = m
    .filter((c) => c.kind === 'wal' && c.size === size && c.writers === 1 && c.prealloc === 'zero' && c.threads === 0)
    .map((c) => ({ fs: c.fs, strategy: c.kind === 'wal' ? c.strategy : '', opsPerSec: Math.round(c.metrics.opsPerSec) }));
  if (rows.length === 0) return null;
  return {
    name: 'fs-strategy-matrix',
    title: `Filesystem x strategy (1 writer, ${size} B)`,
    howToRead:
      'WAL commits per second for each filesystem (row) and strategy (column), one writer. Compare across a column to see what the filesystem costs; ext4-nobarrier is fast because it sends no cache flushes and is not durable.',
    spec: {
      $schema: SCHEMA,
      title: `WAL commits per second, filesystem x strategy (1 writer, ${size} B)`,
      data: { values: rows },
      encoding: {
        x: { field: 'strategy', type: 'nominal', title: null },
        y: { field: 'fs', type: 'nominal', title: null },
      },
      layer: [
        {
          mark: 'rect',
          encoding: { color: { field: 'opsPerSec', type: 'quantitative', scale: { type: 'log', scheme: 'lighttealblue' }, title: 'commits/s' } },
        },
        { mark: { type: 'text', fontSize: 10 }, encoding: { text: { field: 'opsPerSec', type: 'quantitative', format: ',' } } },
      ],
      width: { step: 70 },
      height: { step: 28 },
    },
  };
}

// Preallocation modes: throughput, and the device writes and flushes per commit that explain it.
export function preallocChart(r: Pick<BenchResults, 'cells'>): ChartSpec | null {
  const m = measured(r);
  const size = mainSize(m);
  const cells = m.filter((c) => c.kind === 'wal' && c.strategy === 'fdatasync' && c.writers === 1 && c.size === size && c.threads === 0);
  if (new Set(cells.map((c) => (c.kind === 'wal' ? c.prealloc : ''))).size < 2) return null;
  const rows = cells.flatMap((c) => {
    const mode = c.kind === 'wal' ? c.prealloc : '';
    const d = c.metrics.devices[0];
    return [
      { fs: c.fs, prealloc: mode, measure: 'commits per second', value: Math.round(c.metrics.opsPerSec) },
      { fs: c.fs, prealloc: mode, measure: 'device writes per commit', value: d ? d.writesPerCommit : 0 },
      { fs: c.fs, prealloc: mode, measure: 'device flushes per commit', value: d?.flushesPerCommit ?? 0 },
    ];
  });
  return {
    name: 'preallocation',
    title: `Preallocation modes (fdatasync, 1 writer, ${size} B)`,
    howToRead:
      "Left: commits per second for each way of preparing segments. Middle and right: what each commit cost the device, from /proc/diskstats. Appending to a file that grows ('none') makes fdatasync also commit the file's new size through the filesystem's journal; zero-filled segments are overwritten in place and need no metadata. The difference in device writes (and, where the journal needs its own, flushes) per commit is that metadata, and explains the difference in speed.",
    spec: {
      $schema: SCHEMA,
      title: `Preallocation modes (fdatasync, 1 writer, ${size} B)`,
      data: { values: rows },
      facet: {
        column: { field: 'measure', type: 'nominal', title: null, sort: ['commits per second', 'device writes per commit', 'device flushes per commit'] },
      },
      spec: {
        mark: { type: 'bar', tooltip: true },
        encoding: {
          x: { field: 'prealloc', type: 'nominal', sort: ['none', 'fallocate', 'zero', 'recycle'], title: null },
          xOffset: { field: 'fs', type: 'nominal' },
          y: { field: 'value', type: 'quantitative', title: null },
          color: { field: 'fs', type: 'nominal', title: 'filesystem' },
        },
        width: 180,
        height: 220,
      },
      resolve: { scale: { y: 'independent' } },
    },
  };
}

// Open loop: commit latency against the offered rate, one line per strategy and peer.
export function openLoopChart(r: Pick<BenchResults, 'cells'>): ChartSpec | null {
  const curves = openLoopCurves(r.cells);
  const fs = curves.some((c) => c.fs === 'host') ? 'host' : curves[0]?.fs;
  const onFs = curves.filter((c) => c.fs === fs);
  const rows = onFs.flatMap((c) =>
    c.points.flatMap((p) => [
      { series: `${c.what} (${c.writers}w)`, offered: p.offered, achieved: Math.round(p.achievedPerSec), percentile: 'p50', us: p.p50Us },
      { series: `${c.what} (${c.writers}w)`, offered: p.offered, achieved: Math.round(p.achievedPerSec), percentile: 'p99', us: p.p99Us },
      { series: `${c.what} (${c.writers}w)`, offered: p.offered, achieved: Math.round(p.achievedPerSec), percentile: 'p99.9', us: p.p999Us },
    ]),
  );
  if (rows.length === 0) return null;
  const knees = onFs.filter((c) => c.knee !== null).map((c) => ({ series: `${c.what} (${c.writers}w)`, knee: c.knee }));
  const x = { field: 'offered', type: 'quantitative' as const, scale: { type: 'log' as const }, title: 'offered commits per second (log)' };
  const color = { field: 'series', type: 'nominal' as const, title: null, legend: { labelLimit: 400 } };
  return {
    name: 'open-loop-latency',
    title: `Commit latency vs offered load, open loop (${fs})`,
    howToRead:
      "Open loop: commits arrive on a seeded schedule whatever the log is doing, and latency counts from each commit's scheduled arrival, so queueing behind a slow commit is counted (no coordinated omission). Top: p99 (solid), p50 (dotted) and p99.9 (dashed) commit latency against the offered rate, both axes log; the vertical rule per series is its knee, the highest offered rate whose p99 stays within 2x of the lightest load's. Bottom: commits per second achieved against offered; a series that falls below the diagonal has saturated, and its latency then grows with the queue.",
    spec: {
      $schema: SCHEMA,
      title: `Commit latency vs offered load, open loop (${fs})`,
      vconcat: [
        {
          layer: [
            {
              data: { values: rows },
              mark: { type: 'line', point: true, tooltip: true },
              encoding: {
                x,
                y: { field: 'us', type: 'quantitative', scale: { type: 'log' }, title: 'commit latency (us, log)' },
                color,
                strokeDash: {
                  field: 'percentile',
                  type: 'nominal',
                  scale: {
                    domain: ['p50', 'p99', 'p99.9'],
                    range: [
                      [2, 2],
                      [1, 0],
                      [6, 3],
                    ],
                  },
                  title: null,
                },
              },
            },
            { data: { values: knees }, mark: { type: 'rule', opacity: 0.5 }, encoding: { x: { field: 'knee', type: 'quantitative' }, color } },
          ],
          width: 480,
          height: 260,
        },
        {
          data: { values: rows.filter((r) => r.percentile === 'p99') },
          mark: { type: 'line', point: true, tooltip: true },
          encoding: { x, y: { field: 'achieved', type: 'quantitative', scale: { type: 'log' }, title: 'achieved commits per second (log)' }, color },
          width: 480,
          height: 200,
        },
      ],
    },
  };
}

export const CHARTS = [throughputChart, latencyChart, groupScalingChart, fsMatrixChart, preallocChart, openLoopChart] as const;

// Renders a Vega-Lite spec to SVG in Node: Vega's SVG renderer needs no canvas.
export async function renderSvg(spec: Spec): Promise<string> {
  const view = new vega.View(vega.parse(vl.compile(spec).spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

export interface WrittenChart {
  name: string;
  title: string;
  howToRead: string;
  file: string;
}

// Writes every chart that has data as DIR/<name>.svg (and its spec as <name>.vl.json, to re-render or restyle).
export async function writeCharts(results: Pick<BenchResults, 'cells'>, dir: string): Promise<WrittenChart[]> {
  mkdirSync(dir, { recursive: true });
  const out: WrittenChart[] = [];
  for (const make of CHARTS) {
    const chart = make(results);
    if (!chart) continue;
    const file = join(dir, `${chart.name}.svg`);
    writeFileSync(file, await renderSvg(chart.spec));
    writeFileSync(join(dir, `${chart.name}.vl.json`), JSON.stringify(chart.spec, null, 2) + '\n');
    out.push({ name: chart.name, title: chart.title, howToRead: chart.howToRead, file });
  }
  return out;
}
