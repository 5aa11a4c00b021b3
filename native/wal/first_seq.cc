#include "first_seq.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstring>

#include "crc32c.h"
#include "format.h"
#include "segment.h"

namespace powercut::wal {

namespace {

Status Bad(Code code, const std::string& path, const std::string& why) {
  Status s = Status::Make(code, "first-seq file " + path + " " + why +
                                    (code == Code::kCorruption ? " (it is the only record of where the log starts: "
                                                                 "restore it, or delete it to start at the oldest segment)"
                                                               : ""));
  s.path = path;
  return s;
}

Status CheckRange(uint64_t v, const std::string& path, uint64_t* out) {
  if (v == 0 || v > kMaxSeq) {
    Status s = Bad(Code::kOutOfRange, path, "holds " + std::to_string(v) + ", outside 1.." + std::to_string(kMaxSeq));
    s.seq = v;
    return s;
  }
  *out = v;
  return Status::Ok();
}

}  // namespace

Status DecodeFirstSeq(const std::string& bytes, const std::string& path, uint64_t* first_seq, bool* checksummed) {
  *checksummed = false;
  if (bytes.size() >= 8) {
    uint64_t magic;
    std::memcpy(&magic, bytes.data(), 8);
    if (magic == kFirstSeqMagic) {
      if (bytes.size() != sizeof(FirstSeqRecord)) return Bad(Code::kCorruption, path, "has a torn record");
      FirstSeqRecord r;
      std::memcpy(&r, bytes.data(), sizeof r);
      if (r.pad != 0 || Crc32c(0, bytes.data(), kFirstSeqCrcSpan) != r.crc) {
        return Bad(Code::kCorruption, path, "fails its checksum");
      }
      *checksummed = true;
      return CheckRange(r.first_seq, path, first_seq);
    }
  }
  // Layout 1: 1 to 20 decimal digits and "\n", nothing else (no sign, no blanks, no overflow).
  if (bytes.size() < 2 || bytes.back() != '\n' || bytes.size() - 1 > 20) {
    return Bad(Code::kCorruption, path, "is neither a first-seq record nor a decimal line");
  }
  uint64_t v = 0;
  for (size_t i = 0; i + 1 < bytes.size(); i++) {
    char c = bytes[i];
    if (c < '0' || c > '9') return Bad(Code::kCorruption, path, "is not a decimal number");
    if (v > (UINT64_MAX - 9) / 10) return Bad(Code::kOutOfRange, path, "holds a number that overflows 64 bits");
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return CheckRange(v, path, first_seq);
}

Status ReadFirstSeqFile(const std::string& path, bool* present, uint64_t* first_seq, bool* checksummed) {
  *present = false;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? Status::Ok() : Status::FromErrno(errno, "open", path);
  char buf[64];
  size_t got = 0;
  Status s = PreadAll(fd, buf, sizeof buf, 0, path, &got);
  ::close(fd);
  if (!s.ok()) return s;
  *present = true;
  if (got == sizeof buf) return Bad(Code::kCorruption, path, "is too long");
  return DecodeFirstSeq(std::string(buf, got), path, first_seq, checksummed);
}

Status WriteFirstSeqFile(const std::string& dir, uint64_t first_seq) {
  const std::string tmp = dir + "/" + kFirstSeqFile + ".tmp";
  const std::string final_path = dir + "/" + kFirstSeqFile;
  FirstSeqRecord r{kFirstSeqMagic, first_seq, 0, 0};
  r.crc = Crc32c(0, &r, kFirstSeqCrcSpan);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::FromErrno(errno, "open", tmp);
  Status s = PwriteAll(fd, &r, sizeof r, 0, tmp);
  if (s.ok()) s = SyncFile(fd, true, tmp);
  ::close(fd);
  if (s.ok() && ::rename(tmp.c_str(), final_path.c_str()) != 0) s = Status::FromErrno(errno, "rename", tmp);
  if (s.ok()) s = FsyncPath(dir, true);
  return s;
}

}  // namespace powercut::wal
