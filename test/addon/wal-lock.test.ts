// One writer per log (issue 13, second section): the lock holds whatever happens to the LOCK path,
// checked with two real processes; close() called twice at once settles once, after the close.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Wal, WalError } from '../../src/wal/index.js';
import { payloadFor, tempDirs } from './wal-fixture.js';

const root = path.resolve(import.meta.dirname, '../..');
const dir = tempDirs();
const children: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
});

// A second process that opens the WAL in `d`, prints "open" and holds it until its stdin closes.
async function holder(d: string): Promise<ChildProcessWithoutNullStreams> {
  const file = path.join(dir(), 'holder.mts');
  writeFileSync(
    file,
    `import { Wal } from ${JSON.stringify(path.join(root, 'src/wal/index.ts'))};
const wal = await Wal.open(${JSON.stringify(d)}, { segmentSize: 65536 });
await wal.append(Buffer.from('from the holder'));
process.stdout.write('open\\n');
process.stdin.resume();
process.stdin.on('end', () => void wal.close().then(() => process.exit(0)));`,
  );
  const child = spawn(process.execPath, ['--import', 'tsx', file], { cwd: root });
  children.push(child);
  await new Promise<void>((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      if (out.includes('open\n')) resolve();
    });
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.on('exit', (code) => reject(new Error(`holder exited ${String(code)} before opening: ${err}`)));
  });
  return child;
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  return p.then(
    () => undefined,
    (e: unknown) => (e instanceof WalError ? e.code : String(e)),
  );
}

describe('WAL lock', () => {
  it('LockSurvivesDeletedLockFile: with LOCK deleted under an open WAL, a second process still gets WAL_LOCKED', async () => {
    const d = dir();
    const child = await holder(d);
    rmSync(path.join(d, 'LOCK'), { force: true });
    expect(await codeOf(Wal.open(d, { segmentSize: 65536 }))).toBe('WAL_LOCKED');
    // The directory renamed: still the same log, still locked.
    expect(await codeOf(Wal.open(d, { segmentSize: 65536, readOnly: true }))).toBe('WAL_LOCKED');
    child.stdin.end();
    await new Promise((resolve) => child.on('exit', resolve));
    const wal = await Wal.open(d, { segmentSize: 65536 });
    expect(wal.recovery.lastSeq).toBe(1);
    await wal.close();
  }, 30_000);

  it("CloseTwiceAtOnce: the second close() returns the first one's promise, so a reopen after it is never WAL_LOCKED", async () => {
    const d = dir();
    const wal = await Wal.open(d, { strategy: 'fdatasync', segmentSize: 1 << 20 });
    const pending = Array.from({ length: 300 }, (_, i) => wal.append(payloadFor(i + 1, 100)));
    const first = wal.close();
    const second = wal.close();
    expect(second).toBe(first);
    await second;
    const again = await Wal.open(d, { segmentSize: 1 << 20 });
    expect(again.recovery.lastSeq).toBe(300);
    await again.close();
    await Promise.all(pending);
  });
});
