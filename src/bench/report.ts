import { basename } from 'node:path';
import type { WrittenChart } from './charts.js';
import type { BenchResults, OpenLoopCurve, TargetResult } from './results.js';
import { formatMarkdownTable, TABLE_HEADER, tableRows } from './table.js';

const MARK: Record<TargetResult['status'], string> = { pass: 'PASS', fail: 'FAIL', 'not-measured': 'NOT MEASURED' };

// The targets section as plain lines: "PASS  title  (rule) detail".
export function formatTargets(targets: readonly TargetResult[]): string[] {
  return targets.map((t) => `${MARK[t.status].padEnd(12)} ${t.title} (${t.rule}): ${t.detail.replace(/\s*\n\s*/g, ' / ')}`);
}

// The open-loop curves as plain lines: one per strategy or peer, its points and its knee.
export function formatCurves(curves: readonly OpenLoopCurve[]): string[] {
  const us = (n: number | null): string => (n === null ? '?' : n >= 1000 ? `${(n / 1000).toFixed(1)}ms` : `${Math.round(n)}us`);
  return curves.flatMap((c) => [
    `${c.fs} ${c.what}, ${c.writers} writer${c.writers === 1 ? '' : 's'}: knee ${c.knee === null ? 'none (the lightest load was already saturated, or nothing measured)' : `${c.knee}/s`} (highest offered rate with p99 within 2x of the lightest load's)`,
    ...c.points.map(
      (p) =>
        `  offered ${String(p.offered).padStart(7)}/s: achieved ${String(Math.round(p.achievedPerSec)).padStart(7)}/s, p50 ${us(p.p50Us)}, p99 ${us(p.p99Us)}, p99.9 ${us(p.p999Us)}${p.missed ? `, ${p.missed} arrivals not issued` : ''}`,
    ),
  ]);
}

// The legend shared by the console and report.md: what each column means.
export const COLUMN_NOTES = [
  'ops/s: acknowledged commits per second (sum over all writers); MB/s: payload bytes per second.',
  'p50/p99/p99.9/max: commit latency in microseconds, append call to acknowledgement, from an HDR histogram of every commit. "~" marks a tool\'s own mean (pg_test_fsync) where no distribution exists; fio\'s figures are its fdatasync latencies (median of each percentile over the slices).',
  "wr/c, KiB/c, fl/c: device writes, KiB written and cache flushes per commit on the cell's own block device (/proc/diskstats columns 8, 10, 19). disk fl/c: flushes per commit on the disk under a loop image.",
  "cpu us/op: CPU time per commit of this process (WAL, SQLite, LevelDB) or of the peer's process (fio, raw floor; 10 ms tick resolution); none for pgbench, whose server is not our child.",
  "peer/WAL: the peer's commits per second divided by the WAL's at the same filesystem, writers and size (WAL fdatasync at 1 writer, group commit over fdatasync at more; recycling segments as the WAL ships when measured, else zero-filled); below 1 means the WAL is faster. For raw-floor at N writers it is how far the disk's ceiling is above the WAL.",
  '*: acknowledgement is not durability (periodic: durable within the sync interval; none: never synced; every cell on tmpfs: memory, where a sync costs nothing and nothing survives a power cut, so those cells price the code alone).',
];

// report.md: the run as a document (setup, targets, table, charts with how to read them).
export function formatReport(results: BenchResults, charts: readonly WrittenChart[], chartDir: string): string {
  const lines: string[] = [];
  lines.push(`# powercut throughput report`, '');
  lines.push(`Run: \`${results.command}\`  `);
  lines.push(
    `From ${results.startedAt} to ${results.finishedAt}; ${results.options.rounds} rounds, ${results.options.durationMs / 1000} s per cell in total${results.options.backgroundIo !== 'none' ? `, background I/O (${results.options.backgroundIo})` : ''}${(results.options.cpuLoads ?? [0]).some((n) => n > 0) ? `, CPU load (busy processes beside the cells): ${(results.options.cpuLoads ?? []).join(', ')}` : ''}.  `,
  );
  const h = results.host;
  lines.push(
    `Host: Linux ${h.kernel}, ${h.cpus} CPUs, Node ${h.node}; disk ${h.disk ?? '?'} (write cache: ${h.writeCache ?? '?'}, scheduler: ${h.scheduler ?? '?'}); load average ${h.loadAvg[0].toFixed(1)} at the start, ${h.loadAvg[1].toFixed(1)} at the end (a load above the CPU count means other work competed with the cells: read ratios, not absolute rates).`,
    '',
  );
  if (results.options.backgroundIo !== 'none') {
    lines.push(
      `With background I/O, the device counters per commit include the background writer's I/O on the same disk.${h.scheduler?.includes('[bfq]') ? '' : " ionice classes only take effect under the bfq scheduler; this disk's active scheduler is the bracketed one above, so the class may change nothing."}`,
      '',
    );
  }
  lines.push('## Filesystems', '');
  for (const f of results.filesystems) {
    if (f.status === 'skipped') lines.push(`- ${f.name}: skipped: ${f.reason}`);
    else
      lines.push(
        `- ${f.name}: ${f.fsType} (${f.mountOptions}) on ${f.device ?? 'no block device'}${f.loop ? `, loop device ${f.loop.device} (direct I/O ${f.loop.directIo ? 'on' : 'off'}) over an image on ${f.loop.disk ?? '?'}` : ''}`,
      );
  }
  lines.push('', '## Peers', '');
  for (const p of results.peers) lines.push(`- ${p.peer} on ${p.fs}: ${p.status === 'ready' ? p.describe : `skipped: ${p.reason}`}`);
  lines.push('', '## Targets', '', '```', ...formatTargets(results.targets), '```', '');
  if (results.curves && results.curves.length > 0) {
    const o = results.options;
    lines.push(
      '## Open loop: latency vs offered load',
      '',
      `Arrivals: ${o.arrivals ?? 'poisson'}, seed ${o.seed ?? 1}; latency from each commit's scheduled arrival.`,
      '',
      '```',
      ...formatCurves(results.curves),
      '```',
      '',
    );
  }
  lines.push('## All cells', '', formatMarkdownTable(TABLE_HEADER, tableRows(results)), '');
  for (const note of COLUMN_NOTES) lines.push(`- ${note}`);
  lines.push('');
  if (charts.length > 0) {
    lines.push('## Charts', '');
    for (const c of charts) lines.push(`### ${c.title}`, '', `![${c.title}](${chartDir}/${basename(c.file)})`, '', c.howToRead, '');
  }
  return lines.join('\n');
}
