// Group commit: sync_depth threads, leader/follower style. The thread holding the lead waits for
// work, writes it (only the leader writes or rotates, so the file is written in sequence order),
// takes a ticket, hands the lead on and syncs through its own file descriptor; with sync_depth > 1
// the next leader writes and syncs the next unit meanwhile.
//
// Where the time goes at 64 writers (traced on a 2-vCPU VM): the batch's fdatasync (~280 us), the
// caller's acknowledging and re-appending 64 entries (~80 us), the page-cache write (~30-70 us)
// and thread wake-ups. Two things shorten that chain here:
//  - The thread whose sync finished takes the lead itself, already running, and spins for the
//    appends its acknowledgements cause, instead of a sleeping thread being woken.
//  - While nothing syncs, the leader starts on the first half of a turn's appends (UnitReady) as
//    soon as they are written, so that half's sync overlaps the caller appending the other half.
//    (That applies to callers staging entry by entry with Log::Append(release=false); the addon
//    hands each event-loop turn over whole with Log::AppendBatch, issue 16, which measured one
//    N-API call, lock and wake-up per turn cheaper than that overlap.)
// Several syncs in flight (sync_depth > 1) suit devices that run flushes in parallel; on the
// virtio disk of the development VMs one 256 KiB sync beat two of 128 KiB, so the default is 1.
//
// Correctness of acknowledging with syncs that overlap:
//  - A unit's fdatasync starts after its pwrite returned, so it covers the unit (and every earlier
//    write: it waits for pages another sync already put under writeback).
//  - Acknowledgements follow ticket order: unit N is acknowledged only when units 1..N all synced
//    without error, whatever order the syncs return in.
//  - Each thread syncs through a file description of its own. The kernel reports a writeback error
//    once per file description (errseq_t): two syncs on one shared fd race for a single report,
//    and the one that loses it returns success for data that was lost (fsyncgate). With separate
//    descriptions every sync that waited on a failed page sees the error.
//  - Any failed sync fails the log (Log::Fail); Log::Publish acknowledges nothing after that.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>

#include "committer.h"

namespace powercut::wal {

namespace {

// The largest turn (entries per release) the leader still spins for; see Lead.
constexpr uint64_t kSpinMaxBatch = 4;

// A thread's own descriptor for the segment it syncs (see above), reopened after rotation.
class SyncHandle {
 public:
  ~SyncHandle() { Reset(); }
  Status For(const std::shared_ptr<Segment>& seg, int* fd) {
    if (seg != seg_) {
      Reset();
      fd_ = ::open(seg->path.c_str(), O_RDWR | O_CLOEXEC);
      if (fd_ < 0) return Status::FromErrno(errno, "open", seg->path);
      seg_ = seg;
    }
    *fd = fd_;
    return Status::Ok();
  }

 private:
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    seg_.reset();
  }
  std::shared_ptr<Segment> seg_;
  int fd_ = -1;
};

}  // namespace

void Committer::GroupRun() {
  NameThread("wal-group");
  SyncHandle handle;
  const Strategy strategy = options_.strategy;
  bool hot = false;  // this thread just finished a sync: its caller is about to append again
  for (;;) {
    {
      std::unique_lock<std::mutex> lk(staging_.mutex());
      // A thread back from its sync takes a free lead at once and spins for the appends its
      // acknowledgements are about to cause; a sleeping follower is woken only for work.
      if (!(hot && !leader_taken_) && !group_stop_) {
        followers_waiting_++;
        leader_cv_.wait(lk, [this] { return group_stop_ || FollowerMayLead(); });
        followers_waiting_--;
      }
      if (group_stop_) return;
      leader_taken_ = true;
    }
    uint64_t target = 0;
    std::shared_ptr<Segment> seg;
    LeadEnd end = LeadEnd::kIdle;
    Status s = Lead(&target, &seg, &end);
    uint64_t ticket = 0;
    bool wake_follower = false;
    {
      std::lock_guard<std::mutex> lk(staging_.mutex());
      leader_taken_ = false;
      if (end == LeadEnd::kStop) group_stop_ = true;
      if (s.ok() && end == LeadEnd::kSync) {
        ticket = tickets_base_ + tickets_.size();
        tickets_.push_back(Ticket{target, false, Status::Ok()});
        syncs_in_flight_.fetch_add(1);
        // More is already staged: let a follower lead it now rather than after this sync.
        wake_follower = followers_waiting_ > 0 && FollowerMayLead();
      }
    }
    if (end == LeadEnd::kStop) leader_cv_.notify_all();
    else if (wake_follower) leader_cv_.notify_one();
    if (!s.ok()) {
      target_.Fail(s);
      hot = false;
      continue;
    }
    hot = false;
    if (end != LeadEnd::kSync) continue;

    // Outside the lead: this unit's sync overlaps the next leader's writes and other syncs.
#ifdef POWERCUT_PLANT_GROUP_ACK_BEFORE_SYNC
    target_.Publish(target, target);  // PLANTED (class: group-commit acknowledgement before its sync)
#endif
    Status st;
#ifdef POWERCUT_PLANT_DIRECT_NO_FLUSH
    const bool flush = strategy != Strategy::kDsync && strategy != Strategy::kDirect;  // PLANTED (as above)
#else
    const bool flush = strategy != Strategy::kDsync;  // O_DSYNC made the write itself durable
#endif
    if (flush) {
      int fd = -1;
      st = handle.For(seg, &fd);
      if (st.ok()) st = SyncFile(fd, strategy == Strategy::kFsync, seg->path);
    }
    Complete(ticket, st);
    hot = true;
  }
}

