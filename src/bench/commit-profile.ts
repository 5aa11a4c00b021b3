// Where the CPU of a commit goes (issue 16). Closed-loop writers on this event loop (each awaits
// its own 4 KiB append before the next), group commit over fdatasync as the WAL ships (recycled
// segments), for a fixed time per writer count, on the directory given: on a tmpfs (/dev/shm) a
// sync is free, so what is left is the cost of the code; on the host filesystem the same run
// shows how much of it the sync hides.
//   pnpm exec tsx src/bench/commit-profile.ts --dir /dev/shm [--writers 1,64] [--seconds 2] [--rounds 3]
// Per writer count it prints commits/s, wall and CPU microseconds per commit, the CPU split by
// thread (the JS thread, the WAL's commit threads, the rest: V8, libuv), and a second pass with
// counters around each append call (the synchronous part: argument checks, the N-API call, the
// copy into the staging buffer with its checksum, the promise) so the JS thread's share splits
// into the append call and everything else (settling, continuations, the loop). A third figure is
// the same closed loop with no WAL at all (promises resolved in batches from a macrotask): the
// floor of this way of driving a log from JavaScript. The JSON summary goes to stdout last.
// For instruction counts, run it under callgrind (docs/bench/commit-profile.md says how).
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Wal } from '../wal/index.js';

const TICK_US = 10_000; // USER_HZ: /proc's clock tick is 10 ms on Linux
const SIZE = 4096;

interface ThreadCpu {
  js: number;
  wal: number;
  other: number;
}

// CPU microseconds of each thread of this process, grouped: the main (JS) thread, the WAL's
// named threads (wal-group, wal-commit, wal-syncer, wal-spare), and the rest.
function threadCpu(): ThreadCpu {
  const out: ThreadCpu = { js: 0, wal: 0, other: 0 };
  for (const tid of readdirSync('/proc/self/task')) {
    let stat: string;
    let comm: string;
    try {
      stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      comm = readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
    } catch {
      continue; // the thread ended meanwhile
    }
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const us = (Number(rest[11]) + Number(rest[12])) * TICK_US; // utime, stime: fields 14, 15
    if (Number(tid) === process.pid) out.js += us;
    else if (comm.startsWith('wal-')) out.wal += us;
    else out.other += us;
  }
  return out;
}

interface Pass {
  commits: number;
  seconds: number;
  cpu: ThreadCpu;
  /** Microseconds inside wal.append() calls (counted pass only). */
  appendCallUs: number | null;
}

async function pass(wal: Wal, writers: number, seconds: number, counted: boolean): Promise<Pass> {
  const payload = Buffer.alloc(SIZE, 0x5a);
  let commits = 0;
  let appendMs = 0;
  const c0 = threadCpu();
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  const loop = counted
    ? async (): Promise<void> => {
        while (performance.now() < end) {
          const s = performance.now();
          const p = wal.append(payload);
          appendMs += performance.now() - s;
          await p;
          commits++;
        }
      }
    : async (): Promise<void> => {
        while (performance.now() < end) {
          await wal.append(payload);
          commits++;
        }
      };
  await Promise.all(Array.from({ length: writers }, loop));
  const elapsed = (performance.now() - t0) / 1000;
  const c1 = threadCpu();
  return {
    commits,
    seconds: elapsed,
    cpu: { js: c1.js - c0.js, wal: c1.wal - c0.wal, other: c1.other - c0.other },
    appendCallUs: counted ? appendMs * 1000 : null,
  };
}

// The closed loop with no log: `writers` loops each awaiting a promise that a macrotask resolves
// in one batch, as the WAL's progress callback does. What is left is the JS floor per commit.
async function jsFloor(writers: number, seconds: number): Promise<{ commits: number; seconds: number; jsUs: number }> {
  let pending: (() => void)[] = [];
  let commits = 0;
  const flush = (): void => {
    const batch = pending;
    pending = [];
    for (const r of batch) r();
    if (!done) setImmediate(flush);
  };
  let done = false;
  const c0 = threadCpu();
  const t0 = performance.now();
  const end = t0 + seconds * 1000;
  setImmediate(flush);
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (performance.now() < end) {
        await new Promise<void>((resolve) => pending.push(resolve));
        commits++;
      }
    }),
  );
  done = true;
  const elapsed = (performance.now() - t0) / 1000;
  return { commits, seconds: elapsed, jsUs: threadCpu().js - c0.js };
}

