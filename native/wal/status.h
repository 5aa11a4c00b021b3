// The result of a core operation: a code the TS layer turns into WalError.code, the errno and
// syscall behind it, and where (file, offset, sequence) when that helps the user.
#pragma once

#include <cerrno>
#include <cstdint>
#include <string>
#include <utility>

namespace powercut::wal {

enum class Code {
  kOk,
  kCorruption,       // WAL_CORRUPTION: invalid data followed by valid entries, bad header
  kIo,               // WAL_IO: a syscall failed (EIO and anything unclassified)
  kClosed,           // WAL_CLOSED
  kInvalidArgument,  // WAL_INVALID_ARGUMENT
  kNotFound,         // WAL_NOT_FOUND: missing directory, unknown or truncated sequence
  kForeignFiles,     // WAL_FOREIGN_FILES: the directory holds files that are not ours
  kNoSpace,          // WAL_NO_SPACE: ENOSPC / EDQUOT
  kFailed,           // WAL_FAILED: an earlier write or sync failed; reopen to recover
  kPermission,       // WAL_PERMISSION: EACCES, EPERM, EROFS
  kLocked,           // WAL_LOCKED: another handle holds the directory's lock
  kOutOfRange,       // WAL_OUT_OF_RANGE: a sequence past kMaxSeq, or a first-seq outside the log
  kReadOnly,         // WAL_READ_ONLY: a write through a handle opened with read_only
};

const char* CodeName(Code code);

struct Status {
  Code code = Code::kOk;
  int err = 0;             // errno, 0 when not from a syscall
  std::string syscall;     // e.g. "fdatasync"
  std::string message;     // human-readable, names file and offset where known
  std::string path;        // file involved, if any
  uint64_t offset = 0;     // byte offset in `path` (corruption)
  uint64_t seq = 0;        // sequence involved (corruption: the first one missing)

  bool ok() const { return code == Code::kOk; }
  static Status Ok() { return {}; }
  static Status Make(Code code, std::string message) {
    Status s;
    s.code = code;
    s.message = std::move(message);
    return s;
  }
  // From a failed syscall: classifies errno into a code.
  static Status FromErrno(int err, const char* syscall, const std::string& path);
};

// A value or the Status explaining why there is none.
template <typename T>
struct Result {
  Status status;
  T value{};
  bool ok() const { return status.ok(); }
};

}  // namespace powercut::wal
