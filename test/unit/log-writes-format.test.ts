import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { closeLog, flagNames, iterateEntries, LogIndex, LogWritesError, openLog, type LogFile } from '../../src/dm/log-writes/index.js';
import { DISCARD, FLUSH, FUA, MARK, METADATA, SyntheticLog } from '../fixtures/log-writes/synthetic-log.js';

const dir = mkdtempSync(join(tmpdir(), 'powercut-lw-format-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;

function save(bytes: Buffer): string {
  const path = join(dir, `log-${counter++}`);
  writeFileSync(path, bytes);
  return path;
}

function withLog<T>(bytes: Buffer, use: (log: LogFile) => T): T {
  const log = openLog(save(bytes));
  try {
    return use(log);
  } finally {
    closeLog(log);
  }
}

function entriesOf(bytes: Buffer, beyondSuper = false) {
  return withLog(bytes, (log) => [...iterateEntries(log, { beyondSuper })]);
}

function expectLogError(run: () => unknown, code: string, message: RegExp, where?: { entryIndex: number; offset: number }): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(LogWritesError);
  const error = caught as LogWritesError;
  expect(error.code).toBe(code);
  expect(error.message).toMatch(message);
  if (where !== undefined) expect({ entryIndex: error.entryIndex, offset: error.offset }).toEqual(where);
}

describe('dm-log-writes parser', () => {
  it('ParsesEveryEntryKindWithOffsets: first entry at byte sectorsize, data after its header block', () => {
    const bytes = new SyntheticLog(512)
      .fill(8, 2, 0xaa)
      .flush()
      .fill(0, 1, 0xbb, FUA | METADATA)
      .discard(100, 50)
      .mark('ack-1')
      .fill(3, 1, 0xcc, FLUSH | FUA)
      .toBuffer();
    const entries = entriesOf(bytes);
    expect(entries.map((e) => [e.index, e.headerOffset, e.dataOffset, e.sector, e.nrSectors, e.flags, e.dataBytes, e.mark])).toEqual([
      [0, 512, 1024, 8, 2, 0, 1024, null],
      [1, 2048, 2560, 0, 0, FLUSH, 0, null],
      [2, 2560, 3072, 0, 1, FUA | METADATA, 512, null],
      [3, 3584, 4096, 100, 50, DISCARD, 0, null],
      [4, 4096, 4608, 0, 0, MARK, 0, 'ack-1'],
      [5, 4608, 5120, 3, 1, FLUSH | FUA, 512, null],
    ]);
    expect(bytes.length).toBe(5632);
    expect(flagNames(FLUSH | FUA)).toBe('FLUSH|FUA');
    expect(flagNames(0)).toBe('WRITE');
  });

  it('ReadsSuperBlock', () => {
    const bytes = new SyntheticLog(4096).fill(1, 1, 1).toBuffer();
    withLog(bytes, (log) => expect(log.super).toEqual({ nrEntries: 1, sectorSize: 4096 }));
  });

  it('CountsSectorsInSectorsizeUnits for a 4096-byte sector log', () => {
    const entries = entriesOf(new SyntheticLog(4096).fill(5, 2, 1).mark('m').toBuffer());
    expect(entries[0]).toMatchObject({ sector: 5, nrSectors: 2, dataBytes: 8192, headerOffset: 4096, dataOffset: 8192 });
    expect(entries[1]).toMatchObject({ headerOffset: 16384, mark: 'm' });
  });

  it('BadMagic', () => {
    expectLogError(() => openLog(save(new SyntheticLog().toBuffer({ magic: 0x1234n }))), 'LOG_BAD_MAGIC', /not a dm-log-writes log \(magic 0x1234/);
  });

  it('BadVersion', () => {
    expectLogError(() => openLog(save(new SyntheticLog().toBuffer({ version: 2n }))), 'LOG_BAD_VERSION', /version 2 is not supported/);
  });

  it.each([0, 256, 1000, 131072])('BadSectorSize %i', (sectorSize) => {
    expectLogError(() => openLog(save(new SyntheticLog().toBuffer({ sectorSize }))), 'LOG_BAD_SECTOR_SIZE', /sector size/);
  });

  it('TruncatedSuperBlock', () => {
    expectLogError(() => openLog(save(new SyntheticLog().toBuffer().subarray(0, 20))), 'LOG_TRUNCATED_SUPER', /too short/);
    expectLogError(() => openLog(save(new SyntheticLog().toBuffer().subarray(0, 300))), 'LOG_TRUNCATED_SUPER', /shorter than the super block's own sector/);
  });

  it('MissingLogFile', () => {
    expectLogError(() => openLog(join(dir, 'does-not-exist')), 'LOG_OPEN_FAILED', /cannot open log/);
  });

  it('TruncatedHeader names the entry and its offset', () => {
    const bytes = new SyntheticLog().fill(0, 1, 1).mark('x').toBuffer();
    expectLogError(() => entriesOf(bytes.subarray(0, bytes.length - 100)), 'LOG_TRUNCATED_HEADER', /entry 1 at byte 1536: the log ends 412 bytes into/, {
      entryIndex: 1,
      offset: 1536,
    });
  });

  it('SuperClaimsMoreEntriesThanTheFileHolds', () => {
    const bytes = new SyntheticLog().fill(0, 1, 1).toBuffer({ nrEntries: 2 });
    expectLogError(() => entriesOf(bytes), 'LOG_TRUNCATED_HEADER', /entry 1 at byte 1536/, { entryIndex: 1, offset: 1536 });
  });

  it('TruncatedData', () => {
    const bytes = new SyntheticLog().fill(0, 1, 1).fill(9, 4, 2).toBuffer();
    expectLogError(
      () => entriesOf(bytes.subarray(0, bytes.length - 512)),
      'LOG_TRUNCATED_DATA',
      /entry 1 at byte 1536: 2048 bytes of data expected at byte 2048/,
      { entryIndex: 1, offset: 1536 },
    );
  });

  it('ZeroFlagZeroLengthEntryIsInvalid', () => {
    const bytes = new SyntheticLog().fill(0, 1, 1).raw({ sector: 5, nrSectors: 0, flags: 0 }).toBuffer();
    expectLogError(() => entriesOf(bytes), 'LOG_MALFORMED_ENTRY', /entry 1 at byte 1536: no flags and no sectors/, { entryIndex: 1, offset: 1536 });
  });

  it('UnknownFlagBits', () => {
    expectLogError(
      () => entriesOf(new SyntheticLog().raw({ sector: 0, nrSectors: 0, flags: 1 << 5 }).toBuffer()),
      'LOG_MALFORMED_ENTRY',
      /unknown flag bits 0x20/,
    );
  });

  it('NonZeroHeaderPadding', () => {
    const bytes = new SyntheticLog().raw({ sector: 0, nrSectors: 0, flags: FLUSH, headerTail: Buffer.from([0, 0, 7]) }).toBuffer();
    expectLogError(() => entriesOf(bytes), 'LOG_MALFORMED_ENTRY', /non-zero byte in the header block's padding at byte 546/);
  });

  it('SectorOutOfRange', () => {
    expectLogError(
      () => entriesOf(new SyntheticLog().raw({ sector: 2n ** 62n, nrSectors: 1, flags: DISCARD }).toBuffer()),
      'LOG_MALFORMED_ENTRY',
      /out of range/,
    );
  });

  it('DiscardCarriesNoData: the next header follows the discard header directly', () => {
    const entries = entriesOf(new SyntheticLog().discard(0, 1000).fill(1, 1, 5).toBuffer());
    expect(entries.map((e) => e.headerOffset)).toEqual([512, 1024]);
  });

  describe('mark labels', () => {
    it('MarkLabelOfMaximumLength (sectorsize - 33 bytes)', () => {
      const label = 'm'.repeat(512 - 33);
      expect(entriesOf(new SyntheticLog().mark(label).toBuffer())[0]?.mark).toBe(label);
    });

    it('MarkLabelTooLong', () => {
      const tail = Buffer.alloc(480, 0x41);
      expectLogError(
        () => entriesOf(new SyntheticLog().raw({ sector: 0, nrSectors: 0, flags: MARK, dataLen: 480, headerTail: tail }).toBuffer()),
        'LOG_MALFORMED_ENTRY',
        /label length 480 exceeds 479/,
      );
    });

    it('MarkLabelWithNul', () => {
      expectLogError(
        () => entriesOf(new SyntheticLog().raw({ sector: 0, nrSectors: 0, flags: MARK, dataLen: 3, headerTail: Buffer.from([0x61, 0, 0x62]) }).toBuffer()),
        'LOG_MALFORMED_ENTRY',
        /NUL/,
      );
    });

    it('MarkWithGarbageAfterLabel', () => {
      expectLogError(
        () => entriesOf(new SyntheticLog().raw({ sector: 0, nrSectors: 0, flags: MARK, dataLen: 1, headerTail: Buffer.from('ab') }).toBuffer()),
        'LOG_MALFORMED_ENTRY',
        /padding at byte 545/,
      );
    });

    it('MarkWithSectors', () => {
      expectLogError(
        () => entriesOf(new SyntheticLog().raw({ sector: 0, nrSectors: 1, flags: MARK, data: Buffer.alloc(512) }).toBuffer()),
        'LOG_MALFORMED_ENTRY',
        /a mark with 1 sectors/,
      );
    });

    it('EmptyMarkLabel', () => {
      expect(entriesOf(new SyntheticLog().mark('').toBuffer())[0]?.mark).toBe('');
    });
  });

  describe('entries beyond the super block count (a live log)', () => {
    const live = (): SyntheticLog => new SyntheticLog().fill(0, 1, 1).mark('a').fill(1, 1, 2).fill(2, 1, 3);

    it('StopsAtNrEntriesByDefault', () => {
      expect(entriesOf(live().toBuffer({ nrEntries: 2 })).map((e) => e.index)).toEqual([0, 1]);
    });

    it('ScansBeyondWhenAsked, flagging those entries', () => {
      expect(entriesOf(live().toBuffer({ nrEntries: 2 }), true).map((e) => [e.index, e.beyondSuper])).toEqual([
        [0, false],
        [1, false],
        [2, true],
        [3, true],
      ]);
    });

    it('StopsQuietlyAtZerosBeyondTheSuperCount', () => {
      const bytes = Buffer.concat([live().toBuffer({ nrEntries: 2 }), Buffer.alloc(4096)]);
      expect(entriesOf(bytes, true)).toHaveLength(4);
    });

    it('StopsQuietlyAtATruncatedEntryBeyondTheSuperCount', () => {
      const bytes = live().toBuffer({ nrEntries: 2 });
      expect(entriesOf(bytes.subarray(0, bytes.length - 10), true)).toHaveLength(3);
    });
  });

  it('LogIndexMatchesIteration', () => {
    const bytes = new SyntheticLog().fill(8, 2, 1).flush().mark('one').discard(4, 4).fill(0, 1, 2, FUA).mark('two').toBuffer();
    withLog(bytes, (log) => {
      const index = LogIndex.build(log);
      const iterated = [...iterateEntries(log)].map(({ beyondSuper: _b, ...entry }) => entry);
      expect(Array.from({ length: index.length }, (_, i) => index.entry(i))).toEqual(iterated);
      expect(index.markEntries()).toEqual([
        { index: 2, label: 'one' },
        { index: 5, label: 'two' },
      ]);
      expect(index.deviceBytesNeeded()).toBe(10 * 512);
      expect(() => index.entry(6)).toThrowError(RangeError);
    });
  });

  it('IndexesManyEntriesThroughTheReadWindow', () => {
    const log = new SyntheticLog();
    for (let i = 0; i < 5000; i++) log.fill(i % 64, 1 + (i % 3), i & 0xff);
    const entries = entriesOf(log.toBuffer());
    expect(entries).toHaveLength(5000);
    expect(entries[4999]).toMatchObject({ sector: 4999 % 64, nrSectors: 1 + (4999 % 3) });
  });
});
