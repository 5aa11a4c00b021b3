import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { judgeCrash, type RecoveredEntry } from '../../src/oracle/index.js';
import { STRATEGIES, type Strategy, type WorkloadEvent } from '../../src/workload/events.js';

// The oracle checked against an independent formulation of the contract: instead of running
// checks, enumerate every recovery outcome the contract allows for a history (a contiguous run
// [s..e] of intact appended entries, starting no later than the truncation floor, covering every
// entry the strategy made durable, and no ack after a sync failure) and ask whether the recovered
// list is one of them. The oracle must say 'held' exactly for those.

const digest = (seq: number, variant = 0): string => (seq * 7 + variant).toString(16).padStart(64, '0');

type Op =
  | { op: 'append' }
  | { op: 'ack'; pick: number }
  | { op: 'durable'; pick: number }
  | { op: 'truncate'; pick: number; done: boolean }
  | { op: 'fail'; pick: number; sync: boolean };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ op: 'append' as const }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('ack' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('durable' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('truncate' as const), pick: fc.nat(), done: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('fail' as const), pick: fc.nat(), sync: fc.boolean() }) },
);

interface Case {
  strategy: Strategy;
  history: WorkloadEvent[];
  appended: number[];
}

const caseArb: fc.Arbitrary<Case> = fc
  .record({ strategy: fc.constantFrom(...STRATEGIES), base: fc.constantFrom(0, 1, 100), ops: fc.array(opArb, { maxLength: 14 }) })
  .map(({ strategy, base, ops }) => {
    const history: WorkloadEvent[] = [{ type: 'started', strategy, groupCommit: false, periodMs: strategy === 'periodic' ? 5 : null, pid: 1 }];
    const appended: number[] = [];
    const pick = (n: number): number | undefined => appended[n % Math.max(appended.length, 1)];
    for (const op of ops) {
      if (op.op === 'append') {
        const seq = base + appended.length;
        appended.push(seq);
        history.push({ type: 'appended', seq, digest: digest(seq), size: 1 });
        continue;
      }
      const seq = pick(op.pick);
      if (seq === undefined) continue;
      if (op.op === 'ack') history.push({ type: 'acked', seq });
      else if (op.op === 'durable') history.push({ type: 'durable', seq });
      else if (op.op === 'truncate') history.push({ type: op.done ? 'truncated' : 'truncating', beforeSeq: seq });
      else history.push({ type: 'failed', seq, code: op.sync ? 'WAL_IO' : 'WAL_OTHER', message: 'x' });
    }
    return { strategy, history, appended };
  });

/** The reference: is `recovered` one of the outcomes the contract allows after this history? */
function allowed(c: Case, recovered: RecoveredEntry[]): boolean {
  const ev = c.history;
  const acked = new Set(ev.flatMap((e) => (e.type === 'acked' ? [e.seq] : [])));
  const failed = new Set(ev.flatMap((e) => (e.type === 'failed' && e.seq !== undefined ? [e.seq] : [])));
  const marks = ev.flatMap((e) => (e.type === 'durable' ? [e.seq] : []));
  const floors = ev.flatMap((e) => (e.type === 'truncating' || e.type === 'truncated' ? [e.beforeSeq] : []));
  const firstSyncFailure = ev.findIndex((e) => e.type === 'failed' && e.code === 'WAL_IO');
  if (firstSyncFailure >= 0 && ev.slice(firstSyncFailure).some((e) => e.type === 'acked')) return false;
  const watermark = marks.length > 0 ? Math.max(...marks) : -Infinity;
  const floor = floors.length > 0 ? Math.max(...floors) : -Infinity;
  const mustSurvive = (seq: number): boolean => {
    if (c.strategy === 'none' || seq < floor || (failed.has(seq) && !acked.has(seq))) return false;
    return seq <= watermark || (c.strategy !== 'periodic' && acked.has(seq));
  };
  const required = c.appended.filter(mustSurvive);
  const outcomes: number[][] = [[]];
  for (const s of c.appended) for (const e of c.appended) if (s <= e) outcomes.push(c.appended.filter((q) => q >= s && q <= e));
  const first = c.appended[0];
  return outcomes.some((run) => {
    if (run.length > 0 && first !== undefined && (run[0] as number) > Math.max(first, floor)) return false;
    if (!required.every((q) => run.includes(q))) return false;
    return run.length === recovered.length && run.every((q, i) => recovered[i]?.seq === q && 'digest' in recovered[i] && recovered[i].digest === digest(q));
  });
}

// Recovered lists: half drawn from contiguous runs of intact entries (to exercise 'held'), half
// arbitrary (gaps, reordering, wrong digests, seqs never appended).
function recoveredArb(c: Case): fc.Arbitrary<RecoveredEntry[]> {
  const n = c.appended.length;
  const runArb = fc.tuple(fc.nat(n), fc.nat(n)).map(([a, b]) => c.appended.slice(Math.min(a, b), Math.max(a, b)).map((seq) => ({ seq, digest: digest(seq) })));
  const seqArb = fc.oneof(fc.constantFrom(...(n > 0 ? c.appended : [0])), fc.nat(120));
  const entryArb = fc
    .record({ seq: seqArb, variant: fc.oneof({ weight: 5, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.constant(1) }) })
    .map(({ seq, variant }) => ({ seq, digest: digest(seq, variant) }));
  return fc.oneof(runArb, fc.array(entryArb, { maxLength: 8 }));
}

describe('oracle contract (property)', () => {
  it('says held exactly when the recovered list is an outcome the contract allows', () => {
    fc.assert(
      fc.property(
        caseArb.chain((c) => fc.tuple(fc.constant(c), recoveredArb(c))),
        ([c, recovered]) => {
          const verdict = judgeCrash({ history: c.history, recovered });
          expect(verdict.status === 'held').toBe(allowed(c, recovered));
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('counts acknowledged-but-lost as acked seqs at or above the truncation floor that were not recovered', () => {
    fc.assert(
      fc.property(
        caseArb.chain((c) => fc.tuple(fc.constant(c), recoveredArb(c))),
        ([c, recovered]) => {
          const verdict = judgeCrash({ history: c.history, recovered });
          const floors = c.history.flatMap((e) => (e.type === 'truncating' || e.type === 'truncated' ? [e.beforeSeq] : []));
          const floor = floors.length > 0 ? Math.max(...floors) : -Infinity;
          const present = new Set(recovered.map((r) => r.seq));
          const acked = new Set(c.history.flatMap((e) => (e.type === 'acked' ? [e.seq] : [])));
          expect(verdict.loss.ackedButLost).toBe([...acked].filter((s) => s >= floor && !present.has(s)).length);
          expect(verdict.loss.lost + verdict.loss.truncatedAway).toBe(c.appended.filter((s) => !present.has(s)).length);
          // Loss beyond the contract is exactly what makes durability fail.
          expect(verdict.loss.lostBeyondContract > 0).toBe(verdict.checks.durability.status === 'violated');
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('never requires anything of the none strategy', () => {
    fc.assert(
      fc.property(
        caseArb.filter((c) => c.strategy === 'none'),
        (c) => {
          const verdict = judgeCrash({ history: c.history, recovered: [] });
          expect(verdict.checks.durability.status).toBe('held');
          expect(verdict.loss.lostBeyondContract).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});
