// Proves each durability strategy makes the syscalls its contract says (issue 3), by running K
// appends in a child process under strace and counting the calls between two marker syscalls.
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanup, tempDir } from '../addon/wal-fixture.js';
import { hasStrace, straceChild } from './strace.js';

const child = path.resolve(import.meta.dirname, '..', 'addon', 'wal-strace-child.ts');
const K = 40;
const work = tempDir('wal-strace-');
afterAll(() => cleanup(work));

interface Call {
  name: string;
  line: string;
}

// Runs the child under strace; returns the calls between the begin and end markers, and all lines.
function trace(
  strategy: string,
  opts: { group?: boolean; appends?: number; writers?: number; periodMs?: number; gapMs?: number; syncDepth?: number } = {},
): { window: Call[]; all: string[] } {
  const dir = tempDir('wal-strace-dir-');
  let all: string[];
  const out = path.join(work, `${strategy}-${opts.group ? `g${opts.syncDepth ?? 1}` : 's'}-${Date.now()}.trace`);
  try {
    all = straceChild(
      out,
      ['fsync', 'fdatasync', 'sync_file_range', 'pwrite64', 'pwritev', 'pwritev2', 'write', 'openat', 'statx', 'newfstatat', 'stat'],
      child,
      [
        dir,
        strategy,
        opts.group ? '1' : '0',
        String(opts.appends ?? K),
        String(opts.writers ?? 1),
        String(opts.periodMs ?? 10),
        String(opts.gapMs ?? 0),
        String(opts.syncDepth ?? 1),
      ],
    );
  } finally {
    cleanup(dir);
  }
  const begin = all.findIndex((l) => l.includes('/powercut-strace-begin'));
  const end = all.findIndex((l) => l.includes('/powercut-strace-end'));
  expect(begin, 'begin marker in trace').toBeGreaterThan(-1);
  expect(end, 'end marker in trace').toBeGreaterThan(begin);
  const window = all.slice(begin + 1, end).flatMap((line) => {
    const m = /^\d+\s+([a-z0-9_]+)\(/.exec(line);
    return m ? [{ name: m[1]!, line }] : [];
  });
  return { window, all };
}

const onSegment = (c: Call): boolean => /\d{20}\.wal>/.test(c.line);
const count = (calls: Call[], name: string): number => calls.filter((c) => c.name === name && onSegment(c)).length;
const isSync = (c: Call): boolean => c.name === 'fsync' || c.name === 'fdatasync';
// Syncs on segment files. The only other syncs allowed in the window are the background
// preparation of the next segment's file (a spare, then the directory after its rename), which
// starts when a segment comes into use and is not part of any append.
function anySync(calls: Call[]): number {
  const others = calls.filter((c) => isSync(c) && !onSegment(c));
  for (const c of others) expect(c.line, 'a sync outside segments must be spare preparation').toMatch(/spare-\d{20}\.tmp>|wal-strace-dir-\w+>/);
  expect(others.length).toBeLessThanOrEqual(3);
  return calls.filter((c) => isSync(c) && onSegment(c)).length;
}

describe.skipIf(!hasStrace)('WAL syscall patterns under strace (needs strace)', () => {
  it('fsync: K appends make exactly K fsync calls on the segment and no fdatasync', () => {
    const { window } = trace('fsync');
    expect(count(window, 'fsync')).toBe(K);
    expect(count(window, 'fdatasync')).toBe(0);
    expect(count(window, 'pwrite64')).toBe(K);
  });

  it('fdatasync: K appends make exactly K fdatasync calls and no fsync', () => {
    const { window } = trace('fdatasync');
    expect(count(window, 'fdatasync')).toBe(K);
    expect(anySync(window)).toBe(K);
  });

  it('dsync: the segment is opened O_DSYNC and appends make no fsync/fdatasync at all', () => {
    const { window, all } = trace('dsync');
    expect(all.some((l) => /openat\(.*\d{20}\.wal".*O_DSYNC/.test(l))).toBe(true);
    expect(anySync(window)).toBe(0);
    expect(count(window, 'pwrite64')).toBe(K);
  });

  it('direct: the segment is opened O_DIRECT, every write is block-aligned in size, one fdatasync per append', () => {
    const { window, all } = trace('direct');
    expect(all.some((l) => /openat\(.*\d{20}\.wal".*O_DIRECT/.test(l))).toBe(true);
    const writes = window.filter((c) => c.name === 'pwrite64' && onSegment(c));
    expect(writes.length).toBe(K);
    for (const w of writes) {
      // "pwrite64(fd<path>, data..., len, offset) = n", or "... len, offset <unfinished ...>" when
      // another thread's syscall interleaves.
      const m = /, (\d+), (\d+)(?:\) = \d+| <unfinished \.\.\.>)$/.exec(w.line);
      expect(m, w.line).not.toBeNull();
      const [len, offset] = [Number(m![1]), Number(m![2])];
      expect(len % 512).toBe(0);
      expect(offset % 512).toBe(0);
    }
    expect(count(window, 'fdatasync')).toBe(K);
  });

  it('periodic: syncs come from the timer, about duration / period, not one per append', () => {
    // 100 appends 5 ms apart (about 0.5 s) with a 50 ms period: about 10 syncs.
    const { window } = trace('periodic', { appends: 100, periodMs: 50, gapMs: 5 });
    const syncs = count(window, 'fdatasync');
    expect(syncs).toBeGreaterThanOrEqual(3);
    expect(syncs).toBeLessThanOrEqual(30);
    expect(count(window, 'fsync')).toBe(0);
  });

  it('none: appends make no sync calls at all', () => {
    const { window } = trace('none', { appends: 200 });
    expect(anySync(window)).toBe(0);
    expect(count(window, 'pwrite64')).toBeGreaterThan(0);
  });

  it('group commit with 64 writers: far fewer syncs and writes than appends', () => {
    const appends = 640;
    const { window } = trace('fdatasync', { group: true, appends, writers: 64 });
    const syncs = count(window, 'fdatasync');
    const writes = count(window, 'pwrite64');
    expect(syncs).toBeGreaterThan(0);
    expect(syncs).toBeLessThan(appends / 4);
    // Appends that arrive while the sync thread is writing a batch may be written before the one
    // sync that covers both, so a sync can follow more than one write (seen: 11 writes, 10 syncs);
    // what must hold is that writes are batched too, and that no write goes unsynced.
    expect(writes).toBeGreaterThanOrEqual(syncs);
    expect(writes).toBeLessThan(appends / 4);
    const lastWrite = window.findLastIndex((c) => c.name === 'pwrite64' && onSegment(c));
    const lastSync = window.findLastIndex((c) => c.name === 'fdatasync' && onSegment(c));
    expect(lastSync, 'the last write is followed by a sync').toBeGreaterThan(lastWrite);
  });

  it('group commit with 4 syncs in flight: each sync goes through a descriptor of its own, never the one the writes use', () => {
    // The kernel reports a writeback error once per open file description: syncs sharing one
    // descriptor could see one report between them, and the other would return success (fsyncgate).
    const appends = 640;
    const { window } = trace('fdatasync', { group: true, appends, writers: 64, syncDepth: 4 });
    const fdOf = (c: Call): string => /^\d+\s+[a-z0-9_]+\((\d+)</.exec(c.line)?.[1] ?? '?';
    const writeFds = new Set(window.filter((c) => c.name === 'pwrite64' && onSegment(c)).map(fdOf));
    const syncs = window.filter((c) => c.name === 'fdatasync' && onSegment(c));
    expect(syncs.length).toBeGreaterThan(0);
    expect(syncs.length).toBeLessThan(appends / 4);
    for (const s of syncs) expect(writeFds.has(fdOf(s)), s.line).toBe(false);
    const lastWrite = window.findLastIndex((c) => c.name === 'pwrite64' && onSegment(c));
    const lastSync = window.findLastIndex((c) => c.name === 'fdatasync' && onSegment(c));
    expect(lastSync, 'the last write is followed by a sync').toBeGreaterThan(lastWrite);
  });
});
