import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runFuzz } from '../../src/crash/explore/fuzz.js';
import { readRecordingMeta } from '../../src/crash/record/session.js';

// The committed lying writer (ext4-none-claims-fsync) is marked expected-violated in its meta, so
// fuzzing the committed recordings on a correct tree reports it caught as expected instead of
// failing; and a recording so marked that the checks do NOT catch is a failure, not a pass.

const fixtures = join(import.meta.dirname, '../fixtures/recordings');
const why = process.getuid?.() !== 0 ? 'requires root (loop mounts)' : undefined;
const scratch = mkdtempSync(join(tmpdir(), 'powercut-expected-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const quiet = () => undefined;

describe.skipIf(why !== undefined)(`recordings meant to be caught${why ? ` (skipped: ${why})` : ''}`, () => {
  it('the committed lying writer is marked expected-violated in its meta', () => {
    expect(readRecordingMeta(join(fixtures, 'ext4-none-claims-fsync')).expected?.verdict).toBe('violated');
    expect(readRecordingMeta(join(fixtures, 'ext4-fdatasync')).expected).toBeUndefined();
  });

  it('fuzz --from the committed recordings holds, with the lying writer caught as expected', async () => {
    const result = await runFuzz({
      seed: 5,
      recordings: 0,
      runs: 8,
      strategies: [],
      fs: 'ext4',
      from: fixtures,
      outRoot: scratch,
      regressionsDir: null,
      log: quiet,
    });
    expect(result.status).toBe('held');
    if (result.status !== 'held') return;
    expect(result.expected.map((e) => [e.recording.split('/').pop(), e.outcome.status])).toEqual([['ext4-none-claims-fsync', 'caught-as-expected']]);
    expect(result.recordings.some((r) => r.endsWith('ext4-none-claims-fsync'))).toBe(false);
  }, 300_000);

  it('a recording marked expected-violated that holds is reported missed', async () => {
    const dir = join(scratch, 'only', 'fdatasync-marked');
    cpSync(join(fixtures, 'ext4-fdatasync'), dir, { recursive: true });
    const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(join(dir, 'meta.json'), JSON.stringify({ ...meta, expected: { verdict: 'violated', why: 'test: a correct WAL marked as a liar' } }));
    const result = await runFuzz({
      seed: 5,
      recordings: 0,
      runs: 1,
      strategies: [],
      fs: 'ext4',
      from: join(scratch, 'only'),
      outRoot: scratch,
      regressionsDir: null,
      log: quiet,
    });
    expect(result.status).toBe('missed');
    if (result.status === 'missed') expect(result.expected[0]?.outcome.status).toBe('missed');
  }, 300_000);
});
