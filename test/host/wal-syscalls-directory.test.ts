// Directory durability under strace (issue 12): a crash must not take a segment's name, the
// first-seq file or a removal away after the WAL relied on it. Checked on the syscalls a real WAL
// makes while it rotates, truncates and recycles:
// - a segment renamed into place is followed by an fsync of the directory before its first entry
//   is written (the 4 KiB header at offset 0 is not an entry);
// - the first-seq file's replacement is fsynced before its rename, and the directory is fsynced
//   after the rename and before any segment below the new first-seq is removed or recycled;
// - every removal (or recycling rename) of a segment is followed by a directory fsync before the
//   truncate that caused it is reported done.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, tempDir } from '../addon/wal-fixture.js';
import { hasStrace, straceChild } from './strace.js';

const child = path.resolve(import.meta.dirname, '..', 'addon', 'wal-strace-lifecycle-child.ts');
const work = tempDir('wal-strace-dir-');
afterAll(() => cleanup(work));

interface Call {
  name: string;
  /** The call's arguments as strace printed them (with -y: fds carry their paths). */
  args: string;
  ok: boolean;
  /** Line index where the call started and where it returned (the same unless it was split). */
  start: number;
  end: number;
}

// strace -f splits a call that another thread interrupts into "<unfinished ...>" and
// "<... name resumed>" lines; a call counts as done at the line where it returned.
function parse(lines: readonly string[]): Call[] {
  const calls: Call[] = [];
  const open = new Map<string, Call>();
  lines.forEach((line, i) => {
    let m = /^(\d+)\s+([a-z0-9_]+)\((.*?)\s*<unfinished \.\.\.>$/.exec(line);
    if (m) {
      const call: Call = { name: m[2]!, args: m[3]!, ok: false, start: i, end: i };
      open.set(`${m[1]} ${m[2]}`, call);
      calls.push(call);
      return;
    }
    m = /^(\d+)\s+<\.\.\. ([a-z0-9_]+) resumed>(.*)\)\s+=\s+(-?\d+)/.exec(line);
    if (m) {
      const call = open.get(`${m[1]} ${m[2]}`);
      if (call) {
        call.args += m[3]!;
        call.end = i;
        call.ok = Number(m[4]) >= 0;
        open.delete(`${m[1]} ${m[2]}`);
      }
      return;
    }
    m = /^(\d+)\s+([a-z0-9_]+)\((.*)\)\s+=\s+(-?\d+)/.exec(line);
    if (m) calls.push({ name: m[2]!, args: m[3]!, ok: Number(m[4]) >= 0, start: i, end: i });
  });
  return calls;
}

function trace(recycle: boolean): { calls: Call[]; dir: string } {
  const dir = tempDir('wal-strace-lifecycle-');
  const out = path.join(work, `lifecycle-${recycle ? 'recycle' : 'plain'}.trace`);
  try {
    const lines = straceChild(
      out,
      ['openat', 'rename', 'renameat', 'renameat2', 'unlink', 'unlinkat', 'fsync', 'fdatasync', 'pwrite64', 'pwritev', 'statx', 'newfstatat', 'stat'],
      child,
      [dir, recycle ? '1' : '0'],
    );
    return { calls: parse(lines), dir };
  } finally {
    cleanup(dir);
  }
}

const SEGMENT = /\/\d{20}\.wal"?$/;
const quoted = (args: string): string[] => [...args.matchAll(/"([^"]*)"/g)].map((m) => m[1]!);
// rename(from, to) / renameat[2](dirfd, from, dirfd, to[, flags]): the paths are the quoted args.
const renameTarget = (c: Call): string | undefined => (c.name.startsWith('rename') ? quoted(c.args)[1] : undefined);
const renameSource = (c: Call): string | undefined => (c.name.startsWith('rename') ? quoted(c.args)[0] : undefined);
const unlinked = (c: Call): string | undefined => (c.name === 'unlink' || c.name === 'unlinkat' ? quoted(c.args)[0] : undefined);
const isSync = (c: Call): boolean => (c.name === 'fsync' || c.name === 'fdatasync') && c.ok;
const syncOf = (c: Call, file: string): boolean => isSync(c) && c.args.startsWith(`${/^\d+/.exec(c.args)?.[0] ?? ''}<${file}>`);
const marker = (calls: Call[], name: string): number => calls.find((c) => c.args.includes(`/powercut-strace-${name}"`))?.start ?? -1;

