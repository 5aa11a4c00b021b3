import { describe, expect, it } from 'vitest';
import { cellId, cellLabel, type PeerName, type StrategyName } from '../../src/bench/cell.js';
import { CHARTS, fsMatrixChart, groupScalingChart, preallocChart, renderSvg, throughputChart } from '../../src/bench/charts.js';
import type { CellResult } from '../../src/bench/results.js';
import { formatReport, formatTargets } from '../../src/bench/report.js';
import { computeTargets } from '../../src/bench/targets.js';

function measured(
  c: { kind: 'wal'; strategy: StrategyName; prealloc: 'zero' | 'none' | 'recycle' | 'fallocate' } | { kind: 'peer'; peer: PeerName },
  writers: number,
  opsPerSec: number,
  offered?: number,
): CellResult {
  const rate = offered === undefined ? {} : { offered };
  const base =
    c.kind === 'wal' ? { ...c, fs: 'host' as const, writers, size: 4096, threads: 0, ...rate } : { ...c, fs: 'host' as const, writers, size: 4096, ...rate };
  const cell = { ...base, id: cellId(base) };
  return {
    ...cell,
    label: cellLabel(cell),
    status: 'measured',
    metrics: {
      ops: opsPerSec,
      seconds: 1,
      slices: 1,
      opsPerSec,
      mbPerSec: 1,
      durableAck: c.kind === 'peer' || c.strategy !== 'none',
      latency: {
        source: 'histogram',
        meanUs: 100,
        p50Us: 90,
        p99Us: 300,
        p999Us: 900,
        maxUs: 2000,
        curve: [
          { percentile: 50, us: 90 },
          { percentile: 99, us: 300 },
        ],
      },
      devices: [{ device: 'vda', writes: opsPerSec, sectors: opsPerSec * 8, flushes: opsPerSec, writesPerCommit: 1, kibPerCommit: 4, flushesPerCommit: 1 }],
      cpuUsPerOp: 20,
    },
  };
}

const CELLS: CellResult[] = [
  measured({ kind: 'wal', strategy: 'fdatasync', prealloc: 'zero' }, 1, 7000),
  measured({ kind: 'wal', strategy: 'fdatasync', prealloc: 'none' }, 1, 3500),
  measured({ kind: 'wal', strategy: 'none', prealloc: 'zero' }, 1, 500_000),
  measured({ kind: 'wal', strategy: 'group-fdatasync', prealloc: 'zero' }, 1, 6800),
  measured({ kind: 'wal', strategy: 'group-fdatasync', prealloc: 'zero' }, 64, 210_000),
  measured({ kind: 'wal', strategy: 'group-fdatasync', prealloc: 'recycle' }, 1, 7000),
  measured({ kind: 'wal', strategy: 'group-fdatasync', prealloc: 'recycle' }, 64, 220_000),
  measured({ kind: 'wal', strategy: 'group-fdatasync', prealloc: 'fallocate' }, 1, 3000),
  measured({ kind: 'wal', strategy: 'group-fdatasync', prealloc: 'fallocate' }, 64, 100_000),
  measured({ kind: 'peer', peer: 'raw-floor' }, 1, 7100),
  measured({ kind: 'peer', peer: 'leveldb' }, 1, 2300),
  measured({ kind: 'peer', peer: 'leveldb' }, 64, 6000),
  measured({ kind: 'wal', strategy: 'group-fdatasync', prealloc: 'recycle' }, 64, 1000, 1000),
  measured({ kind: 'wal', strategy: 'group-fdatasync', prealloc: 'recycle' }, 64, 9000, 10_000),
];

describe('charts', () => {
  it('builds every chart from the cells it needs, and none from nothing', () => {
    for (const make of CHARTS) expect(make({ cells: CELLS })).not.toBeNull();
    for (const make of CHARTS) expect(make({ cells: [] })).toBeNull();
    expect(preallocChart({ cells: CELLS.filter((c) => c.kind !== 'wal' || c.prealloc === 'zero') })).toBeNull();
  });

  it('puts the numbers of the cells into the chart data', () => {
    const t = throughputChart({ cells: CELLS })!;
    const rows = (t.spec as { data: { values: { what: string; opsPerSec: number; kind: string }[] } }).data.values;
    expect(rows.find((r) => r.what === 'raw-floor')?.opsPerSec).toBe(7100);
    expect(rows.find((r) => r.what === 'wal none')?.kind).toBe('WAL (ack not durable)');
    const g = groupScalingChart({ cells: CELLS })!;
    const series = new Set((g.spec as { data: { values: { series: string }[] } }).data.values.map((r) => r.series));
    // Recycled and zero-filled segments are drawn; other preallocation modes have their own chart.
    expect(series).toEqual(new Set(['wal group-fdatasync', 'wal group-fdatasync prealloc=recycle', 'leveldb']));
    expect(fsMatrixChart({ cells: CELLS })).not.toBeNull();
  });

  it('renders to SVG without a canvas', async () => {
    const svg = await renderSvg(throughputChart({ cells: CELLS })!.spec);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('raw-floor');
  });
});

describe('report', () => {
  it('prints every target with PASS, FAIL or NOT MEASURED and embeds the charts', () => {
    const targets = computeTargets(CELLS, [{ name: 'host', status: 'ready', fsType: 'ext4' }]);
    const lines = formatTargets(targets);
    expect(lines.find((l) => l.includes('raw floor'))).toMatch(
      /^PASS +host: WAL 1 writer 4KiB fdatasync vs raw floor \(>= 0.95\): WAL \(prealloc zero\) 7000\/s \/ floor 7100\/s = 0.99$/,
    );
    expect(lines.find((l) => l.includes('throughput'))).toMatch(/^PASS /);
    expect(lines.find((l) => l.includes('preallocation'))).toMatch(/^PASS .* = 2.00x$/);
    const md = formatReport(
      {
        schema: 'powercut-bench/1',
        startedAt: 'a',
        finishedAt: 'b',
        command: 'pnpm bench',
        host: { kernel: 'k', cpus: 2, node: 'v20', disk: 'vda', writeCache: 'write back', scheduler: '[none]', loadAvg: [0.5, 0.7] },
        options: { full: false, durationMs: 3000, rounds: 4, backgroundIo: 'none', walSegmentBytes: 1, periodicMs: 10 },
        filesystems: [{ name: 'host', status: 'ready', fsType: 'ext4', mountOptions: 'rw', device: 'vda' }],
        peers: [{ peer: 'pgbench', fs: 'host', status: 'skipped', reason: 'postgresql-15 not installed', describe: '' }],
        cells: CELLS,
        targets,
      },
      [{ name: 'x', title: 'X chart', howToRead: 'read it', file: '/o/charts/x.svg' }],
      'charts',
    );
    expect(md).toContain('- pgbench on host: skipped: postgresql-15 not installed');
    expect(md).toContain('![X chart](charts/x.svg)');
    expect(md).toContain('| wal fdatasync | host | 1 | 4KiB | 7,000 |');
  });
});
