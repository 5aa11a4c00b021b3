#include "segment.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>

#include "crc32c.h"

namespace powercut::wal {

Segment::~Segment() {
  if (wfd >= 0 && wfd != fd) ::close(wfd);
  if (fd >= 0) ::close(fd);
}

Status PwriteAll(int fd, const void* data, size_t len, uint64_t offset, const std::string& path) {
  const auto* p = static_cast<const uint8_t*>(data);
  while (len > 0) {
    ssize_t n = ::pwrite(fd, p, len, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "pwrite", path);
    }
    if (n == 0) return Status::FromErrno(EIO, "pwrite", path);
    p += n;
    len -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

Status PreadAll(int fd, void* data, size_t len, uint64_t offset, const std::string& path, size_t* got) {
  auto* p = static_cast<uint8_t*>(data);
  size_t total = 0;
  while (total < len) {
    ssize_t n = ::pread(fd, p + total, len - total, static_cast<off_t>(offset + total));
    if (n < 0) {
      if (errno == EINTR) continue;
      return Status::FromErrno(errno, "pread", path);
    }
    if (n == 0) break;
    total += static_cast<size_t>(n);
  }
  *got = total;
  return Status::Ok();
}

Status SyncFile(int fd, bool full, const std::string& path) {
  int rc;
  do rc = full ? ::fsync(fd) : ::fdatasync(fd);
  while (rc != 0 && errno == EINTR);
#ifdef POWERCUT_PLANT_FSYNCGATE_RETRY
  // PLANTED (class: retry after a failed sync, fsyncgate): the retry "succeeds" for dropped pages.
  if (rc != 0 && errno == EIO) rc = full ? ::fsync(fd) : ::fdatasync(fd);
#endif
  if (rc != 0) return Status::FromErrno(errno, full ? "fsync" : "fdatasync", path);
  return Status::Ok();
}

Status FsyncPath(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "open", path);
  Status s = SyncFile(fd, true, path);
  ::close(fd);
  return s;
}

Status ZeroRange(int fd, uint64_t from, uint64_t to, const std::string& path) {
  static const std::vector<uint8_t> zeros(256 << 10, 0);
  while (from < to) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(to - from, zeros.size()));
    Status s = PwriteAll(fd, zeros.data(), n, from, path);
    if (!s.ok()) return s;
    // Write this chunk out and wait for it before dirtying the next: the device queue then holds
    // at most one chunk of zeros when a WAL sync arrives. A pacing hint only (durability is the
    // caller's fdatasync), except that a write error is one.
    if (::sync_file_range(fd, static_cast<off_t>(from), static_cast<off_t>(n),
                          SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER) != 0 &&
        (errno == EIO || errno == ENOSPC)) {
      return Status::FromErrno(errno, "sync_file_range", path);
    }
    from += n;
  }
  return Status::Ok();
}

Status Preallocate(int fd, uint64_t size, Preallocation mode, const std::string& path) {
  switch (mode) {
    case Preallocation::kNone:
      break;
    case Preallocation::kFallocate: {
      int rc = ::posix_fallocate(fd, 0, static_cast<off_t>(size));
      if (rc != 0) return Status::FromErrno(rc, "fallocate", path);
      break;
    }
    case Preallocation::kZero: {
      // Real zeros, written once: later overwrites then touch no allocation metadata, which is what
      // makes fdatasync of an overwrite about twice as fast as of an append (ENVIRONMENT.md).
      // Buffered on purpose: the zeros stay in the page cache, so appends of entries that do not
      // fill whole pages never have to read a page back from disk first (an O_DIRECT zero-fill
      // halved the 1-writer fdatasync rate that way). Written out 256 KiB at a time as it goes
      // (ZeroRange): this runs beside a live segment, and 64 MiB of dirty zeros flushed at once
      // queue ahead of the WAL's own syncs (measured: commit latency max 27-46 ms during a fill,
      // 5-9 ms paced; 64-writer group commit 78-82k/s unpaced, 84-86k/s paced).
      Status s = ZeroRange(fd, 0, size, path);
      if (!s.ok()) return s;
      break;
    }
  }
  if (::fdatasync(fd) != 0) return Status::FromErrno(errno, "fdatasync", path);
  return Status::Ok();
}