// The first successful directory fsync that starts after `after` returned; its return line.
function dirSyncAfter(calls: Call[], dir: string, after: number): number | undefined {
  return calls.find((c) => c.start > after && syncOf(c, dir))?.end;
}

describe.skipIf(!hasStrace)('WAL directory durability under strace (needs strace)', () => {
  for (const recycle of [false, true]) {
    describe(recycle ? 'recycling segments' : 'fresh segments', () => {
      // Traced in beforeAll, not while collecting: without strace the suite must skip, not throw.
      let calls: Call[] = [];
      let dir = '';
      let renames: Call[] = [];
      beforeAll(() => {
        ({ calls, dir } = trace(recycle));
        renames = calls.filter((c) => c.ok && renameTarget(c) !== undefined);
      });

      it('fsyncs the directory after a segment is renamed into place, before its first entry is written', () => {
        const intoPlace = renames.filter((c) => SEGMENT.test(`${renameTarget(c)}"`));
        expect(intoPlace.length, 'rotations renamed segments into place').toBeGreaterThanOrEqual(3);
        for (const r of intoPlace) {
          const target = renameTarget(r)!;
          const firstWrite = calls.find(
            (c) => c.start > r.end && (c.name === 'pwrite64' || c.name === 'pwritev') && c.args.includes(`<${target}>`) && !/,\s*0$/.test(c.args),
          );
          const synced = dirSyncAfter(calls, dir, r.end);
          expect(synced, `directory fsync after renaming ${path.basename(target)}`).toBeDefined();
          if (firstWrite) expect(synced!, `directory fsync before the first entry written to ${path.basename(target)}`).toBeLessThan(firstWrite.start);
        }
      });

      it('fsyncs the first-seq replacement before its rename, and the directory before any segment goes', () => {
        const firstSeq = renames.filter((c) => renameTarget(c)!.endsWith('/first-seq'));
        expect(firstSeq.length, 'two truncates renamed first-seq').toBe(2);
        for (const r of firstSeq) {
          const tmp = renameSource(r)!;
          const fsynced = calls.some((c) => c.end < r.start && syncOf(c, tmp));
          expect(fsynced, `${path.basename(tmp)} fsynced before its rename`).toBe(true);
          const synced = dirSyncAfter(calls, dir, r.end);
          expect(synced, 'directory fsync after the first-seq rename').toBeDefined();
          const nextRemoval = calls.find(
            (c) => c.start > r.end && c.ok && (SEGMENT.test(`${unlinked(c) ?? ''}"`) || SEGMENT.test(`${renameSource(c) ?? ''}"`)),
          );
          if (nextRemoval) expect(synced!, 'directory fsync before a segment below first-seq is removed or recycled').toBeLessThan(nextRemoval.start);
        }
      });

      it('fsyncs the directory after removing or recycling a segment, before the truncate is reported done', () => {
        const removals = calls.filter((c) => c.ok && (SEGMENT.test(`${unlinked(c) ?? ''}"`) || SEGMENT.test(`${renameSource(c) ?? ''}"`)));
        expect(removals.length, 'truncates removed or recycled segments').toBeGreaterThanOrEqual(2);
        const done = [marker(calls, 'truncated-1'), marker(calls, 'truncated-2'), marker(calls, 'closed')];
        for (const r of removals) {
          const reported = done.find((d) => d > r.end);
          const synced = dirSyncAfter(calls, dir, r.end);
          expect(synced, `directory fsync after ${r.name} of ${path.basename(unlinked(r) ?? renameSource(r) ?? '')}`).toBeDefined();
          if (reported !== undefined) expect(synced!).toBeLessThan(reported);
        }
      });
    });
  }
});
