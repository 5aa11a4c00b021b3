// Reads blkparse's default text output (blkparse -i NAME -D DIR) into events, and counts what a
// device was asked to do. Pure: the trace is taken in the microVM (src/bench/block-trace/run.ts),
// parsed anywhere.
//
// An event line is "MAJ,MIN CPU SEQ SECONDS PID ACTION RWBS [SECTOR + N] [PROCESS]". RWBS is
// blkparse's fill_rwbs (blktrace's blkparse.c), not the kernel's: a leading F is the PREFLUSH
// flag, then the operation (D discard, W write, R read, N none), then F for FUA, A read-ahead,
// S sync, M metadata. So "FWS" is an empty preflush, "WFS" a FUA write, "FWFSM" a journal commit
// block with both. Lines that are not events (the per-CPU summary blkparse appends) are skipped.

/** One traced event of one device. */
export interface BlkEvent {
  /** "major,minor" of the traced device. */
  device: string;
  cpu: number;
  /** Seconds since the trace started. */
  time: number;
  pid: number;
  /** Q queued, C completed, D issued to the driver, A remapped, G, I, M, P, U, X ... */
  action: string;
  rwbs: string;
  /** First 512-byte sector, when the event carries one. */
  sector: number | null;
  /** 512-byte sectors, when the event carries a length ("+ N"). */
  sectors: number | null;
  preflush: boolean;
  fua: boolean;
  op: 'write' | 'read' | 'discard' | 'none';
}

const EVENT = /^\s*(\d+,\d+)\s+(\d+)\s+\d+\s+(\d+\.\d+)\s+(\d+)\s+([A-Z]{1,2})\s+([A-Z]+)(?:\s+(\d+)(?:\s+\+\s+(\d+))?)?/;
const RWBS = /^(F?)([DWRN])(F?)A?S?M?$/;
const OPS = { D: 'discard', W: 'write', R: 'read', N: 'none' } as const;

/** The events of blkparse's default output; lines that are not events are skipped. */
export function parseBlkparse(text: string): BlkEvent[] {
  const events: BlkEvent[] = [];
  for (const line of text.split('\n')) {
    const m = EVENT.exec(line);
    if (!m) continue;
    const rwbs = m[6]!;
    const flags = RWBS.exec(rwbs);
    if (!flags) continue;
    events.push({
      device: m[1]!,
      cpu: Number(m[2]),
      time: Number(m[3]),
      pid: Number(m[4]),
      action: m[5]!,
      rwbs,
      sector: m[7] === undefined ? null : Number(m[7]),
      sectors: m[8] === undefined ? null : Number(m[8]),
      preflush: flags[1] === 'F',
      fua: flags[3] === 'F',
      op: OPS[flags[2] as keyof typeof OPS],
    });
  }
  return events;
}

/** What a device was asked to do: the bios queued to it (Q events), by kind. */
export interface TraceCounts {
  /** Writes that carry data. */
  writes: number;
  /** KiB those writes carry. */
  writeKiB: number;
  /** Requests with the PREFLUSH flag (empty or carrying data). */
  flushes: number;
  /** Of those, the empty ones (a flush alone: fdatasync's cache flush). */
  emptyFlushes: number;
  /** Requests with the FUA flag. */
  fua: number;
  /** Of those, the ones that also carry PREFLUSH and data (a journal commit block): see counts.ts. */
  flushFuaWithData: number;
  reads: number;
}

/** Zero counts. */
export function noCounts(): TraceCounts {
  return { writes: 0, writeKiB: 0, flushes: 0, emptyFlushes: 0, fua: 0, flushFuaWithData: 0, reads: 0 };
}

// Q, not C or D: on a bio-based device (device-mapper) Q and C are the only events, and Q is
// what the filesystem asked for; on a request-based one D and C follow merges and the flush
// machinery's own requests, which are the driver's business, not the filesystem's.
/** Counts the Q events of one device. */
export function countQueued(events: readonly BlkEvent[]): TraceCounts {
  const c = noCounts();
  for (const e of events) {
    if (e.action !== 'Q') continue;
    const data = (e.sectors ?? 0) > 0;
    if (e.op === 'write' && data) {
      c.writes++;
      c.writeKiB += (e.sectors ?? 0) / 2;
    }
    if (e.op === 'read') c.reads++;
    if (e.preflush) {
      c.flushes++;
      if (!data) c.emptyFlushes++;
    }
    if (e.fua) c.fua++;
    if (e.fua && e.preflush && data) c.flushFuaWithData++;
  }
  return c;
}
