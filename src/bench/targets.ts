import { formatSize, MEMORY_FILESYSTEMS, type FsName, type StrategyName, type WalCell } from './cell.js';
import type { CellResult, FsReport, MeasuredCell, TargetResult } from './results.js';

// Thresholds from issues 3 and 7. The preallocation one turns "about 2x" into a rule: at least 1.8x.
export const FLOOR_RATIO_MIN = 0.95;
export const GROUP_SPEEDUP_MIN = 30;
export const GROUP_P99_RATIO_MAX = 3;
export const PREALLOC_SPEEDUP_MIN = 1.8;
// Issue 16: group commit at 64 writers within 15% of the disk's own ceiling at 64 (the raw floor
// writing 64 entries per pwrite + one fdatasync), and at 1 writer within 5% of plain fdatasync.
export const CEILING_RATIO_MIN = 0.85;
export const LONE_WRITER_RATIO_MIN = 0.95;

const f2 = (n: number): string => n.toFixed(2);
const ops = (n: number): string => `${Math.round(n)}/s`;

// Closed-loop cells measured at one CPU load (0: quiet). Every target but the lone-writer one is
// judged on quiet cells; open-loop cells have curves of their own (results.curves).
function measured(cells: readonly CellResult[], load = 0): MeasuredCell[] {
  return cells.filter((c): c is MeasuredCell => c.status === 'measured' && (c.cpuLoad ?? 0) === load && c.offered === undefined);
}

type MeasuredWal = MeasuredCell & WalCell;

function findWal(
  cells: readonly MeasuredCell[],
  fs: FsName,
  strategy: StrategyName,
  writers: number,
  size: number,
  prealloc = 'zero',
): MeasuredWal | undefined {
  // Targets are about writers on one event loop (threads === 0), the suite's primary mode.
  return cells.find(
    (c): c is MeasuredWal =>
      c.kind === 'wal' && c.threads === 0 && c.fs === fs && c.strategy === strategy && c.writers === writers && c.size === size && c.prealloc === prealloc,
  );
}

// The WAL configuration a peer is compared with: what a user would run at that concurrency
// (plain fdatasync for one writer, group commit over fdatasync for several), as the WAL ships
// (recycling segments) when measured, else fresh zero-filled segments. Falls back to the other
// strategy when only that one was measured.
export function referenceWal(cells: readonly CellResult[], fs: FsName, writers: number, size: number): MeasuredWal | undefined {
  const m = measured(cells);
  const [first, second]: [StrategyName, StrategyName] = writers === 1 ? ['fdatasync', 'group-fdatasync'] : ['group-fdatasync', 'fdatasync'];
  for (const strategy of [first, second]) {
    const wal = findWal(m, fs, strategy, writers, size, 'recycle') ?? findWal(m, fs, strategy, writers, size, 'zero');
    if (wal) return wal;
  }
  return undefined;
}

function notMeasured(kind: TargetResult['kind'], title: string, rule: string, detail: string): TargetResult {
  return { kind, title, status: 'not-measured', value: null, rule, detail };
}

function verdict(kind: TargetResult['kind'], title: string, value: number, ok: boolean, rule: string, detail: string): TargetResult {
  return { kind, title, status: ok ? 'pass' : 'fail', value, rule, detail };
}

// Filesystems targets are judged on: never memory, where a sync is free and nothing is durable.
function fsList(cells: readonly CellResult[]): FsName[] {
  return [...new Set(cells.map((c) => c.fs))].filter((fs) => !MEMORY_FILESYSTEMS.has(fs));
}

// The WAL's configuration a target is judged on: as it ships ('recycle': zero-filled segments,
// reused once truncated) when the run measured every cell the target needs that way, else fresh
// zero-filled segments only ('zero', whose background zero-fill of each new segment competes with
// the commits for the disk). Never a mix: both ends of a ratio come from one configuration.
function judgedPrealloc(cells: readonly MeasuredCell[], fs: FsName, strategy: StrategyName, writers: readonly number[]): 'recycle' | 'zero' {
  return writers.every((w) => findWal(cells, fs, strategy, w, 4096, 'recycle')) ? 'recycle' : 'zero';
}

