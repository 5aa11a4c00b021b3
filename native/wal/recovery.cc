#include "recovery.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <utility>
#include <vector>

#include "first_seq.h"

namespace powercut::wal {

// ---------------------------------------------------------------- DirectoryLock

Status DirectoryLock::Acquire(const std::string& dir, bool shared) {
  auto lock = [&](int fd, const std::string& what) {
    if (::flock(fd, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0) return Status::Ok();
    if (errno == EWOULDBLOCK) {
      Status s = Status::Make(Code::kLocked, "WAL directory " + dir + " is already open (its lock is held)");
      s.path = dir;
      return s;
    }
    return Status::FromErrno(errno, "flock", what);
  };
  dir_fd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd_ < 0) return Status::FromErrno(errno, "open", dir);
  Status s = lock(dir_fd_, dir);
  if (!s.ok() || shared) return s;  // read_only creates nothing, not even LOCK
  const std::string path = dir + "/" + kLockFile;
  file_fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (file_fd_ < 0) return Status::FromErrno(errno, "open", path);
  return lock(file_fd_, path);
}

void DirectoryLock::Release() {
  if (file_fd_ >= 0) ::close(file_fd_);
  if (dir_fd_ >= 0) ::close(dir_fd_);
  file_fd_ = dir_fd_ = -1;
}

void DirectoryLock::TakeFrom(DirectoryLock& other) {
  Release();
  std::swap(dir_fd_, other.dir_fd_);
  std::swap(file_fd_, other.file_fd_);
}

int WriteFlagsFor(Strategy strategy) {
  if (strategy == Strategy::kDsync) return O_DSYNC;
  if (strategy == Strategy::kDirect) return O_DIRECT;
  return 0;
}

// ---------------------------------------------------------------- Recovery

namespace {

class Recovery {
 public:
  Recovery(const std::string& dir, const Options& options, uint32_t direct_block, SparePool& spares, RecoveredLog& out)
      : dir_(dir), options_(options), direct_block_(direct_block), spares_(spares), out_(out) {}

  Status Run() {
    Status s = LockDirectory();
    if (s.ok()) s = ListDirectory();
    if (s.ok()) s = ReadFirstSeq();
    if (s.ok()) DropTruncated();
    if (s.ok()) s = CutUnwrittenTail();
    if (s.ok()) s = ScanSegments();
    if (s.ok()) s = ContinueAt();
    if (s.ok()) s = PrepareForWrites();
    return s;
  }

 private:
  std::string PathOf(const std::string& name) const { return dir_ + "/" + name; }
  void Recycle(const std::string& path) { spares_.RecycleOrRemove(path, &dir_dirty_); }

  // 1. Lock first: two handles writing one directory would interleave sequences.
  Status LockDirectory() { return out_.lock.Acquire(dir_, options_.read_only); }

  // 2. Every name in the directory is ours or the open fails (WAL_FOREIGN_FILES).
  Status ListDirectory() {
    std::map<uint64_t, std::string> segment_names;
    std::vector<std::string> foreign;
    DIR* d = ::opendir(dir_.c_str());
    if (d == nullptr) return Status::FromErrno(errno, "opendir", dir_);
    while (struct dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name == "." || name == ".." || name == kLockFile || name == kFirstSeqFile) continue;
      bool tmp = false;
      if (auto seq = ParseSegmentFileName(name)) {
        segment_names[*seq] = name;
      } else if (auto n = ParseSpareFileName(name, &tmp)) {
        spares_.SeeNumber(*n);
        if (tmp) RemoveLeftover(name);  // a spare whose preparation a crash interrupted
        else spares_.Adopt(PathOf(name));
      } else if (name == std::string(kFirstSeqFile) + ".tmp") {
        RemoveLeftover(name);  // a truncate a crash interrupted before its rename
      } else {
        foreign.push_back(name);
      }
    }
    ::closedir(d);
    if (!foreign.empty()) {
      std::string list;
      for (size_t i = 0; i < foreign.size() && i < 3; i++) list += (i ? ", " : "") + foreign[i];
      if (foreign.size() > 3) list += ", ...";
      Status s = Status::Make(Code::kForeignFiles, "WAL directory " + dir_ + " holds files that are not the WAL's (" +
                                                       list + "); use an empty or WAL-only directory");
      s.path = dir_;
      return s;
    }
    for (const auto& [first, name] : segment_names) {
      if (first > kMaxSeq) {
        Status s = Status::Make(Code::kOutOfRange, "segment " + PathOf(name) + " starts past the largest sequence (" +
                                                       std::to_string(kMaxSeq) + ", Number.MAX_SAFE_INTEGER)");
        s.path = PathOf(name);
        s.seq = first;
        return s;
      }
    }
    names_.assign(segment_names.begin(), segment_names.end());
    return Status::Ok();
  }

