// The hostile-directory cases (issue 13), shared by the bounded property (wal-hostile.test.ts) and
// the counting campaign (hostile-campaign.ts): a WAL written, then damaged where no live entry is
// (bytes of truncated entries in a segment that still holds live ones, direct padding records) or
// in the first-seq record itself, reopened, and judged.
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync, writeSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { Wal, WalError, type WalOptions } from '../../src/wal/index.js';
import { cleanup, paddingRecords, parseSegment, payloadFor, segmentFiles, tempDir } from '../addon/wal-format.js';

const SEGMENT = 64 * 1024;

export type Where = 'below-first-seq' | 'padding' | 'first-seq';
type Hurt = { kind: 'flip'; bit: number } | { kind: 'zero'; len: number } | { kind: 'garbage'; bytes: Uint8Array } | { kind: 'cut' };
interface Damage {
  where: Where;
  pick: number; // which candidate region
  at: number; // where in it, [0, 1)
  hurt: Hurt;
}
export interface Case {
  mode: 'none' | 'direct' | 'group';
  appends: { len: number; burst: number }[];
  truncateAt: number[]; // fractions of the live range, applied between appends
  damages: Damage[];
  repair: boolean;
  seed: number;
}

// Uniform in [0, 1): fc.double leans towards tiny values, which would leave truncate and damage
// offsets at the start of their ranges.
const frac = fc.integer({ min: 0, max: 9999 }).map((n) => n / 10_000);
const hurtArb: fc.Arbitrary<Hurt> = fc.oneof(
  fc.integer({ min: 0, max: 7 }).map((bit) => ({ kind: 'flip' as const, bit })),
  fc.integer({ min: 1, max: 600 }).map((len) => ({ kind: 'zero' as const, len })),
  fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => ({ kind: 'garbage' as const, bytes })),
  fc.constant({ kind: 'cut' as const }),
);
export const caseArb: fc.Arbitrary<Case> = fc.record({
  mode: fc.constantFrom<Case['mode']>('none', 'direct', 'group'),
  appends: fc.array(
    fc.record({ len: fc.oneof(fc.integer({ min: 0, max: 400 }), fc.integer({ min: 401, max: 5000 })), burst: fc.integer({ min: 1, max: 5 }) }),
    { minLength: 1, maxLength: 40 },
  ),
  truncateAt: fc.array(frac, { minLength: 1, maxLength: 3 }),
  damages: fc.array(fc.record({ where: fc.constantFrom<Where>('below-first-seq', 'padding', 'first-seq'), pick: fc.nat(), at: frac, hurt: hurtArb }), {
    minLength: 1,
    maxLength: 3,
  }),
  repair: fc.boolean(),
  seed: fc.nat(),
});

export type Verdict =
  | { status: 'held'; damaged: Where[] }
  | { status: 'crash'; error: unknown }
  | { status: 'unopenable'; error: WalError }
  | { status: 'wrong-payload'; seq: number }
  | { status: 'live-lost'; seqs: number[] };

function optionsFor(mode: Case['mode']): WalOptions {
  if (mode === 'direct') return { segmentSize: SEGMENT, strategy: 'direct' };
  if (mode === 'group') return { segmentSize: SEGMENT, strategy: 'fdatasync', groupCommit: true };
  return { segmentSize: SEGMENT, strategy: 'none' };
}

function hurt(file: string, from: number, to: number, at: number, h: Hurt): void {
  const fd = openSync(file, 'r+');
  try {
    to = Math.min(to, fstatSync(fd).size);
    if (to <= from) return;
    const pos = from + Math.floor(at * (to - from));
    if (h.kind === 'flip') {
      const b = Buffer.alloc(1);
      readSync(fd, b, 0, 1, pos);
      b[0] = b[0]! ^ (1 << h.bit);
      writeSync(fd, b, 0, 1, pos);
    } else if (h.kind === 'zero' || h.kind === 'cut') {
      // A "cut" inside a region that live entries follow is a zeroed run to its end.
      const n = h.kind === 'cut' ? to - pos : Math.min(h.len, to - pos);
      writeSync(fd, Buffer.alloc(n), 0, n, pos);
    } else {
      writeSync(fd, h.bytes, 0, Math.min(h.bytes.length, to - pos), pos);
    }
  } finally {
    closeSync(fd);
  }
}

function truncateFile(file: string, at: number): void {
  const buf = readFileSync(file);
  const fd = openSync(file, 'w');
  writeSync(fd, buf, 0, Math.floor(at * buf.length));
  closeSync(fd);
}

