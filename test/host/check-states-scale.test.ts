import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkRecording, type CheckOptions } from '../../src/crash/explore/check-states.js';
import { campaignEntry, type StateResult } from '../../src/crash/explore/check-report.js';
import { mergeStores } from '../../src/crash/explore/merge.js';
import { ResultStore } from '../../src/crash/explore/result-store.js';
import { loopMount, loopUnmount } from '../../src/dm/loop-mount.js';
import { until } from './until.js';

// Crash states by the thousand (docs/crash/scale.md): any number of jobs, shards merged from their
// stores and a stopped run resumed from its store all give the report of one plain run, state for
// state. Real recordings, real loop mounts (root). The enumeration is cut to a few states per
// epoch so the comparisons stay short; every epoch of the recordings is still in it.

const fixtures = join(import.meta.dirname, '../fixtures/recordings');
const why = process.getuid?.() !== 0 ? 'requires root (loop mounts)' : undefined;
const lean: CheckOptions['enumerate'] = { exhaustiveLimit: 2, randomSubsets: 2, tearsPerWrite: 1, tornPerEpoch: 2 };
const work = mkdtempSync(join(tmpdir(), 'powercut-scale-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

async function run(
  recording: string,
  options: CheckOptions = {},
  results: StateResult[] = [],
): Promise<{ results: StateResult[]; report: Awaited<ReturnType<typeof checkRecording>> }> {
  const report = await checkRecording(join(fixtures, recording), { enumerate: lean, ...options, onState: (r) => results.push(r) });
  return { results, report };
}

describe.skipIf(why !== undefined)(`state checking at scale${why ? ` (skipped: ${why})` : ''}`, () => {
  let plain: { results: StateResult[]; report: Awaited<ReturnType<typeof checkRecording>> };

  it('two jobs give the verdicts of one, state for state and in the same order', async () => {
    plain = await run('ext4-none-claims-fsync', { jobs: 1 });
    const two = await run('ext4-none-claims-fsync', { jobs: 2 });
    expect(plain.report.checked).toBeGreaterThan(50);
    expect(plain.report.violatedStates).toBeGreaterThan(0);
    expect(plain.report.secondLives).toBeGreaterThan(0);
    expect(two.results).toEqual(plain.results);
    expect(campaignEntry(two.report, true)).toEqual(campaignEntry(plain.report, true));
    expect(two.report.jobs).toBe(2);
  }, 300_000);

  it('four shards, each with its own store, merge into the unsharded report', async () => {
    const stores = [0, 1, 2, 3].map((index) => join(work, `shard-${index}`));
    let checked = 0;
    for (const [index, dir] of stores.entries()) {
      const shard = await run('ext4-none-claims-fsync', { jobs: 2, shard: { index, count: 4 }, store: new ResultStore(dir) });
      checked += shard.report.checkedNow;
      expect(shard.report.shard).toEqual({ index, count: 4 });
    }
    expect(checked).toBe(plain.report.checked);
    const [merged] = mergeStores(stores);
    expect(merged!.shards).toEqual(['0/4', '1/4', '2/4', '3/4']);
    expect(campaignEntry(merged!, true)).toEqual(campaignEntry(plain.report, true));
    // State for state: the stores together hold exactly the plain run's results.
    const union = new Map<string, StateResult>();
    for (const dir of stores)
      for (const [id, r] of new ResultStore(dir).known('ext4-none-claims-fsync', plain.report.recordingHash, merged!.checker)) union.set(id, r);
    expect(plain.results.map((r) => union.get(r.id))).toEqual(plain.results);
    // A missing shard is refused, naming what is missing.
    expect(() => mergeStores(stores.slice(0, 3))).toThrow(/states have no result in these stores \(shards found: 0\/4, 1\/4, 2\/4/);
  }, 300_000);

  it('a run stopped in-process (its stop() callback, no signal) resumed from its store skips every judged state and ends with the plain report (the signalled CLI run: fuzz-check-campaign-cli.test.ts)', async () => {
    const store = new ResultStore(join(work, 'resumed'));
    const judged: StateResult[] = [];
    const first = await run('ext4-none-claims-fsync', { jobs: 2, store, stop: () => judged.length >= 17 }, judged);
    expect(first.report.interrupted).toBe(true);
    expect(first.report.checkedNow).toBeGreaterThanOrEqual(17);
    let announced: { total: number; resumed: number } | undefined;
    const second = await run('ext4-none-claims-fsync', { jobs: 2, store, onStart: (plan) => (announced = plan) });
    expect(second.report.resumed).toBe(first.report.checkedNow);
    expect(announced).toEqual({ total: plain.report.checked, resumed: first.report.checkedNow });
    expect(second.report.checkedNow).toBe(plain.report.checked - first.report.checkedNow);
    expect(second.report.interrupted).toBe(false);
    expect(campaignEntry(second.report, true)).toEqual(campaignEntry(plain.report, true));
    // Once more: nothing left to check.
    const third = await run('ext4-none-claims-fsync', { jobs: 2, store });
    expect(third.report.checkedNow).toBe(0);
    expect(third.report.resumed).toBe(plain.report.checked);
  }, 300_000);

  it('a loop device serves each mounted image its own bytes (no page cache of the image mounted before)', async () => {
    const images = ['a', 'b'].map((name) => {
      const image = join(work, `${name}.img`);
      writeFileSync(image, Buffer.alloc(0));
      execFileSync('truncate', ['-s', '16M', image]);
      execFileSync('mkfs.ext4', ['-q', '-F', image]);
      return image;
    });
    const mnt = mkdtempSync(join(work, 'mnt-'));
    for (const [n, image] of images.entries()) {
      await loopMount(image, mnt, { fs: 'ext4' });
      writeFileSync(join(mnt, 'who'), `image ${n}`);
      await loopUnmount(mnt);
    }
    for (let round = 0; round < 6; round++) {
      const n = round % 2;
      await loopMount(images[n]!, mnt, { fs: 'ext4' });
      const who = readFileSync(join(mnt, 'who'), 'utf8');
      await loopUnmount(mnt);
      expect(who).toBe(`image ${n}`);
    }
    // Every loop device detached itself on its unmount (the kernel's autoclear may lag a moment).
    const attached = () => execFileSync('losetup', ['--list', '--noheadings', '--output', 'BACK-FILE'], { encoding: 'utf8' }).includes(work);
    expect(await until(() => !attached(), 5000)).toBe(true);
  }, 60_000);
});