  void RemoveLeftover(const std::string& name) {
    if (!options_.read_only) ::unlink(PathOf(name).c_str());
    dir_dirty_ = true;
  }

  // 3.
  Status ReadFirstSeq() {
    bool present = false;
    Status s = ReadFirstSeqFile(PathOf(kFirstSeqFile), &present, &trunc_seq_, &trunc_checksummed_);
    if (s.ok() && !present) trunc_seq_ = 0;
    return s;
  }

  // 4. Finish a truncate a crash interrupted: segments wholly below first-seq go.
  void DropTruncated() {
    while (names_.size() > 1 && trunc_seq_ != 0 && names_[1].first <= trunc_seq_) {
      Recycle(PathOf(names_.front().second));
      names_.erase(names_.begin());
    }
  }

  // 5. Segments at the end of the log that never got their own header to the disk (all zeros, or
  // a recycled file's old header): any sync of a segment's entries also carries its header
  // (CreateSegment makes it durable before the rename), so nothing in them was ever durable, under
  // any strategy: a torn tail, cut like one. Entry bytes behind such a header (the volatile cache
  // wrote them back, not the header) count as torn bytes. Cut before the scan, so the segment
  // before them ends the log (its own torn tail is then a torn tail, not damage "followed by later
  // segments"). Such a header with a valid segment after it is not in this tail: the scan reports
  // it as corruption.
  Status CutUnwrittenTail() {
    size_t tail = names_.size();
    std::vector<uint64_t> nonzero(names_.size(), 0);
    while (tail > 0) {
      bool unwritten = false;
      Status z = UnwrittenHeaderCheck(PathOf(names_[tail - 1].second), names_[tail - 1].first, &unwritten,
                                      &nonzero[tail - 1]);
      if (!z.ok()) return z;
      if (!unwritten) break;
      tail--;
    }
    for (size_t j = tail; j < names_.size(); j++) {
      const std::string path = PathOf(names_[j].second);
      out_.report.torn_bytes += nonzero[j];
      // A file with nothing after its header is a fine spare. One holding entries is removed,
      // never recycled: they may carry the sequences the log continues with, while a recycled
      // file's leftovers are harmless only when older than its new first sequence.
      if (nonzero[j] == 0) {
        Recycle(path);
      } else if (!options_.read_only && ::unlink(path.c_str()) != 0 && errno != ENOENT) {
        return Status::FromErrno(errno, "unlink", path);
      }
      dir_dirty_ = true;
    }
    // With nothing before them, their names are the only record of where the log had got to:
    // continue there, never re-issuing sequences below it.
    if (tail == 0 && !names_.empty()) torn_floor_ = names_.front().first;
    names_.resize(tail);
    return Status::Ok();
  }

  // 6.
  Status ScanSegments() {
    for (size_t i = 0; i < names_.size(); i++) {
      bool stop = false;
      Status s = ScanOne(i, &stop);
      if (!s.ok()) return s;
      if (stop) break;
    }
    return Status::Ok();
  }

