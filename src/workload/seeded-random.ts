// A small seeded PRNG (sfc32, seeded through splitmix32) so the same seed always produces the same
// payloads and the same trial plans, in the writer and in the harness alike. Math.random cannot be
// seeded, and replaying a failing trial from its seed is the point.

/** A deterministic random source. */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [min, max] (both inclusive). */
  int(min: number, max: number): number;
  /** Fills `out` with random bytes. */
  fill(out: Uint8Array): void;
  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T;
}

function splitmix32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x9e3779b9) >>> 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** A generator for `seed` (any safe integer; the same seed gives the same sequence). */
export function seededRandom(seed: number): Random {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
  // Fold both halves of a 53-bit seed into the state so seeds above 2^32 are not aliased.
  const mix = splitmix32((seed >>> 0) ^ Math.imul(Math.floor(seed / 0x100000000) >>> 0, 0x27d4eb2d));
  let a = mix();
  let b = mix();
  let c = mix();
  let d = mix();
  const u32 = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = ((c << 21) | (c >>> 11)) >>> 0;
    c = (c + t) >>> 0;
    return t;
  };
  // Discard the first outputs: sfc32's state needs a few rounds to spread a small seed.
  for (let i = 0; i < 12; i++) u32();
  const next = (): number => u32() / 0x100000000;
  return {
    next,
    int(min, max) {
      if (!Number.isSafeInteger(min) || !Number.isSafeInteger(max) || max < min) throw new RangeError(`bad range [${min}, ${max}]`);
      return min + Math.floor(next() * (max - min + 1));
    },
    fill(out) {
      let i = 0;
      for (; i + 4 <= out.length; i += 4) {
        const v = u32();
        out[i] = v & 0xff;
        out[i + 1] = (v >>> 8) & 0xff;
        out[i + 2] = (v >>> 16) & 0xff;
        out[i + 3] = v >>> 24;
      }
      if (i < out.length) {
        const v = u32();
        for (let k = 0; i < out.length; i++, k++) out[i] = (v >>> (8 * k)) & 0xff;
      }
    },
    pick(items) {
      if (items.length === 0) throw new RangeError('pick from an empty list');
      return items[Math.floor(next() * items.length)] as (typeof items)[number];
    },
  };
}

/** A child seed derived from a parent seed and a label, so trial i of seed S is always the same. */
export function deriveSeed(parent: number, ...labels: (string | number)[]): number {
  let h = 0x811c9dc5 ^ (parent >>> 0);
  const text = `${Math.floor(parent / 0x100000000)}|${labels.join('|')}`;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193) >>> 0;
  // 31 bits keep derived seeds readable and safe to pass on any command line.
  return splitmix32(h)() & 0x7fffffff;
}