// A WAL strategy at N writers, 4 KiB, against the raw floor at N writers on the same filesystem
// (at 1 writer the floor; at N the disk's ceiling for group commit).
function vsRawFloor(
  m: readonly MeasuredCell[],
  fs: FsName,
  t: { kind: 'floor' | 'group-ceiling'; title: string; min: number; strategy: StrategyName; writers: number; missing: [string, string]; floorName: string },
): TargetResult {
  const rule = `>= ${t.min}`;
  const prealloc = judgedPrealloc(m, fs, t.strategy, [t.writers]);
  const wal = findWal(m, fs, t.strategy, t.writers, 4096, prealloc);
  const floor = m.find((c) => c.kind === 'peer' && c.peer === 'raw-floor' && c.fs === fs && c.writers === t.writers && c.size === 4096);
  if (!wal || !floor)
    return notMeasured(t.kind, t.title, rule, `${[wal ? '' : t.missing[0], floor ? '' : t.missing[1]].filter(Boolean).join(' and ')} not measured on ${fs}`);
  const r = wal.metrics.opsPerSec / floor.metrics.opsPerSec;
  // At the ceiling the gap is the CPU around each commit: its figure goes beside the ratio.
  const cpu = t.kind === 'group-ceiling' && wal.metrics.cpuUsPerOp !== null ? `; WAL CPU ${f2(wal.metrics.cpuUsPerOp)} us per commit` : '';
  return verdict(
    t.kind,
    t.title,
    r,
    r >= t.min,
    rule,
    `WAL (prealloc ${prealloc}) ${ops(wal.metrics.opsPerSec)} / ${t.floorName} ${ops(floor.metrics.opsPerSec)} = ${f2(r)}${cpu}`,
  );
}

// WAL, 1 writer, 4 KiB, fdatasync vs the raw C loop on the same filesystem.
export function floorTargets(cells: readonly CellResult[]): TargetResult[] {
  const m = measured(cells);
  const inRun = (fs: FsName): boolean =>
    cells.some(
      (c) =>
        c.fs === fs &&
        c.size === 4096 &&
        c.writers === 1 &&
        ((c.kind === 'wal' && c.strategy === 'fdatasync') || (c.kind === 'peer' && c.peer === 'raw-floor')),
    );
  return fsList(cells)
    .filter(inRun)
    .map((fs) =>
      vsRawFloor(m, fs, {
        kind: 'floor',
        title: `${fs}: WAL 1 writer 4KiB fdatasync vs raw floor`,
        min: FLOOR_RATIO_MIN,
        strategy: 'fdatasync',
        writers: 1,
        missing: ['WAL fdatasync 1 writer 4KiB', 'raw floor'],
        floorName: 'floor',
      }),
    );
}

