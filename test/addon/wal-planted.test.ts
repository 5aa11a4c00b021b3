// Sanity of the planted builds (issue 12, scripts/build-planted.sh): each build says which bug it
// carries, and the bugs a host can show without a crash (recovery's) really show, while the real
// build holds on the same input. The sync bugs only show after a power cut: the crash harness's
// self-test judges those. Skips when the planted builds are not built.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { tempDirs } from './wal-fixture.js';

const root = path.resolve(import.meta.dirname, '../..');
const plants = (JSON.parse(readFileSync(path.join(root, 'native/plants.json'), 'utf8')) as { plants: { name: string }[] }).plants.map((p) => p.name);
const buildOf = (name: string): string => path.join(root, 'native/build-planted', name);
const built = plants.filter((n) => existsSync(path.join(buildOf(n), 'Release', 'powercut_wal.node')));
const dir = tempDirs();

function run(scenario: string, build: string | null): Record<string, unknown> {
  const env = { ...process.env };
  if (build === null) delete env.POWERCUT_NATIVE_BUILD;
  else env.POWERCUT_NATIVE_BUILD = buildOf(build);
  const out = execFileSync(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'wal-planted-child.ts'), scenario, dir()], {
    cwd: root,
    env,
    encoding: 'utf8',
    timeout: 60_000,
  });
  return JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

const reason = 'requires scripts/build-planted.sh all';

describe('planted builds', () => {
  it.skipIf(built.length < plants.length)(
    `every planted build names its plant (${reason})`,
    () => {
      for (const name of plants) expect(run('identity', name).planted).toBe(name);
    },
    120_000,
  );

  it.skipIf(!built.includes('torn-tail-not-cut'))(`torn-tail-not-cut: a second life after a torn tail is mid-log corruption (${reason})`, () => {
    expect(run('torn-tail-second-life', null)).toMatchObject({ planted: null, firstTorn: 100, after: { seqs: [1, 2, 3, 4, 5, 6], exact: true } });
    expect(run('torn-tail-second-life', 'torn-tail-not-cut')).toMatchObject({ firstTorn: 100, after: { code: 'WAL_CORRUPTION' } });
  });

  it.skipIf(!built.includes('recovery-skips-checksum'))(`recovery-skips-checksum: a damaged entry comes back with a wrong payload (${reason})`, () => {
    expect(run('flipped-last-entry', null)).toMatchObject({ after: { seqs: [1, 2, 3, 4], exact: true } });
    expect(run('flipped-last-entry', 'recovery-skips-checksum')).toMatchObject({ after: { seqs: [1, 2, 3, 4, 5], exact: false } });
  });

  it.skipIf(!built.includes('recycled-stale-entry'))(`recycled-stale-entry: a stale entry whose boundary lines up is read as new (${reason})`, () => {
    expect(run('stale-entry-lines-up', null)).toMatchObject({ after: { seqs: [] } });
    expect(run('stale-entry-lines-up', 'recycled-stale-entry')).toMatchObject({ after: { seqs: [10] } });
  });
});
