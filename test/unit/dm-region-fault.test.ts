import { describe, expect, it } from 'vitest';
import { formatTable, mergeRanges, parseFilefrag, regionFaultTable } from '../../src/dm/index.js';

// The transient-EIO fault: writes to one file's blocks fail while the rest of the device and
// every flush work. Its two pure halves: where the file is (filefrag) and the table that fails it.

const FILEFRAG = `Filesystem type is: ef53
File size of seg is 1048576 (2048 blocks of 512 bytes)
 ext:     logical_offset:        physical_offset: length:   expected: flags:
   0:        0..    1023:      69632..     70655:   1024:
   1:     1024..    2047:      81920..     82943:   1024:      70656: last,eof
   2:     2048..    2055:          0..         7:      8:             unknown_loc,delalloc
seg: 2 extents found
`;

describe('file extents', () => {
  it('parses filefrag -v -b512 into device sector ranges, leaving out extents with no place on the device', () => {
    expect(parseFilefrag(FILEFRAG)).toEqual([
      { start: 69632, length: 1024 },
      { start: 81920, length: 1024 },
    ]);
  });

  it('merges adjacent and overlapping ranges in order', () => {
    expect(
      mergeRanges([
        { start: 50, length: 10 },
        { start: 0, length: 10 },
        { start: 10, length: 5 },
        { start: 55, length: 10 },
      ]),
    ).toEqual([
      { start: 0, length: 15 },
      { start: 50, length: 15 },
    ]);
  });
});

describe('region fault table', () => {
  it('error lines for the bad ranges, pass-through flakey (at the same offsets) for the rest, covering the device', () => {
    const lines = regionFaultTable('/dev/loop0', 1000, [
      { start: 100, length: 50 },
      { start: 900, length: 100 },
    ]);
    expect(formatTable(lines)).toBe(['0 100 flakey /dev/loop0 0 1 0', '100 50 error', '150 750 flakey /dev/loop0 150 1 0', '900 100 error'].join('\n'));
  });

  it('refuses ranges out of order or beyond the device', () => {
    expect(() =>
      regionFaultTable('/dev/loop0', 1000, [
        { start: 500, length: 10 },
        { start: 100, length: 10 },
      ]),
    ).toThrow();
    expect(() => regionFaultTable('/dev/loop0', 1000, [{ start: 990, length: 20 }])).toThrow();
  });
});
