// Promises waiting for a sequence watermark to reach a value. Appends arrive in increasing
// sequence order per handle, so a FIFO with a moving head settles them in O(1) each; other waits
// (sync, read, waitDurable) may come in any order and are few, so they live in a small array.
// An append learns its sequence only when its turn's batch is staged (Wal.append): until then it
// waits at the FIFO's tail as PENDING, which no watermark reaches.

/** The sequence of an append whose batch has not been staged yet. */
export const PENDING = Number.POSITIVE_INFINITY;

export class FifoWaiters {
  #seqs: number[] = [];
  #resolves: ((seq: number) => void)[] = [];
  #rejects: ((err: Error) => void)[] = [];
  #head = 0;

  get size(): number {
    return this.#seqs.length - this.#head;
  }

  // `seq` must be greater than every seq already queued (PENDING always is).
  push(seq: number, resolve: (seq: number) => void, reject: (err: Error) => void): void {
    this.#seqs.push(seq);
    this.#resolves.push(resolve);
    this.#rejects.push(reject);
  }

  // Index of the oldest PENDING waiter (the length when none is).
  #pendingStart(): number {
    let i = this.#seqs.length;
    while (i > this.#head && this.#seqs[i - 1] === PENDING) i--;
    return i;
  }

  // The oldest `count` PENDING waiters get sequences first, first+1, ... (their batch was staged).
  assignPending(count: number, first: number): void {
    const i = this.#pendingStart();
    for (let k = 0; k < count && i + k < this.#seqs.length; k++) this.#seqs[i + k] = first + k;
  }

  // Rejects every PENDING waiter (its batch was refused), oldest first, with `err`; returns how many.
  rejectPending(err: Error): number {
    const i = this.#pendingStart();
    const rejects = this.#rejects.splice(i);
    this.#seqs.length = i;
    this.#resolves.length = i;
    for (const reject of rejects) reject(err);
    this.#compact();
    return rejects.length;
  }

  /** Highest queued seq, or 0 (PENDING while the newest append's batch is not staged). */
  last(): number {
    return this.size === 0 ? 0 : (this.#seqs[this.#seqs.length - 1] as number);
  }

  // Resolves every waiter with seq <= watermark; returns how many.
  settleUpTo(watermark: number): number {
    let n = 0;
    while (this.#head < this.#seqs.length && (this.#seqs[this.#head] as number) <= watermark) {
      const seq = this.#seqs[this.#head] as number;
      const resolve = this.#resolves[this.#head] as (seq: number) => void;
      this.#head++;
      n++;
      resolve(seq);
    }
    this.#compact();
    return n;
  }

  // Rejects every remaining waiter with errorFor(seq) (seq undefined for a PENDING one).
  rejectAll(errorFor: (seq: number | undefined) => Error): number {
    let n = 0;
    while (this.#head < this.#seqs.length) {
      const seq = this.#seqs[this.#head] as number;
      const reject = this.#rejects[this.#head] as (err: Error) => void;
      this.#head++;
      n++;
      reject(errorFor(seq === PENDING ? undefined : seq));
    }
    this.#compact();
    return n;
  }

  #compact(): void {
    if (this.#head === this.#seqs.length) {
      this.#seqs.length = 0;
      this.#resolves.length = 0;
      this.#rejects.length = 0;
      this.#head = 0;
    } else if (this.#head > 4096 && this.#head * 2 > this.#seqs.length) {
      this.#seqs = this.#seqs.slice(this.#head);
      this.#resolves = this.#resolves.slice(this.#head);
      this.#rejects = this.#rejects.slice(this.#head);
      this.#head = 0;
    }
  }
}

interface Waiter {
  seq: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class UnorderedWaiters {
  #list: Waiter[] = [];

  get size(): number {
    return this.#list.length;
  }

  wait(seq: number): Promise<void> {
    return new Promise((resolve, reject) => this.#list.push({ seq, resolve, reject }));
  }

  settleUpTo(watermark: number): number {
    if (this.#list.length === 0) return 0;
    const keep: Waiter[] = [];
    let n = 0;
    for (const w of this.#list) {
      if (w.seq <= watermark) {
        n++;
        w.resolve();
      } else {
        keep.push(w);
      }
    }
    this.#list = keep;
    return n;
  }

  rejectAll(err: Error): number {
    const list = this.#list;
    this.#list = [];
    for (const w of list) w.reject(err);
    return list.length;
  }
}
