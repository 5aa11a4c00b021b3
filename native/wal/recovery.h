// Recovery: from a WAL directory on disk to the state a Log starts from (native/FORMAT.md,
// "Recovery"). Runs once, on the thread that calls Log::Open, before any other thread exists.
//
// The steps, in order (each a method of Recovery in recovery.cc):
//   1. LockDirectory      flock the directory (and LOCK); WAL_LOCKED if another handle has it
//   2. ListDirectory      segments by first sequence, spares into the pool, left-over .tmp removed
//   3. ReadFirstSeq       the first-seq record, strictly decoded (first_seq.h)
//   4. DropTruncated      finish a truncate a crash interrupted: segments wholly below first-seq go
//   5. CutUnwrittenTail   trailing segments whose header never reached the disk are a torn tail
//   6. ScanSegments       each segment's entries; a stop is a torn tail (cut) or mid-log corruption
//                         (WAL_CORRUPTION, or with repair a cut there)
//   7. ContinueAt         where the log goes on; a new segment (CreateSegment) if none fits
//   8. PrepareForWrites   directory fsync; the active segment's write fd and O_DIRECT alignment
// With Options::read_only every step that would write, remove or sync is skipped: cuts are made in
// memory only.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "log.h"
#include "segment.h"
#include "spare_pool.h"
#include "status.h"

namespace powercut::wal {

// The flock that makes a Log the directory's only writer: on the directory's own inode (so it
// holds whatever happens to the LOCK path) and on LOCK (which older builds lock). Shared for
// read_only. Released on destruction.
class DirectoryLock {
 public:
  DirectoryLock() = default;
  ~DirectoryLock() { Release(); }
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;
  Status Acquire(const std::string& dir, bool shared);
  void Release();
  void TakeFrom(DirectoryLock& other);

 private:
  int dir_fd_ = -1;
  int file_fd_ = -1;
};

struct RecoveredLog {
  DirectoryLock lock;
  std::deque<std::shared_ptr<Segment>> segments;  // ascending first_seq; back() is active (may be
                                                   // empty only with read_only)
  uint64_t first_seq = 1;  // first live sequence
  uint64_t next_seq = 1;   // the sequence the next append gets
  RecoveryReport report;
};

// Recovers `dir` per `options`. direct_block: the O_DIRECT alignment (Strategy::kDirect only).
Status RecoverLog(const std::string& dir, const Options& options, uint32_t direct_block, SparePool& spares,
                  RecoveredLog* out);

// The write fd flags a strategy writes through (0, O_DSYNC or O_DIRECT).
int WriteFlagsFor(Strategy strategy);

}  // namespace powercut::wal
