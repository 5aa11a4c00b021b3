import { flagNames, hasFlag, LogFlag, type LogIndex } from '../../dm/log-writes/index.js';
import type { DiskCounters } from '../diskstats.js';
import { noCounts, type TraceCounts } from './blkparse.js';

// The three views of one traced window and the rules by which they must agree. The filesystem
// sits on a dm-log-writes device over a loop device (the data loop). Measured in the microVM
// (kernel 6.1, ext4), each rule checked by the runs of `bench --block-trace`:
//  - blktrace on the dm device: the bios the filesystem queued (Q), flags as it set them;
//  - dm-log-writes: dm core splits a PREFLUSH bio that carries data into an empty clone with the
//    bio's flags (logged FLUSH, and FUA when the bio had it) and the data without PREFLUSH (logged
//    with its FUA): one FLUSH entry per PREFLUSH, one data entry per write, and a journal commit
//    block (PREFLUSH|FUA with data) counts twice among the FUA entries;
//  - /proc/diskstats of the dm device: dm accounts each bio it is given and the empty clone of a
//    split one as an I/O of its op, so every PREFLUSH is one write of its own besides the data
//    writes; its flush column stays 0 (only blk-mq counts flush requests there);
//  - /proc/diskstats of the data loop (blk-mq): its flush column counts the flush requests the
//    flush machinery issued: one per PREFLUSH, and, when the loop queue has no FUA of its own
//    (queue/fua 0), one post-flush per FUA request it was given, the empty clones included.

/** The window between two marks of a log-writes log, counted like a trace. */
export function logWritesCounts(index: LogIndex, beginMark: string, endMark: string): TraceCounts {
  const marks = index.markEntries();
  const begin = marks.find((m) => m.label === beginMark);
  const end = marks.find((m) => m.label === endMark);
  if (begin === undefined || end === undefined || end.index < begin.index) throw new Error(`the log has no window ${beginMark}..${endMark}`);
  const c = noCounts();
  for (let i = begin.index + 1; i < end.index; i++) {
    const e = index.entry(i);
    if (hasFlag(e, LogFlag.MARK)) continue;
    const data = e.dataBytes > 0;
    if (data && !hasFlag(e, LogFlag.DISCARD)) {
      c.writes++;
      c.writeKiB += e.dataBytes / 1024;
    }
    if (hasFlag(e, LogFlag.FLUSH)) {
      c.flushes++;
      if (!data) c.emptyFlushes++;
    }
    if (hasFlag(e, LogFlag.FUA)) c.fua++;
    if (hasFlag(e, LogFlag.FUA) && hasFlag(e, LogFlag.FLUSH) && data) c.flushFuaWithData++;
  }
  return c;
}

/** The window's log-writes entries, one line each (index, flags, sector, sectors), for the artifacts. */
export function logWritesWindow(index: LogIndex, beginMark: string, endMark: string): string[] {
  const marks = index.markEntries();
  const begin = marks.find((m) => m.label === beginMark)?.index ?? 0;
  const end = marks.find((m) => m.label === endMark)?.index ?? index.length - 1;
  const lines: string[] = [];
  for (let i = begin; i <= end; i++) {
    const e = index.entry(i);
    lines.push(`${i} ${flagNames(e.flags)} ${e.mark ?? `${e.sector} + ${e.nrSectors}`}`);
  }
  return lines;
}

/** One comparison of two counters of the same window. */
export interface Check {
  what: string;
  expected: number;
  measured: number;
  /** The rule that relates them (the why of a difference between the raw numbers). */
  rule: string;
  ok: boolean;
}

export interface WindowViews {
  trace: TraceCounts;
  logWrites: TraceCounts;
  /** diskstats of the dm device the filesystem is on. */
  dm: DiskCounters;
  /** diskstats of the data loop device under it. */
  loop: DiskCounters;
  /** The data loop's queue takes FUA itself (/sys/block/loopN/queue/fua). */
  loopHasFua: boolean;
}

const check = (what: string, expected: number, measured: number, rule: string): Check => ({ what, expected, measured, rule, ok: expected === measured });

/** Every rule above, as checks: the run agrees when every check is ok. */
export function agreement(v: WindowViews): Check[] {
  const checks = [
    check('log-writes data writes', v.trace.writes, v.logWrites.writes, 'one entry per write bio'),
    check('log-writes KiB', v.trace.writeKiB, v.logWrites.writeKiB, 'the same bytes'),
    check('log-writes FLUSH entries', v.trace.flushes, v.logWrites.flushes, 'one FLUSH entry per PREFLUSH (dm splits off the data)'),
    check(
      'log-writes FUA entries',
      v.trace.fua + v.trace.flushFuaWithData,
      v.logWrites.fua,
      'FUA on the data entry, and on the empty half of a split PREFLUSH|FUA',
    ),
    check('diskstats dm writes', v.trace.writes + v.trace.flushes, v.dm.writes, 'data writes + one per PREFLUSH'),
    check('diskstats dm KiB', v.trace.writeKiB, v.dm.sectors / 2, 'sectors / 2'),
  ];
  if (v.loop.flushes !== null) {
    const expected = v.trace.flushes + (v.loopHasFua ? 0 : v.trace.fua + v.trace.flushFuaWithData);
    checks.push(
      check('diskstats loop flushes', expected, v.loop.flushes, v.loopHasFua ? 'one per PREFLUSH' : 'one per PREFLUSH, one per FUA request (loop has no FUA)'),
    );
  }
  return checks;
}
