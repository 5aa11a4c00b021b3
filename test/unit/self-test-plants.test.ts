import { mkdirSync, mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildIsCurrent, cleanRuns, parsePlants, readPlants, selectPlants, type Plant } from '../../src/crash/self-test/plants.js';
import { groupCommitApplies } from '../../src/strategy/index.js';

const plant = (name: string, strategy: Plant['strategy'], groupCommit = false): Plant => ({ name, class: `class of ${name}`, strategy, groupCommit });

describe('the plant list (native/plants.json)', () => {
  it('gives every plant a strategy, a group-commit flag that applies to it, and a class', () => {
    const plants = readPlants();
    expect(plants.length).toBeGreaterThanOrEqual(10);
    for (const p of plants) {
      expect(p.class).not.toBe('');
      if (p.groupCommit) expect(groupCommitApplies(p.strategy)).toBe(true);
    }
  });

  it('refuses an entry without a strategy, with a bad one, or group commit over a weak strategy', () => {
    expect(() => parsePlants({ plants: [{ name: 'a', class: 'c', groupCommit: false }] })).toThrow(/plant 0 \(a\): "strategy"/);
    expect(() => parsePlants({ plants: [{ name: 'a', class: 'c', strategy: 'fsnc', groupCommit: false }] })).toThrow(/"strategy"/);
    expect(() => parsePlants({ plants: [{ name: 'a', class: 'c', strategy: 'periodic', groupCommit: true }] })).toThrow(
      /group commit does not apply to periodic/,
    );
    expect(() => parsePlants({ plants: [{ name: 'a', class: 'c', strategy: 'fsync' }] })).toThrow(/"groupCommit"/);
    expect(() => parsePlants({ plants: [] })).toThrow(/non-empty/);
  });

  it('refuses a plant listed twice', () => {
    const entry = { name: 'a', class: 'c', strategy: 'fsync', groupCommit: false };
    expect(() => parsePlants({ plants: [entry, entry] })).toThrow(/listed twice/);
  });

  it('--only keeps the list order and refuses an unknown name', () => {
    const plants = [plant('a', 'fsync'), plant('b', 'periodic'), plant('c', 'direct')];
    expect(selectPlants(plants, undefined).map((p) => p.name)).toEqual(['a', 'b', 'c']);
    expect(selectPlants(plants, ['c', 'a']).map((p) => p.name)).toEqual(['a', 'c']);
    expect(() => selectPlants(plants, ['a', 'zz'])).toThrow(/unknown plant zz/);
    expect(() => selectPlants(plants, [])).toThrow(/at least one/);
  });
});

describe('the clean runs', () => {
  it('one run per strategy a plant uses, with and without group commit', () => {
    const runs = cleanRuns([plant('a', 'fdatasync'), plant('b', 'periodic'), plant('c', 'fdatasync'), plant('d', 'fdatasync', true), plant('e', 'direct')]);
    expect(runs).toEqual([
      { strategies: ['fdatasync'], groupCommit: false },
      { strategies: ['periodic'], groupCommit: false },
      { strategies: ['direct'], groupCommit: false },
      { strategies: ['fdatasync'], groupCommit: true },
    ]);
  });

  it('no group-commit run when no plant uses it', () => {
    expect(cleanRuns([plant('a', 'fsync')])).toEqual([{ strategies: ['fsync'], groupCommit: false }]);
  });
});

describe('whether a planted build is up to date', () => {
  function tree(): string {
    const root = mkdtempSync(path.join(tmpdir(), 'plants-'));
    for (const d of ['native/wal', 'native/addon', 'native/dm', 'native/build-planted/p/Release']) mkdirSync(path.join(root, d), { recursive: true });
    writeFileSync(path.join(root, 'native/binding.gyp'), '{}');
    writeFileSync(path.join(root, 'native/wal/log.cc'), '');
    return root;
  }
  const at = (file: string, seconds: number) => utimesSync(file, seconds, seconds);

  it('is not when missing, is when both addons are newer than every source, is not after a source changes', () => {
    const root = tree();
    expect(buildIsCurrent('p', root)).toBe(false);
    const release = path.join(root, 'native/build-planted/p/Release');
    for (const f of ['powercut_wal.node', 'powercut_dm.node']) writeFileSync(path.join(release, f), '');
    for (const f of ['native/binding.gyp', 'native/wal/log.cc']) at(path.join(root, f), 1000);
    for (const f of ['powercut_wal.node', 'powercut_dm.node']) at(path.join(release, f), 2000);
    expect(buildIsCurrent('p', root)).toBe(true);
    at(path.join(root, 'native/wal/log.cc'), 3000);
    expect(buildIsCurrent('p', root)).toBe(false);
  });

  it('is not when only one of the two addons was built', () => {
    const root = tree();
    writeFileSync(path.join(root, 'native/build-planted/p/Release/powercut_wal.node'), '');
    expect(buildIsCurrent('p', root)).toBe(false);
  });
});