// Regions that hold no live entry, per kind. Computed before any damage, from the intact files.
function regions(dir: string, firstSeq: number): Record<Where, { file: string; from: number; to: number }[]> {
  const out: Record<Where, { file: string; from: number; to: number }[]> = { 'below-first-seq': [], padding: [], 'first-seq': [] };
  for (const file of segmentFiles(dir)) {
    const { entries } = parseSegment(file);
    const below = entries.filter((e) => e.seq < firstSeq);
    const live = entries.find((e) => e.seq >= firstSeq);
    if (below.length > 0) out['below-first-seq'].push({ file, from: below[0]!.offset, to: live ? live.offset : below.at(-1)!.offset + below.at(-1)!.span });
    for (const p of paddingRecords(file)) {
      // Padding inside the truncated part is covered above; padding after live entries is ours.
      if (live !== undefined && p.offset > live.offset) out.padding.push({ file, from: p.offset, to: p.offset + p.span });
    }
  }
  const fs = path.join(dir, 'first-seq');
  if (existsSync(fs)) out['first-seq'].push({ file: fs, from: 0, to: 24 });
  return out;
}

async function readAll(wal: Wal): Promise<Map<number, Buffer>> {
  const got = new Map<number, Buffer>();
  for await (const e of wal.entries()) got.set(e.seq, Buffer.from(e.payload));
  return got;
}

function judge(got: Map<number, Buffer>, payloads: Map<number, Buffer>, firstSeq: number, last: number): Verdict | undefined {
  for (const [seq, payload] of got) {
    const want = payloads.get(seq);
    if (want === undefined || !want.equals(payload)) return { status: 'wrong-payload', seq };
  }
  const lost: number[] = [];
  for (let s = firstSeq; s <= last; s++) if (!got.has(s)) lost.push(s);
  return lost.length > 0 ? { status: 'live-lost', seqs: lost } : undefined;
}

// One case, start to finish: build the log, damage it, recover, judge, append, reopen, judge.
export async function runCase(c: Case): Promise<Verdict> {
  const dir = tempDir('wal-hostile-');
  try {
    const options = optionsFor(c.mode);
    const wal = await Wal.open(dir, options);
    const payloads = new Map<number, Buffer>();
    let firstSeq = 1;
    let last = 0;
    const truncAfter = new Map(c.truncateAt.map((f, i) => [Math.floor(((i + 1) * c.appends.length) / (c.truncateAt.length + 1)), f]));
    for (const [i, a] of c.appends.entries()) {
      const batch = Array.from({ length: a.burst }, (_, k) => payloadFor(c.seed * 7919 + last * 13 + k + 1, (a.len + k * 53) % 5001));
      const seqs = await Promise.all(batch.map((p) => wal.append(p)));
      seqs.forEach((s, k) => payloads.set(s, batch[k]!));
      last = Math.max(last, ...seqs);
      const f = truncAfter.get(i);
      if (f !== undefined) {
        const before = Math.min(last + 1, firstSeq + Math.floor(f * (last + 2 - firstSeq)));
        if (before > firstSeq) {
          await wal.truncate(before);
          firstSeq = before;
        }
      }
    }
    await wal.close();

    const where = regions(dir, firstSeq);
    const damaged: Where[] = [];
    for (const d of c.damages) {
      const list = where[d.where];
      if (list.length === 0) continue;
      const r = list[d.pick % list.length]!;
      if (d.where === 'first-seq' && d.hurt.kind === 'cut') truncateFile(r.file, d.at);
      else hurt(r.file, r.from, r.to, d.at, d.hurt);
      damaged.push(d.where);
    }

    let reopened: Wal;
    try {
      reopened = await Wal.open(dir, { ...options, repair: c.repair });
    } catch (error) {
      if (!(error instanceof WalError)) return { status: 'crash', error };
      // Only damage to first-seq may make the log unopenable, and only with a typed error.
      if (damaged.includes('first-seq') && (error.code === 'WAL_CORRUPTION' || error.code === 'WAL_OUT_OF_RANGE')) return { status: 'held', damaged };
      return { status: 'unopenable', error };
    }
    const bad = judge(await readAll(reopened), payloads, firstSeq, last);
    if (bad !== undefined) {
      await reopened.close();
      return bad;
    }
    // A second life: the log goes on from where it was and keeps everything.
    const extra = payloadFor(c.seed + 1, 100);
    const seq = await reopened.append(extra);
    payloads.set(seq, extra);
    await reopened.close();
    const again = await Wal.open(dir, options);
    const after = judge(await readAll(again), payloads, firstSeq, seq);
    await again.close();
    if (seq !== last + 1) return { status: 'live-lost', seqs: [last + 1] };
    return after ?? { status: 'held', damaged };
  } catch (error) {
    return { status: 'crash', error };
  } finally {
    cleanup(dir);
  }
}
