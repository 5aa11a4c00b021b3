import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { SyntheticLog } from '../fixtures/log-writes/synthetic-log.js';

// The real CLI, run as a user would (through tsx), on a synthetic log.
const dir = mkdtempSync(join(tmpdir(), 'powercut-lw-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const logPath = join(dir, 'synthetic.log');
writeFileSync(logPath, new SyntheticLog().fill(2, 2, 7).flush().mark('ack-1').discard(2, 1).toBuffer());

function replay(...args: string[]) {
  return execa('pnpm', ['exec', 'tsx', 'src/cli/replay.ts', ...args], { reject: false, cwd: join(import.meta.dirname, '../..') });
}

describe('pnpm replay', () => {
  it('ListsEntriesAndReplaysToAMark', async () => {
    const image = join(dir, 'out.img');
    const result = await replay('--log', logPath, '--list', '--to', 'mark', 'ack-1', '--out', image);
    expect(result.exitCode).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[1]).toMatch(/^\s+0\s+WRITE\s+2\s+2\s+1024\s*$/);
    expect(lines[3]).toMatch(/^\s+2\s+MARK\s+0\s+0\s+0\s+ack-1$/);
    expect(lines[4]).toMatch(/^\s+3\s+DISCARD\s+2\s+1\s+0/);
    expect(result.stdout).toMatch(/replayed 3 entries .* to mark ack-1 .* MB\/s\) -> .*out\.img \(2048 bytes\)/);
    const bytes = readFileSync(image);
    expect(bytes.length).toBe(2048);
    expect([...bytes.subarray(1024, 2048)].every((b) => b === 7)).toBe(true);
  });

  it('BadInputExits2WithAClearMessageAndNoStack', async () => {
    const results = await Promise.all([
      replay('--log', join(dir, 'missing.log'), '--list'),
      replay('--log', logPath, '--to', 'flush', '9', '--out', join(dir, 'x.img')),
      replay('--log', logPath, '--to', 'sideways', '--out', join(dir, 'x.img')),
      replay('--log', logPath, '--to', 'end'),
    ]);
    expect(results.map((r) => r.exitCode)).toEqual([2, 2, 2, 2]);
    expect(results[0]?.stderr).toMatch(/replay: cannot open log .*missing\.log/);
    expect(results[1]?.stderr).toMatch(/flush 9 is not in the log \(4 entries, 1 flushes, 0 FUAs\)/);
    expect(results[2]?.stderr).toMatch(/bad replay point "sideways"/);
    expect(results[3]?.stderr).toMatch(/--to needs --out IMAGE/);
    for (const r of results) expect(r.stderr).not.toMatch(/\n\s+at /);
  });
});
