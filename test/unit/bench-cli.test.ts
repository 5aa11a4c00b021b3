import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const TSX = resolve(ROOT, 'node_modules/.bin/tsx');

function bench(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(TSX, ['src/cli/bench.ts', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

// Bad options end before anything is measured: a one-line reason on stderr, exit status 2, no
// stack. One case per layer (commander's own checks, the suite's validation); every message of
// the validation itself is covered in bench-options.test.ts without a process per case.
describe('pnpm bench option errors', () => {
  it.each([
    [['--writers', '0'], /--writers must be a whole number from 1 to 4096, got "0"/],
    [['--background-io', 'loud'], /argument 'loud' is invalid/],
    [['--no-such-option'], /unknown option '--no-such-option'/],
  ])('%j', (args, message) => {
    const r = bench(...args);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe('');
  });

  it('--help exits 0 and lists the options', () => {
    const r = bench('--help');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--strategy <list>/);
    expect(r.stdout).toMatch(/--background-io <class>/);
  });
});