Status OpenWriteFd(Segment& seg, int write_flags) {
  if (write_flags == 0) {
    seg.wfd = seg.fd;
    return Status::Ok();
  }
  seg.wfd = ::open(seg.path.c_str(), O_WRONLY | O_CLOEXEC | write_flags);
  if (seg.wfd < 0) return Status::FromErrno(errno, "open", seg.path);
  return Status::Ok();
}

Status CreateSegment(const std::string& dir, const std::string& spare, uint64_t first_seq, uint64_t size,
                     Preallocation preallocate, int write_flags, std::shared_ptr<Segment>* out) {
  auto seg = std::make_shared<Segment>();
  seg->first_seq = first_seq;
  seg->path = dir + "/" + SegmentFileName(first_seq);
  seg->fd = ::open(spare.c_str(), O_RDWR | O_CLOEXEC);
  if (seg->fd < 0) return Status::FromErrno(errno, "open", spare);
  struct stat st;
  if (::fstat(seg->fd, &st) != 0) return Status::FromErrno(errno, "fstat", spare);
  uint64_t file_size = static_cast<uint64_t>(st.st_size);
  if (file_size < size && preallocate != Preallocation::kNone) {  // (1)
    Status s = Preallocate(seg->fd, size, preallocate, spare);
    if (!s.ok()) return s;
  }
  uint8_t block[kSegmentHeaderSize];
  EncodeSegmentHeader(block, first_seq);
  Status s = PwriteAll(seg->fd, block, sizeof block, 0, spare);  // (2)
  if (s.ok()) s = SyncFile(seg->fd, false, spare);              // (3)
  if (!s.ok()) return s;
  if (::rename(spare.c_str(), seg->path.c_str()) != 0) return Status::FromErrno(errno, "rename", spare);  // (4)
#ifndef POWERCUT_PLANT_NO_DIR_FSYNC
  s = FsyncPath(dir, true);  // (5)
#else
  // PLANTED (class: missing directory fsync): the new segment's name may not survive a power cut.
#endif
  if (!s.ok()) return s;
  seg->size = std::max<uint64_t>(file_size, size);
  seg->end = kSegmentHeaderSize;
  s = OpenWriteFd(*seg, write_flags);
  if (!s.ok()) return s;
  *out = std::move(seg);
  return Status::Ok();
}

std::string SegmentFileName(uint64_t first_seq) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%020" PRIu64 "%s", first_seq, kSegmentSuffix);
  return buf;
}

std::string SpareFileName(uint64_t n, bool tmp) {
  char buf[48];
  std::snprintf(buf, sizeof buf, "%s%020" PRIu64 "%s", kSparePrefix, n, tmp ? ".tmp" : kSegmentSuffix);
  return buf;
}

namespace {
std::optional<uint64_t> ParseDigits20(const std::string& s, size_t at) {
  if (s.size() < at + 20) return std::nullopt;
  uint64_t v = 0;
  for (size_t i = at; i < at + 20; i++) {
    char c = s[i];
    if (c < '0' || c > '9') return std::nullopt;
    uint64_t next = v * 10 + static_cast<uint64_t>(c - '0');
    if (next / 10 != v) return std::nullopt;  // overflow
    v = next;
  }
  return v;
}
}  // namespace

std::optional<uint64_t> ParseSegmentFileName(const std::string& name) {
  if (name.size() != 20 + std::strlen(kSegmentSuffix) || name.compare(20, std::string::npos, kSegmentSuffix) != 0) {
    return std::nullopt;
  }
  return ParseDigits20(name, 0);
}

std::optional<uint64_t> ParseSpareFileName(const std::string& name, bool* tmp) {
  const size_t plen = std::strlen(kSparePrefix);
  if (name.size() != plen + 24 || name.compare(0, plen, kSparePrefix) != 0) return std::nullopt;
  std::string suffix = name.substr(plen + 20);
  if (suffix == ".tmp") *tmp = true;
  else if (suffix == kSegmentSuffix) *tmp = false;
  else return std::nullopt;
  return ParseDigits20(name, plen);
}

