#include "log.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>

#include "committer.h"
#include "first_seq.h"
#include "recovery.h"
#include "spare_pool.h"

namespace powercut::wal {

// ---------------------------------------------------------------- open and recovery

Log::Log(std::string dir, const Options& options)
    : dir_(std::move(dir)),
      options_(options),
      lock_(std::make_unique<DirectoryLock>()),
      spares_(std::make_unique<SparePool>(
          dir_, SparePool::Config{options.segment_size, options.preallocate, options.recycle, options.read_only})) {
  uint64_t room = options_.segment_size - kSegmentHeaderSize - kEntryHeaderSize - kEntryAlign;
  if (options_.strategy == Strategy::kDirect) room -= 4096 + kEntryHeaderSize;  // padding reserve
  max_payload_ = std::min<uint64_t>(room, 0xFFFFFFF0u);
}

Log::~Log() {
  Close();  // (an Open that failed never ran Close: the lock and the pool release themselves)
}

namespace {

// O_DIRECT alignment of the filesystem holding `dir`: statx(STATX_DIOALIGN) where the kernel
// reports it, else 4096 which every Linux filesystem accepts.
uint32_t DirectAlignment(const std::string& dir) {
#ifdef STATX_DIOALIGN
  struct statx stx;
  if (::statx(AT_FDCWD, dir.c_str(), 0, STATX_DIOALIGN, &stx) == 0 && (stx.stx_mask & STATX_DIOALIGN) &&
      stx.stx_dio_offset_align != 0) {
    uint32_t a = std::max<uint32_t>(stx.stx_dio_offset_align, 512);
    if (a <= 4096 && (a & (a - 1)) == 0) return a;
  }
#endif
  return 4096;
}

}  // namespace

Result<std::shared_ptr<Log>> Log::Open(const std::string& dir, const Options& options) {
  Result<std::shared_ptr<Log>> r;
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) {
    r.status = Status::FromErrno(errno, "stat", dir);
    if (r.status.code == Code::kNotFound) r.status.message = "WAL directory " + dir + " does not exist";
    return r;
  }
  if (!S_ISDIR(st.st_mode)) {
    r.status = Status::Make(Code::kInvalidArgument, dir + " is not a directory");
    r.status.path = dir;
    return r;
  }
  std::shared_ptr<Log> log(new Log(dir, options));
  if (options.strategy == Strategy::kDirect) log->direct_block_ = DirectAlignment(dir);
  RecoveredLog rec;
  r.status = RecoverLog(log->dir_, options, log->direct_block_, *log->spares_, &rec);
  if (!r.ok()) return r;
  log->Adopt(rec);
  if (!options.read_only) {
    log->committer_ = std::make_unique<Committer>(log->options_, log->dir_, log->direct_block_, *log->staging_,
                                                  *log->spares_, static_cast<CommitTarget&>(*log),
                                                  log->written_seq_);
    log->committer_->SetActive(log->segments_.back());
    log->committer_->Start();
    log->spares_->Start();
  }
  r.value = std::move(log);
  return r;
}

void Log::Adopt(RecoveredLog& rec) {
  lock_->TakeFrom(rec.lock);
  segments_ = std::move(rec.segments);
  recovery_ = rec.report;
  const uint64_t next = rec.next_seq;
  staging_ = std::make_unique<Staging>(next, options_.group_commit);
  written_seq_ = next - 1;
  first_seq_ = rec.first_seq;
  acked_.store(next - 1);
  durable_.store(next - 1);
}

// ---------------------------------------------------------------- caller-thread operations

Result<uint64_t> Log::Append(const void* data, uint32_t len, bool release) {
  if (options_.read_only) {
    Result<uint64_t> r;
    r.status = Status::Make(Code::kReadOnly, "the WAL " + dir_ + " was opened read-only");
    return r;
  }
  return staging_->Append(data, len, release);
}

BatchResult Log::AppendBatch(const Payload* items, size_t n) {
  if (options_.read_only) {
    BatchResult r;
    r.status = Status::Make(Code::kReadOnly, "the WAL " + dir_ + " was opened read-only");
    return r;
  }
  return staging_->AppendBatch(items, n);
}

