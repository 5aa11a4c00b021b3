// The first-seq file (native/FORMAT.md): where truncate durably records the first live sequence.
// Encoding, strict decoding of both layouts, and the durable write (tmp, fsync, rename, dir fsync).
// Synchronous; runs on whichever thread calls it (recovery, or Truncate's blocking-call thread).
#pragma once

#include <cstdint>
#include <string>

#include "status.h"

namespace powercut::wal {

// Parses the file's bytes. kCorruption when they are neither layout (a torn or flipped write),
// kOutOfRange when a well-formed value is 0 or above kMaxSeq. The caller checks the value against
// the log's end (a first-seq past the end would hide acknowledged entries).
// *checksummed says which layout it was (2: true, the decimal layout 1: false).
Status DecodeFirstSeq(const std::string& bytes, const std::string& path, uint64_t* first_seq, bool* checksummed);
// Reads `path`: *present false (and Ok) when there is no such file.
Status ReadFirstSeqFile(const std::string& path, bool* present, uint64_t* first_seq, bool* checksummed);
// Replaces <dir>/first-seq durably with layout 2.
Status WriteFirstSeqFile(const std::string& dir, uint64_t first_seq);

}  // namespace powercut::wal
