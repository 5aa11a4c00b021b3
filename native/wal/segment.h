// One segment file: naming, creation and preallocation, entry encoding, and the scan that recovery
// runs over it. Everything here is synchronous and runs on whichever thread calls it; the Log
// decides which thread that is (see log.h).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "format.h"
#include "status.h"

namespace powercut::wal {

enum class Preallocation { kNone, kFallocate, kZero };

// An open segment. The Log owns these through shared_ptr so a reader thread can keep a segment's
// fd alive while truncate drops it from the log.
struct Segment {
  uint64_t first_seq = 0;
  std::string path;
  int fd = -1;   // O_RDWR, buffered: reads, recovery, and writes unless wfd differs
  int wfd = -1;  // where the committer writes: fd, or a second fd opened O_DSYNC / O_DIRECT
  uint64_t size = 0;  // file size in bytes
  uint64_t end = 0;   // end of written data: where the next entry goes
  // offsets[i] is the file offset of entry first_seq + i (u32: segments are < 4 GiB).
  std::vector<uint32_t> offsets;

  Segment() = default;
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;
  ~Segment();
  uint64_t last_seq() const { return first_seq + offsets.size() - 1; }  // first_seq - 1 if empty
};

// ---- syscalls that retry EINTR and short transfers ----
Status PwriteAll(int fd, const void* data, size_t len, uint64_t offset, const std::string& path);
// Reads up to len bytes; *got < len only at end of file.
Status PreadAll(int fd, void* data, size_t len, uint64_t offset, const std::string& path, size_t* got);
// fsync (full) or fdatasync, retrying EINTR. Never retried after a failure: see committer.h.
Status SyncFile(int fd, bool full, const std::string& path);
Status FsyncPath(const std::string& path, bool directory);
// Writes zeros over [from, to), written out chunk by chunk as it goes (see segment.cc).
Status ZeroRange(int fd, uint64_t from, uint64_t to, const std::string& path);
// Brings a file to `size` bytes per the preallocation mode and makes that durable (fdatasync).
Status Preallocate(int fd, uint64_t size, Preallocation mode, const std::string& path);

// ---- creating a segment ----
// The one way a segment comes into being (recovery and rotation both call it), in the crash-safe
// order: (1) the spare file is brought to `size` if it is smaller (a recycled file of a run with a
// smaller segment size), (2) the header is written into it and (3) fdatasync'd, (4) the file is
// renamed to its segment name and (5) the directory fsync'd, before any entry is written into it.
// So a segment name on disk always carries a durable header, and a crash between the steps leaves
// a spare, or a segment without entries. `write_flags` (0, O_DSYNC or O_DIRECT) opens the write fd.
Status CreateSegment(const std::string& dir, const std::string& spare, uint64_t first_seq, uint64_t size,
                     Preallocation preallocate, int write_flags, std::shared_ptr<Segment>* out);
// Opens seg->wfd with write_flags (0: the buffered fd itself).
Status OpenWriteFd(Segment& seg, int write_flags);

// ---- names ----
std::string SegmentFileName(uint64_t first_seq);
std::string SpareFileName(uint64_t n, bool tmp);
// Parses "<20 digits>.wal" into its first sequence.
std::optional<uint64_t> ParseSegmentFileName(const std::string& name);
// Parses "spare-<20 digits>.wal" / ".tmp".
std::optional<uint64_t> ParseSpareFileName(const std::string& name, bool* tmp);

// ---- encoding ----
// Fills a kSegmentHeaderSize block.
void EncodeSegmentHeader(uint8_t* block, uint64_t first_seq);
// The header's first sequence, or nullopt if the block is not a valid header.
std::optional<uint64_t> DecodeSegmentHeader(const uint8_t* block, size_t len);
// Writes header + payload + zero padding at dst (EntrySpan(len) bytes); returns that span.
size_t EncodeEntry(uint8_t* dst, uint64_t seq, const void* payload, uint32_t len);
// Writes a padding record spanning exactly `span` bytes (span >= 16, a multiple of 8).
void EncodePadding(uint8_t* dst, size_t span);
uint32_t EntryCrc(uint32_t length, uint64_t seq, const void* payload);

// ---- recovery scan ----
struct ScanResult {
  // kClean: the entries stop at zeros, a stale entry of a recycled file, or end of file.
  // kInvalid: something non-zero that is not the expected next entry sits where it should start.
  enum class End { kClean, kInvalid } end = End::kClean;
  uint64_t end_offset = 0;  // first byte after the last valid entry (or padding record)
  uint64_t next_seq = 0;    // sequence the next entry would have
  std::vector<uint32_t> offsets;
  std::string reason;       // why kInvalid: "bad checksum", "length past end of file", ...
  uint64_t below_live_skipped = 0;  // truncated sequences skipped over damage (rule 1)
  uint64_t padding_skipped = 0;     // unreadable padding records skipped (rule 2)
};

// Sequential reader over a file through a large buffer, so recovery costs one pread per few MiB.
class FileWindow {
 public:
  FileWindow(int fd, uint64_t size, const std::string& path);
  // Points *out at bytes [offset, offset+len); fails only on I/O error. Caller checks bounds.
  Status Get(uint64_t offset, size_t len, const uint8_t** out);
  uint64_t size() const { return size_; }

 private:
  int fd_;
  uint64_t size_;
  const std::string& path_;
  std::vector<uint8_t> buf_;
  uint64_t buf_off_ = 0;
  size_t buf_len_ = 0;
};

// Scans entries from kSegmentHeaderSize, expecting sequences first_seq, first_seq+1, ...
// Where the entries stop, two rules let the scan go on without ever skipping an entry it owns:
//  - below live_from (truncated, no longer the log's): it resumes at the valid entry whose
//    sequence is exactly live_from, wherever it lies further on; offsets of the skipped
//    sequences are filled with that entry's offset and must never be read (they are truncated);
//  - at an unreadable record: it resumes at the next 512-byte boundary within kMaxPaddingSpan
//    that holds a valid entry with exactly the expected sequence (the record was padding: nothing
//    with that sequence was in it). Counted in padding_skipped.
Status ScanSegment(FileWindow& win, uint64_t first_seq, uint64_t live_from, ScanResult* out);
// A valid entry with exactly `seq` at an 8-aligned offset in [from, to); nullopt if none.
Status FindEntryWithSeq(FileWindow& win, uint64_t from, uint64_t to, uint64_t seq, std::optional<uint64_t>* found);
// Looks for any valid entry with seq >= min_seq at an aligned offset >= from: proof that invalid
// bytes at `from` are damage in the middle of the log, not a torn tail.
Status FindNewerEntry(FileWindow& win, uint64_t from, uint64_t min_seq, std::optional<uint64_t>* found_offset,
                      uint64_t* found_seq);
// End of the last non-zero byte in [from, size) (== from when all zero).
Status NonZeroExtentEnd(FileWindow& win, uint64_t from, uint64_t* end);
// Whether the segment file at `path` (named for sequence name_first) never got its own header to
// the disk: the header block is all zeros (a file shorter than the block counts by what it holds),
// or it is a recycled file's old header (valid, for a lower first sequence). If so, `torn` is the
// count of bytes after the header block up to its last non-zero byte (entries, or a recycled
// file's leftovers: without the header they cannot be told apart).
Status UnwrittenHeaderCheck(const std::string& path, uint64_t name_first, bool* unwritten, uint64_t* torn);

}  // namespace powercut::wal
