// Bad input gets a clear typed error, never a crash and never an acknowledgement of unwritten data.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Wal, WalError, type WalErrorCode } from '../../src/wal/index.js';
import { cleanup, isRoot, tempDirs } from '../addon/wal-fixture.js';

const dir = tempDirs();
const mounts: string[] = [];
// Registered after tempDirs(), so (vitest runs after-hooks as a stack) unmounts come first.
afterEach(() => {
  for (const m of mounts.splice(0).reverse()) execFileSync('umount', [m]);
});

// The WalError a promise rejects with (fails the test if it resolves).
async function rejection(p: Promise<unknown>): Promise<WalError> {
  const outcome = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(outcome).toBeInstanceOf(WalError);
  return outcome as WalError;
}

async function codeOf(p: Promise<unknown>): Promise<WalErrorCode | 'resolved'> {
  try {
    await p;
    return 'resolved';
  } catch (err) {
    expect(err).toBeInstanceOf(WalError);
    return (err as WalError).code;
  }
}

describe('WAL bad input', () => {
  it('invalid options are rejected before anything touches the disk, naming the option', async () => {
    const d = dir();
    const bad: [object, RegExp][] = [
      [{ segmentSize: 1000 }, /segmentSize/],
      [{ segmentSize: 2 ** 33 }, /segmentSize/],
      [{ strategy: 'fast' }, /strategy/],
      [{ preallocate: 'maybe' }, /preallocate/],
      [{ groupCommit: true, strategy: 'none' }, /groupCommit/],
      [{ periodMs: 0, strategy: 'periodic' }, /periodMs/],
      [{ periodMs: 5 }, /periodMs applies/],
      [{ syncFileRange: true, strategy: 'dsync' }, /syncFileRange/],
      [{ recycle: 'yes' }, /recycle/],
      [{ groupCommit: true, syncDepth: 0 }, /syncDepth must be an integer between 1 and 16/],
      [{ groupCommit: true, syncDepth: 2.5 }, /syncDepth must be/],
      [{ syncDepth: 2 }, /syncDepth applies to group commit only/],
      [{ segmnetSize: 65536 }, /unknown option 'segmnetSize'/],
    ];
    for (const [options, message] of bad) {
      const err = await Wal.open(d, options as never).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WalError);
      expect((err as WalError).code).toBe('WAL_INVALID_ARGUMENT');
      expect((err as WalError).message).toMatch(message);
    }
    expect(await codeOf(Wal.open('', {}))).toBe('WAL_INVALID_ARGUMENT');
  });

  it('a missing directory is WAL_NOT_FOUND; a file instead of a directory is WAL_INVALID_ARGUMENT', async () => {
    const d = dir();
    expect(await codeOf(Wal.open(path.join(d, 'nope')))).toBe('WAL_NOT_FOUND');
    writeFileSync(path.join(d, 'file'), 'x');
    expect(await codeOf(Wal.open(path.join(d, 'file')))).toBe('WAL_INVALID_ARGUMENT');
  });

  it('a directory holding foreign files is refused, and the error names them', async () => {
    const d = dir();
    writeFileSync(path.join(d, 'notes.txt'), 'mine');
    const err = await rejection(Wal.open(d));
    expect(err.code).toBe('WAL_FOREIGN_FILES');
    expect(err.message).toMatch(/notes\.txt/);
  });

  it('a second open of the same directory is WAL_LOCKED', async () => {
    const d = dir();
    const wal = await Wal.open(d, { segmentSize: 65536 });
    expect(await codeOf(Wal.open(d, { segmentSize: 65536 }))).toBe('WAL_LOCKED');
    await wal.close();
    const again = await Wal.open(d, { segmentSize: 65536 });
    await again.close();
  });

  it('a closed WAL rejects every operation with WAL_CLOSED', async () => {
    const d = dir();
    const wal = await Wal.open(d, { segmentSize: 65536 });
    await wal.append(Buffer.from('a'));
    await wal.close();
    await wal.close(); // idempotent
    expect(await codeOf(wal.append(Buffer.from('b')))).toBe('WAL_CLOSED');
    expect(await codeOf(wal.sync())).toBe('WAL_CLOSED');
    expect(await codeOf(wal.read(1))).toBe('WAL_CLOSED');
    expect(await codeOf(wal.truncate(1))).toBe('WAL_CLOSED');
    expect(
      await codeOf(
        (async () => {
          for await (const _ of wal.entries()) {
            /* empty */
          }
        })(),
      ),
    ).toBe('WAL_CLOSED');
  });

  it('reading an unknown, truncated or invalid sequence, and bad payloads, are typed errors', async () => {
    const d = dir();
    const wal = await Wal.open(d, { segmentSize: 65536 });
    await wal.append(Buffer.from('a'));
    await wal.append(Buffer.from('b'));
    expect(await codeOf(wal.read(3))).toBe('WAL_NOT_FOUND');
    expect(await codeOf(wal.read(0))).toBe('WAL_INVALID_ARGUMENT');
    expect(await codeOf(wal.read(1.5))).toBe('WAL_INVALID_ARGUMENT');
    await wal.truncate(2);
    expect(await codeOf(wal.read(1))).toBe('WAL_NOT_FOUND');
    expect(await codeOf(wal.append('text' as never))).toBe('WAL_INVALID_ARGUMENT');
    expect(await codeOf(wal.waitDurable(99))).toBe('WAL_INVALID_ARGUMENT');
    expect(() => wal.onDurable(42 as never)).toThrow(WalError);
    expect((await wal.read(2)).toString()).toBe('b');
    await wal.close();
  });

  it.skipIf(!isRoot)('a read-only directory is WAL_PERMISSION (read-only bind mount; requires root)', async () => {
    const d = dir();
    const ro = path.join(d, 'ro');
    mkdirSync(ro);
    execFileSync('mount', ['--bind', ro, ro]);
    mounts.push(ro);
    execFileSync('mount', ['-o', 'remount,ro,bind', ro]);
    const err = await rejection(Wal.open(ro));
    expect(err.code).toBe('WAL_PERMISSION');
    expect(err.errno).toBeGreaterThan(0);
    expect(err.syscall).toBe('open');
  });

  it.skipIf(isRoot)('an unwritable directory is WAL_PERMISSION (chmod; as a non-root user)', async () => {
    const d = dir();
    const locked = path.join(d, 'locked');
    mkdirSync(locked);
    chmodSync(locked, 0o500);
    expect(await codeOf(Wal.open(locked))).toBe('WAL_PERMISSION');
    chmodSync(locked, 0o700);
  });

  it.skipIf(!isRoot)('a full disk is WAL_NO_SPACE at open, and during appends fails them and refuses more (tmpfs; requires root)', async () => {
    const d = dir();
    const mnt = path.join(d, 'tiny');
    mkdirSync(mnt);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mnt]);
    mounts.push(mnt);
    // Zero-filling a 4 MiB segment cannot fit in 1 MiB.
    const walDir = path.join(mnt, 'wal');
    mkdirSync(walDir);
    const err = await rejection(Wal.open(walDir, { segmentSize: 4 * 1024 * 1024 }));
    expect(err.code).toBe('WAL_NO_SPACE');
    expect(err.errno).toBe(28);
    cleanup(walDir);
    mkdirSync(walDir);
    // Without preallocation the space runs out mid-append.
    const wal = await Wal.open(walDir, { segmentSize: 4 * 1024 * 1024, preallocate: 'none', strategy: 'fdatasync' });
    const payload = Buffer.alloc(8192, 1);
    const results = await Promise.allSettled(Array.from({ length: 200 }, () => wal.append(payload)));
    const acked = results.filter((r) => r.status === 'fulfilled').map((r) => r.value);
    const failed = results.filter((r) => r.status === 'rejected').map((r) => r.reason as WalError);
    expect(acked.length).toBeGreaterThan(10);
    expect(failed.length).toBeGreaterThan(0);
    expect(failed[0]!.code).toBe('WAL_NO_SPACE');
    // Acknowledged ones are a prefix: nothing after a failure is acknowledged.
    expect(acked).toEqual(Array.from({ length: acked.length }, (_, i) => i + 1));
    expect(await codeOf(wal.append(payload))).toBe('WAL_FAILED');
    expect(await codeOf(wal.sync())).toBe('WAL_FAILED');
    await wal.close().catch(() => undefined);
    const again = await Wal.open(walDir, { segmentSize: 4 * 1024 * 1024, preallocate: 'none' });
    expect(again.recovery.lastSeq).toBeGreaterThanOrEqual(acked.length);
    for (const seq of acked) expect((await again.read(seq)).equals(payload)).toBe(true);
    await again.close();
  });
});