// Group commit at 64 writers vs 1 writer: throughput at least 30x, p99 at most 3x.
export function groupTargets(cells: readonly CellResult[]): TargetResult[] {
  const m = measured(cells);
  const out: TargetResult[] = [];
  // Only where the run asked for group commit at 64 writers: a target outside the selection is not news.
  const inRun = (fs: FsName): boolean =>
    cells.some((c) => c.kind === 'wal' && c.fs === fs && c.strategy === 'group-fdatasync' && c.writers === 64 && c.size === 4096);
  for (const fs of fsList(cells).filter(inRun)) {
    const prealloc = judgedPrealloc(m, fs, 'group-fdatasync', [1, 64]);
    const one = findWal(m, fs, 'group-fdatasync', 1, 4096, prealloc) ?? findWal(m, fs, 'fdatasync', 1, 4096, prealloc);
    const many = findWal(m, fs, 'group-fdatasync', 64, 4096, prealloc);
    const t1 = `${fs}: group commit 64 writers vs 1 writer, throughput`;
    const t2 = `${fs}: group commit 64 writers vs 1 writer, p99 latency`;
    if (!one || !many) {
      const missing = [one ? undefined : '1 writer', many ? undefined : '64 writers'].filter(Boolean).join(' and ');
      const why = `group-fdatasync at ${missing} (4KiB) not measured on ${fs}`;
      out.push(notMeasured('group-throughput', t1, `>= ${GROUP_SPEEDUP_MIN}x`, why), notMeasured('group-p99', t2, `<= ${GROUP_P99_RATIO_MAX}x`, why));
      continue;
    }
    const speedup = many.metrics.opsPerSec / one.metrics.opsPerSec;
    // The disk's ceiling for the same ratio, when the run measured it: 64 entries per pwrite and one
    // fdatasync with no CPU work around it. A target above it cannot be met on this disk.
    const ceiling = m.find((c) => c.kind === 'peer' && c.peer === 'raw-floor' && c.fs === fs && c.writers === 64 && c.size === 4096);
    const ceilingNote = ceiling
      ? `; disk ceiling (raw floor, 64 entries per fdatasync) ${ops(ceiling.metrics.opsPerSec)} = ${f2(ceiling.metrics.opsPerSec / one.metrics.opsPerSec)}x, the WAL at ${Math.round((100 * many.metrics.opsPerSec) / ceiling.metrics.opsPerSec)}% of it`
      : '';
    const config = `${one.strategy}, prealloc ${prealloc}`;
    out.push(
      verdict(
        'group-throughput',
        t1,
        speedup,
        speedup >= GROUP_SPEEDUP_MIN,
        `>= ${GROUP_SPEEDUP_MIN}x`,
        `64 writers ${ops(many.metrics.opsPerSec)} / 1 writer (${config}) ${ops(one.metrics.opsPerSec)} = ${f2(speedup)}x${ceilingNote}`,
      ),
    );
    const p1 = one.metrics.latency.p99Us;
    const p64 = many.metrics.latency.p99Us;
    if (p1 === null || p64 === null || p1 === 0) {
      out.push(notMeasured('group-p99', t2, `<= ${GROUP_P99_RATIO_MAX}x`, 'no latency histogram'));
    } else {
      const r = p64 / p1;
      out.push(
        verdict(
          'group-p99',
          t2,
          r,
          r <= GROUP_P99_RATIO_MAX,
          `<= ${GROUP_P99_RATIO_MAX}x`,
          `p99 ${f2(p64)} us at 64 / ${f2(p1)} us at 1 (${config}) = ${f2(r)}x`,
        ),
      );
    }
  }
  return out;
}

// Group commit at 64 writers vs the disk's ceiling at 64 (the raw floor with 64 entries per
// pwrite and one fdatasync), same filesystem, same run: how much of what the disk can do the WAL's
// code leaves on the table.
export function ceilingTargets(cells: readonly CellResult[]): TargetResult[] {
  const m = measured(cells);
  const inRun = (fs: FsName): boolean =>
    cells.some((c) => c.kind === 'wal' && c.fs === fs && c.strategy === 'group-fdatasync' && c.writers === 64 && c.size === 4096 && !c.offered);
  return fsList(cells)
    .filter(inRun)
    .map((fs) =>
      vsRawFloor(m, fs, {
        kind: 'group-ceiling',
        title: `${fs}: group commit 64 writers vs the disk's ceiling at 64 (raw floor, 64 entries per fdatasync)`,
        min: CEILING_RATIO_MIN,
        strategy: 'group-fdatasync',
        writers: 64,
        missing: ['group-fdatasync 64 writers 4KiB', 'raw floor 64 writers'],
        floorName: 'ceiling',
      }),
    );
}

