import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { enumerateStates, ImageKeyer, stateFromId, StateMaterialiser, type CrashState } from '../../src/dm/log-writes/index.js';
import type { LogIndex } from '../../src/dm/log-writes/format.js';
import { FLUSH, FUA, SyntheticLog, withSyntheticIndex } from '../fixtures/log-writes/synthetic-log.js';

const dir = mkdtempSync(join(tmpdir(), 'powercut-states-prop-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const SECTORS = 16;
type Op =
  { op: 'write'; sector: number; sectors: number; flags: number } | { op: 'discard'; sector: number; sectors: number } | { op: 'flush' } | { op: 'mark' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      op: fc.constant('write' as const),
      sector: fc.nat(SECTORS - 3),
      sectors: fc.integer({ min: 1, max: 3 }),
      flags: fc.constantFrom(0, 0, 0, FUA, FLUSH, FLUSH | FUA),
    }),
  },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('discard' as const), sector: fc.nat(SECTORS - 3), sectors: fc.integer({ min: 1, max: 3 }) }) },
  { weight: 2, arbitrary: fc.constant({ op: 'flush' as const }) },
  { weight: 2, arbitrary: fc.constant({ op: 'mark' as const }) },
);

// Entry i writes the byte value i+1 everywhere, so every image tells which writes landed.
function build(ops: Op[]): SyntheticLog {
  const log = new SyntheticLog(512);
  ops.forEach((op, i) => {
    if (op.op === 'write') log.fill(op.sector, op.sectors, (i + 1) & 0xff, op.flags);
    else if (op.op === 'discard') log.discard(op.sector, op.sectors);
    else if (op.op === 'flush') log.flush();
    else log.mark(`m${i}`);
  });
  return log;
}

/** The reference image of a state, computed in memory from the ops alone. */
function modelImage(ops: Op[], state: CrashState): Buffer {
  const device = Buffer.alloc(SECTORS * 512);
  const apply = (i: number, limit = Infinity): void => {
    const op = ops[i] as Op;
    if (op.op === 'write') device.fill((i + 1) & 0xff, op.sector * 512, op.sector * 512 + Math.min(op.sectors * 512, limit));
    if (op.op === 'discard') device.fill(0, op.sector * 512, op.sector * 512 + Math.min(op.sectors * 512, limit));
  };
  for (let i = 0; i < state.base; i++) apply(i);
  for (const w of state.writes) apply(w.entry, w.bytes);
  return device;
}

const isFlush = (op: Op | undefined): boolean => op !== undefined && ((op.op === 'write' && (op.flags & FLUSH) !== 0) || op.op === 'flush');
const isFua = (op: Op | undefined): boolean => op !== undefined && op.op === 'write' && (op.flags & FUA) !== 0;
const touches = (op: Op | undefined): boolean => op !== undefined && (op.op === 'write' || op.op === 'discard');

/** What the volatile-cache model allows: the reference check of each state's shape. */
function legal(ops: Op[], state: CrashState): boolean {
  if (state.kind === 'prefix') {
    const last = ops[state.base - 1];
    return state.writes.length === 0 && state.visibleUntil === state.base && (state.base === ops.length || isFlush(last) || isFua(last) || last?.op === 'mark');
  }
  // Volatile states: base is an epoch start, the crash moment is the next flush (or the end).
  if (state.base !== 0 && !isFlush(ops[state.base])) return false;
  let end = state.base + 1;
  while (end < ops.length && !isFlush(ops[end])) end++;
  if (state.visibleUntil !== Math.min(end, ops.length)) return false;
  const entries = state.writes.map((w) => w.entry);
  if (!entries.every((e, k) => e >= state.base && e < end && touches(ops[e]) && (k === 0 || e > (entries[k - 1] as number)))) return false;
  for (let e = state.base; e < end; e++) if (isFua(ops[e]) && !entries.includes(e)) return false;
  const torn = state.writes.filter((w) => w.bytes !== undefined);
  if (state.kind === 'subset') return torn.length === 0;
  const cut = torn[0];
  return (
    torn.length === 1 && cut !== undefined && cut.bytes! % 512 === 0 && cut.bytes! > 0 && cut.bytes! < (ops[cut.entry] as { sectors: number }).sectors * 512
  );
}

let counter = 0;
const withIndex = <T>(log: SyntheticLog, use: (index: LogIndex) => T): T => withSyntheticIndex(log, dir, use);

const digest = (b: Buffer): string => createHash('sha1').update(b).digest('hex');
const opsArb = fc.array(opArb, { minLength: 1, maxLength: 14 });
const options = { exhaustiveLimit: 4, randomSubsets: 6, tearsPerWrite: 2, seed: 3 };

describe('crash states (property)', () => {
  it('every state is one the volatile-cache model allows, and materialises to the model image', () => {
    fc.assert(
      fc.property(opsArb, (ops) =>
        withIndex(build(ops), (index) => {
          const materialiser = new StateMaterialiser(index, SECTORS * 512, dir);
          const image = join(dir, `img-${counter++}`);
          try {
            for (const state of enumerateStates(index, options)) {
              expect(legal(ops, state), JSON.stringify(state)).toBe(true);
              materialiser.materialise(state, image);
              expect(readFileSync(image).equals(modelImage(ops, state))).toBe(true);
            }
          } finally {
            materialiser.close();
            rmSync(image, { force: true });
          }
        }),
      ),
      { numRuns: 120 },
    );
  });

  it('dedup loses nothing: every state has a yielded one with the same image and at least as many marks', () => {
    fc.assert(
      fc.property(opsArb, (ops) =>
        withIndex(build(ops), (index) => {
          const marksBefore = (s: CrashState): number => index.markEntries().filter((m) => m.index < s.visibleUntil).length;
          const kept = new Map<string, number>();
          for (const s of enumerateStates(index, options)) {
            const d = digest(modelImage(ops, s));
            kept.set(d, Math.max(kept.get(d) ?? -1, marksBefore(s)));
          }
          for (const s of enumerateStates(index, { ...options, dedup: false })) {
            expect(kept.get(digest(modelImage(ops, s))) ?? -1).toBeGreaterThanOrEqual(marksBefore(s));
          }
        }),
      ),
      { numRuns: 150 },
    );
  });

  it('every state is rebuilt from its id alone', () => {
    fc.assert(
      fc.property(opsArb, fc.integer({ min: 1, max: 50 }), (ops, seed) =>
        withIndex(build(ops), (index) => {
          for (const state of enumerateStates(index, { ...options, seed, dedup: false })) {
            const { reason: _reason, ...rebuilt } = stateFromId(index, state.id);
            const { reason: _r, ...original } = state;
            expect(rebuilt).toEqual(original);
          }
        }),
      ),
      { numRuns: 150 },
    );
  });

  it('equal image keys mean equal images', () => {
    fc.assert(
      fc.property(opsArb, (ops) =>
        withIndex(build(ops), (index) => {
          const keyer = new ImageKeyer(index);
          const byKey = new Map<string, string>();
          for (const s of enumerateStates(index, { ...options, dedup: false })) {
            const key = keyer.key(s);
            const d = digest(modelImage(ops, s));
            expect(byKey.get(key) ?? d).toBe(d);
            byKey.set(key, d);
          }
        }),
      ),
      { numRuns: 150 },
    );
  });
});
