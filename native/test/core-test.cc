// Standalone tests of the WAL core, without Node: `make -C native test` (and `make asan-test`
// under AddressSanitizer + UBSan). Each case prints its name; any failed CHECK exits non-zero.
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "../wal/crc32c.h"
#include "../wal/log.h"

using namespace powercut::wal;

#define CHECK(cond)                                                              \
  do {                                                                           \
    if (!(cond)) {                                                               \
      std::fprintf(stderr, "CHECK failed at %s:%d: %s\n", __FILE__, __LINE__, #cond); \
      std::exit(1);                                                              \
    }                                                                            \
  } while (0)

static std::string TempDir() {
  char tmpl[] = "/tmp/wal-core-XXXXXX";
  CHECK(::mkdtemp(tmpl) != nullptr);
  return tmpl;
}

static void WaitAcked(Log& log, uint64_t seq) {
  for (int i = 0; i < 20000 && log.GetProgress().acked < seq; i++) std::this_thread::sleep_for(std::chrono::microseconds(100));
  CHECK(log.GetProgress().acked >= seq);
}

static void Crc32cKnownAnswers() {
  const char* s = "123456789";
  CHECK(Crc32c(0, s, 9) == 0xE3069283u);
  CHECK(detail::Crc32cPortable(0, s, 9) == 0xE3069283u);
  std::mt19937 rng(42);
  std::vector<uint8_t> buf(10000);
  for (auto& b : buf) b = static_cast<uint8_t>(rng());
  for (size_t len : {0u, 1u, 7u, 8u, 9u, 63u, 4096u, 9999u}) {
    CHECK(detail::Crc32cPortable(0, buf.data() + 1, len) == Crc32c(0, buf.data() + 1, len));
    // Extending in two pieces equals one pass.
    uint32_t a = Crc32c(Crc32c(0, buf.data(), len / 2), buf.data() + len / 2, len - len / 2);
    CHECK(a == Crc32c(0, buf.data(), len));
  }
  std::printf("ok Crc32cKnownAnswers (%s)\n", Crc32cImplementation());
}

static void AppendCloseReopen(Strategy strategy, bool group) {
  std::string dir = TempDir();
  Options o;
  o.segment_size = 64 * 1024;
  o.strategy = strategy;
  o.group_commit = group;
  std::vector<std::string> payloads;
  {
    auto r = Log::Open(dir, o);
    CHECK(r.ok());
    auto& log = *r.value;
    for (int i = 0; i < 300; i++) {
      payloads.push_back(std::string(static_cast<size_t>(i * 7 % 900), static_cast<char>('a' + i % 26)));
      auto a = log.Append(payloads.back().data(), static_cast<uint32_t>(payloads.back().size()));
      CHECK(a.ok() && a.value == static_cast<uint64_t>(i + 1));
    }
    WaitAcked(log, 300);
    std::vector<uint8_t> got;
    CHECK(log.Read(123, &got).ok());
    CHECK(std::string(got.begin(), got.end()) == payloads[122]);
    CHECK(log.Close().ok());
    CHECK(log.Append("x", 1).status.code == Code::kClosed);
  }
  {
    auto r = Log::Open(dir, o);
    CHECK(r.ok());
    CHECK(r.value->recovery().last_seq == 300);
    CHECK(r.value->recovery().torn_bytes == 0);
    std::vector<uint8_t> data;
    std::vector<ReadEntry> entries;
    uint64_t next = 1;
    while (next <= 300) {
      CHECK(r.value->ReadRange(next, 4096, &data, &entries).ok());
      CHECK(!entries.empty());
      for (auto& e : entries) {
        CHECK(e.seq == next);
        CHECK(std::string(data.begin() + static_cast<long>(e.offset), data.begin() + static_cast<long>(e.offset + e.length)) ==
              payloads[next - 1]);
        next++;
      }
    }
  }
  std::string cmd = "rm -rf " + dir;
  CHECK(std::system(cmd.c_str()) == 0);
}

static void ConcurrentAppendersGroupCommit() {
  std::string dir = TempDir();
  Options o;
  o.segment_size = 256 * 1024;
  o.strategy = Strategy::kFdatasync;
  o.group_commit = true;
  auto r = Log::Open(dir, o);
  CHECK(r.ok());
  auto& log = *r.value;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; t++) {
    threads.emplace_back([&log, t] {
      std::string p(100 + t, static_cast<char>('A' + t));
      for (int i = 0; i < 200; i++) CHECK(log.Append(p.data(), static_cast<uint32_t>(p.size())).ok());
    });
  }
  for (auto& th : threads) th.join();
  WaitAcked(log, 800);
  CHECK(log.GetProgress().durable == 800);
  CHECK(log.Close().ok());
  auto again = Log::Open(dir, o);
  CHECK(again.ok() && again.value->recovery().last_seq == 800);
  std::string cmd = "rm -rf " + dir;
  CHECK(std::system(cmd.c_str()) == 0);
  std::printf("ok ConcurrentAppendersGroupCommit\n");
}

static void MidLogCorruptionIsReported() {
  std::string dir = TempDir();
  Options o;
  o.segment_size = 64 * 1024;
  o.strategy = Strategy::kNone;
  {
    auto r = Log::Open(dir, o);
    CHECK(r.ok());
    std::string p(200, 'p');
    for (int i = 0; i < 50; i++) CHECK(r.value->Append(p.data(), 200).ok());
    CHECK(r.value->Close().ok());
  }
  std::string seg = dir + "/00000000000000000001.wal";
  int fd = ::open(seg.c_str(), O_RDWR);
  CHECK(fd >= 0);
  uint8_t b = 0;
  off_t at = 4096 + 10 * 216 + 100;  // inside entry 11's payload (200-byte payloads span 216)
  CHECK(::pread(fd, &b, 1, at) == 1);
  b ^= 1;
  CHECK(::pwrite(fd, &b, 1, at) == 1);
  ::close(fd);
  auto r = Log::Open(dir, o);
  CHECK(!r.ok() && r.status.code == Code::kCorruption && r.status.seq == 11);
  o.repair = true;
  auto repaired = Log::Open(dir, o);
  CHECK(repaired.ok() && repaired.value->recovery().last_seq == 10 && repaired.value->recovery().repaired);
  std::string cmd = "rm -rf " + dir;
  CHECK(std::system(cmd.c_str()) == 0);
  std::printf("ok MidLogCorruptionIsReported\n");
}

int main() {
  Crc32cKnownAnswers();
  const struct {
    Strategy s;
    bool group;
    const char* name;
  } cases[] = {{Strategy::kFsync, false, "fsync"},         {Strategy::kFdatasync, false, "fdatasync"},
               {Strategy::kDsync, true, "dsync+group"},    {Strategy::kDirect, false, "direct"},
               {Strategy::kDirect, true, "direct+group"}, {Strategy::kPeriodic, false, "periodic"},
               {Strategy::kNone, false, "none"}};
  for (const auto& c : cases) {
    AppendCloseReopen(c.s, c.group);
    std::printf("ok AppendCloseReopen %s\n", c.name);
  }
  ConcurrentAppendersGroupCommit();
  MidLogCorruptionIsReported();
  std::printf("all core tests passed\n");
  return 0;
}
