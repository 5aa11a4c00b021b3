#include "staging.h"

#include <algorithm>
#include <cstdlib>
#include <string>

#include "format.h"
#include "segment.h"

namespace powercut::wal {

ByteBuffer::~ByteBuffer() { std::free(data_); }

uint8_t* ByteBuffer::Extend(size_t n) {
  if (len_ + n > cap_) {
    size_t cap = std::max<size_t>(cap_ * 2, 1 << 16);
    while (cap < len_ + n) cap *= 2;
    auto* p = static_cast<uint8_t*>(std::realloc(data_, cap));
    if (p == nullptr) return nullptr;
    data_ = p;
    cap_ = cap;
  }
  uint8_t* at = data_ + len_;
  len_ += n;
  return at;
}

void ByteBuffer::Swap(ByteBuffer& o) noexcept {
  std::swap(data_, o.data_);
  std::swap(len_, o.len_);
  std::swap(cap_, o.cap_);
}

Staging::Staging(uint64_t next_seq, bool hold_back)
    : hold_back_(hold_back), staged_first_(next_seq), next_seq_(next_seq), released_seq_(next_seq - 1) {}

void Staging::SetWaker(StagingWaker* waker) {
  std::lock_guard<std::mutex> lk(mu_);
  waker_ = waker;
}

void Staging::WakeLocked() {
  if (committer_waiting_) work_cv_.notify_one();
  else if (waker_ != nullptr) waker_->WakeIdleLocked();
}

Status Staging::RefusalLocked() const {
  if (failed_) {
    Status s = failure_;
    s.code = Code::kFailed;
    s.message = "the WAL refuses writes after a failed write or sync (" + failure_.message + "); reopen it to recover";
    return s;
  }
  if (closing_) return Status::Make(Code::kClosed, "the WAL is closed");
  return Status::Ok();
}

Status Staging::OutOfRange(uint64_t seq) {
  Status s = Status::Make(Code::kOutOfRange, "the log has reached its last sequence " + std::to_string(kMaxSeq) + " (Number.MAX_SAFE_INTEGER)");
  s.seq = seq;
  return s;
}

Result<uint64_t> Staging::Append(const void* data, uint32_t len, bool release) {
  Result<uint64_t> r;
  std::lock_guard<std::mutex> lk(mu_);
  r.status = RefusalLocked();
  if (!r.ok()) return r;
  if (next_seq_ > kMaxSeq) {
    r.status = OutOfRange(next_seq_);
    return r;
  }
  uint8_t* dst = entries_.Extend(EntrySpan(len));
  if (dst == nullptr) {
    r.status = Status::FromErrno(ENOMEM, "malloc", "the staging buffer");
    return r;
  }
  const uint64_t seq = next_seq_++;
  EncodeEntry(dst, seq, data, len);
  staged_bytes_.store(entries_.size(), std::memory_order_relaxed);
  // Holding entries back for one batch only pays off where a batch shares one sync: group commit.
  // Everywhere else the committer starts on them at once and writes while the caller appends more.
  if (release || !hold_back_) {
    released_seq_ = seq;
    ready_.store(true, std::memory_order_release);
  }
  // Unreleased entries wake a sleeping group committer too: it writes them while more arrive.
  WakeLocked();
  r.value = seq;
  return r;
}

BatchResult Staging::AppendBatch(const Payload* items, size_t n) {
  BatchResult r;
  std::lock_guard<std::mutex> lk(mu_);
  r.first = next_seq_;
  r.status = RefusalLocked();
  if (!r.status.ok() || n == 0) return r;
  size_t fit = n;
  if (next_seq_ > kMaxSeq) fit = 0;
  else if (kMaxSeq - next_seq_ + 1 < n) fit = static_cast<size_t>(kMaxSeq - next_seq_ + 1);
  if (fit < n) r.status = OutOfRange(next_seq_ + fit);
  if (fit == 0) return r;
  uint64_t bytes = 0;
  for (size_t i = 0; i < fit; i++) bytes += EntrySpan(items[i].len);
  // One reservation for the whole batch: all of it is staged, or (no memory) none of it.
  uint8_t* dst = entries_.Extend(bytes);
  if (dst == nullptr) {
    r.status = Status::FromErrno(ENOMEM, "malloc", "the staging buffer");
    return r;
  }
  for (size_t i = 0; i < fit; i++) {
    EncodeEntry(dst, next_seq_++, items[i].data, items[i].len);
    dst += EntrySpan(items[i].len);
  }
  r.staged = fit;
  staged_bytes_.store(entries_.size(), std::memory_order_relaxed);
  // Released at once: the batch is the caller's whole turn, so there is nothing to wait for.
  last_release_entries_.store(next_seq_ - 1 - released_seq_, std::memory_order_relaxed);
  released_seq_ = next_seq_ - 1;
  ready_.store(true, std::memory_order_release);
  WakeLocked();
  return r;
}

void Staging::Release() {
  std::lock_guard<std::mutex> lk(mu_);
  // Compare sequences, not the buffer: group commit may already have written (not synced) the
  // entries this release hands over.
  if (released_seq_ + 1 >= next_seq_) return;
  last_release_entries_.store(next_seq_ - 1 - released_seq_, std::memory_order_relaxed);
  released_seq_ = next_seq_ - 1;
  ready_.store(true, std::memory_order_release);
  WakeLocked();
}

uint64_t Staging::RequestSync(uint64_t durable) {
  std::lock_guard<std::mutex> lk(mu_);
  uint64_t target = next_seq_ - 1;
  if (target > durable && !failed_ && !closing_) {
    if (released_seq_ + 1 < next_seq_) {
      released_seq_ = next_seq_ - 1;
      ready_.store(true, std::memory_order_release);
    }
    sync_requested_.store(true, std::memory_order_release);
    WakeLocked();
  }
  return target;
}

uint64_t Staging::last_assigned() {
  std::lock_guard<std::mutex> lk(mu_);
  return next_seq_ - 1;
}

bool Staging::closing() {
  std::lock_guard<std::mutex> lk(mu_);
  return closing_;
}

void Staging::Close() {
  std::lock_guard<std::mutex> lk(mu_);
  closing_ = true;
  work_cv_.notify_all();
  if (waker_ != nullptr) waker_->WakeIdleLocked();
}

void Staging::Fail(const Status& failure) {
  std::lock_guard<std::mutex> lk(mu_);
  if (failed_) return;
  failed_ = true;
  failure_ = failure;
}

uint64_t Staging::TakeLocked(ByteBuffer& into) {
  into.Swap(entries_);
  entries_.Clear();
  const uint64_t first = staged_first_;
  staged_first_ = next_seq_;
  staged_bytes_.store(0, std::memory_order_relaxed);
  ready_.store(false, std::memory_order_release);
  return first;
}

void Staging::DropLocked() {
  entries_.Clear();
  staged_first_ = next_seq_;
  staged_bytes_.store(0);
  ready_.store(false);
  sync_requested_.store(false);
}

void Staging::SleepLocked(std::unique_lock<std::mutex>& lk) {
  committer_waiting_ = true;
  work_cv_.wait(lk);
  committer_waiting_ = false;
}

bool Staging::TakeUnreleased(ByteBuffer& into, uint64_t* first) {
  std::lock_guard<std::mutex> lk(mu_);
  if (failed_ || ready_.load() || entries_.empty()) return false;
  *first = TakeLocked(into);
  return true;
}

}  // namespace powercut::wal
