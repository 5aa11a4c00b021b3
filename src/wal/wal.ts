import { toWalError, WalError } from './errors.js';
import { nativeModule, type NativeWal } from './native.js';
import { resolveOptions, type ResolvedOptions, type WalOptions } from './options.js';
import { FifoWaiters, PENDING, UnorderedWaiters } from './seq-waiters.js';

export interface RecoveryReport {
  firstSeq: number;
  lastSeq: number;
  entries: number;
  /** Bytes after the last valid entry of the last segment that recovery zeroed (a torn tail). */
  tornBytes: number;
  segments: number;
  /** Set when `repair` cut the log at mid-log corruption: what was found where. */
  repaired?: WalError;
}

/** What another thread of this process needs to attach to an open WAL (structured-clone safe). */
export interface WalShareToken {
  readonly kind: 'powercut-wal-share';
  readonly id: number;
  readonly dir: string;
  readonly strategy: ResolvedOptions['strategy'];
  readonly groupCommit: boolean;
}

const READ_CHUNK = 1 << 20;
// A turn's batch buffer larger than this (a burst of large appends) is not kept for the next turn.
const MAX_KEPT_BATCH = 16 << 20;
// Event-loop polling (pollUs) only pays off while few appends wait: see #poll.
const POLL_MAX_WAITING = 4;

// Slots of the Float64Array the addon fills in progress().
const ACKED = 0;
const DURABLE = 1;
const LAST = 2;
const FAILED = 3;

export class Wal {
  readonly recovery: RecoveryReport;
  readonly dir: string;
  readonly options: Readonly<ResolvedOptions>;
  readonly #native: NativeWal;
  readonly #owner: boolean;
  readonly #maxPayload: number;
  readonly #share: WalShareToken;
  readonly #state = new Float64Array(5);
  readonly #appends = new FifoWaiters();
  readonly #acked = new UnorderedWaiters(); // reads waiting for their entry to be written
  readonly #durable = new UnorderedWaiters();
  readonly #durableListeners = new Set<(seq: number) => void>();
  #durableSeen: number;
  #firstSeq: number;
  #closing = false;
  /** Truncates not yet settled: close() resolves only after them (the core makes its Close wait for them too). */
  readonly #truncates = new Set<Promise<void>>();
  #closePromise: Promise<void> | undefined;
  #closed = false;
  #referenced = false;
  #failure: WalError | undefined;
  // This turn's appends, copied at append() (the caller may reuse its buffer at once) back to back
  // into one buffer, handed to the core as one batch by #flush: one N-API call, one lock and one
  // wake-up of the committer per turn instead of per append (issue 16 measured those at about
  // 3 us per commit at 64 writers). The buffers are kept from turn to turn.
  #batch = new Uint8Array(64 * 1024);
  #batchBytes = 0;
  #batchLengths = new Uint32Array(64);
  #batchCount = 0;
  readonly #batchOut = new Float64Array(2);
  #flushQueued = false;
  readonly #pollMs: number;
  #polling = false;
  #lastActivity = 0; // performance.now() of the last append or acknowledgement
  // While appends await acknowledgement, an immediate per loop turn keeps the event loop polling
  // instead of sleeping in epoll, so the committer's completion is picked up without the wake-up
  // of a sleeping thread (tens of microseconds on a VM, measured by src/bench/core-speed.ts).
  // Stops pollUs after the last activity, so a stalled disk or an idle WAL costs no CPU, and with
  // more than POLL_MAX_WAITING appends outstanding: a batch that large spends far longer in
  // fdatasync than a wake-up costs, and polling then measured slower (64 writers: about -20%).
  readonly #poll = (): void => {
    const waiting = this.#appends.size;
    if (waiting > 0 && waiting <= POLL_MAX_WAITING && !this.#closed && performance.now() - this.#lastActivity < this.#pollMs) {
      setImmediate(this.#poll);
    } else {
      this.#polling = false;
    }
  };
  // Hands this turn's appends to the core as one batch (Log::AppendBatch in native/wal/log.h): run
  // as a microtask, after the continuations of every append that resolved in the same turn, and
  // before anything that must see them staged (sync, truncate, close).
  readonly #flush = (): void => {
    this.#flushQueued = false;
    const count = this.#batchCount;
    if (count === 0) return;
    this.#batchCount = 0;
    this.#batchBytes = 0;
    const out = this.#batchOut;
    let refused: unknown;
    try {
      refused = this.#native.appendBatch(this.#batch, this.#batchLengths, count, out);
    } catch (err) {
      refused = err;
      out[1] = 0;
    }
    if (this.#batch.length > MAX_KEPT_BATCH) this.#batch = new Uint8Array(64 * 1024);
    this.#appends.assignPending(out[1] as number, out[0] as number);
    if (refused === undefined) return;
    // A refusal (WAL_FAILED) can overtake acknowledgements the core published before it failed
    // but the progress callback has not delivered yet. Settle them first: earlier appends resolve
    // (their reactions queue ahead of these rejections') and the rest reject with the failure, so
    // no acknowledgement ever follows a reported failure.
    this.#onProgress();
    this.#appends.rejectPending(toWalError(refused, new Error()));
    this.#updateRef();
  };