bool Committer::FollowerMayLead() const {
  if (leader_taken_) return false;
  return staging_.ready() || staging_.sync_requested() || staging_.staged_bytes() != 0 || staging_.closing_locked() ||
         staging_.failed_locked() || syncs_in_flight_.load() == 0;
}

bool Committer::UnitReady() const {
  if (staging_.ready() || staging_.sync_requested()) return true;
  if (group_written_ <= group_covered_ || syncs_in_flight_.load(std::memory_order_acquire) != 0) return false;
  // Nothing syncing: the disk is idle. Start on the first half of what the caller appends per
  // turn (the last release's count) without waiting for the rest: the other half follows in a
  // unit of its own, and from then on two halves alternate, one syncing while the caller
  // acknowledges and refills the other. One writer: a unit of one entry, as before.
  const uint64_t half = std::max<uint64_t>(1, staging_.last_release_entries() / 2);
  return group_written_ - group_covered_ >= half;
}

Status Committer::Lead(uint64_t* target, std::shared_ptr<Segment>* seg, LeadEnd* end) {
  *target = 0;
  *end = LeadEnd::kIdle;
  const auto spin = std::chrono::microseconds(options_.spin_us);
  for (;;) {
    // Busy-wait briefly before sleeping (Options::spin_us), writing entries as they are staged so
    // the page-cache copy overlaps the caller's appending and only the sync is left at release.
    // Nothing is acknowledged before a sync that starts after the write.
    // Only while turns are small (a lone writer or a few): the caller's next batch then arrives
    // within microseconds and a wake-up would cost more than the commit. A turn of many appends
    // takes the caller longer than any spin budget to produce, and its one wake-up is shared by
    // the whole batch; spinning then only takes CPU from the caller (issue 16 measured it as most
    // of the group thread's CPU at 64 writers).
    if (spin.count() > 0 && staging_.last_release_entries() <= kSpinMaxBatch) {
      SpinBudget budget(spin);
      while (!UnitReady()) {
        uint64_t first = 0;
        if (staging_.staged_bytes() != 0 && staging_.TakeUnreleased(group_batch_, &first)) {
          Status s = WriteBatch(group_batch_, first, &group_written_);
          if (!s.ok()) return s;
          budget.Renew();
          continue;
        }
        if (budget.Spent()) break;
      }
    }
    uint64_t first = 0;
    bool closing = false;
    {
      std::unique_lock<std::mutex> lk(staging_.mutex());
      if (!UnitReady() && !staging_.closing_locked() && !staging_.failed_locked() && staging_.staged_bytes() == 0 &&
          syncs_in_flight_.load() != 0) {
        // Nothing to do while other units sync: hand the lead back instead of sleeping on it;
        // the thread whose sync finishes first takes it, already running.
        return Status::Ok();
      }
      // Nothing syncing (or it would have handed the lead back): sleep until work arrives.
      while (!UnitReady() && !staging_.closing_locked() && !staging_.failed_locked() && staging_.staged_bytes() == 0) {
        staging_.SleepLocked(lk);
      }
      if (staging_.failed_locked()) {
        if (!DropAfterFailureLocked(lk)) continue;
        *end = LeadEnd::kStop;
        return Status::Ok();
      }
      closing = staging_.closing_locked();
      if (!UnitReady() && !closing) continue;  // staged but not released: spin and write it
      first = staging_.TakeLocked(group_batch_);
      staging_.TakeSyncRequestLocked();  // this unit's sync covers what the request asked for
    }
    Status s = WriteBatch(group_batch_, first, &group_written_);
    if (!s.ok()) return s;
    if (group_written_ > group_covered_) {
      if (options_.sync_file_range && options_.strategy != Strategy::kDsync &&
          active_->end > run_written_from_) {
        // Start write-out of just this range before the flush (a hint; fdatasync is the barrier).
        if (::sync_file_range(active_->wfd, static_cast<off_t>(run_written_from_),
                              static_cast<off_t>(active_->end - run_written_from_), SYNC_FILE_RANGE_WRITE) != 0) {
          return Status::FromErrno(errno, "sync_file_range", active_->path);
        }
      }
      *target = group_written_;
      *seg = active_;
      group_covered_ = group_written_;
      *end = LeadEnd::kSync;
      return Status::Ok();
    }
    if (closing) {
      // Everything written is covered by a sync already taken; the threads still syncing finish
      // their units before Join returns.
      *end = LeadEnd::kStop;
      return Status::Ok();
    }
  }
}

void Committer::Complete(uint64_t ticket, const Status& s) {
  uint64_t publish = 0;
  Status failure;
  {
    std::lock_guard<std::mutex> lk(staging_.mutex());
    Ticket& t = tickets_[ticket - tickets_base_];
    t.done = true;
    t.status = s;
    syncs_in_flight_.fetch_sub(1);
    while (!tickets_.empty() && tickets_.front().done) {
      if (!tickets_.front().status.ok()) {
        if (failure.ok()) failure = tickets_.front().status;
      } else if (failure.ok()) {
        publish = tickets_.front().target;
      }
      tickets_.pop_front();
      tickets_base_++;
    }
  }
  // Earlier units' acknowledgements first, then the failure; Publish refuses after a failure, so
  // a later unit that synced fine is never acknowledged past a failed one.
  if (publish != 0) target_.Publish(publish, publish);
  if (!failure.ok()) target_.Fail(failure);
}

}  // namespace powercut::wal
