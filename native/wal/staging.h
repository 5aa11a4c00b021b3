// Staging: the hand-off of appended entries from caller threads to the committer. One type with
// its own lock and counters (issue 11): callers stage entries and ask for syncs; the committer
// takes what is staged. Group commit's leader/follower state waits on the same lock (committer.h
// says so), because every event that moves the lead is a staging event.
//
// Threads: Append, Release, RequestSync, last_assigned, Close, Fail on any caller or blocking-call
// thread; the *Locked methods on committer threads with mutex() held; ready(), sync_requested(),
// staged_bytes() and last_release_entries() lock-free, for the committer's short spins.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "status.h"

namespace powercut::wal {

// A growable byte buffer without the zero-initialisation std::vector does on resize.
class ByteBuffer {
 public:
  ByteBuffer() = default;
  ByteBuffer(const ByteBuffer&) = delete;
  ByteBuffer& operator=(const ByteBuffer&) = delete;
  ~ByteBuffer();
  uint8_t* Extend(size_t n);  // grows by n bytes, returns a pointer to them
  void Clear() { len_ = 0; }
  void Swap(ByteBuffer& o) noexcept;
  uint8_t* data() { return data_; }
  size_t size() const { return len_; }
  bool empty() const { return len_ == 0; }

 private:
  uint8_t* data_ = nullptr;
  size_t len_ = 0;
  size_t cap_ = 0;
};

// Told when work arrives while no committer thread sleeps on the staging's own condition
// variable (group commit's followers wait elsewhere). Called with Staging::mutex() held.
class StagingWaker {
 public:
  virtual void WakeIdleLocked() = 0;

 protected:
  ~StagingWaker() = default;
};

// One payload of a batch (Staging::AppendBatch).
struct Payload {
  const void* data;
  uint32_t len;
};

// What AppendBatch staged: `staged` entries from `first` on; `status` says why the rest (if any)
// was refused.
struct BatchResult {
  uint64_t first = 0;
  size_t staged = 0;
  Status status;
};

class Staging {
 public:
  // next_seq: the sequence the first append gets. hold_back: entries wait for Release() (group
  // commit: one event-loop turn's appends become one batch); otherwise every append is released.
  Staging(uint64_t next_seq, bool hold_back);

  // ---- callers ----
  // Stages one entry; returns its sequence. Never blocks on I/O. Refuses after Fail, after Close,
  // and past kMaxSeq (kOutOfRange).
  Result<uint64_t> Append(const void* data, uint32_t len, bool release);
  // Stages `n` entries under one lock and releases them: one call, one lock and at most one
  // wake-up for a whole batch (the addon hands over one event-loop turn's appends this way).
  // Stages the longest prefix that may be staged (all, unless the last sequence is reached).
  BatchResult AppendBatch(const Payload* items, size_t n);
  void Release();
  // Everything appended so far should become durable: releases it and flags a sync request unless
  // `durable` already covers it. Returns the sequence `durable` must reach.
  uint64_t RequestSync(uint64_t durable);
  uint64_t last_assigned();
  bool closing();
  void Close();
  void Fail(const Status& failure);
  void SetWaker(StagingWaker* waker);  // before any append

  // ---- committer, lock-free ----
  bool ready() const { return ready_.load(std::memory_order_acquire); }
  bool sync_requested() const { return sync_requested_.load(std::memory_order_acquire); }
  size_t staged_bytes() const { return staged_bytes_.load(std::memory_order_relaxed); }
  uint64_t last_release_entries() const { return last_release_entries_.load(std::memory_order_relaxed); }

  // ---- committer, mutex() held ----
  std::mutex& mutex() { return mu_; }
  bool closing_locked() const { return closing_; }
  bool failed_locked() const { return failed_; }
  bool empty_locked() const { return entries_.empty(); }
  // Moves everything staged into `into` (which must be empty) and returns the first one's
  // sequence; clears ready(). The caller decides what to do with sync_requested().
  uint64_t TakeLocked(ByteBuffer& into);
  bool TakeSyncRequestLocked() { return sync_requested_.exchange(false); }
  // After a failure nothing more is written: drops what is staged and any request.
  void DropLocked();
  // Sleeps until WakeLocked (work, a sync request, Close) or a spurious wake-up.
  void SleepLocked(std::unique_lock<std::mutex>& lk);
  // Group commit, lock taken inside: takes entries staged but not yet released, if any.
  bool TakeUnreleased(ByteBuffer& into, uint64_t* first);

  Staging(const Staging&) = delete;
  Staging& operator=(const Staging&) = delete;

 private:
  void WakeLocked();
  // Why an append is refused now (failed, closed), or ok.
  Status RefusalLocked() const;
  static Status OutOfRange(uint64_t seq);

  const bool hold_back_;
  std::mutex mu_;
  std::condition_variable work_cv_;
  // ---- guarded by mu_ ----
  ByteBuffer entries_;
  uint64_t staged_first_;        // seq of the first entry in entries_
  uint64_t next_seq_;            // next seq Append hands out
  uint64_t released_seq_;        // highest seq handed to the committer (Append / Release)
  bool committer_waiting_ = false;
  bool closing_ = false;
  bool failed_ = false;
  Status failure_;
  StagingWaker* waker_ = nullptr;
  // ---- lock-free reads ----
  std::atomic<bool> ready_{false};  // staged entries were released; the committer's spin watches this
  std::atomic<bool> sync_requested_{false};
  std::atomic<size_t> staged_bytes_{0};            // group commit's prewrite watches this
  std::atomic<uint64_t> last_release_entries_{0};  // entries the last Release handed over
};

}  // namespace powercut::wal
