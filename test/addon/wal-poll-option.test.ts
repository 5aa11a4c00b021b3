// pollUs (event-loop polling while appends await acknowledgement) changes only when a completion
// is noticed, never what is acknowledged: every append still resolves with its own sequence, in
// order, and the entries read back whole, with polling on, off, and past its outstanding limit.
import { describe, expect, it } from 'vitest';
import { Wal, WalError } from '../../src/wal/index.js';
import { tempDirs } from './wal-fixture.js';

const dir = tempDirs();

async function appendAndReadBack(pollUs: number, writers: number, groupCommit: boolean): Promise<void> {
  const wal = await Wal.open(dir(), { strategy: 'fdatasync', groupCommit, pollUs });
  const seqs: number[] = [];
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let i = 0; i < 20; i++) seqs.push(await wal.append(Buffer.from(`w${w}-${i}`)));
    }),
  );
  expect(new Set(seqs).size).toBe(writers * 20);
  expect(wal.durableSeq()).toBe(writers * 20);
  const seen: string[] = [];
  for await (const { payload } of wal.entries()) seen.push(payload.toString());
  expect(seen.sort()).toEqual(
    Array.from({ length: writers }, (_, w) => Array.from({ length: 20 }, (_, i) => `w${w}-${i}`))
      .flat()
      .sort(),
  );
  await wal.close();
}

describe('WAL pollUs option', () => {
  it.each([
    [0, 1, false],
    [1000, 1, false],
    [1000, 3, true],
    [1000, 16, true],
  ])('pollUs %i with %i writer(s), groupCommit %s: every append acknowledged durable and read back', async (pollUs, writers, gc) => {
    await appendAndReadBack(pollUs, writers, gc);
  });

  it('an idle WAL stops polling: the process is not kept busy once appends settle', async () => {
    const wal = await Wal.open(dir(), { strategy: 'none', pollUs: 100_000 });
    await wal.append(Buffer.from('x'));
    // With nothing outstanding the poll stops at its next turn, long before pollUs (100 ms) runs out.
    const before = process.cpuUsage();
    await new Promise((r) => setTimeout(r, 200));
    const used = process.cpuUsage(before);
    // Polling on to the end of pollUs would burn about 100 ms of CPU here; an idle loop a few ms.
    expect((used.user + used.system) / 1000).toBeLessThan(50);
    await wal.close();
  });

  it('rejects a pollUs that is not an integer in 0..100000', async () => {
    for (const pollUs of [-1, 1.5, 100_001, '10']) {
      const err = await Wal.open(dir(), { pollUs } as never).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(WalError);
      expect((err as WalError).code).toBe('WAL_INVALID_ARGUMENT');
      expect((err as WalError).message).toMatch(/pollUs/);
    }
  });
});
