#include "committer.h"

#include "recovery.h"
#include "spare_pool.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>

namespace powercut::wal {

Committer::Committer(const Options& options, const std::string& dir, uint32_t direct_block, Staging& staging,
                     SparePool& spares, CommitTarget& target, uint64_t written_seq)
    : options_(options),
      dir_(dir),
      direct_block_(direct_block),
      staging_(staging),
      spares_(spares),
      target_(target),
      recovered_written_(written_seq) {}

Committer::~Committer() {
  Join();
  std::free(bounce_);
}

bool Committer::SyncsEveryAck() const {
  switch (options_.strategy) {
    case Strategy::kFsync:
    case Strategy::kFdatasync:
    case Strategy::kDsync:
    case Strategy::kDirect: return true;
    case Strategy::kPeriodic:
    case Strategy::kNone: return false;
  }
  return true;
}

void Committer::Start() {
  staging_.SetWaker(this);
  if (SyncsEveryAck() && options_.group_commit) {
    group_written_ = group_covered_ = recovered_written_;
    const uint32_t depth = std::max<uint32_t>(1, options_.sync_depth);
    for (uint32_t i = 0; i < depth; i++) group_threads_.emplace_back([this] { GroupRun(); });
    return;
  }
  thread_ = std::thread([this] { Run(); });
  if (options_.strategy == Strategy::kPeriodic) syncer_ = std::thread([this] { SyncerRun(); });
}

bool Committer::DropAfterFailureLocked(std::unique_lock<std::mutex>& lk) {
  // Nothing more is written after a failure: drop what is staged and wait for Close.
  staging_.DropLocked();
  if (staging_.closing_locked()) return true;
  staging_.SleepLocked(lk);
  return false;
}

void Committer::WakeIdleLocked() {
  if (!leader_taken_ && followers_waiting_ > 0) leader_cv_.notify_one();
}

void Committer::Join() {
  {
    std::lock_guard<std::mutex> lk(staging_.mutex());  // closing is set: followers wake to stop
  }
  leader_cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (auto& t : group_threads_) t.join();
  group_threads_.clear();
  {
    std::lock_guard<std::mutex> lk(syncer_mu_);
    syncer_stop_ = true;
  }
  syncer_cv_.notify_all();
  if (syncer_.joinable()) syncer_.join();
  active_.reset();  // closing: the log releases its files
}

Status Committer::WriteBatch(ByteBuffer& batch, uint64_t first, uint64_t* last) {
  if (batch.empty()) return Status::Ok();
  uint64_t count = 0;
  for (size_t off = 0; off < batch.size(); count++) {
    EntryHeader h;
    std::memcpy(&h, batch.data() + off, sizeof h);
    off += EntrySpan(h.length);
  }
  Status s = WriteEntries(batch.data(), batch.size(), first);
  if (s.ok()) *last = first + count - 1;
  batch.Clear();
  return s;
}

void Committer::Run() {
  NameThread("wal-commit");
  ByteBuffer batch;
  const bool per_entry = SyncsEveryAck();
  const auto spin = std::chrono::microseconds(options_.spin_us);
  for (;;) {
    // Busy-wait briefly before sleeping: see Options::spin_us.
    if (spin.count() > 0 && !staging_.ready() && !staging_.sync_requested()) {
      SpinBudget budget(spin);
      while (!staging_.ready() && !staging_.sync_requested() && !budget.Spent()) {
      }
    }
    uint64_t first = 0;
    bool sync_now = false;
    {
      std::unique_lock<std::mutex> lk(staging_.mutex());
      while (!staging_.ready() && !staging_.sync_requested() && !staging_.closing_locked()) staging_.SleepLocked(lk);
      if (staging_.failed_locked()) {
        if (DropAfterFailureLocked(lk)) break;
        continue;
      }
      if (staging_.empty_locked() && staging_.closing_locked() && !staging_.sync_requested()) break;
      first = staging_.TakeLocked(batch);
      sync_now = staging_.TakeSyncRequestLocked();
    }

    Status s;
    if (per_entry) {
      // One write and one sync per entry: the strategy's contract without group commit.
      size_t off = 0;
      uint64_t seq = first;
      while (off < batch.size() && s.ok()) {
        EntryHeader h;
        std::memcpy(&h, batch.data() + off, sizeof h);
        size_t span = EntrySpan(h.length);
        s = WriteEntries(batch.data() + off, span, seq);
#ifdef POWERCUT_PLANT_ACK_BEFORE_SYNC
        if (s.ok()) target_.Publish(seq, seq);  // PLANTED (class: acknowledgement before its sync returns)
#endif
        if (s.ok()) s = SyncActive();
        if (s.ok()) target_.Publish(seq, seq);
        off += span;
        seq++;
      }
      batch.Clear();
    } else {
      uint64_t last = 0;
      s = WriteBatch(batch, first, &last);
      if (s.ok() && last != 0) target_.Publish(last, 0);
    }
    if (s.ok() && sync_now && !SyncsEveryAck()) {
      std::shared_ptr<Segment> seg;
      uint64_t written = 0;
      target_.WriteSnapshot(&seg, &written);
      s = SyncFile(active_->fd, false, active_->path);
      if (s.ok()) target_.Publish(0, written);
    }
    if (!s.ok()) target_.Fail(s);
  }

  // Closing: "none" and "periodic" make everything durable once, at close.
  std::shared_ptr<Segment> seg;
  uint64_t written = 0;
  const bool failed = !target_.WriteSnapshot(&seg, &written);
  if (!failed && !SyncsEveryAck() && written > target_.durable_seq()) {
    Status s = SyncFile(active_->fd, false, active_->path);
    if (s.ok()) target_.Publish(0, written);
    else target_.Fail(s);
  }
}

void Committer::SyncerRun() {
  NameThread("wal-syncer");
  const auto period = std::chrono::milliseconds(std::max<uint32_t>(1, options_.period_ms));
  std::unique_lock<std::mutex> lk(syncer_mu_);
  while (!syncer_stop_) {
    syncer_cv_.wait_for(lk, period, [this] { return syncer_stop_; });
    if (syncer_stop_) break;
    // The segment being written and the seq written so far, read together: rotation syncs the
    // previous segment before writing into the next, so syncing this one covers `written`.
    std::shared_ptr<Segment> seg;
    uint64_t written = 0;
    if (!target_.WriteSnapshot(&seg, &written)) break;
    if (written <= target_.durable_seq()) continue;  // nothing new: an idle WAL costs no syncs
#ifdef POWERCUT_PLANT_WATERMARK_BEFORE_SYNC
    target_.Publish(0, written);  // PLANTED (class: durable watermark published before its sync)
#endif
    Status s = SyncFile(seg->fd, false, seg->path);
    if (!s.ok()) {
      target_.Fail(s);
      break;
    }
#ifdef POWERCUT_PLANT_WATERMARK_AFTER_SYNC
    target_.WriteSnapshot(&seg, &written);  // PLANTED (class: watermark read after the sync, covers later writes)
#endif
    target_.Publish(0, written);
  }
}

Status Committer::WriteEntries(const uint8_t* data, size_t len, uint64_t seq) {
  const bool direct = options_.strategy == Strategy::kDirect;
  // Room a direct write needs for its trailing padding record.
  const uint64_t reserve = direct ? direct_block_ + kEntryHeaderSize : 0;
  size_t off = 0;
  while (off < len) {
    Segment& seg = *active_;
    size_t run_start = off;
    uint64_t run_seq = seq;
    run_offsets_.clear();
    while (off < len) {
      EntryHeader h;
      std::memcpy(&h, data + off, sizeof h);
      uint64_t span = EntrySpan(h.length);
      uint64_t at = seg.end + (off - run_start);
      if (at + span + reserve > seg.size) break;
      run_offsets_.push_back(static_cast<uint32_t>(at));
      off += span;
      seq++;
    }
    if (off == run_start) {
      Status s = Rotate(seq);
      if (!s.ok()) return s;
      continue;
    }
    Status s = WriteRun(data + run_start, off - run_start);
    if (!s.ok()) return s;
    target_.Written(seg, run_offsets_, seq - 1);
    (void)run_seq;
  }
  MaybeWantSpare();
  return Status::Ok();
}

Status Committer::WriteRun(const uint8_t* data, size_t len) {
  Segment& seg = *active_;
  run_written_from_ = seg.end;
  if (options_.strategy != Strategy::kDirect) {
    Status s = PwriteAll(seg.wfd, data, len, seg.end, seg.path);
    if (!s.ok()) return s;
    seg.end += len;
    return Status::Ok();
  }
  // O_DIRECT: block-aligned offset (seg.end always is), length and memory. Pad the tail with a
  // padding record so the next write starts on a block boundary and readers skip the filler.
  const size_t block = direct_block_;
  size_t padded = (len + block - 1) / block * block;
  if (padded - len != 0 && padded - len < kEntryHeaderSize) padded += block;
  if (bounce_cap_ < padded) {
    std::free(bounce_);
    bounce_cap_ = std::max(padded, bounce_cap_ * 2);
    bounce_ = static_cast<uint8_t*>(std::aligned_alloc(4096, (bounce_cap_ + 4095) / 4096 * 4096));
    if (bounce_ == nullptr) {
      bounce_cap_ = 0;
      return Status::FromErrno(ENOMEM, "aligned_alloc", seg.path);
    }
  }
  std::memcpy(bounce_, data, len);
  if (padded > len) EncodePadding(bounce_ + len, padded - len);
  Status s = PwriteAll(seg.wfd, bounce_, padded, seg.end, seg.path);
  if (!s.ok()) return s;
  seg.end += padded;
  return Status::Ok();
}

Status Committer::SyncActive() {
  Segment& seg = *active_;
  switch (options_.strategy) {
    case Strategy::kDsync:
    case Strategy::kPeriodic:
    case Strategy::kNone: return Status::Ok();
    case Strategy::kFsync: return SyncFile(seg.wfd, true, seg.path);
    case Strategy::kFdatasync:
    case Strategy::kDirect:
#ifdef POWERCUT_PLANT_DIRECT_NO_FLUSH
      // PLANTED (class: O_DIRECT acknowledged without the flush of the device's cache)
      if (options_.strategy == Strategy::kDirect) return Status::Ok();
#endif
      if (options_.sync_file_range && seg.end > run_written_from_) {
        // Start write-out of just this range before the flush (a hint; fdatasync is the barrier).
        if (::sync_file_range(seg.wfd, static_cast<off_t>(run_written_from_),
                              static_cast<off_t>(seg.end - run_written_from_), SYNC_FILE_RANGE_WRITE) != 0) {
          return Status::FromErrno(errno, "sync_file_range", seg.path);
        }
      }
      return SyncFile(seg.wfd, false, seg.path);
  }
  return Status::Ok();
}

Status Committer::Rotate(uint64_t next_seq) {
  // Everything in the old segment becomes durable before the next one exists, so a later
  // segment with entries always proves the earlier ones complete (recovery relies on this).
  std::shared_ptr<Segment> old = active_;
  Status s = SyncFile(old->fd, false, old->path);
  if (!s.ok()) return s;
  target_.Publish(0, next_seq - 1);

  std::string spare;
  s = spares_.Take(&spare);
  if (!s.ok()) return s;
  std::shared_ptr<Segment> seg;
  s = CreateSegment(dir_, spare, next_seq, options_.segment_size, options_.preallocate,
                    WriteFlagsFor(options_.strategy), &seg);
  if (!s.ok()) return s;
  target_.Rotated(seg);
  active_ = seg;
  spare_asked_ = false;
  return Status::Ok();
}

void Committer::MaybeWantSpare() {
  // Prepare the next segment in the background once this one is a quarter full, so rotation does
  // not stall acknowledgements behind zero-filling a whole segment (at 300 MB/s a 64 MiB segment
  // fills in 0.2 s: half a segment of warning was not enough), while a short-lived or slow WAL does
  // not pay for a segment it may never reach.
  if (spare_asked_ || active_->end < active_->size / 4) return;
  spare_asked_ = true;
  spares_.Want();
}

}  // namespace powercut::wal
