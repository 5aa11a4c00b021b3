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

namespace powercut::wal {

// ---------------------------------------------------------------- ByteBuffer

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

// ---------------------------------------------------------------- open and recovery

Log::Log(std::string dir, const Options& options) : dir_(std::move(dir)), options_(options) {
  uint64_t room = options_.segment_size - kSegmentHeaderSize - kEntryHeaderSize - kEntryAlign;
  if (options_.strategy == Strategy::kDirect) room -= 4096 + kEntryHeaderSize;  // padding reserve
  max_payload_ = std::min<uint64_t>(room, 0xFFFFFFF0u);
}

Log::~Log() {
  Close();
  if (lock_fd_ >= 0) ::close(lock_fd_);  // Open failed before Close could run
  if (dir_lock_fd_ >= 0) ::close(dir_lock_fd_);
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
  r.status = log->Recover();
  if (!r.ok()) return r;
  if (!options.read_only) {
    log->committer_ = std::make_unique<Committer>(*log);
    log->committer_->SetActive(log->segments_.back());
    log->committer_->Start();
    log->preparer_ = std::thread([l = log.get()] { l->PreparerLoop(); });
  }
  r.value = std::move(log);
  return r;
}

Status Log::Recover() {
  // Lock first: two handles writing one directory would interleave sequences. The lock is on the
  // directory's own inode, so deleting or replacing LOCK cannot hand a second process the log
  // (issue 13); LOCK is still created and locked for older builds that only know that file.
  // read_only takes it shared: any number of readers, never beside a writer.
  dir_lock_fd_ = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_lock_fd_ < 0) return Status::FromErrno(errno, "open", dir_);
  auto locked = [this](int fd, const std::string& what) {
    if (::flock(fd, (options_.read_only ? LOCK_SH : LOCK_EX) | LOCK_NB) == 0) return Status::Ok();
    if (errno == EWOULDBLOCK) {
      Status s = Status::Make(Code::kLocked, "WAL directory " + dir_ + " is already open (its lock is held)");
      s.path = dir_;
      return s;
    }
    return Status::FromErrno(errno, "flock", what);
  };
  Status ls = locked(dir_lock_fd_, dir_);
  if (!ls.ok()) return ls;
  if (!options_.read_only) {
    std::string lock_path = PathOf(kLockFile);
    lock_fd_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (lock_fd_ < 0) return Status::FromErrno(errno, "open", lock_path);
    ls = locked(lock_fd_, lock_path);
    if (!ls.ok()) return ls;
  }

