import { createHash } from 'node:crypto';
import { seededRandom, type Random } from '../workload/seeded-random.js';

// The built-in workloads' operations: a seeded sequence of inserts of new keys and overwrites of
// earlier ones, with values of seeded size and content, so a trial replays from its seed.

export interface Operation {
  key: string;
  value: Buffer;
  digest: string;
}

/** The digest the protocol carries for a value (the check prints the same for what it reads). */
export function digestOf(value: Uint8Array): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 16);
}

/** Operations of a seeded workload: about one in five overwrites an earlier key. */
export function* operations(seed: number, minBytes = 100, maxBytes = 6000): Generator<Operation> {
  const random: Random = seededRandom(seed);
  for (let i = 0; ; i++) {
    const key = i > 4 && random.next() < 0.2 ? `k${String(random.int(0, i - 1)).padStart(8, '0')}` : `k${String(i).padStart(8, '0')}`;
    const value = Buffer.alloc(random.int(minBytes, maxBytes));
    random.fill(value);
    yield { key, value, digest: digestOf(value) };
  }
}
