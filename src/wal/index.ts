// The WAL's TypeScript face. Re-exports only.
//
// Acknowledgement per strategy (what `append()` resolving means):
//   fsync / fdatasync  write, then fsync / fdatasync, per append: durable.
//   dsync              the segment is open with O_DSYNC; each write is durable when it returns.
//   direct             O_DIRECT writes of entries padded to the filesystem's block size, then fdatasync: durable.
//   groupCommit        (with any of the four above) one native sync thread writes every waiting entry at once
//                      and syncs once for all of them: durable.
//   periodic           written to the page cache; a native syncer fdatasyncs every periodMs and advances the
//                      durable watermark (durableSeq(), onDurable(), waitDurable()).
//   none               written to the page cache; durable only after sync() or close().
// After any failed write or sync, every pending and later append rejects (WalError code of the failure, then
// WAL_FAILED) and the WAL refuses writes until it is reopened: a failed fsync is never retried.
//
// N writers sharing one WAL:
//   - in one event loop: call append() concurrently (do not await each before the next); with groupCommit the
//     committer batches them into one write + one sync.
//   - across worker_threads of one process: the opener calls `wal.share()` and posts the token to each worker;
//     a worker calls `Wal.attach(token)` and uses the returned Wal like any other (append, sync, read, ...).
//     Every handle feeds the same native log and committer thread, so group commit batches across workers too.
//     A worker's close() waits for its own appends and detaches; the opener's close() closes the WAL.
//     See test/native/wal-workers.test.ts for a complete example.
export { Wal } from './wal.js';
export type { RecoveryReport, WalShareToken } from './wal.js';
export { WalError } from './errors.js';
export type { WalErrorCode, WalErrorDetails } from './errors.js';
export { resolveOptions, STRATEGIES, PREALLOCATIONS, SYNC_STRATEGIES } from './options.js';
export type { Strategy, Preallocation, WalOptions, ResolvedOptions } from './options.js';
export { nativeModule } from './native.js';