interface Row {
  writers: number;
  commitsPerSec: number;
  wallUsPerCommit: number;
  cpuUsPerCommit: number;
  jsUsPerCommit: number;
  walThreadsUsPerCommit: number;
  otherUsPerCommit: number;
  appendCallUsPerCommit: number;
  countedCommitsPerSec: number;
  jsFloorUsPerCommit: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : (s[Math.floor(s.length / 2)] as number);
}

async function profile(dir: string, writers: number, seconds: number, rounds: number): Promise<Row> {
  const plain: Pass[] = [];
  const counted: Pass[] = [];
  const floors: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const sub = mkdtempSync(path.join(dir, 'profile-'));
    try {
      const wal = await Wal.open(sub, { strategy: 'fdatasync', groupCommit: true, segmentSize: 16 << 20 });
      try {
        const warm = Buffer.alloc(SIZE, 1);
        for (let i = 0; i < 64; i++) await wal.append(warm);
        plain.push(await pass(wal, writers, seconds, false));
        counted.push(await pass(wal, writers, seconds, true));
      } finally {
        await wal.close();
      }
    } finally {
      rmSync(sub, { recursive: true, force: true });
    }
    const f = await jsFloor(writers, seconds / 2);
    floors.push(f.jsUs / f.commits);
  }
  const per = (ps: Pass[], f: (p: Pass) => number): number => median(ps.map((p) => f(p) / p.commits));
  return {
    writers,
    commitsPerSec: median(plain.map((p) => p.commits / p.seconds)),
    wallUsPerCommit: per(plain, (p) => p.seconds * 1e6),
    cpuUsPerCommit: per(plain, (p) => p.cpu.js + p.cpu.wal + p.cpu.other),
    jsUsPerCommit: per(plain, (p) => p.cpu.js),
    walThreadsUsPerCommit: per(plain, (p) => p.cpu.wal),
    otherUsPerCommit: per(plain, (p) => p.cpu.other),
    appendCallUsPerCommit: per(counted, (p) => p.appendCallUs ?? 0),
    countedCommitsPerSec: median(counted.map((p) => p.commits / p.seconds)),
    jsFloorUsPerCommit: median(floors),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      dir: { type: 'string', default: '/dev/shm' },
      writers: { type: 'string', default: '1,64' },
      seconds: { type: 'string', default: '2' },
      rounds: { type: 'string', default: '3' },
    },
  });
  const writers = (values.writers ?? '1,64').split(',').map(Number);
  const seconds = Number(values.seconds);
  const rounds = Number(values.rounds);
  if (writers.some((w) => !Number.isInteger(w) || w < 1) || !(seconds > 0) || !Number.isInteger(rounds) || rounds < 1) {
    process.stderr.write('commit-profile: --writers takes whole numbers >= 1, --seconds a positive number, --rounds a whole number >= 1\n');
    process.exit(2);
  }
  const dir = path.resolve(values.dir ?? '/dev/shm');
  mkdirSync(dir, { recursive: true });
  const rows: Row[] = [];
  const f = (n: number): string => n.toFixed(2);
  for (const w of writers) {
    const r = await profile(dir, w, seconds, rounds);
    rows.push(r);
    console.log(
      `${String(w).padStart(3)} writers: ${Math.round(r.commitsPerSec)}/s, wall ${f(r.wallUsPerCommit)} us/commit, CPU ${f(r.cpuUsPerCommit)} us/commit ` +
        `(JS thread ${f(r.jsUsPerCommit)}, of it append calls ${f(r.appendCallUsPerCommit)}; WAL threads ${f(r.walThreadsUsPerCommit)}; other ${f(r.otherUsPerCommit)}); ` +
        `JS floor with no log ${f(r.jsFloorUsPerCommit)} us/commit`,
    );
  }
  console.log(JSON.stringify({ dir, seconds, rounds, size: SIZE, rows }));
}

await main();