void EncodeSegmentHeader(uint8_t* block, uint64_t first_seq) {
  std::memset(block, 0, kSegmentHeaderSize);
  SegmentHeader h{};
  h.magic = kSegmentMagic;
  h.version = kFormatVersion;
  h.header_size = kSegmentHeaderSize;
  h.first_seq = first_seq;
  h.entry_align = kEntryAlign;
  std::memcpy(block, &h, sizeof h);
  h.crc = Crc32c(0, block, kSegmentHeaderCrcSpan);
  std::memcpy(block, &h, sizeof h);
}

std::optional<uint64_t> DecodeSegmentHeader(const uint8_t* block, size_t len) {
  if (len < sizeof(SegmentHeader)) return std::nullopt;
  SegmentHeader h;
  std::memcpy(&h, block, sizeof h);
  if (h.magic != kSegmentMagic || h.version != kFormatVersion || h.header_size != kSegmentHeaderSize ||
      h.entry_align != kEntryAlign || h.first_seq == 0) {
    return std::nullopt;
  }
  if (Crc32c(0, block, kSegmentHeaderCrcSpan) != h.crc) return std::nullopt;
  return h.first_seq;
}

uint32_t EntryCrc(uint32_t length, uint64_t seq, const void* payload) {
  uint8_t prefix[12];
  std::memcpy(prefix, &length, 4);
  std::memcpy(prefix + 4, &seq, 8);
  uint32_t crc = Crc32c(0, prefix, sizeof prefix);
  return Crc32c(crc, payload, length);
}

size_t EncodeEntry(uint8_t* dst, uint64_t seq, const void* payload, uint32_t len) {
  EntryHeader h{len, EntryCrc(len, seq, payload), seq};
  std::memcpy(dst, &h, sizeof h);
  if (len > 0) std::memcpy(dst + sizeof h, payload, len);
  size_t span = EntrySpan(len);
  size_t used = sizeof h + len;
  if (span > used) std::memset(dst + used, 0, span - used);
  return span;
}

void EncodePadding(uint8_t* dst, size_t span) {
  auto len = static_cast<uint32_t>(span - kEntryHeaderSize);
  std::memset(dst + kEntryHeaderSize, 0, len);
  EntryHeader h{len, EntryCrc(len, kPaddingSeq, dst + kEntryHeaderSize), kPaddingSeq};
  std::memcpy(dst, &h, sizeof h);
}

FileWindow::FileWindow(int fd, uint64_t size, const std::string& path) : fd_(fd), size_(size), path_(path) {}

Status FileWindow::Get(uint64_t offset, size_t len, const uint8_t** out) {
  if (offset >= buf_off_ && offset + len <= buf_off_ + buf_len_) {
    *out = buf_.data() + (offset - buf_off_);
    return Status::Ok();
  }
  constexpr size_t kChunk = 8u << 20;
  size_t want = std::max(len, kChunk);
  want = static_cast<size_t>(std::min<uint64_t>(want, size_ - offset));
  if (want < len) return Status::Make(Code::kIo, "read past end of " + path_);
  if (buf_.size() < want) buf_.resize(want);
  size_t got = 0;
  Status s = PreadAll(fd_, buf_.data(), want, offset, path_, &got);
  if (!s.ok()) return s;
  buf_off_ = offset;
  buf_len_ = got;
  // The file shrank under us (someone truncated it): report as I/O, never read stale buffer bytes.
  if (got < len) return Status::Make(Code::kIo, "short read of " + path_);
  *out = buf_.data();
  return Status::Ok();
}

namespace {
bool AllZero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != 0) return false;
  return true;
}
}  // namespace

namespace {
// Whether a valid entry with exactly `seq` starts at `at` (bounds checked).
Status ValidEntryAt(FileWindow& win, uint64_t at, uint64_t seq, bool* valid) {
  *valid = false;
  const uint64_t size = win.size();
  if (at + kEntryHeaderSize > size) return Status::Ok();
  const uint8_t* p;
  Status s = win.Get(at, kEntryHeaderSize, &p);
  if (!s.ok()) return s;
  EntryHeader h;
  std::memcpy(&h, p, sizeof h);
  if (h.seq != seq || h.length > size - at - kEntryHeaderSize) return Status::Ok();
  s = win.Get(at, kEntryHeaderSize + h.length, &p);
  if (!s.ok()) return s;
  *valid = EntryCrc(h.length, h.seq, p + kEntryHeaderSize) == h.crc;
  return Status::Ok();
}
}  // namespace

