import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';

// The syscall tests' one way to trace a TypeScript child: every thread (-f), file descriptors
// shown with their paths (-y), only the `syscalls` named, written to `out`; returns its lines.
export const hasStrace = spawnSync('strace', ['-V']).status === 0;

export function straceChild(out: string, syscalls: readonly string[], child: string, args: readonly string[]): string[] {
  execFileSync('strace', ['-f', '-qq', '-y', '-o', out, '-e', `trace=${syscalls.join(',')}`, process.execPath, '--import', 'tsx', child, ...args], {
    encoding: 'utf8',
    timeout: 120_000,
    cwd: path.resolve(import.meta.dirname, '../..'),
  });
  return readFileSync(out, 'utf8').split('\n');
}