void Log::Release() { staging_->Release(); }

uint64_t Log::RequestSync() {
  // read_only: nothing to sync, and no committer to ask.
  return options_.read_only ? staging_->last_assigned() : staging_->RequestSync(durable_.load());
}

Progress Log::GetProgress() {
  Progress p;
  {
    std::lock_guard<std::mutex> lk(mu_);
    p.acked = acked_.load();
    p.durable = durable_.load();
    p.failed = failed_;
  }
  // After the watermarks: last_assigned only grows, so acked <= last_assigned holds.
  p.last_assigned = staging_->last_assigned();
  p.closed = staging_->closing();
  return p;
}

Status Log::Failure() {
  std::lock_guard<std::mutex> lk(mu_);
  return failure_;
}

void Log::AddNotifier(Notifier* n) {
  std::lock_guard<std::mutex> lk(notify_mu_);
  notifiers_.push_back(n);
}

void Log::RemoveNotifier(Notifier* n) {
  std::lock_guard<std::mutex> lk(notify_mu_);
  notifiers_.erase(std::remove(notifiers_.begin(), notifiers_.end(), n), notifiers_.end());
}

void Log::NotifyAll() {
  std::lock_guard<std::mutex> lk(notify_mu_);
  for (Notifier* n : notifiers_) n->Notify();
}

void Log::Publish(uint64_t acked, uint64_t durable) {
  bool hook_failed = false;
  {
    // Under mu_ so nothing is published once Fail has run: an acknowledgement must never follow
    // a failure, even one computed before it (group commit's sync threads race with Fail).
    std::lock_guard<std::mutex> lk(mu_);
    if (failed_) return;
    // Monotonic maxima: several threads publish (syncer, committer, group commit's sync threads).
    const bool ack_moves = acked > acked_.load();
    const bool durable_moves = durable > durable_.load();
    if (PublishHook* hook = options_.publish_hook.get()) {
      // Before the stores below: no caller can see the new watermark before its mark is sent.
      Status s = ack_moves ? hook->Published(PublishHook::Kind::kAcked, acked) : Status::Ok();
      if (s.ok() && durable_moves) s = hook->Published(PublishHook::Kind::kDurable, durable);
      if (!s.ok()) {
        failed_ = true;
        failure_ = s;
        hook_failed = true;
      }
    }
    if (!failed_) {
      if (ack_moves) acked_.store(acked);
      if (durable_moves) durable_.store(durable);
    }
  }
  if (hook_failed) staging_->Fail(Failure());  // refuse appends too, outside mu_ (lock order)
  NotifyAll();
}

void Log::Fail(const Status& s) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!failed_) {
      failed_ = true;
      failure_ = s;
    }
  }
  staging_->Fail(Failure());  // appends are refused from now on, naming the first failure
  NotifyAll();
}

void Log::Written(Segment& seg, const std::vector<uint32_t>& offsets, uint64_t last_seq) {
  std::lock_guard<std::mutex> lk(mu_);
  seg.offsets.insert(seg.offsets.end(), offsets.begin(), offsets.end());
  written_seq_ = last_seq;
}

void Log::Rotated(std::shared_ptr<Segment> seg) {
  std::lock_guard<std::mutex> lk(mu_);
  segments_.push_back(std::move(seg));
}

bool Log::WriteSnapshot(std::shared_ptr<Segment>* seg, uint64_t* written) {
  std::lock_guard<std::mutex> lk(mu_);
  if (failed_ || segments_.empty()) return false;
  *seg = segments_.back();
  *written = written_seq_;
  return true;
}

// ---------------------------------------------------------------- blocking operations

Status Log::Read(uint64_t seq, std::vector<uint8_t>* payload) {
  std::vector<uint8_t> data;
  std::vector<ReadEntry> entries;
  Status s = ReadRange(seq, 1, &data, &entries);
  if (!s.ok()) return s;
  if (entries.empty() || entries[0].seq != seq) {
    return Status::Make(Code::kNotFound, "sequence " + std::to_string(seq) + " has not been written");
  }
  data.erase(data.begin(), data.begin() + static_cast<std::ptrdiff_t>(entries[0].offset));
  data.resize(entries[0].length);
  *payload = std::move(data);
  return Status::Ok();
}

