import { formatSize } from './cell.js';
import type { BenchResults, CellResult } from './results.js';
import { referenceWal } from './targets.js';

export const TABLE_HEADER = [
  'cell',
  'fs',
  'w',
  'size',
  'ops/s',
  'MB/s',
  'p50 us',
  'p99 us',
  'p99.9 us',
  'max us',
  'wr/c',
  'KiB/c',
  'fl/c',
  'disk fl/c',
  'cpu us/op',
  'peer/WAL',
];

const n0 = (v: number | null | undefined): string => (v === null || v === undefined ? '-' : Math.round(v).toLocaleString('en-US'));
const n1 = (v: number | null | undefined): string => (v === null || v === undefined ? '-' : v >= 100 ? Math.round(v).toString() : v.toFixed(1));
const n2 = (v: number | null | undefined): string => (v === null || v === undefined ? '-' : v.toFixed(2));

// One row per cell, as strings: the console table and report.md print the same figures.
// Latency marked ~ is a tool's own mean (no distribution); * marks acknowledgements that are not durable.
export function tableRows(results: Pick<BenchResults, 'cells'>): string[][] {
  return results.cells.map((c: CellResult) => {
    const base = [c.label, c.fs, String(c.writers), formatSize(c.size)];
    // Tool output in a reason can span lines; a table row cannot.
    if (c.status !== 'measured') return [...base, (c.status === 'skipped' ? `skipped: ${c.reason}` : `FAILED: ${c.error}`).replace(/\s*\n\s*/g, ' / ')];
    const m = c.metrics;
    const own = m.devices[0];
    const disk = m.devices[1];
    const lat = m.latency;
    const p50 = lat.source === 'tool-mean' ? (lat.meanUs === null ? '-' : `~${n1(lat.meanUs)}`) : n1(lat.p50Us);
    let vsWal = '';
    if (c.kind === 'peer') {
      const wal =
        referenceWal(results.cells, c.fs, c.writers, c.size) ?? (c.peer === 'pg_test_fsync' ? referenceWal(results.cells, c.fs, c.writers, 4096) : undefined);
      vsWal = wal ? n2(m.opsPerSec / wal.metrics.opsPerSec) : '-';
    }
    return [
      c.label + (m.durableAck ? '' : ' *'),
      ...base.slice(1),
      n0(m.opsPerSec),
      n1(m.mbPerSec),
      p50,
      n1(lat.p99Us),
      n1(lat.p999Us),
      n1(lat.maxUs),
      n2(own?.writesPerCommit),
      n1(own?.kibPerCommit),
      n2(own?.flushesPerCommit),
      n2(disk?.flushesPerCommit),
      n1(m.cpuUsPerOp),
      vsWal,
    ];
  });
}

// Fixed-width text for the terminal.
export function formatConsoleTable(header: readonly string[], rows: readonly string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.filter((r) => r.length === header.length).map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string =>
    r.length === header.length
      ? r.map((cell, i) => (i < 4 ? cell.padEnd(widths[i]!) : cell.padStart(widths[i]!))).join('  ')
      : r
          .slice(0, 4)
          .map((cell, i) => cell.padEnd(widths[i]!))
          .join('  ') +
        '  ' +
        r.slice(4).join(' ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

// A GitHub-flavoured markdown table.
export function formatMarkdownTable(header: readonly string[], rows: readonly string[][]): string {
  const esc = (s: string): string => s.replace(/\|/g, '\\|');
  const out = [`| ${header.join(' | ')} |`, `|${header.map((_, i) => (i < 4 ? '---' : '---:')).join('|')}|`];
  for (const r of rows) {
    const full = r.length === header.length ? r : [...r, ...Array<string>(header.length - r.length).fill('')];
    out.push(`| ${full.map(esc).join(' | ')} |`);
  }
  return out.join('\n');
}
