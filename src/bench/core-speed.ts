// Measurements of the WAL core. Default (issue 2): recovery scan speed over a large log with a warm
// page cache, and appends per second without syncing:
//   pnpm exec tsx src/bench/core-speed.ts [--dir DIR] [--gib 1] [--entry 4096] [--appends 2000000] [--size 128]
// --sync (issue 3's quick self-check; the bench suite reports the official figures): a raw C loop of
// pwrite+fdatasync over a zero-filled preallocated file, compiled with cc into a temp dir, against
// the WAL's fdatasync strategy with 1 writer and with group commit at 1/4/16/64 writers, interleaved
// in the same run on the same filesystem:
//   pnpm exec tsx src/bench/core-speed.ts --sync [--dir DIR] [--seconds 1] [--rounds 5] [--poll-us N]
// (--poll-us overrides the WAL's pollUs option, to compare event-loop polling on and off.)
// Prints one line per figure and a JSON summary on stdout.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Wal, WalError } from '../wal/index.js';

interface Args {
  dir: string;
  gib: number;
  entry: number;
  appends: number;
  size: number;
  repeats: number;
  sync: boolean;
  seconds: number;
  rounds: number;
  pollUs: number | undefined;
}

function parse(): Args {
  const { values } = parseArgs({
    options: {
      dir: { type: 'string' },
      gib: { type: 'string', default: '1' },
      entry: { type: 'string', default: '4096' },
      appends: { type: 'string', default: '2000000' },
      size: { type: 'string', default: '128' },
      repeats: { type: 'string', default: '3' },
      sync: { type: 'boolean', default: false },
      seconds: { type: 'string', default: '1' },
      rounds: { type: 'string', default: '5' },
      'poll-us': { type: 'string' },
    },
  });
  const num = (name: string, v: string | undefined, min: number): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number >= ${min}, got ${v}`);
    return n;
  };
  return {
    dir: values.dir ?? tmpdir(),
    gib: num('gib', values.gib, 0.01),
    entry: Math.floor(num('entry', values.entry, 1)),
    appends: Math.floor(num('appends', values.appends, 1000)),
    size: Math.floor(num('size', values.size, 0)),
    repeats: Math.floor(num('repeats', values.repeats, 1)),
    sync: values.sync ?? false,
    seconds: num('seconds', values.seconds, 0.2),
    rounds: Math.floor(num('rounds', values.rounds, 1)),
    pollUs: values['poll-us'] === undefined ? undefined : Math.floor(num('poll-us', values['poll-us'], 0)),
  };
}

const seconds = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e9;

// Appends `count` entries of `size` bytes with up to `window` in flight; returns appends/s from the
// first call to the last acknowledgement ('none': written to the page cache).
async function appendRate(wal: Wal, count: number, size: number, window = 8192): Promise<number> {
  const payload = Buffer.alloc(size, 0x5a);
  const t0 = process.hrtime.bigint();
  let last: Promise<number> = Promise.resolve(0);
  for (let i = 0; i < count; i++) {
    last = wal.append(payload);
    if (i % window === window - 1) await last;
  }
  await last;
  return count / seconds(t0);
}

function segmentBytes(dir: string): number {
  return readdirSync(dir)
    .filter((n) => /^\d{20}\.wal$/.test(n))
    .reduce((sum, n) => sum + statSync(path.join(dir, n)).size, 0);
}

// The floor issue 3 compares against: pwrite+fdatasync of 4 KiB over a zero-filled preallocated
// file, one at a time, for a fixed duration. Prints {"ops":N,"seconds":S,"p50us":..,"p99us":..}.
const RAW_LOOP_C = String.raw`
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }
static int cmp(const void* a, const void* b) { double x = *(const double*)a, y = *(const double*)b; return x < y ? -1 : x > y; }
int main(int argc, char** argv) {
  const char* path = argv[1]; double secs = atof(argv[2]); size_t size = (size_t)atol(argv[3]);
  size_t file = 64u << 20;
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) { perror("open"); return 1; }
  char* zero = calloc(1, 1 << 20);
  for (size_t o = 0; o < file; o += 1 << 20) if (pwrite(fd, zero, 1 << 20, (off_t)o) != 1 << 20) { perror("pwrite"); return 1; }
  if (fdatasync(fd)) { perror("fdatasync"); return 1; }
  char* buf = malloc(size); memset(buf, 0x5a, size);
  size_t cap = 1 << 22, n = 0; double* lat = malloc(cap * sizeof(double));
  off_t off = 0; double t0 = now(), end = t0 + secs;
  for (;;) {
    double s = now();
    if (s >= end || n == cap) break;
    if (off + (off_t)size > (off_t)file) off = 0;
    if (pwrite(fd, buf, size, off) != (ssize_t)size) { perror("pwrite"); return 1; }
    if (fdatasync(fd)) { perror("fdatasync"); return 1; }
    lat[n++] = now() - s; off += (off_t)size;
  }
  double total = now() - t0;
  qsort(lat, n, sizeof(double), cmp);
  printf("{\"ops\":%zu,\"seconds\":%f,\"p50us\":%.1f,\"p99us\":%.1f}\n", n, total, lat[n / 2] * 1e6, lat[n * 99 / 100] * 1e6);
  unlink(path);
  return 0;
}
`;

interface Rate {
  perSec: number;
  p50us: number;
  p99us: number;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] as number);
}

// size 4096: the reference. size 4112: the same bytes the WAL writes for a 4 KiB payload
// (16-byte header), which straddle two pages per write: it separates the format's cost from the engine's.
function rawLoop(binary: string, dir: string, seconds: number, size = 4096): Rate {
  const out = execFileSync(binary, [path.join(dir, 'raw.dat'), String(seconds), String(size)], { encoding: 'utf8' });
  const r = JSON.parse(out) as { ops: number; seconds: number; p50us: number; p99us: number };
  return { perSec: r.ops / r.seconds, p50us: r.p50us, p99us: r.p99us };
}

// `writers` loops on this event loop, each awaiting its own 4 KiB append before the next.
async function walLoop(dir: string, seconds: number, writers: number, groupCommit: boolean, pollUs: number | undefined): Promise<Rate> {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir);
  const wal = await Wal.open(dir, { strategy: 'fdatasync', groupCommit, ...(pollUs === undefined ? {} : { pollUs }) });
  const payload = Buffer.alloc(4096, 0x5a);
  for (let i = 0; i < 50; i++) await wal.append(payload); // warm-up
  const lat: number[] = [];
  const t0 = process.hrtime.bigint();
  const end = t0 + BigInt(Math.round(seconds * 1e9));
  await Promise.all(
    Array.from({ length: writers }, async () => {
      while (process.hrtime.bigint() < end) {
        const s = process.hrtime.bigint();
        await wal.append(payload);
        lat.push(Number(process.hrtime.bigint() - s) / 1000);
      }
    }),
  );
  const elapsed = seconds === 0 ? 1 : Number(process.hrtime.bigint() - t0) / 1e9;
  await wal.close();
  rmSync(dir, { recursive: true, force: true });
  const sorted = Float64Array.from(lat).sort();
  return { perSec: lat.length / elapsed, p50us: percentile(sorted, 0.5), p99us: percentile(sorted, 0.99) };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((x, y) => x - y);
  return s.length === 0 ? 0 : s.length % 2 === 1 ? (s[s.length >> 1] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};

async function syncComparison(args: Args, work: string): Promise<void> {
  const binary = path.join(work, 'raw-fdatasync');
  writeFileSync(`${binary}.c`, RAW_LOOP_C);
  execFileSync(process.env.CC ?? 'cc', ['-O2', '-o', binary, `${binary}.c`]);
  const fmt = (r: Rate): string => `${r.perSec.toFixed(0)}/s p50 ${r.p50us.toFixed(0)} us p99 ${r.p99us.toFixed(0)} us`;
  const show = (name: string, r: Rate): Rate => {
    console.log(`  ${name.padEnd(24)} ${fmt(r)}`);
    return r;
  };
  const walDir = path.join(work, 'wal');
  const vsRaw: number[] = [];
  const vsRawSameBytes: number[] = [];
  const groupRatio: number[] = [];
  const p99Ratio: number[] = [];
  const perWriters = new Map<number, Rate[]>();
  let raw = show('raw C pwrite+fdatasync', rawLoop(binary, work, args.seconds));
  const raws: Rate[] = [raw];
  const ones: Rate[] = [];
  for (let round = 0; round < args.rounds; round++) {
    console.log(`round ${round + 1}/${args.rounds}`);
    // Each WAL figure sits between two raw runs (or next to its 1-writer twin) and is compared
    // with them only: the disk of a shared machine drifts by 2x within seconds.
    const one = show('wal fdatasync 1 writer', await walLoop(walDir, args.seconds, 1, false, args.pollUs));
    const rawAfter = show('raw C pwrite+fdatasync', rawLoop(binary, work, args.seconds));
    vsRaw.push(one.perSec / ((raw.perSec + rawAfter.perSec) / 2));
    const rawSame = show('raw C, 4112 B writes', rawLoop(binary, work, args.seconds, 4112));
    vsRawSameBytes.push(one.perSec / rawSame.perSec);
    raw = rawAfter;
    raws.push(rawAfter);
    ones.push(one);
    const byWriters = new Map<number, Rate>();
    for (const w of [1, 4, 16, 64]) {
      const r = show(`wal group ${w} writers`, await walLoop(walDir, args.seconds, w, true, args.pollUs));
      byWriters.set(w, r);
      perWriters.set(w, [...(perWriters.get(w) ?? []), r]);
    }
    const g1 = byWriters.get(1) as Rate;
    const g64 = byWriters.get(64) as Rate;
    groupRatio.push(g64.perSec / g1.perSec);
    p99Ratio.push(g64.p99us / g1.p99us);
  }
  const summary = {
    rounds: args.rounds,
    secondsPerRun: args.seconds,
    rawPerSecMedian: Math.round(median(raws.map((r) => r.perSec))),
    walOneWriterPerSecMedian: Math.round(median(ones.map((r) => r.perSec))),
    walVsRawMedian: Number(median(vsRaw).toFixed(3)),
    walVsRawPerRound: vsRaw.map((x) => Number(x.toFixed(3))),
    walVsRawSameBytesMedian: Number(median(vsRawSameBytes).toFixed(3)),
    group: Object.fromEntries(
      [...perWriters].map(([w, rs]) => [
        w,
        { perSecMedian: Math.round(median(rs.map((r) => r.perSec))), p99usMedian: Math.round(median(rs.map((r) => r.p99us))) },
      ]),
    ),
    group64VsGroup1Median: Number(median(groupRatio).toFixed(1)),
    group64P99VsGroup1P99Median: Number(median(p99Ratio).toFixed(2)),
  };
  console.log(`wal fdatasync 1 writer / raw C loop: median ${(summary.walVsRawMedian * 100).toFixed(1)}% (target >= 95%)`);
  console.log(`wal fdatasync 1 writer / raw C loop writing the WAL's 4112 B: median ${(summary.walVsRawSameBytesMedian * 100).toFixed(1)}%`);
  console.log(
    `group commit 64 writers / 1 writer: median ${summary.group64VsGroup1Median}x (target >= 30x), p99 ratio median ${summary.group64P99VsGroup1P99Median} (target <= 3)`,
  );
  console.log(JSON.stringify(summary));
}

