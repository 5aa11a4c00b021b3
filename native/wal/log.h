// The WAL: the parts put together. Staging (staging.h) hands entries to the Committer
// (committer.h), which writes and syncs them into segments (segment.h), rotating through the
// SparePool (spare_pool.h); recovery (recovery.h) builds the starting state; Log keeps the segment
// index, the published watermarks and the failure, and serves reads and truncate.
//
// Threads (who calls what):
//  - caller threads (a JS thread of any worker that holds a handle): Append, RequestSync,
//    GetProgress, Add/RemoveNotifier. Append only copies into the staging buffer under the
//    staging's lock and never does I/O, so it is safe on an event loop.
//  - blocking-call threads (libuv's pool via the addon, or a test's own thread): Open, Read,
//    ReadRange, Truncate, Close.
//  - the committer thread (committer.cc): drains the staging buffer, writes, syncs per strategy,
//    rotates segments, publishes acknowledgements and calls Notifier::Notify.
//  - the syncer thread (periodic strategy only): fdatasync every period, publishes durable.
//  - the spare pool's preparer thread (spare_pool.h): prepares the next segment file ahead of
//    rotation.
// Open runs recovery (recovery.h) before any of these threads exists.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "commit_target.h"
#include "publish_hook.h"
#include "segment.h"
#include "staging.h"
#include "status.h"

namespace powercut::wal {

enum class Strategy { kFsync, kFdatasync, kDsync, kDirect, kPeriodic, kNone };

struct Options {
  uint64_t segment_size = 64ull << 20;
  Preallocation preallocate = Preallocation::kZero;
  bool recycle = true;
  Strategy strategy = Strategy::kFdatasync;
  bool group_commit = false;  // fsync|fdatasync|dsync|direct only (the TS layer checks)
  uint32_t period_ms = 10;    // periodic only
  bool sync_file_range = false;
  bool repair = false;
  // Inspect only: no file is created, written, renamed or removed, and no sync is issued. What
  // recovery would cut (a torn tail, segments below first-seq, a repair) is cut in memory only;
  // Append and Truncate fail with kReadOnly. Takes the directory lock shared, so writers wait.
  bool read_only = false;
  // How long the committer busy-waits for more work before sleeping, in microseconds. Waking a
  // sleeping thread costs tens of microseconds on a VM; a short spin keeps a serial writer's
  // append -> sync round trip close to a raw pwrite+fdatasync loop.
  uint32_t spin_us = 50;
  // Group commit only: how many units may be syncing at once (committer_group.cc). 1 is the
  // classic one-sync-at-a-time group commit; more helps a device that runs flushes in parallel
  // (on the virtio disk of the development VMs one larger sync beat two smaller ones).
  uint32_t sync_depth = 1;
  // Crash testing only: told of every promise at the moment it is published (publish_hook.h).
  std::shared_ptr<PublishHook> publish_hook;
};

struct RecoveryReport {
  uint64_t first_seq = 1;
  uint64_t last_seq = 0;
  uint64_t entries = 0;
  uint64_t torn_bytes = 0;
  uint64_t segments = 0;
  bool repaired = false;  // repair cut the log at mid-log corruption (details in `repair_status`)
  Status repair_status;
};

// Snapshot of the log's progress for a caller thread.
struct Progress {
  uint64_t acked = 0;          // every seq <= acked meets the strategy's acknowledgement condition
  uint64_t durable = 0;        // every seq <= durable is known durable
  uint64_t last_assigned = 0;  // highest seq handed out by Append
  bool failed = false;         // a write or sync failed: seqs > acked fail, writes are refused
  bool closed = false;
};

// Called on the committer or syncer thread after progress moves; must not block.
class Notifier {
 public:
  virtual ~Notifier() = default;
  virtual void Notify() = 0;
};

struct ReadEntry {
  uint64_t seq;
  size_t offset;  // of the payload in the returned buffer
  uint32_t length;
};

class Committer;
class SparePool;
class DirectoryLock;
struct RecoveredLog;

// Threads: see the top of this file. Log implements CommitTarget for its committer (privately:
// only the committer calls those).
class Log : CommitTarget {
 public:
  // Blocking. Recovers the directory (which must exist) and starts the threads.
  static Result<std::shared_ptr<Log>> Open(const std::string& dir, const Options& options);
  ~Log();

