import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OpenRecording } from '../../src/crash/explore/check-states.js';
import { CleanupStack } from '../../src/dm/index.js';
import { findRecordings } from '../../src/crash/explore/fuzz.js';
import { markLabel } from '../../src/workload/events.js';

// What a recording must be for its crash states to mean anything: the history's promises and the
// log's marks tell the same story, in the same order, after the mkfs mark.

const recordings = findRecordings(join(import.meta.dirname, '../fixtures/recordings')).map((dir) => new OpenRecording(dir));
afterAll(() => recordings.forEach((r) => r.close()));

describe('committed recordings', () => {
  it.each(recordings.map((r) => [r.dir.split('/').pop() as string, r] as const))(
    '%s: every promise has its mark, in history order, after mkfs',
    (_name, rec) => {
      const marks = rec.index.markEntries().map((m) => m.label);
      expect(marks[0]).toBe('mkfs');
      expect(marks[marks.length - 1]).toBe('end');
      const promised = rec.history.map(markLabel).filter((l): l is string => l !== null);
      expect(promised.length).toBeGreaterThan(0);
      expect(marks.slice(1, -1)).toEqual(promised);
      expect(rec.meta.markStats.marks).toBe(promised.length);
      expect(rec.meta.entries).toBe(rec.index.length);
      expect(rec.index.sectorSize).toBe(rec.meta.sectorSize);
      // Every acked seq was announced with a digest first.
      const appended = new Set(rec.history.filter((e) => e.type === 'appended').map((e) => (e as { seq: number }).seq));
      for (const e of rec.history) if (e.type === 'acked') expect(appended.has(e.seq)).toBe(true);
    },
  );
});

describe('an opened recording on a cleanup stack', () => {
  it('puts its work directory on the stack, so unwinding (as on SIGINT, or a reap after SIGKILL) removes it', async () => {
    const stack = new CleanupStack();
    const rec = new OpenRecording(recordings[0]!.dir, stack);
    try {
      expect(existsSync(rec.logPath)).toBe(true);
      expect(stack.resources).toContainEqual({ kind: 'dir', path: rec.workDir });
      await stack.unwind();
      expect(existsSync(rec.workDir)).toBe(false);
    } finally {
      rec.close(); // safe after the stack removed the directory; removes it if an assertion failed
    }
  });
});
