import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { countQueued, parseBlkparse } from '../../src/bench/block-trace/blkparse.js';

// Real blkparse output captured in the microVM (test/fixtures/blktrace/README.md): three 4 KiB
// dd writes with fdatasync on ext4 over dm-log-writes over loop0, both devices traced at once.
const fixture = (name: string): string => readFileSync(path.resolve(import.meta.dirname, '..', 'fixtures', 'blktrace', name), 'utf8');

describe('blkparse output', () => {
  it('reads every event line of the dm device and skips the summary blkparse appends', () => {
    const events = parseBlkparse(fixture('dm-dd-fdatasync.txt'));
    expect(events).toHaveLength(12);
    expect(events.every((e) => e.device === '254,0')).toBe(true);
    expect(events.map((e) => e.action).join('')).toBe('QCQCQCQCQCQC');
    expect(events[0]).toMatchObject({
      cpu: 0,
      time: 0,
      pid: 194,
      action: 'Q',
      rwbs: 'WS',
      sector: 18442,
      sectors: 8,
      preflush: false,
      fua: false,
      op: 'write',
    });
    // An empty preflush: no sector on Q.
    expect(events[2]).toMatchObject({ action: 'Q', rwbs: 'FWS', sector: null, sectors: null, preflush: true, op: 'write' });
  });

  it('counts the queued bios of one fdatasync commit: one 4 KiB write and one empty flush each', () => {
    expect(countQueued(parseBlkparse(fixture('dm-dd-fdatasync.txt')))).toEqual({
      writes: 3,
      writeKiB: 12,
      flushes: 3,
      emptyFlushes: 3,
      fua: 0,
      flushFuaWithData: 0,
      reads: 0,
    });
  });

  it('counts the same on the loop device below, where the flush machinery adds its own FN requests (not queued bios)', () => {
    const events = parseBlkparse(fixture('loop-dd-fdatasync.txt'));
    expect(events.filter((e) => e.action === 'A')).toHaveLength(6);
    expect(events.filter((e) => e.action === 'D' && e.rwbs === 'FN')).toHaveLength(3);
    expect(countQueued(events)).toEqual({ writes: 3, writeKiB: 12, flushes: 3, emptyFlushes: 3, fua: 0, flushFuaWithData: 0, reads: 0 });
  });

  it('reads PREFLUSH, FUA and metadata from RWBS as blkparse writes it', () => {
    const line = (rwbs: string, rest: string) => parseBlkparse(`254,0    1       46     2.031465549   173  Q ${rwbs} ${rest}\n`)[0];
    expect(line('FWFSM', '32798 + 8 [jbd2/dm-0-8]')).toMatchObject({ preflush: true, fua: true, op: 'write', sectors: 8 });
    expect(line('WFS', '100 + 8 [node]')).toMatchObject({ preflush: false, fua: true, op: 'write' });
    expect(line('FN', '[kworker/0:1H]')).toMatchObject({ preflush: true, fua: false, op: 'none', sectors: null });
    expect(line('RA', '8 + 8 [node]')).toMatchObject({ op: 'read' });
    expect(parseBlkparse('CPU0 (dm):\n Reads Queued:           0,        0KiB\n')).toEqual([]);
  });
});