Status Log::ReadRange(uint64_t from, size_t max_bytes, std::vector<uint8_t>* data, std::vector<ReadEntry>* entries) {
  data->clear();
  entries->clear();
  std::shared_ptr<Segment> seg;
  // Offsets of the entries to read, from the index: each entry is found where recovery or the
  // committer put it, never by walking from the previous one, so nothing between two entries
  // (padding, damaged padding that recovery skipped) is ever parsed again.
  std::vector<uint32_t> offs;
  uint64_t end_off = 0;
  const uint64_t next_seq = staging_->last_assigned() + 1;  // before mu_: the locks never nest
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (from < first_seq_) {
      Status s = Status::Make(Code::kNotFound, "sequence " + std::to_string(from) +
                                                   " was truncated (the log starts at " + std::to_string(first_seq_) + ")");
      s.seq = from;
      return s;
    }
    if (from > written_seq_) {
      if (from >= next_seq) {
        Status s = Status::Make(Code::kNotFound, "sequence " + std::to_string(from) + " was never appended (last is " +
                                                     std::to_string(next_seq - 1) + ")");
        s.seq = from;
        return s;
      }
      return Status::Ok();  // appended but not yet written: the caller waits for the write
    }
    auto it = std::upper_bound(segments_.begin(), segments_.end(), from,
                               [](uint64_t v, const std::shared_ptr<Segment>& sg) { return v < sg->first_seq; });
    if (it == segments_.begin()) return Status::Make(Code::kNotFound, "sequence " + std::to_string(from) + " not found");
    seg = *(it - 1);
    uint64_t idx = from - seg->first_seq;
    if (idx >= seg->offsets.size()) return Status::Make(Code::kNotFound, "sequence " + std::to_string(from) + " not found");
    const uint64_t first_off = seg->offsets[idx];
    // Extend over following entries while under max_bytes (at least one entry).
    uint64_t n = seg->offsets.size();
    uint64_t last_idx = idx;
    while (last_idx + 1 < n && seg->offsets[last_idx + 1] - first_off < max_bytes &&
           seg->first_seq + last_idx + 1 <= written_seq_) {
      last_idx++;
    }
    offs.assign(seg->offsets.begin() + static_cast<std::ptrdiff_t>(idx),
                seg->offsets.begin() + static_cast<std::ptrdiff_t>(last_idx + 1));
    // The range ends where the entry after it starts, or (for the segment's last indexed entry)
    // at the end of the last entry, learnt from its header below.
    end_off = last_idx + 1 < n ? seg->offsets[last_idx + 1] : 0;
  }
  const uint64_t first_off = offs.front();
  // Read outside the lock; the shared_ptr keeps the fd open even if truncate drops the segment.
  if (end_off == 0) {
    EntryHeader h;
    size_t got = 0;
    Status s = PreadAll(seg->fd, &h, sizeof h, offs.back(), seg->path, &got);
    if (!s.ok()) return s;
    if (got < sizeof h) return Status::Make(Code::kCorruption, "short entry header in " + seg->path);
    // Header and payload only, not the alignment padding: a crash may cut the file inside the
    // padding of an entry whose checksummed bytes are whole, and recovery rightly keeps it.
    end_off = offs.back() + kEntryHeaderSize + h.length;
  }
  data->resize(end_off - first_off);
  size_t got = 0;
  Status s = PreadAll(seg->fd, data->data(), data->size(), first_off, seg->path, &got);
  if (!s.ok()) return s;
  if (got < data->size()) return Status::Make(Code::kCorruption, "short read in " + seg->path);
  for (size_t k = 0; k < offs.size(); k++) {
    const uint64_t seq = from + k;
    const size_t pos = offs[k] - first_off;
    EntryHeader h{};
    const bool fits = pos + kEntryHeaderSize <= data->size();
    if (fits) std::memcpy(&h, data->data() + pos, sizeof h);
#ifdef POWERCUT_PLANT_RECOVERY_SKIPS_CHECKSUM
    const bool crc_ok = true;  // PLANTED (as in ScanSegment)
#else
    const bool crc_ok = fits && h.length <= data->size() - pos - kEntryHeaderSize &&
                        EntryCrc(h.length, h.seq, data->data() + pos + kEntryHeaderSize) == h.crc;
#endif
#ifdef POWERCUT_PLANT_RECYCLED_STALE_ENTRY
    if (fits && h.seq < seg->first_seq) h.seq = seq;  // PLANTED (as in ScanSegment)
#endif
    if (!fits || h.seq != seq || h.length > data->size() - pos - kEntryHeaderSize || !crc_ok) {
      // The bytes changed under us: truncate recycled the segment, or the file was damaged.
      std::lock_guard<std::mutex> lk(mu_);
      if (seq < first_seq_) {
        return Status::Make(Code::kNotFound, "sequence " + std::to_string(seq) + " was truncated");
      }
      Status c = Status::Make(Code::kCorruption, "entry " + std::to_string(seq) + " in " + seg->path + " at offset " +
                                                      std::to_string(first_off + pos) + " fails its checksum");
      c.path = seg->path;
      c.offset = first_off + pos;
      c.seq = seq;
      return c;
    }
    entries->push_back(ReadEntry{seq, pos + kEntryHeaderSize, h.length});
  }
  return Status::Ok();
}