  Status OpenSegment(size_t i, std::shared_ptr<Segment>* out, uint64_t* file_size) {
    auto seg = std::make_shared<Segment>();
    seg->path = PathOf(names_[i].second);
    seg->fd = ::open(seg->path.c_str(), (options_.read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (seg->fd < 0) return Status::FromErrno(errno, "open", seg->path);
    seg->wfd = seg->fd;
    struct stat st;
    if (::fstat(seg->fd, &st) != 0) return Status::FromErrno(errno, "fstat", seg->path);
    *file_size = static_cast<uint64_t>(st.st_size);
    seg->size = std::max<uint64_t>(*file_size, options_.segment_size);
    *out = std::move(seg);
    return Status::Ok();
  }

  // Mid-log damage: WAL_CORRUPTION, or with repair the log is cut and segments from `drop_from` go.
  Status CorruptionOrCut(Status c, size_t drop_from) {
    if (!options_.repair || (drop_from == 0 && out_.segments.empty())) return c;
    out_.report.repaired = true;
    out_.report.repair_status = std::move(c);
    for (size_t j = drop_from; j < names_.size(); j++) Recycle(PathOf(names_[j].second));
    names_.resize(drop_from);
    return Status::Ok();
  }

  Status ScanOne(size_t i, bool* stop) {
    const bool last = i + 1 == names_.size();
    std::shared_ptr<Segment> seg;
    uint64_t file_size = 0;
    Status s = OpenSegment(i, &seg, &file_size);
    if (!s.ok()) return s;

    uint8_t hdr[sizeof(SegmentHeader)] = {0};
    size_t got = 0;
    s = PreadAll(seg->fd, hdr, sizeof hdr, 0, seg->path, &got);
    if (!s.ok()) return s;
    auto first = DecodeSegmentHeader(hdr, got);
    const bool header_ok = first.has_value() && *first == names_[i].first;
    const bool gap = header_ok && have_expected_ && *first != expected_;
    if (!header_ok || gap) {
      *stop = true;
      if (last && !gap && !out_.segments.empty()) {
        // A rotation the crash interrupted: the file was renamed into place but its header never
        // became durable, so it holds nothing acknowledged. Give it back to the spare pool.
        Recycle(seg->path);
        return Status::Ok();
      }
      Status c = Status::Make(Code::kCorruption,
                              gap ? "segment " + seg->path + " starts at sequence " + std::to_string(*first) +
                                        " but the previous segment ends before " + std::to_string(expected_)
                                  : "segment " + seg->path + " has an invalid header");
      c.path = seg->path;
      c.offset = 0;
      c.seq = have_expected_ ? expected_ : names_[i].first;
      return CorruptionOrCut(std::move(c), i);
    }
    seg->first_seq = *first;

    FileWindow win(seg->fd, file_size, seg->path);
    ScanResult scan;
    s = ScanSegment(win, seg->first_seq, trunc_seq_, &scan);
    if (!s.ok()) return s;
    seg->offsets = std::move(scan.offsets);
    seg->end = scan.end_offset;
    expected_ = scan.next_seq;
    have_expected_ = true;

    // Is whatever stops the scan a torn tail, or damage with valid entries after it?
    std::optional<uint64_t> newer_at;
    uint64_t newer_seq = 0;
    const bool bytes_follow = scan.end_offset + kEntryHeaderSize <= file_size;
    if (bytes_follow) {
      // Sequences below first-seq are not the log's: only a live entry proves damage mid-log.
      s = FindNewerEntry(win, scan.end_offset, std::max(scan.next_seq, trunc_seq_), &newer_at, &newer_seq);
      if (!s.ok()) return s;
    }
    // The next segment (by name) starting exactly here means this segment ended cleanly.
    const bool later_segments_continue = !last && names_[i + 1].first == scan.next_seq;
    if (newer_at.has_value() || (!last && !later_segments_continue)) {
      Status c = Status::Make(
          Code::kCorruption,
          "mid-log corruption in " + seg->path + " at offset " + std::to_string(scan.end_offset) + ": " +
              (scan.reason.empty() ? std::string("entry missing") : scan.reason) + " (sequence " +
              std::to_string(scan.next_seq) + "), but " +
              (newer_at ? "a valid entry (sequence " + std::to_string(newer_seq) + ") follows at offset " +
                              std::to_string(*newer_at)
                        : "later segments hold entries"));
      c.path = seg->path;
      c.offset = scan.end_offset;
      c.seq = scan.next_seq;
      s = CorruptionOrCut(std::move(c), i + 1);
      if (!s.ok()) return s;
    }
    const bool now_last = i + 1 == names_.size();
    if (now_last && bytes_follow) {
      bool below_first = false;
      s = DamagedBelowFirstSeq(win, scan, newer_at.has_value(), &below_first);
      if (!s.ok()) return s;
      // The log continues in a new segment at first-seq (ContinueAt): nothing is written into
      // bytes recovery could not read, and the next open drops this segment as wholly below.
      if (below_first) end_at_first_seq_ = true;
      else s = CutTornTail(*seg, win, scan, file_size, newer_at.has_value());
      if (!s.ok()) return s;
    }
    out_.segments.push_back(std::move(seg));
    *stop = now_last;
    return Status::Ok();
  }

  // The last segment stopped below first-seq at damage, with no live entry after it: those bytes
  // are truncated entries (unreadable ones, or valid ones after the stop), not a torn tail.
  Status DamagedBelowFirstSeq(FileWindow& win, const ScanResult& scan, bool newer_live, bool* below) {
    *below = false;
    if (scan.next_seq >= trunc_seq_ || newer_live) return Status::Ok();
    if (scan.end == ScanResult::End::kInvalid) {
      *below = true;
      return Status::Ok();
    }
    std::optional<uint64_t> at;
    uint64_t at_seq = 0;
    Status s = FindNewerEntry(win, scan.end_offset, scan.next_seq, &at, &at_seq);
    *below = s.ok() && at.has_value() && at_seq < trunc_seq_;
    return s;
  }

  // Zero what follows the last valid entry of the last segment (a torn tail), unless it is a stale
  // entry of a recycled file with no newer entry after it (harmless: an older sequence, which
  // every scan stops at). `newer_follows`: repair is cutting the log at damage with a live entry
  // after it; that entry and its neighbours are cut too, even behind a stale entry, or the next
  // plain open reports the same corruption and the next appends run into them.
  Status CutTornTail(Segment& seg, FileWindow& win, const ScanResult& scan, uint64_t file_size, bool newer_follows) {
    const uint8_t* p;
    Status s = win.Get(scan.end_offset, kEntryHeaderSize, &p);
    if (!s.ok()) return s;
    EntryHeader h;
    std::memcpy(&h, p, sizeof h);
    if (!newer_follows && h.seq != 0 && h.seq < seg.first_seq && h.length <= file_size - scan.end_offset - kEntryHeaderSize) {
      const uint8_t* e;
      s = win.Get(scan.end_offset, kEntryHeaderSize + h.length, &e);
      if (!s.ok()) return s;
      if (EntryCrc(h.length, h.seq, e + kEntryHeaderSize) == h.crc) return Status::Ok();
    }
    uint64_t nz_end = scan.end_offset;
    s = NonZeroExtentEnd(win, scan.end_offset, &nz_end);
    if (!s.ok() || nz_end <= scan.end_offset) return s;
#ifdef POWERCUT_PLANT_TORN_TAIL_NOT_CUT
    // PLANTED (class: torn tail counted but not cut): appends continue after the garbage.
    out_.report.torn_bytes += nz_end - scan.end_offset;
    seg.end = (nz_end + kEntryAlign - 1) / kEntryAlign * kEntryAlign;
    return Status::Ok();
#endif
    if (!options_.read_only) {  // read_only: cut in memory only (seg.end is where reads stop)
      s = ZeroRange(seg.fd, scan.end_offset, nz_end, seg.path);
      if (!s.ok()) return s;
      if (::fdatasync(seg.fd) != 0) return Status::FromErrno(errno, "fdatasync", seg.path);
    }
    out_.report.torn_bytes += nz_end - scan.end_offset;
    return Status::Ok();
  }

  // 7. Where the log continues, and the segment it continues in.
  Status ContinueAt() {
    auto& segments = out_.segments;
    const uint64_t log_end = segments.empty() ? torn_floor_ : end_at_first_seq_ ? trunc_seq_ : expected_;  // 0: unknown
    if (trunc_seq_ != 0 && log_end != 0 && trunc_seq_ > log_end && !trunc_checksummed_) {
      // truncate(before) records before <= last durable + 1, so a decimal (layout 1, unchecksummed)
      // first-seq past the end is most likely a damaged digit that would hide acknowledged
      // entries: refuse it. A checksummed record past the end was written so; what is missing
      // below it are truncated entries (damage there costs no live entry): go on at first-seq.
      Status s = Status::Make(Code::kOutOfRange, "first-seq " + PathOf(kFirstSeqFile) + " says the log starts at " +
                                                     std::to_string(trunc_seq_) + ", past its end (next sequence " +
                                                     std::to_string(log_end) + ")");
      s.path = PathOf(kFirstSeqFile);
      s.seq = trunc_seq_;
      return s;
    }
    uint64_t next = segments.empty() ? std::max<uint64_t>(1, trunc_seq_) : expected_;
    if (trunc_seq_ > next) next = trunc_seq_;
    if (torn_floor_ > next) next = torn_floor_;
    if (!options_.read_only && (segments.empty() || next != expected_)) {
      std::string spare;
      Status s = spares_.Prepare(options_.preallocate, &spare);
      if (!s.ok()) return s;
      std::shared_ptr<Segment> seg;
      // Opened buffered: PrepareForWrites opens the strategy's write fd of the active segment.
      s = CreateSegment(dir_, spare, next, options_.segment_size, options_.preallocate, 0, &seg);
      if (!s.ok()) return s;
      segments.push_back(std::move(seg));
    }
    out_.next_seq = next;
    const uint64_t oldest = segments.empty() ? next : segments.front()->first_seq;
    out_.first_seq = std::min(std::max<uint64_t>(oldest, trunc_seq_), next);
    RecoveryReport& r = out_.report;
    r.first_seq = out_.first_seq;
    r.last_seq = next - 1;
    r.entries = next - out_.first_seq;
    r.segments = segments.size();
    return Status::Ok();
  }

  // 8. Make the directory's changes durable and the active segment writable per the strategy.
  Status PrepareForWrites() {
    if (options_.read_only) return Status::Ok();
    if (dir_dirty_) {
      Status s = FsyncPath(dir_, true);
      if (!s.ok()) return s;
    }
    Segment& seg = *out_.segments.back();
    if (options_.strategy == Strategy::kDirect && seg.end % direct_block_ != 0) {
      // Written by a buffered strategy before: pad to the block boundary through the buffered fd
      // so O_DIRECT writes can continue from an aligned offset.
      uint64_t padded = (seg.end + direct_block_ - 1) / direct_block_ * direct_block_;
      if (padded - seg.end < kEntryHeaderSize) padded += direct_block_;
      std::vector<uint8_t> pad(padded - seg.end);
      EncodePadding(pad.data(), pad.size());
      Status s = PwriteAll(seg.fd, pad.data(), pad.size(), seg.end, seg.path);
      if (!s.ok()) return s;
      if (::fdatasync(seg.fd) != 0) return Status::FromErrno(errno, "fdatasync", seg.path);
      seg.end = padded;
    }
    if (seg.wfd != seg.fd && seg.wfd >= 0) ::close(seg.wfd);
    return OpenWriteFd(seg, WriteFlagsFor(options_.strategy));
  }

  const std::string& dir_;
  const Options& options_;
  const uint32_t direct_block_;
  SparePool& spares_;
  RecoveredLog& out_;

  std::vector<std::pair<uint64_t, std::string>> names_;  // segments by first sequence
  uint64_t trunc_seq_ = 0;                               // first-seq, 0 when there is none
  bool trunc_checksummed_ = false;
  bool dir_dirty_ = false;
  uint64_t torn_floor_ = 0;  // where a log whose every segment was torn away continues
  uint64_t expected_ = 0;    // the sequence the next segment's entries must start with
  bool have_expected_ = false;
  bool end_at_first_seq_ = false;  // the last segment stopped at damage below first-seq
};

}  // namespace

Status RecoverLog(const std::string& dir, const Options& options, uint32_t direct_block, SparePool& spares,
                  RecoveredLog* out) {
  return Recovery(dir, options, direct_block, spares, *out).Run();
}

}  // namespace powercut::wal