  std::map<uint64_t, std::string> segment_names;
  std::vector<std::string> foreign;
  bool dir_dirty = false;
  DIR* d = ::opendir(dir_.c_str());
  if (d == nullptr) return Status::FromErrno(errno, "opendir", dir_);
  while (struct dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == ".." || name == kLockFile) continue;
    bool tmp = false;
    if (auto seq = ParseSegmentFileName(name)) {
      segment_names[*seq] = name;
    } else if (auto n = ParseSpareFileName(name, &tmp)) {
      spare_counter_ = std::max(spare_counter_, *n);
      if (tmp) {
        if (!options_.read_only) ::unlink(PathOf(name).c_str());  // a spare whose preparation a crash interrupted
        dir_dirty = true;
      } else {
        spares_.push_back(PathOf(name));
      }
    } else if (name == kFirstSeqFile) {
      // read below
    } else if (name == std::string(kFirstSeqFile) + ".tmp") {
      if (!options_.read_only) ::unlink(PathOf(name).c_str());
      dir_dirty = true;
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

  uint64_t trunc_seq = 0;
  bool trunc_checksummed = false;
  {
    bool present = false;
    Status s = ReadFirstSeqFile(PathOf(kFirstSeqFile), &present, &trunc_seq, &trunc_checksummed);
    if (!s.ok()) return s;
    if (!present) trunc_seq = 0;
  }

  std::vector<std::pair<uint64_t, std::string>> names(segment_names.begin(), segment_names.end());
  // Finish a truncate a crash interrupted: segments wholly below first-seq go.
  while (names.size() > 1 && trunc_seq != 0 && names[1].first <= trunc_seq) {
    RecycleOrRemove(PathOf(names.front().second), &dir_dirty);
    names.erase(names.begin());
  }

  // Segments at the end of the log that never got their own header to the disk (all zeros, or a
  // recycled file's old header): any sync of a segment's entries also carries its header (written
  // first, same file), so nothing in them was ever durable, under any strategy: a torn tail, cut
  // like one (seen after a rotation whose name a truncate's directory fsync made durable, but not
  // its header). Entry bytes behind such a header (the volatile cache wrote them back, not the
  // header) count as torn bytes. Cut before the scan, so the segment before them ends the log (its
  // own torn tail is then a torn tail, not damage "followed by later segments"). Such a header
  // with a valid segment after it is not in this tail: the scan reports it as corruption.
  uint64_t torn_floor = 0;  // where a log whose every segment was torn away continues
  {
    size_t tail = names.size();
    std::vector<uint64_t> nonzero(names.size(), 0);
    while (tail > 0) {
      bool unwritten = false;
      Status z = UnwrittenHeaderCheck(PathOf(names[tail - 1].second), names[tail - 1].first, &unwritten,
                                      &nonzero[tail - 1]);
      if (!z.ok()) return z;
      if (!unwritten) break;
      tail--;
    }
    for (size_t j = tail; j < names.size(); j++) {
      const std::string path = PathOf(names[j].second);
      recovery_.torn_bytes += nonzero[j];
      // A file with nothing after its header is a fine spare. One holding entries is removed,
      // never recycled: they may carry the sequences the log continues with, while a recycled
      // file's leftovers are harmless only when older than its new first sequence.
      if (nonzero[j] == 0) {
        RecycleOrRemove(path, &dir_dirty);
      } else if (!options_.read_only && ::unlink(path.c_str()) != 0 && errno != ENOENT) {
        return Status::FromErrno(errno, "unlink", path);
      }
      dir_dirty = true;
    }
    // With nothing before them, their names are the only record of where the log had got to:
    // continue there, never re-issuing sequences below it.
    if (tail == 0 && !names.empty()) torn_floor = names.front().first;
    names.resize(tail);
  }

  uint64_t expected = 0;
  bool have_expected = false;
  bool end_at_first_seq = false;  // the last segment stopped at damage below first-seq
  for (size_t i = 0; i < names.size(); i++) {
    const bool last = i + 1 == names.size();
    auto seg = std::make_shared<Segment>();
    seg->path = PathOf(names[i].second);
    seg->fd = ::open(seg->path.c_str(), (options_.read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (seg->fd < 0) return Status::FromErrno(errno, "open", seg->path);
    seg->wfd = seg->fd;
    struct stat st;
    if (::fstat(seg->fd, &st) != 0) return Status::FromErrno(errno, "fstat", seg->path);
    const uint64_t file_size = static_cast<uint64_t>(st.st_size);
    seg->size = std::max<uint64_t>(file_size, options_.segment_size);

    uint8_t hdr[sizeof(SegmentHeader)] = {0};
    size_t got = 0;
    Status s = PreadAll(seg->fd, hdr, sizeof hdr, 0, seg->path, &got);
    if (!s.ok()) return s;
    auto first = DecodeSegmentHeader(hdr, got);
    const bool header_ok = first.has_value() && *first == names[i].first;
    const bool gap = header_ok && have_expected && *first != expected;
    if (!header_ok || gap) {
      if (last && !gap && !segments_.empty()) {
        // A rotation the crash interrupted: the file was renamed into place but its header never
        // became durable, so it holds nothing acknowledged. Give it back to the spare pool.
        seg.reset();
        RecycleOrRemove(PathOf(names[i].second), &dir_dirty);
        break;
      }
      Status c = Status::Make(Code::kCorruption,
                              gap ? "segment " + seg->path + " starts at sequence " + std::to_string(*first) +
                                        " but the previous segment ends before " + std::to_string(expected)
                                  : "segment " + seg->path + " has an invalid header");
      c.path = seg->path;
      c.offset = 0;
      c.seq = have_expected ? expected : names[i].first;
      if (!options_.repair || segments_.empty()) return c;
      // repair: cut the log here; this and every later segment go.
      recovery_.repaired = true;
      recovery_.repair_status = c;
      seg.reset();
      for (size_t j = i; j < names.size(); j++) RecycleOrRemove(PathOf(names[j].second), &dir_dirty);
      break;
    }
    seg->first_seq = *first;

    FileWindow win(seg->fd, file_size, seg->path);
    ScanResult scan;
    s = ScanSegment(win, seg->first_seq, trunc_seq, &scan);
    if (!s.ok()) return s;
    seg->offsets = std::move(scan.offsets);
    seg->end = scan.end_offset;
    expected = scan.next_seq;
    have_expected = true;

    // Is whatever stops the scan a torn tail, or damage with valid entries after it?
    std::optional<uint64_t> newer_at;
    uint64_t newer_seq = 0;
    const bool bytes_follow = scan.end_offset + kEntryHeaderSize <= file_size;
    if (bytes_follow) {
      // Sequences below first-seq are not the log's: only a live entry proves damage mid-log.
      s = FindNewerEntry(win, scan.end_offset, std::max(scan.next_seq, trunc_seq), &newer_at, &newer_seq);
      if (!s.ok()) return s;
    }
    bool later_segments_continue = false;
    if (!last) {
      // The next segment (by name) starting exactly here means this segment ended cleanly.
      later_segments_continue = names[i + 1].first == scan.next_seq;
    }
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
      if (!options_.repair) return c;
      recovery_.repaired = true;
      recovery_.repair_status = c;
      for (size_t j = i + 1; j < names.size(); j++) RecycleOrRemove(PathOf(names[j].second), &dir_dirty);
      names.resize(i + 1);
    }
    const bool now_last = i + 1 == names.size();
    // Stopped below first-seq at damage, with no live entry after it (first-seq is one past every
    // entry here): those bytes are truncated entries, not a torn tail. The log ends at first-seq.
    bool damaged_below_first = false;
    if (now_last && scan.next_seq < trunc_seq && bytes_follow && !newer_at) {
      damaged_below_first = scan.end == ScanResult::End::kInvalid;
      if (!damaged_below_first) {
        std::optional<uint64_t> at;
        uint64_t at_seq = 0;
        s = FindNewerEntry(win, scan.end_offset, scan.next_seq, &at, &at_seq);
        if (!s.ok()) return s;
        damaged_below_first = at.has_value() && at_seq < trunc_seq;
      }
    }
    // The log continues in a new segment at first-seq (below): nothing is written into bytes
    // recovery could not read, and the next open drops this segment as wholly below first-seq.
    if (damaged_below_first) end_at_first_seq = true;
    if (now_last && bytes_follow && !damaged_below_first) {
      // Cut the torn tail: zero what follows the last valid entry, unless what follows is a stale
      // entry of a recycled file (harmless: older sequence, and no newer entry exists after it).
      const uint8_t* p;
      s = win.Get(scan.end_offset, kEntryHeaderSize, &p);
      if (!s.ok()) return s;
      EntryHeader h;
      std::memcpy(&h, p, sizeof h);
      bool stale = false;
      if (h.seq != 0 && h.seq < seg->first_seq && h.length <= file_size - scan.end_offset - kEntryHeaderSize) {
        const uint8_t* e;
        s = win.Get(scan.end_offset, kEntryHeaderSize + h.length, &e);
        if (!s.ok()) return s;
        stale = EntryCrc(h.length, h.seq, e + kEntryHeaderSize) == h.crc;
      }
      if (!stale) {
        uint64_t nz_end = scan.end_offset;
        s = NonZeroExtentEnd(win, scan.end_offset, &nz_end);
        if (!s.ok()) return s;
        if (nz_end > scan.end_offset) {
          if (!options_.read_only) {  // read_only: cut in memory only (seg->end is where reads stop)
            s = ZeroRange(seg->fd, scan.end_offset, nz_end, seg->path);
            if (!s.ok()) return s;
            if (::fdatasync(seg->fd) != 0) return Status::FromErrno(errno, "fdatasync", seg->path);
          }
          recovery_.torn_bytes += nz_end - scan.end_offset;
        }
      }
    }
    segments_.push_back(std::move(seg));
    if (now_last) break;
  }

  // Where the log continues.
  const uint64_t log_end = segments_.empty() ? torn_floor : end_at_first_seq ? trunc_seq : expected;  // 0: unknown
  if (trunc_seq != 0 && log_end != 0 && trunc_seq > log_end && !trunc_checksummed) {
    // truncate(before) records before <= last durable + 1, so a decimal (layout 1, unchecksummed)
    // first-seq past the end is most likely a damaged digit that would hide acknowledged entries:
    // refuse it. A checksummed record past the end was written so; what is missing below it are
    // truncated entries (damage there costs no live entry), and the log continues at first-seq.
    Status s = Status::Make(Code::kOutOfRange, "first-seq " + PathOf(kFirstSeqFile) + " says the log starts at " +
                                                   std::to_string(trunc_seq) + ", past its end (next sequence " +
                                                   std::to_string(log_end) + ")");
    s.path = PathOf(kFirstSeqFile);
    s.seq = trunc_seq;
    return s;
  }
  uint64_t next = segments_.empty() ? std::max<uint64_t>(1, trunc_seq) : expected;
  if (trunc_seq > next) next = trunc_seq;
  if (torn_floor > next) next = torn_floor;
  if (!options_.read_only && (segments_.empty() || next != expected)) {
    std::string spare;
    Status s = PrepareSpare(&spare, options_.preallocate);
    if (!s.ok()) return s;
    auto seg = std::make_shared<Segment>();
    seg->first_seq = next;
    seg->path = PathOf(SegmentFileName(next));
    // Write the header before the rename: a segment never exists under its name without one.
    int fd = ::open(spare.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return Status::FromErrno(errno, "open", spare);
    uint8_t block[kSegmentHeaderSize];
    EncodeSegmentHeader(block, next);
    s = PwriteAll(fd, block, sizeof block, 0, spare);
    if (s.ok() && ::fdatasync(fd) != 0) s = Status::FromErrno(errno, "fdatasync", spare);
    ::close(fd);
    if (!s.ok()) return s;
    if (::rename(spare.c_str(), seg->path.c_str()) != 0) return Status::FromErrno(errno, "rename", spare);
    dir_dirty = true;
    seg->fd = ::open(seg->path.c_str(), O_RDWR | O_CLOEXEC);
    if (seg->fd < 0) return Status::FromErrno(errno, "open", seg->path);
    seg->wfd = seg->fd;
    struct stat st;
    if (::fstat(seg->fd, &st) != 0) return Status::FromErrno(errno, "fstat", seg->path);
    seg->size = std::max<uint64_t>(static_cast<uint64_t>(st.st_size), options_.segment_size);
    seg->end = kSegmentHeaderSize;
    segments_.push_back(std::move(seg));
  }
  if (dir_dirty && !options_.read_only) {
    Status s = FsyncPath(dir_, true);
    if (!s.ok()) return s;
  }

  next_seq_ = next;
  released_seq_ = next - 1;
  staged_first_ = next;
  written_seq_ = next - 1;
  const uint64_t oldest = segments_.empty() ? next : segments_.front()->first_seq;
  first_seq_ = std::max<uint64_t>(oldest, trunc_seq);
  if (first_seq_ > next) first_seq_ = next;
  acked_.store(next - 1);
  durable_.store(next - 1);
  sync_target_ = next - 1;

  recovery_.first_seq = first_seq_;
  recovery_.last_seq = next - 1;
  recovery_.entries = next - first_seq_;
  recovery_.segments = segments_.size();
  return options_.read_only ? Status::Ok() : OpenActiveForWrites();
}

Status Log::OpenActiveForWrites() {
  Segment& seg = *segments_.back();
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
  int flags = 0;
  if (options_.strategy == Strategy::kDsync) flags = O_DSYNC;
  if (options_.strategy == Strategy::kDirect) flags = O_DIRECT;
  if (flags != 0) {
    seg.wfd = ::open(seg.path.c_str(), O_WRONLY | O_CLOEXEC | flags);
    if (seg.wfd < 0) return Status::FromErrno(errno, "open", seg.path);
  }
  return Status::Ok();
}

// ---------------------------------------------------------------- spares

Status Log::PrepareSpare(std::string* path, Preallocation mode) {
  uint64_t n;
  {
    std::lock_guard<std::mutex> lk(mu_);
    n = ++spare_counter_;
  }
  std::string tmp = PathOf(SpareFileName(n, true));
  std::string final_path = PathOf(SpareFileName(n, false));
  int fd = ::open(tmp.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno(errno, "open", tmp);
  Status s = Preallocate(fd, options_.segment_size, mode, tmp);
  ::close(fd);
  if (s.ok() && ::rename(tmp.c_str(), final_path.c_str()) != 0) s = Status::FromErrno(errno, "rename", tmp);
  if (s.ok()) s = FsyncPath(dir_, true);
  if (!s.ok()) {
    ::unlink(tmp.c_str());
    return s;
  }
  *path = final_path;
  return Status::Ok();
}

Status Log::TakeSpare(std::string* path) {
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (!spares_.empty()) {
      *path = spares_.back();
      spares_.pop_back();
      return Status::Ok();
    }
  }
  // The background preparer is behind (or was never asked). Rather than stall every waiting
  // append behind a zero-fill of a whole segment, take a file whose space is only reserved
  // (fallocate: metadata, milliseconds); the preparer's zero-filled spare serves the next rotation.
  Preallocation quick =
      options_.preallocate == Preallocation::kZero ? Preallocation::kFallocate : options_.preallocate;
  return PrepareSpare(path, quick);
}

void Log::PreparerLoop() {
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    prep_cv_.wait(lk, [this] { return spare_wanted_ || closing_; });
    if (closing_) return;
    spare_wanted_ = false;
    if (!spares_.empty()) continue;
    preparing_ = true;
    lk.unlock();
    std::string path;
    Status s = PrepareSpare(&path, options_.preallocate);
    lk.lock();
    preparing_ = false;
    // A failure here is not the log's failure: rotation tries again itself and reports then.
    if (s.ok()) spares_.push_back(path);
    prep_cv_.notify_all();
  }
}

void Log::RecycleOrRemove(const std::string& path, bool* dir_dirty) {
  *dir_dirty = true;
  if (options_.read_only) return;  // the file stays; recovery leaves it out of the log in memory
  if (options_.recycle) {
    std::lock_guard<std::mutex> lk(mu_);
    if (spares_.size() < 2) {
      std::string to = PathOf(SpareFileName(++spare_counter_, false));
      if (::rename(path.c_str(), to.c_str()) == 0) {
        spares_.push_back(to);
        return;
      }
    }
  }
  ::unlink(path.c_str());
}

// ---------------------------------------------------------------- caller-thread operations

Result<uint64_t> Log::Append(const void* data, uint32_t len, bool release) {
  Result<uint64_t> r;
  std::lock_guard<std::mutex> lk(mu_);
  if (failed_) {
    r.status = failure_;
    r.status.code = Code::kFailed;
    r.status.message = "the WAL refuses writes after a failed write or sync (" + failure_.message +
                       "); reopen it to recover";
    return r;
  }
  if (closing_) {
    r.status = Status::Make(Code::kClosed, "the WAL is closed");
    return r;
  }
  if (options_.read_only) {
    r.status = Status::Make(Code::kReadOnly, "the WAL " + dir_ + " was opened read-only");
    return r;
  }
  if (next_seq_ > kMaxSeq) {
    r.status = Status::Make(Code::kOutOfRange, "the log has reached its last sequence " + std::to_string(kMaxSeq) +
                                                   " (Number.MAX_SAFE_INTEGER)");
    r.status.seq = next_seq_;
    return r;
  }
  uint8_t* dst = staging_.Extend(EntrySpan(len));
  if (dst == nullptr) {
    r.status = Status::FromErrno(ENOMEM, "malloc", dir_);
    return r;
  }
  const uint64_t seq = next_seq_++;
  EncodeEntry(dst, seq, data, len);
  staged_bytes_.store(staging_.size(), std::memory_order_relaxed);
  // Holding entries back for one batch only pays off where a batch shares one sync: group commit.
  // Everywhere else the committer starts on them at once and writes while the caller appends more.
  if (release || !options_.group_commit) {
    released_seq_ = seq;
    ready_.store(true, std::memory_order_release);
  }
  // Unreleased entries wake a sleeping group committer too: it writes them while more arrive.
  committer_->WakeLocked();
  r.value = seq;
  return r;
}

void Log::Release() {
  std::lock_guard<std::mutex> lk(mu_);
  // Compare sequences, not the staging buffer: group commit may already have written (not synced)
  // the entries this release hands over.
  if (released_seq_ + 1 >= next_seq_) return;
  last_release_entries_.store(next_seq_ - 1 - released_seq_, std::memory_order_relaxed);
  released_seq_ = next_seq_ - 1;
  ready_.store(true, std::memory_order_release);
  committer_->WakeLocked();
}

uint64_t Log::RequestSync() {
  std::lock_guard<std::mutex> lk(mu_);
  uint64_t target = next_seq_ - 1;
  if (target > durable_.load() && !failed_ && !closing_ && committer_) {
    if (released_seq_ + 1 < next_seq_) {
      released_seq_ = next_seq_ - 1;
      ready_.store(true, std::memory_order_release);
    }
    sync_requested_.store(true, std::memory_order_release);
    committer_->WakeLocked();
  }
  return target;
}

Progress Log::GetProgress() {
  Progress p;
  std::lock_guard<std::mutex> lk(mu_);
  p.acked = acked_.load();
  p.durable = durable_.load();
  p.last_assigned = next_seq_ - 1;
  p.failed = failed_;
  p.closed = closing_;
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
  {
    // Under mu_ so nothing is published once Fail has run: an acknowledgement must never follow
    // a failure, even one computed before it (group commit's sync threads race with Fail).
    std::lock_guard<std::mutex> lk(mu_);
    if (failed_) return;
    // Monotonic maxima: several threads publish (syncer, committer, group commit's sync threads).
    if (acked > acked_.load()) acked_.store(acked);
    if (durable > durable_.load()) durable_.store(durable);
  }
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
  NotifyAll();
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
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (from < first_seq_) {
      Status s = Status::Make(Code::kNotFound, "sequence " + std::to_string(from) +
                                                   " was truncated (the log starts at " + std::to_string(first_seq_) + ")");
      s.seq = from;
      return s;
    }
    if (from > written_seq_) {
      if (from >= next_seq_) {
        Status s = Status::Make(Code::kNotFound, "sequence " + std::to_string(from) + " was never appended (last is " +
                                                     std::to_string(next_seq_ - 1) + ")");
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
    if (!fits || h.seq != seq || h.length > data->size() - pos - kEntryHeaderSize ||
        EntryCrc(h.length, h.seq, data->data() + pos + kEntryHeaderSize) != h.crc) {
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
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (closing_) return Status::Make(Code::kClosed, "the WAL is closed");
    if (options_.read_only) return Status::Make(Code::kReadOnly, "the WAL " + dir_ + " was opened read-only");
    if (before > next_seq_) {
      return Status::Make(Code::kInvalidArgument, "truncate(" + std::to_string(before) + ") is past the end of the log (last " +
                                                      std::to_string(next_seq_ - 1) + ")");
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
  for (auto& seg : dropped) RecycleOrRemove(seg->path, &dir_dirty);
  return FsyncPath(dir_, true);
}

Status Log::Close() {
  std::lock_guard<std::mutex> close_lk(close_mu_);
  {
    std::lock_guard<std::mutex> lk(mu_);
    if (closed_) return failed_ ? failure_ : Status::Ok();
    closing_ = true;
  }
  work_cv_.notify_all();
  prep_cv_.notify_all();
  if (committer_) committer_->Join();
  if (preparer_.joinable()) preparer_.join();
  Status result;
  {
    std::lock_guard<std::mutex> lk(mu_);
    closed_ = true;
    if (failed_) result = failure_;
    // Release the directory and its files (a read still in flight holds its segment alive).
    if (lock_fd_ >= 0) ::close(lock_fd_);
    lock_fd_ = -1;
    if (dir_lock_fd_ >= 0) ::close(dir_lock_fd_);
    dir_lock_fd_ = -1;
    segments_.clear();
  }
  NotifyAll();
  return result;
}

}  // namespace powercut::wal
