// Issue 2's measurement of the WAL core: recovery scan speed over a large log with a warm page
// cache, and appends per second without syncing. Run:
//   pnpm exec tsx src/bench/core-speed.ts [--dir DIR] [--gib 1] [--entry 4096] [--appends 2000000] [--size 128]
// Prints one line per figure and a JSON summary on stdout. Needs about --gib of free disk in DIR.
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
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

async function main(): Promise<void> {
  const args = parse();
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
    console.log(`recovery scan, warm cache: best ${scanGBps.toFixed(2)} GB/s over ${(bytes / 2 ** 30).toFixed(2)} GiB, ${entries} entries of ${args.entry} B (runs: ${scans.map((x) => x.toFixed(2)).join(', ')})`);
    console.log(JSON.stringify({ appendsPerSec: Math.round(appendsPerSec), appendSize: args.size, scanGBps: Number(scanGBps.toFixed(3)), scanBytes: bytes, scanEntries: entries, entrySize: args.entry }));
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  const msg = err instanceof WalError ? `${err.code}: ${err.message}` : err instanceof Error ? err.message : String(err);
  console.error(`core-speed: ${msg}`);
  process.exit(1);
});
