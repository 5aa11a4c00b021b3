import {
  ENTRY_SIZES,
  FILESYSTEMS,
  OPEN_LOOP_PEERS,
  PREALLOC_MODES,
  STRATEGIES,
  WAL_STRATEGIES,
  WRITER_COUNTS,
  cellId,
  type Cell,
  type FsName,
  type PeerCell,
  type PeerName,
  type PreallocMode,
  type StrategyName,
  type WalCell,
} from './cell.js';
import type { BenchSelection } from './options.js';

// Peers whose natural use is one writer: fio's single job and pg_test_fsync are single-threaded
// by design; better-sqlite3's API is synchronous, so N "writers" on one event loop would run one
// after another, and SQLite serialises writers on its lock anyway. (The raw floor runs at every
// writer count: at N it batches N entries per fdatasync, the ceiling group commit is judged by.)
const SINGLE_WRITER_PEERS: ReadonlySet<PeerName> = new Set(['fio', 'sqlite', 'pg_test_fsync']);

// pg_test_fsync has no size option: it always writes PostgreSQL's 8 kB WAL blocks.
export const PG_TEST_FSYNC_SIZE = 8192;

type Selection = Pick<BenchSelection, 'full' | 'strategies' | 'writers' | 'sizes' | 'filesystems' | 'preallocs' | 'peers'> &
  Partial<Pick<BenchSelection, 'writerThreads' | 'cpuLoads' | 'offered'>>;

// --full also spreads writers over 4 worker_threads (as many as a small server's pool).
const FULL_THREADS = [0, 4];

// The default preset's preallocation modes: the WAL as it ships (recycle) and fresh zero-filled
// segments where the targets are judged, plus no preallocation for the preallocation target.
function defaultPreallocs(s: StrategyName, writers: number): readonly PreallocMode[] {
  if (s === 'fdatasync' && writers === 1) return ['recycle', 'zero', 'none'];
  if (s.startsWith('group-')) return ['recycle', 'zero'];
  return ['zero'];
}

// Builds every cell of a run. The default preset is the small subset that answers the issue's
// targets in under three minutes: host fs, 4 KiB, every strategy at 1 writer (plus fdatasync with
// the sync_file_range hint), fdatasync and group commit at 1/4/16/64 both as the WAL ships
// (recycling segments a checkpointer frees) and with fresh zero-filled segments only (whose
// background zero-fill competes with the commits for the disk), fdatasync without preallocation,
// and the peers.
// --full is the whole product.
// Explicit options replace the preset's value for that axis.
export function buildMatrix(sel: Selection): Cell[] {
  const strategies: readonly StrategyName[] = sel.strategies ?? (sel.full ? STRATEGIES : [...WAL_STRATEGIES, 'fdatasync-sfr', 'group-fdatasync']);
  const sizes: readonly number[] = sel.sizes ?? (sel.full ? ENTRY_SIZES : [4096]);
  const filesystems: readonly FsName[] = sel.filesystems ?? (sel.full ? FILESYSTEMS : ['host']);
  const writersFor = (s: StrategyName): readonly number[] => sel.writers ?? (sel.full || s.startsWith('group-') ? WRITER_COUNTS : [1]);
  const preallocsFor = (s: StrategyName, writers: number): readonly PreallocMode[] =>
    sel.preallocs ?? (sel.full ? PREALLOC_MODES : defaultPreallocs(s, writers));
  // More threads than writers would leave threads idle: such combinations are not cells.
  // Open-loop cells are driven from the main event loop only (options.ts refuses threads with --offered).
  const threadsFor = (writers: number): number[] =>
    (sel.writerThreads ?? (sel.full ? FULL_THREADS : [0])).filter((t) => t <= writers && (sel.offered == null || t === 0));

  const cells: Cell[] = [];
  for (const fs of filesystems) {
    for (const size of sizes) {
      const walWriters = new Set<number>();
      for (const strategy of strategies) {
        for (const writers of writersFor(strategy)) {
          walWriters.add(writers);
          for (const prealloc of preallocsFor(strategy, writers)) {
            for (const threads of threadsFor(writers)) {
              const cell: Omit<WalCell, 'id'> = { kind: 'wal', fs, strategy, writers, size, prealloc, threads };
              cells.push({ ...cell, id: cellId(cell) });
            }
          }
        }
      }
      // Peers run where the WAL runs, at the writer counts the WAL was measured at, so every
      // peer figure has a WAL figure to be divided by.
      for (const peer of sel.peers) {
        if (peer === 'pg_test_fsync' && size !== sizes[0]) continue; // its size is fixed: once per fs
        const counts = SINGLE_WRITER_PEERS.has(peer) ? [1].filter((w) => walWriters.has(w)) : [...walWriters].sort((a, b) => a - b);
        for (const writers of counts) {
          const cell: Omit<PeerCell, 'id'> = { kind: 'peer', fs, peer, writers, size: peer === 'pg_test_fsync' ? PG_TEST_FSYNC_SIZE : size };
          cells.push({ ...cell, id: cellId(cell) });
        }
      }
    }
  }
  return expandLoads(cells, sel.cpuLoads ?? [0], sel.offered ?? null);
}

// Every cell once per CPU load (0 = quiet) and, open loop, every WAL cell and open-loop peer once
// per offered rate; the other peers (the raw floor, fio, pg_test_fsync) keep their closed loop,
// as references for the same run.
function expandLoads(cells: readonly Cell[], loads: readonly number[], offered: readonly number[] | null): Cell[] {
  const out: Cell[] = [];
  for (const load of loads) {
    for (const cell of cells) {
      const rates = offered !== null && (cell.kind === 'wal' || OPEN_LOOP_PEERS.has(cell.peer)) ? offered : [undefined];
      for (const rate of rates) {
        const { id: _id, ...rest } = cell;
        const base = { ...rest, ...(load > 0 ? { cpuLoad: load } : {}), ...(rate !== undefined ? { offered: rate } : {}) } as Omit<Cell, 'id'>;
        out.push({ ...base, id: cellId(base as Omit<WalCell, 'id'> | Omit<PeerCell, 'id'>) } as Cell);
      }
    }
  }
  return out;
}

// Peers that run their own fixed-length test once instead of in slices.
export function runsOnce(cell: Cell): boolean {
  return cell.kind === 'peer' && cell.peer === 'pg_test_fsync';
}

// The order of one round. Cells of the same filesystem, size and writer count sit next to each
// other (WAL beside the peers it is compared with), and odd rounds run backwards, so a slow
// drift of the machine favours no cell. A run-once peer goes in the middle round only.
export function roundOrder(cells: readonly Cell[], round: number, rounds: number): Cell[] {
  const key = (c: Cell): string => `${FILESYSTEMS.indexOf(c.fs)}|${String(c.size).padStart(9, '0')}|${String(c.writers).padStart(5, '0')}`;
  const sorted = cells
    .map((c, i) => ({ c, i }))
    .sort((a, b) => (key(a.c) < key(b.c) ? -1 : key(a.c) > key(b.c) ? 1 : a.i - b.i))
    .map((x) => x.c)
    .filter((c) => !runsOnce(c) || round === Math.floor(rounds / 2));
  return round % 2 === 1 ? sorted.reverse() : sorted;
}
