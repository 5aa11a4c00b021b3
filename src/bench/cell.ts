// The vocabulary of the throughput suite: what one cell of the matrix is, and how it is named.
import { ackPromise, STRATEGIES as CORE_STRATEGIES, SYNC_STRATEGIES, type Strategy, type SyncStrategy } from '../strategy/index.js';

// A WAL strategy as the suite labels it: the WAL's own strategies, plus group commit over each of
// the four synchronous ones (group commit is a WAL option, but it is a different way to pay for
// durability, so the suite prices it as its own column).
export const WAL_STRATEGIES: readonly Strategy[] = CORE_STRATEGIES;
export const GROUP_STRATEGIES: readonly `group-${SyncStrategy}`[] = SYNC_STRATEGIES.map((s) => `group-${s}` as const);
// fdatasync with a sync_file_range(WRITE) write-out hint before each sync (issue 3's "worth measuring").
export const HINTED_STRATEGIES = ['fdatasync-sfr'] as const;
// Group commit over fdatasync with up to 4 batches syncing at once (the WAL's syncDepth option):
// worth it only on a device that runs flushes in parallel, so the suite prices it next to depth 1.
export const DEPTH_STRATEGIES = ['group-fdatasync-depth4'] as const;
export type WalStrategy = Strategy;
export type StrategyName = Strategy | `group-${SyncStrategy}` | (typeof HINTED_STRATEGIES)[number] | (typeof DEPTH_STRATEGIES)[number];
export const STRATEGIES: readonly StrategyName[] = [...WAL_STRATEGIES, ...GROUP_STRATEGIES, ...HINTED_STRATEGIES, ...DEPTH_STRATEGIES];

// 'recycle' is zero-filled segments plus reuse of segments freed by truncate.
export const PREALLOC_MODES = ['none', 'fallocate', 'zero', 'recycle'] as const;
export type PreallocMode = (typeof PREALLOC_MODES)[number];

// 'host' is the filesystem the work directory is on; 'tmpfs' is memory (/dev/shm), where a sync
// costs nothing, so its cells price the code alone and acknowledge nothing durable; the rest are
// loop images made by the suite.
export const FILESYSTEMS = ['host', 'tmpfs', 'ext4-ordered', 'ext4-journal', 'ext4-writeback', 'ext4-nobarrier', 'xfs', 'btrfs'] as const;
export type FsName = (typeof FILESYSTEMS)[number];
/** Filesystems with no device: nothing acknowledged there is durable. */
export const MEMORY_FILESYSTEMS: ReadonlySet<FsName> = new Set(['tmpfs']);

export const PEERS = ['raw-floor', 'pg_test_fsync', 'fio', 'sqlite', 'leveldb', 'pgbench'] as const;
export type PeerName = (typeof PEERS)[number];

export const WRITER_COUNTS = [1, 4, 16, 64] as const;
export const ENTRY_SIZES = [256, 1024, 4096, 1024 * 1024] as const;

export interface WalCell {
  kind: 'wal';
  id: string;
  fs: FsName;
  strategy: StrategyName;
  writers: number;
  size: number;
  prealloc: PreallocMode;
  /** 0: every writer loop on the main event loop. T > 0: the writer loops spread over T worker_threads sharing the WAL. */
  threads: number;
  /** Busy processes running beside the cell's slices (--cpu-load); absent: none. */
  cpuLoad?: number;
  /** Open loop (--offered): commits per second offered on a schedule; absent: closed loop. */
  offered?: number;
}

export interface PeerCell {
  kind: 'peer';
  id: string;
  fs: FsName;
  peer: PeerName;
  writers: number;
  size: number;
  cpuLoad?: number;
  offered?: number;
}

export type Cell = WalCell | PeerCell;

// Peers that can be driven open loop: through the suite's own scheduler (SQLite, LevelDB) or
// their own (pgbench --rate). The raw floor, fio and pg_test_fsync only run closed loops.
export const OPEN_LOOP_PEERS: ReadonlySet<PeerName> = new Set(['sqlite', 'leveldb', 'pgbench']);

// Whether an acknowledgement under this strategy means the entry is durable (see ARCHITECTURE.md).
export function ackIsDurable(strategy: StrategyName): boolean {
  return ackPromise(splitStrategy(strategy).strategy) === 'durable';
}

// The WAL options behind a suite strategy label.
export function splitStrategy(strategy: StrategyName): { strategy: WalStrategy; groupCommit: boolean; syncFileRange: boolean; syncDepth: number } {
  if (strategy === 'fdatasync-sfr') return { strategy: 'fdatasync', groupCommit: false, syncFileRange: true, syncDepth: 1 };
  if (strategy === 'group-fdatasync-depth4') return { strategy: 'fdatasync', groupCommit: true, syncFileRange: false, syncDepth: 4 };
  if (strategy.startsWith('group-')) return { strategy: strategy.slice('group-'.length) as WalStrategy, groupCommit: true, syncFileRange: false, syncDepth: 1 };
  return { strategy: strategy as WalStrategy, groupCommit: false, syncFileRange: false, syncDepth: 1 };
}

// "4KiB", "1MiB", "256B": sizes as people say them.
export function formatSize(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)}MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024}KiB`;
  return `${bytes}B`;
}

// A stable, readable id: the same cell gets the same id in every run, so results can be diffed.
export function cellId(cell: Omit<WalCell, 'id'> | Omit<PeerCell, 'id'>): string {
  const what = cell.kind === 'wal' ? `wal/${cell.strategy}/${cell.prealloc}` : `peer/${cell.peer}`;
  const threads = cell.kind === 'wal' && cell.threads > 0 ? `/t${cell.threads}` : '';
  return `${cell.fs}/${what}/w${cell.writers}/${formatSize(cell.size)}${threads}${loadSuffix(cell)}`;
}

// "/cpu2" for a cell under CPU load, "/r5000" for an open-loop cell: part of the id, so loaded,
// quiet, open and closed cells never share one.
function loadSuffix(cell: Pick<Cell, 'cpuLoad' | 'offered'>): string {
  return `${cell.cpuLoad ? `/cpu${cell.cpuLoad}` : ''}${cell.offered !== undefined ? `/r${cell.offered}` : ''}`;
}

// A short label for tables and charts.
export function cellLabel(cell: Cell): string {
  return `${curveLabel(cell)}${cell.offered !== undefined ? ` @${cell.offered}/s` : ''}`;
}

// The label without the offered rate: what one open-loop curve is drawn for.
export function curveLabel(cell: Cell): string {
  const load = cell.cpuLoad ? ` cpu-load=${cell.cpuLoad}` : '';
  if (cell.kind === 'wal') {
    const prealloc = cell.prealloc === 'zero' ? '' : ` prealloc=${cell.prealloc}`;
    const threads = cell.threads > 0 ? ` ${cell.threads} threads` : '';
    return `wal ${cell.strategy}${prealloc}${threads}${load}`;
  }
  return `${cell.peer}${load}`;
}
