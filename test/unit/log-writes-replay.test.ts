import { closeSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  closeLog,
  openLog,
  type LogFile,
  createZeroImage,
  parseTarget,
  ReplayError,
  Replayer,
  replayToImage,
  type ReplayTarget,
} from '../../src/dm/log-writes/index.js';
import { FUA, SyntheticLog } from '../fixtures/log-writes/synthetic-log.js';

const dir = mkdtempSync(join(tmpdir(), 'powercut-lw-replay-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;
const fresh = (name: string): string => join(dir, `${name}-${counter++}`);

// Sector s of the 16-sector device holds one byte value per stage, so each replay point has a
// recognisable image:
//  0 W s0=1 | 1 W s1=2 | 2 FLUSH | 3 MARK one | 4 FUA s2=3 | 5 W s0=4 | 6 DISCARD s1 | 7 FLUSH | 8 MARK two | 9 FUA s3=5
const LOG = new SyntheticLog()
  .fill(0, 1, 1)
  .fill(1, 1, 2)
  .flush()
  .mark('one')
  .fill(2, 1, 3, FUA)
  .fill(0, 1, 4)
  .discard(1, 1)
  .flush()
  .mark('two')
  .fill(3, 1, 5, FUA)
  .toBuffer();

function openFixture(): LogFile {
  const path = fresh('log');
  writeFileSync(path, LOG);
  return openLog(path);
}

/** The first byte of each of the first four sectors of an image. */
function sectors(image: string): number[] {
  const bytes = readFileSync(image);
  return [0, 1, 2, 3].map((s) => bytes[s * 512] ?? 0);
}

function replay(target: ReplayTarget): { image: string; position: number } {
  const log = openFixture();
  try {
    const image = fresh('img');
    const state = replayToImage(log, image, target, { sizeBytes: 16 * 512 });
    return { image, position: state.position };
  } finally {
    closeLog(log);
  }
}

describe('dm-log-writes replay', () => {
  it.each([
    ['entry 0', [1, 0, 0, 0], 1],
    ['entry 1', [1, 2, 0, 0], 2],
    ['mark one', [1, 2, 0, 0], 4],
    ['fua 1', [1, 2, 3, 0], 5],
    ['flush 1', [1, 2, 0, 0], 3],
    ['entry 5', [4, 2, 3, 0], 6],
    ['entry 6', [4, 0, 3, 0], 7],
    ['flush 2', [4, 0, 3, 0], 8],
    ['mark two', [4, 0, 3, 0], 9],
    ['fua 2', [4, 0, 3, 5], 10],
    ['end', [4, 0, 3, 5], 10],
  ])('ReplaysTo %s', (point, expected, position) => {
    const result = replay(parseTarget(point));
    expect(sectors(result.image)).toEqual(expected);
    expect(result.position).toBe(position);
  });

  it('ImageHasTheRequestedSizeAndZerosElsewhere', () => {
    const { image } = replay({ kind: 'end' });
    const bytes = readFileSync(image);
    expect(bytes.length).toBe(16 * 512);
    expect(bytes.subarray(4 * 512).every((b) => b === 0)).toBe(true);
    expect(bytes.subarray(0, 512).every((b) => b === 4)).toBe(true);
  });

  it('ReplaysIncrementallyForward and refuses to go back', () => {
    const log = openFixture();
    const image = fresh('img');
    const fd = createZeroImage(image, 16 * 512);
    try {
      const replayer = new Replayer(log, fd);
      expect(replayer.replayTo(parseTarget('mark one')).position).toBe(4);
      expect(sectors(image)).toEqual([1, 2, 0, 0]);
      expect(replayer.replayTo(parseTarget('entry 6')).position).toBe(7);
      expect(sectors(image)).toEqual([4, 0, 3, 0]);
      expect(() => replayer.replayTo(parseTarget('entry 2'))).toThrowError(/cannot replay backwards to entry 2: already at entry 7/);
      expect(() => replayer.replayTo(parseTarget('flush 1'))).toThrowError(/backwards/);
      expect(() => replayer.replayTo(parseTarget('mark one'))).toThrowError(/backwards/);
      expect(replayer.replayTo(parseTarget('mark two')).position).toBe(9);
    } finally {
      closeSync(fd);
      closeLog(log);
    }
  });

  it.each(['mark three', 'flush 3', 'fua 3', 'entry 10'])('TargetNotInLog: %s', (point) => {
    expect(() => replay(parseTarget(point))).toThrowError(/is not in the log \(10 entries, 2 flushes, 2 FUAs\)/);
  });

  it.each(['', 'entry', 'entry x', 'flush 0', 'fua -1', 'sideways 3', 'entry 1.5'])('BadTarget %j', (text) => {
    expect(() => parseTarget(text)).toThrowError(ReplayError);
  });

  it('ParsesTargetForms', () => {
    expect(parseTarget('mark:ack-12')).toEqual({ kind: 'mark', name: 'ack-12' });
    expect(parseTarget(' flush  3 ')).toEqual({ kind: 'flush', n: 3 });
    expect(parseTarget('entry 0')).toEqual({ kind: 'entry', n: 0 });
  });

  it('DiscardBeyondImageEndDoesNotGrowTheImage', () => {
    const path = fresh('log');
    writeFileSync(path, new SyntheticLog().fill(0, 1, 9).discard(0, 1_000_000).toBuffer());
    const log = openLog(path);
    try {
      const image = fresh('img');
      replayToImage(log, image, { kind: 'end' }, { sizeBytes: 4096 });
      const bytes = readFileSync(image);
      expect(bytes.length).toBe(4096);
      expect(bytes.every((b) => b === 0)).toBe(true);
    } finally {
      closeLog(log);
    }
  });

  it('OverwritesAnExistingImageFromZero (no stale data from the future)', () => {
    const image = fresh('img');
    writeFileSync(image, Buffer.alloc(16 * 512, 0xee));
    const log = openFixture();
    try {
      replayToImage(log, image, parseTarget('entry 0'), { sizeBytes: 16 * 512 });
    } finally {
      closeLog(log);
    }
    expect(sectors(image)).toEqual([1, 0, 0, 0]);
  });

  it('RefusesToWriteThroughASymlinkOrToADevice', () => {
    const link = fresh('link');
    symlinkSync('/dev/null', link);
    expect(() => createZeroImage(link, 512)).toThrowError(/not a regular file/);
    expect(() => createZeroImage('/dev/null', 512)).toThrowError(/not a regular file/);
  });
});
