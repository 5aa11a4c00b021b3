import { seededRandom } from './seeded-random.js';

// The writer's payloads: sizes and bytes from the seed, so a replayed trial appends the same data.
// Payloads of 8 bytes or more start with their seq (little-endian u64): an entry recovered under
// the wrong seq then differs from what was appended there even if the random bytes were equal.
export class PayloadSource {
  private readonly random;

  constructor(
    seed: number,
    private readonly minSize: number,
    private readonly maxSize: number,
  ) {
    this.random = seededRandom(seed);
  }

  /** The next payload, to be appended under `seq`. */
  next(seq: number): Buffer {
    const size = this.random.int(this.minSize, this.maxSize);
    const payload = Buffer.allocUnsafe(size);
    this.random.fill(payload);
    if (size >= 8) payload.writeBigUInt64LE(BigInt(seq), 0);
    return payload;
  }
}