// Group commit at 1 writer vs plain fdatasync at 1 writer, same filesystem and preallocation, at
// every CPU load the run measured: turning group commit on must cost a lone writer next to nothing.
export function loneWriterTargets(cells: readonly CellResult[]): TargetResult[] {
  const loads = [...new Set(cells.map((c) => c.cpuLoad ?? 0))].sort((a, b) => a - b);
  const out: TargetResult[] = [];
  for (const load of loads) {
    const m = measured(cells, load);
    const inRun = (fs: FsName): boolean =>
      cells.some(
        (c) =>
          c.kind === 'wal' && c.fs === fs && c.strategy === 'group-fdatasync' && c.writers === 1 && c.size === 4096 && (c.cpuLoad ?? 0) === load && !c.offered,
      );
    for (const fs of fsList(cells).filter(inRun)) {
      const title = `${fs}: group commit 1 writer vs plain fdatasync 1 writer, ${load === 0 ? 'quiet' : `cpu load ${load}`}`;
      const rule = `>= ${LONE_WRITER_RATIO_MIN}`;
      const prealloc = ['recycle', 'zero'].find((p) => findWal(m, fs, 'group-fdatasync', 1, 4096, p) && findWal(m, fs, 'fdatasync', 1, 4096, p)) ?? 'zero';
      const group = findWal(m, fs, 'group-fdatasync', 1, 4096, prealloc);
      const plain = findWal(m, fs, 'fdatasync', 1, 4096, prealloc);
      if (!group || !plain) {
        out.push(
          notMeasured('lone-writer', title, rule, `${group ? '' : 'group-fdatasync '}${plain ? '' : 'fdatasync '}1 writer 4KiB not measured on ${fs}`.trim()),
        );
        continue;
      }
      const r = group.metrics.opsPerSec / plain.metrics.opsPerSec;
      const detail = `group ${ops(group.metrics.opsPerSec)} / fdatasync ${ops(plain.metrics.opsPerSec)} (prealloc ${prealloc}) = ${f2(r)}`;
      out.push(verdict('lone-writer', title, r, r >= LONE_WRITER_RATIO_MIN, rule, detail));
    }
  }
  return out;
}

// WAL vs every peer at every writer count and size it was measured at: the WAL must be ahead.
// The ratio shown is peer / WAL (below 1 means the WAL is faster).
export function peerTargets(cells: readonly CellResult[]): TargetResult[] {
  const out: TargetResult[] = [];
  for (const p of cells) {
    if (p.kind !== 'peer' || p.peer === 'raw-floor' || MEMORY_FILESYSTEMS.has(p.fs) || p.cpuLoad || p.offered !== undefined) continue;
    const title = `${p.fs}: WAL vs ${p.peer}, ${p.writers} writer${p.writers === 1 ? '' : 's'}, ${formatSize(p.size)}`;
    const rule = 'peer/WAL < 1';
    if (p.status !== 'measured') {
      out.push(notMeasured('peer', title, rule, p.status === 'skipped' ? `skipped: ${p.reason}` : `failed: ${p.error}`));
      continue;
    }
    // pg_test_fsync has no size option (8 kB); it is compared with the WAL at 4 KiB when the WAL
    // was not run at 8 KiB, and the detail says so.
    let wal = referenceWal(cells, p.fs, p.writers, p.size);
    let note = '';
    if (!wal && p.peer === 'pg_test_fsync') {
      wal = referenceWal(cells, p.fs, p.writers, 4096);
      if (wal) note = ' (pg_test_fsync writes 8 kB, the WAL 4KiB)';
    }
    if (!wal) {
      out.push(notMeasured('peer', title, rule, `no WAL cell at ${p.writers} writers, ${formatSize(p.size)} on ${p.fs}`));
      continue;
    }
    const r = p.metrics.opsPerSec / wal.metrics.opsPerSec;
    out.push(
      verdict(
        'peer',
        title,
        r,
        r < 1,
        rule,
        `${p.peer} ${ops(p.metrics.opsPerSec)} / WAL ${wal.strategy} (prealloc ${wal.prealloc}) ${ops(wal.metrics.opsPerSec)} = ${f2(r)}${note}`,
      ),
    );
  }
  return out;
}

function ioPerCommit(c: MeasuredCell): string {
  const d = c.metrics.devices[0];
  if (!d) return 'no device counters';
  return `${d.device}: ${f2(d.writesPerCommit)} writes, ${f2(d.kibPerCommit)} KiB, ${d.flushesPerCommit === null ? '?' : f2(d.flushesPerCommit)} flushes per commit`;
}

