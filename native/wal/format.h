// On-disk constants of the powercut WAL. Nothing but constants and plain layouts live here; the
// grammar is in native/FORMAT.md. All integers are little-endian (the core only builds on
// little-endian hosts, checked below).
#pragma once

#include <cstddef>
#include <cstdint>

namespace powercut::wal {

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the on-disk format is little-endian");

// ---- segment header: the first kSegmentHeaderSize bytes of every segment file ----
// A full 4 KiB block so that entries start block-aligned, which O_DIRECT writes need.
constexpr uint64_t kSegmentMagic = 0x4745534c41574350ULL;  // "PCWALSEG" read as little-endian u64
constexpr uint32_t kFormatVersion = 1;
constexpr uint32_t kSegmentHeaderSize = 4096;

struct SegmentHeader {
  uint64_t magic;         // 8 bytes: kSegmentMagic
  uint32_t version;       // 4 bytes: kFormatVersion
  uint32_t header_size;   // 4 bytes: kSegmentHeaderSize (entries start here)
  uint64_t first_seq;     // 8 bytes: sequence of the first entry; equals the number in the file name
  uint32_t entry_align;   // 4 bytes: every entry starts at a multiple of this (kEntryAlign)
  uint32_t reserved;      // 4 bytes: zero
  uint32_t crc;           // 4 bytes: crc32c of the 32 bytes above
  uint32_t pad;           // 4 bytes: zero (keeps the struct 8-byte sized); rest of the block is zero
};
static_assert(sizeof(SegmentHeader) == 40, "segment header layout");
constexpr size_t kSegmentHeaderCrcSpan = 32;  // bytes covered by SegmentHeader::crc

// ---- entry: [length u32][crc32c u32][sequence u64][payload][zero padding to kEntryAlign] ----
struct EntryHeader {
  uint32_t length;  // 4 bytes: payload length in bytes (padding excluded)
  uint32_t crc;     // 4 bytes: crc32c over length (4 bytes), sequence (8 bytes), then payload
  uint64_t seq;     // 8 bytes: sequence number, >= 1; 0 marks a padding record
};
static_assert(sizeof(EntryHeader) == 16, "entry header layout");
constexpr size_t kEntryHeaderSize = sizeof(EntryHeader);

// Entries start 8-byte aligned so a header never straddles a sector boundary (a sector holds
// whole headers), as etcd does.
constexpr uint32_t kEntryAlign = 8;

// A padding record (seq == 0, valid crc) fills the space up to the next O_DIRECT block boundary
// after a write batch of the `direct` strategy. Readers skip it.
constexpr uint64_t kPaddingSeq = 0;

// Bytes an entry with this payload length occupies on disk.
constexpr uint64_t EntrySpan(uint64_t payload_len) {
  return (kEntryHeaderSize + payload_len + kEntryAlign - 1) / kEntryAlign * kEntryAlign;
}

// ---- sequence numbers ----
// The largest sequence the log issues: Number.MAX_SAFE_INTEGER, so that every sequence crosses the
// JS boundary as an exact number. Append refuses past it (WAL_OUT_OF_RANGE), and a directory whose
// names or first-seq lie beyond it does not open.
constexpr uint64_t kMaxSeq = (1ull << 53) - 1;

// ---- first-seq file: the first live sequence after a truncate ----
// Layout 2 (written by this version): one fixed record whose checksum a torn or flipped write
// cannot satisfy. Layout 1 (older directories, read only): decimal digits then "\n"; the first
// truncate rewrites it as layout 2.
constexpr uint64_t kFirstSeqMagic = 0x5153464c41574350ULL;  // "PCWALFSQ" read as little-endian u64

struct FirstSeqRecord {
  uint64_t magic;      // 8 bytes: kFirstSeqMagic
  uint64_t first_seq;  // 8 bytes: first live sequence, 1 ..= kMaxSeq
  uint32_t crc;        // 4 bytes: crc32c of the 16 bytes above
  uint32_t pad;        // 4 bytes: zero
};
static_assert(sizeof(FirstSeqRecord) == 24, "first-seq record layout");
constexpr size_t kFirstSeqCrcSpan = 16;  // bytes covered by FirstSeqRecord::crc

// ---- padding ----
// A padding record ends on an O_DIRECT block boundary (512 to 4096 bytes) and spans at most one
// block plus an entry header: recovery that meets an unreadable record looks for the next entry
// at the 512-byte boundaries within that span (native/FORMAT.md, Recovery).
constexpr uint64_t kMinDirectBlock = 512;
constexpr uint64_t kMaxPaddingSpan = 4096 + 2 * kEntryHeaderSize;

// ---- file names in a WAL directory ----
// <20-digit first seq>.wal      a segment
// spare-<20-digit n>.wal        a prepared or recycled segment file waiting to become a segment
// spare-<20-digit n>.tmp        a spare being prepared (removed on open: a crash interrupted it)
// first-seq                     FirstSeqRecord (layout 1: decimal) after a truncate (create-then-rename)
// first-seq.tmp                 its replacement being written (removed on open)
// LOCK                          flock'd while the WAL is open (with the directory itself: see log.h)
constexpr const char* kSegmentSuffix = ".wal";
constexpr const char* kSparePrefix = "spare-";
constexpr const char* kFirstSeqFile = "first-seq";
constexpr const char* kLockFile = "LOCK";

}  // namespace powercut::wal