Status FindEntryWithSeq(FileWindow& win, uint64_t from, uint64_t to, uint64_t seq, std::optional<uint64_t>* found) {
  found->reset();
  to = std::min<uint64_t>(to, win.size());
  for (uint64_t at = (from + kEntryAlign - 1) / kEntryAlign * kEntryAlign; at + kEntryHeaderSize <= to; at += kEntryAlign) {
    const uint8_t* p;
    Status s = win.Get(at, kEntryHeaderSize, &p);
    if (!s.ok()) return s;
    uint64_t hs;
    std::memcpy(&hs, p + 8, 8);
    if (hs != seq) continue;  // cheap filter before the checksum
    bool valid = false;
    s = ValidEntryAt(win, at, seq, &valid);
    if (!s.ok()) return s;
    if (valid) {
      *found = at;
      return Status::Ok();
    }
  }
  return Status::Ok();
}

Status ScanSegment(FileWindow& win, uint64_t first_seq, uint64_t live_from, ScanResult* out) {
  out->offsets.clear();
  out->below_live_skipped = 0;
  out->padding_skipped = 0;
  uint64_t pos = kSegmentHeaderSize;
  uint64_t seq = first_seq;
  const uint64_t size = win.size();
  for (;;) {
    out->end = ScanResult::End::kClean;
    out->reason.clear();
    bool unreadable = false;  // stopped at a record that is not a valid entry (vs zeros / stale / EOF)
    while (pos + kEntryHeaderSize <= size) {
      const uint8_t* p;
      Status s = win.Get(pos, kEntryHeaderSize, &p);
      if (!s.ok()) return s;
      EntryHeader h;
      std::memcpy(&h, p, sizeof h);
      if (h.length == 0 && h.crc == 0 && h.seq == 0) break;  // zeros: end of written data
      if (h.length > size - pos - kEntryHeaderSize) {
        out->end = ScanResult::End::kInvalid;
        out->reason = "entry length runs past the end of the file";
        unreadable = true;
        break;
      }
      s = win.Get(pos, kEntryHeaderSize + h.length, &p);
      if (!s.ok()) return s;
#ifdef POWERCUT_PLANT_RECOVERY_SKIPS_CHECKSUM
      if (false) {  // PLANTED (class: recovery trusts bytes it never verified)
#else
      if (EntryCrc(h.length, h.seq, p + kEntryHeaderSize) != h.crc) {
#endif
        out->end = ScanResult::End::kInvalid;
        out->reason = "checksum mismatch";
        unreadable = true;
        break;
      }
      if (h.seq == kPaddingSeq) {
        pos += EntrySpan(h.length);
        continue;
      }
#ifdef POWERCUT_PLANT_RECYCLED_STALE_ENTRY
      if (h.seq < first_seq) h.seq = seq;  // PLANTED (class: stale entry of a recycled file taken for new)
#endif
      if (h.seq < first_seq) break;  // a stale entry from the file's life before it was recycled
      if (h.seq != seq) {
        out->end = ScanResult::End::kInvalid;
        out->reason = "sequence " + std::to_string(h.seq) + " where " + std::to_string(seq) + " was expected";
        break;
      }
      if (out->offsets.size() == out->offsets.capacity()) out->offsets.reserve(out->offsets.size() * 2 + 1024);
      out->offsets.push_back(static_cast<uint32_t>(pos));
      seq++;
      pos += EntrySpan(h.length);
    }
    if (pos + kEntryHeaderSize > size) break;
    std::optional<uint64_t> resume;
    if (seq < live_from) {
      // Rule 1: these bytes are no longer the log's; find where the live entries start.
      Status s = FindEntryWithSeq(win, pos, size, live_from, &resume);
      if (!s.ok()) return s;
      if (resume) {
        out->below_live_skipped += live_from - seq;
        out->offsets.insert(out->offsets.end(), live_from - seq, static_cast<uint32_t>(*resume));
        seq = live_from;
      }
    } else if (unreadable || out->end == ScanResult::End::kClean) {
      // Rule 2: a damaged padding record; the entry after it starts on a block boundary.
      uint64_t at = (pos / kMinDirectBlock + 1) * kMinDirectBlock;
      for (; at <= pos + kMaxPaddingSpan && !resume; at += kMinDirectBlock) {
        bool valid = false;
        Status s = ValidEntryAt(win, at, seq, &valid);
        if (!s.ok()) return s;
        if (valid) resume = at;
      }
      if (resume) out->padding_skipped++;
    }
    if (!resume) break;
    pos = *resume;
  }
  out->end_offset = pos;
  out->next_seq = seq;
  return Status::Ok();
}

Status FindNewerEntry(FileWindow& win, uint64_t from, uint64_t min_seq, std::optional<uint64_t>* found_offset,
                      uint64_t* found_seq) {
  found_offset->reset();
  const uint64_t size = win.size();
  uint64_t pos = (from + kEntryAlign - 1) / kEntryAlign * kEntryAlign;
  constexpr size_t kStep = 1 << 20;
  while (pos + kEntryHeaderSize <= size) {
    // Walk a window at a time; a candidate must have a plausible sequence and length before its
    // checksum is worth computing, which keeps this near memory speed over zeros and payload bytes.
    size_t span = static_cast<size_t>(std::min<uint64_t>(kStep, size - pos));
    const uint8_t* base;
    Status s = win.Get(pos, span, &base);
    if (!s.ok()) return s;
    for (size_t i = 0; i + kEntryHeaderSize <= span; i += kEntryAlign) {
      EntryHeader h;
      std::memcpy(&h, base + i, sizeof h);
      if (h.seq < min_seq || h.seq - min_seq > size / kEntryHeaderSize) continue;
      uint64_t at = pos + i;
      if (h.length > size - at - kEntryHeaderSize) continue;
      const uint8_t* p;
      s = win.Get(at, kEntryHeaderSize + h.length, &p);
      if (!s.ok()) return s;
      bool valid = EntryCrc(h.length, h.seq, p + kEntryHeaderSize) == h.crc;
      // Get may have moved the window; re-fetch ours before continuing.
      s = win.Get(pos, span, &base);
      if (!s.ok()) return s;
      if (valid) {
        *found_offset = at;
        *found_seq = h.seq;
        return Status::Ok();
      }
    }
    // Advance by whole aligned steps, re-reading the last header's bytes at the seam.
    uint64_t advance = span > kEntryHeaderSize ? (span - kEntryHeaderSize + kEntryAlign) / kEntryAlign * kEntryAlign : span;
    if (advance == 0) break;
    pos += advance;
  }
  return Status::Ok();
}

Status NonZeroExtentEnd(FileWindow& win, uint64_t from, uint64_t* end) {
  *end = from;
  const uint64_t size = win.size();
  constexpr size_t kStep = 1 << 20;
  for (uint64_t pos = from; pos < size;) {
    size_t span = static_cast<size_t>(std::min<uint64_t>(kStep, size - pos));
    const uint8_t* p;
    Status s = win.Get(pos, span, &p);
    if (!s.ok()) return s;
    if (!AllZero(p, span)) {
      size_t last = span;
      while (last > 0 && p[last - 1] == 0) last--;
      *end = pos + last;
    }
    pos += span;
  }
  return Status::Ok();
}

Status UnwrittenHeaderCheck(const std::string& path, uint64_t name_first, bool* unwritten, uint64_t* torn) {
  *unwritten = false;
  *torn = 0;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::FromErrno(errno, "open", path);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    Status s = Status::FromErrno(errno, "fstat", path);
    ::close(fd);
    return s;
  }
  const uint64_t size = static_cast<uint64_t>(st.st_size);
  FileWindow win(fd, size, path);
  const uint8_t* p = nullptr;
  const size_t hdr = static_cast<size_t>(std::min<uint64_t>(size, kSegmentHeaderSize));
  Status s = hdr > 0 ? win.Get(0, hdr, &p) : Status::Ok();
  if (s.ok()) {
    if (hdr == 0 || AllZero(p, hdr)) {
      *unwritten = true;
    } else {
      auto first = DecodeSegmentHeader(p, hdr);
      *unwritten = first.has_value() && *first < name_first;
    }
  }
  if (s.ok() && *unwritten) {
    uint64_t end = hdr;
    s = NonZeroExtentEnd(win, hdr, &end);
    *torn = end - hdr;
  }
  ::close(fd);
  return s;
}

}  // namespace powercut::wal
