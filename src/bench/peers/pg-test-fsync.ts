import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../run.js';
import { BenchError } from '../bench-error.js';
import type { PeerCell } from '../cell.js';
import type { Slice } from '../slice.js';
import type { SliceContext } from '../slice-context.js';
import type { PeerDriver, Readiness } from './peer-driver.js';

export const PG_BIN_DIR = '/usr/lib/postgresql/15/bin';

// One line of pg_test_fsync's report.
export interface PgTestFsyncRow {
  section: string;
  method: string;
  opsPerSec: number;
  usecsPerOp: number;
}

// Parses pg_test_fsync's human report. Each measured line is "<method> <n> ops/sec <n> usecs/op";
// "n/a" lines (methods the platform lacks) are left out; the section is the last "Compare ..." or
// "Test ..." heading above the line.
export function parsePgTestFsync(text: string): PgTestFsyncRow[] {
  const rows: PgTestFsyncRow[] = [];
  let section = '';
  for (const line of text.split('\n')) {
    const heading = /^(Compare|Test|Non-sync)[^:]*:?\s*$/.exec(line.trim());
    if (heading && !line.startsWith(' ')) {
      section = line.trim().replace(/:$/, '');
      continue;
    }
    const m = /^\s+(.+?)\s+([\d.]+) ops\/sec\s+(\d+) usecs\/op\s*$/.exec(line);
    if (m) rows.push({ section, method: m[1]!.trim(), opsPerSec: Number(m[2]), usecsPerOp: Number(m[3]) });
  }
  if (rows.length === 0) throw new BenchError('PARSE_FAILED', 'pg_test_fsync printed no "ops/sec" lines');
  return rows;
}

// The figure compared with the WAL: fdatasync after one 8 kB write, PostgreSQL's default on Linux.
export function pgTestFsyncFdatasync(rows: readonly PgTestFsyncRow[]): PgTestFsyncRow {
  const row = rows.find((r) => r.section.startsWith('Compare file sync methods using one') && r.method === 'fdatasync');
  if (!row) throw new BenchError('PARSE_FAILED', 'pg_test_fsync printed no fdatasync line under "one 8kB write"');
  return row;
}

// PostgreSQL's own fsync test (postgresql-15). It runs its whole fixed battery once (about 15
// tests of `seconds` each), so it is not sliced; the suite compares its fdatasync line and keeps
// the rest in results.json. It reports means only: no percentiles.
export class PgTestFsyncDriver implements PeerDriver {
  readonly peer = 'pg_test_fsync' as const;
  readonly describe = 'pg_test_fsync: 8 kB overwrite of a preallocated file + fdatasync (means only, fixed 8 kB)';
  rows: PgTestFsyncRow[] = [];
  private readonly binary = join(PG_BIN_DIR, 'pg_test_fsync');

  prepare(): Promise<Readiness> {
    if (!existsSync(this.binary)) return Promise.resolve({ status: 'skipped', reason: `${this.binary} not found (apt-get install postgresql-15)` });
    return Promise.resolve({ status: 'ready' });
  }

  async slice(_cell: PeerCell, ctx: SliceContext): Promise<Slice> {
    // -s is whole seconds per test; the battery is long, so each test gets the slice length, at least 1 s.
    const seconds = Math.max(1, Math.round(ctx.durationMs / 1000));
    const { stdout } = await run(this.binary, ['-s', String(seconds), '-f', join(ctx.dir, 'pg_test_fsync.out')], { timeoutMs: 10 * 60_000 });
    this.rows = parsePgTestFsync(stdout);
    const row = pgTestFsyncFdatasync(this.rows);
    const ops = Math.round(row.opsPerSec * seconds);
    // Device counters and CPU would cover the whole battery, not its fdatasync test: none reported.
    return { ops, bytes: ops * 8192, elapsedNs: seconds * 1e9, latency: null, devices: new Map(), cpuUs: null, reportedMeanUs: row.usecsPerOp };
  }

  async close(): Promise<void> {}
}
