import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROJECT_ROOT } from '../../src/project-root.js';
import { traceAll } from '../../src/bench/block-trace/run.js';
import { dmUnavailable } from './dm-precondition.js';

// The three counters of one block-traced window agree, on real parts inside the microVM: blktrace
// on the dm-log-writes device under ext4, the log-writes log of the same window, and diskstats of
// the dm device and the loop below it, while the WAL makes 12 fdatasync commits. fdatasync on a
// preallocated segment sends the device one data write (the entry's two pages) and one empty
// PREFLUSH per commit and no FUA of its own. A missing debugfs (a VM whose init
// does not mount it) fails here rather than skipping: traceAll refuses with the reason.

const why = await dmUnavailable(['log-writes']);
mkdirSync(join(PROJECT_ROOT, 'results'), { recursive: true });
const outDir = mkdtempSync(join(PROJECT_ROOT, 'results', '.it-block-trace-'));
afterAll(() => rmSync(outDir, { recursive: true, force: true }));
const writer = ['--import', 'tsx', join(PROJECT_ROOT, 'src', 'bench', 'block-trace', 'trace-writer.ts')];

describe.skipIf(why !== undefined)(`block trace of the WAL${why ? ` (skipped: ${why})` : ''}`, () => {
  it('fdatasync: blktrace, dm-log-writes and diskstats count one flush per commit, and every check agrees', async () => {
    const commits = 12;
    const { rows } = await traceAll([{ strategy: 'fdatasync', groupCommit: false, commits, writers: 1, strace: false }], writer, outDir);
    const row = rows[0]!;
    expect(row.acked).toBe(commits);
    // The journal's own commit (every 5 s, for the inode's times) may fall into the window: it is
    // a PREFLUSH|FUA write with data, never an empty flush, so the empty ones are fdatasync's.
    expect(row.trace.emptyFlushes).toBe(commits);
    expect(row.trace.fua).toBe(row.trace.flushFuaWithData);
    expect(row.trace.flushes).toBe(commits + row.trace.flushFuaWithData);
    expect(row.trace.writes).toBeGreaterThanOrEqual(commits);
    expect(row.logWrites.emptyFlushes).toBe(commits);
    expect(row.diskstats.loop.flushes).toBeGreaterThanOrEqual(commits);
    expect(row.checks.filter((c) => !c.ok)).toEqual([]);
  }, 240_000);
});
