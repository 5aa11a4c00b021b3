import { describe, expect, it } from 'vitest';
import { PayloadSource } from '../../src/workload/payload-source.js';
import { deriveSeed, seededRandom } from '../../src/workload/seeded-random.js';

describe('seeded random', () => {
  it('replays the same sequence for the same seed and a different one for another seed', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const c = seededRandom(43);
    const seqA = Array.from({ length: 50 }, () => a.next());
    const seqB = Array.from({ length: 50 }, () => b.next());
    const seqC = Array.from({ length: 50 }, () => c.next());
    expect(seqA).toEqual(seqB);
    expect(seqA).not.toEqual(seqC);
    for (const v of seqA) expect(v >= 0 && v < 1).toBe(true);
  });

  it('does not alias seeds that differ only above 2^32', () => {
    expect(seededRandom(5).next()).not.toBe(seededRandom(5 + 2 ** 32).next());
  });

  it('keeps int() inside its inclusive bounds and reaches both ends', () => {
    const r = seededRandom(7);
    const seen = new Set<number>();
    for (let i = 0; i < 2000; i++) {
      const v = r.int(-3, 3);
      expect(v).toBeGreaterThanOrEqual(-3);
      expect(v).toBeLessThanOrEqual(3);
      seen.add(v);
    }
    expect([...seen].sort((x, y) => x - y)).toEqual([-3, -2, -1, 0, 1, 2, 3]);
    expect(() => r.int(2, 1)).toThrow(RangeError);
  });

  it('fills odd-length buffers completely and deterministically', () => {
    const x = Buffer.alloc(13);
    const y = Buffer.alloc(13);
    seededRandom(9).fill(x);
    seededRandom(9).fill(y);
    expect(x.equals(y)).toBe(true);
    expect(x.subarray(12).equals(Buffer.alloc(1))).toBe(false);
  });

  it('derives stable child seeds that differ by label', () => {
    expect(deriveSeed(1, 'trial', 0)).toBe(deriveSeed(1, 'trial', 0));
    expect(deriveSeed(1, 'trial', 0)).not.toBe(deriveSeed(1, 'trial', 1));
    expect(deriveSeed(1, 'trial', 0)).not.toBe(deriveSeed(2, 'trial', 0));
    const seeds = new Set(Array.from({ length: 1000 }, (_, i) => deriveSeed(123, 'trial', i)));
    expect(seeds.size).toBe(1000);
  });
});

describe('payload source', () => {
  it('produces the same payloads for the same seed, sized within bounds, stamped with their seq', () => {
    const a = new PayloadSource(11, 8, 64);
    const b = new PayloadSource(11, 8, 64);
    for (let seq = 1; seq <= 100; seq++) {
      const p = a.next(seq);
      expect(p.equals(b.next(seq))).toBe(true);
      expect(p.length).toBeGreaterThanOrEqual(8);
      expect(p.length).toBeLessThanOrEqual(64);
      expect(p.readBigUInt64LE(0)).toBe(BigInt(seq));
    }
  });

  it('leaves payloads shorter than a seq stamp unstamped', () => {
    const p = new PayloadSource(3, 0, 7).next(99);
    expect(p.length).toBeLessThan(8);
  });
});
