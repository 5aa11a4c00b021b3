import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { existingDir, existingFile, writableDir, writableFile } from '../../src/cli/path-checks.js';

const dir = mkdtempSync(join(tmpdir(), 'powercut-path-checks-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = join(dir, 'f');
writeFileSync(file, 'x');
mkdirSync(join(dir, 'd'));

// Issue 13: bench found out that --out or --work-dir could not be written only after the run.
describe('path checks made before a command starts', () => {
  it('WritableDirAcceptsAnExistingOrCreatableDirectoryAndCreatesNothing', () => {
    expect(writableDir('--out', join(dir, 'd')).ok).toBe(true);
    expect(writableDir('--out', join(dir, 'new', 'deeper')).ok).toBe(true);
    expect(readdirSync(dir).sort()).toEqual(['d', 'f']);
  });

  it('WritableDirRefusesAFileOrAPathUnderAFile', () => {
    expect(writableDir('--out', file)).toEqual({ ok: false, message: `--out ${file} is not a directory` });
    expect(writableDir('--out', join(file, 'x'))).toEqual({ ok: false, message: `--out ${join(file, 'x')} cannot be created: ${file} is not a directory` });
  });

  it('WritableDirRefusesWhatEvenRootCannotCreate', () => {
    expect(writableDir('--work-dir', '/proc/powercut-x')).toEqual({
      ok: false,
      message: '--work-dir /proc/powercut-x cannot be created: /proc is not writable',
    });
  });

  it('WritableFileRefusesADirectoryOrAMissingParent', () => {
    expect(writableFile('--json', join(dir, 'r.json')).ok).toBe(true);
    expect(writableFile('--json', join(dir, 'd')).ok).toBe(false);
    expect(writableFile('--json', join(dir, 'nope', 'r.json')).ok).toBe(false);
  });

  it('ExistingDirAndFileSayWhichKindWasExpected', () => {
    expect(existingDir('--check', file)).toEqual({ ok: false, message: `--check ${file} is not a directory` });
    expect(existingDir('--check', join(dir, 'nope'))).toEqual({ ok: false, message: `--check ${join(dir, 'nope')} does not exist` });
    expect(existingFile('--log', join(dir, 'd'))).toEqual({ ok: false, message: `--log ${join(dir, 'd')} is a directory, not a file` });
    expect(existingFile('--log', file).ok).toBe(true);
  });
});
