import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { bundleTargetProgram, checkTargetRecording } from '../../src/crash/target/check-states.js';
import { CleanupStack } from '../../src/dm/index.js';

// Target recordings made in the microVM (test/fixtures/target-recordings/record.ts: the documented
// exec example, and the same program acknowledging before it syncs), checked here without
// device-mapper: every crash state loop-mounted and the example's own check run on it, and
// `pnpm fuzz --from` shrinking a broken contract to a minimal state. Mounting needs root.

const ROOT = path.resolve(import.meta.dirname, '../..');
const fixtures = path.join(ROOT, 'test/fixtures/target-recordings');
const tsx = path.join(ROOT, 'node_modules/.bin/tsx');
const why =
  process.getuid?.() !== 0 ? 'requires root (loop mounts)' : spawnSync('sh', ['-c', 'command -v python3']).status !== 0 ? 'python3 not installed' : undefined;

const fuzz = (...args: string[]) => execa(tsx, ['src/cli/fuzz.ts', ...args], { cwd: ROOT, reject: false, timeout: 300_000 });

describe.skipIf(why !== undefined)(`target recordings${why ? ` (skipped: ${why})` : ''}`, () => {
  it('the example holds in every crash state; acknowledging before syncing loses acknowledged keys with their marks visible', async () => {
    const stack = new CleanupStack();
    try {
      const program = await bundleTargetProgram(stack);
      const good = await checkTargetRecording(path.join(fixtures, 'kvlog'), { program, jobs: 2 });
      expect(good.checked).toBeGreaterThan(20);
      expect(good.violatedStates).toBe(0);
      expect(good.representative?.verdict.loss.acked).toBeGreaterThan(10);
      const bad = await checkTargetRecording(path.join(fixtures, 'kvlog-ack-before-sync'), { program, jobs: 2 });
      expect(bad.violatedStates).toBeGreaterThan(0);
      const first = bad.violations[0];
      expect(first?.status === 'violated' && first.verdict.violated).toEqual(['durability']);
      expect(first?.lastMark).toMatch(/^ack-\d+$/);
    } finally {
      await stack.unwind();
    }
  }, 300_000);

  it('pnpm fuzz --from shrinks the broken contract to a minimal state, and that state checks the same again', async () => {
    const dir = path.join(fixtures, 'kvlog-ack-before-sync');
    const r = await fuzz('--from', dir, '--runs', '40', '--seed', '3');
    expect(r.exitCode, r.stderr).toBe(1);
    const m = /minimal state (\S+) \((ack-\d+) visible, (\d+) acknowledgements\): durability/.exec(r.stdout);
    expect(m, r.stdout).not.toBeNull();
    const again = await fuzz('--recording', dir, '--state', m?.[1] ?? '');
    expect(again.exitCode, again.stderr).toBe(1);
    expect(again.stdout).toContain(': violated: durability');
  }, 300_000);

  it('pnpm fuzz --from the example holds', async () => {
    const r = await fuzz('--from', path.join(fixtures, 'kvlog'), '--runs', '30', '--seed', '3');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/held in 30 crash states over 1 target recordings/);
  }, 300_000);

  it('refuses an exec target without its commands, and --run without --target exec, before any work', async () => {
    for (const args of [
      ['--target', 'exec'],
      ['--target', 'exec', '--run', 'true'],
      ['--run', 'true'],
    ]) {
      const r = await fuzz(...args);
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    const r = await fuzz('--target', 'exec', '--run', 'true', '--check', 'true', '--promise', 'soon');
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