  // Caller thread. Stages one entry; returns its sequence. Never blocks on I/O. With
  // release=false the entry waits for Release(): a caller that appends several entries in one go
  // hands them over as one batch, so group commit gets whole batches instead of a first entry
  // alone followed by the rest. Only group commit holds entries back; with any other setting
  // every append is handed over at once. (The addon uses AppendBatch instead: one call per turn.)
  Result<uint64_t> Append(const void* data, uint32_t len, bool release = true);
  // Caller thread. Stages and releases `n` entries with consecutive sequences in one go (see
  // Staging::AppendBatch): the addon's path, one call per event-loop turn of appends.
  BatchResult AppendBatch(const Payload* items, size_t n);
  // Caller thread. Hands everything staged so far to the committer.
  void Release();
  // Caller thread. Asks for everything appended so far to become durable; returns the sequence
  // `durable` will reach (for strategies that sync every ack this is just the last assigned seq).
  uint64_t RequestSync();
  Progress GetProgress();
  // Why the log failed (valid when GetProgress().failed).
  Status Failure();

  // Blocking. The payload of seq; kNotFound when truncated, not yet written or never appended.
  Status Read(uint64_t seq, std::vector<uint8_t>* payload);
  // Blocking. Consecutive written entries from `from`, up to about max_bytes of payload (at least
  // one entry). Empty when from > last written seq.
  Status ReadRange(uint64_t from, size_t max_bytes, std::vector<uint8_t>* data, std::vector<ReadEntry>* entries);
  // Blocking. Durably discards entries before `before` (first_seq <= before <= last assigned + 1).
  // Entries below it must already be durable: the caller syncs first.
  Status Truncate(uint64_t before);
  // Blocking. Writes and syncs everything staged, stops the threads, closes files. Idempotent.
  Status Close();

  void AddNotifier(Notifier* n);
  void RemoveNotifier(Notifier* n);

  const RecoveryReport& recovery() const { return recovery_; }
  const Options& options() const { return options_; }
  const std::string& dir() const { return dir_; }
  uint64_t max_payload() const { return max_payload_; }
  uint32_t direct_block() const { return direct_block_; }

  Log(const Log&) = delete;
  Log& operator=(const Log&) = delete;

 private:
  Log(std::string dir, const Options& options);
  // Takes over what recovery found (Open, before any thread starts).
  void Adopt(RecoveredLog& rec);

  // ---- CommitTarget (committer threads) ----
  void Publish(uint64_t acked, uint64_t durable) override;
  void Fail(const Status& s) override;
  void Written(Segment& seg, const std::vector<uint32_t>& offsets, uint64_t last_seq) override;
  void Rotated(std::shared_ptr<Segment> seg) override;
  bool WriteSnapshot(std::shared_ptr<Segment>* seg, uint64_t* written) override;
  uint64_t durable_seq() override { return durable_.load(); }

  void NotifyAll();

  const std::string dir_;
  const Options options_;
  uint64_t max_payload_ = 0;
  uint32_t direct_block_ = 4096;  // O_DIRECT offset/length alignment of the filesystem
  std::unique_ptr<DirectoryLock> lock_;  // held from recovery until Close (recovery.h)
  std::unique_ptr<SparePool> spares_;    // spare segment files and their preparer thread
  std::unique_ptr<Staging> staging_;     // the hand-off from callers to the committer (staging.h)
  RecoveryReport recovery_;

  // ---- guarded by mu_ (never held while taking the staging lock, nor the other way round) ----
  std::mutex mu_;
  uint64_t first_seq_ = 1;    // first live seq (after truncate)
  uint64_t written_seq_ = 0;  // highest seq written to a file
  bool closed_ = false;
  bool failed_ = false;
  Status failure_;
  std::deque<std::shared_ptr<Segment>> segments_;  // ascending first_seq; back() is active

  // ---- lock-free reads of progress ----
  std::atomic<uint64_t> acked_{0};
  std::atomic<uint64_t> durable_{0};

  std::mutex notify_mu_;
  std::vector<Notifier*> notifiers_;

  std::unique_ptr<Committer> committer_;
  std::mutex dir_mu_;  // serialises Close and Truncate: the directory changes under one of them at a time
};

}  // namespace powercut::wal
