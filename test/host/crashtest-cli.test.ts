import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

// The command line's contract: usage and environment problems exit 2 with one clear line and no
// stack trace, before any device or VM is touched.

const tsx = path.resolve('node_modules/.bin/tsx');

function crashtest(args: string[], opts: { env?: NodeJS.ProcessEnv; uid?: number } = {}) {
  const r = spawnSync(tsx, ['src/cli/crashtest.ts', ...args], { encoding: 'utf8', env: { ...process.env, ...opts.env }, uid: opts.uid, timeout: 60_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

function expectUsageError(r: ReturnType<typeof crashtest>, message: RegExp) {
  expect(r.code).toBe(2);
  expect(r.err).toMatch(message);
  expect(r.err).not.toMatch(/\n\s+at .+:\d+:\d+/);
}

const hostHasDm = existsSync('/proc/misc') && /\bdevice-mapper\b/.test(readFileSync('/proc/misc', 'utf8'));
const isRoot = process.getuid?.() === 0;

describe('crashtest command line', () => {
  it('prints help and exits 0', () => {
    const r = crashtest(['--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/--strategy/);
    expect(r.out).toMatch(/recheck/);
  });

  it.each([
    [[], /--strategy is required/],
    [['--strategy', 'fsync2'], /unknown strategy fsync2/],
    [['--strategy', 'none', '--group-commit'], /--group-commit applies to .* not none/],
    [['--strategy', 'fsync', '--scenario', 'meteor'], /--scenario.*meteor.*invalid|Allowed choices/i],
    [['--strategy', 'fsync', '--trials', '0'], /--trials must be a whole number from 1 to 100000/],
    [['--strategy', 'fsync', '--trial', '3'], /--trial replays one trial of a seeded run: give --seed too/],
    [['--strategy', 'fsync', '--fs', 'zfs'], /Allowed choices are ext4, ext4-nojournal, xfs, btrfs, btrfs-nodatacow/],
  ])('rejects %j with exit 2', (args, message) => {
    expectUsageError(crashtest(args), message);
  });

  it.skipIf(!isRoot)('needs root (run as nobody: exit 2)', () => {
    const home = mkdtempSync(path.join(tmpdir(), 'powercut-nobody-'));
    try {
      spawnSync('chmod', ['777', home]);
      expectUsageError(crashtest(['--strategy', 'fsync'], { uid: 65534, env: { HOME: home, TMPDIR: home } }), /crashtest needs root/);
    } finally {
      rmSync(home, { recursive: true, force: true });
    }
  });

  it.skipIf(hostHasDm)('without device-mapper and without a prepared VM: exit 2 saying what to do', () => {
    const cache = mkdtempSync(path.join(tmpdir(), 'powercut-empty-cache-'));
    try {
      expectUsageError(
        crashtest(['--strategy', 'fsync', '--trials', '1'], { env: { POWERCUT_CACHE: cache } }),
        /no device-mapper.*microVM.*not prepared.*pnpm vm --prepare/,
      );
    } finally {
      rmSync(cache, { recursive: true, force: true });
    }
  });

  it('recheck of a directory that is not an artifact: exit 2', () => {
    expectUsageError(crashtest(['recheck', '/nonexistent/powercut-artifact']), /no such directory/);
    const empty = mkdtempSync(path.join(tmpdir(), 'powercut-not-artifact-'));
    try {
      expectUsageError(crashtest(['recheck', empty]), /not a crashtest artifact directory/);
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });
});
