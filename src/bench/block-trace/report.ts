import type { TraceCounts } from './blkparse.js';
import type { TraceRow, TraceRunResults } from './run.js';

// The block trace's tables: per strategy, the requests one acknowledged commit sent to the device
// as blktrace saw them, beside what dm-log-writes and /proc/diskstats counted in the same window.

/** Prefix of the one line per strategy the run inside the VM prints (the host picks these out). */
export const TRACE_LINE = 'powercut-trace:';

const per = (n: number, commits: number): string => (commits > 0 ? (n / commits).toFixed(2) : '-');

function triple(c: TraceCounts, commits: number): string {
  return `${per(c.writes, commits)} / ${per(c.flushes, commits)} / ${per(c.fua, commits)}`;
}

/** Whether every check of the row holds. */
export function rowAgrees(row: TraceRow): boolean {
  return row.checks.every((c) => c.ok);
}

/** The one progress line of a row. */
export function formatRowLine(row: TraceRow): string {
  const bad = row.checks.filter((c) => !c.ok);
  return (
    `${row.label}: ${row.acked} commits in ${row.windowMs} ms; per commit ${triple(row.trace, row.acked)} writes / flushes / FUA, ` +
    `${per(row.trace.writeKiB, row.acked)} KiB; ${bad.length === 0 ? 'trace, log-writes and diskstats agree' : `DISAGREE: ${bad.map((c) => `${c.what} ${c.measured} (expected ${c.expected})`).join(', ')}`}`
  );
}

/** The per-strategy table (markdown). */
export function formatTraceTable(results: TraceRunResults): string {
  const lines = [
    '| strategy | commits | blktrace: writes / flushes / FUA per commit | KiB per commit | dm-log-writes: writes / flushes / FUA | diskstats dm writes, loop flushes per commit | agree |',
    '|---|---:|---|---:|---|---|---|',
  ];
  for (const r of results.rows) {
    const n = r.acked;
    const ds = `${per(r.diskstats.dm.writes, n)}, ${r.diskstats.loop.flushes === null ? '-' : per(r.diskstats.loop.flushes, n)}`;
    const agree = rowAgrees(r)
      ? 'yes'
      : `no: ${r.checks
          .filter((c) => !c.ok)
          .map((c) => c.what)
          .join(', ')}`;
    lines.push(`| ${r.label} | ${n} | ${triple(r.trace, n)} | ${per(r.trace.writeKiB, n)} | ${triple(r.logWrites, n)} | ${ds} | ${agree} |`);
  }
  return lines.join('\n');
}

/** Each row's checks in full: what was compared, by which rule, and the numbers. */
export function formatChecks(results: TraceRunResults): string {
  const out: string[] = [];
  for (const r of results.rows) {
    out.push(`${r.label}:`);
    for (const c of r.checks) out.push(`  ${c.ok ? 'ok  ' : 'DIFF'} ${c.what}: ${c.measured} (from the trace: ${c.expected}; ${c.rule})`);
  }
  return out.join('\n');
}

/** One commit's syscalls beside its block requests, per strategy (markdown), for runs made with strace. */
export function formatSideBySide(results: TraceRunResults): string {
  const out: string[] = [];
  for (const r of results.rows) {
    if (r.syscalls === null) continue;
    out.push(`### ${r.label}`, '', 'Syscalls of one commit (strace -f, writer 0, the middle commit):', '', '```');
    out.push(...(r.syscalls.length > 0 ? r.syscalls : ['(none on the WAL files)']), '```', '');
    out.push(
      `Block requests per commit (blktrace on ${r.diskstats.dmName}, ${r.acked} commits): ${per(r.trace.writes, r.acked)} writes of ${per(r.trace.writeKiB, r.acked)} KiB, ` +
        `${per(r.trace.flushes, r.acked)} flushes (${per(r.trace.emptyFlushes, r.acked)} empty), ${per(r.trace.fua, r.acked)} FUA.`,
      '',
    );
  }
  return out.join('\n');
}
