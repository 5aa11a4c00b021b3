import { Wal, WalError, type WalOptions } from '../../wal/index.js';
import type { RecoveredDigest } from '../../oracle/index.js';
import { payloadDigest } from '../../workload/events.js';

// WAL recovery after the crash, as a user would do it: open the directory, read every entry.
// A WAL that reports mid-log corruption has done its job of reporting it; we then open it again
// with `repair` (cut at the corruption) so the oracle can still judge what survived: if the cut
// removed an entry the contract required, that is a durability violation with evidence.

export interface RecoveryStats {
  firstSeq: number;
  lastSeq: number;
  entries: number;
  tornBytes: number;
  segments: number;
}

export type Recovery =
  | {
      status: 'recovered';
      entries: RecoveredDigest[];
      stats: RecoveryStats;
      /** Set when a plain open reported corruption and a repairing open was needed. */
      corruption: { code: string; message: string } | null;
    }
  | { status: 'failed'; code: string; message: string; corruption: { code: string; message: string } | null };

function describe(error: unknown): { code: string; message: string } {
  if (error instanceof WalError) return { code: error.code, message: error.message };
  return { code: 'UNEXPECTED', message: error instanceof Error ? error.message : String(error) };
}

async function readAll(dir: string, options: WalOptions): Promise<{ entries: RecoveredDigest[]; stats: RecoveryStats }> {
  const wal = await Wal.open(dir, options);
  try {
    const entries: RecoveredDigest[] = [];
    for await (const entry of wal.entries()) entries.push({ seq: entry.seq, digest: payloadDigest(entry.payload) });
    const r = wal.recovery;
    return { entries, stats: { firstSeq: r.firstSeq, lastSeq: r.lastSeq, entries: r.entries, tornBytes: r.tornBytes, segments: r.segments } };
  } finally {
    await wal.close();
  }
}

/** Recover the WAL in `dir` (opened with `options`, the writer's own) and list what it returns. */
export async function recoverWal(dir: string, options: WalOptions): Promise<Recovery> {
  try {
    return { status: 'recovered', ...(await readAll(dir, { ...options, repair: false })), corruption: null };
  } catch (error) {
    const first = describe(error);
    if (first.code !== 'WAL_CORRUPTION') return { status: 'failed', ...first, corruption: null };
    try {
      return { status: 'recovered', ...(await readAll(dir, { ...options, repair: true })), corruption: first };
    } catch (again) {
      return { status: 'failed', ...describe(again), corruption: first };
    }
  }
}
