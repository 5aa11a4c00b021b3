#include "status.h"

#include <cstring>

namespace powercut::wal {

const char* CodeName(Code code) {
  switch (code) {
    case Code::kOk: return "OK";
    case Code::kCorruption: return "WAL_CORRUPTION";
    case Code::kIo: return "WAL_IO";
    case Code::kClosed: return "WAL_CLOSED";
    case Code::kInvalidArgument: return "WAL_INVALID_ARGUMENT";
    case Code::kNotFound: return "WAL_NOT_FOUND";
    case Code::kForeignFiles: return "WAL_FOREIGN_FILES";
    case Code::kNoSpace: return "WAL_NO_SPACE";
    case Code::kFailed: return "WAL_FAILED";
    case Code::kPermission: return "WAL_PERMISSION";
    case Code::kLocked: return "WAL_LOCKED";
    case Code::kOutOfRange: return "WAL_OUT_OF_RANGE";
    case Code::kReadOnly: return "WAL_READ_ONLY";
  }
  return "WAL_IO";
}

Status Status::FromErrno(int err, const char* syscall, const std::string& path) {
  Status s;
  switch (err) {
    case ENOSPC:
    case EDQUOT: s.code = Code::kNoSpace; break;
    case EACCES:
    case EPERM:
    case EROFS: s.code = Code::kPermission; break;
    case ENOENT:
    case ENOTDIR: s.code = Code::kNotFound; break;
    default: s.code = Code::kIo; break;
  }
  s.err = err;
  s.syscall = syscall;
  s.path = path;
  s.message = std::string(syscall) + " " + path + ": " + std::strerror(err);
  return s;
}

}  // namespace powercut::wal