// Zero-filled preallocation vs none, append 4 KiB + fdatasync, on every ext4 measured; the
// device I/Os per commit of both are in the detail, because they are the explanation.
export function preallocTargets(cells: readonly CellResult[], filesystems: readonly FsReport[]): TargetResult[] {
  const m = measured(cells);
  const inRun = (fs: FsName): boolean =>
    cells.some((c) => c.kind === 'wal' && c.fs === fs && c.strategy === 'fdatasync' && c.writers === 1 && c.size === 4096 && c.prealloc === 'none');
  const ext4 = filesystems.filter((f) => f.status === 'ready' && f.fsType === 'ext4' && f.name !== 'ext4-nobarrier' && inRun(f.name)).map((f) => f.name);
  return ext4.map((fs) => {
    const title = `${fs} (ext4): zero-filled preallocation vs none, 4KiB fdatasync`;
    const rule = `>= ${PREALLOC_SPEEDUP_MIN}x`;
    const zero = findWal(m, fs, 'fdatasync', 1, 4096, 'zero');
    const none = findWal(m, fs, 'fdatasync', 1, 4096, 'none');
    if (!zero || !none)
      return notMeasured('prealloc', title, rule, `fdatasync 1 writer 4KiB with prealloc ${zero ? '' : 'zero '}${none ? '' : 'none '}not measured`.trim());
    const r = zero.metrics.opsPerSec / none.metrics.opsPerSec;
    return verdict(
      'prealloc',
      title,
      r,
      r >= PREALLOC_SPEEDUP_MIN,
      rule,
      `zero ${ops(zero.metrics.opsPerSec)} [${ioPerCommit(zero)}] / none ${ops(none.metrics.opsPerSec)} [${ioPerCommit(none)}] = ${f2(r)}x`,
    );
  });
}

// For each loop image that should flush (all but nobarrier): its durable cells sent flushes to the
// loop device, and the disk under the image saw at least as many. That is how the suite knows a
// loop device passes flushes through to the real disk rather than absorbing them.
export function flushPassThroughChecks(cells: readonly CellResult[], filesystems: readonly FsReport[]): TargetResult[] {
  const m = measured(cells);
  const out: TargetResult[] = [];
  for (const fs of filesystems) {
    if (fs.status !== 'ready' || !fs.loop || !fs.loop.disk) continue;
    const nobarrier = fs.name === 'ext4-nobarrier';
    const title = nobarrier ? `${fs.name}: no flushes sent (barrier=0)` : `${fs.name}: flushes on ${fs.loop.device} reach ${fs.loop.disk}`;
    const rule = nobarrier ? '== 0 on the loop device' : 'disk flushes >= loop flushes > 0';
    let loopFlushes = 0;
    let diskFlushes = 0;
    let commits = 0;
    for (const c of m) {
      if (c.fs !== fs.name || !c.metrics.durableAck) continue;
      const l = c.metrics.devices.find((d) => d.device === fs.loop!.device);
      const d = c.metrics.devices.find((x) => x.device === fs.loop!.disk);
      if (!l || !d || l.flushes === null || d.flushes === null) continue;
      loopFlushes += l.flushes;
      diskFlushes += d.flushes;
      commits += c.metrics.ops;
    }
    if (commits === 0) {
      out.push(notMeasured('flush-pass-through', title, rule, 'no durable cell with flush counters'));
      continue;
    }
    const detail = `${loopFlushes} flushes on ${fs.loop.device}, ${diskFlushes} on ${fs.loop.disk}, over ${commits} durable commits`;
    if (nobarrier) {
      // barrier=0 sends no flushes: the check inverts, and a zero here is the expected (unsafe) result.
      out.push(verdict('flush-pass-through', title, loopFlushes, loopFlushes === 0, rule, detail));
    } else {
      out.push(
        verdict('flush-pass-through', title, loopFlushes === 0 ? 0 : diskFlushes / loopFlushes, loopFlushes > 0 && diskFlushes >= loopFlushes, rule, detail),
      );
    }
  }
  return out;
}

// Every target and check, in the order the report prints them.
export function computeTargets(cells: readonly CellResult[], filesystems: readonly FsReport[]): TargetResult[] {
  return [
    ...floorTargets(cells),
    ...groupTargets(cells),
    ...ceilingTargets(cells),
    ...loneWriterTargets(cells),
    ...peerTargets(cells),
    ...preallocTargets(cells, filesystems),
    ...flushPassThroughChecks(cells, filesystems),
  ];
}