Status Log::Truncate(uint64_t before) {
  std::vector<std::shared_ptr<Segment>> dropped;
  // Held to the end: Close must not release the directory (and return) while this truncate still
  // writes the first-seq file or renames and removes segments, and two truncates must not share
  // the first-seq temp file. Measured before: close() resolved with a truncate still running in
  // 12 of 200 tries, which then changed a directory another process may already have opened.
  std::lock_guard<std::mutex> dir_lk(dir_mu_);
  if (staging_->closing()) return Status::Make(Code::kClosed, "the WAL is closed");
  if (options_.read_only) return Status::Make(Code::kReadOnly, "the WAL " + dir_ + " was opened read-only");
  const uint64_t next_seq = staging_->last_assigned() + 1;
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (before > next_seq) {
      return Status::Make(Code::kInvalidArgument, "truncate(" + std::to_string(before) + ") is past the end of the log (last " +
                                                      std::to_string(next_seq - 1) + ")");
    }
    if (before <= first_seq_) return Status::Ok();
    first_seq_ = before;
  }
  // Durable record first: if a crash follows, recovery finishes dropping the segments.
  Status s = WriteFirstSeqFile(dir_, before);
  if (!s.ok()) return s;
  {
    std::lock_guard<std::mutex> lk(mu_);
    // Never the active (last) segment: it carries the sequence the log continues from.
    while (segments_.size() > 1 && segments_[1]->first_seq <= before) {
      dropped.push_back(segments_.front());
      segments_.pop_front();
    }
  }
  if (dropped.empty()) return Status::Ok();
  bool dir_dirty = false;
  for (auto& seg : dropped) spares_->RecycleOrRemove(seg->path, &dir_dirty);
  return FsyncPath(dir_, true);
}

Status Log::Close() {
  std::lock_guard<std::mutex> dir_lk(dir_mu_);  // waits for a truncate in flight (see Truncate)
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (closed_) return failed_ ? failure_ : Status::Ok();
  }
  if (staging_) staging_->Close();  // (no staging: Open failed before recovery finished)
  if (committer_) committer_->Join();
  spares_->Stop();  // after the committer: its last rotation may still take a spare
  Status result;
  {
    std::lock_guard<std::mutex> lk(mu_);
    closed_ = true;
    if (failed_) result = failure_;
    // Release the directory and its files (a read still in flight holds its segment alive).
    lock_->Release();
    segments_.clear();
  }
  NotifyAll();
  return result;
}

}  // namespace powercut::wal
