import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  enumerateStates,
  StateMaterialiser,
  stateFromId,
  tearPoints,
  visibleMarks,
  type CrashState,
  type EnumerateOptions,
} from '../../src/dm/log-writes/index.js';
import type { LogIndex } from '../../src/dm/log-writes/format.js';
import { FLUSH, FUA, SyntheticLog, withSyntheticIndex } from '../fixtures/log-writes/synthetic-log.js';

const dir = mkdtempSync(join(tmpdir(), 'powercut-states-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;

const withIndex = <T>(log: SyntheticLog, use: (index: LogIndex) => T): T => withSyntheticIndex(log, dir, use);

function enumerate(log: SyntheticLog, options: EnumerateOptions = {}) {
  return withIndex(log, (index) => {
    const enumeration = enumerateStates(index, options);
    const states = [...enumeration];
    return { states, coverage: enumeration.coverage, marks: states.map((s) => visibleMarks(index, s)) };
  });
}

const summary = (s: CrashState): string =>
  `${s.id} base=${s.base} writes=${s.writes.map((w) => (w.bytes === undefined ? w.entry : `${w.entry}@${w.bytes}`)).join(',')} visible=${s.visibleUntil}`;

describe('crash states', () => {
  it('PersistencePoints: one prefix state per flush, FUA and mark, skipping points with the same image and fewer marks', () => {
    // 0 W s0 | 1 W s1 | 2 FLUSH | 3 MARK a | 4 FUA s2 | 5 W s3 | 6 FLUSH | 7 MARK b
    const log = new SyntheticLog().fill(0, 1, 1).fill(1, 1, 2).flush().mark('a').fill(2, 1, 3, FUA).fill(3, 1, 4).flush().mark('b');
    const { states, coverage, marks } = enumerate(log, { prefixOnly: true });
    expect(states.map((s) => [s.id, s.reason, s.epoch, s.visibleUntil])).toEqual([
      ['prefix@4', 'mark', 1, 4],
      ['prefix@5', 'fua', 1, 5],
      ['prefix@8', 'mark', 2, 8],
    ]);
    expect(marks).toEqual([['a'], ['a'], ['a', 'b']]);
    expect(coverage).toMatchObject({
      entries: 8,
      epochs: 3,
      persistencePoints: 5,
      prefixStates: 3,
      subsetStates: 0,
      tornStates: 0,
      duplicatesSkipped: 3,
      states: 3,
    });
  });

  it('SubsetCount: every subset of an epoch of n volatile writes (2^n)', () => {
    const log = new SyntheticLog().fill(0, 1, 1).fill(1, 1, 2).fill(2, 1, 3).flush().mark('a');
    const { states, coverage } = enumerate(log);
    const subsets = states.filter((s) => s.kind === 'subset');
    expect(subsets.map((s) => s.id)).toEqual([
      'e0/subset/',
      'e0/subset/0',
      'e0/subset/1',
      'e0/subset/0,1',
      'e0/subset/2',
      'e0/subset/0,2',
      'e0/subset/1,2',
      'e0/subset/0,1,2',
    ]);
    expect(subsets.every((s) => s.base === 0 && s.visibleUntil === 3)).toBe(true);
    // The mark after the flush sees one more acknowledgement than the full subset: kept.
    expect(states.filter((s) => s.kind === 'prefix').map((s) => s.id)).toEqual(['prefix@5']);
    expect(coverage).toMatchObject({ exhaustiveEpochs: 1, sampledEpochs: 0, subsetStates: 8, prefixStates: 1, duplicatesSkipped: 2 });
  });

  it('DedupByImage: a write fully overwritten by a later one in the subset adds no state', () => {
    const log = new SyntheticLog().fill(0, 1, 1).fill(0, 1, 2).flush();
    const { states, coverage } = enumerate(log);
    expect(states.map((s) => s.id)).toEqual(['e0/subset/', 'e0/subset/0', 'e0/subset/1']);
    expect(coverage.duplicatesSkipped).toBe(3);
  });

  it('DedupByImage is off on request', () => {
    const log = new SyntheticLog().fill(0, 1, 1).fill(0, 1, 2).flush();
    expect(enumerate(log, { dedup: false }).states.map((s) => s.id)).toEqual([
      'e0/subset/',
      'e0/subset/0',
      'e0/subset/1',
      'e0/subset/0,1',
      'prefix@3',
      'prefix@3',
    ]);
  });

  it('FuaWritesAreInEveryVolatileState of their epoch', () => {
    const log = new SyntheticLog().flush().fill(0, 1, 1).fill(1, 1, 2, FUA).fill(2, 1, 3).flush();
    const subsets = enumerate(log).states.filter((s) => s.kind === 'subset');
    expect(subsets.map(summary)).toEqual([
      'e0/subset/ base=0 writes=2 visible=4',
      'e0/subset/1 base=0 writes=1,2 visible=4',
      'e0/subset/3 base=0 writes=2,3 visible=4',
      'e0/subset/1,3 base=0 writes=1,2,3 visible=4',
    ]);
  });

  it('PreflushDataIsVolatileInTheEpochItOpens; FLUSH|FUA data is durable', () => {
    const log = new SyntheticLog()
      .fill(0, 1, 1)
      .fill(1, 1, 2, FLUSH)
      .fill(2, 1, 3, FLUSH | FUA);
    const subsets = enumerate(log).states.filter((s) => s.kind === 'subset');
    // e1's empty subset is e0's full one again (same image, no more marks): skipped.
    expect(subsets.map(summary)).toEqual([
      'e0/subset/ base=0 writes= visible=1',
      'e0/subset/0 base=0 writes=0 visible=1',
      'e1/subset/1 base=1 writes=1 visible=2',
    ]);
  });

  it('TearsAt512ByteBoundaries, with the volatile writes before the torn one applied', () => {
    const log = new SyntheticLog().fill(10, 1, 1).fill(0, 4, 2).flush();
    const torn = enumerate(log).states.filter((s) => s.kind === 'torn');
    expect(torn.map(summary)).toEqual([
      'e0/torn/1@512 base=0 writes=0,1@512 visible=2',
      'e0/torn/1@1024 base=0 writes=0,1@1024 visible=2',
      'e0/torn/1@1536 base=0 writes=0,1@1536 visible=2',
    ]);
  });

  it('TearsInsideOneLargeSector of a 4096-byte-sector log', () => {
    const log = new SyntheticLog(4096).fill(0, 1, 7).flush();
    expect(
      enumerate(log)
        .states.filter((s) => s.kind === 'torn')
        .map((s) => s.writes[0]?.bytes),
    ).toEqual([512, 1024, 1536, 2048, 2560, 3072, 3584]);
  });

  it('TornStatesPerEpochAreBoundedBySeededSampling', () => {
    const log = new SyntheticLog().fill(0, 8, 1).fill(8, 8, 2).flush();
    const all = enumerate(log, { tornPerEpoch: 100 });
    expect(all.coverage).toMatchObject({ tornStates: 14, tornNotSampled: 0 });
    const some = enumerate(log, { tornPerEpoch: 5, seed: 4 });
    expect(some.coverage).toMatchObject({ tornStates: 5, tornNotSampled: 9 });
    const torn = some.states.filter((s) => s.kind === 'torn').map((s) => s.id);
    expect(torn).toEqual(
      enumerate(log, { tornPerEpoch: 5, seed: 4 })
        .states.filter((s) => s.kind === 'torn')
        .map((s) => s.id),
    );
    expect(torn.every((id) => all.states.some((s) => s.id === id))).toBe(true);
  });

  it('TearPointsAreSpreadEvenlyWhenBounded', () => {
    expect(tearPoints(512, 8)).toEqual([]);
    expect(tearPoints(2048, 8)).toEqual([512, 1024, 1536]);
    expect(tearPoints(1 << 20, 3)).toEqual([512, 524288, 1048064]);
    expect(tearPoints(1 << 20, 8)).toHaveLength(8);
  });

  it('SampledSubsetsBeyondTheBound are seeded: same seed, same states', () => {
    const log = new SyntheticLog();
    for (let i = 0; i < 12; i++) log.fill(i, 1, i + 1);
    log.flush();
    const a = enumerate(log, { exhaustiveLimit: 4, randomSubsets: 20, seed: 7 });
    const b = enumerate(log, { exhaustiveLimit: 4, randomSubsets: 20, seed: 7 });
    const c = enumerate(log, { exhaustiveLimit: 4, randomSubsets: 20, seed: 8 });
    expect(a.coverage).toMatchObject({ sampledEpochs: 1, exhaustiveEpochs: 0 });
    expect(a.states.map((s) => s.id)).toEqual(b.states.map((s) => s.id));
    expect(a.states.map((s) => s.id)).not.toEqual(c.states.map((s) => s.id));
    const subsets = a.states.filter((s) => s.kind === 'subset');
    // The empty and full sets always, then at most 20 random ones.
    expect(subsets[0]?.id).toBe('e0/subset/');
    expect(subsets[1]?.id).toBe('e0/subset/0,1,2,3,4,5,6,7,8,9,10,11');
    expect(subsets.length).toBeGreaterThan(10);
    expect(subsets.length).toBeLessThanOrEqual(22);
  });

  it('AfterSkipsStatesBeforeTheFilesystemExists', () => {
    // 0 W | 1 FLUSH | 2 MARK mkfs | 3 W | 4 FLUSH | 5 MARK x
    const log = new SyntheticLog().fill(0, 1, 1).flush().mark('mkfs').fill(1, 1, 2).flush().mark('x');
    const { states } = enumerate(log, { after: 2 });
    expect(states.every((s) => s.visibleUntil > 2)).toBe(true);
    // prefix@3 (at the mkfs mark) has e1's empty subset's image and the same marks: skipped.
    expect(states.map((s) => s.id)).toEqual(['e1/subset/', 'e1/subset/3', 'prefix@6']);
  });

  it('AfterMarkNamesTheStartByLabel', () => {
    const log = new SyntheticLog().fill(0, 1, 1).flush().mark('mkfs').fill(1, 1, 2).flush().mark('x');
    expect(enumerate(log, { afterMark: 'mkfs' }).states.map((s) => s.id)).toEqual(enumerate(log, { after: 2 }).states.map((s) => s.id));
    expect(() => enumerate(log, { afterMark: 'nope' })).toThrowError(/no mark "nope"/);
  });

  it('StateFromIdRejectsIdsThatAreNotStatesOfTheLog', () => {
    const log = new SyntheticLog().fill(0, 1, 1).fill(1, 2, 2, FUA).fill(3, 2, 3).flush();
    withIndex(log, (index) => {
      expect(stateFromId(index, 'e0/torn/2@512').writes).toEqual([{ entry: 0 }, { entry: 1 }, { entry: 2, bytes: 512 }]);
      expect(stateFromId(index, 'prefix@2')).toMatchObject({ kind: 'prefix', base: 2, reason: 'fua', visibleUntil: 2 });
      expect(() => stateFromId(index, 'prefix@9')).toThrowError(/has 4 entries/);
      expect(() => stateFromId(index, 'e0/subset/1')).toThrowError(/entry 1 is not a volatile write of epoch 0 \(0,2\)/);
      expect(() => stateFromId(index, 'e0/torn/2@100')).toThrowError(/not a 512-byte boundary/);
      expect(() => stateFromId(index, 'e0/torn/2@1024')).toThrowError(/not a 512-byte boundary/);
      expect(() => stateFromId(index, 'e7/subset/')).toThrowError(/2 epochs/);
      expect(() => stateFromId(index, 'sideways')).toThrowError(/expected prefix@N/);
    });
  });

  it('EmptyLogHasNoStates', () => {
    expect(enumerate(new SyntheticLog()).states).toEqual([]);
  });
});

describe('crash state materialiser', () => {
  it('ProducesTheImageOfEachState, including torn writes and states out of base order', () => {
    // 0 W s0=1 (2 sectors) | 1 FLUSH | 2 W s1=2 (2 sectors) | 3 FUA s3=3 | 4 discard s0 | 5 FLUSH
    const log = new SyntheticLog().fill(0, 2, 1).flush().fill(1, 2, 2).fill(3, 1, 3, FUA).discard(0, 1).flush();
    withIndex(log, (index) => {
      const materialiser = new StateMaterialiser(index, 8 * 512, dir);
      try {
        const image = join(dir, `state-${counter++}`);
        const sectorsOf = (state: CrashState): number[] => {
          materialiser.materialise(state, image);
          const bytes = readFileSync(image);
          expect(bytes.length).toBe(8 * 512);
          return Array.from({ length: 5 }, (_, s) => bytes[s * 512] ?? -1);
        };
        const state = (base: number, writes: CrashState['writes']): CrashState => ({ id: 't', kind: 'subset', epoch: 1, base, writes, visibleUntil: 5 });
        expect(sectorsOf(state(1, [{ entry: 3 }]))).toEqual([1, 1, 0, 3, 0]);
        expect(sectorsOf(state(1, [{ entry: 2 }, { entry: 3 }, { entry: 4 }]))).toEqual([0, 2, 2, 3, 0]);
        expect(sectorsOf(state(1, [{ entry: 2, bytes: 512 }, { entry: 3 }]))).toEqual([1, 2, 0, 3, 0]);
        expect(sectorsOf(state(6, []))).toEqual([0, 2, 2, 3, 0]);
        // Going back rebuilds the base from zeros.
        expect(sectorsOf(state(0, [{ entry: 0, bytes: 512 }]))).toEqual([1, 0, 0, 0, 0]);
        // Every state the enumeration yields materialises.
        for (const s of enumerateStates(index)) sectorsOf(s);
      } finally {
        materialiser.close();
      }
    });
  });

  it('RefusesToWriteAStateOverADevice', () => {
    withIndex(new SyntheticLog().fill(0, 1, 1), (index) => {
      const materialiser = new StateMaterialiser(index, 512, dir);
      try {
        expect(() => materialiser.materialise({ id: 'x', kind: 'prefix', epoch: 0, base: 1, writes: [], visibleUntil: 1 }, '/dev/null')).toThrowError(
          /not a regular file/,
        );
      } finally {
        materialiser.close();
      }
    });
  });
});
