import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { runReplay } from '../../src/cli/replay.js';
import { SyntheticLog } from '../fixtures/log-writes/synthetic-log.js';

const dir = mkdtempSync(join(tmpdir(), 'powercut-lw-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const logPath = join(dir, 'synthetic.log');
writeFileSync(logPath, new SyntheticLog().fill(2, 2, 7).flush().mark('ack-1').discard(2, 1).toBuffer());

/** The command in-process: same code path as the binary, without a process start per case. */
function replay(...args: string[]): { exitCode: number; stdout: string; stderr: string } {
  let stdout = '';
  let stderr = '';
  const exitCode = runReplay(['node', 'replay.ts', ...args], { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t) });
  return { exitCode, stdout, stderr };
}

describe('pnpm replay', () => {
  it('RunsAsACommand: lists entries and replays to a mark (through tsx, as a user runs it)', async () => {
    const image = join(dir, 'out.img');
    const result = await execa('pnpm', ['exec', 'tsx', 'src/cli/replay.ts', '--log', logPath, '--list', '--to', 'mark', 'ack-1', '--out', image], {
      reject: false,
      cwd: join(import.meta.dirname, '../..'),
    });
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

  it('ListsCrashStatesAndMaterialisesOneByItsId', () => {
    const image = join(dir, 'state.img');
    const result = replay('--log', logPath, '--states', '--to', 'state', 'e0/torn/0@512', '--out', image);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^e0\/subset\/0 +subset base +0 +writes +1 +marks +0/m);
    expect(result.stdout).toMatch(/^coverage \{"entries":4,"epochs":2,.*"tornStates":1,/m);
    expect(result.stdout).toMatch(/materialised crash state e0\/torn\/0@512 \(torn, base 0, 1 writes on top\)/);
    const bytes = readFileSync(image);
    expect([...bytes.subarray(1024, 1536)].every((b) => b === 7)).toBe(true);
    expect([...bytes.subarray(1536, 2048)].every((b) => b === 0)).toBe(true);
  });

  it.each([
    [['--log', join(dir, 'missing.log'), '--list'], /replay: .*--log .*missing\.log does not exist/],
    [['--log', logPath, '--to', 'flush', '9', '--out', join(dir, 'x.img')], /flush 9 is not in the log \(4 entries, 1 flushes, 0 FUAs\)/],
    [['--log', logPath, '--to', 'sideways', '--out', join(dir, 'x.img')], /bad replay point "sideways"/],
    [['--log', logPath, '--to', 'end'], /--to needs --out IMAGE/],
    [['--log', logPath], /nothing to do/],
    [['--log', logPath, '--to', 'state', 'e0/torn/0@100', '--out', join(dir, 'x.img')], /100 is not a 512-byte boundary inside entry 0/],
    [['--log', logPath, '--states', '--seed', 'x'], /--seed must be a whole number/],
    [['--log', logPath, '--to', 'end', '--out', join(dir, 'x.img'), '--size', '12X'], /--size "12X": expected bytes/],
    [['--log', logPath, '--bogus'], /unknown option '--bogus'/],
  ])('BadInputExits2WithAClearMessage: %j', (args, message) => {
    const result = replay(...args);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });

  // Issue 13: the existing image was replaced by a partial one before the replay failed.
  it('FailedReplayKeepsTheExistingOutFile', () => {
    const image = join(dir, 'kept.img');
    writeFileSync(image, 'the image of an earlier, good replay');
    const result = replay('--log', logPath, '--to', 'mark', 'nosuchmark', '--out', image);
    expect(result.exitCode).toBe(2);
    expect(readFileSync(image, 'utf8')).toBe('the image of an earlier, good replay');
    expect(readdirSync(dir).filter((n) => n.includes('.partial-'))).toEqual([]);
  });

  // Issue 13: `--size 1` exited 0 and claimed "1 bytes" for a 2048-byte image.
  it('SizeSmallerThanTheLogNeedsIsRefused', () => {
    const result = replay('--log', logPath, '--to', 'end', '--out', join(dir, 'small.img'), '--size', '1');
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toBe('replay: --size 1 is smaller than the 2048 bytes the log writes to (leave --size out to use that)\n');
  });

  // Issue 13: a directory as --log failed with exit 1 and a raw EISDIR.
  it('LogThatIsADirectoryIsAClearUsageError', () => {
    const result = replay('--log', dir, '--list');
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/^replay: .*--log .* is a directory, not a file\n$/);
  });

  it('SizeOptionSetsTheImageSize', () => {
    const image = join(dir, 'sized.img');
    expect(replay('--log', logPath, '--to', 'end', '--out', image, '--size', '1M').exitCode).toBe(0);
    expect(readFileSync(image).length).toBe(1 << 20);
  });
});
