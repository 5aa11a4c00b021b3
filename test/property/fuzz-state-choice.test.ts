import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { stateFromId } from '../../src/dm/log-writes/index.js';
import { OpenRecording } from '../../src/crash/explore/check-states.js';
import { findRecordings } from '../../src/crash/explore/fuzz.js';
import { resolveChoice, stateChoiceArb, stateSpace } from '../../src/crash/explore/fuzz-space.js';

// Fuzz choices over the committed real recordings: whatever fast-check draws (or shrinks to)
// must name a real crash state of the recording that lies after its mkfs mark, and rebuilding
// that state from its id alone must give the same state (the id is what a failure prints).

const recordings = findRecordings(join(import.meta.dirname, '../fixtures/recordings')).map((dir) => new OpenRecording(dir));
afterAll(() => recordings.forEach((r) => r.close()));

describe('fuzz state choices over real recordings', () => {
  it('there are committed recordings to fuzz', () => {
    expect(recordings.length).toBeGreaterThanOrEqual(3);
  });

  it.each(recordings.map((r) => [r.dir.split('/').pop() as string, r] as const))(
    '%s: every choice is a state after mkfs that its id rebuilds',
    (_name, rec) => {
      const mkfs = rec.index.markEntries().find((m) => m.label === 'mkfs');
      expect(mkfs).toBeDefined();
      const space = stateSpace(rec.index, mkfs!.index);
      expect(space.points.length).toBeGreaterThan(0);
      expect(space.epochs.some((e) => e.volatile.length > 0)).toBe(true);
      fc.assert(
        fc.property(stateChoiceArb(), (choice) => {
          const state = resolveChoice(rec.index, space, choice);
          expect(stateFromId(rec.index, state.id)).toEqual(state);
          // The crash moment lies after the filesystem existed.
          expect(state.visibleUntil).toBeGreaterThan(mkfs!.index);
          expect(state.kind).toBe(choice.kind === 'prefix' ? 'prefix' : state.kind);
        }),
        { numRuns: 300, seed: 42 },
      );
    },
  );

  it('the smallest subset choice (keep nothing) is the epoch with none of its cached writes', () => {
    const rec = recordings[0]!;
    const mkfs = rec.index.markEntries().find((m) => m.label === 'mkfs')!;
    const space = stateSpace(rec.index, mkfs.index);
    const state = resolveChoice(rec.index, space, { kind: 'subset', recording: 0, epoch: 0, keep: [] });
    const first = space.epochs.find((e) => e.volatile.length > 0)!;
    expect(state.id).toBe(`e${first.number}/subset/`);
    expect(state.writes.every((w) => !first.volatile.includes(w.entry))).toBe(true);
  });
});
