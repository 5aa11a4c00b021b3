// publishMarks (issue 12): the option is validated, and the native publisher is really wired in.
// On the host there is no dm-log-writes device: a regular file stands in for the control device,
// so the first mark's DM_TARGET_MSG ioctl fails, which must fail the WAL before anything is
// acknowledged (a recording that misses a promise would be judged wrongly). The ordering of marks
// before visibility is checked in the core's own suite (PublishHookPrecedesVisibility); the real
// device is exercised inside the microVM.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Wal, WalError, resolveOptions } from '../../src/wal/index.js';
import { tempDirs } from './wal-fixture.js';

const dir = tempDirs();

async function rejection(p: Promise<unknown>): Promise<WalError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(WalError);
  return err as WalError;
}

describe('WAL publishMarks', () => {
  it('PublishMarksValidated: a bad dmName or control is WAL_INVALID_ARGUMENT before anything opens', () => {
    for (const bad of [
      {},
      { dmName: '' },
      { dmName: 'a b' },
      { dmName: 'a/b' },
      { dmName: 'x'.repeat(128) },
      { dmName: 'lw', control: '' },
      { dmName: 'lw', extra: 1 },
      'lw',
    ]) {
      expect(() => resolveOptions({ publishMarks: bad as never }), JSON.stringify(bad)).toThrow(/publishMarks/);
    }
    expect(resolveOptions({ publishMarks: { dmName: 'lw' } }).publishMarks).toEqual({ dmName: 'lw', control: '/dev/mapper/control' });
    expect(resolveOptions({}).publishMarks).toBeNull();
    expect(() => resolveOptions({ publishMarks: { dmName: 'lw' }, readOnly: true })).toThrow(/readOnly/);
  });

  it('PublishMarksMissingControl: a control device that does not exist fails open', async () => {
    const d = dir();
    const err = await rejection(Wal.open(d, { segmentSize: 65536, publishMarks: { dmName: 'lw', control: path.join(d, 'nope') } }));
    expect(err.code).toBe('WAL_NOT_FOUND');
    expect(err.message).toMatch(/publishMarks/);
  });

  it('PublishMarksFailureFailsTheWal: a mark that cannot be sent fails the WAL and acknowledges nothing', async () => {
    const d = dir();
    const fake = path.join(dir(), 'control');
    writeFileSync(fake, '');
    const wal = await Wal.open(d, { segmentSize: 65536, publishMarks: { dmName: 'lw', control: fake } });
    const err = await rejection(wal.append(Buffer.from('first')));
    expect(err.message).toMatch(/DM_TARGET_MSG to lw \(mark ack-1\)/);
    expect(wal.durableSeq()).toBe(0);
    expect((await rejection(wal.append(Buffer.from('second')))).code).toBe('WAL_FAILED');
    await wal.close();
  });
});
