// The WAL's TypeScript face. Re-exports only.
//
// Acknowledgement per strategy (what `append()` resolving means):
//   fsync / fdatasync  write, then fsync / fdatasync, per append: durable.
//   dsync              the segment is open with O_DSYNC; each write is durable when it returns.
//   direct             O_DIRECT writes of entries padded to the filesystem's block size, then fdatasync: durable.
//   groupCommit        (with any of the four above) one native sync thread writes every waiting entry at once
//                      and syncs once for all of them: durable.
//                      (syncDepth N: up to N batches sync at once, each on its own descriptor, acked in batch order)
//   periodic           written to the page cache; a native syncer fdatasyncs every periodMs and advances the
//                      durable watermark (durableSeq(), onDurable(), waitDurable()).
//   none               written to the page cache; durable only after sync() or close().
// After any failed write or sync, every pending and later append rejects (WalError code of the failure, then
// WAL_FAILED) and the WAL refuses writes until it is reopened: a failed fsync is never retried.
//
// How appends reach the disk: append() copies the payload into a native staging buffer (one N-API call, no
// I/O) and returns a promise; a dedicated native committer thread writes and syncs; completions come back
// through one thread-safe function call per batch. With groupCommit, the appends made in one event-loop turn
// are handed over together (a microtask after the turn's last append), so one sync covers all of them; the
// committer already copies them to the page cache while the turn is still appending.
//
// N writers sharing one WAL:
//   - in one event loop: call append() concurrently (do not await each before the next); with groupCommit the
//     committer batches them into one write + one sync.
//   - across worker_threads of one process: the opener calls `wal.share()` and posts the token to each worker;
//     a worker calls `Wal.attach(token)` and uses the returned Wal like any other (append, sync, read, ...).
//     Every handle feeds the same native log and committer thread, so group commit batches across workers too.
//     A worker's close() waits for its own appends and detaches; the opener's close() closes the WAL.
//     See test/addon/wal-workers.test.ts and wal-worker-writer.ts for a complete example (a worker running
//     TypeScript through tsx registers tsx's loader first: test/addon/wal-worker-boot.mjs).
export { Wal } from './wal.js';
export type { RecoveryReport, WalShareToken } from './wal.js';
export { WalError } from './errors.js';
export type { WalErrorCode, WalErrorDetails } from './errors.js';
export { resolveOptions, STRATEGIES, PREALLOCATIONS, SYNC_STRATEGIES } from './options.js';
export type { Strategy, Preallocation, WalOptions, ResolvedOptions, PublishMarks } from './options.js';
export { nativeModule } from './native.js';