  /** Internal: use Wal.open() or Wal.attach(). (Public only so InstanceType<typeof Wal> works.) */
  constructor(native: NativeWal, dir: string, options: ResolvedOptions, owner: boolean) {
    this.#native = native;
    this.dir = dir;
    this.options = Object.freeze({ ...options });
    this.#owner = owner;
    this.#pollMs = options.pollUs / 1000;
    const info = native.info();
    this.#maxPayload = info.maxPayload;
    const r = info.recovery;
    this.recovery = {
      firstSeq: r.firstSeq,
      lastSeq: r.lastSeq,
      entries: r.entries,
      tornBytes: r.tornBytes,
      segments: r.segments,
      ...(r.repaired !== undefined ? { repaired: toWalError(r.repaired) } : {}),
    };
    this.#firstSeq = r.firstSeq;
    this.#share = Object.freeze({ kind: 'powercut-wal-share', id: info.id, dir, strategy: options.strategy, groupCommit: options.groupCommit });
    native.progress(this.#state);
    this.#durableSeen = this.#state[DURABLE] as number;
    native.listen(() => this.#onProgress());
  }

  /** Opens (recovering) the WAL in `dir`, an existing directory holding only WAL files. */
  static async open(dir: string, options?: WalOptions): Promise<Wal> {
    const site = new Error();
    if (typeof dir !== 'string' || dir.length === 0) throw new WalError('WAL_INVALID_ARGUMENT', 'dir must be a non-empty string');
    const resolved = resolveOptions(options);
    const native = nativeModule();
    try {
      const handle = await native.open(dir, resolved);
      return new Wal(handle, dir, resolved, true);
    } catch (err) {
      throw toWalError(err, site);
    }
  }

  /**
   * In a worker_thread of the same process: a handle on the WAL another thread opened, from the
   * token its `share()` returned (pass it with postMessage). Appends from every handle go through
   * the one native log and its one committer thread. close() on an attached handle waits for this
   * handle's own appends to settle and detaches; only the opener's close() closes the WAL.
   */
  static attach(token: WalShareToken): Wal {
    if (typeof token !== 'object' || token === null || token.kind !== 'powercut-wal-share' || !Number.isSafeInteger(token.id)) {
      throw new WalError('WAL_INVALID_ARGUMENT', 'attach() takes the token returned by Wal.share()');
    }
    let handle: NativeWal;
    try {
      handle = nativeModule().attach(token.id);
    } catch (err) {
      throw toWalError(err, new Error());
    }
    return new Wal(handle, token.dir, resolveOptions({ strategy: token.strategy, groupCommit: token.groupCommit === true }), false);
  }

  /** A token other worker_threads of this process pass to Wal.attach(). */
  share(): WalShareToken {
    return this.#share;
  }

  /** Largest payload one entry can hold with this segment size. */
  get maxPayload(): number {
    return this.#maxPayload;
  }

  /** Appends one entry; resolves with its sequence once the strategy's acknowledgement condition holds. */
  append(payload: Uint8Array): Promise<number> {
    if (!(payload instanceof Uint8Array)) {
      return Promise.reject(new WalError('WAL_INVALID_ARGUMENT', 'payload must be a Uint8Array (or Buffer)'));
    }
    if (payload.byteLength > this.#maxPayload) {
      return Promise.reject(
        new WalError('WAL_INVALID_ARGUMENT', `payload of ${payload.byteLength} bytes exceeds the maximum of ${this.#maxPayload} for this segment size`),
      );
    }
    if (this.#closing) return Promise.reject(new WalError('WAL_CLOSED', 'the WAL is closed'));
    this.#stage(payload);
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(this.#flush);
    }
    if (this.#pollMs > 0) {
      this.#lastActivity = performance.now();
      if (!this.#polling && this.#appends.size < POLL_MAX_WAITING) {
        this.#polling = true;
        setImmediate(this.#poll);
      }
    }
    return new Promise<number>((resolve, reject) => {
      this.#appends.push(PENDING, resolve, reject);
      this.#updateRef();
    });
  }

  // Copies a payload into this turn's batch (growing its buffers by doubling).
  #stage(payload: Uint8Array): void {
    const len = payload.byteLength;
    const at = this.#batchBytes;
    if (at + len > this.#batch.length) {
      const grown = new Uint8Array(Math.max(this.#batch.length * 2, at + len));
      grown.set(this.#batch.subarray(0, at));
      this.#batch = grown;
    }
    this.#batch.set(payload, at);
    this.#batchBytes = at + len;
    if (this.#batchCount === this.#batchLengths.length) {
      const grown = new Uint32Array(this.#batchLengths.length * 2);
      grown.set(this.#batchLengths);
      this.#batchLengths = grown;
    }
    this.#batchLengths[this.#batchCount++] = len;
  }

  /** Resolves once every entry appended so far (by any handle) is durable. */
  async sync(): Promise<void> {
    const site = new Error();
    this.#assertOpen(site);
    if (this.#failure !== undefined) throw this.#failedError(site);
    this.#flush(); // this turn's appends are part of "appended so far"
    let target: number;
    try {
      target = this.#native.requestSync();
    } catch (err) {
      this.#onProgress(); // as in append: deliver what was acknowledged before the refusal
      throw toWalError(err, site);
    }
    await this.#waitDurable(target, site);
  }

  /** The payload of entry `seq` (waits for it to be written if it was just appended). */
  async read(seq: number): Promise<Buffer> {
    const site = new Error();
    this.#assertOpen(site);
    this.#checkSeq(seq, 'seq', site);
    this.#native.progress(this.#state);
    if (seq > (this.#state[LAST] as number)) {
      throw toWalError(new WalError('WAL_NOT_FOUND', `sequence ${seq} was never appended (last is ${this.#state[LAST]})`), site);
    }
    if (seq > (this.#state[ACKED] as number)) await this.#waitAcked(seq, site);
    try {
      return await this.#native.read(seq);
    } catch (err) {
      throw toWalError(err, site);
    }
  }

  /**
   * Entries from `fromSeq` (default: the first live one) through the last acknowledged when each
   * chunk is read; payloads are views into chunk buffers.
   */
  async *entries(fromSeq?: number): AsyncIterable<{ seq: number; payload: Buffer }> {
    const site = new Error();
    this.#assertOpen(site);
    let next = fromSeq ?? this.#firstSeq;
    this.#checkSeq(next, 'fromSeq', site);
    for (;;) {
      if (this.#closed) throw toWalError(new WalError('WAL_CLOSED', 'the WAL was closed during iteration'), site);
      this.#native.progress(this.#state);
      if (next > (this.#state[ACKED] as number)) return;
      let chunk: [Buffer, Float64Array];
      try {
        chunk = await this.#native.readRange(next, READ_CHUNK);
      } catch (err) {
        throw toWalError(err, site);
      }
      const [data, index] = chunk;
      if (index.length === 0) return;
      for (let i = 0; i < index.length; i += 3) {
        const seq = index[i] as number;
        const off = index[i + 1] as number;
        const len = index[i + 2] as number;
        yield { seq, payload: data.subarray(off, off + len) };
        next = seq + 1;
      }
    }
  }

  /** Durably discards every entry before `beforeSeq` (syncing first what it keeps). */
  truncate(beforeSeq: number): Promise<void> {
    const done = this.#truncate(beforeSeq, new Error());
    const tracked = done.then(
      () => undefined,
      () => undefined,
    );
    this.#truncates.add(tracked);
    void tracked.then(() => this.#truncates.delete(tracked));
    return done;
  }

  async #truncate(beforeSeq: number, site: Error): Promise<void> {
    this.#assertOpen(site);
    this.#checkSeq(beforeSeq, 'beforeSeq', site);
    this.#native.progress(this.#state);
    const last = this.#state[LAST] as number;
    if (beforeSeq > last + 1) {
      throw toWalError(new WalError('WAL_INVALID_ARGUMENT', `truncate(${beforeSeq}) is past the end of the log (last sequence ${last})`), site);
    }
    // Entries below beforeSeq must not outlive... rather: the first-seq record must never point past
    // durable data, or a crash could leave a log whose start is beyond its end.
    await this.#waitDurable(beforeSeq - 1, site, true);
    try {
      await this.#native.truncate(beforeSeq);
    } catch (err) {
      throw toWalError(err, site);
    }
    this.#firstSeq = Math.max(this.#firstSeq, beforeSeq);
  }

  /** Highest sequence known durable (the durable watermark). */
  durableSeq(): number {
    if (!this.#closed) this.#native.progress(this.#state);
    return this.#state[DURABLE] as number;
  }

  /** Calls `listener` with the new watermark each time it advances; returns the unsubscribe function. */
  onDurable(listener: (seq: number) => void): () => void {
    if (typeof listener !== 'function') throw new WalError('WAL_INVALID_ARGUMENT', 'listener must be a function');
    this.#durableListeners.add(listener);
    return () => {
      this.#durableListeners.delete(listener);
    };
  }

  /** Resolves once entry `seq` is durable (for 'none' that takes a sync() or close()). */
  async waitDurable(seq: number): Promise<void> {
    const site = new Error();
    this.#checkSeq(seq, 'seq', site);
    await this.#waitDurable(seq, site);
  }

  /**
   * Writes and syncs what is pending, then closes (an attached handle only detaches). Every call
   * returns the same promise: a second close() settles only once the first has finished, so the
   * directory is free when either resolves.
   */
  close(): Promise<void> {
    this.#closePromise ??= this.#close(new Error());
    return this.#closePromise;
  }

  async #close(site: Error): Promise<void> {
    this.#closing = true;
    this.#flush(); // appends made before close() are written and synced like every other
    if (!this.#owner && this.#appends.size > 0) {
      // Let this handle's own appends settle through the owner's log before detaching.
      await this.#waitAcked(this.#appends.last(), site).catch(() => undefined);
    }
    let closeError: WalError | undefined;
    try {
      await this.#native.close();
    } catch (err) {
      closeError = toWalError(err, site);
    }
    this.#native.progress(this.#state);
    this.#onProgress();
    this.#closed = true;
    const closed = new WalError('WAL_CLOSED', 'the WAL was closed');
    this.#appends.rejectAll(() => this.#failure ?? closed);
    this.#acked.rejectAll(this.#failure ?? closed);
    this.#durable.rejectAll(this.#failure ?? closed);
    this.#updateRef();
    // A truncate that was running settles first: whoever awaits close() sees its outcome already.
    await Promise.all(this.#truncates);
    if (closeError !== undefined && this.#failure === undefined) throw closeError;
  }

  // ---- internals ----

  // Called (through the addon's thread-safe function) after the committer or syncer published.
  #onProgress(): void {
    if (this.#closed) return;
    const s = this.#state;
    this.#native.progress(s);
    const acked = s[ACKED] as number;
    const durable = s[DURABLE] as number;
    if (this.#appends.settleUpTo(acked) > 0 && this.#pollMs > 0) this.#lastActivity = performance.now();
    this.#acked.settleUpTo(acked);
    if (durable > this.#durableSeen) {
      this.#durableSeen = durable;
      this.#durable.settleUpTo(durable);
      for (const listener of this.#durableListeners) listener(durable);
    }
    if (s[FAILED] === 1 && this.#failure === undefined) {
      const cause = toWalError(this.#native.failure());
      this.#failure = cause;
      // fsyncgate: nothing after the last acknowledgement is acknowledged, ever.
      this.#appends.rejectAll((seq) => toWalError(cause, undefined, { seq }));
      this.#acked.rejectAll(cause);
      this.#durable.rejectAll(cause);
    }
    this.#updateRef();
  }

  // Keep the event loop alive exactly while something waits on the native side.
  #updateRef(): void {
    const waiting = !this.#closed && this.#appends.size + this.#acked.size + this.#durable.size > 0;
    if (waiting !== this.#referenced) {
      this.#referenced = waiting;
      if (waiting) this.#native.ref();
      else if (!this.#closed || this.#owner) this.#native.unref();
    }
  }

  #waitAcked(seq: number, site: Error): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failedError(site));
    const p = this.#acked.wait(seq);
    this.#updateRef();
    this.#native.progress(this.#state);
    this.#acked.settleUpTo(this.#state[ACKED] as number);
    this.#updateRef();
    return p.catch((err: unknown) => {
      throw toWalError(err, site);
    });
  }

  async #waitDurable(seq: number, site: Error, requestSync = false): Promise<void> {
    if (!this.#closed) this.#native.progress(this.#state);
    if (seq <= (this.#state[DURABLE] as number)) return;
    if (this.#failure !== undefined) throw this.#failedError(site);
    if (this.#closed) throw toWalError(new WalError('WAL_CLOSED', 'the WAL is closed'), site);
    if (seq > (this.#state[LAST] as number)) {
      throw toWalError(new WalError('WAL_INVALID_ARGUMENT', `sequence ${seq} was never appended (last is ${this.#state[LAST]})`), site);
    }
    if (requestSync) {
      this.#flush();
      this.#native.requestSync();
    }
    const p = this.#durable.wait(seq);
    this.#updateRef();
    // The watermark may have moved between the check and the wait.
    this.#onProgress();
    try {
      await p;
    } catch (err) {
      throw toWalError(err, site);
    }
  }

  #failedError(site: Error): WalError {
    return toWalError(this.#failure, site, { code: 'WAL_FAILED' });
  }

  #assertOpen(site: Error): void {
    if (this.#closing) throw toWalError(new WalError('WAL_CLOSED', 'the WAL is closed'), site);
  }

  #checkSeq(seq: unknown, name: string, site: Error): asserts seq is number {
    if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) {
      throw toWalError(new WalError('WAL_INVALID_ARGUMENT', `${name} must be an integer >= 1, got ${String(seq)}`), site);
    }
  }
}