async function main(): Promise<void> {
  const args = parse();
  if (args.sync) {
    const work = mkdtempSync(path.join(args.dir, 'powercut-sync-check-'));
    try {
      await syncComparison(args, work);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    return;
  }
  const work = mkdtempSync(path.join(args.dir, 'powercut-core-speed-'));
  try {
    // ---- appends/s, no sync ----
    const appendDir = path.join(work, 'appends');
    rmSync(appendDir, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(appendDir));
    const wal = await Wal.open(appendDir, { strategy: 'none' });
    await appendRate(wal, Math.min(100_000, args.appends), args.size); // warm-up: JIT, first segment
    const rates: number[] = [];
    for (let r = 0; r < args.repeats; r++) rates.push(await appendRate(wal, args.appends, args.size));
    await wal.close();
    rmSync(appendDir, { recursive: true, force: true });
    const appendsPerSec = Math.max(...rates);
    console.log(`appends/s without sync, ${args.size} B: best ${appendsPerSec.toFixed(0)} (runs: ${rates.map((r) => r.toFixed(0)).join(', ')})`);

    // ---- recovery scan of a large log, warm cache ----
    const scanDir = path.join(work, 'scan');
    await import('node:fs/promises').then((fs) => fs.mkdir(scanDir));
    const total = Math.floor(args.gib * 1024 * 1024 * 1024);
    const count = Math.ceil(total / (args.entry + 16));
    const writer = await Wal.open(scanDir, { strategy: 'none', preallocate: 'fallocate' });
    await appendRate(writer, count, args.entry, 1024);
    await writer.close();
    const bytes = segmentBytes(scanDir);
    // Warm the page cache the way a restart on a warm machine finds it.
    for (const n of readdirSync(scanDir)) if (n.endsWith('.wal')) readFileSync(path.join(scanDir, n));
    const scans: number[] = [];
    let entries = 0;
    for (let r = 0; r < args.repeats; r++) {
      const t0 = process.hrtime.bigint();
      const w = await Wal.open(scanDir, { strategy: 'none', preallocate: 'fallocate' });
      const s = seconds(t0);
      entries = w.recovery.entries;
      await w.close();
      scans.push(bytes / s / 1e9);
    }
    const scanGBps = Math.max(...scans);
    console.log(
      `recovery scan, warm cache: best ${scanGBps.toFixed(2)} GB/s over ${(bytes / 2 ** 30).toFixed(2)} GiB, ${entries} entries of ${args.entry} B (runs: ${scans.map((x) => x.toFixed(2)).join(', ')})`,
    );
    console.log(
      JSON.stringify({
        appendsPerSec: Math.round(appendsPerSec),
        appendSize: args.size,
        scanGBps: Number(scanGBps.toFixed(3)),
        scanBytes: bytes,
        scanEntries: entries,
        entrySize: args.entry,
      }),
    );
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  const msg = err instanceof WalError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err);
  console.error(`core-speed: ${msg}`);
  process.exit(1);
});
