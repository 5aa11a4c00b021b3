// Durability strategies and group commit: the committer thread (and, for `periodic`, the syncer
// thread). The committer is the only thread that writes entries or rotates segments.
//
// Per strategy, what one "unit" is and what acknowledging it waits for:
//   fsync / fdatasync / dsync / direct, groupCommit off: a unit is ONE entry: write it, sync it
//     (fsync / fdatasync / nothing because of O_DSYNC / fdatasync after an O_DIRECT write), ack.
//   the same with groupCommit on: a unit is everything staged since the last unit, written with one
//     pwrite and synced once for every waiting appender (leader/follower as in OkayWAL, PostgreSQL).
//     Up to sync_depth units are in flight at once (committer_group.cc): one thread leads (takes
//     and writes the next unit) while the others sync theirs; acknowledgements follow unit order.
//     The group-commit threads run GroupRun instead of Run.
//   periodic / none: a unit is everything staged; ack after the write. periodic's syncer thread
//     fdatasyncs every period_ms and publishes the durable watermark.
// A failed write or sync fails the log (fsyncgate): the committer never retries, never acks again.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "log.h"
#include "spare_pool.h"
#include "staging.h"
#include "thread_name.h"

namespace powercut::wal {

// A spin-wait hint to the CPU (the committer's short busy-waits, see Options::spin_us).
inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#endif
}

// The committer's short busy-waits (Options::spin_us): a wait that has spent its budget gives up
// and sleeps. The clock is read only every 64 turns, so a turn costs a pause, not a clock call.
class SpinBudget {
 public:
  explicit SpinBudget(std::chrono::microseconds spin) : spin_(spin) { Renew(); }
  // Work arrived while spinning: the budget starts again.
  void Renew() { deadline_ = std::chrono::steady_clock::now() + spin_; }
  // One turn of waiting (a CPU pause); true once the budget is spent.
  bool Spent() {
    CpuRelax();
    return (++turns_ & 63) == 0 && std::chrono::steady_clock::now() >= deadline_;
  }

 private:
  std::chrono::microseconds spin_;
  std::chrono::steady_clock::time_point deadline_;
  uint32_t turns_ = 0;
};

class Committer : StagingWaker {
 public:
  Committer(const Options& options, const std::string& dir, uint32_t direct_block, Staging& staging,
            SparePool& spares, CommitTarget& target, uint64_t written_seq);
  ~Committer();
  void Start();
  // Staging::Close has been called: drains, final sync, joins every committer thread.
  void Join();
  // Segment the committer writes to; set before Start and then owned by the committer thread.
  void SetActive(std::shared_ptr<Segment> seg) { active_ = std::move(seg); }

 private:
  // Staging mutex held: work arrived while the committer does not sleep on the staging's own
  // condition variable: a waiting group-commit follower may take the lead.
  void WakeIdleLocked() override;
  void Run();
  void SyncerRun();
  // Staging mutex held, the log failed: drops staged work; true when closing (stop), else it has
  // slept once and the caller looks again.
  bool DropAfterFailureLocked(std::unique_lock<std::mutex>& lk);
  // ---- group commit (committer_group.cc) ----
  void GroupRun();
  enum class LeadEnd { kSync, kIdle, kStop };
  // As leader: waits for work and writes it. kSync: sync *seg up to *target; kIdle: nothing to do
  // while other units sync (hand the lead back); kStop: closing, everything written is covered.
  Status Lead(uint64_t* target, std::shared_ptr<Segment>* seg, LeadEnd* end);
  // The leader should close the unit it is writing: released or requested, or (no sync in
  // flight) enough written to be worth a sync of its own (see committer_group.cc).
  bool UnitReady() const;
  // Staging mutex held: a follower may take the lead.
  bool FollowerMayLead() const;
  // A unit's sync ended: publishes acknowledgements in unit order, or fails the log.
  void Complete(uint64_t ticket, const Status& s);
  bool SyncsEveryAck() const;
  // Writes a staged batch (no sync); sets *last to its last seq. Clears the batch.
  Status WriteBatch(ByteBuffer& batch, uint64_t first, uint64_t* last);
  // Writes entries [data, data+len) starting with `seq`, rotating segments as needed.
  Status WriteEntries(const uint8_t* data, size_t len, uint64_t seq);
  // One write of whole entries at active_->end (direct: through the aligned bounce buffer, padded).
  Status WriteRun(const uint8_t* data, size_t len);
  // The strategy's sync of the active segment after a unit (no-op for dsync, periodic, none).
  Status SyncActive();
  Status Rotate(uint64_t next_seq);
  void MaybeWantSpare();

  const Options& options_;
  const std::string& dir_;
  const uint32_t direct_block_;
  Staging& staging_;
  SparePool& spares_;
  CommitTarget& target_;
  const uint64_t recovered_written_;  // written seq at Start (group commit's starting point)
  std::shared_ptr<Segment> active_;
  uint64_t run_written_from_ = 0;  // offset where the current unit's writes began (sync_file_range)
  std::vector<uint32_t> run_offsets_;
  uint8_t* bounce_ = nullptr;  // O_DIRECT staging, block-aligned
  size_t bounce_cap_ = 0;
  bool spare_asked_ = false;
  std::thread thread_;
  std::thread syncer_;
  std::mutex syncer_mu_;
  std::condition_variable syncer_cv_;
  bool syncer_stop_ = false;

  // ---- group commit ----
  struct Ticket {
    uint64_t target = 0;  // acknowledge up to this seq once this and every earlier unit synced
    bool done = false;
    Status status;
  };
  std::vector<std::thread> group_threads_;
  ByteBuffer group_batch_;        // the leader's
  uint64_t group_written_ = 0;    // the leader's: highest seq written
  uint64_t group_covered_ = 0;    // the leader's: highest seq a unit's sync covers
  // Guarded by the staging mutex (every event that moves the lead is a staging event):
  bool leader_taken_ = false;
  bool group_stop_ = false;
  uint32_t followers_waiting_ = 0;
  std::condition_variable leader_cv_;
  std::deque<Ticket> tickets_;     // units not yet acknowledged, in order
  uint64_t tickets_base_ = 0;      // ticket number of tickets_.front()
  std::atomic<uint32_t> syncs_in_flight_{0};
};

}  // namespace powercut::wal
